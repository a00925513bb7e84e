//! `dipwatch collect` against Alpaca: the real binary and the real client
//! against a loopback fake of Alpaca's APIs.

use crate::support;

use support::{Workspace, assert_fails_with, assert_stderr_has, stderr, stdout};

/// As long as the keys Alpaca issues (20 and 40 characters): shorter
/// ones are refused at load.
const KEY_ID: &str = "PKTESTKEYID012345678";
const SECRET: &str = "sEcReT-0123456789-abcdefghij-0123456789x";

/// A workspace on the real provider with fast retry settings.
fn alpaca_workspace(url: &str, symbols: usize) -> Workspace {
    let mut ws = Workspace::new(symbols);
    for (k, v) in [
        ("DIPWATCH__MARKET__PROVIDER", "alpaca"),
        ("DIPWATCH__MARKET__DATA_URL", url),
        ("DIPWATCH__MARKET__TRADING_URL", url),
        ("DIPWATCH__MARKET__RETRY_BASE_MS", "10"),
        // Generous: a loaded machine must not turn a slow answer into a
        // timeout the test did not ask for (the hang case sets its own).
        ("DIPWATCH__MARKET__REQUEST_TIMEOUT_SECS", "30"),
        ("APCA_API_KEY_ID", KEY_ID),
        ("APCA_API_SECRET_KEY", SECRET),
    ] {
        ws.set_env(k, v);
    }
    ws
}

#[track_caller]
fn assert_no_secret(text: &str) {
    for secret in [KEY_ID, SECRET] {
        assert!(!text.contains(secret), "secret leaked into output:\n{text}");
    }
}

