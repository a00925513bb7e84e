//! `dipwatch run`, the daemon: the real binary with a fast cron, its HTTP
//! endpoints, catch-up, shutdown in the middle of a run, and single-flight.

use crate::support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use dipwatch::domain::LastOutcome;
use futures::StreamExt;
use support::fake_alpaca::{FakeAlpaca, FakeAlpacaOptions};
use support::{ChildGuard, Workspace, free_port, ok};

use support::http_get as get;

struct Daemon {
    child: ChildGuard,
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
        let child = ChildGuard::spawn(&mut cmd).expect("spawn dipwatch run");
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

    /// Wait for `/readyz` to answer 503 with a body `until` accepts; the body.
    fn wait_unready(&self, until: impl Fn(&str) -> bool) -> String {
        let readyz = || get(self.port, "/readyz");
        support::wait_for(
            Duration::from_secs(60),
            || format!("{:?}", readyz()),
            || readyz().and_then(|(status, body)| (status == 503 && until(&body)).then_some(body)),
        )
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
    /// checked for every secret the daemon was given. The seconds are for
    /// messages only: whether the daemon kept its stop budget is its own
    /// log's word ([`stopped_within_budget`]), not the test's clock, which a
    /// loaded machine stretches.
    fn terminate(self) -> (bool, f64, String) {
        let t = Instant::now();
        self.child.terminate();
        let out = self.child.wait_with_output().unwrap();
        let logs = String::from_utf8_lossy(&out.stderr).into_owned();
        support::assert_no_secrets(&self.env, &logs);
        (out.status.success(), t.elapsed().as_secs_f64(), logs)
    }

    /// [`Daemon::terminate`], asserting a clean exit within the stop
    /// budget by the daemon's own word; its logs.
    fn stop_cleanly(self) -> String {
        let (success, secs, logs) = self.terminate();
        assert!(success, "{logs}");
        assert!(
            stopped_within_budget(&logs),
            "exit took {secs:.1} s: {logs}"
        );
        logs
    }
}

/// Whether the daemon says it stopped within its stop budget (10 s after
/// the signal, by its own clock): the "stopped" line, and no "did not stop
/// in time" before it.
fn stopped_within_budget(logs: &str) -> bool {
    logs.contains("\"stopped\"") && !logs.contains("did not stop in time")
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
        let lake = dipwatch::store::Lake::new(store);
        let listing = lake.listing(None, None).await.unwrap();
        assert!(listing.junk.is_empty());
        for ds in dipwatch::store::Dataset::ALL {
            let parts: Vec<_> = lake.parts(ds, listing.dates.clone()).collect().await;
            for part in parts {
                if let dipwatch::store::PartRead::Damaged(s) = part {
                    panic!("{} {ds:?}: {}", s.date, s.reason);
                }
            }
        }
    });
}

fn demo() -> String {
    support::repo("config/demo.toml").display().to_string()
}

/// A fake Alpaca serving the first `n` tickers of the universe, and a
/// workspace of those `n` pointed at it.
fn fake_alpaca_workspace(n: usize) -> (FakeAlpaca, Workspace) {
    let tickers = dipwatch::domain::parse_universe(&support::universe_head(n)).unwrap();
    let fake = FakeAlpaca::start(FakeAlpacaOptions::new().universe(tickers));
    let mut ws = Workspace::new(n);
    ws.use_fake_alpaca(&fake);
    (fake, ws)
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
    support::assert_has_all(
        &metrics,
        &[
            "dipwatch_runs_total{outcome=\"published\"}",
            "dipwatch_run_duration_seconds_bucket",
            "dipwatch_symbols{state=\"ok\"}",
            "dipwatch_last_success_timestamp_seconds",
            "dipwatch_worst_drawdown_pct",
            "dipwatch_names_below_minus_20pct",
            "dipwatch_portfolio_equity",
            "dipwatch_top_positions_avg_return_pct",
            "dipwatch_alpaca_refused_symbols 0",
        ],
    );
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

    let logs = d.stop_cleanly();
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
    // No run, yet every family has its series from the start, so alert
    // rules on them see zeros instead of nothing after a restart.
    support::assert_has_all(
        &metrics,
        &[
            "dipwatch_runs_total{outcome=\"published\"} 0",
            "dipwatch_runs_total{outcome=\"failed\"} 0",
            "dipwatch_run_duration_seconds_count{outcome=\"published\"} 0",
            "dipwatch_alpaca_requests_total{status=\"200\"} 0",
        ],
    );
    // The symbols of the stored run, not zeros.
    assert!(
        support::metric(&metrics, "dipwatch_symbols{state=\"ok\"}").is_some_and(|n| n > 0.0),
        "{metrics}"
    );
    let (success, _, logs) = d.terminate();
    assert!(success);
    assert!(
        logs.contains("store is up to date; no catch-up needed"),
        "{logs}"
    );
}

