//! `dipwatch run`, the daemon: the real binary with a fast cron, its HTTP
//! endpoints, catch-up, shutdown in the middle of a run, and single-flight.

mod common;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::fake_alpaca::{FakeAlpaca, FakeAlpacaOptions};
use common::{Workspace, free_port, ok};

use common::http_get as get;

struct Daemon {
    child: Child,
    port: u16,
    env: Vec<(String, String)>,
}

impl Daemon {
    fn start(ws: &Workspace, config: Option<&str>) -> Self {
        let port = free_port();
        let mut args = vec!["run"];
        if let Some(c) = config {
            args.extend(["--config", c]);
        }
        let mut cmd = ws.command(&args);
        cmd.env("DIPWATCH__HTTP__LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().expect("spawn dipwatch run");
        Self {
            child,
            port,
            env: ws.env.clone(),
        }
    }

    /// Wait for `/readyz` to answer 200 with a published screen (ready
    /// comes first: the daemon serves while its catch-up runs); its body.
    fn wait_ready(&mut self, within: Duration) -> serde_json::Value {
        let deadline = Instant::now() + within;
        loop {
            if let Some((200, body)) = get(self.port, "/readyz") {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                if v["latest_screen"].is_string() && v["last_run"] != "interrupted" {
                    return v;
                }
            }
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "daemon exited early"
            );
            assert!(
                Instant::now() < deadline,
                "not ready within {within:?}: {:?}",
                get(self.port, "/readyz")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until `/readyz` reports `date` as the latest screen.
    fn wait_screen(&mut self, date: &str, within: Duration) -> serde_json::Value {
        let deadline = Instant::now() + within;
        loop {
            let v = self.wait_ready(within);
            if v["latest_screen"] == date {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "screen still {} after {within:?}",
                v["latest_screen"]
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, wait; (exit success, seconds to exit, stderr). The logs are
    /// checked for every secret the daemon was given.
    fn terminate(self) -> (bool, f64, String) {
        let t = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let out = self.child.wait_with_output().unwrap();
        let logs = String::from_utf8_lossy(&out.stderr).into_owned();
        common::assert_no_secrets(&self.env, &logs);
        (out.status.success(), t.elapsed().as_secs_f64(), logs)
    }
}

/// The session a catch-up must reach: the latest closed one, per the NYSE
/// calendar and the clock.
fn latest_closed_session() -> String {
    let today = Utc::now().date_naive();
    let sessions = dipwatch::market::calendar::sessions(today - chrono::Duration::days(14), today);
    dipwatch::market::latest_closed(&sessions, Utc::now())
        .unwrap()
        .to_string()
}

/// Every published date's manifest and objects verify.
fn assert_store_consistent(ws: &Workspace) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let url = dipwatch::store::StorageUrl::Local(ws.path("data"));
        let store = dipwatch::store::Store::open(&url, &Default::default())
            .await
            .unwrap();
        let listing = store.published_dates().await.unwrap();
        assert!(listing.junk.is_empty());
        for d in listing.dates {
            let m = store.manifest(d).await.unwrap().expect("manifest");
            for ds in dipwatch::store::Dataset::ALL {
                store
                    .read_verified(&m, ds)
                    .await
                    .unwrap_or_else(|e| panic!("{d} {ds:?}: {e}"));
            }
        }
    });
}

fn demo() -> String {
    common::repo("config/demo.toml").display().to_string()
}

#[test]
fn the_daemon_catches_up_serves_health_and_valid_metrics_and_stops_cleanly() {
    let mut ws = Workspace::new(30);
    ws.set_env("DIPWATCH__SCHEDULE__COLLECT", "*/2 * * * * *");
    let demo = demo();
    let mut d = Daemon::start(&ws, Some(&demo));
    let ready = d.wait_screen(&latest_closed_session(), Duration::from_secs(60));
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["storage_reachable"], true);
    assert_eq!(ready["latest_screen"], latest_closed_session().as_str());
    assert_eq!(get(d.port, "/healthz").unwrap(), (200, "ok\n".to_string()));
    assert_eq!(get(d.port, "/nope").unwrap().0, 404);

    let (status, metrics) = get(d.port, "/metrics").unwrap();
    assert_eq!(status, 200);
    for family in [
        "dipwatch_runs_total{outcome=\"published\"}",
        "dipwatch_run_duration_seconds_bucket",
        "dipwatch_symbols{state=\"ok\"}",
        "dipwatch_last_success_timestamp_seconds",
        "dipwatch_worst_drawdown_pct",
        "dipwatch_names_below_minus_20pct",
        "dipwatch_portfolio_equity",
        "dipwatch_top_positions_avg_return_pct",
        "dipwatch_alpaca_circuit_breaker_state",
    ] {
        assert!(metrics.contains(family), "{family} missing:\n{metrics}");
    }
    // promtool (Debian package `prometheus`, installed by .ci/run) lints it.
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool not found: apt-get install prometheus (.ci/run does)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let checked = promtool.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    let (success, secs, logs) = d.terminate();
    assert!(success, "{logs}");
    assert!(secs < 10.0, "exit took {secs}s");
    assert!(
        logs.contains("SIGTERM") && logs.contains("\"stopped\""),
        "{logs}"
    );
    assert_store_consistent(&ws);
    assert!(ok(&ws.demo(&["screen"])).starts_with("Drawdown screen for "));
}

#[test]
fn catch_up_after_an_outage_and_not_again_when_up_to_date() {
    let ws = Workspace::new(20);
    // The store stopped on 2026-11-10 (the daemon was down since).
    ok(&ws.demo(&["collect", "--date", "2026-11-10"]));
    let demo = demo();
    let mut d = Daemon::start(&ws, Some(&demo));
    d.wait_screen(&latest_closed_session(), Duration::from_secs(60));
    let (_, metrics) = get(d.port, "/metrics").unwrap();
    assert!(
        metrics.contains("dipwatch_runs_total{outcome=\"published\"} 1"),
        "{metrics}"
    );
    let (success, _, logs) = d.terminate();
    assert!(success);
    assert!(logs.contains("store is behind: catching up now"), "{logs}");
    // Every session of the gap was filled, not just the latest.
    let runs: Vec<String> = std::fs::read_dir(ws.path("data/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let today = Utc::now().date_naive();
    let expected = dipwatch::market::calendar::sessions("2026-11-10".parse().unwrap(), today)
        .iter()
        .filter(|s| s.date.to_string() <= latest_closed_session())
        .count();
    assert_eq!(runs.len(), expected, "{runs:?}");

    // Up to date now: a restart does not collect again.
    let mut d = Daemon::start(&ws, Some(&demo));
    d.wait_ready(Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(300));
    let (_, metrics) = get(d.port, "/metrics").unwrap();
    assert!(
        !metrics.contains("dipwatch_runs_total"),
        "no run: {metrics}"
    );
    let (success, _, logs) = d.terminate();
    assert!(success);
    assert!(
        logs.contains("store is up to date; no catch-up needed"),
        "{logs}"
    );
}

#[test]
fn shutdown_in_the_middle_of_a_run_publishes_nothing_and_the_next_start_completes_it() {
    let n = 20;
    let tickers = dipwatch::domain::parse_universe(&common::universe_head(n)).unwrap();
    // Every response takes 4 s: the catch-up run is still fetching when
    // SIGTERM arrives, and longer than the daemon's grace period.
    let fake = FakeAlpaca::start(
        FakeAlpacaOptions::new()
            .universe(tickers)
            .latency(Duration::from_secs(4)),
    );
    let mut ws = Workspace::new(n);
    ws.use_fake_alpaca(&fake);
    let d = Daemon::start(&ws, None);
    // Wait until the run is in flight: the catch-up's calendar check, then
    // the run's own first request.
    let deadline = Instant::now() + Duration::from_secs(20);
    while fake.requests().len() < 2 {
        assert!(Instant::now() < deadline, "no request reached the fake");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    let (success, secs, logs) = d.terminate();
    assert!(success, "{logs}");
    assert!(secs < 10.0, "exit took {secs}s");
    assert!(logs.contains("run interrupted by shutdown"), "{logs}");
    assert!(!ws.path("data/runs").exists(), "nothing partial published");

    // Next start, the source answers promptly: catch-up completes the day.
    fake.set_latency(Duration::ZERO);
    let mut d = Daemon::start(&ws, None);
    d.wait_screen(&latest_closed_session(), Duration::from_secs(60));
    let (success, _, _) = d.terminate();
    assert!(success);
    assert_store_consistent(&ws);
}

/// Single-flight, in process: concurrent triggers start exactly one run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_triggers_start_exactly_one_run() {
    use std::sync::Arc;

    use dipwatch::collect::Dates;
    use dipwatch::runner::{Runner, RunnerParts, Trigger};
    use dipwatch::state::{AppState, LastOutcome, RunSource, Snapshot};

    let dir = tempfile::tempdir().unwrap();
    let universe = dir.path().join("u.txt");
    std::fs::write(&universe, common::universe_head(50)).unwrap();
    let env = [
        ("DIPWATCH__MARKET__PROVIDER".to_string(), "sim".to_string()),
        (
            "DIPWATCH__MARKET__UNIVERSE".to_string(),
            universe.display().to_string(),
        ),
    ]
    .into_iter()
    .collect();
    let config = Arc::new(dipwatch::config::AppConfig::load_with_env(None, env).unwrap());
    let connected = dipwatch::market::connect(&config).unwrap();
    let url = dipwatch::store::StorageUrl::Local(dir.path().join("data"));
    let store = dipwatch::store::Store::open(&url, &Default::default())
        .await
        .unwrap();
    let runner = Runner::new(RunnerParts {
        config,
        market: connected.market,
        broker: connected.broker,
        store,
        state: AppState::new(Snapshot::default()),
        metrics: Arc::new(dipwatch::metrics::Metrics::new()),
    });

    let attempts: Vec<_> = (0..16)
        .map(|i| {
            let r = runner.clone();
            let source = if i % 2 == 0 {
                RunSource::Manual
            } else {
                RunSource::Schedule
            };
            tokio::spawn(async move { r.trigger(source, Dates::Latest) })
        })
        .collect();
    let mut started = Vec::new();
    let mut refused = 0;
    for a in attempts {
        match a.await.unwrap() {
            Trigger::Started(rx) => started.push(rx),
            Trigger::AlreadyRunning(_) => refused += 1,
        }
    }
    assert_eq!(started.len(), 1, "exactly one run");
    assert_eq!(refused, 15);
    assert!(runner.running().is_some());
    let last = started.pop().unwrap().await.unwrap();
    assert!(
        matches!(last.outcome, LastOutcome::Published { .. }),
        "{:?}",
        last.outcome
    );
    assert!(runner.running().is_none(), "released after the run");
    let snap = runner.state().snapshot();
    assert!(
        snap.screen.is_some(),
        "the run's result is published to the state"
    );
    assert_eq!(snap.last_run.as_ref().map(|r| r.source), Some(last.source));
    // And the next trigger starts again.
    assert!(matches!(
        runner.trigger(RunSource::Manual, Dates::Latest),
        Trigger::Started(_)
    ));
}
