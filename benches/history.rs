//! Loading the price history ([`dipwatch::store::Lake::price_history`])
//! from a lake of 10 years (2,520 sessions) x 1,000 symbols on local disk:
//! every date's manifest and bars object read (32 at a time), checked
//! against its SHA-256, parsed, and assembled into columns.
//!
//! The lake is written once under `target/bench-lake-10y` (about 150 MB;
//! reused by later runs) with the store's own publish path, then loaded
//! [`RUNS`] times; the figures are the fastest and the median. With
//! `duckdb` importable by `python3`, DuckDB reading the same CSV objects
//! into a table (no checksums) is timed in the same run as a peer.
//!
//! `cargo bench --bench history` (cargo passes `--bench`); run any other way
//! (`cargo test --bench history`, `-- --test`) it loads a 60-session lake
//! once as a check.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use dipwatch::domain::{Bar, RunOutcome, RunReport, Symbol};
use dipwatch::market::calendar::trading_days;
use dipwatch::store::Lake;
use dipwatch::store::{BarRecord, Dataset, NewObject, StorageUrl, Store, encode};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

/// Timed loads.
const RUNS: usize = 5;

fn report(date: NaiveDate) -> RunReport {
    RunReport::bare(date, "bench", true, RunOutcome::Published, Utc::now())
}

/// Write `sessions` x `symbols` random-walk bars as published dates.
async fn build_lake(dir: &Path, sessions: usize, symbols: usize) {
    let store = Store::open(&StorageUrl::Local(dir.to_path_buf()), &Default::default())
        .await
        .unwrap();
    let end: NaiveDate = "2026-11-30".parse().unwrap();
    let mut days = trading_days(end - chrono::Duration::days(sessions as i64 * 2), end);
    days.drain(..days.len() - sessions);
    let tickers: Vec<Symbol> = (0..symbols)
        .map(|i| Symbol::parse(&format!("S{i:04}")).unwrap())
        .collect();
    let mut rng = Pcg64::seed_from_u64(7);
    let mut price: Vec<f64> = (0..symbols).map(|_| rng.random_range(5.0..500.0)).collect();
    for date in days {
        let rows: Vec<BarRecord> = tickers
            .iter()
            .zip(price.iter_mut())
            .map(|(t, p)| {
                let open = *p;
                *p = (*p * (1.0 + rng.random_range(-0.03..0.03))).max(0.5);
                let close = (*p * 1e4).round() / 1e4;
                let bar = Bar {
                    date,
                    open,
                    high: open.max(close) * 1.01,
                    low: open.min(close) * 0.99,
                    close,
                    volume: rng.random_range(1_000..10_000_000),
                    trade_count: Some(rng.random_range(10..10_000)),
                    vwap: Some((open + close) / 2.0),
                };
                BarRecord::new(t, &bar)
            })
            .collect();
        let (bytes, n) = encode(Dataset::Bars, rows).unwrap();
        let object = NewObject {
            dataset: Dataset::Bars,
            bytes,
            rows: n,
        };
        store
            .publish(date, vec![object], Default::default(), report(date))
            .await
            .unwrap();
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// DuckDB loading the same CSV objects into a table (best of [`RUNS`]),
/// or why it could not be run.
fn duckdb_seconds(lake: &Path) -> Result<f64, String> {
    let script = r#"
import sys, time, duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
best = None
for _ in range(int(sys.argv[2])):
    t = time.perf_counter()
    con.execute("CREATE OR REPLACE TABLE b AS SELECT * FROM read_csv(?, header=true)", [sys.argv[1] + "/bars/*/bars.csv"])
    n = con.execute("SELECT count(*) FROM b").fetchall()[0][0]
    dt = time.perf_counter() - t
    best = dt if best is None else min(best, dt)
print(best, n)
"#;
    let out = Command::new("python3")
        .args(["-c", script, &lake.display().to_string(), &RUNS.to_string()])
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().last().unwrap_or("failed").to_string());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("unexpected output {text:?}"))
}

fn main() {
    let quick =
        !std::env::args().any(|a| a == "--bench") || std::env::args().any(|a| a == "--test");
    let (sessions, symbols) = if quick { (60, 50) } else { (2520, 1000) };
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let lake: PathBuf = Path::new(&target).join(format!("bench-lake-{sessions}x{symbols}"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let marker = lake.join(".complete");
    if !marker.exists() {
        let _ = std::fs::remove_dir_all(&lake);
        let t = Instant::now();
        rt.block_on(build_lake(&lake, sessions, symbols));
        std::fs::write(&marker, b"").unwrap();
        println!(
            "lake written in {:.1} s: {}",
            t.elapsed().as_secs_f64(),
            lake.display()
        );
    }
    let store = rt
        .block_on(Store::open(
            &StorageUrl::Local(lake.clone()),
            &Default::default(),
        ))
        .unwrap();
    let lake_reader = Lake::new(store);
    let mut times = Vec::new();
    let mut bars = 0;
    for _ in 0..if quick { 1 } else { RUNS } {
        let t = Instant::now();
        let load = rt.block_on(lake_reader.price_history(None, None)).unwrap();
        times.push(t.elapsed());
        assert!(load.skipped.is_empty(), "{:?}", load.skipped);
        assert_eq!(load.history.dates().len(), sessions);
        bars = load.history.bar_count();
    }
    assert_eq!(bars, sessions * symbols);
    let best = times.iter().min().unwrap();
    println!(
        "price history {sessions} sessions x {symbols} symbols ({bars} bars): best {:.3} s, median {:.3} s of {}",
        best.as_secs_f64(),
        median(times.clone()).as_secs_f64(),
        times.len()
    );
    if !quick {
        match duckdb_seconds(&lake) {
            Ok(s) => {
                println!("peer: DuckDB read_csv of the same objects into a table: best {s:.3} s")
            }
            Err(e) => println!("peer: DuckDB skipped ({e}; pip install duckdb)"),
        }
    }
}
