//! Telegram bot benchmark, end to end over loopback: the real bot
//! (`dipwatch::bot::run`: its own long polling loop and send limiter) against the fake
//! Bot API of `tests/support/fake_telegram.rs`, over a store holding a year
//! of simulated data for 1,000 symbols.
//!
//! 1. Update-to-reply latency of `/screen` and `/dashboard`: from the moment
//!    the fake hands the update to the bot's pending `getUpdates` to the
//!    moment the reply's `sendMessage` arrives, both stamped by the fake.
//!    Requests are paced inside Telegram's limits (20 chats in turn, one
//!    request every 350 ms: under 1 message/s and 20/min per chat, 3/s
//!    overall), after a warm-up.
//!    Then under load: `/screen` from 100 chats in turn at 10/s and at
//!    25/s (open loop: updates are pushed on a clock, never waiting for
//!    replies), the fake enforcing Telegram's 30/s with 429s; update-to-
//!    send latency percentiles and 429s.
//! 2. A burst: 100 chats send `/screen` at once (one `getUpdates` batch);
//!    the fake enforces Telegram's ~30 messages/s global limit with 429s.
//!    Reported: the busiest second (most sends the fake received in any
//!    one-second window), time from the batch's release to the last reply,
//!    and 429s.
//! 3. The cost of building the reply text alone (pure functions), per call.
//! 4. Idle RSS with the bot running and the year of data loaded: a child
//!    process (this binary, re-executed) that does what `dipwatch run` does
//!    for the bot (config, store, state loaded, runner, bot polling the
//!    fake), measured from `/proc` after it answered a few commands and
//!    idled 5 s. When `src/cli/run.rs` starts the bot and
//!    `target/release/dipwatch` exists, the real daemon is measured too.
//!
//!   cargo bench --bench bot
//!
//! Env: `DIPWATCH_BENCH_SYMBOLS` (1000), `DIPWATCH_BENCH_SAMPLES` (200 per
//! command), `DIPWATCH_BENCH_DAYS` (365 calendar days of data). Run as a
//! test (`cargo test --benches`), everything is scaled down to a smoke test.

#[path = "../tests/support/fake_telegram.rs"]
mod fake_telegram;

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Days, Utc};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use dipwatch::app::App;
use dipwatch::bot::BotOptions;
use dipwatch::bot::commands::snapshot_reply;
use dipwatch::bot::format::Params;
use dipwatch::collect::{Collector, Dates};
use dipwatch::config::AppConfig;
use dipwatch::store::Store;
use fake_telegram::{FakeTelegram, TOKEN};

