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
