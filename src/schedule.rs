//! The collection schedule, in exchange time.
//!
//! tokio-cron-scheduler's time-zone jobs drift by an hour after a DST
//! change, do not catch up missed runs and do not prevent overlaps. So the
//! schedule computes every fire time itself with [`next_fire`] (a pure
//! function of the cron, the zone and "now", tested across both 2026
//! transitions), hands the scheduler a one-shot job at that instant, and
//! re-arms after each fire. Around it: days the exchange is closed are
//! skipped, a stale store is caught up at start, a day whose data is not
//! yet available is retried, and every run goes through the single-flight
//! [`Runner`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;
use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::sync::CancellationToken;

use crate::collect::Dates;
use crate::config::Schedule;
use crate::domain::{LastOutcome, LastRun, RunSource};
use crate::market::calendar::exchange_date;
use crate::market::session_calendar::is_session;
use crate::market::{MarketData, latest_closed};
use crate::runner::{Runner, Trigger};

/// The first instant strictly after `after` at which `cron`, read as wall
/// time in `tz`, fires. DST-correct: an 18:30 New York cron fires at 22:30
/// UTC in summer and 23:30 UTC in winter. `None` if it never fires again.
pub fn next_fire(after: DateTime<Utc>, cron: &Cron, tz: Tz) -> Option<DateTime<Utc>> {
    // From the whole second: the library keeps the sub-second part of its
    // start, and a fire time should be exactly on the second.
    let base = after.with_nanosecond(0)?;
    let next = cron
        .find_next_occurrence(&base.with_timezone(&tz), false)
        .ok()?
        .with_timezone(&Utc)
        .with_nanosecond(0)?;
    // Strictly after, whatever the library does at the boundary.
    if next > after {
        Some(next)
    } else {
        next_fire(base + chrono::Duration::seconds(1), cron, tz)
    }
}

/// Run the schedule until `shutdown`: catch up first, then fire on the cron.
pub async fn run(
    runner: Runner,
    market: Arc<dyn MarketData>,
    settings: Schedule,
    shutdown: CancellationToken,
) {
    catch_up(&runner, market.as_ref(), &settings, &shutdown).await;
    let scheduler = match JobScheduler::new().await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the scheduler; no scheduled runs");
            return;
        }
    };
    if let Err(e) = scheduler.start().await {
        tracing::error!(error = %e, "cannot start the scheduler; no scheduled runs");
        return;
    }
    loop {
        let now = Utc::now();
        let Some(next) = next_fire(now, &settings.cron, settings.tz) else {
            tracing::error!(
                cron = settings.cron.pattern.to_string(),
                "the cron never fires again; no scheduled runs"
            );
            runner.state().update(|s| crate::state::Snapshot {
                next_run: None,
                ..s.clone()
            });
            shutdown.cancelled().await;
            break;
        };
        runner.state().update(|s| crate::state::Snapshot {
            next_run: Some(next),
            ..s.clone()
        });
        tracing::info!(next = %next.with_timezone(&settings.tz), "next collection");
        if !wait_for(&scheduler, next, &shutdown).await {
            break;
        }
        if on_fire(&runner, market.as_ref(), next, &settings, &shutdown).await == Fired::Stopped {
            break;
        }
    }
    let mut scheduler = scheduler;
    if let Err(e) = scheduler.shutdown().await {
        tracing::warn!(error = %e, "scheduler shutdown");
    }
}

/// What a fire of the schedule did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    /// The exchange is closed that day (weekend, holiday): nothing ran.
    Closed,
    /// A collection ran (with its retries), or one already in progress
    /// covers it.
    Collected,
    /// Shutdown came first.
    Stopped,
}

/// The schedule fired at `at`: collect, unless the exchange is closed on
/// that day (per the provider's calendar; if the calendar cannot be had,
/// collect anyway: the run itself decides what is publishable).
pub async fn on_fire(
    runner: &Runner,
    market: &dyn MarketData,
    at: DateTime<Utc>,
    settings: &Schedule,
    shutdown: &CancellationToken,
) -> Fired {
    let day = exchange_date(at);
    let session = tokio::select! {
        r = is_session(market, day) => r,
        () = shutdown.cancelled() => return Fired::Stopped,
    };
    match session {
        Ok(false) => {
            tracing::info!(%day, "exchange closed (weekend or holiday): skipping the scheduled collection");
            return Fired::Closed;
        }
        Ok(true) => {}
        Err(e) => tracing::warn!(%day, error = %e, "calendar unavailable; collecting anyway"),
    }
    run_with_retries(
        runner,
        RunSource::Schedule,
        Dates::Latest,
        settings,
        shutdown,
    )
    .await;
    if shutdown.is_cancelled() {
        Fired::Stopped
    } else {
        Fired::Collected
    }
}