/// Set in the child process of the RSS measurement.
const CHILD: &str = "DIPWATCH_BOT_BENCH_CHILD";
/// Chats of the latency runs, the burst, and the RSS probe.
const LATENCY_CHATS: std::ops::Range<i64> = 1001..1021;
const BURST_CHATS: std::ops::Range<i64> = 3001..3101;
const RATE_CHATS: std::ops::Range<i64> = 4001..4101;
const PROBE_CHAT: i64 = 9001;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The environment a daemon over `dir` runs with.
fn daemon_env(dir: &Path) -> Vec<(String, String)> {
    let allowed: Vec<String> = LATENCY_CHATS
        .chain(BURST_CHATS)
        .chain(RATE_CHATS)
        .chain([PROBE_CHAT])
        .map(|c| c.to_string())
        .collect();
    vec![
        ("DIPWATCH__MARKET__PROVIDER".into(), "sim".into()),
        (
            "DIPWATCH__MARKET__UNIVERSE".into(),
            dir.join("universe.txt").display().to_string(),
        ),
        (
            "DIPWATCH__STORAGE__URL".into(),
            dir.join("data").display().to_string(),
        ),
        (
            "DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS".into(),
            allowed.join(","),
        ),
        ("DIPWATCH__LOG__LEVEL".into(), "warn".into()),
        ("DIPWATCH__HTTP__LISTEN".into(), "127.0.0.1:0".into()),
        ("DIPWATCH__WEB__LISTEN".into(), "127.0.0.1:0".into()),
    ]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Resident and peak resident memory of `pid`, MiB, from `/proc`.
fn rss_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn main() {
    if std::env::var_os(CHILD).is_some() {
        child();
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // and expects a quick run.
    let quick = !std::env::args().any(|a| a == "--bench");
    let symbols = if quick {
        40
    } else {
        env_num("DIPWATCH_BENCH_SYMBOLS", 1000) as usize
    };
    let samples = if quick {
        5
    } else {
        env_num("DIPWATCH_BENCH_SAMPLES", 200) as usize
    };
    let days = if quick {
        20
    } else {
        env_num("DIPWATCH_BENCH_DAYS", 365)
    };
    let burst = if quick { 10 } else { BURST_CHATS.count() };

    let dir = tempfile::tempdir().expect("tempdir");
    let tickers: String = (0..symbols).map(|i| format!("B{i:04}\n")).collect();
    std::fs::write(dir.path().join("universe.txt"), tickers).expect("universe");
    let env: HashMap<String, String> = daemon_env(dir.path()).into_iter().collect();
    let config = Arc::new(AppConfig::load_with_env(None, env).expect("config"));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    // The data: a year of sessions, published date by date.
    let t0 = Instant::now();
    let dates = rt.block_on(async {
        let connected =
            dipwatch::provider::connect(&config.market, &config.universe, &config.secrets)
                .expect("sim");
        let store = Store::open(&config.storage.url, &BTreeMap::new())
            .await
            .expect("store");
        let today = Utc::now()
            .with_timezone(&chrono_tz::America::New_York)
            .date_naive();
        let settings = dipwatch::app::collect_settings(&config);
        let collector = Collector {
            settings: &settings,
            market: connected.market.as_ref(),
            broker: connected.broker.as_deref(),
            store: &store,
        };
        let reports = collector
            .run(
                Dates::Range {
                    from: today - Days::new(days),
                    to: today - Days::new(1),
                },
                Utc::now(),
            )
            .await
            .expect("collect");
        reports.len()
    });
    println!(
        "data: {symbols} symbols, {dates} published dates ({days} calendar days), collected in {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    let fake = FakeTelegram::start();
    rt.block_on(async {
        // The daemon's own assembly.
        let mut app = App::build(AppConfig::clone(&config)).await.expect("app");
        app.load_state().await;
        let runner = app.runner().clone();
        let snap = runner.state().snapshot();
        let screen = snap.screen.as_ref().expect("screen");
        println!(
            "state: screen {} with {} ranked, {} symbols with history, {} positions",
            screen.date,
            screen.rows.len(),
            snap.history.len(),
            snap.portfolio.as_ref().map_or(0, |p| p.positions.len())
        );

        // 3. The pure reply builders alone.
        let params = Params::new(&config.screen, &config.portfolio);
        let now = Utc::now();
        let worst = format!("/symbol {}", screen.rows[0].symbol);
        for (name, cmd) in [
            ("/screen", "/screen"),
            ("/screen 50", "/screen 50"),
            ("/dashboard", "/dashboard"),
            ("/symbol (rank 1)", worst.as_str()),
        ] {
            let n = if quick { 10 } else { 2_000 };
            let t = Instant::now();
            let mut bytes = 0;
            for _ in 0..n {
                bytes += snapshot_reply(cmd, &snap, &params, now).map_or(0, |r| r.text.len());
            }
            println!(
                "format {name:<16} {:>8.1} µs per reply ({} bytes)",
                t.elapsed().as_secs_f64() * 1e6 / n as f64,
                bytes / n
            );
        }

        let shutdown = CancellationToken::new();
        let bot = tokio::spawn(dipwatch::bot::run_with(
            app.bot_context(),
            SecretString::from(TOKEN),
            Some(fake.url()),
            BotOptions::default(),
            shutdown.clone(),
        ));

        // 1. Latency, paced inside Telegram's limits.
        let chats: Vec<i64> = LATENCY_CHATS.collect();
        let pace = Duration::from_millis(350);
        for command in ["/screen", "/dashboard"] {
            let mut lat = Vec::new();
            let mut end_to_end = Vec::new();
            for i in 0..(samples + 5) {
                let chat = chats[i % chats.len()];
                let before = fake.sent_to(chat).len();
                let id = fake.push_text(chat, command);
                let sent = fake.replies(chat, before + 1, Duration::from_secs(30)).await;
                let reply = &sent[before];
                assert!(reply.refused.is_none(), "{:?}", reply.refused);
                assert_eq!(sent.len(), before + 1, "one message per reply");
                let released = fake.released_at(id).expect("released");
                let pushed = fake.pushed_at(id).expect("pushed");
                if i >= 5 {
                    lat.push(reply.at.duration_since(released));
                    end_to_end.push(reply.at.duration_since(pushed));
                }
                tokio::time::sleep(pace).await;
            }
            lat.sort();
            end_to_end.sort();
            println!(
                "latency {command:<11} n={:<4} p50 {}  p90 {}  p99 {}  max {}   (queued->reply p50 {} p99 {})",
                lat.len(),
                ms(percentile(&lat, 50.0)),
                ms(percentile(&lat, 90.0)),
                ms(percentile(&lat, 99.0)),
                ms(*lat.last().unwrap_or(&Duration::ZERO)),
                ms(percentile(&end_to_end, 50.0)),
                ms(percentile(&end_to_end, 99.0)),
            );
        }

        // 1b. Latency under load, across chats, under a 30/s global limit.
        fake.limit_sends_per_sec(30);
        let rate_samples = if quick { 10 } else { samples * 5 / 2 };
        for rate in [10u32, 25] {
            rate_latency(&fake, rate, rate_samples).await;
            tokio::time::sleep(Duration::from_millis(1_500)).await;
        }

        // 2. A burst of `burst` chats at once, under a 30/s global limit.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let limited_before = fake.rate_limited();
        let batch: Vec<(i64, String)> = BURST_CHATS
            .take(burst)
            .map(|c| (c, "/screen".to_string()))
            .collect();
        let ids = fake.push_many(&batch);
        let all = fake
            .wait_until(Duration::from_secs(60), |s| {
                batch
                    .iter()
                    .all(|(c, _)| s.iter().any(|x| x.chat_id == *c && x.refused.is_none()))
            })
            .await
            .expect("every chat answered");
        let released = ids
            .iter()
            .filter_map(|id| fake.released_at(*id))
            .min()
            .expect("released");
        let replies: Vec<Instant> = all
            .iter()
            .filter(|x| BURST_CHATS.contains(&x.chat_id) && x.refused.is_none())
            .map(|x| x.at)
            .collect();
        let last = replies.iter().max().expect("replies");
        let in_first_second = replies
            .iter()
            .filter(|t| t.duration_since(released) < Duration::from_secs(1))
            .count();
        println!(
            "burst   {burst} chats at once: busiest second {} sends, last reply after {}, {} answered in the first second, {} x 429",
            busiest_second(&replies),
            ms(last.duration_since(released)),
            in_first_second,
            fake.rate_limited() - limited_before
        );
        shutdown.cancel();
        let _ = bot.await;
    });
    drop(fake);

    // 4. Idle RSS.
    rss_of_child(dir.path(), quick);
    rss_of_daemon(dir.path(), quick);
}

/// The most of `times` inside any one-second window.
fn busiest_second(times: &[Instant]) -> usize {
    let mut t = times.to_vec();
    t.sort();
    (0..t.len())
        .map(|i| {
            t[i..]
                .iter()
                .take_while(|u| u.duration_since(t[i]) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// `n` `/screen` requests at `rate` a second, over the chats of
/// `RATE_CHATS` in turn, pushed on a clock (open loop); then the
/// update-to-send latency of each reply, the busiest second and 429s.
async fn rate_latency(fake: &FakeTelegram, rate: u32, n: usize) {
    let chats: Vec<i64> = RATE_CHATS.collect();
    let limited_before = fake.rate_limited();
    let before: HashMap<i64, usize> = chats.iter().map(|c| (*c, fake.sent_to(*c).len())).collect();
    let period = Duration::from_secs(1) / rate;
    let start = tokio::time::Instant::now();
    let mut pushed: Vec<(i64, usize, i64)> = Vec::with_capacity(n);
    let mut asked: HashMap<i64, usize> = HashMap::new();
    for i in 0..n {
        tokio::time::sleep_until(start + period * i as u32).await;
        let chat = chats[i % chats.len()];
        let k = asked.entry(chat).or_insert(0);
        let id = fake.push_text(chat, "/screen");
        pushed.push((chat, before[&chat] + *k, id));
        *k += 1;
    }
    fake.wait_until(Duration::from_secs(60), |s| {
        asked
            .iter()
            .all(|(c, k)| s.iter().filter(|x| x.chat_id == *c).count() >= before[c] + k)
    })
    .await
    .expect("every request answered");
    let mut lat = Vec::with_capacity(n);
    let mut sends = Vec::with_capacity(n);
    for (chat, k, id) in &pushed {
        let reply = &fake.sent_to(*chat)[*k];
        assert!(reply.refused.is_none(), "{:?}", reply.refused);
        let released = fake.released_at(*id).expect("released");
        lat.push(reply.at.duration_since(released));
        sends.push(reply.at);
    }
    lat.sort();
    println!(
        "rate    {rate}/s over {} chats n={:<4} p50 {}  p90 {}  p99 {}  max {}   busiest second {} sends, {} x 429",
        chats.len(),
        lat.len(),
        ms(percentile(&lat, 50.0)),
        ms(percentile(&lat, 90.0)),
        ms(percentile(&lat, 99.0)),
        ms(*lat.last().unwrap_or(&Duration::ZERO)),
        busiest_second(&sends),
        fake.rate_limited() - limited_before
    );
}

/// How a measured process is asked to stop.
#[derive(Clone, Copy)]
enum Stop {
    /// Close its stdin (the bench child).
    Stdin,
    /// SIGTERM (`dipwatch run`).
    Term,
}

/// Start `cmd` against a fresh fake, make it answer a few commands, let it
/// idle, read its memory, stop it.
fn measure(label: &str, mut cmd: Command, stop: Stop, quick: bool) {
    let fake = FakeTelegram::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    cmd.env("TELOXIDE_TOKEN", TOKEN)
        .env("TELOXIDE_API_URL", fake.url().as_str())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn");
    let pid = child.id();
    rt.block_on(async {
        for (i, text) in ["/help", "/dashboard", "/screen 50", "/stats"]
            .iter()
            .enumerate()
        {
            fake.push_text(PROBE_CHAT, text);
            fake.replies(PROBE_CHAT, i + 1, Duration::from_secs(60))
                .await;
        }
        tokio::time::sleep(Duration::from_secs(if quick { 1 } else { 5 })).await;
    });
    match rss_mib(pid) {
        Some((rss, hwm)) => {
            println!("rss     {label}: {rss:.1} MiB resident when idle (peak {hwm:.1} MiB)")
        }
        None => println!("rss     {label}: /proc not available"),
    }
    match stop {
        Stop::Stdin => drop(child.stdin.take()),
        // SAFETY: kill(2) on our own child's pid; no memory is touched.
        Stop::Term => unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        },
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn rss_of_child(dir: &Path, quick: bool) {
    let mut cmd = Command::new(std::env::current_exe().expect("exe"));
    cmd.env(CHILD, "1").envs(daemon_env(dir));
    measure(
        "bot + state (this bench's child process)",
        cmd,
        Stop::Stdin,
        quick,
    );
}

/// The real daemon (`dipwatch run`, which starts the bot through `App`).
fn rss_of_daemon(dir: &Path, quick: bool) {
    // Next to this bench (`target/release/deps/..`), wherever
    // `CARGO_TARGET_DIR` put it.
    let bin = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("dipwatch")))
        .unwrap_or_else(|| Path::new("target/release/dipwatch").to_path_buf());
    if !bin.exists() {
        println!("rss     dipwatch run: not measured (build it first: cargo build --release)");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let mut cmd = Command::new(bin);
    cmd.arg("run")
        .current_dir(dir)
        .envs(daemon_env(dir))
        .env("DIPWATCH__HTTP__LISTEN", format!("127.0.0.1:{port}"));
    measure("dipwatch run (release)", cmd, Stop::Term, quick);
}

/// The child: what `dipwatch run` does for the bot, then wait for stdin
/// to close.
fn child() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let config = AppConfig::load(None).expect("config");
        dipwatch::telemetry::init(&config.log);
        let mut app = App::build(config).await.expect("app");
        app.load_state().await;
        let config = app.config().clone();
        let token = config
            .secrets
            .telegram_token
            .as_ref()
            .expect("TELOXIDE_TOKEN")
            .value
            .clone();
        let api_url = dipwatch::bot::api_url_from_env().expect("TELOXIDE_API_URL");
        let shutdown = CancellationToken::new();
        let bot = tokio::spawn(dipwatch::bot::run(
            app.bot_context(),
            token,
            api_url,
            shutdown.clone(),
        ));
        tokio::task::spawn_blocking(|| {
            let stdin = std::io::stdin();
            for _ in stdin.lock().lines() {}
        })
        .await
        .ok();
        shutdown.cancel();
        let _ = bot.await;
    });
}
