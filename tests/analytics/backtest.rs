//! The backtester from the outside: its metrics checked against an
//! independent implementation (empyrical-reloaded, which `scripts/test`
//! installs), and the real `dipwatch backtest` binary on a collected lake.

use crate::support;

use chrono::{Datelike, NaiveDate, Weekday};
use dipwatch::backtest::{self, Benchmark, Params};
use dipwatch::domain::Symbol;
use dipwatch::query::{DayBars, PriceHistory};
use dipwatch::screen::{DrawdownColumns, PeakBasis, ScreenParams};
use dipwatch::strategy::{ExitRules, Fill, PortfolioRule, Rebalance, Sizing};
use rand::{Rng, SeedableRng};

/// Two years of a random market of 40 names and a benchmark `SPY`.
fn market() -> PriceHistory {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(42);
    let mut dates = Vec::new();
    let mut d = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
    while dates.len() < 504 {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            dates.push(d);
        }
        d = d.succ_opt().unwrap();
    }
    let mut days: Vec<DayBars> = dates.iter().map(|d| DayBars::new(*d, false)).collect();
    for i in 0..41 {
        let sym = Symbol::parse(&if i == 40 {
            "SPY".into()
        } else {
            format!("N{i:02}")
        })
        .unwrap();
        let (drift, vol) = if i == 40 { (0.0004, 0.01) } else { (0.0, 0.03) };
        let mut price: f64 = 100.0;
        for day in &mut days {
            let open = price * (1.0 + rng.random_range(-0.005..0.005));
            price *= 1.0 + drift + rng.random_range(-vol..vol);
            let high = open.max(price) * 1.01;
            day.push(&sym, [open, high, open.min(price) * 0.99, price, 1e6]);
        }
    }
    PriceHistory::from_days(days)
}