/// journald's restart closes the pipe the daemon logs to: the log write
/// errors that follow must not keep SIGTERM from stopping it.
#[test]
fn sigterm_stops_the_daemon_after_its_stderr_is_closed() {
    let mut ws = Workspace::new(10);
    ws.set_env("DIPWATCH__LOG__LEVEL", "debug");
    let demo = demo();
    let mut d = Daemon::start(&ws, Some(&demo));
    d.wait_ready(Duration::from_secs(60));
    // Close our end of its stderr: every later log line fails with EPIPE.
    drop(d.child.stderr.take());
    d.child.terminate();
    // Its budget is 10 s by its own clock (its log, unreadable here, is
    // checked in the other tests); this bound only ends a hang, far beyond
    // what a loaded machine adds.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = d.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 60 s after SIGTERM; /healthz: {:?}",
            get(d.port, "/healthz")
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn shutdown_in_the_middle_of_a_run_publishes_nothing_and_the_next_start_completes_it() {
    let n = 20;
    let tickers = dipwatch::domain::parse_universe(&support::universe_head(n)).unwrap();
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
    // the run's own first request. (Bounds like this one only end a hang.)
    let deadline = Instant::now() + Duration::from_secs(60);
    while fake.requests().len() < 2 {
        assert!(Instant::now() < deadline, "no request reached the fake");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    let logs = d.stop_cleanly();
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
    use dipwatch::collect::Dates;
    use dipwatch::domain::RunSource;
    use dipwatch::runner::Trigger;

    let dir = tempfile::tempdir().unwrap();
    let universe = dir.path().join("u.txt");
    std::fs::write(&universe, support::universe_head(50)).unwrap();
    let env = [
        ("DIPWATCH__MARKET__PROVIDER", "sim".to_string()),
        ("DIPWATCH__MARKET__UNIVERSE", universe.display().to_string()),
        (
            "DIPWATCH__STORAGE__URL",
            dir.path().join("data").display().to_string(),
        ),
        ("DIPWATCH__HTTP__LISTEN", "127.0.0.1:0".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let config = dipwatch::config::AppConfig::load_with_env(None, env).unwrap();
    // The daemon's own assembly, not a copy of it.
    let app = dipwatch::app::App::build(config).await.unwrap();
    let runner = app.runner().clone();

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

/// The value of the first sample line starting with `series` (0 when the
/// series is absent).
fn sample(metrics: &str, series: &str) -> f64 {
    support::metric(metrics, series).unwrap_or(0.0)
}

/// A run that fails (Alpaca answers 503) shows in `/readyz` (503, with the
/// reason) and in `/metrics` (the failed outcome, the 503s, the retries);
/// a day whose bars are not published yet is retried on the retry interval
/// until they are; and after a restart the last-success gauge is the stored
/// screen's, not zero.
#[test]
fn failed_and_not_yet_available_runs_are_reported_and_retried() {
    let (fake, mut ws) = fake_alpaca_workspace(10);
    ws.set_env("DIPWATCH__MARKET__MAX_RETRIES", "1");
    ws.set_env("DIPWATCH__MARKET__RETRY_BASE_MS", "10");
    ws.set_env("DIPWATCH__SCHEDULE__RETRY_INTERVAL_SECS", "1");
    ws.set_env("DIPWATCH__SCHEDULE__RETRY_WINDOW_SECS", "120");
    let day = latest_closed_session();

    // 1. Every bars request fails: the catch-up run fails.
    fake.fail_times(
        "/v2/stocks/bars",
        10_000,
        support::fake_alpaca::Fault::status(503, "<html><title>503</title></html>"),
    );
    let d = Daemon::start(&ws, None);
    let body = d.wait_unready(|body| body.contains("last run failed"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ready"], false);
    assert_eq!(v["last_run"], "failed");
    assert!(
        v["problems"][0].as_str().unwrap().contains("HTTP 503"),
        "{v}"
    );
    // Every Alpaca breaker is listed by name; only the market data's is
    // failing (closed until its threshold, then open or probing).
    let breakers = v["breakers"].as_object().unwrap();
    let names: Vec<&str> = breakers.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "data.bars",
            "data.trades",
            "trading.account",
            "trading.assets",
            "trading.calendar",
            "trading.clock",
            "trading.orders",
            "trading.positions"
        ]
    );
    for (name, state) in breakers {
        if name != "data.bars" {
            assert_eq!(state, "closed", "{name}: {v}");
        }
    }
    let (_, metrics) = get(d.port, "/metrics").unwrap();
    for name in names {
        assert!(
            metrics.contains(&format!(
                "dipwatch_alpaca_circuit_breaker_state{{breaker=\"{name}\"}}"
            )),
            "{name}: {metrics}"
        );
    }
    // Failed runs are retried within the window: one or more by now.
    assert!(
        sample(&metrics, "dipwatch_runs_total{outcome=\"failed\"}") >= 1.0,
        "{metrics}"
    );
    assert!(
        sample(&metrics, "dipwatch_alpaca_requests_total{status=\"503\"}") >= 2.0,
        "the failed run's requests are counted: {metrics}"
    );
    assert!(
        sample(&metrics, "dipwatch_alpaca_retries_total") >= 1.0,
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, "dipwatch_last_success_timestamp_seconds"),
        0.0
    );
    let (success, _, _) = d.terminate();
    assert!(success);
    assert!(!ws.path("data/runs").exists(), "nothing published");

    // 2. The source answers but has not published the day yet: the run
    // ends "not available" and is retried every second.
    fake.clear_faults();
    fake.missing_day(day.parse().unwrap());
    let mut d = Daemon::start(&ws, None);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, metrics) = get(d.port, "/metrics").unwrap_or_default();
        if sample(&metrics, "dipwatch_runs_total{outcome=\"not_available\"}") >= 2.0 {
            break;
        }
        assert!(Instant::now() < deadline, "no retry: {metrics}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !ws.path("data/runs").exists(),
        "yesterday is not screened as today"
    );
    // The day's bars arrive: the next retry publishes it.
    fake.clear_quirks();
    d.wait_screen(&day, Duration::from_secs(30));
    let (_, metrics) = get(d.port, "/metrics").unwrap();
    assert_eq!(
        sample(&metrics, "dipwatch_runs_total{outcome=\"published\"}"),
        1.0
    );
    let published_at = sample(&metrics, "dipwatch_last_success_timestamp_seconds");
    assert!(published_at > 1.7e9, "{metrics}");
    let (success, _, logs) = d.terminate();
    assert!(success);
    assert!(
        logs.contains("data not yet available; will retry"),
        "{logs}"
    );

    // 3. A restart: no run, and the last success is the stored screen's.
    let mut d = Daemon::start(&ws, None);
    d.wait_ready(Duration::from_secs(30));
    let (_, metrics) = get(d.port, "/metrics").unwrap();
    let runs: f64 = LastOutcome::LABELS
        .iter()
        .map(|o| sample(&metrics, &format!("dipwatch_runs_total{{outcome=\"{o}\"}}")))
        .sum();
    assert_eq!(runs, 0.0, "no run after the restart: {metrics}");
    let after_restart = sample(&metrics, "dipwatch_last_success_timestamp_seconds");
    assert!(
        (after_restart - published_at).abs() < 5.0,
        "{after_restart} vs {published_at}"
    );
    let (success, _, _) = d.terminate();
    assert!(success);
    assert_store_consistent(&ws);
}

/// `screen --format csv --top 0` of `date` as (symbol, drawdown_pct).
fn screen_of(ws: &Workspace, date: &str) -> Vec<(String, f64)> {
    let csv = ok(&ws.demo(&["screen", "--date", date, "--format", "csv", "--top", "0"]));
    csv.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].to_string(), f[5].parse().unwrap())
        })
        .collect()
}

