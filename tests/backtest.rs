//! The backtester from the outside: its metrics checked against an
//! independent implementation (empyrical-reloaded, which `scripts/test`
//! installs), and the real `dipwatch backtest` binary on a collected lake.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

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

    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(python)
        .arg(common::repo("tests/reference/backtest_metrics.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed (scripts/test installs empyrical-reloaded)");
    let input = serde_json::json!({
        "initial": 100_000.0,
        "rf_pct": rf_pct,
        "equity": run.equity,
        "benchmark": bench,
    });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the reference failed (is empyrical-reloaded installed? scripts/test installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&out.stdout).unwrap();
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
fn collected(symbols: usize) -> common::Workspace {
    let mut ws = common::Workspace::new(symbols);
    // The default benchmark (the workspace turns it off for other suites).
    ws.set_env("DIPWATCH__BACKTEST__BENCHMARK", "SPY");
    common::ok(&ws.demo(&["collect", "--from", "2025-06-02", "--to", "2026-11-20"]));
    ws
}

#[test]
fn backtest_prints_honest_figures_stores_them_and_shows_them_again() {
    let ws = collected(25);
    let out = ws.demo(&["backtest", "--entry", "-15", "--take-profit", "20"]);
    let table = common::ok(&out);
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
    for figure in [
        "total return",
        "CAGR",
        "Sharpe",
        "Sortino",
        "max drawdown",
        "Calmar",
        "win rate",
        "beta",
        "monthly returns",
    ] {
        assert!(table.contains(figure), "{figure} missing: {table}");
    }
    assert!(
        table.lines().nth(5).unwrap().ends_with("SPY"),
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
    assert_eq!(common::ok(&ws.demo(&["backtest", "--show", id])), table);

    // JSON: metrics (snake_case, _pct), the equity curve, the trades.
    let json: serde_json::Value = serde_json::from_str(&common::ok(
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
    let csv = common::ok(&csv_out);
    assert!(csv.starts_with("date,equity,benchmark\n"), "{csv}");
    assert_eq!(csv.lines().count(), 194);
    assert!(common::stderr(&csv_out).contains("OPTIMISTIC"));
}

#[test]
fn backtest_refuses_thin_windows_and_missing_benchmarks_naming_the_backfill() {
    let ws = collected(10);
    let thin = ws.demo(&["backtest", "--from", "2025-07-01"]);
    assert_eq!(thin.status.code(), Some(1));
    let err = common::stderr(&thin);
    assert!(
        err.contains("too little history before 2025-07-01"),
        "{err}"
    );
    assert!(err.contains("dipwatch collect --from"), "{err}");

    let short = ws.demo(&["backtest", "--from", "2026-11-10"]);
    assert!(
        common::stderr(&short).contains("too few sessions"),
        "{}",
        common::stderr(&short)
    );

    let missing = ws.demo(&["backtest", "--benchmark", "QQQ"]);
    assert_eq!(missing.status.code(), Some(1));
    let err = common::stderr(&missing);
    assert!(
        err.contains("QQQ has no bars") && err.contains("dipwatch collect --from"),
        "{err}"
    );

    let universe = common::ok(&ws.demo(&["backtest", "--benchmark", "universe"]));
    assert!(universe.contains("equal-weight universe"), "{universe}");

    let bad = ws.demo(&["backtest", "--entry", "20"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(common::stderr(&bad).contains("backtest.entry_pct"));
    let unknown = ws.demo(&["backtest", "--show", "0123456789abcdef"]);
    assert!(common::stderr(&unknown).contains("no backtest 0123456789abcdef"));
}

#[test]
fn a_sweep_runs_the_grid_sorted_with_the_count_by_the_best() {
    let ws = collected(15);
    let out = common::ok(&ws.demo(&[
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