#[test]
fn metrics_equal_empyrical_to_1e_6() {
    let history = market();
    let screen = ScreenParams {
        lookback_days: 60,
        min_history: 30,
        peak_basis: PeakBasis::High,
    };
    let params = Params {
        rebalance: Rebalance::Weekly,
        entry_pct: -20.0,
        max_positions: 8,
        sizing: Sizing::Equal,
        exits: ExitRules {
            take_profit_pct: Some(12.0),
            stop_loss_pct: Some(30.0),
            max_hold: None,
        },
        portfolio_rule: Some(PortfolioRule {
            top: 3,
            target_pct: 15.0,
        }),
        fill: Fill::NextOpen,
        commission: 1.0,
        slippage_bps: 5.0,
        initial_capital: 100_000.0,
        delist_after: 10,
        delist_haircut_pct: 50.0,
    };
    let spy = history
        .symbol_index(&Symbol::parse("SPY").unwrap())
        .unwrap();
    let ranks = DrawdownColumns::new(&history, &screen);
    let (start, end) = (60, history.dates().len() - 1);
    let run = backtest::run(&history, &ranks, &params, &[spy], start, end);
    assert!(
        run.trades.len() > 10,
        "the case must trade: {}",
        run.trades.len()
    );
    let bench = backtest::benchmark::equity(
        &history,
        &Benchmark::Symbol(Symbol::parse("SPY").unwrap()),
        &[spy],
        start,
        end,
        100_000.0,
    )
    .unwrap();
    let rf_pct = 2.5;
    let ours = backtest::metrics::of_run(&run, 100_000.0, rf_pct, Some(&bench));
    let ours = serde_json::to_value(&ours).unwrap();

    let input = serde_json::json!({
        "initial": 100_000.0,
        "rf_pct": rf_pct,
        "equity": run.equity,
        "benchmark": bench,
    });
    let script = support::repo("tests/reference/backtest_metrics.py");
    let reference = support::python_reference(&[script], Some(&input), "empyrical-reloaded");
    let reference = reference.as_object().unwrap().clone();
    assert_eq!(reference.len(), 10);
    for (key, want) in &reference {
        let want = want.as_f64().unwrap();
        let got = ours[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing from ours"));
        assert!(
            (got - want).abs() <= 1e-6 * want.abs().max(1.0),
            "{key}: ours {got}, empyrical {want}"
        );
    }
}

/// A workspace with `symbols` names collected over a year and a half.
fn collected(symbols: usize) -> support::Workspace {
    let mut ws = support::Workspace::new(symbols);
    // The default benchmark (the workspace turns it off for other suites).
    ws.set_env("DIPWATCH__BACKTEST__BENCHMARK", "SPY");
    support::ok(&ws.demo(&["collect", "--from", "2025-06-02", "--to", "2026-11-20"]));
    ws
}

#[test]
fn backtest_prints_honest_figures_stores_them_and_shows_them_again() {
    let ws = collected(25);
    let out = ws.demo(&["backtest", "--entry", "-15", "--take-profit", "20"]);
    let table = support::ok(&out);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("Backtest "), "{table}");
    assert!(
        lines[1].contains("period: 2026-02-18 to 2026-11-20"),
        "{table}"
    );
    assert!(table.contains("survivorship"), "{table}");
    assert!(table.contains("SIMULATED PRICES"), "{table}");
    assert!(
        !table.contains("OPTIMISTIC"),
        "next_open is not labelled optimistic"
    );
    support::assert_has_all(
        &table,
        &[
            "total return",
            "CAGR",
            "Sharpe",
            "Sortino",
            "max drawdown",
            "Calmar",
            "win rate",
            "beta",
            "monthly returns",
        ],
    );
    assert!(
        table
            .lines()
            .find(|l| l.trim_start().starts_with("strategy"))
            .unwrap()
            .ends_with("SPY"),
        "benchmark side by side: {table}"
    );

    // Stored, and --show prints the same table.
    let id = lines[0].trim_start_matches("Backtest ").trim();
    let dir = ws.path(&format!("data/backtests/id={id}"));
    for f in ["summary.json", "equity.csv", "trades.csv"] {
        assert!(dir.join(f).exists(), "{f} not stored");
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["parameters"]["strategy"]["entry_pct"], -15.0);
    assert_eq!(summary["parameters"]["screen"]["lookback_days"], 180);
    assert_eq!(summary["data"]["fingerprint"].as_str().unwrap().len(), 64);
    assert_eq!(support::ok(&ws.demo(&["backtest", "--show", id])), table);

    // JSON: metrics (snake_case, _pct), the equity curve, the trades.
    let json: serde_json::Value = serde_json::from_str(&support::ok(
        &ws.demo(&["backtest", "--show", id, "--format", "json"]),
    ))
    .unwrap();
    let m = &json["metrics"]["strategy"];
    assert!(
        m["total_return_pct"].is_f64() && m["max_drawdown_pct"].is_f64(),
        "{m}"
    );
    let equity = json["equity"].as_array().unwrap();
    assert_eq!(equity.len(), 193);
    assert_eq!(equity[0]["date"], "2026-02-18");
    assert!(equity[0]["equity"].is_f64());
    assert_eq!(
        json["trades"].as_array().unwrap().len(),
        m["trades"].as_u64().unwrap() as usize
    );
    // The curve ends where the total return says.
    let last = equity.last().unwrap()["equity"].as_f64().unwrap();
    let total = m["total_return_pct"].as_f64().unwrap();
    assert!((last / 100_000.0 - 1.0 - total / 100.0).abs() < 1e-9);

    // Close fills are labelled optimistic; the CSV is the curve.
    let csv_out = ws.demo(&["backtest", "--fill", "close", "--format", "csv"]);
    let csv = support::ok(&csv_out);
    assert!(csv.starts_with("date,equity,benchmark\n"), "{csv}");
    assert_eq!(csv.lines().count(), 194);
    assert!(support::stderr(&csv_out).contains("OPTIMISTIC"));
}

