//! Charts from the in-memory history (`src/chart`): a 1,000-symbol year
//! (252 sessions) of daily bars held as a `PriceHistory`, as the daemon
//! holds it, and one symbol's 1-year price chart drawn from it.
//!
//! - `chart/price_1y_data`: the figure's data only (the symbol's closes,
//!   and the screen engine's peak and drawdown over the sessions held);
//! - `chart/price_1y_png`: data, drawing and PNG encoding (1200 x 800), what
//!   `/chart TICKER` does before the upload (target: under 50 ms);
//! - `chart/price_1y_svg`: data and the SVG document (the dashboard's);
//! - `chart/breadth_png`: breadth over 60 screens of 1,000 names (what
//!   `/breadth` draws from the state's drawdown history).
//!
//! `cargo bench --bench chart`; `cargo test --bench chart` runs each once.

use std::collections::HashMap;

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use dipwatch::chart::{self, Figure, Period, Style, data};
use dipwatch::domain::Symbol;
use dipwatch::market::calendar::trading_days;
use dipwatch::query::{DayBars, PriceHistory};
use dipwatch::screen::{PeakBasis, ScreenParams};
use dipwatch::state::HistoryPoint;

const SYMBOLS: usize = 1_000;
const SESSIONS: usize = 252;

/// A random walk per symbol over the last `SESSIONS` sessions.
fn history() -> PriceHistory {
    let end: NaiveDate = "2026-11-30".parse().unwrap();
    let mut days = trading_days(end - chrono::Duration::days(400), end);
    days.drain(..days.len() - SESSIONS);
    let symbols: Vec<Symbol> = (0..SYMBOLS)
        .map(|i| Symbol::parse(&format!("S{i:05}")).unwrap())
        .collect();
    let mut rng = Pcg64::seed_from_u64(14);
    let mut price: Vec<f64> = (0..SYMBOLS)
        .map(|_| rng.random_range(10.0..500.0))
        .collect();
    let days = days
        .iter()
        .map(|d| {
            let mut day = DayBars::new(*d, false);
            for (s, p) in symbols.iter().zip(price.iter_mut()) {
                *p *= 1.0 + rng.random_range(-0.03..0.03);
                day.push(s, [*p, *p * 1.01, *p * 0.99, *p, 1e6]);
            }
            day
        })
        .collect();
    PriceHistory::from_days(days)
}

/// 60 screens of 1,000 names, as the state keeps them.
fn screens(h: &PriceHistory) -> HashMap<Symbol, Vec<HistoryPoint>> {
    let dates = &h.dates()[h.dates().len() - 60..];
    let mut rng = Pcg64::seed_from_u64(60);
    h.symbols()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let points = dates
                .iter()
                .map(|d| HistoryPoint {
                    date: *d,
                    drawdown_pct: -rng.random_range(0.0..60.0),
                    rank: i as u32 + 1,
                })
                .collect();
            (s.clone(), points)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let h = history();
    let symbol = h.symbols()[SYMBOLS / 2].clone();
    let params = ScreenParams {
        lookback_days: 180,
        min_history: 30,
        peak_basis: PeakBasis::High,
    };
    let figure =
        || Figure::Price(data::price_chart(&h, &symbol, Period::Y1, &params, None).unwrap());
    c.bench_function("chart/price_1y_data", |b| b.iter(figure));
    c.bench_function("chart/price_1y_png", |b| {
        b.iter(|| chart::png(&figure(), &Style::PHOTO).unwrap())
    });
    c.bench_function("chart/price_1y_svg", |b| {
        b.iter(|| chart::svg(&figure(), &Style::PHOTO).unwrap())
    });
    let screens = screens(&h);
    c.bench_function("chart/breadth_png", |b| {
        b.iter(|| {
            let fig = Figure::Breadth(data::breadth(&screens, false).unwrap());
            chart::png(&fig, &Style::PHOTO).unwrap()
        })
    });
    let png = chart::png(&figure(), &Style::PHOTO).unwrap();
    let svg = chart::svg(&figure(), &Style::PHOTO).unwrap();
    println!(
        "1y price chart of {symbol}: PNG {} bytes, SVG {} bytes",
        png.len(),
        svg.len()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
