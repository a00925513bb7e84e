//! The backtester on 10 years (2,520 sessions) x 1,000 symbols held in
//! memory (the history already loaded: `benches/history.rs` times that):
//! the ranking pass ([`DrawdownColumns::new`], the screen's definition on
//! every cell), one backtest with the default strategy (weekly decisions,
//! entry -30%, 10 positions, take-profit 100%, the portfolio rule), and a
//! sweep of [`SWEEP`] combinations on every core.
//!
//! With `BACKTEST_EXPORT=DIR`, the market (`close.csv`, `open.csv`,
//! `high.csv`), our fills (`orders.csv`) and the parameters (`meta.json`)
//! are written there for `benches/backtest_vectorbt.py`, which runs the
//! same strategy in vectorbt and checks it makes the same fills; also the
//! fills of a busier parameter set (`orders_busy.csv`, untimed), a wider
//! check of the same rules.
//!
//! `cargo bench --bench backtest`; run any other way (`cargo test --bench
//! backtest`) it runs a 1-year x 50-symbol case once as a check.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use dipwatch::backtest::{self, Params, sweep};
use dipwatch::domain::Symbol;
use dipwatch::market::calendar::trading_days;
use dipwatch::query::{DayBars, Field, PriceHistory};
use dipwatch::screen::{DrawdownColumns, PeakBasis, ScreenParams};
use dipwatch::strategy::{ExitRules, Fill, PortfolioRule, Rebalance, Sizing};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

/// Timed runs of each case.
const RUNS: usize = 7;
/// Sweep size: 10 x 10 x 10.
const SWEEP: usize = 1_000;

/// A random-walk market: `symbols` names over the last `sessions` NYSE
/// sessions to 2026-11-30, fat-tailed enough that names fall 30%.
fn market(sessions: usize, symbols: usize) -> PriceHistory {
    let end: NaiveDate = "2026-11-30".parse().unwrap();
    let mut dates = trading_days(end - chrono::Duration::days(sessions as i64 * 2), end);
    dates.drain(..dates.len() - sessions);
    let mut rng = Pcg64::seed_from_u64(2026);
    let mut days: Vec<DayBars> = dates.iter().map(|d| DayBars::new(*d, false)).collect();
    for i in 0..symbols {
        let sym = Symbol::parse(&format!("S{i:04}")).unwrap();
        let mut price: f64 = rng.random_range(20.0..200.0);
        let vol = rng.random_range(0.01..0.035);
        for day in &mut days {
            let open = price * (1.0 + rng.random_range(-0.3..0.3) * vol);
            price *= 1.0 + rng.random_range(-1.0..1.0) * vol * 1.7 + 0.0002;
            let high = open.max(price) * (1.0 + rng.random_range(0.0..0.5) * vol);
            let low = open.min(price) * (1.0 - rng.random_range(0.0..0.5) * vol);
            day.push(&sym, [open, high, low, price, 1e6]);
        }
    }
    PriceHistory::from_days(days)
}

const SCREEN: ScreenParams = ScreenParams {
    lookback_days: 180,
    min_history: 30,
    peak_basis: PeakBasis::High,
};

/// `config/default.toml`'s `[backtest]` (portfolio rule from `[portfolio]`).
fn params() -> Params {
    Params {
        rebalance: Rebalance::Weekly,
        entry_pct: -30.0,
        max_positions: 10,
        sizing: Sizing::Equal,
        exits: ExitRules {
            take_profit_pct: Some(100.0),
            stop_loss_pct: None,
            max_hold: None,
        },
        portfolio_rule: Some(PortfolioRule {
            top: 5,
            target_pct: 100.0,
        }),
        fill: Fill::NextOpen,
        commission: 0.0,
        slippage_bps: 5.0,
        initial_capital: 100_000.0,
        delist_after: 10,
        delist_haircut_pct: 50.0,
    }
}

/// A busier strategy than [`params`], exported only as a check for the
/// vectorbt peer: many more trades, the take-profit and the portfolio rule
/// both firing often.
fn busy_params() -> Params {
    Params {
        entry_pct: -15.0,
        max_positions: 20,
        exits: ExitRules {
            take_profit_pct: Some(25.0),
            stop_loss_pct: None,
            max_hold: None,
        },
        portfolio_rule: Some(PortfolioRule {
            top: 5,
            target_pct: 15.0,
        }),
        ..params()
    }
}

/// Every fill of `run` as an order: date, symbol, signed shares, fill
/// price, and why (`entry`, or the exit's label).
fn orders_csv(run: &backtest::Run) -> String {
    use std::fmt::Write as _;
    let mut orders = String::from("date,symbol,shares,price,reason\n");
    for t in &run.trades {
        let _ = writeln!(
            orders,
            "{},{},{},{},entry",
            t.entry_date, t.symbol, t.shares, t.entry_price
        );
        let _ = writeln!(
            orders,
            "{},{},{},{},{}",
            t.exit_date,
            t.symbol,
            -t.shares,
            t.exit_price,
            t.reason.label()
        );
    }
    for o in &run.open {
        let _ = writeln!(
            orders,
            "{},{},{},{},entry",
            o.entry_date, o.symbol, o.shares, o.entry_price
        );
    }
    orders
}