/// Alerts in the daemon: a rule from `alerts.defaults` is given to the
/// allowed chat, takes the stored screen as its baseline, fires on the
/// catch-up run's screen, arrives once; a restart neither sends it again
/// nor gives the default twice.
#[test]
fn default_alerts_fire_on_catch_up_once_and_not_again_after_a_restart() {
    use support::fake_telegram::{FakeTelegram, TOKEN};
    const CHAT: i64 = 424_242;
    let n = 60;
    let day = latest_closed_session();
    let today = Utc::now().date_naive();
    let sessions: Vec<String> =
        dipwatch::market::calendar::sessions(today - chrono::Duration::days(14), today)
            .iter()
            .map(|s| s.date.to_string())
            .filter(|d| *d <= day)
            .collect();
    let base = sessions[sessions.len() - 3].clone();

    // The two screens, from a scratch workspace (the sim is deterministic).
    let scratch = Workspace::new(n);
    ok(&scratch.demo(&["collect", "--date", &base]));
    ok(&scratch.demo(&["collect", "--date", &day]));
    let before = screen_of(&scratch, &base);
    let after: std::collections::HashMap<String, f64> =
        screen_of(&scratch, &day).into_iter().collect();
    // A symbol that moves across a level between the two: the rule crosses.
    let (sym, level) = before
        .iter()
        .find_map(|(s, was)| {
            let now = *after.get(s)?;
            let mid = ((was + now) / 2.0 * 100.0).round() / 100.0;
            let crosses = (*was > mid && now <= mid) || (*was <= mid && now > mid);
            (crosses && mid < 0.0 && mid > -100.0 && (was - now).abs() > 0.2)
                .then(|| (s.clone(), mid))
        })
        .expect("some symbol moves across a level");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(async { FakeTelegram::start() });
    let mut ws = Workspace::new(n);
    ok(&ws.demo(&["collect", "--date", &base]));
    ws.set_env("TELOXIDE_TOKEN", TOKEN);
    ws.set_env("TELOXIDE_API_URL", fake.url().as_str());
    ws.set_env("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", &CHAT.to_string());
    ws.set_env(
        "DIPWATCH__ALERTS__DEFAULTS",
        &format!("{sym} below {level}"),
    );
    let demo = demo();
    let alerts_to_chat = || {
        fake.sent_to(CHAT)
            .into_iter()
            .filter(|s| s.text.contains("<b>Alerts, "))
            .collect::<Vec<_>>()
    };

    let mut d = Daemon::start(&ws, Some(&demo));
    d.wait_screen(&day, Duration::from_secs(60));
    let deadline = Instant::now() + Duration::from_secs(30);
    while alerts_to_chat().is_empty() {
        assert!(Instant::now() < deadline, "no alert: {:?}", fake.sent());
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let sent = alerts_to_chat();
    assert_eq!(sent.len(), 1, "one message: {sent:?}");
    assert!(
        sent[0].text.contains(&format!("<b>Alerts, {day}</b>")) && sent[0].text.contains(&sym),
        "{}",
        sent[0].text
    );
    let (success, _, logs) = d.terminate();
    assert!(success, "{logs}");
    assert!(
        logs.contains("default alerts given to allowed chats"),
        "{logs}"
    );

    // Restart: the bot polls again, nothing is re-sent, the default is
    // not given a second time.
    let polls = fake.count("getUpdates");
    let mut d = Daemon::start(&ws, Some(&demo));
    d.wait_ready(Duration::from_secs(30));
    let deadline = Instant::now() + Duration::from_secs(30);
    while fake.count("getUpdates") < polls + 2 {
        assert!(Instant::now() < deadline, "the restarted bot does not poll");
        std::thread::sleep(Duration::from_millis(50));
    }
    let before_ask = fake.sent_to(CHAT).len();
    fake.push_text(CHAT, "/alerts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while fake.sent_to(CHAT).len() <= before_ask {
        assert!(Instant::now() < deadline, "no answer to /alerts");
        std::thread::sleep(Duration::from_millis(50));
    }
    let listed = fake.sent_to(CHAT)[before_ask].text.clone();
    assert_eq!(listed.matches(" below ").count(), 1, "{listed}");
    assert!(listed.contains(&format!("#1 {sym} below")), "{listed}");
    assert_eq!(
        alerts_to_chat().len(),
        1,
        "nothing sent again after the restart"
    );
    let (success, _, logs) = d.terminate();
    assert!(success, "{logs}");
    assert!(!logs.contains("default alerts given"), "{logs}");
}

/// A real-market daemon started on a store a demo filled (simulated
/// prices), holding a future-dated partition too, with the network down at
/// start: it warns about the simulated dates at start and in `/readyz`,
/// ignores the 2099 partition (so it sees it is behind and catches up),
/// and retries the failed catch-up with backoff instead of waiting for the
/// next cron time.
#[test]
fn a_real_daemon_on_a_demo_store_warns_ignores_the_future_and_retries_a_failed_catch_up() {
    let n = 10;
    let tickers = dipwatch::domain::parse_universe(&support::universe_head(n)).unwrap();
    let fake = FakeAlpaca::start(FakeAlpacaOptions::new().universe(tickers));
    let mut ws = Workspace::new(n);
    let latest: chrono::NaiveDate = latest_closed_session().parse().unwrap();
    let previous = dipwatch::market::calendar::trading_days(latest - chrono::Days::new(10), latest)
        .into_iter()
        .rev()
        .nth(1)
        .unwrap()
        .to_string();
    ok(&ws.demo(&["collect", "--date", &previous]));
    // A valid manifest for 2099-01-02 (its objects are the previous day's).
    let mut m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(ws.path(&format!("data/runs/date={previous}/run.json"))).unwrap(),
    )
    .unwrap();
    m["date"] = "2099-01-02".into();
    let future = ws.path("data/runs/date=2099-01-02");
    std::fs::create_dir_all(&future).unwrap();
    std::fs::write(future.join("run.json"), serde_json::to_vec(&m).unwrap()).unwrap();

    ws.use_fake_alpaca(&fake);
    ws.set_env("DIPWATCH__MARKET__MAX_RETRIES", "1");
    ws.set_env("DIPWATCH__MARKET__RETRY_BASE_MS", "10");
    ws.set_env("DIPWATCH__SCHEDULE__RETRY_INTERVAL_SECS", "1");
    ws.set_env("DIPWATCH__SCHEDULE__RETRY_WINDOW_SECS", "120");
    // The network is down at start: every attempt of the first catch-up fails.
    fake.fail_times(
        "/v2/stocks/bars",
        2,
        support::fake_alpaca::Fault::status(503, "{\"message\":\"down\"}"),
    );
    let mut d = Daemon::start(&ws, None);
    let v = d.wait_screen(&latest.to_string(), Duration::from_secs(60));
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("SIMULATED prices") && warnings.contains(&previous),
        "{v}"
    );
    assert!(warnings.contains("runs/date=2099-01-02"), "{v}");
    assert_eq!(
        v["simulated"], false,
        "the screen shown is the real one: {v}"
    );
    let (_, metrics) = get(d.port, "/metrics").unwrap();
    assert!(
        sample(&metrics, "dipwatch_runs_total{outcome=\"failed\"}") >= 1.0,
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, "dipwatch_runs_total{outcome=\"published\"}"),
        1.0,
        "{metrics}"
    );
    let (success, _, logs) = d.terminate();
    assert!(success);
    assert!(logs.contains("run failed; will retry"), "{logs}");
    assert!(logs.contains("SIMULATED PRICES"), "{logs}");
}

