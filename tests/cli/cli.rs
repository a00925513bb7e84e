//! The real `dipwatch` binary on the simulated market, into a temp dir:
//! collect, screen, export and check-config, asserting on what they print
//! and what they store.

use crate::support;

use support::{Workspace, assert_fails_with, assert_stderr_has, ok, stderr, stdout};

const DAY: &str = "2026-11-20";

fn collected(symbols: usize, from: &str, to: &str) -> Workspace {
    let ws = Workspace::new(symbols);
    ok(&ws.demo(&["collect", "--from", from, "--to", to]));
    ws
}

fn read(ws: &Workspace, rel: &str) -> Vec<u8> {
    std::fs::read(ws.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn collect_publishes_every_dataset_and_a_manifest() {
    let ws = Workspace::new(60);
    let out = ok(&ws.demo(&["collect", "--date", DAY]));
    assert!(out.starts_with(&format!("{DAY}  published  ")), "{out}");
    assert!(out.contains("[simulated prices]"), "{out}");

    let dd = String::from_utf8(read(
        &ws,
        &format!("data/drawdowns/date={DAY}/drawdowns.csv"),
    ))
    .unwrap();
    let mut lines = dd.lines();
    assert_eq!(
        lines.next(),
        Some(
            "date,symbol,current_price,peak_price,peak_date,drawdown_pct,days_since_peak,volume,rank"
        )
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.len() >= 50, "most of 60 symbols ranked");
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r[0], DAY);
        assert_eq!(r[8], (i + 1).to_string(), "ranks are 1..n in order");
        let pct: f64 = r[5].parse().unwrap();
        assert!((-100.0..=0.0).contains(&pct), "drawdown {pct}");
    }
    let pcts: Vec<f64> = rows.iter().map(|r| r[5].parse().unwrap()).collect();
    assert!(pcts.windows(2).all(|w| w[0] <= w[1]), "deepest first");

    let bars = String::from_utf8(read(&ws, &format!("data/bars/date={DAY}/bars.csv"))).unwrap();
    assert!(bars.starts_with("date,symbol,open,high,low,close,volume,trade_count,vwap\n"));
    assert!(bars.lines().skip(1).all(|l| l.starts_with(DAY)));

    let manifest: serde_json::Value =
        serde_json::from_slice(&read(&ws, &format!("data/runs/date={DAY}/run.json"))).unwrap();
    assert_eq!(manifest["layout_version"], dipwatch::store::LAYOUT_VERSION);
    assert_eq!(manifest["report"]["provider"], "sim");
    assert_eq!(manifest["report"]["simulated"], true);
    assert_eq!(manifest["report"]["symbols"]["requested"], 60);
    assert_eq!(
        manifest["objects"]["drawdowns"]["rows"].as_u64().unwrap() as usize,
        rows.len()
    );
    let skipped = manifest["report"]["skipped"].as_array().unwrap();
    assert_eq!(
        manifest["report"]["symbols"]["skipped"].as_u64().unwrap() as usize,
        skipped.len()
    );
    assert!(ws.path("data/_meta/schema.json").exists());
}

#[test]
fn rerunning_a_day_rewrites_byte_identical_objects() {
    let ws = Workspace::new(30);
    ok(&ws.demo(&["collect", "--date", DAY]));
    let datasets = ["bars", "drawdowns", "positions", "account"];
    let before: Vec<Vec<u8>> = datasets
        .iter()
        .map(|d| read(&ws, &format!("data/{d}/date={DAY}/{d}.csv")))
        .collect();
    ok(&ws.demo(&["collect", "--date", DAY]));
    for (d, old) in datasets.iter().zip(before) {
        assert_eq!(
            read(&ws, &format!("data/{d}/date={DAY}/{d}.csv")),
            old,
            "{d} changed on re-run"
        );
    }
}

