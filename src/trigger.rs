//! Runs people ask for: the bot's `/trigger` and the dashboard's "Run
//! now" button go through [`start_manual`], with the one [`Cooldown`]
//! the daemon owns (`telegram.trigger_cooldown_secs`) and the runner's
//! single flight. A collection spends Alpaca's request budget for minutes,
//! so once a manual run started, another is refused until the cooldown has
//! passed since that start, whoever asks and from wherever. The cooldown
//! is pure apart from one mutex; the clock is passed in.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::collect::Dates;
use crate::domain::{LastRun, RunSource};
use crate::journal::{EventKind, JournalEvent};
use crate::runner::{Runner, Trigger};

/// What asking for a run gave.
#[derive(Debug)]
pub enum ManualRun {
    /// Started; the receiver yields the run when it ends.
    Started(oneshot::Receiver<LastRun>),
    /// A run is in progress (started by this); nothing new started.
    Busy(RunSource),
    /// A manual run started less than `period` ago; `left` until another may.
    Cooling {
        /// Time left.
        left: Duration,
        /// The cooldown's length.
        period: Duration,
    },
}

impl ManualRun {
    /// This outcome as the journal's audit event, by `source`: `started`,
    /// or `refused` with why (a run in progress, the cooldown).
    pub fn audit_event(&self, source: impl ToString) -> JournalEvent {
        let event = JournalEvent::command(EventKind::Trigger, source);
        match self {
            Self::Started(_) => event.status("started"),
            Self::Busy(running) => event.status("refused").reason(format!(
                "a run is in progress (started by {})",
                running.label()
            )),
            Self::Cooling { left, .. } => event.status("refused").reason(format!(
                "within the cooldown ({} left)",
                crate::numbers::time_left(*left)
            )),
        }
    }
}

/// Start a manual run of the latest session unless the cooldown or a run
/// in progress says no. A run in progress is reported before the
/// cooldown: it is the more useful thing to say.
pub fn start_manual(runner: &Runner, cooldown: &Cooldown, now: Instant) -> ManualRun {
    let attempt = cooldown.attempt(
        now,
        || runner.trigger(RunSource::Manual, Dates::Latest),
        |t| matches!(t, Trigger::Started(_)),
    );
    match attempt {
        Ok(Trigger::Started(done)) => ManualRun::Started(done),
        Ok(Trigger::AlreadyRunning(running)) => ManualRun::Busy(running),
        Err(left) => match runner.running() {
            Some(running) => ManualRun::Busy(running),
            None => ManualRun::Cooling {
                left,
                period: cooldown.period(),
            },
        },
    }
}

/// When a manual run last started, and how long the next waits after it.
#[derive(Debug)]
pub struct Cooldown {
    period: Duration,
    last: Mutex<Option<Instant>>,
}

impl Cooldown {
    /// A cooldown of `period` (zero: none).
    pub fn new(period: Duration) -> Self {
        Self {
            period,
            last: Mutex::new(None),
        }
    }

    /// The cooldown's length.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Call `start` unless the last start was less than the period before
    /// `now` (then `Err(time left)`). When `started` says `start` did
    /// start something, the cooldown runs from `now`. Check and start are
    /// one step, so two chats asking at once cannot both start a run.
    pub fn attempt<T>(
        &self,
        now: Instant,
        start: impl FnOnce() -> T,
        started: impl FnOnce(&T) -> bool,
    ) -> Result<T, Duration> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = *last {
            let left = (at + self.period).saturating_duration_since(now);
            if !left.is_zero() {
                return Err(left);
            }
        }
        let out = start();
        if started(&out) {
            *last = Some(now);
        }
        Ok(out)
    }
}

/// The reply, in the bot and on the dashboard, to a manual run asked for
/// while another is in progress.
pub fn trigger_busy(running: RunSource) -> String {
    format!(
        "A collection is already running (started by {}); not starting another.",
        running.label()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_blocks_the_next_for_the_period_and_a_non_start_does_not() {
        let c = Cooldown::new(Duration::from_secs(300));
        let t0 = Instant::now();
        assert_eq!(
            c.attempt(t0, || false, |s| *s),
            Ok(false),
            "busy: not a start"
        );
        assert_eq!(c.attempt(t0, || true, |s| *s), Ok(true));
        assert_eq!(
            c.attempt(t0 + Duration::from_secs(60), || true, |s| *s),
            Err(Duration::from_secs(240))
        );
        assert_eq!(
            c.attempt(t0 + Duration::from_secs(300), || true, |s| *s),
            Ok(true)
        );
        let off = Cooldown::new(Duration::ZERO);
        assert_eq!(off.attempt(t0, || true, |s| *s), Ok(true));
        assert_eq!(off.attempt(t0, || true, |s| *s), Ok(true));
    }
}