/// A server echoing the request headers in its 403 cannot put the keys in
/// `/readyz` (no auth), `/metrics` or the daemon's logs: the client scrubbed
/// them before anything else saw the error.
#[test]
fn keys_echoed_by_a_server_never_reach_readyz_or_the_logs() {
    let (fake, ws) = fake_alpaca_workspace(5);
    let (key_id, secret) = (fake.key_id(), fake.secret_key());
    fake.fail_times(
        "/v2/calendar",
        10_000,
        support::fake_alpaca::Fault::api_error(
            403,
            40_310_000,
            &format!("forbidden; you sent APCA-API-KEY-ID={key_id} APCA-API-SECRET-KEY={secret}"),
        ),
    );
    let d = Daemon::start(&ws, None);
    let body = d.wait_unready(|body| body.contains("last run failed"));
    assert!(
        body.contains("HTTP 403") && body.contains("[redacted]"),
        "{body}"
    );
    let (_, metrics) = get(d.port, "/metrics").unwrap();
    let (success, _, logs) = d.terminate();
    assert!(success);
    for text in [&body, &metrics, &logs] {
        assert!(!text.contains(&key_id) && !text.contains(&secret), "{text}");
    }
}

/// A corrupt `alerts/book.json` turns alerts off, and `/readyz` says so
/// (503, the reason in `problems`) instead of reporting nothing.
#[test]
fn a_corrupt_alert_book_is_reported_by_readyz() {
    use support::fake_telegram::{FakeTelegram, TOKEN};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(async { FakeTelegram::start() });
    let mut ws = Workspace::new(20);
    std::fs::create_dir_all(ws.path("data/alerts")).unwrap();
    std::fs::write(ws.path("data/alerts/book.json"), "{ not json").unwrap();
    ws.set_env("TELOXIDE_TOKEN", TOKEN);
    ws.set_env("TELOXIDE_API_URL", fake.url().as_str());
    ws.set_env("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", "4242");
    let demo = demo();
    let d = Daemon::start(&ws, Some(&demo));
    let body = d.wait_unready(|body| {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        let about_alerts = v["problems"].as_array().unwrap().iter().any(|p| {
            p.as_str()
                .unwrap()
                .starts_with("alerts: alerts/book.json is unreadable")
        });
        about_alerts && v["state_loaded"] == true
    });
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["ready"], false);
    let (success, _, logs) = d.terminate();
    assert!(success, "{logs}");
    assert_eq!(
        std::fs::read_to_string(ws.path("data/alerts/book.json")).unwrap(),
        "{ not json"
    );
}

