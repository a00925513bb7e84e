//! Criterion benchmark of the drawdown engine, [`dipwatch::screen::screen`].
//!
//! Three cases on data from the library's own simulated market:
//!
//! - `1000x180_lookback180`: 1,000 symbols x 180 bars, lookback 180,
//!   min_history 30 (one screen of a universe the size of the default one);
//! - `10000x2520_lookback180`: 10,000 symbols x 2,520 bars (10 years),
//!   the default lookback of 180: the engine binary-searches each series for
//!   the window, so it reads only the last 180 bars of each;
//! - `10000x2520_lookback2520`: the same input with a 2,520-session lookback,
//!   so every bar is scanned.
//!
//! "N symbols" means N symbols with a full W-bar history ending at the
//! screen date, plus the late listings (IPOs, about 5% of tickers in the
//! simulated market) met on the way, which have shorter histories and
//! exercise the skip paths: the input is never smaller than N x W bars.
//!
//! A counting global allocator measures what one `screen()` call allocates
//! (total, peak above the input, retained in the result) against the size
//! of the input, printed before the timings.
//!
//! With `DIPWATCH_BENCH_DUMP=DIR`, each dataset is written to `DIR` as raw
//! little-endian arrays (symbol index i32, date as days since 1970-01-01
//! i32, high f64, close f64) with a JSON sidecar (tickers, calendar), and
//! each case's parameters, Rust result and memory figures as `DIR/CASE.json`,
//! for `benches/screen_reference.py` (the pandas reference) to load and
//! check against. `scripts/bench-engine` runs both.
//!
//! Each case is timed twice: `engine/CASE` is [`screen`] over per-symbol
//! `Vec<Bar>` (what `collect` does after fetching), `engine_columns/CASE`
//! is [`screen_columns`] over the same bars held as a
//! [`PriceHistory`] (columns of f64 per field, what the daemon keeps in
//! memory and the backtester reads; built before timing, as the pandas
//! reference builds its frame before timing). The columnar answer is
//! checked equal to the per-symbol one before it is timed.
//!
//! Run as a test (`cargo test --benches`, or `cargo bench -- --test`), the
//! datasets are scaled down so the check is quick.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs;
use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use criterion::{Criterion, SamplingMode};
use dipwatch::domain::{Bar, SkipReason, Symbol, TradingDays};
use dipwatch::market::SymbolBars;
use dipwatch::market::calendar::trading_days;
use dipwatch::market::sim::{EPOCH, SimMarket};
use dipwatch::query::{DayBars, PriceHistory};
use dipwatch::screen::{PeakBasis, Screen, ScreenParams, screen, screen_columns};
use serde_json::json;

// ---------------------------------------------------------------------------
// Counting allocator

/// The system allocator, counting while [`COUNTING`] is on. Off, the only
/// cost is one relaxed load per call, so the timed loops are unaffected.
struct CountingAlloc;

/// Whether allocations are being counted.
static COUNTING: AtomicBool = AtomicBool::new(false);
/// Net bytes allocated since counting started (frees subtract).
static LIVE: AtomicIsize = AtomicIsize::new(0);
/// Highest value `LIVE` reached.
static PEAK: AtomicIsize = AtomicIsize::new(0);
/// Bytes requested (allocations plus realloc growth).
static REQUESTED: AtomicUsize = AtomicUsize::new(0);
/// Number of allocations and reallocations.
static CALLS: AtomicUsize = AtomicUsize::new(0);

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn signed(n: usize) -> isize {
    isize::try_from(n).unwrap_or(isize::MAX)
}

fn count_grow(bytes: usize) {
    REQUESTED.fetch_add(bytes, Ordering::Relaxed);
    CALLS.fetch_add(1, Ordering::Relaxed);
    let live = LIVE.fetch_add(signed(bytes), Ordering::Relaxed) + signed(bytes);
    PEAK.fetch_max(live, Ordering::Relaxed);
}

fn count_shrink(bytes: usize) {
    LIVE.fetch_sub(signed(bytes), Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to `System`; the counters are
// side bookkeeping that never touches the memory.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            count_grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            count_grow(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) };
        if COUNTING.load(Ordering::Relaxed) {
            count_shrink(layout.size());
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            if new_size >= layout.size() {
                count_grow(new_size - layout.size());
            } else {
                count_shrink(layout.size() - new_size);
            }
        }
        p
    }
}

/// What one call allocated.
#[derive(Debug, Clone, Copy)]
struct AllocStats {
    /// Bytes requested over the call.
    requested: usize,
    /// Allocation calls.
    calls: usize,
    /// Most bytes held at once above what was live before the call.
    peak: isize,
    /// Bytes still held after the call: the returned value.
    retained: isize,
}