#[test]
fn screen_prints_an_aligned_table_csv_and_json() {
    let ws = collected(80, "2026-11-16", DAY);
    let table = ok(&ws.demo(&["screen"]));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        format!("Drawdown screen for {DAY}  [SIMULATED PRICES, not market data]")
    );
    assert!(lines[1].starts_with("rank  symbol"), "{table}");
    let rows: Vec<&str> = lines.iter().copied().filter(|l| l.contains('%')).collect();
    assert_eq!(rows.len(), 10, "screen.top_n rows by default");
    // Aligned: the drawdown column ends at the same offset on every row.
    let ends: Vec<usize> = rows.iter().map(|l| l.find('%').unwrap()).collect();
    assert!(ends.windows(2).all(|w| w[0] == w[1]), "{table}");
    assert!(rows[0].trim_start().starts_with("1  "));
    assert!(lines.last().unwrap().starts_with("10 of "), "{table}");

    let three = ok(&ws.demo(&["screen", "--top", "3", "--date", "2026-11-18"]));
    assert!(three.starts_with("Drawdown screen for 2026-11-18"));
    assert_eq!(three.lines().filter(|l| l.contains('%')).count(), 3);

    let csv_out = ws.demo(&["screen", "--format", "csv", "--top", "0"]);
    let csv = ok(&csv_out);
    assert!(
        stderr(&csv_out).contains("simulated prices"),
        "marker on stderr for csv"
    );
    assert!(csv.starts_with("date,symbol,current_price,"));
    let stored = read(&ws, &format!("data/drawdowns/date={DAY}/drawdowns.csv"));
    assert_eq!(
        csv.as_bytes(),
        stored.as_slice(),
        "--top 0 csv is the stored object"
    );

    let json: serde_json::Value =
        serde_json::from_str(&ok(&ws.demo(&["screen", "--format", "json", "--top", "5"]))).unwrap();
    assert_eq!(json["date"], DAY);
    assert_eq!(json["simulated"], true);
    assert_eq!(json["rows"].as_array().unwrap().len(), 5);
    assert_eq!(json["rows"][0]["rank"], 1);
    assert!(
        json["rows"][0]["drawdown_pct"].as_f64().unwrap()
            <= json["rows"][4]["drawdown_pct"].as_f64().unwrap()
    );
}

#[test]
fn screen_without_data_says_what_to_do() {
    let ws = Workspace::new(5);
    let out = ws.demo(&["screen"]);
    assert_fails_with(&out, 1, "run `dipwatch collect` first");
    assert!(
        !ws.path("data").exists(),
        "reading a store that is not there does not create it"
    );
    let export = ws.demo(&["export", "drawdowns"]);
    assert_fails_with(&export, 1, "no store at");
    assert!(!ws.path("data").exists());
    ok(&ws.demo(&["collect", "--date", DAY]));
    let missing = ws.demo(&["screen", "--date", "2026-01-05"]);
    assert!(stderr(&missing).contains("no screen published for 2026-01-05"));
}

#[test]
fn export_streams_one_csv_oldest_first_within_the_range() {
    let ws = collected(25, "2026-11-09", DAY);
    let exported = ws.demo(&["export", "drawdowns"]);
    let all = ok(&exported);
    assert!(
        stderr(&exported).contains("note: 10 exported date(s) hold simulated prices"),
        "simulated prices are marked: {}",
        stderr(&exported)
    );
    let header =
        "date,symbol,current_price,peak_price,peak_date,drawdown_pct,days_since_peak,volume,rank";
    assert_eq!(
        all.lines().filter(|l| *l == header).count(),
        1,
        "one header"
    );
    assert!(all.starts_with(header));
    let dates: Vec<&str> = all.lines().skip(1).map(|l| &l[..10]).collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    assert_eq!(dates.first(), Some(&"2026-11-09"));
    assert_eq!(dates.last(), Some(&DAY));
    let mut distinct = dates.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 10, "ten sessions from 11-09 to 11-20");

    let ranged = ok(&ws.demo(&[
        "export",
        "drawdowns",
        "--from",
        "2026-11-12",
        "--to",
        "2026-11-13",
    ]));
    let ranged_dates: std::collections::BTreeSet<&str> =
        ranged.lines().skip(1).map(|l| &l[..10]).collect();
    assert_eq!(
        ranged_dates.into_iter().collect::<Vec<_>>(),
        ["2026-11-12", "2026-11-13"]
    );

    let bars = ok(&ws.demo(&["export", "bars", "--from", DAY]));
    assert!(bars.starts_with("date,symbol,open,high,low,close,volume,trade_count,vwap\n"));
    assert_eq!(
        bars.lines().count(),
        26,
        "header + 25 symbols (all trade every day in the sim)"
    );

    let positions = ok(&ws.demo(&["export", "positions"]));
    assert!(positions.starts_with("date,symbol,quantity,avg_entry_price,current_price,unrealized_return_pct,market_value,unrealized_pl,asset_class,side\n"));
    let position_dates: std::collections::BTreeSet<&str> =
        positions.lines().skip(1).map(|l| &l[..10]).collect();
    assert_eq!(
        position_dates.len(),
        10,
        "the simulated broker snapshots every date"
    );
    let account = ok(&ws.demo(&["export", "account"]));
    assert!(account.starts_with("date,equity,cash,buying_power,status,"));
    assert_eq!(
        account.lines().count(),
        11,
        "header + one snapshot per date"
    );

    let none = ws.demo(&["export", "drawdowns", "--from", "2030-01-01"]);
    assert_eq!(ok(&none), format!("{header}\n"), "no rows: just the header");
    assert!(!stderr(&none).contains("simulated"), "no prices, no marker");
}

