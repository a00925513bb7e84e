//! A circuit breaker: after `threshold` consecutive failures the circuit
//! opens and calls fail fast for `cooldown`; then one probe is let through
//! (half-open), and its outcome closes or re-opens the circuit. Pure state
//! machine: callers pass the current instant, so tests need no clock.

use std::time::{Duration, Instant};

pub use crate::market::BreakerState;

/// What the breaker says about a call about to be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Go ahead.
    Go,
    /// Go ahead: this call is the half-open probe.
    Probe,
    /// Fail fast; the circuit may admit a probe after this long.
    Reject(Duration),
}

/// The breaker.
#[derive(Debug)]
pub struct CircuitBreaker {
    /// Its name in logs (`trading.account`, ...).
    name: &'static str,
    threshold: u32,
    cooldown: Duration,
    consecutive_failures: u32,
    opened_at: Option<Instant>,
    /// When the half-open probe was let through, while it is out. A probe
    /// whose call was dropped (its run stopped) never reports back, so after
    /// a further cool-down another probe is let through: the breaker can
    /// never stay half-open for good.
    probing: Option<Instant>,
    trips: u64,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            name: "alpaca",
            threshold: threshold.max(1),
            cooldown,
            consecutive_failures: 0,
            opened_at: None,
            probing: None,
            trips: 0,
        }
    }

    /// The same breaker, named `name` in its logs.
    pub fn named(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// Current state at `now`.
    pub fn state(&self) -> BreakerState {
        match (self.opened_at, self.probing) {
            (None, _) => BreakerState::Closed,
            (Some(_), Some(_)) => BreakerState::HalfOpen,
            (Some(_), None) => BreakerState::Open,
        }
    }

    /// Times the circuit has opened.
    pub fn trips(&self) -> u64 {
        self.trips
    }

    /// May a call be made at `now`?
    pub fn admit(&mut self, now: Instant) -> Admission {
        let Some(opened) = self.opened_at else {
            return Admission::Go;
        };
        if let Some(sent) = self.probing {
            if now < sent + self.cooldown {
                return Admission::Reject(self.cooldown.min(Duration::from_secs(1)));
            }
            tracing::warn!(
                breaker = self.name,
                "alpaca circuit breaker: the probe never answered; sending another"
            );
            self.probing = Some(now);
            return Admission::Probe;
        }
        let reopen = opened + self.cooldown;
        if now >= reopen {
            self.probing = Some(now);
            tracing::info!(
                breaker = self.name,
                "alpaca circuit breaker half-open: sending one probe"
            );
            Admission::Probe
        } else {
            Admission::Reject(reopen - now)
        }
    }

    /// The service answered (any HTTP response other than a 5xx).
    pub fn on_success(&mut self) {
        if self.opened_at.is_some() {
            tracing::info!(
                breaker = self.name,
                "alpaca circuit breaker closed: the service answers again"
            );
        }
        self.consecutive_failures = 0;
        self.opened_at = None;
        self.probing = None;
    }

    /// The service failed (5xx, timeout, connection error).
    pub fn on_failure(&mut self, now: Instant) {
        if self.probing.is_some() {
            self.probing = None;
            self.opened_at = Some(now);
            self.trips += 1;
            tracing::warn!(
                breaker = self.name,
                cooldown_secs = self.cooldown.as_secs_f64(),
                "alpaca circuit breaker re-opened: probe failed"
            );
            return;
        }
        if self.opened_at.is_some() {
            return;
        }
        self.consecutive_failures += 1;
        if self.consecutive_failures >= self.threshold {
            self.opened_at = Some(now);
            self.trips += 1;
            tracing::warn!(
                breaker = self.name,
                failures = self.consecutive_failures,
                cooldown_secs = self.cooldown.as_secs_f64(),
                "alpaca circuit breaker opened: failing fast"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_fails_fast_then_probes_and_closes() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(3, Duration::from_secs(60));
        for _ in 0..2 {
            assert_eq!(b.admit(t0), Admission::Go);
            b.on_failure(t0);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        b.on_failure(t0);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.trips(), 1);
        assert_eq!(
            b.admit(t0 + Duration::from_secs(10)),
            Admission::Reject(Duration::from_secs(50))
        );
        // Cool-down over: exactly one probe; others still fail fast.
        let t1 = t0 + Duration::from_secs(60);
        assert_eq!(b.admit(t1), Admission::Probe);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(matches!(b.admit(t1), Admission::Reject(_)));
        b.on_success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.admit(t1), Admission::Go);
    }

    #[test]
    fn a_failed_probe_reopens_for_a_full_cooldown() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(1, Duration::from_secs(30));
        b.on_failure(t0);
        let t1 = t0 + Duration::from_secs(30);
        assert_eq!(b.admit(t1), Admission::Probe);
        b.on_failure(t1);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.trips(), 2);
        assert_eq!(
            b.admit(t1 + Duration::from_secs(29)),
            Admission::Reject(Duration::from_secs(1))
        );
        assert_eq!(b.admit(t1 + Duration::from_secs(30)), Admission::Probe);
    }

    #[test]
    fn a_probe_that_never_answers_does_not_wedge_the_breaker() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(1, Duration::from_secs(30));
        b.on_failure(t0);
        let t1 = t0 + Duration::from_secs(30);
        assert_eq!(b.admit(t1), Admission::Probe);
        // The probe's call is dropped: neither success nor failure comes.
        assert!(matches!(
            b.admit(t1 + Duration::from_secs(29)),
            Admission::Reject(_)
        ));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.admit(t1 + Duration::from_secs(30)), Admission::Probe);
        b.on_success();
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn a_success_resets_the_count() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(2, Duration::from_secs(5));
        b.on_failure(t0);
        b.on_success();
        b.on_failure(t0);
        assert_eq!(
            b.state(),
            BreakerState::Closed,
            "failures must be consecutive"
        );
    }
}
