//! Dashboard pages rendered from a state the size of the daemon's with the
//! default universe: 1,000 symbols ranked, a year (252 sessions) of daily
//! bars held as a `PriceHistory` and 60 screens of drawdown history. Times the server's work for a page (markup and every
//! chart in it, both themes), as its handler does on a blocking thread,
//! without the HTTP round trip:
//!
//! - `overview`: the top 10 with a sparkline each and the breadth chart
//!   drawn (the first request for a snapshot);
//! - `overview_cached`: the same with the breadth chart drawn once per
//!   snapshot (every later request: what the handler does);
//! - `screen`: page 1 of the ranking filtered (down 20%+, 5+ days) and
//!   sorted by days since the peak;
//! - `symbol_1y`: one symbol's page, 1-year price chart and rank history.
//!
//! Prints p50 / p90 / p99 over the renders (target: overview and `/screen`
//! p99 under 20 ms). `cargo bench --bench web`; `cargo test --bench web`
//! (or no `--bench` argument) renders each page a few times as a check.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use dipwatch::chart::Period;
use dipwatch::domain::{DrawdownRow, RunOutcome, RunReport, Symbol};
use dipwatch::market::calendar::trading_days;
use dipwatch::query::{DayBars, PriceHistory};
use dipwatch::screen::{PeakBasis, ScreenParams};
use dipwatch::state::{HistoryPoint, ScreenState, Snapshot};
use dipwatch::web::pages::{Dir, ScreenQuery, SortKey, render_overview, render_screen};
use dipwatch::web::symbol::render_symbol;
use dipwatch::web::{SnapshotFigures, Viewer};

const SYMBOLS: usize = 1_000;
const SESSIONS: usize = 252;
const SCREENS: usize = 60;

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

fn report(date: NaiveDate) -> RunReport {
    RunReport::bare(date, "alpaca", false, RunOutcome::Published, Utc::now())
}

/// The state: the last session's ranking and 60 screens of history.
fn snapshot() -> Snapshot {
    let prices = history();
    let dates = prices.dates().to_vec();
    let last = *dates.last().unwrap();
    let mut rng = Pcg64::seed_from_u64(60);
    let mut rows: Vec<DrawdownRow> = prices
        .symbols()
        .iter()
        .map(|s| DrawdownRow {
            date: last,
            symbol: s.clone(),
            current_price: rng.random_range(10.0..500.0),
            peak_price: 600.0,
            peak_date: dates[rng.random_range(0..dates.len())],
            drawdown_pct: -rng.random_range(0.0..70.0),
            days_since_peak: rng.random_range(0..180),
            volume: 1_000_000,
            rank: 0,
        })
        .collect();
    rows.sort_by(|a, b| a.drawdown_pct.total_cmp(&b.drawdown_pct));
    for (i, r) in rows.iter_mut().enumerate() {
        r.rank = i as u32 + 1;
    }
    let mut history: HashMap<Symbol, Vec<HistoryPoint>> = HashMap::new();
    for r in &rows {
        let points = dates[dates.len() - SCREENS..]
            .iter()
            .map(|d| HistoryPoint {
                date: *d,
                drawdown_pct: -rng.random_range(0.0..70.0),
                rank: rng.random_range(1..=SYMBOLS as u32),
            })
            .collect();
        history.insert(r.symbol.clone(), points);
    }
    Snapshot {
        screen: Some(ScreenState::new(last, rows, report(last))),
        history,
        prices: prices.into(),
        provider: "alpaca".into(),
        ..Snapshot::default()
    }
}

/// A page render: its size in bytes.
type Render<'a> = Box<dyn Fn() -> usize + 'a>;

/// Render `n` times; the sorted times.
fn time(n: usize, mut render: impl FnMut() -> usize) -> (Vec<Duration>, usize) {
    let mut times = Vec::with_capacity(n);
    let mut bytes = 0;
    for _ in 0..n {
        let start = Instant::now();
        bytes = std::hint::black_box(render());
        times.push(start.elapsed());
    }
    times.sort();
    (times, bytes)
}

fn pct(times: &[Duration], p: f64) -> f64 {
    let i = ((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1;
    times[i].as_secs_f64() * 1000.0
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 300 } else { 3 };
    let snap = std::sync::Arc::new(snapshot());
    let figures = SnapshotFigures::default();
    let viewer = Viewer::anonymous();
    let params = ScreenParams {
        lookback_days: 180,
        min_history: 30,
        peak_basis: PeakBasis::High,
    };
    let query = ScreenQuery {
        min_drawdown: Some(20.0),
        min_days: Some(5),
        sort: SortKey::Days,
        dir: Dir::Desc,
        page: None,
    };
    let symbol = snap.screen.as_ref().unwrap().rows[17].symbol.clone();
    let pages: [(&str, Render); 4] = [
        (
            "overview",
            Box::new(|| {
                render_overview(&snap, &viewer, 10, 180, None)
                    .into_string()
                    .len()
            }),
        ),
        (
            "overview_cached",
            Box::new(|| {
                let breadth = figures.breadth(&snap);
                render_overview(&snap, &viewer, 10, 180, Some(breadth))
                    .into_string()
                    .len()
            }),
        ),
        (
            "screen",
            Box::new(|| render_screen(&snap, &viewer, &query).into_string().len()),
        ),
        (
            "symbol_1y",
            Box::new(|| {
                render_symbol(&snap, &viewer, &symbol, Period::Y1, &params, None)
                    .into_string()
                    .len()
            }),
        ),
    ];
    println!("{SYMBOLS} symbols, {SESSIONS} sessions, {SCREENS} screens; {n} renders a page");
    for (name, render) in &pages {
        render(); // warm: the font is registered on the first chart
        let (times, bytes) = time(n, render);
        println!(
            "web/{name}: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms ({bytes} bytes)",
            pct(&times, 0.50),
            pct(&times, 0.90),
            pct(&times, 0.99)
        );
    }
}