#[test]
fn corrupt_objects_are_skipped_and_reported_never_fatal() {
    let ws = collected(20, "2026-11-17", DAY);
    // Truncate the latest screen, corrupt an older manifest.
    let latest = ws.path(&format!("data/drawdowns/date={DAY}/drawdowns.csv"));
    let bytes = std::fs::read(&latest).unwrap();
    std::fs::write(&latest, &bytes[..bytes.len() / 3]).unwrap();
    std::fs::write(ws.path("data/runs/date=2026-11-18/run.json"), b"{not json").unwrap();

    let out = ws.demo(&["screen"]);
    let table = ok(&out);
    assert!(
        table.starts_with("Drawdown screen for 2026-11-19"),
        "falls back to the newest good date: {table}"
    );
    assert_stderr_has(&out, &format!("skipping {DAY}"));

    let exported = ws.demo(&["export", "drawdowns"]);
    let csv = ok(&exported);
    let dates: std::collections::BTreeSet<&str> = csv.lines().skip(1).map(|l| &l[..10]).collect();
    assert_eq!(
        dates.into_iter().collect::<Vec<_>>(),
        ["2026-11-17", "2026-11-19"]
    );
    let err = stderr(&exported);
    assert!(err.contains("skipping drawdowns 2026-11-18"), "{err}");
    assert!(err.contains(&format!("skipping drawdowns {DAY}")), "{err}");
    assert!(err.contains("2 partition(s) skipped"), "{err}");

    // An explicit date that is damaged is an error, not a silent fallback.
    let explicit = ws.demo(&["screen", "--date", DAY]);
    assert_eq!(explicit.status.code(), Some(1));
    assert!(stderr(&explicit).contains("does not match the run manifest"));

    // Re-collecting the day repairs it.
    ok(&ws.demo(&["collect", "--date", DAY]));
    assert!(ok(&ws.demo(&["screen"])).starts_with(&format!("Drawdown screen for {DAY}")));
}

#[test]
fn collect_refuses_closed_or_future_days_with_a_reason() {
    let ws = Workspace::new(5);
    let holiday = ws.demo(&["collect", "--date", "2026-11-26"]);
    assert_fails_with(&holiday, 1, "2026-11-26 is not a trading day");
    let future = ws.demo(&["collect", "--date", "2099-01-05"]);
    assert_stderr_has(&future, "has not closed yet");
    let swapped = ws.demo(&["collect", "--from", "2026-11-20", "--to", "2026-11-10"]);
    assert!(stderr(&swapped).contains("is after --to"));
    assert!(!ws.path("data/runs").exists(), "nothing published");
}

#[test]
fn the_real_config_without_keys_stops_and_names_keys_and_demo() {
    let ws = Workspace::new(5);
    for cmd in [&["collect"][..], &["run"][..], &["check-config"][..]] {
        let out = ws.run(cmd);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}");
        let err = stderr(&out);
        for needle in ["APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "config/demo.toml"] {
            assert!(err.contains(needle), "{cmd:?}: {err}");
        }
    }
    assert!(
        !ws.path("data/runs").exists(),
        "never falls back to simulated prices"
    );
}