/// Run `f` with allocation counting on; the result is dropped after
/// counting stops, so `retained` is its size.
fn measure_allocs<T>(f: impl FnOnce() -> T) -> (T, AllocStats) {
    LIVE.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    REQUESTED.store(0, Ordering::Relaxed);
    CALLS.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::SeqCst);
    let out = f();
    COUNTING.store(false, Ordering::SeqCst);
    let stats = AllocStats {
        requested: REQUESTED.load(Ordering::Relaxed),
        calls: CALLS.load(Ordering::Relaxed),
        peak: PEAK.load(Ordering::Relaxed),
        retained: LIVE.load(Ordering::Relaxed),
    };
    (out, stats)
}

// ---------------------------------------------------------------------------
// Data

/// One simulated input: symbols with their bars up to `date`.
struct Dataset {
    name: String,
    date: NaiveDate,
    days: TradingDays,
    series: Vec<SymbolBars>,
    /// Symbols with a full `bars_per_symbol` history.
    full: usize,
    bars_per_symbol: usize,
}

impl Dataset {
    fn bars(&self) -> usize {
        self.series.iter().map(|s| s.bars.len()).sum()
    }

    /// Bytes the input occupies as the engine receives it: the bars, the
    /// per-symbol records and the ticker strings.
    fn input_bytes(&self) -> usize {
        self.series
            .iter()
            .map(|s| {
                s.bars.len() * size_of::<Bar>() + size_of::<SymbolBars>() + s.symbol.as_str().len()
            })
            .sum()
    }
}

/// The screen date of every case: the last session on or before 2026-06-30,
/// far enough past the epoch (2015-01-02) for 2,520 sessions of history and
/// inside the simulated market's IPO window, so late listings with short
/// histories appear.
fn screen_date() -> NaiveDate {
    let end = NaiveDate::from_ymd_opt(2026, 6, 30).expect("valid date");
    *trading_days(EPOCH, end)
        .last()
        .expect("sessions before the screen date")
}

/// Synthetic tickers `S00000`, `S00001`, ...: each has its own simulated
/// history.
fn ticker(i: usize) -> Symbol {
    Symbol::parse(&format!("S{i:05}")).expect("synthetic ticker is valid")
}

/// `full` symbols with `w` bars each ending at `date`, plus the late
/// listings met on the way (shorter histories), in ticker order.
fn generate(name: &str, full: usize, w: usize, date: NaiveDate) -> Dataset {
    const CHUNK: usize = 500;
    let calendar = trading_days(EPOCH, date);
    assert!(
        calendar.len() >= w,
        "the simulated market starts {} sessions before {date}",
        calendar.len()
    );
    let from = calendar[calendar.len() - w];
    let market = SimMarket::new(Vec::new());
    let mut series = Vec::with_capacity(full + full / 10);
    let mut have = 0;
    let mut next = 0;
    while have < full {
        let tickers: Vec<Symbol> = (next..next + CHUNK).map(ticker).collect();
        next += CHUNK;
        for mut sb in market.bars(&tickers, from, date) {
            if have == full {
                break;
            }
            if sb.bars.len() == w {
                have += 1;
            }
            sb.bars.shrink_to_fit();
            series.push(sb);
        }
    }
    Dataset {
        name: name.to_string(),
        date,
        days: TradingDays::new(calendar),
        series,
        full,
        bars_per_symbol: w,
    }
}

/// One benchmark case: a dataset and the screen parameters.
struct Case {
    id: String,
    lookback: usize,
    min_history: usize,
}

impl Case {
    fn params(&self) -> ScreenParams {
        ScreenParams {
            lookback_days: self.lookback,
            min_history: self.min_history,
            peak_basis: PeakBasis::High,
        }
    }
}

/// The call being measured: exactly what `collect` does after validation.
fn run_screen(ds: &Dataset, params: &ScreenParams) -> Screen {
    screen(
        ds.date,
        ds.series.iter().map(|s| (&s.symbol, s.bars.as_slice())),
        &ds.days,
        params,
    )
}

/// The dataset as the columnar history the daemon holds (every field of
/// every bar; the dates are the sessions any symbol has a bar on).
fn to_history(ds: &Dataset) -> PriceHistory {
    let mut days: std::collections::BTreeMap<NaiveDate, DayBars> = Default::default();
    for sb in &ds.series {
        for b in &sb.bars {
            days.entry(b.date)
                .or_insert_with(|| DayBars::new(b.date, true))
                .push(
                    &sb.symbol,
                    [b.open, b.high, b.low, b.close, b.volume as f64],
                );
        }
    }
    PriceHistory::from_days(days.into_values().collect())
}