/// What `chats` were sent: their answers and the count of "Skipped N"
/// notes, against the updates of theirs the Bot API holds as confirmed.
/// Every confirmed update must have been answered or counted as skipped
/// (an unconfirmed one comes again at the next start, so it is not lost).
fn assert_no_confirmed_update_lost(
    fake: &support::fake_telegram::FakeTelegram,
    pushed: &[(i64, i64)],
) {
    let mut chats: Vec<i64> = pushed.iter().map(|(c, _)| *c).collect();
    chats.sort_unstable();
    chats.dedup();
    for chat in chats {
        let confirmed = pushed
            .iter()
            .filter(|(c, id)| *c == chat && fake.is_confirmed(*id))
            .count();
        let sent = fake.sent_to(chat);
        let skipped: usize = sent
            .iter()
            .filter_map(|s| s.text.strip_prefix("Skipped "))
            .filter_map(|t| t.split(' ').next()?.parse::<usize>().ok())
            .sum();
        let answered = sent
            .iter()
            .filter(|s| !s.text.starts_with("Skipped ") && s.refused.is_none())
            .count();
        assert!(
            confirmed <= answered + skipped,
            "chat {chat}: {confirmed} updates confirmed to the Bot API, \
             {answered} answered, {skipped} said skipped"
        );
    }
}