#[test]
fn check_config_prints_the_effective_config_with_secrets_redacted() {
    let mut ws = Workspace::new(5);
    ws.set_env("TELOXIDE_TOKEN", "123456:TOKEN-must-not-print");
    ws.set_env("APCA_API_SECRET_KEY", "alpaca-secret-must-not-print");
    ws.set_env("DIPWATCH__SCREEN__TOP_N", "17");
    let out = ok(&ws.demo(&["check-config"]));
    assert!(out.contains("provider = \"sim\""), "{out}");
    assert!(out.contains("top_n = 17"), "{out}");
    assert!(
        out.contains("TELOXIDE_TOKEN = \"set (environment)\""),
        "{out}"
    );
    assert!(out.contains("APCA_API_KEY_ID = \"not set\""), "{out}");
    assert!(out.contains("# universe: 5 symbols"), "{out}");
    assert!(out.contains("# configuration OK"));
    assert!(!out.contains("TOKEN-must-not-print") && !out.contains("alpaca-secret-must-not-print"));
}

#[test]
fn check_config_names_the_bad_key() {
    let cases = [
        ("DIPWATCH__MARKET__PROVIDER", "yahoo", "market.provider"),
        (
            "DIPWATCH__SCHEDULE__COLLECT",
            "every day",
            "schedule.collect",
        ),
        (
            "DIPWATCH__MARKET__UNIVERSE",
            "/nonexistent/universe.txt",
            "market.universe",
        ),
        ("DIPWATCH__STORAGE__URL", "gs://bucket/x", "storage.url"),
        ("DIPWATCH__STORAGE__URL", "s3:/bucket", "storage.url"),
        ("DIPWATCH__MARKET__UNIVERSE", "/dev/zero", "market.universe"),
        (
            "DIPWATCH__SCHEDULE__RETRY_INTERVAL_SECS",
            "0",
            "schedule.retry_interval_secs",
        ),
        (
            "DIPWATCH__SCHEDULE__COLLECT",
            "0 0 0 31 2 *",
            "schedule.collect",
        ),
        (
            "DIPWATCH__PORTFOLIO__PROFIT_TARGET_PCT",
            "-100",
            "portfolio.profit_target_pct",
        ),
        (
            "DIPWATCH__SCHEDULE__TIMEZONE",
            "Europe/Atlantis",
            "schedule.timezone",
        ),
        // Not a chat id Telegram can have (teloxide panicked sending to it).
        (
            "DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS",
            "111,2000000000000",
            "telegram.allowed_chat_ids",
        ),
    ];
    for (key, value, named) in cases {
        let mut ws = Workspace::new(5);
        ws.set_env(key, value);
        let out = ws.demo(&["check-config"]);
        assert_eq!(out.status.code(), Some(2), "{key}={value}");
        let err = stderr(&out);
        assert!(err.contains(named), "{key}={value}: {err}");
        assert!(
            stdout(&out).is_empty(),
            "nothing printed on stdout for a bad config"
        );
    }
}

