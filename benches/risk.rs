//! The whole portfolio risk analysis ([`dipwatch::risk::analyze`]): 50
//! positions and 50 candidates over a year (252 sessions) of a
//! 1,000-symbol history, with 252 account snapshots. Target: under 10 ms.
//! Measured with the benchmark as a ticker (SPY, in the history) and as
//! the equal-weight universe (the mean return of all 1,000 symbols each
//! session: the heavier case). Then the correlation heatmap of that report
//! (its 20 largest positions): the PNG `/risk` sends and the inline SVG the
//! dashboard's portfolio page embeds.
//!
//!   cargo bench --bench risk

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use dipwatch::chart::{Figure, Style, correlation_heatmap};
use dipwatch::domain::{Account, DrawdownRow, Position, Symbol};
use dipwatch::query::{DayBars, Field, PriceHistory};
use dipwatch::risk::{Benchmark, RiskInput, RiskParams, analyze, holding_periods};
use dipwatch::strategy::{ExitRules, PortfolioRule};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use rust_decimal::Decimal;

const SESSIONS: usize = 252;
const SYMBOLS: usize = 1_000;
const POSITIONS: usize = 50;
const CANDIDATES: usize = 50;

fn sym(i: usize) -> Symbol {
    Symbol::parse(&format!("S{i:04}")).unwrap()
}

/// A year of random-walk bars, ten sectors sharing a factor each, and SPY.
fn history() -> PriceHistory {
    let mut rng = Pcg64::seed_from_u64(16);
    let end: NaiveDate = "2026-11-30".parse().unwrap();
    let mut days = dipwatch::market::calendar::trading_days(end - chrono::Days::new(400), end);
    days.drain(..days.len() - SESSIONS);
    let mut prices: Vec<f64> = (0..=SYMBOLS).map(|i| 20.0 + (i % 97) as f64).collect();
    let spy = Symbol::parse("SPY").unwrap();
    let symbols: Vec<Symbol> = (0..SYMBOLS).map(sym).collect();
    days.iter()
        .map(|d| {
            let market: f64 = rng.random_range(-0.01..0.01);
            let sectors: Vec<f64> = (0..10).map(|_| rng.random_range(-0.01..0.01)).collect();
            let mut day = DayBars::new(*d, false);
            for (i, p) in prices.iter_mut().enumerate() {
                let own: f64 = rng.random_range(-0.02..0.02);
                *p *= 1.0
                    + market
                    + if i < SYMBOLS {
                        sectors[i % 10] + own
                    } else {
                        0.0
                    };
                let s = if i < SYMBOLS { &symbols[i] } else { &spy };
                day.push(s, [*p, *p, *p, *p, 1000.0]);
            }
            day
        })
        .collect::<Vec<_>>()
        .pipe(PriceHistory::from_days)
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl<T> Pipe for T {}

fn bench(c: &mut Criterion) {
    let h = history();
    let last = h.dates().len() - 1;
    let close = |i: usize| h.series(h.symbol_index(&sym(i)).unwrap(), Field::Close)[last];
    let positions: Vec<Position> = (0..POSITIONS)
        .map(|i| {
            let now = Decimal::try_from(close(i)).unwrap().round_dp(2);
            Position::from_prices(sym(i), Decimal::from(10 + i), now * Decimal::new(9, 1), now)
        })
        .collect();
    let account = Account {
        equity: Some(Decimal::from(1_000_000)),
        cash: Some(Decimal::from(100_000)),
        buying_power: None,
        status: "ACTIVE".into(),
        currency: None,
        last_equity: None,
        long_market_value: None,
        daytrade_count: None,
        pattern_day_trader: None,
    };
    // The screen's top: 50 held names interleaved with 50 candidates.
    let screen: Vec<DrawdownRow> = (0..POSITIONS + CANDIDATES)
        .map(|i| DrawdownRow {
            date: h.dates()[last],
            symbol: sym(if i % 2 == 0 { i / 2 } else { 500 + i }),
            current_price: close(i),
            peak_price: close(i) * 1.5,
            peak_date: h.dates()[0],
            drawdown_pct: -60.0 + i as f64 * 0.1,
            days_since_peak: 10,
            volume: 1000,
            rank: i as u32 + 1,
        })
        .collect();
    let equity: Vec<(NaiveDate, f64)> = h
        .dates()
        .iter()
        .enumerate()
        .map(|(t, d)| (*d, 1_000_000.0 * (1.0 + t as f64 * 1e-4)))
        .collect();
    let snapshots: Vec<(NaiveDate, Vec<Position>)> =
        h.dates().iter().map(|d| (*d, positions.clone())).collect();
    let held = holding_periods(&snapshots);
    let mut params = RiskParams {
        lookback: 90,
        budget: 0.02,
        cluster_correlation: 0.7,
        duplicate_correlation: 0.8,
        candidates: CANDIDATES,
        benchmark: Benchmark::Symbol(Symbol::parse("SPY").unwrap()),
        exit_rules: ExitRules {
            take_profit_pct: Some(100.0),
            stop_loss_pct: None,
            max_hold: Some(120),
        },
        portfolio_rule: PortfolioRule {
            top: 5,
            target_pct: 100.0,
        },
        classes: vec![dipwatch::domain::AssetClass::UsEquity],
    };
    let input = RiskInput {
        date: h.dates()[last],
        positions: &positions,
        account: &account,
        held: &held,
        history: &h,
        screen: &screen,
        equity: &equity,
        simulated: false,
    };
    let r = analyze(&input, &params);
    assert_eq!(r.correlation.symbols.len(), POSITIONS, "{:?}", r.excluded);
    assert_eq!(r.suggestions.len(), CANDIDATES);
    println!(
        "risk: {POSITIONS} positions, {} candidates, {SESSIONS} sessions x {} symbols -> {:.1} effective bets, {} correlation clusters",
        r.suggestions.len(),
        h.symbols().len(),
        r.effective_bets.unwrap_or(0.0),
        r.clusters.len()
    );
    c.bench_function("risk/analyze_50_positions_50_candidates_1y", |b| {
        b.iter(|| analyze(&input, &params))
    });
    params.benchmark = Benchmark::Universe(h.symbols().to_vec());
    c.bench_function(
        "risk/analyze_50_positions_50_candidates_1y_universe_benchmark",
        |b| b.iter(|| analyze(&input, &params)),
    );
    c.bench_function("risk/holding_periods_50_positions_252_snapshots", |b| {
        b.iter(|| holding_periods(&snapshots))
    });
    let figure = || Figure::Correlation(correlation_heatmap(&r).unwrap());
    let png = dipwatch::chart::png(&figure(), &Style::SQUARE).unwrap();
    let svg = dipwatch::chart::svg(&figure(), &Style::SQUARE).unwrap();
    println!(
        "heatmap of 20 of 50 positions: PNG {} bytes, SVG {} bytes",
        png.len(),
        svg.len()
    );
    c.bench_function("risk/heatmap_20_of_50_png", |b| {
        b.iter(|| dipwatch::chart::png(&figure(), &Style::SQUARE).unwrap())
    });
    c.bench_function("risk/heatmap_20_of_50_svg", |b| {
        b.iter(|| dipwatch::chart::svg(&figure(), &Style::SQUARE).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