/// Wait until `at` through a one-shot job; false if shutdown came first.
async fn wait_for(
    scheduler: &JobScheduler,
    at: DateTime<Utc>,
    shutdown: &CancellationToken,
) -> bool {
    let delay = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let tx = Arc::new(Mutex::new(Some(tx)));
    let job = Job::new_one_shot_at_instant_async(
        std::time::Instant::now() + delay,
        move |_id, _sched| {
            let tx = tx.clone();
            Box::pin(async move {
                if let Some(tx) = tx.lock().ok().and_then(|mut t| t.take()) {
                    let _ = tx.send(());
                }
            })
        },
    );
    let added = match job {
        Ok(job) => scheduler.add(job).await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = added {
        // The scheduler is a convenience; a plain timer does the same job.
        tracing::warn!(error = %e, "scheduler refused the job; using a timer");
        return tokio::select! {
            () = tokio::time::sleep(delay) => true,
            () = shutdown.cancelled() => false,
        };
    }
    tokio::select! {
        r = rx => r.is_ok(),
        () = shutdown.cancelled() => false,
    }
}

/// At start: run once now if the store is behind the latest closed session.
pub async fn catch_up(
    runner: &Runner,
    market: &dyn MarketData,
    settings: &Schedule,
    shutdown: &CancellationToken,
) {
    let now = Utc::now();
    let today = exchange_date(now);
    let calendar = tokio::select! {
        r = market.sessions(today - chrono::Duration::days(14), today) => r,
        () = shutdown.cancelled() => return,
    };
    let closed = match calendar {
        Ok(sessions) => latest_closed(&sessions, now),
        Err(e) => {
            tracing::warn!(error = %e, "calendar unavailable at start; catching up anyway");
            None
        }
    };
    let published = runner.state().snapshot().screen.as_ref().map(|s| s.date);
    match (published, closed) {
        (Some(p), Some(c)) if p >= c => {
            tracing::info!(published = %p, "store is up to date; no catch-up needed");
        }
        (Some(p), Some(c)) if (c - p).num_days() <= MAX_BACKFILL_DAYS => {
            // Every missing session, in one fetch: history stays continuous.
            tracing::info!(published = %p, latest_closed = %c, "store is behind: catching up now");
            let dates = Dates::Range {
                from: p + chrono::Duration::days(1),
                to: c,
            };
            run_with_retries(runner, RunSource::CatchUp, dates, settings, shutdown).await;
        }
        _ => {
            let shown =
                |d: Option<chrono::NaiveDate>| d.map_or("none".to_string(), |d| d.to_string());
            tracing::info!(
                published = %shown(published),
                latest_closed = %shown(closed),
                "store is behind: catching up now"
            );
            run_with_retries(
                runner,
                RunSource::CatchUp,
                Dates::Latest,
                settings,
                shutdown,
            )
            .await;
        }
    }
}

/// Longest gap catch-up fills date by date; beyond it, only the latest
/// session is collected (`collect --from/--to` backfills by hand).
const MAX_BACKFILL_DAYS: i64 = 45;

/// A failed run's first retry waits this long (or `retry_interval`, if
/// shorter); each further one twice as long, up to `retry_interval`.
const FAILED_RETRY_BASE: Duration = Duration::from_secs(30);

/// How long to wait before retrying a run that ended `outcome`, after
/// `failures` failed runs in a row (this one included); `None` when it is
/// not retried (published, interrupted). Pure.
fn retry_delay(outcome: &LastOutcome, failures: u32, interval: Duration) -> Option<Duration> {
    match outcome {
        LastOutcome::NotAvailable { .. } => Some(interval),
        // The network down at start, the breaker open, a store that does
        // not answer: a failure is usually over in minutes, and waiting
        // for the next cron time would leave a day missing.
        LastOutcome::Failed { .. } => Some(
            FAILED_RETRY_BASE
                .saturating_mul(1 << failures.saturating_sub(1).min(16))
                .min(interval),
        ),
        LastOutcome::Published { .. } | LastOutcome::Interrupted => None,
    }
}

/// One collection, retried within the retry window while its data is not
/// yet available (every `retry_interval`) or it failed (with backoff).
async fn run_with_retries(
    runner: &Runner,
    source: RunSource,
    dates: Dates,
    settings: &Schedule,
    shutdown: &CancellationToken,
) {
    let started = tokio::time::Instant::now();
    let mut source = source;
    let mut failures = 0u32;
    loop {
        let Some(last) = run_once(runner, source, dates, shutdown).await else {
            return;
        };
        if matches!(last.outcome, LastOutcome::Failed { .. }) {
            failures += 1;
        }
        let Some(wait) = retry_delay(&last.outcome, failures, settings.retry_interval) else {
            return;
        };
        if started.elapsed() + wait > settings.retry_window {
            tracing::warn!(
                outcome = last.outcome.label(),
                "still not published at the end of the retry window; giving up until the next scheduled run"
            );
            return;
        }
        match &last.outcome {
            LastOutcome::Failed { reason } => tracing::warn!(
                retry_in_secs = wait.as_secs(),
                failures,
                %reason,
                "run failed; will retry"
            ),
            _ => tracing::info!(
                retry_in_secs = wait.as_secs(),
                "data not yet available; will retry"
            ),
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown.cancelled() => return,
        }
        source = RunSource::Retry;
    }
}

/// Trigger one run and wait for it; `None` on shutdown or if another run
/// was in progress (that run publishes the same day).
async fn run_once(
    runner: &Runner,
    source: RunSource,
    dates: Dates,
    shutdown: &CancellationToken,
) -> Option<LastRun> {
    match runner.trigger(source, dates) {
        Trigger::AlreadyRunning(other) => {
            tracing::info!(
                running = other.as_str(),
                "a run is already in progress; not starting another"
            );
            None
        }
        Trigger::Started(rx) => tokio::select! {
            r = rx => r.ok(),
            () = shutdown.cancelled() => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_cron;
    use chrono::NaiveDate;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn ny() -> Tz {
        chrono_tz::America::New_York
    }

    #[test]
    fn failed_runs_are_retried_with_backoff_capped_by_the_interval() {
        let interval = Duration::from_secs(900);
        let failed = LastOutcome::Failed {
            reason: "breaker open".into(),
        };
        let waits: Vec<u64> = (1..=7)
            .map(|n| retry_delay(&failed, n, interval).unwrap().as_secs())
            .collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 900, 900]);
        assert_eq!(
            retry_delay(&failed, 1, Duration::from_secs(1)),
            Some(Duration::from_secs(1))
        );
        let late = LastOutcome::NotAvailable {
            reason: "not yet".into(),
        };
        assert_eq!(retry_delay(&late, 0, interval), Some(interval));
        assert_eq!(retry_delay(&LastOutcome::Interrupted, 3, interval), None);
    }

    #[test]
    fn fires_at_the_local_time_on_both_sides_of_spring_forward() {
        let cron = parse_cron("0 30 18 * * *").unwrap();
        // Friday 2026-03-06, EST (UTC-5).
        let a = next_fire(at("2026-03-06T12:00:00Z"), &cron, ny()).unwrap();
        assert_eq!(a, at("2026-03-06T23:30:00Z"));
        // Saturday 03-07 still EST; Sunday 03-08 02:00 clocks jump to EDT.
        let b = next_fire(a, &cron, ny()).unwrap();
        assert_eq!(b, at("2026-03-07T23:30:00Z"));
        let c = next_fire(b, &cron, ny()).unwrap();
        assert_eq!(
            c,
            at("2026-03-08T22:30:00Z"),
            "18:30 EDT on the day of the change"
        );
        let d = next_fire(c, &cron, ny()).unwrap();
        assert_eq!(d, at("2026-03-09T22:30:00Z"));
        for t in [a, b, c, d] {
            assert_eq!(t.with_timezone(&ny()).format("%H:%M").to_string(), "18:30");
        }
    }

    #[test]
    fn fires_at_the_local_time_on_both_sides_of_fall_back() {
        let cron = parse_cron("0 30 18 * * MON-FRI").unwrap();
        // Friday 2026-10-30, EDT (UTC-4); Sunday 11-01 02:00 back to EST.
        let a = next_fire(at("2026-10-30T12:00:00Z"), &cron, ny()).unwrap();
        assert_eq!(a, at("2026-10-30T22:30:00Z"));
        let b = next_fire(a, &cron, ny()).unwrap();
        assert_eq!(
            b,
            at("2026-11-02T23:30:00Z"),
            "Monday after the change: 18:30 EST"
        );
        assert_eq!(
            b.with_timezone(&ny()).format("%a %H:%M").to_string(),
            "Mon 18:30"
        );
        // Every day, through the Sunday of the change itself.
        let daily = parse_cron("0 30 18 * * *").unwrap();
        let fires: Vec<DateTime<Utc>> =
            std::iter::successors(next_fire(at("2026-10-31T12:00:00Z"), &daily, ny()), |t| {
                next_fire(*t, &daily, ny())
            })
            .take(3)
            .collect();
        assert_eq!(
            fires,
            [
                at("2026-10-31T22:30:00Z"),
                at("2026-11-01T23:30:00Z"),
                at("2026-11-02T23:30:00Z")
            ],
            "18:30 EDT, then 18:30 EST from the day of the change"
        );
    }

    #[test]
    fn times_inside_the_transitions_fire_once_and_strictly_later() {
        // 02:30 does not exist on 2026-03-08 and 01:30 happens twice on 11-01.
        let cron = parse_cron("0 30 2 * * *").unwrap();
        let spring = next_fire(at("2026-03-08T05:00:00Z"), &cron, ny()).unwrap();
        // A job set inside the skipped hour runs once, when it ends (03:00
        // EDT), not never and not an hour late; the next day it is on time.
        assert_eq!(spring, at("2026-03-08T07:00:00Z"));
        assert_eq!(
            next_fire(spring, &cron, ny()).unwrap(),
            at("2026-03-09T06:30:00Z")
        );
        let cron = parse_cron("0 30 1 * * *").unwrap();
        let first = next_fire(at("2026-11-01T04:00:00Z"), &cron, ny()).unwrap();
        assert_eq!(
            first.with_timezone(&ny()).format("%m-%d %H:%M").to_string(),
            "11-01 01:30"
        );
        let second = next_fire(first, &cron, ny()).unwrap();
        assert_eq!(
            second
                .with_timezone(&ny())
                .format("%m-%d %H:%M")
                .to_string(),
            "11-02 01:30",
            "the repeated hour does not fire twice"
        );
    }

    #[test]
    fn other_zones_and_seconds_fields() {
        let cron = parse_cron("15 0 7 * * *").unwrap();
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // Europe changes on 2026-03-29.
        let t = next_fire(at("2026-03-28T12:00:00Z"), &cron, berlin).unwrap();
        assert_eq!(t, at("2026-03-29T05:00:15Z"), "07:00:15 CEST");
        let never = parse_cron("0 0 0 30 2 *").unwrap();
        assert_eq!(next_fire(at("2026-01-01T00:00:00Z"), &never, ny()), None);
    }

    #[test]
    fn fire_times_are_whole_seconds_strictly_after() {
        let cron = parse_cron("0 30 18 * * *").unwrap();
        let after = at("2026-11-25T13:16:09.836632394Z");
        let t = next_fire(after, &cron, ny()).unwrap();
        assert_eq!(t, at("2026-11-25T23:30:00Z"));
        let every = parse_cron("* * * * * *").unwrap();
        let t = next_fire(after, &every, ny()).unwrap();
        assert_eq!(t, at("2026-11-25T13:16:10Z"));
        let exact = at("2026-11-25T23:30:00Z");
        assert_eq!(
            next_fire(exact, &cron, ny()).unwrap(),
            at("2026-11-26T23:30:00Z")
        );
    }

    /// A market whose calendar is down, and whose bars are the sim's.
    fn no_calendar() -> crate::market::scripted::Scripted {
        let mut market = crate::market::scripted::Scripted::new(vec![]);
        market.calendar_down = true;
        market
    }

    /// A runner over the sim market (20 symbols) and a temp store.
    async fn sim_runner(dir: &std::path::Path) -> (Runner, Arc<crate::market::sim::SimMarket>) {
        let universe = dir.join("u.txt");
        std::fs::write(&universe, "AAPL\nMSFT\nKO\nPEP\nXOM\n").unwrap();
        let env = [
            ("DIPWATCH__MARKET__PROVIDER", "sim".to_string()),
            ("DIPWATCH__MARKET__UNIVERSE", universe.display().to_string()),
            (
                "DIPWATCH__STORAGE__URL",
                dir.join("data").display().to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let config = Arc::new(crate::config::AppConfig::load_with_env(None, env).unwrap());
        let sim = Arc::new(crate::market::sim::SimMarket::new(config.universe.clone()));
        let store = crate::store::Store::open(&config.storage.url, &Default::default())
            .await
            .unwrap();
        let runner = Runner::new(crate::runner::RunnerParts {
            settings: Arc::new(crate::app::run_settings(&config)),
            market: sim.clone(),
            broker: Some(sim.clone()),
            store,
            state: crate::state::AppState::new(crate::state::Snapshot::default()),
            metrics: Arc::new(crate::metrics::Metrics::new()),
        });
        (runner, sim)
    }

    fn settings() -> Schedule {
        Schedule {
            cron: parse_cron("0 30 18 * * *").unwrap(),
            tz: ny(),
            retry_interval: Duration::from_secs(1),
            retry_window: Duration::from_secs(1),
        }
    }

    #[tokio::test]
    async fn a_fire_on_a_closed_day_collects_nothing_and_on_a_session_collects() {
        let dir = tempfile::tempdir().unwrap();
        let (runner, sim) = sim_runner(dir.path()).await;
        let stop = CancellationToken::new();
        // Thanksgiving and a Saturday, at the cron's 18:30 New York.
        for closed in ["2026-11-26T23:30:00Z", "2026-11-28T23:30:00Z"] {
            let fired = on_fire(&runner, sim.as_ref(), at(closed), &settings(), &stop).await;
            assert_eq!(fired, Fired::Closed, "{closed}");
        }
        assert!(runner.state().snapshot().last_run.is_none(), "nothing ran");
        assert!(!dir.path().join("data/runs").exists());
        // A session day: the run happens and publishes.
        let fired = on_fire(
            &runner,
            sim.as_ref(),
            at("2026-11-27T23:30:00Z"),
            &settings(),
            &stop,
        )
        .await;
        assert_eq!(fired, Fired::Collected);
        let snap = runner.state().snapshot();
        let last = snap.last_run.as_ref().expect("a run");
        assert!(
            matches!(last.outcome, crate::domain::LastOutcome::Published { .. }),
            "{:?}",
            last.outcome
        );
        assert_eq!(last.source, RunSource::Schedule);
    }

    #[tokio::test]
    async fn a_fire_without_a_calendar_collects_anyway() {
        let dir = tempfile::tempdir().unwrap();
        let (runner, _) = sim_runner(dir.path()).await;
        let market = no_calendar();
        let stop = CancellationToken::new();
        let fired = on_fire(
            &runner,
            &market,
            at("2026-11-28T23:30:00Z"),
            &settings(),
            &stop,
        )
        .await;
        assert_eq!(fired, Fired::Collected);
        assert!(
            runner.state().snapshot().last_run.is_some(),
            "the run decided"
        );
        stop.cancel();
        let fired = on_fire(
            &runner,
            &market,
            at("2026-11-27T23:30:00Z"),
            &settings(),
            &stop,
        )
        .await;
        assert_eq!(fired, Fired::Stopped);
    }

    #[tokio::test]
    async fn exchange_holidays_and_weekends_are_not_sessions() {
        let sim = crate::market::sim::SimMarket::new(vec![]);
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert!(
            !is_session(&sim, d("2026-11-26")).await.unwrap(),
            "Thanksgiving"
        );
        assert!(
            !is_session(&sim, d("2026-11-28")).await.unwrap(),
            "Saturday"
        );
        assert!(
            is_session(&sim, d("2026-11-27")).await.unwrap(),
            "early close is a session"
        );
        assert!(is_session(&sim, d("2026-11-25")).await.unwrap());
    }

    #[test]
    fn exchange_dates_are_new_york_dates() {
        assert_eq!(
            exchange_date(at("2026-11-25T03:00:00Z")).to_string(),
            "2026-11-24"
        );
        assert_eq!(
            exchange_date(at("2026-11-25T06:00:00Z")).to_string(),
            "2026-11-25"
        );
    }
}
