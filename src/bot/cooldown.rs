//! `/trigger`'s cooldown (`telegram.trigger_cooldown_secs`): a collection
//! spends Alpaca's request budget for minutes, so once `/trigger` started
//! one, another is refused until the cooldown has passed since that start,
//! whoever asks. Pure apart from one mutex; the clock is passed in.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// When `/trigger` last started a collection, and how long it waits after.
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