/// A stop never loses a command the Bot API was told was handled: 30
/// commands from one chat and a few from others, SIGTERM after 5 s (under
/// teloxide 22 were confirmed and never answered); then a burst stopped
/// after 0.3 s, which the stop budget answers in full. Exit is 0 within
/// 10 s both times.
#[test]
fn a_stop_confirms_only_the_commands_it_answered() {
    use support::fake_telegram::{FakeTelegram, TOKEN};
    let chats: Vec<i64> = (5001..5007).collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(async { FakeTelegram::start() });
    let mut ws = Workspace::new(60);
    ok(&ws.demo(&["collect"]));
    ws.set_env("TELOXIDE_TOKEN", TOKEN);
    ws.set_env("TELOXIDE_API_URL", fake.url().as_str());
    let ids: Vec<String> = chats.iter().map(i64::to_string).collect();
    ws.set_env("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", &ids.join(","));
    let demo = demo();
    let polling = |fake: &FakeTelegram, polls: usize| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while fake.count("getUpdates") <= polls {
            assert!(Instant::now() < deadline, "the bot does not poll");
            std::thread::sleep(Duration::from_millis(50));
        }
    };

    // 1. 30 commands from one chat, 3 from each of three others.
    let mut d = Daemon::start(&ws, Some(&demo));
    d.wait_ready(Duration::from_secs(60));
    polling(&fake, 0);
    let mut batch: Vec<(i64, String)> = (0..30).map(|_| (chats[0], "/screen".into())).collect();
    for c in &chats[1..4] {
        batch.extend((0..3).map(|_| (*c, "/help".to_string())));
    }
    let ids = fake.push_many(&batch);
    let pushed: Vec<(i64, i64)> = batch.iter().map(|(c, _)| *c).zip(ids).collect();
    std::thread::sleep(Duration::from_secs(5));
    d.stop_cleanly();
    assert_no_confirmed_update_lost(&fake, &pushed);

    // 2. A burst the stop budget can answer: stopped 0.3 s after it
    // arrives, every command is still answered and confirmed.
    let polls = fake.count("getUpdates");
    let mut d = Daemon::start(&ws, Some(&demo));
    d.wait_ready(Duration::from_secs(60));
    polling(&fake, polls);
    let before: Vec<usize> = chats.iter().map(|c| fake.sent_to(*c).len()).collect();
    let batch: Vec<(i64, String)> = chats
        .iter()
        .flat_map(|c| (0..4).map(move |_| (*c, "/help".to_string())))
        .collect();
    let ids = fake.push_many(&batch);
    let pushed: Vec<(i64, i64)> = batch.iter().map(|(c, _)| *c).zip(ids).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while fake.released_at(pushed.last().unwrap().1).is_none() {
        assert!(Instant::now() < deadline, "the burst is not fetched");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    d.stop_cleanly();
    assert_no_confirmed_update_lost(&fake, &pushed);
    for (chat, n) in chats.iter().zip(before) {
        assert_eq!(
            fake.sent_to(*chat).len() - n,
            4,
            "chat {chat}: all four answered"
        );
    }
    assert_eq!(fake.unconfirmed(), 0, "all answered, all confirmed");
}