/// Check the columnar screen gives the per-symbol screen's answer: the same
/// rows (symbols, ranks, prices, peak dates, days since peak, drawdowns)
/// and the same skipped symbols with the same reasons, except symbols with
/// no bar at all, which a history does not hold.
fn check_columns(history: &PriceHistory, params: &ScreenParams, want: &Screen) {
    let d = history.dates().len() - 1;
    let got = screen_columns(history, d, params);
    assert_eq!(got.date, want.date);
    assert_eq!(got.rows, want.rows, "columnar rows differ");
    let with_bars: Vec<_> = want
        .skipped
        .iter()
        .filter(|s| s.reason != SkipReason::NoBars)
        .collect();
    assert_eq!(
        got.skipped.iter().collect::<Vec<_>>(),
        with_bars,
        "columnar skips differ"
    );
}

// ---------------------------------------------------------------------------
// Dump for the pandas reference

fn days_since_unix_epoch(d: NaiveDate) -> i32 {
    let unix = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    i32::try_from((d - unix).num_days()).expect("date within i32 days")
}

fn write_raw(
    path: &Path,
    values: impl Iterator<Item = [u8; 8]>,
    width: usize,
) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, fs::File::create(path)?);
    for v in values {
        w.write_all(&v[..width])?;
    }
    w.flush()
}

/// Write the dataset as raw little-endian columns plus `meta.json`.
fn dump_dataset(dir: &Path, ds: &Dataset) -> std::io::Result<()> {
    let d = dir.join(&ds.name);
    fs::create_dir_all(&d)?;
    let rows = || {
        ds.series
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.bars.iter().map(move |b| (i, b)))
    };
    let pad4 = |x: [u8; 4]| [x[0], x[1], x[2], x[3], 0, 0, 0, 0];
    write_raw(
        &d.join("sym.i32"),
        rows().map(|(i, _)| {
            pad4(
                i32::try_from(i)
                    .expect("symbol index fits i32")
                    .to_le_bytes(),
            )
        }),
        4,
    )?;
    write_raw(
        &d.join("date.i32"),
        rows().map(|(_, b)| pad4(days_since_unix_epoch(b.date).to_le_bytes())),
        4,
    )?;
    write_raw(
        &d.join("high.f64"),
        rows().map(|(_, b)| b.high.to_le_bytes()),
        8,
    )?;
    write_raw(
        &d.join("close.f64"),
        rows().map(|(_, b)| b.close.to_le_bytes()),
        8,
    )?;
    let meta = json!({
        "bars": ds.bars(),
        "full_symbols": ds.full,
        "bars_per_symbol": ds.bars_per_symbol,
        "tickers": ds.series.iter().map(|s| s.symbol.as_str()).collect::<Vec<_>>(),
        "calendar": ds.days.as_slice().iter().map(|d| days_since_unix_epoch(*d)).collect::<Vec<_>>(),
    });
    fs::write(d.join("meta.json"), serde_json::to_vec(&meta)?)
}

fn skip_kind(r: &SkipReason) -> &'static str {
    match r {
        SkipReason::NoBars => "no_bars",
        SkipReason::InsufficientHistory { .. } => "insufficient_history",
        SkipReason::Stale { .. } => "stale",
    }
}

/// Write one case: parameters, the Rust result and the memory figures.
fn dump_case(
    dir: &Path,
    ds: &Dataset,
    case: &Case,
    result: &Screen,
    mem: &AllocStats,
) -> std::io::Result<()> {
    let doc = json!({
        "case": case.id,
        "dataset": ds.name,
        "date": ds.date.to_string(),
        "date_days": days_since_unix_epoch(ds.date),
        "lookback": case.lookback,
        "min_history": case.min_history,
        "peak_basis": "high",
        "symbols": ds.series.len(),
        "full_symbols": ds.full,
        "bars_per_symbol": ds.bars_per_symbol,
        "bars": ds.bars(),
        "memory": {
            "bar_size": size_of::<Bar>(),
            "input_bytes": ds.input_bytes(),
            "requested_bytes": mem.requested,
            "alloc_calls": mem.calls,
            "peak_extra_bytes": mem.peak,
            "retained_bytes": mem.retained,
        },
        "rows": result.rows.iter().map(|r| json!([
            r.symbol.as_str(),
            r.peak_date.to_string(),
            r.drawdown_pct,
            r.days_since_peak,
            r.rank,
        ])).collect::<Vec<_>>(),
        "skipped": result.skipped.iter().map(|s| json!([s.symbol.as_str(), skip_kind(&s.reason)])).collect::<Vec<_>>(),
    });
    fs::write(
        dir.join(format!("{}.json", case.id)),
        serde_json::to_vec(&doc)?,
    )
}