#[test]
fn backtest_refuses_thin_windows_and_missing_benchmarks_naming_the_backfill() {
    let ws = collected(10);
    let thin = ws.demo(&["backtest", "--from", "2025-07-01"]);
    assert_eq!(thin.status.code(), Some(1));
    let err = support::stderr(&thin);
    assert!(
        err.contains("too little history before 2025-07-01"),
        "{err}"
    );
    assert!(err.contains("dipwatch collect --from"), "{err}");

    let short = ws.demo(&["backtest", "--from", "2026-11-10"]);
    assert!(
        support::stderr(&short).contains("too few sessions"),
        "{}",
        support::stderr(&short)
    );

    let missing = ws.demo(&["backtest", "--benchmark", "QQQ"]);
    assert_eq!(missing.status.code(), Some(1));
    let err = support::stderr(&missing);
    assert!(
        err.contains("QQQ has no bars") && err.contains("dipwatch collect --from"),
        "{err}"
    );

    let universe = support::ok(&ws.demo(&["backtest", "--benchmark", "universe"]));
    assert!(universe.contains("equal-weight universe"), "{universe}");

    let bad = ws.demo(&["backtest", "--entry", "20"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(support::stderr(&bad).contains("backtest.entry_pct"));
    let unknown = ws.demo(&["backtest", "--show", "0123456789abcdef"]);
    assert!(support::stderr(&unknown).contains("no backtest 0123456789abcdef"));
}

#[test]
fn a_sweep_runs_the_grid_sorted_with_the_count_by_the_best() {
    let ws = collected(15);
    let out = support::ok(&ws.demo(&[
        "backtest",
        "--sweep",
        "entry=-10,-20",
        "top=3,6",
        "take-profit=20,50",
        "--sort-by",
        "cagr",
    ]));
    assert!(
        out.starts_with("Sweep of 8 combinations, sorted by Cagr"),
        "{out}"
    );
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start().starts_with('-'))
        .collect();
    assert_eq!(rows.len(), 8, "{out}");
    assert!(rows[0].contains("best of 8 combinations tried"), "{out}");
    assert!(out.contains("leaves out: fractional shares"), "{out}");
    let cagr = |l: &str| -> f64 {
        l.split_whitespace()
            .nth(4)
            .unwrap()
            .trim_end_matches('%')
            .parse()
            .unwrap()
    };
    assert!(rows.windows(2).all(|w| cagr(w[0]) >= cagr(w[1])), "{out}");
    let bad = ws.demo(&["backtest", "--sweep", "size=1"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn the_benchmark_is_collected_with_the_universe_and_never_ranked() {
    let ws = collected(5);
    let bars = std::fs::read_to_string(ws.path("data/bars/date=2026-11-20/bars.csv")).unwrap();
    assert!(
        bars.lines().any(|l| l.starts_with("2026-11-20,SPY,")),
        "{bars}"
    );
    let screen =
        std::fs::read_to_string(ws.path("data/drawdowns/date=2026-11-20/drawdowns.csv")).unwrap();
    assert!(!screen.contains(",SPY,"), "{screen}");
    assert_eq!(screen.lines().count(), 6);
}

/// The JSON document of `dipwatch backtest ARGS --format json` in `ws`.
fn backtest_json(ws: &support::Workspace, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["backtest"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    serde_json::from_str(&support::ok(&ws.demo(&all))).unwrap()
}

/// `tests/reference/backtest_rules.py` on a run's document and the lake at
/// `data` (see the script for what it recomputes).
fn reference_rules(
    data: &std::path::Path,
    universe: &[String],
    doc: &serde_json::Value,
) -> serde_json::Value {
    let input = serde_json::json!({ "data_dir": data, "universe": universe, "doc": doc });
    let script = support::repo("tests/reference/backtest_rules.py");
    support::python_reference(&[script], Some(&input), "python3")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Exposure both ways and turnover equal the reference's, and the rules
/// held (no violation).
fn assert_figures_match(reference: &serde_json::Value, doc: &serde_json::Value) {
    let m = &doc["metrics"]["strategy"];
    for key in ["exposure_pct", "capital_deployed_pct", "turnover_pct"] {
        let (got, want) = (m[key].as_f64().unwrap(), reference[key].as_f64().unwrap());
        assert!(close(got, want), "{key}: ours {got}, reference {want}");
    }
    assert!(
        m["capital_deployed_pct"].as_f64().unwrap() <= m["exposure_pct"].as_f64().unwrap() + 1e-9,
        "capital deployed is at most the time in market"
    );
    assert_eq!(
        reference["violations"],
        serde_json::json!([]),
        "{reference}"
    );
}

fn universe_of(ws: &support::Workspace) -> Vec<String> {
    std::fs::read_to_string(ws.path("universe.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_universe_benchmark_is_one_definition_wherever_it_is_set() {
    // SPY is collected beside the universe (the configured benchmark).
    let mut ws = collected(10);
    let args = ["--entry", "-10", "--take-profit", "5", "--top", "4"];
    let flag = backtest_json(&ws, &[&args[..], &["--benchmark", "universe"]].concat());
    ws.set_env("DIPWATCH__BACKTEST__BENCHMARK", "universe");
    let config = backtest_json(&ws, &args);
    for key in ["metrics", "equity", "benchmark_equity", "trades", "open"] {
        assert_eq!(flag[key], config[key], "{key} differs");
    }
    assert!(
        !flag["trades"].as_array().unwrap().is_empty(),
        "the case trades"
    );
    let symbols = |doc: &serde_json::Value| -> Vec<String> {
        doc["trades"]
            .as_array()
            .unwrap()
            .iter()
            .chain(doc["open"].as_array().unwrap())
            .map(|t| t["symbol"].as_str().unwrap().to_string())
            .collect()
    };
    let universe = universe_of(&ws);
    assert!(
        symbols(&flag).iter().all(|s| universe.contains(s)),
        "only the universe is bought, never SPY: {:?}",
        symbols(&flag)
    );
    // The benchmark curve and the exposure figures, recomputed.
    let reference = reference_rules(&ws.path("data"), &universe, &flag);
    let want = reference["benchmark_equity"].as_array().unwrap();
    let got = flag["benchmark_equity"].as_array().unwrap();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        let (g, w) = (g["equity"].as_f64().unwrap(), w.as_f64().unwrap());
        assert!(close(g, w), "universe benchmark: ours {g}, reference {w}");
    }
    assert_figures_match(&reference, &flag);

    // What it leaves out, in the JSON and the table.
    let leaves_out: Vec<&str> = support::json_strs(&flag["leaves_out"], |v| v);
    for topic in [
        "dividends",
        "open",
        "slippage",
        "fractional shares",
        "delisted",
    ] {
        assert!(
            leaves_out.iter().any(|l| l.contains(topic)),
            "{topic}: {leaves_out:?}"
        );
    }
    let table = support::ok(&ws.demo(&["backtest", "--entry", "-15"]));
    support::assert_has_all(
        &table,
        &[
            "Leaves out:",
            "time in market",
            "capital deployed",
            "no volume cap",
        ],
    );
}

#[test]
fn a_from_without_min_history_sessions_before_it_is_refused_and_short_windows_labelled() {
    let ws = collected(5);
    let mut dates: Vec<String> = std::fs::read_dir(ws.path("data/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy()[5..].to_string())
        .collect();
    dates.sort();
    // [screen] min_history = 30 (the default): 29 sessions before is too few.
    let thin = ws.demo(&["backtest", "--from", &dates[29]]);
    assert_eq!(thin.status.code(), Some(1));
    assert!(
        support::stderr(&thin).contains("holds 29 session(s) before it, the ranking needs 30"),
        "{}",
        support::stderr(&thin)
    );
    // 30 are enough to rank, not a full 180-session lookback: the first
    // 180 - 1 - 30 sessions rank on shortened windows, and it says so.
    let doc = backtest_json(&ws, &["--from", &dates[30]]);
    let notes = doc["notes"].to_string();
    assert!(
        notes.contains("shortened windows: the first 149 session(s)"),
        "{notes}"
    );
    assert_eq!(doc["data"]["short_window_sessions"], 149);
    let full = backtest_json(&ws, &["--from", &dates[179]]);
    assert_eq!(full["data"]["short_window_sessions"], 0);
    assert!(!full["notes"].to_string().contains("shortened"));
}

/// Take `symbol`'s bars out of the published `dates` of the lake at `data`,
/// rewriting each date's bars object and its manifest entry (size, rows,
/// SHA-256) as a run would have written them: a halt, or a delisting.
fn remove_bars(data: &std::path::Path, symbol: &str, dates: &[String]) {
    use sha2::{Digest, Sha256};
    for date in dates {
        let rel = format!("bars/date={date}/bars.csv");
        let text = std::fs::read_to_string(data.join(&rel)).unwrap();
        let kept: String = text
            .lines()
            .filter(|l| l.split(',').nth(1) != Some(symbol))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(kept.len() < text.len(), "{symbol} had a bar on {date}");
        std::fs::write(data.join(&rel), &kept).unwrap();
        let manifest = data.join(format!("runs/date={date}/run.json"));
        let mut m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
        let entry = &mut m["objects"]["bars"];
        entry["bytes"] = kept.len().into();
        entry["rows"] = (kept.lines().count() - 1).into();
        entry["sha256"] = Sha256::digest(kept.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into();
        std::fs::write(&manifest, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    }
}

/// A copy of the lake at `data` as it stood on the evening of `date`: the
/// later dates unpublished (their manifests gone).
fn lake_until(data: &std::path::Path, date: &str, into: &std::path::Path) {
    support::copy_tree(data, into);
    for e in std::fs::read_dir(into.join("runs")).unwrap() {
        let e = e.unwrap();
        if e.file_name().to_string_lossy()[5..] > *date {
            std::fs::remove_dir_all(e.path()).unwrap();
        }
    }
}

#[test]
fn gaps_and_delistings_are_decided_from_the_bars_up_to_each_session() {
    let mut ws = collected(12);
    ws.set_env("DIPWATCH__BACKTEST__DELIST_AFTER", "4");
    ws.set_env("DIPWATCH__BACKTEST__DELIST_HAIRCUT_PCT", "40");
    let data = ws.path("data");
    let mut dates: Vec<String> = std::fs::read_dir(data.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy()[5..].to_string())
        .collect();
    dates.sort();
    let at = |d: &str| dates.iter().position(|x| x == d).unwrap();
    let args = [
        "--entry",
        "-12",
        "--take-profit",
        "25",
        "--from",
        &dates[200],
    ];
    // A halt of 3 sessions (under delist_after) in a name held then.
    let before = backtest_json(&ws, &args);
    // A position (closed or still open) entered from `min_start` on and
    // held 8 sessions or more.
    let held = |doc: &serde_json::Value, min_start: usize| -> (String, usize) {
        let last = dates.len() - 1;
        doc["trades"]
            .as_array()
            .unwrap()
            .iter()
            .chain(doc["open"].as_array().unwrap())
            .map(|t| {
                let e = at(t["entry_date"].as_str().unwrap());
                let x = t["exit_date"].as_str().map_or(last, at);
                (t["symbol"].as_str().unwrap().to_string(), e, x)
            })
            .find(|(_, e, x)| *e >= min_start && x - e >= 8)
            .map(|(s, e, _)| (s, e))
            .expect("a position held 8 sessions or more")
    };
    // From 20 sessions after --from, so the lake cut in the gaps still
    // holds the 20 sessions a backtest needs.
    let (halted, entered) = held(&before, 200 + 20);
    let halt: Vec<String> = dates[entered + 2..entered + 5].to_vec();
    remove_bars(&data, &halted, &halt);
    // A name that stops for good while held, after the halt.
    let halted_doc = backtest_json(&ws, &args);
    let (gone, entered2) = held(&halted_doc, entered + 5);
    let stop: Vec<String> = dates[entered2 + 2..].to_vec();
    remove_bars(&data, &gone, &stop);

    let full = backtest_json(&ws, &args);
    let trades = full["trades"].as_array().unwrap();
    let sold_gone: Vec<&serde_json::Value> = trades
        .iter()
        .filter(|t| t["symbol"] == gone.as_str())
        .collect();
    let last = sold_gone.last().unwrap();
    assert_eq!(last["reason"], "bars_ended", "{last}");
    assert_eq!(
        last["exit_date"],
        dates[entered2 + 2 + 3],
        "the 4th session without a bar"
    );
    assert!(
        !trades
            .iter()
            .any(|t| t["symbol"] == halted.as_str() && t["reason"] == "bars_ended"),
        "a 3-session halt is held through"
    );
    let reference = reference_rules(&data, &universe_of(&ws), &full);
    assert_eq!(reference["delisted"], 1);
    assert_figures_match(&reference, &full);

    // The lake cut on every date of both gaps (and the session after):
    // the same decisions as the full lake's up to that date.
    let cuts: Vec<&String> = halt
        .iter()
        .chain(std::iter::once(&dates[entered + 5]))
        .chain(&stop[..5])
        .collect();
    for cut in cuts {
        let copy = ws.path(&format!("cut-{cut}"));
        lake_until(&data, cut, &copy);
        let mut cut_ws = support::Workspace {
            dir: tempfile::tempdir().unwrap(),
            env: ws.env.clone(),
        };
        cut_ws.set_env("DIPWATCH__STORAGE__URL", copy.to_str().unwrap());
        let part = backtest_json(&cut_ws, &args);
        let n = part["equity"].as_array().unwrap().len();
        assert_eq!(part["equity"][n - 1]["date"], cut.as_str());
        assert_eq!(
            part["equity"].as_array().unwrap()[..],
            full["equity"].as_array().unwrap()[..n],
            "cut on {cut}"
        );
        let closed: Vec<&serde_json::Value> = trades
            .iter()
            .filter(|t| t["exit_date"].as_str().unwrap() <= cut.as_str())
            .collect();
        let got: Vec<&serde_json::Value> = part["trades"].as_array().unwrap().iter().collect();
        assert_eq!(got, closed, "cut on {cut}");
    }
}
