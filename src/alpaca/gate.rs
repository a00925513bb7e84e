//! The request budget shared by every Alpaca call: a `governor` limiter
//! whose burst plus steady rate never exceed `requests_per_minute` in any
//! 60-second window (Alpaca counts requests per minute).

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

/// The limiter, over any governor clock (a fake one in tests: governor
/// does not follow tokio's paused time).
pub struct RateGate<C: Clock = DefaultClock> {
    limiter: RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<C::Instant>>,
    clock: C,
}

impl<C: Clock> std::fmt::Debug for RateGate<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RateGate")
    }
}

/// The quota: `burst` at once, then `per_minute - burst` a minute.
fn quota(per_minute: u32, burst: u32) -> Quota {
    let burst = burst.clamp(1, per_minute.saturating_sub(1).max(1));
    let steady = per_minute.saturating_sub(burst).max(1);
    let period = Duration::from_secs(60) / steady;
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl RateGate {
    /// A gate on the real clock.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self::with_clock(per_minute, burst, DefaultClock::default())
    }
}

impl<C: Clock + Clone> RateGate<C> {
    /// A gate on `clock`.
    pub fn with_clock(per_minute: u32, burst: u32, clock: C) -> Self {
        Self {
            limiter: RateLimiter::direct_with_clock(quota(per_minute, burst), clock.clone()),
            clock,
        }
    }

    /// Take a slot now, or say how long until one frees up.
    pub fn try_acquire(&self) -> Result<(), Duration> {
        self.limiter
            .check()
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Wait for a slot; returns how long was waited.
    pub async fn acquire(&self) -> Duration {
        let mut waited = Duration::ZERO;
        while let Err(wait) = self.try_acquire() {
            tokio::time::sleep(wait).await;
            waited += wait;
        }
        waited
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    #[test]
    fn burst_then_steady_rate_within_the_minute_budget() {
        let clock = FakeRelativeClock::default();
        // 200/min with a burst of 30: 30 at once, then one every 60/170 s.
        let gate = RateGate::with_clock(200, 30, clock.clone());
        for i in 0..30 {
            assert_eq!(gate.try_acquire(), Ok(()), "burst slot {i}");
        }
        let wait = gate.try_acquire().unwrap_err();
        let step = Duration::from_secs(60) / 170;
        assert!(wait <= step && wait > step / 2, "{wait:?}");
        clock.advance(wait);
        assert_eq!(gate.try_acquire(), Ok(()));

        // Over any 60 s window no more than 200 get through.
        let clock = FakeRelativeClock::default();
        let gate = RateGate::with_clock(200, 30, clock.clone());
        let mut passed = 0;
        let tick = Duration::from_millis(10);
        let mut t = Duration::ZERO;
        while t < Duration::from_secs(60) {
            while gate.try_acquire().is_ok() {
                passed += 1;
            }
            clock.advance(tick);
            t += tick;
        }
        assert!(passed <= 200, "{passed} in a minute");
        assert!(passed >= 195, "{passed}: the budget is used, not wasted");
    }
}
