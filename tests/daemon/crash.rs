//! Crash consistency: the real binary, against the fake Alpaca with latency,
//! SIGKILLed at seeded random points and restarted each time.
//!
//! After every kill the store is audited the way a reader sees it: every
//! object parses, every published date (one with `runs/date=D/run.json`)
//! has its bars and drawdowns and every object its manifest lists matches
//! the manifest's size and SHA-256, and a CSV without a manifest (a date not
//! yet published) is allowed but must still be whole. A fresh run from the
//! killed store's exact state must complete and end byte-identical to an
//! uninterrupted run. The figure (kills survived / tried) is printed.

use crate::support;

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use dipwatch::domain::Symbol;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use support::fake_alpaca::{FakeAlpaca, FakeAlpacaOptions};
use support::store_audit::{audit_dir, differences, files_under, split_partition};
use support::{ChildGuard, Workspace, d, free_port, ok};

/// Seed of the `collect` kill points.
const COLLECT_SEED: u64 = 0x00d1_9c0a_11ec_7001;
/// Seed of the daemon kill points.
const DAEMON_SEED: u64 = 0x00d1_9da3_0e00_0002;
/// Kills that must land on a running `collect`.
const COLLECT_KILLS: usize = 30;
/// Kills of the daemon.
const DAEMON_KILLS: usize = 12;
/// The backfill `collect` runs: enough sessions that a run spends a good
/// share of its time publishing (4 puts per date), so kills land between
/// the objects and the manifest of a date, not only during the fetch.
const FROM: &str = "2026-09-14";
const TO: &str = "2026-11-20";
/// Universe size and per-response latency of the fake.
const SYMBOLS: usize = 30;
const LATENCY: Duration = Duration::from_millis(20);

// ---------------------------------------------------------------------------
// Processes.

/// The kills of one test so far and what each broke.
#[derive(Default)]
struct Kills {
    tried: usize,
    survived: usize,
    /// Kills that landed after the process had written to the store.
    while_writing: usize,
    failures: Vec<String>,
}

impl Kills {
    /// The latest kill, after `delay`, survived when it `broke` nothing.
    fn judge(&mut self, delay: Duration, broke: Vec<String>) {
        if broke.is_empty() {
            self.survived += 1;
        } else {
            let tried = self.tried;
            self.failures
                .push(format!("kill {tried} after {delay:?}: {broke:#?}"));
        }
    }