// ---------------------------------------------------------------------------
// Main

/// Criterion's own rule: benchmarking only under `cargo bench` without
/// `--test`; anything else runs each benchmark once, on small data here.
fn bench_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test")
}

fn mib(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

#[allow(clippy::cast_precision_loss)] // byte counts far below 2^52
fn report_memory(ds: &Dataset, case: &Case, result: &Screen, mem: &AllocStats) {
    let input = ds.input_bytes() as f64;
    let symbols = ds.series.len() as f64;
    println!(
        "memory {:<26} symbols {:>6} ({} full, {} ranked, {} skipped)  bars {:>10}  input {:>8.1} MiB  \
         screen(): requested {:>8.1} KiB in {} allocs, peak extra {:>8.1} KiB, result {:>8.1} KiB  \
         = {:.1} B/symbol, {:.3}% of input",
        case.id,
        ds.series.len(),
        ds.full,
        result.rows.len(),
        result.skipped.len(),
        ds.bars(),
        mib(input),
        mem.requested as f64 / 1024.0,
        mem.calls,
        mem.peak as f64 / 1024.0,
        mem.retained as f64 / 1024.0,
        mem.peak as f64 / symbols,
        mem.peak as f64 / input * 100.0,
    );
}

fn main() {
    let full_size = bench_mode();
    let dump_dir: Option<PathBuf> = std::env::var_os("DIPWATCH_BENCH_DUMP").map(PathBuf::from);
    if let Some(dir) = &dump_dir {
        fs::create_dir_all(dir).expect("create the dump directory");
    }
    let (small, large) = if full_size {
        ((1_000, 180), (10_000, 2_520))
    } else {
        ((50, 180), (60, 400))
    };
    let mut criterion = Criterion::default().configure_from_args();
    let date = screen_date();
    println!(
        "drawdown engine bench: screen date {date}, Bar = {} bytes{}",
        size_of::<Bar>(),
        if full_size {
            ""
        } else {
            " (test mode: small data)"
        }
    );

    let datasets = [
        ("small", small, vec![(small.1, 30)]),
        ("large", large, vec![(180, 30), (large.1, 30)]),
    ];
    for (name, (symbols, w), lookbacks) in datasets {
        let t = Instant::now();
        let ds = generate(name, symbols, w, date);
        println!(
            "generated {name}: {} symbols ({} with {w} bars), {} bars in {:.1?}",
            ds.series.len(),
            ds.full,
            ds.bars(),
            t.elapsed()
        );
        if let Some(dir) = &dump_dir {
            let t = Instant::now();
            dump_dataset(dir, &ds).expect("write the dataset dump");
            println!(
                "dumped {name} to {} in {:.1?}",
                dir.join(name).display(),
                t.elapsed()
            );
        }
        let t = Instant::now();
        let history = to_history(&ds);
        println!(
            "columnar history of {name}: {} symbols x {} dates in {:.1?}",
            history.symbols().len(),
            history.dates().len(),
            t.elapsed()
        );
        assert_eq!(history.dates().last(), Some(&ds.date));
        let cases: Vec<Case> = lookbacks
            .into_iter()
            .map(|(lookback, min_history)| Case {
                id: format!("{symbols}x{w}_lookback{lookback}"),
                lookback,
                min_history,
            })
            .collect();
        for case in &cases {
            let params = case.params();
            let (result, mem) = measure_allocs(|| run_screen(&ds, &params));
            report_memory(&ds, case, &result, &mem);
            check_columns(&history, &params, &result);
            if let Some(dir) = &dump_dir {
                dump_case(dir, &ds, case, &result, &mem).expect("write the case dump");
            }
        }
        let mut group = criterion.benchmark_group("engine");
        for case in &cases {
            let params = case.params();
            if case.lookback > 1_000 {
                // ~0.1-0.5 s per call: flat sampling, fewer samples.
                group
                    .sampling_mode(SamplingMode::Flat)
                    .sample_size(20)
                    .measurement_time(Duration::from_secs(15));
            } else {
                group
                    .sampling_mode(SamplingMode::Auto)
                    .sample_size(100)
                    .measurement_time(Duration::from_secs(5));
            }
            group.bench_function(&case.id, |b| {
                b.iter(|| run_screen(black_box(&ds), black_box(&params)))
            });
        }
        group.finish();
        let last = history.dates().len() - 1;
        let mut group = criterion.benchmark_group("engine_columns");
        for case in &cases {
            let params = case.params();
            group.bench_function(&case.id, |b| {
                b.iter(|| screen_columns(black_box(&history), black_box(last), black_box(&params)))
            });
        }
        group.finish();
    }
    criterion.final_summary();
}