/// GET `path` on loopback `port` with an optional cookie: (status, the
/// `Set-Cookie` value if any, body).
fn get_with_cookie(port: u16, path: &str, cookie: Option<&str>) -> (u16, Option<String>, String) {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{cookie}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a response");
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let set_cookie = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|v| v.split(';').next())
        .map(str::to_string);
    (status, set_cookie, body.to_string())
}

/// The allow-lists reload on SIGHUP without a restart: a chat taken off
/// them in the configuration file is refused by the bot and loses its
/// dashboard session at its next request; a chat left on keeps both; a
/// file that no longer loads changes nothing.
#[test]
fn sighup_reloads_the_allow_lists_and_a_removed_chat_loses_bot_and_dashboard() {
    use support::fake_telegram::{FakeTelegram, TOKEN};
    const KEEP: i64 = 515_151;
    const GONE: i64 = 626_262;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(async { FakeTelegram::start() });
    let mut ws = Workspace::new(20);
    ws.set_env("TELOXIDE_TOKEN", TOKEN);
    ws.set_env("TELOXIDE_API_URL", fake.url().as_str());
    let web_port = free_port();
    ws.set_env("DIPWATCH__WEB__LISTEN", &format!("127.0.0.1:{web_port}"));
    let demo_text = std::fs::read_to_string(demo()).unwrap();
    let file = ws.path("dipwatch.toml");
    let write_lists = |text: &str| {
        std::fs::write(&file, format!("{demo_text}\n[telegram]\n{text}\n")).unwrap();
    };
    write_lists(&format!("allowed_chat_ids = [{KEEP}, {GONE}]"));
    let mut d = Daemon::start(&ws, Some(file.to_str().unwrap()));
    d.wait_ready(Duration::from_secs(60));

    // Ask the bot and wait for one more message to that chat.
    let ask = |chat: i64, text: &str| {
        let before = fake.sent_to(chat).len();
        fake.push_text(chat, text);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let sent = fake.sent_to(chat);
            if sent.len() > before {
                return sent[before].clone();
            }
            assert!(Instant::now() < deadline, "no answer to {text} for {chat}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // Each chat signs in to the dashboard with the bot's one-time link.
    let sign_in = |chat: i64| -> String {
        let reply = ask(chat, "/web");
        let markup = reply.reply_markup.expect("a sign-in button");
        let url = markup["inline_keyboard"][0][0]["url"]
            .as_str()
            .unwrap()
            .to_string();
        let path = &url[url.find("/login").expect("a login link")..];
        let (status, cookie, _) = get_with_cookie(web_port, path, None);
        assert_eq!(status, 303, "the link signs in");
        let cookie = cookie.expect("a session cookie");
        assert_eq!(get_with_cookie(web_port, "/", Some(&cookie)).0, 200);
        cookie
    };
    let keep_cookie = sign_in(KEEP);
    let gone_cookie = sign_in(GONE);
    assert!(!ask(GONE, "/screen").text.contains("allowed_chat_ids"));

    // A file that does not load: nothing changes.
    write_lists("allowed_chat_ids = \"not a list\"");
    d.child.signal_hangup();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(get_with_cookie(web_port, "/", Some(&gone_cookie)).0, 200);

    // GONE is taken off the list: refused at once, no restart.
    write_lists(&format!("allowed_chat_ids = [{KEEP}]"));
    d.child.signal_hangup();
    let deadline = Instant::now() + Duration::from_secs(10);
    while get_with_cookie(web_port, "/", Some(&gone_cookie)).0 == 200 {
        assert!(
            Instant::now() < deadline,
            "the removed chat's session still works"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(get_with_cookie(web_port, "/", Some(&gone_cookie)).0, 401);
    assert_eq!(get_with_cookie(web_port, "/", Some(&keep_cookie)).0, 200);
    let refusal = ask(GONE, "/screen");
    assert!(
        refusal.text.contains(&GONE.to_string()) && refusal.text.contains("allowed_chat_ids"),
        "refused, with its chat id: {}",
        refusal.text
    );
    let kept = ask(KEEP, "/screen");
    assert!(!kept.text.contains("allowed_chat_ids"), "{}", kept.text);

    let (success, _, logs) = d.terminate();
    assert!(success, "{logs}");
    assert!(
        logs.contains("SIGHUP: the configuration does not load"),
        "{logs}"
    );
    assert!(logs.contains("SIGHUP: allow-lists reloaded"), "{logs}");

    // The journal has both reloads (by the daemon) and both sign-ins.
    let journal = rt.block_on(async {
        let url = dipwatch::store::StorageUrl::Local(ws.path("data"));
        let store = dipwatch::store::Store::open(&url, &Default::default()).await;
        let today = dipwatch::market::calendar::exchange_date(Utc::now());
        dipwatch::journal::Journal::new(store.unwrap())
            .day(today)
            .await
    });
    use dipwatch::journal::EventKind;
    let events = journal.unwrap();
    let of = |kind: EventKind| -> Vec<_> { events.iter().filter(|e| e.event == kind).collect() };
    let reloads = of(EventKind::AccessReload);
    assert_eq!(reloads.len(), 2, "{events:?}");
    assert!(reloads.iter().all(|e| e.source == "daemon"));
    assert_eq!(reloads[0].status.as_deref(), Some("refused"));
    assert_eq!(reloads[1].status.as_deref(), Some("ok"));
    assert!(
        reloads[1].reason.as_deref().unwrap().contains(" readers, "),
        "{:?}",
        reloads[1].reason
    );
    let sign_ins: Vec<_> = of(EventKind::SignIn)
        .iter()
        .map(|e| e.source.clone())
        .collect();
    assert_eq!(sign_ins, [format!("web:{KEEP}"), format!("web:{GONE}")]);
}