#[test]
fn unknown_commands_and_bad_dates_are_usage_errors() {
    let ws = Workspace::new(5);
    let out = ws.demo(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unrecognized subcommand"));
    let out = ws.demo(&["screen", "--date", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a date in YYYY-MM-DD form"));
}

#[test]
fn a_store_that_cannot_be_created_is_refused_and_a_good_one_is_probed_cleanly() {
    // A file where the store should be: it cannot even be created.
    let mut ws = Workspace::new(5);
    std::fs::write(ws.path("afile"), "not a directory\n").unwrap();
    ws.set_env("DIPWATCH__STORAGE__URL", "./afile");
    let out = ws.demo(&["check-config"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("storage.url"), "{}", stderr(&out));
    assert!(!stdout(&out).contains("configuration OK"));

    // (A directory the daemon's user cannot write is in tests/collect/outage.rs:
    // root ignores file modes, so that test gives up root's override.)

    // A writable store passes, and the probe leaves nothing behind.
    let ws = Workspace::new(5);
    let out = ok(&ws.demo(&["check-config"]));
    assert!(out.contains("(writable)"), "{out}");
    let meta: Vec<_> = std::fs::read_dir(ws.path("data/_meta"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(meta.is_empty(), "probe left {meta:?}");
}

#[test]
fn a_listen_address_in_use_is_a_configuration_error() {
    let ws = Workspace::new(5);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut cmd = ws.command(&[
        "run",
        "--config",
        &support::repo("config/demo.toml").display().to_string(),
    ]);
    cmd.env("DIPWATCH__HTTP__LISTEN", &addr)
        .env("DIPWATCH__TELEGRAM__ENABLED", "false");
    let out = ws.checked(
        support::ChildGuard::spawn(
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped()),
        )
        .unwrap()
        .wait_with_output()
        .unwrap(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_stderr_has(&out, &format!("http.listen: cannot listen on {addr}"));
}

#[test]
fn check_config_prints_warnings_and_runs_from_any_directory() {
    let mut ws = Workspace::new(5);
    // No universe file: the built-in one, from a directory outside the repository.
    ws.env.retain(|(k, _)| k != "DIPWATCH__MARKET__UNIVERSE");
    ws.set_env("DIPWATCH__SCHEDULE__COLLECT", "*/1 * * * * *");
    ws.set_env("DIPWATCH__HTTP__LISTEN", "0.0.0.0:9184");
    let out = ok(&ws.demo(&["check-config"]));
    assert!(out.contains("from builtin:russell1000"), "{out}");
    assert!(out.contains("# warning: schedule.collect:"), "{out}");
    assert!(out.contains("# warning: http.listen:"), "{out}");
    assert!(out.contains("profit_target_pct = 100.0"), "{out}");
    // Other commands log the warnings once, except a listener's: collect
    // opens none (cli_newcomer.rs has the daemon's side).
    let collect = ws.demo(&["collect", "--date", DAY]);
    assert!(collect.status.success(), "{}", stderr(&collect));
    assert_stderr_has(&collect, "\"key\":\"schedule.collect\"");
    assert!(
        !stderr(&collect).contains("\"key\":\"http.listen\""),
        "{}",
        stderr(&collect)
    );
}

#[test]
fn dates_that_cannot_have_data_are_usage_errors() {
    let ws = collected(5, DAY, DAY);
    let sunday = ws.demo(&["screen", "--date", "2026-11-22"]);
    assert_fails_with(&sunday, 2, "2026-11-22 (Sunday) is not a trading session");
    let backwards = ws.demo(&[
        "export",
        "bars",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-10",
    ]);
    assert_fails_with(&backwards, 2, "--from 2026-11-20 is after --to 2026-11-10");
    assert!(stdout(&backwards).is_empty());
}

/// Turn a date this build wrote into what layout v1 wrote: `positions.csv`
/// without `asset_class` and `side`, the manifest and `_meta/schema.json`
/// saying v1 (sizes and checksums matching, as v1 published them).
fn downgrade_to_layout_v1(ws: &Workspace, date: &str) {
    let rel = format!("data/positions/date={date}/positions.csv");
    let v2 = String::from_utf8(read(ws, &rel)).unwrap();
    let v1: String = v2
        .lines()
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            format!("{}\n", cells[..8].join(","))
        })
        .collect();
    std::fs::write(ws.path(&rel), &v1).unwrap();
    let manifest_rel = format!("data/runs/date={date}/run.json");
    let mut m: serde_json::Value = serde_json::from_slice(&read(ws, &manifest_rel)).unwrap();
    m["layout_version"] = 1.into();
    m["objects"]["positions"]["bytes"] = v1.len().into();
    m["objects"]["positions"]["sha256"] = dipwatch::store::sha256_hex(v1.as_bytes()).into();
    std::fs::write(
        ws.path(&manifest_rel),
        serde_json::to_vec_pretty(&m).unwrap(),
    )
    .unwrap();
    let mut schema: serde_json::Value =
        serde_json::from_slice(&read(ws, "data/_meta/schema.json")).unwrap();
    schema["layout_version"] = 1.into();
    std::fs::write(
        ws.path("data/_meta/schema.json"),
        serde_json::to_vec_pretty(&schema).unwrap(),
    )
    .unwrap();
}

#[test]
fn a_store_written_by_layout_v1_is_still_read_and_gains_the_new_columns() {
    let ws = collected(15, "2026-11-19", "2026-11-19");
    downgrade_to_layout_v1(&ws, "2026-11-19");

    let old = ws.demo(&["export", "positions"]);
    let text = ok(&old);
    assert!(!stderr(&old).contains("skip"), "{}", stderr(&old));
    let v1_rows: Vec<&str> = text.lines().skip(1).collect();
    assert!(!v1_rows.is_empty(), "v1 rows read: {text}");
    assert!(
        v1_rows.iter().all(|r| r.ends_with(",,")),
        "a v1 row has no class or side to export: {text}"
    );

    // A new date in the same store: written in this layout, and the store
    // now says so; both dates read back.
    ok(&ws.demo(&["collect", "--date", DAY]));
    let schema: serde_json::Value =
        serde_json::from_slice(&read(&ws, "data/_meta/schema.json")).unwrap();
    assert_eq!(schema["layout_version"], dipwatch::store::LAYOUT_VERSION);
    assert_eq!(
        schema["datasets"]["positions"]["columns"]
            .as_array()
            .map(Vec::len),
        Some(10)
    );
    let both = ok(&ws.demo(&["export", "positions"]));
    let dates: std::collections::BTreeSet<&str> = both.lines().skip(1).map(|l| &l[..10]).collect();
    assert_eq!(dates.into_iter().collect::<Vec<_>>(), ["2026-11-19", DAY]);
    assert!(
        both.lines()
            .filter(|l| l.starts_with(DAY))
            .all(|l| l.ends_with(",us_equity,long")),
        "{both}"
    );
    // The screen and the v1 snapshot still serve the daemon's reader.
    assert!(ok(&ws.demo(&["screen", "--date", "2026-11-19"])).contains("Drawdown screen"));
}

/// A copy of `date`'s manifest published as `as_date`: a valid manifest
/// (its objects verify) under another partition.
fn republish_manifest_as(ws: &Workspace, date: &str, as_date: &str) {
    let mut m: serde_json::Value =
        serde_json::from_slice(&read(ws, &format!("data/runs/date={date}/run.json"))).unwrap();
    m["date"] = as_date.into();
    m["report"]["date"] = as_date.into();
    let dir = ws.path(&format!("data/runs/date={as_date}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("run.json"), serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}

#[test]
fn a_future_dated_partition_is_ignored_with_a_warning_by_every_reader() {
    let ws = collected(10, "2026-11-19", DAY);
    republish_manifest_as(&ws, DAY, "2099-01-02");

    let screen = ws.demo(&["screen"]);
    assert!(
        ok(&screen).starts_with(&format!("Drawdown screen for {DAY}")),
        "{}",
        stdout(&screen)
    );
    assert!(
        stderr(&screen).contains(
            "warning: ignoring runs/date=2099-01-02: dated after the latest closed session"
        ),
        "{}",
        stderr(&screen)
    );
    for dataset in ["drawdowns", "positions"] {
        let export = ws.demo(&["export", dataset]);
        assert!(!ok(&export).contains("2099-01-02"), "{dataset}");
        assert_stderr_has(&export, "ignoring runs/date=2099-01-02");
    }
}

#[test]
fn a_damaged_date_that_is_collected_again_keeps_the_damaged_object_aside() {
    let ws = collected(10, DAY, DAY);
    let rel = format!("data/bars/date={DAY}/bars.csv");
    let mut damaged = read(&ws, &rel);
    damaged.truncate(damaged.len() / 2);
    damaged.extend_from_slice(b"garbage after a bad disk write\n");
    std::fs::write(ws.path(&rel), &damaged).unwrap();

    let out = ws.demo(&["collect", "--date", DAY]);
    ok(&out);
    let dir = ws.path(&format!("data/bars/date={DAY}"));
    let kept: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("bars.csv.damaged-"))
        })
        .collect();
    assert_eq!(
        kept.len(),
        1,
        "{:?}",
        std::fs::read_dir(&dir).unwrap().collect::<Vec<_>>()
    );
    assert_eq!(
        std::fs::read(&kept[0]).unwrap(),
        damaged,
        "the evidence, byte for byte"
    );
    let name = kept[0].file_name().unwrap().to_str().unwrap().to_string();
    let err = stderr(&out);
    assert!(
        err.contains("damaged object kept aside") && err.contains(&name),
        "the log says where: {err}"
    );
    // The rewritten date reads cleanly; the copy is nobody's object.
    assert!(ok(&ws.demo(&["screen", "--date", DAY])).contains("Drawdown screen"));
    let export = ws.demo(&["export", "bars"]);
    assert!(!stderr(&export).contains("skipping"), "{}", stderr(&export));
    assert!(!ok(&export).contains("garbage"));

    // A healthy date collected again keeps nothing aside.
    ok(&ws.demo(&["collect", "--date", DAY]));
    let copies = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_str()
                .unwrap()
                .contains("damaged")
        })
        .count();
    assert_eq!(copies, 1);
}