    /// Every kill survived, and some landed while `who` was writing (else
    /// the test proves little).
    fn assert_all_survived(&self, who: &str) {
        assert!(self.failures.is_empty(), "{:#?}", self.failures);
        assert_eq!(self.survived, self.tried);
        assert!(
            self.while_writing > 0,
            "no kill landed while the {who} was writing: the test proves little"
        );
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn tickers(n: usize) -> Vec<Symbol> {
    dipwatch::domain::parse_universe(&support::universe_head(n)).unwrap()
}

/// A workspace on the fake Alpaca.
fn alpaca_workspace(fake: &FakeAlpaca) -> Workspace {
    let mut ws = Workspace::new(SYMBOLS);
    for (k, v) in [
        ("DIPWATCH__MARKET__PROVIDER", "alpaca".to_string()),
        ("DIPWATCH__MARKET__DATA_URL", fake.url()),
        ("DIPWATCH__MARKET__TRADING_URL", fake.url()),
        ("DIPWATCH__MARKET__RETRY_BASE_MS", "10".to_string()),
        ("DIPWATCH__TELEGRAM__ENABLED", "false".to_string()),
    ] {
        ws.set_env(k, &v);
    }
    for (k, v) in fake.credentials_env() {
        ws.set_env(k, &v);
    }
    ws
}

/// `dipwatch ARGS` in the workspace with only its environment, stderr
/// appended to `log` (a file: a pipe nobody reads could stall a long-lived
/// child; appended, so every killed run's logs are checked for secrets).
fn command(ws: &Workspace, args: &[&str], log: &Path) -> Command {
    let mut cmd = ws.command(args);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(file);
    cmd
}

/// SIGKILL `child` and reap it.
fn sigkill(child: &mut ChildGuard) -> ExitStatus {
    // The child is not reaped yet, so its pid cannot have been reused.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
    assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    child.wait().unwrap()
}

fn killed(status: ExitStatus) -> bool {
    status.signal() == Some(libc::SIGKILL)
}

/// Files `name#N` left by a write that was killed before its rename.
fn staging_files(dir: &Path) -> usize {
    files_under(dir)
        .keys()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.rsplit_once('#'))
                .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .count()
}

fn sessions(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    dipwatch::market::calendar::sessions(from, to)
        .iter()
        .map(|s| s.date)
        .collect()
}

/// The Alpaca fake over the test's universe, each answer [`LATENCY`] late
/// so that kills land inside requests.
fn slow_fake() -> FakeAlpaca {
    FakeAlpaca::start(
        FakeAlpacaOptions::new()
            .universe(tickers(SYMBOLS))
            .latency(LATENCY),
    )
}

// ---------------------------------------------------------------------------
// `dipwatch collect`.

#[test]
fn collect_killed_at_random_points_never_publishes_a_partial_date_and_recovers() {
    let fake = slow_fake();
    let rt = runtime();
    let args = ["collect", "--from", FROM, "--to", TO];
    let expected: BTreeSet<NaiveDate> = sessions(d(FROM), d(TO)).into_iter().collect();

    // The uninterrupted run: the reference store, and how long a run takes
    // (the faster of two, the first being a cold start).
    let reference_ws = alpaca_workspace(&fake);
    let t = Instant::now();
    ok(&reference_ws.run(&args));
    let mut duration = t.elapsed();
    let reference = audit_dir(&rt, &reference_ws.path("data"));
    assert!(
        reference.violations.is_empty(),
        "{:?}",
        reference.violations
    );
    assert!(reference.unpublished.is_empty());
    assert_eq!(reference.published(), expected);
    let recovery_ws = alpaca_workspace(&fake);
    let t = Instant::now();
    ok(&recovery_ws.run(&args));
    duration = duration.min(t.elapsed());
    let again = audit_dir(&rt, &recovery_ws.path("data"));
    let diff = differences(&again, &reference);
    assert!(diff.is_empty(), "two uninterrupted runs differ: {diff:#?}");

    let ws = alpaca_workspace(&fake);
    let data = ws.path("data");
    let log = ws.path("collect.log");
    let mut rng = Pcg64::seed_from_u64(COLLECT_SEED);
    let horizon = duration.mul_f64(1.2);
    let mut kills = Kills::default();
    let mut finished_first = 0;
    let started = Instant::now();
    while kills.tried < COLLECT_KILLS {
        assert!(
            kills.tried + finished_first < COLLECT_KILLS * 4,
            "too many runs finished before their kill"
        );
        let delay = horizon.mul_f64(rng.random::<f64>());
        let before = files_under(&data);
        let mut child = ChildGuard::spawn(&mut command(&ws, &args, &log)).unwrap();
        std::thread::sleep(delay);
        let status = sigkill(&mut child);
        let mut broken = Vec::new();
        let after = audit_dir(&rt, &data);
        broken.extend(after.violations.iter().cloned());
        if !after.published().is_subset(&expected) {
            broken.push(format!("published {:?}", after.published()));
        }
        if !killed(status) {
            // It finished first: then it succeeded and its store is whole.
            assert!(
                status.success(),
                "run exited {status:?}:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            finished_first += 1;
            broken.extend(differences(&after, &reference));
            assert!(broken.is_empty(), "a completed run: {broken:#?}");
            continue;
        }
        kills.tried += 1;
        // A kill before the run wrote anything leaves a state already
        // checked (the previous kill's, or the empty store the reference
        // run started from); otherwise the next run, from exactly this
        // state, must complete every date and end with the uninterrupted
        // run's store.
        if files_under(&data) != before {
            kills.while_writing += 1;
            let recovered = recovery_ws.path("data");
            let _ = std::fs::remove_dir_all(&recovered);
            support::copy_tree(&data, &recovered);
            let out = recovery_ws.run(&args);
            if out.status.success() {
                let complete = audit_dir(&rt, &recovered);
                broken.extend(complete.violations.iter().cloned());
                broken.extend(differences(&complete, &reference));
            } else {
                broken.push(format!(
                    "the next run failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        kills.judge(delay, broken);
    }

    // Restarted after the last kill, the same store completes too.
    ok(&ws.run(&args));
    let complete = audit_dir(&rt, &data);
    assert!(complete.violations.is_empty(), "{:?}", complete.violations);
    let diff = differences(&complete, &reference);
    assert!(diff.is_empty(), "{diff:#?}");

    println!(
        "crash consistency (collect --from {FROM} --to {TO}, {SYMBOLS} symbols, {LATENCY:?} latency): \
         {}/{} kills survived (seed {COLLECT_SEED:#x}; kill points in 0..{horizon:?}, \
         an uninterrupted run takes {duration:?}; {} kills landed after the run had \
         written to the store, {finished_first} runs finished before their kill; {} staging \
         files left; {:.1} s)",
        kills.survived,
        kills.tried,
        kills.while_writing,
        staging_files(&data),
        started.elapsed().as_secs_f64()
    );
    kills.assert_all_survived("run");
    support::assert_no_secrets(&ws.env, &std::fs::read_to_string(&log).unwrap());
}

// ---------------------------------------------------------------------------
// `dipwatch run`.

/// `dipwatch run` with a cron firing every second, on a fresh port.
fn start_daemon(ws: &Workspace, log: &Path) -> (ChildGuard, u16) {
    let port = free_port();
    let child = ChildGuard::spawn(
        command(ws, &["run"], log)
            .env("DIPWATCH__SCHEDULE__COLLECT", "*/1 * * * * *")
            .env("DIPWATCH__HTTP__LISTEN", format!("127.0.0.1:{port}")),
    )
    .unwrap();
    (child, port)
}

/// Wait until `/readyz` reports `date` as the latest screen.
fn wait_screen(child: &mut ChildGuard, port: u16, date: NaiveDate, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((200, body)) = support::http_get(port, "/readyz") {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            if v["latest_screen"] == date.to_string().as_str() {
                return;
            }
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "daemon exited early:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        assert!(
            Instant::now() < deadline,
            "no screen of {date} within a minute:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM and wait: a clean stop.
fn terminate(mut child: ChildGuard, log: &Path) {
    child.terminate();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "{status:?}\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

#[test]
fn the_daemon_killed_at_random_points_never_publishes_a_partial_date_and_catches_up() {
    let fake = slow_fake();
    let rt = runtime();
    let today = Utc::now().date_naive();
    let recent = dipwatch::market::calendar::sessions(today - chrono::Duration::days(21), today);
    let closed = dipwatch::market::latest_closed(&recent, Utc::now()).unwrap();
    // The store stopped five sessions before the latest closed one.
    let closed_at = recent.iter().position(|s| s.date == closed).unwrap();
    let behind = recent[closed_at - 5].date;
    let expected: BTreeSet<NaiveDate> = sessions(behind, closed).into_iter().collect();
    let behind_arg = behind.to_string();
    let seed = ["collect", "--date", behind_arg.as_str()];

    // The uninterrupted daemon: catch-up from the same starting store.
    let reference_ws = alpaca_workspace(&fake);
    ok(&reference_ws.run(&seed));
    let log = reference_ws.path("daemon.log");
    let t = Instant::now();
    let (mut child, port) = start_daemon(&reference_ws, &log);
    wait_screen(&mut child, port, closed, &log);
    let catch_up = t.elapsed();
    terminate(child, &log);
    let reference = audit_dir(&rt, &reference_ws.path("data"));
    assert!(
        reference.violations.is_empty(),
        "{:?}",
        reference.violations
    );
    assert_eq!(reference.published(), expected);

    let ws = alpaca_workspace(&fake);
    ok(&ws.run(&seed));
    let data = ws.path("data");
    let seeded = audit_dir(&rt, &data);
    let log = ws.path("daemon.log");
    // Kill points cover start-up, the catch-up run and the cron's
    // re-runs of the latest session (one a second) after it.
    let horizon = (catch_up + Duration::from_millis(1500)).mul_f64(1.2);
    let mut rng = Pcg64::seed_from_u64(DAEMON_SEED);
    let mut kills = Kills::default();
    let started = Instant::now();
    while kills.tried < DAEMON_KILLS {
        let delay = horizon.mul_f64(rng.random::<f64>());
        let before = files_under(&data);
        let (mut child, _) = start_daemon(&ws, &log);
        std::thread::sleep(delay);
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the daemon exited on its own ({status:?}):\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(killed(sigkill(&mut child)));
        kills.tried += 1;
        if files_under(&data) != before {
            kills.while_writing += 1;
        }
        let after = audit_dir(&rt, &data);
        let mut broken = after.violations.clone();
        if !after.published().is_subset(&expected) || !after.published().contains(&behind) {
            broken.push(format!("published {:?}", after.published()));
        }
        // The date stored before the daemon ever ran is untouched.
        for (path, bytes) in &seeded.objects {
            if split_partition(path).is_some() && after.objects.get(path) != Some(bytes) {
                broken.push(format!("{path}: changed or lost"));
            }
        }
        kills.judge(delay, broken);
    }

    // Restarted once more and left alone, it catches up.
    let (mut child, port) = start_daemon(&ws, &log);
    wait_screen(&mut child, port, closed, &log);
    terminate(child, &log);
    let complete = audit_dir(&rt, &data);
    assert!(complete.violations.is_empty(), "{:?}", complete.violations);
    let diff = differences(&complete, &reference);
    assert!(diff.is_empty(), "{diff:#?}");

    println!(
        "crash consistency (dipwatch run, catch-up {behind}..{closed}, cron every second): \
         {}/{} kills survived (seed {DAEMON_SEED:#x}; kill points in 0..{horizon:?}, \
         catch-up takes {catch_up:?}; {} kills landed after the daemon had written \
         to the store; {:.1} s)",
        kills.survived,
        kills.tried,
        kills.while_writing,
        started.elapsed().as_secs_f64()
    );
    kills.assert_all_survived("daemon");
    support::assert_no_secrets(&ws.env, &std::fs::read_to_string(&log).unwrap());
}