#[test]
fn keys_never_appear_in_logs_or_errors_of_a_failing_run() {
    // Nothing listens on this port: every attempt fails to connect.
    let port = support::free_port();
    let mut ws = alpaca_workspace(&format!("http://127.0.0.1:{port}"), 5);
    ws.set_env("DIPWATCH__MARKET__MAX_RETRIES", "2");
    // Everything, dependencies included, at the most verbose level.
    ws.set_env("RUST_LOG", "trace");
    let out = ws.run(&["collect", "--date", "2026-11-20"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("connection failed"), "{err}");
    assert!(err.lines().count() > 5, "trace logging was on");
    assert_no_secret(&err);
    assert_no_secret(&stdout(&out));
    assert!(!ws.path("data/runs").exists(), "nothing published");

    // Against a server that answers, at trace level (hyper, reqwest and
    // rustls log every exchange there): a wrong key pair (401), a server
    // error, then a full successful run with account and positions.
    let fake = fake(5);
    let mut ws = alpaca_workspace(&fake.url(), 5);
    ws.set_env("DIPWATCH__MARKET__MAX_RETRIES", "1");
    ws.set_env("DIPWATCH__MARKET__RETRY_BASE_MS", "10");
    ws.set_env("RUST_LOG", "trace");
    fake.set_keys("OTHER-KEY", "other-secret");
    let unauthorized = ws.run(&["collect"]);
    assert_eq!(unauthorized.status.code(), Some(1));
    fake.set_keys(KEY_ID, SECRET);
    fake.fail_times(
        "/v2/calendar",
        2,
        Fault::status(500, "{\"message\":\"boom\"}"),
    );
    let failed = ws.run(&["collect"]);
    assert_eq!(failed.status.code(), Some(1));
    let good = ws.run(&["collect"]);
    ok(&good);
    for out in [&unauthorized, &failed, &good] {
        let err = stderr(out);
        assert!(err.lines().count() > 20, "trace logging was on: {err}");
        assert_no_secret(&err);
        assert_no_secret(&stdout(out));
    }
    assert!(stderr(&unauthorized).contains("HTTP 401"));

    let cfg = ws.run(&["check-config"]);
    assert_no_secret(&stdout(&cfg));
    assert_no_secret(&stderr(&cfg));
    assert!(stdout(&cfg).contains("APCA_API_SECRET_KEY = \"set (environment)\""));
}

use std::time::Duration;

use dipwatch::domain::Symbol;
use support::fake_alpaca::{FakeAlpaca, FakeAlpacaOptions, Fault};
use support::{MotoServer, ok};

const DAY: &str = "2026-11-20";

fn tickers(n: usize) -> Vec<Symbol> {
    dipwatch::domain::parse_universe(&support::universe_head(n)).unwrap()
}

fn fake(n: usize) -> FakeAlpaca {
    FakeAlpaca::start(
        FakeAlpacaOptions::new()
            .universe(tickers(n))
            .keys(KEY_ID, SECRET),
    )
}

fn read(ws: &Workspace, rel: &str) -> Vec<u8> {
    std::fs::read(ws.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn manifest(ws: &Workspace, date: &str) -> serde_json::Value {
    serde_json::from_slice(&read(ws, &format!("data/runs/date={date}/run.json"))).unwrap()
}

/// The same universe and date collected from the simulated provider, whose
/// prices the fake serves: the Alpaca path must store exactly the same.
fn sim_baseline(n: usize, date: &str) -> (Vec<u8>, Vec<u8>) {
    let ws = Workspace::new(n);
    ok(&ws.demo(&["collect", "--date", date]));
    (
        read(&ws, &format!("data/drawdowns/date={date}/drawdowns.csv")),
        read(&ws, &format!("data/bars/date={date}/bars.csv")),
    )
}

#[test]
fn collect_from_alpaca_stores_what_the_source_sent_in_few_requests() {
    let n = 200;
    let fake = fake(n);
    let ws = alpaca_workspace(&fake.url(), n);
    let out = ok(&ws.run(&["collect", "--date", DAY]));
    assert!(out.starts_with(&format!("{DAY}  published  ")), "{out}");
    assert!(
        !out.contains("simulated"),
        "real provider: no simulated marker"
    );

    let (dd, bars) = sim_baseline(n, DAY);
    assert_eq!(
        read(&ws, &format!("data/drawdowns/date={DAY}/drawdowns.csv")),
        dd
    );
    assert_eq!(read(&ws, &format!("data/bars/date={DAY}/bars.csv")), bars);

    // 200 symbols x 180 sessions = 36,000 bars: 4 pages of 10,000, one batch.
    let bar_requests = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v2/stocks/bars")
        .collect::<Vec<_>>();
    assert_eq!(bar_requests.len(), 4);
    let first = &bar_requests[0];
    assert_eq!(first.param("limit"), Some("10000"));
    assert_eq!(first.param("timeframe"), Some("1Day"));
    assert_eq!(first.param("adjustment"), Some("split"));
    assert_eq!(first.param("feed"), Some("iex"));
    assert_eq!(first.param("symbols").unwrap().split(',').count(), n);
    assert!(bar_requests[1].param("page_token").is_some());
    assert_eq!(fake.count("/v2/calendar"), 1);

    let m = manifest(&ws, DAY);
    assert_eq!(m["report"]["provider"], "alpaca");
    assert_eq!(m["report"]["simulated"], false);
    assert_eq!(
        m["report"]["requests"]["made"],
        fake.requests().len() as u64
    );
    assert_eq!(m["report"]["requests"]["retries"], 0);
    let breakers = m["report"]["requests"]["breakers"].as_object().unwrap();
    // One per dependency, the order side's (trades, assets, orders) too.
    assert_eq!(breakers.len(), 8, "{breakers:?}");
    for (name, b) in breakers {
        assert_eq!(b["state"], "closed", "{name}");
        assert_eq!(b["trips"], 0, "{name}");
    }
    assert_eq!(
        m["report"]["requests"]["by_status"]["200"],
        fake.requests().len() as u64
    );
}

#[test]
fn transient_faults_are_retried_and_change_nothing() {
    let n = 30;
    let (baseline, _) = sim_baseline(n, DAY);
    let cases: Vec<(&str, Fault, &str)> = vec![
        ("429", Fault::rate_limited(), "429"),
        // The reset is counted from the moment the fake answers, not from
        // when this list is built (a loaded machine takes seconds to get
        // to the case).
        ("429 X-RateLimit-Reset", Fault::RateLimitedFor(3), "429"),
        ("429 Retry-After", Fault::rate_limited_retry_after(1), "429"),
        (
            "500",
            Fault::api_error(500, 50000000, "internal server error"),
            "500",
        ),
        ("502 html", Fault::html(502), "502"),
        (
            "503",
            Fault::status(503, "{\"message\":\"service unavailable\"}"),
            "503",
        ),
        // Far longer than its timeout, which is far longer than any other
        // answer takes even on a loaded machine.
        ("hang", Fault::Hang(Duration::from_secs(300)), "timeout"),
        ("reset", Fault::Reset, "connect"),
        ("malformed json", Fault::MalformedJson, "malformed"),
    ];
    for (name, fault, label) in cases {
        let fake = fake(n);
        fake.push_fault("/v2/stocks/bars", fault);
        let mut ws = alpaca_workspace(&fake.url(), n);
        if name == "hang" {
            ws.set_env("DIPWATCH__MARKET__REQUEST_TIMEOUT_SECS", "10");
        }
        let out = ws.run(&["collect", "--date", DAY]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert_eq!(
            read(&ws, &format!("data/drawdowns/date={DAY}/drawdowns.csv")),
            baseline,
            "{name}"
        );
        let m = manifest(&ws, DAY);
        assert_eq!(m["report"]["requests"]["retries"], 1, "{name}");
        assert_eq!(
            m["report"]["requests"]["by_status"][label], 1,
            "{name}: {}",
            m["report"]["requests"]
        );
        assert_eq!(fake.pending_faults(), 0, "{name}");
        // Each wait is checked on the fake's own record of when the 429
        // went out and when the retry came, not on how long the run took:
        // the retry can come later on a loaded machine, never earlier.
        let bars: Vec<_> = fake
            .requests()
            .into_iter()
            .filter(|r| r.path == "/v2/stocks/bars")
            .collect();
        let (refused, retry) = (&bars[0], &bars[1]);
        if name == "429 X-RateLimit-Reset" {
            let reset = refused.at.timestamp() + 3;
            assert!(
                retry.at.timestamp() >= reset,
                "X-RateLimit-Reset honoured: retry at {}, reset {reset}",
                retry.at
            );
        }
        if name == "429 Retry-After" {
            assert!(
                retry.at - refused.at >= chrono::Duration::seconds(1),
                "Retry-After honoured: {} then {}",
                refused.at,
                retry.at
            );
            let waited = m["report"]["requests"]["rate_limit_wait_secs"]
                .as_f64()
                .unwrap();
            assert!(waited >= 1.0, "the wait is counted: {waited}");
        }
    }
}

#[test]
fn auth_errors_fail_at_once_without_retries() {
    let fake = fake(5);
    let ws = alpaca_workspace(&fake.url(), 5);
    fake.set_keys("OTHER-KEY", "other-secret");
    let out = ws.run(&["collect", "--date", DAY]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("HTTP 401: request is not authorized"), "{err}");
    assert_eq!(fake.requests().len(), 1, "a 401 is not retried");
    assert_no_secret(&err);

    fake.set_keys(KEY_ID, SECRET);
    fake.reset_log();
    fake.push_fault("/v2/calendar", Fault::api_error(403, 40310000, "forbidden"));
    let out = ws.run(&["collect", "--date", DAY]);
    assert_fails_with(&out, 1, "HTTP 403: forbidden");
    assert_eq!(fake.requests().len(), 1);
    assert!(!ws.path("data/runs").exists());
}

#[test]
fn bad_symbol_data_is_dropped_with_reasons_and_never_sinks_the_run() {
    let n = 12;
    // The source's "now": the evening of the screen date.
    let now = "2026-11-20T23:00:00Z".parse().unwrap();
    let fake = FakeAlpaca::start(
        FakeAlpacaOptions::new()
            .universe(tickers(n))
            .keys(KEY_ID, SECRET)
            .now(now),
    );
    let t = tickers(n);
    let (none, invalid, dup, stale) = (t[0].as_str(), t[1].as_str(), t[2].as_str(), t[3].as_str());
    fake.no_bars(none);
    fake.invalid_bars(invalid);
    fake.duplicate_bars(dup);
    fake.missing_latest(stale);
    let ws = alpaca_workspace(&fake.url(), n);
    ok(&ws.run(&["collect", "--date", DAY]));
    let r = &manifest(&ws, DAY)["report"];
    let skipped: Vec<(String, String)> = r["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["symbol"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        skipped.contains(&(none.to_string(), "no bars in the window".to_string())),
        "{skipped:?}"
    );
    assert!(
        skipped
            .iter()
            .any(|(s, why)| s == stale && why.starts_with("stale: last bar 2026-11-19")),
        "{skipped:?}"
    );
    let rejected = r["rejected_bars"].as_array().unwrap();
    // Every kind of spoiling the fake applies is caught, each with its reason.
    let reasons: Vec<&str> = rejected
        .iter()
        .filter(|b| b["symbol"] == invalid)
        .map(|b| b["reason"].as_str().unwrap())
        .collect();
    for expected in [
        "is not a positive finite price",
        "above high",
        "not a plausible price",
        "unreadable bar",
    ] {
        assert!(
            reasons.iter().any(|why| why.contains(expected)),
            "no bar of {invalid} rejected for {expected:?}: {reasons:?}"
        );
    }
    // Nothing implausible reached the store: every stored price is sane.
    let bars = String::from_utf8(read(&ws, &format!("data/bars/date={DAY}/bars.csv"))).unwrap();
    let dds = String::from_utf8(read(
        &ws,
        &format!("data/drawdowns/date={DAY}/drawdowns.csv"),
    ))
    .unwrap();
    for (csv, cols) in [(&bars, 2..6), (&dds, 2..4)] {
        for line in csv.lines().skip(1) {
            let fields: Vec<&str> = line.split(',').collect();
            for v in &fields[cols.clone()] {
                let v: f64 = v.parse().unwrap();
                assert!(v > 0.0 && v < 1e6, "implausible price stored: {line}");
            }
        }
    }
    assert!(
        rejected
            .iter()
            .any(|b| b["symbol"] == dup && b["reason"] == "duplicate date"),
        "{rejected:?}"
    );
    assert_eq!(r["symbols"]["failed"], 0);
    let dd = String::from_utf8(read(
        &ws,
        &format!("data/drawdowns/date={DAY}/drawdowns.csv"),
    ))
    .unwrap();
    assert!(
        dd.contains(&format!(",{dup},")),
        "duplicates dropped, the symbol still ranked"
    );
    assert!(!dd.contains(&format!(",{none},")) && !dd.contains(&format!(",{stale},")));
}

#[test]
fn a_page_token_loop_is_stopped_and_nothing_is_published() {
    let fake = fake(20);
    fake.page_token_loop();
    let ws = alpaca_workspace(&fake.url(), 20);
    let out = ws.run(&["collect", "--date", DAY]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("page token repeated"), "{err}");
    assert!(
        fake.count("/v2/stocks/bars") <= 3,
        "bounded: {}",
        fake.count("/v2/stocks/bars")
    );
    assert!(!ws.path("data/runs").exists());
}

#[test]
fn a_market_data_outage_publishes_nothing_and_says_why_in_one_line() {
    let fake = fake(10);
    fake.fail_times(
        "/v2/stocks/bars",
        10,
        Fault::status(503, "<html><title>503 Service Unavailable</title></html>"),
    );
    let mut ws = alpaca_workspace(&fake.url(), 10);
    ws.set_env("DIPWATCH__MARKET__MAX_RETRIES", "2");
    let out = ws.run(&["collect", "--date", DAY]);
    assert_eq!(out.status.code(), Some(1));
    let last = stderr(&out).lines().last().unwrap_or_default().to_string();
    assert!(last.starts_with("error: collection failed"), "{last}");
    assert!(last.contains("HTTP 503: 503 Service Unavailable"), "{last}");
    assert!(!ws.path("data/runs").exists());
}

#[test]
fn a_day_not_yet_published_by_the_source_is_not_screened() {
    let fake = fake(10);
    fake.missing_day(DAY.parse().unwrap());
    let ws = alpaca_workspace(&fake.url(), 10);
    let out = ws.run(&["collect", "--date", DAY]);
    assert_eq!(out.status.code(), Some(75));
    assert!(
        stdout(&out).contains("not published: only 0 of 10 symbols have a bar"),
        "{}",
        stdout(&out)
    );
    assert!(!ws.path("data/runs").exists());
}

/// Bars requests of the first batch (its symbol list starts with Z0000).
const FIRST_BATCH: &str = "/v2/stocks/bars?symbols=Z0000,";
/// Bars requests of the second batch (500 of 1,000: it starts with Z0500).
const SECOND_BATCH: &str = "/v2/stocks/bars?symbols=Z0500,";

#[test]
fn a_failed_batch_is_queued_then_recovered_or_given_up() {
    // 1,000 five-letter tickers need two batches; the first bars request
    // fails for good (no retries), so exactly one batch's symbols fail.
    let n = 1000;
    let names: Vec<String> = (0..n).map(|i| format!("Z{i:04}")).collect();
    let syms: Vec<Symbol> = names.iter().map(|t| Symbol::parse(t).unwrap()).collect();
    let fake = FakeAlpaca::start(FakeAlpacaOptions::new().universe(syms).keys(KEY_ID, SECRET));
    let mut ws = Workspace::with_tickers(&names);
    for (k, v) in alpaca_workspace(&fake.url(), 1).env {
        if k != "DIPWATCH__MARKET__UNIVERSE" {
            ws.set_env(&k, &v);
        }
    }
    ws.set_env("DIPWATCH__MARKET__MAX_RETRIES", "0");
    ws.set_env("DIPWATCH__MARKET__RETRY_FAILED_MAX_ATTEMPTS", "2");
    fake.push_fault(FIRST_BATCH, Fault::status(500, "{\"message\":\"boom\"}"));
    let out = ok(&ws.run(&["collect", "--date", DAY]));
    let r = manifest(&ws, DAY)["report"].clone();
    let failed = r["symbols"]["failed"].as_u64().unwrap();
    assert_eq!(failed, 500, "one of two batches");
    assert_eq!(
        r["symbols"]["ok"].as_u64().unwrap() + r["symbols"]["skipped"].as_u64().unwrap() + failed,
        n as u64
    );
    assert!(
        out.contains("failed") && out.contains("HTTP 500: boom"),
        "{out}"
    );
    let queue: serde_json::Value =
        serde_json::from_slice(&read(&ws, "data/_retry/queue.json")).unwrap();
    assert_eq!(queue["entries"].as_array().unwrap().len() as u64, failed);
    assert_eq!(queue["entries"][0]["attempts"], 1);

    // Retry while the source is down for both batches: nothing published,
    // the queue untouched (an outage is not an attempt against a symbol).
    let ws2_queue_before = read(&ws, "data/_retry/queue.json");
    fake.push_fault(FIRST_BATCH, Fault::status(500, "{\"message\":\"boom\"}"));
    fake.push_fault(SECOND_BATCH, Fault::status(500, "{\"message\":\"boom\"}"));
    let retry = ws.run(&["collect", "--retry-failed"]);
    // Both batches failed this time: nothing published, the queue untouched.
    assert_eq!(retry.status.code(), Some(1), "{}", stderr(&retry));
    assert_eq!(read(&ws, "data/_retry/queue.json"), ws2_queue_before);

    // The source is back: the queued date is re-collected and complete.
    let again = ok(&ws.run(&["collect", "--retry-failed"]));
    assert!(again.starts_with(&format!("{DAY}  published  ")), "{again}");
    let r = manifest(&ws, DAY)["report"].clone();
    assert_eq!(r["symbols"]["failed"], 0);
    assert_eq!(r["recovered"].as_array().unwrap().len() as u64, failed);
    let queue: serde_json::Value =
        serde_json::from_slice(&read(&ws, "data/_retry/queue.json")).unwrap();
    assert!(queue["entries"].as_array().unwrap().is_empty());
    let sim = Workspace::with_tickers(&names);
    ok(&sim.demo(&["collect", "--date", DAY]));
    assert_eq!(
        read(&ws, &format!("data/drawdowns/date={DAY}/drawdowns.csv")),
        read(&sim, &format!("data/drawdowns/date={DAY}/drawdowns.csv")),
        "complete again, exactly as the source"
    );
    assert!(stdout(&ws.run(&["collect", "--retry-failed"])).contains("retry queue is empty"));

    // A symbol that keeps failing is given up after the attempt limit.
    fake.push_fault(FIRST_BATCH, Fault::status(500, "{\"message\":\"boom\"}"));
    ok(&ws.run(&["collect", "--date", "2026-11-19"]));
    fake.push_fault(FIRST_BATCH, Fault::status(500, "{\"message\":\"boom\"}"));
    let gave_up = ok(&ws.run(&["collect", "--retry-failed"]));
    assert!(gave_up.contains("gave up on"), "{gave_up}");
    let r = manifest(&ws, "2026-11-19")["report"].clone();
    assert_eq!(r["gave_up"].as_array().unwrap().len(), 500);
    let queue: serde_json::Value =
        serde_json::from_slice(&read(&ws, "data/_retry/queue.json")).unwrap();
    assert!(
        queue["entries"].as_array().unwrap().is_empty(),
        "not retried forever"
    );
}

#[test]
fn the_latest_session_snapshots_account_and_positions_exactly() {
    let n = 40;
    let fake = fake(n);
    let ws = alpaca_workspace(&fake.url(), n);
    let out = ok(&ws.run(&["collect"]));
    let date = &out[..10];
    let account =
        String::from_utf8(read(&ws, &format!("data/account/date={date}/account.csv"))).unwrap();
    let row: Vec<&str> = account.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(
        row[2], "25000.00",
        "cash as the API's decimal string: {account}"
    );
    assert_eq!(row[4], "ACTIVE");
    let positions = String::from_utf8(read(
        &ws,
        &format!("data/positions/date={date}/positions.csv"),
    ))
    .unwrap();
    assert!(positions.lines().count() > 1, "{positions}");
    // The profit rule, recomputed from the stored positions: the average
    // return of the best five against the target.
    let mut returns: Vec<(f64, String)> = positions
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[5].parse().unwrap(), f[1].to_string())
        })
        .collect();
    returns.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let best: Vec<&(f64, String)> = returns.iter().take(5).collect();
    let avg = best.iter().map(|r| r.0).sum::<f64>() / best.len() as f64;
    let verdict = |ws: &Workspace| manifest(ws, date)["report"]["profit"].clone();
    let profit = verdict(&ws);
    assert_eq!(profit["top_n"], 5);
    let reported: f64 = profit["average_return_pct"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((reported - avg).abs() < 1e-3, "{reported} vs {avg}");
    let considered: Vec<&str> = support::json_strs(&profit["considered"], |v| &v[0]);
    assert_eq!(
        considered,
        best.iter().map(|r| r.1.as_str()).collect::<Vec<_>>()
    );
    assert_eq!(profit["take_profit"], avg >= 100.0, "{profit}");
    assert_eq!(fake.count("/v2/account"), 1);
    assert_eq!(fake.count("/v2/positions"), 1);

    // Targets just under and just over that average flip the verdict.
    for (target, expected) in [(avg - 0.5, true), (avg + 0.5, false)] {
        let mut ws = alpaca_workspace(&fake.url(), n);
        ws.set_env(
            "DIPWATCH__PORTFOLIO__PROFIT_TARGET_PCT",
            &format!("{target:.3}"),
        );
        ok(&ws.run(&["collect"]));
        assert_eq!(verdict(&ws)["take_profit"], expected, "target {target}");
    }
}

#[test]
fn collect_from_alpaca_into_s3_then_screen_reads_it_back() {
    let moto = MotoServer::start();
    moto.create_bucket("dipwatch-alpaca");
    let fake = fake(50);
    let mut ws = alpaca_workspace(&fake.url(), 50);
    ws.use_s3(&moto, "s3://dipwatch-alpaca/lake");
    ok(&ws.run(&["collect", "--from", "2026-11-18", "--to", DAY]));
    assert!(!ws.path("data").exists());
    let table = ok(&ws.run(&["screen", "--top", "3"]));
    assert!(
        table.starts_with(&format!("Drawdown screen for {DAY}\n")),
        "{table}"
    );
    assert_eq!(table.lines().filter(|l| l.contains('%')).count(), 3);
    let exported = ok(&ws.run(&["export", "drawdowns"]));
    let dates: std::collections::BTreeSet<&str> =
        exported.lines().skip(1).map(|l| &l[..10]).collect();
    assert_eq!(dates.len(), 3);
}

/// The breaker, in process: opens after the threshold, fails fast without
/// touching the server while the other dependencies are still asked, then
/// a probe after the cool-down closes it. No assertion leans on how fast
/// the machine is: the fail-fast client's cool-down is far longer than any
/// test, and the recovering one's is waited out in full.
#[tokio::test]
async fn the_circuit_breaker_opens_fails_fast_and_recovers() {
    use dipwatch::alpaca::{AlpacaClient, AlpacaError, BreakerState, ClientSettings, Dependency};
    use secrecy::SecretString;
    let fake = fake(3);
    let client = |cooldown: Duration| {
        let settings = ClientSettings {
            data_url: fake.url(),
            trading_url: fake.url(),
            requests_per_minute: 200,
            burst: 30,
            timeout: Duration::from_secs(30),
            max_retries: 0,
            retry_base: Duration::from_millis(10),
            breaker_threshold: 3,
            breaker_cooldown: cooldown,
        };
        AlpacaClient::new(
            settings,
            &SecretString::from(KEY_ID),
            &SecretString::from(SECRET),
        )
        .unwrap()
    };
    async fn clock(c: &AlpacaClient) -> Result<usize, AlpacaError> {
        c.get(Dependency::Clock, "/v2/clock", &[], |b| Ok(b.len()))
            .await
    }
    let open = |c: AlpacaClient| async {
        fake.fail_times("/v2/clock", 3, Fault::status(503, "down"));
        for _ in 0..3 {
            assert!(matches!(
                clock(&c).await,
                Err(AlpacaError::Status { status: 503, .. })
            ));
        }
        let stats = c.stats();
        assert_eq!(stats.breakers["trading.clock"].state, BreakerState::Open);
        assert_eq!(stats.breakers["trading.clock"].trips, 1);
        c
    };

    let failing_fast = open(client(Duration::from_secs(600))).await;
    let before = fake.count("/v2/clock");
    assert!(matches!(
        clock(&failing_fast).await,
        Err(AlpacaError::CircuitOpen {
            breaker: "trading.clock",
            ..
        })
    ));
    assert_eq!(fake.count("/v2/clock"), before, "no request while open");
    // The clock's breaker is its own: the account is still asked.
    let account = failing_fast
        .get(Dependency::Account, "/v2/account", &[], |b| Ok(b.len()))
        .await;
    assert!(account.is_ok());
    assert_eq!(fake.count("/v2/account"), 1);
    assert_eq!(
        failing_fast.stats().breakers["trading.account"].state,
        BreakerState::Closed
    );
    assert!(format!("{failing_fast:?}").contains("[redacted]"));

    let recovering = open(client(Duration::from_millis(50))).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        clock(&recovering).await.is_ok(),
        "the half-open probe succeeds"
    );
    assert_eq!(
        recovering.stats().breakers["trading.clock"].state,
        BreakerState::Closed
    );
    assert!(clock(&recovering).await.is_ok());
}

/// The latest closed session is the exchange's call: on a host whose
/// clock is days off, `collect` follows Alpaca's `/v2/clock` and says so.
#[test]
fn the_latest_session_follows_the_exchange_clock_not_the_host() {
    let n = 10;
    // The exchange's "now": 20 hours behind the host (within the day it is
    // believed), so the latest closed session is the exchange's call.
    let exchange_now = chrono::Utc::now() - chrono::Duration::hours(20);
    let fake = FakeAlpaca::start(
        FakeAlpacaOptions::new()
            .universe(tickers(n))
            .keys(KEY_ID, SECRET)
            .now(exchange_now),
    );
    let sessions = dipwatch::market::calendar::sessions(
        exchange_now.date_naive() - chrono::Duration::days(10),
        exchange_now.date_naive() + chrono::Duration::days(1),
    );
    let expected = dipwatch::market::latest_closed(&sessions, exchange_now).unwrap();
    let ws = alpaca_workspace(&fake.url(), n);
    let out = ws.run(&["collect"]);
    let printed = ok(&out);
    assert!(
        printed.starts_with(&format!("{expected}  published")),
        "{printed}"
    );
    assert_stderr_has(&out, "the host clock is off; using the exchange's");
    assert_eq!(fake.count("/v2/clock"), 1);
}

/// An account as alpaca-py's fixtures show real ones: an option position
/// (OCC symbol, prices `null`), crypto both ways (`BTCUSD`, `BTC/USD`), one
/// entry that cannot be read, and an account without the fields Alpaca
/// removed in 2026-07 and with a `null` balance. Every readable position
/// is kept with its class and side, the bad one is reported, nothing is
/// invented, and only `portfolio.asset_classes` count for the profit rule.
#[test]
fn real_accounts_keep_options_crypto_and_nulls_and_skip_only_the_bad_entry() {
    use support::fake_alpaca::{crypto_position, malformed_position, option_position};
    let n = 20;
    let fake = fake(n);
    fake.add_position(option_position("AAPL261218C00200000", false));
    fake.add_position(crypto_position("BTCUSD"));
    fake.add_position(crypto_position("BTC/USD"));
    fake.add_position(malformed_position("ZZBAD"));
    fake.account_without_day_trading_fields();
    fake.account_field("cash", Some(serde_json::Value::Null));
    let ws = alpaca_workspace(&fake.url(), n);
    let out = ws.run(&["collect"]);
    let printed = ok(&out);
    let date = &printed[..10];
    assert_eq!(fake.count("/v2/positions"), 1, "nothing retried");
    assert_eq!(fake.count("/v2/account"), 1, "nothing retried");

    let positions = String::from_utf8(read(
        &ws,
        &format!("data/positions/date={date}/positions.csv"),
    ))
    .unwrap();
    let mut lines = positions.lines();
    assert_eq!(
        lines.next(),
        Some(
            "date,symbol,quantity,avg_entry_price,current_price,unrealized_return_pct,\
             market_value,unrealized_pl,asset_class,side"
        )
    );
    let rows: Vec<&str> = lines.collect();
    let row = |sym: &str| {
        rows.iter()
            .find(|r| r.split(',').nth(1) == Some(sym))
            .unwrap_or_else(|| panic!("{sym} missing:\n{positions}"))
            .to_string()
    };
    assert_eq!(
        row("AAPL261218C00200000"),
        format!("{date},AAPL261218C00200000,2,3.05,,,,,us_option,long"),
        "unknown prices are empty cells"
    );
    assert_eq!(
        row("BTCUSD"),
        format!("{date},BTCUSD,0.012345678,20000,100000,4000,1234.5678,987.65424,crypto,long")
    );
    assert!(row("BTC/USD").ends_with(",crypto,long"));
    assert!(!positions.contains("ZZBAD"), "{positions}");
    let stocks = rows
        .iter()
        .filter(|r| r.ends_with(",us_equity,long"))
        .count();
    assert!(stocks > 0, "the stock positions are all there: {positions}");
    assert_eq!(rows.len(), stocks + 3);

    let m = manifest(&ws, date);
    let skipped = &m["report"]["unreadable_positions"];
    assert_eq!(skipped.as_array().map(Vec::len), Some(1), "{skipped}");
    assert_eq!(skipped[0]["symbol"], "ZZBAD");
    assert!(
        skipped[0]["reason"].as_str().unwrap().contains("ten"),
        "{skipped}"
    );
    let err = stderr(&out);
    assert!(
        err.contains("position skipped") && err.contains("ZZBAD"),
        "{err}"
    );
    assert!(m["report"].get("reason").is_none(), "{}", m["report"]);

    let account =
        String::from_utf8(read(&ws, &format!("data/account/date={date}/account.csv"))).unwrap();
    let cells: Vec<&str> = account.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(cells.len(), 10, "{account}");
    assert_eq!(cells[2], "", "null cash is an empty cell: {account}");
    assert_eq!(
        (cells[8], cells[9]),
        ("", ""),
        "day-trading fields Alpaca no longer sends are empty, not 0,false: {account}"
    );
    assert_eq!(cells[4], "ACTIVE");

    // Only stocks count by default; the coins' +4000% flips the rule once
    // `crypto` is one of the classes.
    let considered = |ws: &Workspace| -> Vec<String> {
        manifest(ws, date)["report"]["profit"]["considered"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c[0].as_str().unwrap().to_string())
            .collect()
    };
    let stocks_only = considered(&ws);
    assert!(!stocks_only.is_empty());
    assert!(
        stocks_only
            .iter()
            .all(|s| !s.contains("BTC") && !s.contains("AAPL2")),
        "{stocks_only:?}"
    );
    let mut with_crypto = alpaca_workspace(&fake.url(), n);
    with_crypto.set_env("DIPWATCH__PORTFOLIO__ASSET_CLASSES", "us_equity,crypto");
    ok(&with_crypto.run(&["collect"]));
    let counted = considered(&with_crypto);
    assert_eq!(&counted[..2], ["BTC/USD", "BTCUSD"], "{counted:?}");
    assert_eq!(
        manifest(&with_crypto, date)["report"]["profit"]["take_profit"],
        true
    );

    let mut bad = alpaca_workspace(&fake.url(), n);
    bad.set_env("DIPWATCH__PORTFOLIO__ASSET_CLASSES", "us_equity,futures");
    let refused = bad.run(&["check-config"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert_stderr_has(&refused, "portfolio.asset_classes");
}

/// A 200 whose JSON does not match the schema is the same next time: it is
/// not retried, and the account failing does not cost the positions.
#[test]
fn a_200_of_the_wrong_shape_is_not_retried_and_costs_only_its_part() {
    let n = 10;
    let fake = fake(n);
    fake.push_fault(
        "/v2/account",
        Fault::status(200, r#"{"id":"x","equity":"12"}"#),
    );
    let ws = alpaca_workspace(&fake.url(), n);
    let printed = ok(&ws.run(&["collect"]));
    let date = &printed[..10];
    assert_eq!(fake.count("/v2/account"), 1, "not retried");
    let m = manifest(&ws, date);
    assert_eq!(m["report"]["requests"]["by_status"]["schema"], 1, "{m}");
    let reason = m["report"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("account") && reason.contains("missing field `status`"),
        "{reason}"
    );
    assert!(m["objects"]["positions"].is_object(), "positions kept: {m}");
    assert!(m["objects"].get("account").is_none(), "{m}");

    // Bars ranges go out as full RFC 3339 instants, as alpaca-py sends them.
    let bars: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v2/stocks/bars")
        .collect();
    assert!(!bars.is_empty());
    for r in &bars {
        for name in ["start", "end"] {
            let v = r.param(name).unwrap();
            let t = chrono::DateTime::parse_from_rfc3339(v)
                .unwrap_or_else(|e| panic!("{name}={v}: {e}"));
            let ny = t.with_timezone(&chrono_tz::America::New_York);
            assert_eq!(
                ny.time(),
                chrono::NaiveTime::MIN,
                "{name}={v}: New York midnight"
            );
        }
    }
    assert_eq!(bars[0].param("end").map(|e| &e[..10]), Some(date));
}

/// A loopback server that records every request head it gets (headers
/// included: the point is to see whether a key arrived) and answers `{}`.
struct HeaderRecorder {
    port: u16,
    heads: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl HeaderRecorder {
    fn start() -> Self {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = heads.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf).into_owned());
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                );
            }
        });
        Self { port, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

/// A redirect to another port of the same host is another origin: the
/// keys are not sent there (reqwest strips only standard auth headers), and
/// the run says why the answer was not followed.
#[test]
fn keys_are_never_sent_to_a_host_a_redirect_points_at() {
    let n = 10;
    let fake = fake(n);
    let elsewhere = HeaderRecorder::start();
    for path in ["/v2/account", "/v2/calendar"] {
        fake.push_fault(
            path,
            Fault::status(302, "").header(
                "Location",
                &format!("http://127.0.0.1:{}{path}", elsewhere.port),
            ),
        );
    }
    let ws = alpaca_workspace(&fake.url(), n);
    let out = ws.run(&["collect"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("HTTP 302") && err.contains("redirect to another host not followed"),
        "{err}"
    );
    let heads = elsewhere.heads();
    for head in &heads {
        assert_no_secret(head);
    }
    assert!(heads.is_empty(), "nothing followed the redirect: {heads:?}");

    // Once the calendar answers, the account's redirect costs only the
    // account; the positions are taken.
    let printed = ok(&ws.run(&["collect"]));
    let m = manifest(&ws, &printed[..10]);
    assert!(
        m["report"]["reason"]
            .as_str()
            .unwrap()
            .contains("redirect to another host not followed"),
        "{m}"
    );
    assert!(elsewhere.heads().is_empty());
}

/// A server that echoes the request headers in its error body (a 403 from
/// a proxy, say) cannot put a key in stderr or a stored run report: the
/// client scrubs the key values from every error, before it shortens a
/// message (so a cut cannot leave half a key behind).
#[test]
fn keys_echoed_in_an_error_body_are_scrubbed_everywhere() {
    let n = 10;
    let fake = fake(n);
    let echo = |pad: usize| {
        Fault::api_error(
            403,
            40_310_000,
            &format!(
                "forbidden {}; request headers: APCA-API-KEY-ID: {KEY_ID} APCA-API-SECRET-KEY: {SECRET}",
                "x".repeat(pad)
            ),
        )
    };
    // The calendar refused: the run fails and says why. With this padding
    // the secret straddles the 200-character cut of an error message.
    fake.push_fault("/v2/calendar", echo(100));
    let ws = alpaca_workspace(&fake.url(), n);
    let out = ws.run(&["collect"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("HTTP 403: forbidden"), "{err}");
    assert!(err.contains("KEY-ID: [redacted]"), "{err}");
    assert_no_secret(&err);
    // Any 8 characters of the secret would be a leak too.
    assert!(!err.contains(&SECRET[..8]), "{err}");
    assert!(!err.contains(&SECRET[SECRET.len() - 8..]), "{err}");

    // The account refused: the date is published, its report says why,
    // and the stored report holds no key.
    fake.push_fault("/v2/account", echo(0));
    let printed = ok(&ws.run(&["collect"]));
    let date = &printed[..10];
    let stored = String::from_utf8(read(&ws, &format!("data/runs/date={date}/run.json"))).unwrap();
    assert!(stored.contains("HTTP 403"), "{stored}");
    assert!(stored.contains("[redacted]"), "{stored}");
    assert_no_secret(&stored);
}

// ---------------------------------------------------------------------------
// One failing endpoint or ticker stays one (issue 22).

/// The breaker states of a stored run report, by name.
fn breaker_states(m: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    m["report"]["requests"]["breakers"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v["state"].as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// With the defaults (5 attempts, breakers at 5 failures) an account that
/// answers only 503s opens its own breaker, and the positions are still
/// asked and stored; the other way round too.
#[test]
fn an_account_outage_still_stores_the_positions_and_the_other_way_round() {
    let n = 10;
    for (down, up, dataset_kept, dataset_lost) in [
        ("/v2/account", "/v2/positions", "positions", "account"),
        ("/v2/positions", "/v2/account", "account", "positions"),
    ] {
        let fake = fake(n);
        fake.fail_times(down, 20, Fault::html(503));
        let ws = alpaca_workspace(&fake.url(), n);
        let printed = ok(&ws.run(&["collect"]));
        let date = &printed[..10];
        assert_eq!(
            fake.count(down),
            5,
            "{down}: every attempt, then the breaker"
        );
        assert_eq!(fake.count(up), 1, "{up} asked once and answered");
        let m = manifest(&ws, date);
        assert!(m["objects"][dataset_kept].is_object(), "{down}: {m}");
        assert!(m["objects"].get(dataset_lost).is_none(), "{down}: {m}");
        let reason = m["report"]["reason"].as_str().unwrap();
        assert!(
            reason.contains(&format!(
                "{dataset_lost}: alpaca trading request failed: HTTP 503"
            )),
            "{reason}"
        );
        let states = breaker_states(&m);
        let name = format!("trading.{dataset_lost}");
        assert_eq!(states[&name], "open", "{states:?}");
        for (other, state) in &states {
            if *other != name {
                assert_eq!(state, "closed", "{other}: {states:?}");
            }
        }
        assert_eq!(m["report"]["requests"]["breakers"][&name]["trips"], 1);
        assert_eq!(m["report"]["requests"]["breaker_trips"], 1);
    }
}

/// A clock that answers only 503s opens the clock's breaker; the run
/// falls back to the host's clock, the calendar is still asked, and the
/// date is published.
#[test]
fn a_clock_outage_falls_back_to_the_host_clock_and_publishes() {
    let n = 10;
    let fake = fake(n);
    fake.fail_times("/v2/clock", 20, Fault::html(503));
    let ws = alpaca_workspace(&fake.url(), n);
    let out = ws.run(&["collect"]);
    let printed = ok(&out);
    assert!(printed.contains("  published  "), "{printed}");
    assert_stderr_has(&out, "market clock unavailable; using the host's clock");
    assert_eq!(fake.count("/v2/clock"), 5);
    assert_eq!(fake.count("/v2/calendar"), 1);
    let m = manifest(&ws, &printed[..10]);
    let states = breaker_states(&m);
    assert_eq!(states["trading.clock"], "open", "{states:?}");
    assert_eq!(states["trading.calendar"], "closed", "{states:?}");
    assert!(m["objects"]["account"].is_object() && m["objects"]["positions"].is_object());
}

/// The exchange's clock is believed within a day of the host's, not
/// beyond: a clock weeks away is a broken one.
#[test]
fn an_exchange_clock_far_from_the_hosts_is_not_believed() {
    let n = 10;
    let fake = FakeAlpaca::start(
        FakeAlpacaOptions::new()
            .universe(tickers(n))
            .keys(KEY_ID, SECRET)
            .now(chrono::Utc::now() - chrono::Duration::days(30)),
    );
    let ws = alpaca_workspace(&fake.url(), n);
    let out = ws.run(&["collect"]);
    assert_stderr_has(
        &out,
        "the exchange clock is more than a day from the host's",
    );
    assert!(!stderr(&out).contains("using the exchange's"));
    assert_eq!(fake.count("/v2/clock"), 1);
}

/// The workspace of `names` on the fake, with the fake's universe the same.
fn named_workspace(names: &[&str]) -> (FakeAlpaca, Workspace) {
    let syms: Vec<Symbol> = names.iter().map(|t| Symbol::parse(t).unwrap()).collect();
    let fake = FakeAlpaca::start(FakeAlpacaOptions::new().universe(syms).keys(KEY_ID, SECRET));
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut ws = Workspace::with_tickers(&names);
    for (k, v) in alpaca_workspace(&fake.url(), 1).env {
        if k != "DIPWATCH__MARKET__UNIVERSE" {
            ws.set_env(&k, &v);
        }
    }
    (fake, ws)
}

/// The issue's universe: Alpaca refuses the whole bars request over
/// `BC-C` with its own error body. The ticker is set aside, the rest asked
/// again at once, and the date published with every other symbol; the
/// refused one is failed with Alpaca's message, never queued, and
/// `check-config` warned about it beforehand.
#[test]
fn a_universe_with_one_invalid_ticker_publishes_every_other_symbol() {
    let (fake, ws) = named_workspace(&["AAPL", "TSLA", "BC-C"]);
    fake.refuse_symbol("BC-C");
    let cfg = ok(&ws.run(&["check-config"]));
    assert!(
        cfg.contains("# warning: market.universe: 1 ticker Alpaca will likely refuse")
            && cfg.contains("BC-C (Alpaca writes share classes with '.'"),
        "{cfg}"
    );
    let out = ws.run(&["collect", "--date", DAY]);
    let printed = ok(&out);
    assert!(
        printed.starts_with(&format!("{DAY}  published  ")),
        "{printed}"
    );
    assert!(
        printed.contains(
            "    failed BC-C: refused by Alpaca: invalid symbol: BC-C (code 42210000) \
             (not retried: fix the universe)\n"
        ),
        "{printed}"
    );
    let bars: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v2/stocks/bars")
        .collect();
    assert_eq!(bars.len(), 2, "the refused request, then the rest once");
    assert_eq!(bars[0].status, 400);
    assert_eq!(bars[1].param("symbols"), Some("AAPL,TSLA"));
    let r = &manifest(&ws, DAY)["report"];
    assert_eq!(r["refused"], serde_json::json!(["BC-C"]));
    assert_eq!(r["symbols"]["failed"], 1);
    assert_eq!(r["symbols"]["ok"], 2);
    assert_eq!(r["failed"][0]["symbol"], "BC-C");
    assert_eq!(
        r["failed"][0]["reason"],
        "refused by Alpaca: invalid symbol: BC-C (code 42210000)"
    );
    assert_eq!(
        r["requests"]["retries"], 0,
        "no backoff, no retry of the same request"
    );
    let dd = String::from_utf8(read(
        &ws,
        &format!("data/drawdowns/date={DAY}/drawdowns.csv"),
    ))
    .unwrap();
    assert!(dd.contains(",AAPL,") && dd.contains(",TSLA,"), "{dd}");
    let queued = std::fs::read(ws.path("data/_retry/queue.json"))
        .map(|b| String::from_utf8(b).unwrap())
        .unwrap_or_default();
    assert!(!queued.contains("BC-C"), "never queued: {queued}");
    assert_stderr_has(&out, "the source refused these tickers as invalid");
}

/// A refusal that names no ticker: the batch is bisected down to the
/// refused one within the bound, and everything else is published.
#[test]
fn a_refusal_naming_no_ticker_is_bisected_within_a_bound() {
    let names = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GG-G", "HHH"];
    let (fake, ws) = named_workspace(&names);
    fake.refuse_symbol("GG-G");
    fake.refuse_without_naming();
    ok(&ws.run(&["collect", "--date", DAY]));
    let r = &manifest(&ws, DAY)["report"];
    assert_eq!(r["refused"], serde_json::json!(["GG-G"]));
    assert_eq!(r["symbols"]["ok"], 7);
    assert_eq!(
        r["failed"][0]["reason"],
        "refused by Alpaca: invalid symbols (code 42210000)"
    );
    let requests = fake.count("/v2/stocks/bars");
    // 8 -> 4+4 -> 2+2 -> 1+1: seven requests; the bound is far above.
    assert_eq!(requests, 7, "bisection, not one request per symbol");
}

/// A `crypto_perp` position (alpaca-py added the class in 2025) and one of
/// a class nobody knows yet are stored as sent, shown, never counted by
/// the profit rule; an account status dipwatch has no name for is kept too.
#[test]
fn a_crypto_perp_position_is_stored_as_sent() {
    use support::fake_alpaca::crypto_position;
    let n = 10;
    let fake = fake(n);
    let mut perp = crypto_position("BTCUSD");
    perp["asset_class"] = "crypto_perp".into();
    let mut future = crypto_position("ZNH7");
    future["asset_class"] = "us_future".into();
    future["side"] = "short".into();
    future["qty"] = "-2".into();
    fake.add_position(perp);
    fake.add_position(future);
    fake.account_field("status", Some("ACCOUNT_UPDATED".into()));
    let ws = alpaca_workspace(&fake.url(), n);
    let printed = ok(&ws.run(&["collect"]));
    let date = &printed[..10];
    let positions = String::from_utf8(read(
        &ws,
        &format!("data/positions/date={date}/positions.csv"),
    ))
    .unwrap();
    assert!(
        positions.contains(
            ",BTCUSD,0.012345678,20000,100000,4000,1234.5678,987.65424,crypto_perp,long\n"
        ),
        "{positions}"
    );
    assert!(
        positions.contains(",ZNH7,-2,") && positions.contains(",us_future,short\n"),
        "{positions}"
    );
    let m = manifest(&ws, date);
    assert!(m["report"].get("unreadable_positions").is_none(), "{m}");
    let considered = m["report"]["profit"]["considered"].to_string();
    assert!(
        !considered.contains("BTCUSD") && !considered.contains("ZNH7"),
        "{considered}"
    );
    let account =
        String::from_utf8(read(&ws, &format!("data/account/date={date}/account.csv"))).unwrap();
    assert!(account.contains(",ACCOUNT_UPDATED,"), "{account}");
    // Counted once the class is named.
    let mut counting = alpaca_workspace(&fake.url(), n);
    counting.set_env(
        "DIPWATCH__PORTFOLIO__ASSET_CLASSES",
        "us_equity,crypto_perp",
    );
    ok(&counting.run(&["collect"]));
    let considered = manifest(&counting, date)["report"]["profit"]["considered"].to_string();
    assert!(considered.contains("BTCUSD"), "{considered}");
}

/// A `null` in a symbol's bars is reported without a date (it had none)
/// and in words, and only once in a backfill, not on every date.
#[test]
fn a_null_bar_is_reported_once_without_an_invented_date() {
    let n = 5;
    let fake = fake(n);
    let t = tickers(n);
    fake.null_bar(t[0].as_str());
    let ws = alpaca_workspace(&fake.url(), n);
    ok(&ws.run(&["collect", "--from", "2026-11-18", "--to", DAY]));
    let mut seen = Vec::new();
    for date in ["2026-11-18", "2026-11-19", DAY] {
        for b in manifest(&ws, date)["report"]["rejected_bars"]
            .as_array()
            .unwrap()
        {
            if b["date"].is_null() {
                seen.push((date, b["symbol"].clone(), b["reason"].clone()));
            }
        }
    }
    assert_eq!(
        seen,
        [(
            DAY,
            serde_json::json!(t[0].as_str()),
            serde_json::json!("unreadable bar: null instead of a bar")
        )]
    );
}

/// Keys shorter than Alpaca issues are refused at load, naming the
/// variable and never the value.
#[test]
fn short_keys_are_refused_at_load() {
    let fake = fake(3);
    let mut ws = alpaca_workspace(&fake.url(), 3);
    ws.set_env("APCA_API_KEY_ID", "PKSHORT");
    let out = ws.run(&["collect"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("APCA_API_KEY_ID: 7 characters long"), "{err}");
    assert!(!err.contains("PKSHORT"), "{err}");
    assert_eq!(fake.requests().len(), 0, "nothing sent with a short key");
}

/// The same failures with the lake on S3 (moto): an account outage, a
/// refused ticker and a `crypto_perp` position, all in one run.
#[test]
fn the_same_failures_on_s3() {
    use support::fake_alpaca::crypto_position;
    let moto = MotoServer::start();
    moto.create_bucket("dipwatch-issue22");
    let (fake, mut ws) = named_workspace(&["AAPL", "TSLA", "BC-C", "MSFT"]);
    ws.use_s3(&moto, "s3://dipwatch-issue22/lake");
    fake.refuse_symbol("BC-C");
    fake.fail_times("/v2/account", 20, Fault::html(503));
    let mut perp = crypto_position("ETHUSD");
    perp["asset_class"] = "crypto_perp".into();
    fake.add_position(perp);
    let printed = ok(&ws.run(&["collect"]));
    let date = printed[..10].to_string();
    assert!(!ws.path("data").exists(), "everything went to S3");
    let exported = ok(&ws.run(&["export", "positions"]));
    assert!(
        exported.contains(",ETHUSD,") && exported.contains(",crypto_perp,long"),
        "{exported}"
    );
    let screen = ok(&ws.run(&["screen", "--top", "10"]));
    assert!(
        screen.contains("AAPL") && !screen.contains("BC-C"),
        "{screen}"
    );
    assert_eq!(fake.count("/v2/positions"), 1);
    let again = ok(&ws.run(&["collect", "--retry-failed"]));
    assert!(
        again.contains("retry queue is empty"),
        "BC-C never queued: {again}"
    );
    let _ = date;
}

/// A refused ticker and an outage of the rest: the market data failed as a
/// whole, so nothing is published and the run says why (the refusal alone
/// never turns an outage into "data not yet available").
#[test]
fn a_refused_ticker_during_an_outage_still_fails_the_run() {
    let (fake, mut ws) = named_workspace(&["BC-C", "AAPL", "TSLA"]);
    ws.set_env("DIPWATCH__MARKET__MAX_RETRIES", "0");
    fake.refuse_symbol("BC-C");
    fake.push_fault(
        "/v2/stocks/bars?symbols=AAPL",
        Fault::status(500, "{\"message\":\"boom\"}"),
    );
    let out = ws.run(&["collect", "--date", DAY]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("HTTP 500: boom"), "{}", stderr(&out));
    assert_eq!(fake.count("/v2/stocks/bars"), 2);
    assert!(!ws.path("data/runs").exists());
}

/// A refusal that every ticker draws (so it is not about one of them) is
/// bisected only within its bound of requests, then the run fails as a
/// whole instead of asking Alpaca once per symbol.
#[test]
fn bisecting_a_refusal_of_every_ticker_stops_at_its_bound() {
    let names: Vec<String> = (0..64).map(|i| format!("Q{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (fake, ws) = named_workspace(&refs);
    for n in &names {
        fake.refuse_symbol(n);
    }
    fake.refuse_without_naming();
    let out = ws.run(&["collect", "--date", DAY]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("invalid symbols"), "{}", stderr(&out));
    let requests = fake.count("/v2/stocks/bars");
    // The first request, then at most 8 x (7 halvings + 1) more: far fewer
    // than the 127 a full bisection of 64 refused tickers would take.
    assert!(requests <= 65, "{requests} requests");
    assert!(requests > 1, "bisection was tried");
    assert!(!ws.path("data/runs").exists());
}
