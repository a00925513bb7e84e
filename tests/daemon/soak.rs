//! Soak: the real daemon (simulated market, a cron every 2 s, the bot on a
//! loopback fake Bot API) under a `/trigger` every second, for
//! `DIPWATCH_SOAK_SECS` seconds (a short 5 s pass in the suite, which
//! keeps the default suite fast; `scripts/soak` runs 600).
//! Resident memory, open file descriptors and live tokio tasks must stay
//! flat, every trigger must be answered and end in a published run, and
//! nothing the daemon serves may carry the bot token or a chat id.

use crate::support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use support::fake_telegram::{FakeTelegram, TOKEN};
use support::{ChildGuard, Workspace, free_port, http_get};

const ADMIN: i64 = 777_001;
const READER: i64 = 777_002;

/// A gauge's value from the classic text format.
fn gauge(metrics: &str, name: &str) -> f64 {
    support::metric(metrics, name).unwrap_or_else(|| panic!("{name} missing:\n{metrics}"))
}

fn published_runs(metrics: &str) -> f64 {
    support::metric(metrics, "dipwatch_runs_total{outcome=\"published\"}").unwrap_or(0.0)
}

/// The daemon's resident memory, open files, live tasks and published
/// runs, read from a `/metrics` page.
fn vitals(metrics: &str) -> (f64, f64, f64, f64) {
    (
        gauge(metrics, "process_resident_memory_bytes"),
        gauge(metrics, "process_open_fds"),
        gauge(metrics, "dipwatch_tokio_alive_tasks"),
        published_runs(metrics),
    )
}

#[test]
fn the_daemon_stays_flat_and_answers_throughout() {
    let secs: u64 = std::env::var("DIPWATCH_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(async { FakeTelegram::start() });
    let mut ws = Workspace::new(100);
    ws.set_env("DIPWATCH__SCHEDULE__COLLECT", "*/2 * * * * *");
    ws.set_env("TELOXIDE_TOKEN", TOKEN);
    ws.set_env("TELOXIDE_API_URL", fake.url().as_str());
    ws.set_env("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", &READER.to_string());
    ws.set_env("DIPWATCH__TELEGRAM__ADMIN_CHAT_IDS", &ADMIN.to_string());
    // A /trigger every second is the load here: no cooldown.
    ws.set_env("DIPWATCH__TELEGRAM__TRIGGER_COOLDOWN_SECS", "0");
    let port = free_port();
    let demo = support::repo("config/demo.toml").display().to_string();
    let mut cmd = ws.command(&["run", "--config", &demo]);
    // Logs to a file: a pipe nobody reads would stall a chatty daemon.
    let log = ws.path("daemon.log");
    cmd.env("DIPWATCH__HTTP__LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    let mut child = ChildGuard::spawn(&mut cmd).unwrap();

    // Ready with a screen (the catch-up run), the bot answering.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !http_get(port, "/readyz")
        .is_some_and(|(s, b)| s == 200 && b.contains("\"latest_screen\":\""))
    {
        assert!(
            child.try_wait().unwrap().is_none(),
            "daemon exited: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        assert!(
            Instant::now() < deadline,
            "not ready: {:?}",
            http_get(port, "/readyz")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Wait until `chat` has `n` messages more than `before`.
    let wait_for = |chat: i64, before: usize, n: usize, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while fake.sent_to(chat).len() < before + n {
            assert!(
                Instant::now() < deadline,
                "no reply to {what:?} in chat {chat}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        fake.sent_to(chat)[before..].to_vec()
    };
    let ask = |chat: i64, text: &str| {
        let before = fake.sent_to(chat).len();
        fake.push_text(chat, text);
        wait_for(chat, before, 1, text)
    };
    // A /trigger: "started" then the run's summary (true), or "already
    // running" while the cron's run holds the slot (false).
    let trigger = || {
        let before = fake.sent_to(ADMIN).len();
        fake.push_text(ADMIN, "/trigger");
        let first = wait_for(ADMIN, before, 1, "/trigger");
        if first[0].text.contains("already") {
            return false;
        }
        wait_for(ADMIN, before, 2, "/trigger summary");
        true
    };
    assert!(ask(READER, "/stats")[0].text.contains("Data"));
    // Warm up (first runs, caches, connection pools), then the baseline.
    for _ in 0..2 {
        trigger();
    }
    let (_, start) = http_get(port, "/metrics").unwrap();
    let (rss0, fds0, tasks0, runs0) = vitals(&start);

    let t0 = Instant::now();
    let mut triggers = 0;
    while t0.elapsed() < Duration::from_secs(secs) {
        if trigger() {
            triggers += 1;
        }
        assert_eq!(ask(READER, "/dashboard").len(), 1);
        std::thread::sleep(Duration::from_millis(1000));
    }

    let (_, end) = http_get(port, "/metrics").unwrap();
    let (rss1, fds1, tasks1, runs1) = vitals(&end);
    println!(
        "soak {secs} s: {triggers} triggered runs, {} published; RSS {:.1} -> {:.1} MiB; fds {fds0} -> {fds1}; tasks {tasks0} -> {tasks1}",
        runs1 - runs0,
        rss0 / 1048576.0,
        rss1 / 1048576.0
    );
    assert!(triggers + (runs1 - runs0) as usize >= 3, "runs happened");
    assert!(
        runs1 - runs0 >= triggers as f64,
        "every triggered run published"
    );
    assert!(
        rss1 < rss0 * 1.5 + 8.0 * 1048576.0,
        "memory grows: {rss0} -> {rss1}"
    );
    assert!(
        fds1 <= fds0 + 4.0,
        "file descriptors leak: {fds0} -> {fds1}"
    );
    assert!(tasks1 <= tasks0 + 4.0, "tasks leak: {tasks0} -> {tasks1}");
    assert_eq!(
        gauge(&end, "dipwatch_runs_total{outcome=\"failed\"}"),
        0.0,
        "a run failed during the soak:\n{end}"
    );

    // Nothing served carries the token or a chat id.
    let (_, ready) = http_get(port, "/readyz").unwrap();
    for served in [&end, &ready] {
        assert!(!served.contains(TOKEN) && !served.contains("AAFakeToken"));
        assert!(!served.contains(&ADMIN.to_string()) && !served.contains(&READER.to_string()));
    }
    child.terminate();
    assert!(child.wait().unwrap().success());
    support::assert_no_secrets(&ws.env, &std::fs::read_to_string(&log).unwrap());
}
