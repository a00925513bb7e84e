//! End-to-end collection benchmark: the real `dipwatch collect` (release
//! binary) for 1,000 symbols x 260 sessions against the loopback fake of
//! Alpaca with 50 ms latency per response, side by side with a
//! one-request-per-symbol collector (the original system's approach) against
//! the same server in the same run. Prints requests, wall time and the
//! child's peak RSS. The dipwatch run is a whole one, as the daemon makes
//! it: the latest closed session by the exchange clock, the calendar, every
//! bar page, the account and the positions.
//!
//!   cargo bench --bench collect
//!
//! Env: `DIPWATCH_BENCH_SYMBOLS` (1000), `DIPWATCH_BENCH_LATENCY_MS` (50).

#[path = "../tests/support/fake_alpaca/mod.rs"]
mod fake_alpaca;

use std::process::Command;
use std::time::{Duration, Instant};

use dipwatch::domain::Symbol;
use fake_alpaca::{FakeAlpaca, FakeAlpacaOptions};

const DAY: &str = "2026-11-20";
const START: &str = "2025-11-12"; // 260 sessions ending on DAY

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak RSS of the largest child waited for so far, in MiB.
fn children_peak_rss_mib() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    if rc != 0 {
        return f64::NAN;
    }
    usage.ru_maxrss as f64 / 1024.0
}

/// The release `dipwatch` next to this bench (`target/release/deps/..`),
/// wherever `CARGO_TARGET_DIR` put it.
fn release_binary() -> std::path::PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("dipwatch")))
        .unwrap_or_else(|| std::path::PathBuf::from("target/release/dipwatch"))
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // and expects a quick run.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n = if quick {
        50
    } else {
        env_num("DIPWATCH_BENCH_SYMBOLS", 1000) as usize
    };
    let latency = Duration::from_millis(env_num(
        "DIPWATCH_BENCH_LATENCY_MS",
        if quick { 1 } else { 50 },
    ));
    let names: Vec<String> = (0..n).map(|i| format!("B{i:04}")).collect();
    let universe: Vec<Symbol> = names
        .iter()
        .map(|t| Symbol::parse(t).expect("ticker"))
        .collect();
    // The exchange's "now": the evening of DAY, so DAY is the latest
    // closed session and the run takes the account snapshot too.
    let fake = FakeAlpaca::start(
        FakeAlpacaOptions::new()
            .universe(universe.clone())
            .latency(latency)
            .now(format!("{DAY}T23:00:00Z").parse().expect("time")),
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let universe_file = dir.path().join("universe.txt");
    std::fs::write(
        &universe_file,
        names.iter().map(|t| format!("{t}\n")).collect::<String>(),
    )
    .expect("universe");

    // dipwatch: the release binary, as a user runs it.
    let bin = release_binary();
    assert!(bin.exists(), "build it first: cargo build --release");
    let t0 = Instant::now();
    let out = Command::new(&bin)
        .current_dir(dir.path())
        .args(["collect"])
        .env("DIPWATCH__MARKET__PROVIDER", "alpaca")
        .env("DIPWATCH__MARKET__DATA_URL", fake.url())
        .env("DIPWATCH__MARKET__TRADING_URL", fake.url())
        .env("DIPWATCH__MARKET__UNIVERSE", &universe_file)
        .env("DIPWATCH__SCREEN__LOOKBACK_DAYS", "260")
        .env("DIPWATCH__STORAGE__URL", dir.path().join("data"))
        .env("DIPWATCH__LOG__LEVEL", "warn")
        .envs(fake.credentials_env())
        .output()
        .expect("run dipwatch");
    let dipwatch_wall = t0.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rss = children_peak_rss_mib();
    let dipwatch_requests = fake.requests().len();
    let bar_requests = fake.count("/v2/stocks/bars");
    assert_eq!(
        fake.count("/v2/positions"),
        1,
        "a whole run: the snapshot too"
    );
    let run: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(format!("data/runs/date={DAY}/run.json")))
            .expect("run.json"),
    )
    .expect("json");
    let waits = run["report"]["requests"]["rate_limit_waits"]
        .as_u64()
        .unwrap_or(0);
    let bars_stored: u64 = run["objects"]["bars"]["rows"].as_u64().unwrap_or(0);

    // Baseline: one bars request per symbol, sequential, no rate limiter
    // (with Alpaca's 200/min it could not go faster than 1,000 / 200 = 5 min).
    fake.reset_log();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let http = reqwest::Client::new();
    let creds = fake.credentials_env();
    let t1 = Instant::now();
    let baseline_bars: usize = rt.block_on(async {
        let mut total = 0;
        for sym in &names {
            let resp = http
                .get(format!("{}/v2/stocks/bars", fake.url()))
                .query(&[
                    ("symbols", sym.as_str()),
                    ("timeframe", "1Day"),
                    ("start", START),
                    ("end", DAY),
                    ("limit", "10000"),
                    ("adjustment", "split"),
                    ("feed", "iex"),
                ])
                .header("APCA-API-KEY-ID", &creds[0].1)
                .header("APCA-API-SECRET-KEY", &creds[1].1)
                .send()
                .await
                .expect("baseline request");
            let bytes = resp.bytes().await.expect("baseline body");
            let body: serde_json::Value = serde_json::from_slice(&bytes).expect("baseline json");
            total += body["bars"][sym.as_str()].as_array().map_or(0, Vec::len);
        }
        total
    });
    let baseline_wall = t1.elapsed();
    let baseline_requests = fake.requests().len();

    println!(
        "collection of {n} symbols x 260 sessions, {} ms latency per response",
        latency.as_millis()
    );
    println!("| collector | requests | of which bars | wall | peak RSS |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| dipwatch collect | {dipwatch_requests} | {bar_requests} | {:.2} s | {rss:.1} MiB |",
        dipwatch_wall.as_secs_f64()
    );
    println!(
        "| one request per symbol | {baseline_requests} | {baseline_requests} | {:.2} s | - |",
        baseline_wall.as_secs_f64()
    );
    println!(
        "requests ratio: {:.1}x fewer; wall ratio: {:.1}x faster; rate-limit waits: {waits}; bars for the date stored: {bars_stored}; baseline bars fetched: {baseline_bars}",
        baseline_requests as f64 / dipwatch_requests as f64,
        baseline_wall.as_secs_f64() / dipwatch_wall.as_secs_f64()
    );
}