fn timed<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(std::hint::black_box(f()));
        times.push(t.elapsed());
    }
    times.sort();
    (times[0], times[runs / 2], last.unwrap())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn export(dir: &str, h: &PriceHistory, run: &backtest::Run, busy: &backtest::Run, start: usize) {
    use std::fmt::Write as _;
    std::fs::create_dir_all(dir).unwrap();
    for (name, field) in [
        ("close", Field::Close),
        ("open", Field::Open),
        ("high", Field::High),
    ] {
        let mut out = String::from("date");
        for s in h.symbols() {
            let _ = write!(out, ",{s}");
        }
        out.push('\n');
        for (d, date) in h.dates().iter().enumerate() {
            let _ = write!(out, "{date}");
            for s in 0..h.symbols().len() {
                let _ = write!(out, ",{}", h.series(s, field)[d]);
            }
            out.push('\n');
        }
        std::fs::write(format!("{dir}/{name}.csv"), out).unwrap();
    }
    std::fs::write(format!("{dir}/orders.csv"), orders_csv(run)).unwrap();
    std::fs::write(format!("{dir}/orders_busy.csv"), orders_csv(busy)).unwrap();
    let meta = serde_json::json!({
        "start": h.dates()[start],
        "end": h.dates()[h.dates().len() - 1],
        "final_equity": run.equity.last(),
        "trades": run.trades.len(),
        "open_positions": run.open.len(),
        "lookback": SCREEN.lookback_days,
        "min_history": SCREEN.min_history,
        "params": params(),
        "busy": {
            "params": busy_params(),
            "final_equity": busy.equity.last(),
            "trades": busy.trades.len(),
        },
    });
    std::fs::write(format!("{dir}/meta.json"), meta.to_string()).unwrap();
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (sessions, symbols, runs) = if bench {
        (2_520, 1_000, RUNS)
    } else {
        (252, 50, 1)
    };
    let t = Instant::now();
    let h = market(sessions, symbols);
    println!(
        "market: {sessions} sessions x {symbols} symbols ({} bars) built in {}",
        h.bar_count(),
        ms(t.elapsed())
    );
    let p = params();
    let (start, end) = (SCREEN.lookback_days - 1, sessions - 1);

    let (fast, median, ranks) = timed(runs, || DrawdownColumns::new(&h, &SCREEN));
    println!(
        "ranking pass (every cell):   fastest {}  median {}",
        ms(fast),
        ms(median)
    );
    let (fast, median, run) = timed(runs, || backtest::run(&h, &ranks, &p, &[], start, end));
    println!(
        "one backtest (ranked):       fastest {}  median {}",
        ms(fast),
        ms(median)
    );
    let (fast, median, _) = timed(runs, || {
        let ranks = DrawdownColumns::new(&h, &SCREEN);
        backtest::run(&h, &ranks, &p, &[], start, end)
    });
    println!(
        "ranking + backtest (1 core): fastest {}  median {}",
        ms(fast),
        ms(median)
    );
    let bars = (end + 1 - start) * symbols;
    println!(
        "  {} trades, {} open at the end, final equity {:.2}; {:.1} M bars/s",
        run.trades.len(),
        run.open.len(),
        run.equity.last().copied().unwrap_or(f64::NAN),
        bars as f64 / median.as_secs_f64() / 1e6
    );
    assert!(!run.trades.is_empty(), "the strategy must trade");

    let per_axis: i32 = if bench { 10 } else { 2 };
    let list = |f: &dyn Fn(i32) -> i32| {
        (1..=per_axis)
            .map(|i| f(i).to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let axes: Vec<sweep::Axis> = [
        format!("entry={}", list(&|i| -12 - 3 * i)),
        format!("top={}", list(&|i| 3 * i)),
        format!("take-profit={}", list(&|i| 15 * i)),
    ]
    .iter()
    .map(|spec| sweep::parse_axis(spec).unwrap_or_else(|e| panic!("{e}")))
    .collect();
    let combos = sweep::grid(&p, &axes);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t = Instant::now();
    let points = sweep::run_grid(&h, &ranks, &combos, &[], start, end, None, 0.0, threads);
    let took = t.elapsed();
    assert_eq!(points.len(), combos.len());
    println!(
        "sweep: {} combinations on {threads} threads in {:.2} s ({} each)",
        combos.len(),
        took.as_secs_f64(),
        ms(took / combos.len() as u32)
    );
    if bench {
        assert_eq!(combos.len(), SWEEP);
    }
    if let Ok(dir) = std::env::var("BACKTEST_EXPORT") {
        let busy = backtest::run(&h, &ranks, &busy_params(), &[], start, end);
        export(&dir, &h, &run, &busy, start);
        println!("market and trades written to {dir}");
    }
}
