//! The client's circuit breakers: one per [`Dependency`], so the account
//! failing never stops the positions from being asked, nor the clock the
//! calendar, nor the trading API the market data. They share everything
//! else: the one rate budget ([`super::gate`]) and the one client.
//!
//! Isolation must not multiply what a down API sees, so a dependency whose
//! sibling on the same API has an open breaker gets a single attempt (no
//! retries) until the API answers again: in an outage of the whole
//! trading API, the first dependency exhausts its retries and opens its
//! breaker, and each other one costs one request, not another full round.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use super::api::Dependency;
use super::breaker::{Admission, CircuitBreaker};
use crate::market::{BreakerCounters, BreakerState};

/// What a call's outcome tells its breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The service answered (any response but a 5xx).
    Answered,
    /// The service failed (5xx, timeout, connection error).
    Failed,
    /// Nothing learnt (the call was refused by a breaker).
    Nothing,
}

/// One breaker per dependency.
#[derive(Debug)]
pub(super) struct Breakers {
    each: Mutex<BTreeMap<Dependency, CircuitBreaker>>,
}

impl Breakers {
    /// Every breaker closed.
    pub(super) fn new(threshold: u32, cooldown: std::time::Duration) -> Self {
        Self {
            each: Mutex::new(
                Dependency::ALL
                    .into_iter()
                    .map(|d| (d, CircuitBreaker::new(threshold, cooldown).named(d.name())))
                    .collect(),
            ),
        }
    }

    /// May a call to `dep` go out at `now`? A poisoned lock admits: the
    /// breakers protect Alpaca, they must never stop a run by themselves.
    pub(super) fn admit(&self, dep: Dependency, now: Instant) -> Admission {
        match self.each.lock() {
            Ok(mut all) => all.get_mut(&dep).map_or(Admission::Go, |b| b.admit(now)),
            Err(_) => Admission::Go,
        }
    }

    /// Tell `dep`'s breaker how its call went.
    pub(super) fn record(&self, dep: Dependency, verdict: Verdict, now: Instant) {
        let Ok(mut all) = self.each.lock() else {
            return;
        };
        let Some(b) = all.get_mut(&dep) else { return };
        match verdict {
            Verdict::Answered => b.on_success(),
            Verdict::Failed => b.on_failure(now),
            Verdict::Nothing => {}
        }
    }

    /// Whether another dependency of `dep`'s API has a breaker that is not
    /// closed: the API itself may be down, so `dep` gets no retries. The
    /// orders' breaker is nobody's sibling: an order outage never costs a
    /// collection its retries.
    pub(super) fn sibling_down(&self, dep: Dependency) -> bool {
        let Ok(all) = self.each.lock() else {
            return false;
        };
        all.iter().any(|(other, b)| {
            *other != dep
                && *other != Dependency::Orders
                && other.api() == dep.api()
                && b.state() != BreakerState::Closed
        })
    }

    /// Each breaker's state and trips, by name.
    pub(super) fn counters(&self) -> BTreeMap<String, BreakerCounters> {
        let Ok(all) = self.each.lock() else {
            return BTreeMap::new();
        };
        all.iter()
            .map(|(d, b)| {
                (
                    d.name().to_string(),
                    BreakerCounters {
                        state: b.state(),
                        trips: b.trips(),
                    },
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn one_dependency_failing_leaves_the_others_closed() {
        let t0 = Instant::now();
        let b = Breakers::new(2, Duration::from_secs(60));
        for _ in 0..2 {
            assert_eq!(b.admit(Dependency::Account, t0), Admission::Go);
            b.record(Dependency::Account, Verdict::Failed, t0);
        }
        assert!(matches!(
            b.admit(Dependency::Account, t0),
            Admission::Reject(_)
        ));
        for other in [
            Dependency::Positions,
            Dependency::Calendar,
            Dependency::Clock,
            Dependency::Bars,
        ] {
            assert_eq!(b.admit(other, t0), Admission::Go, "{other:?}");
        }
        let c = b.counters();
        assert_eq!(c["trading.account"].state, BreakerState::Open);
        assert_eq!(c["trading.account"].trips, 1);
        assert_eq!(c["trading.positions"].state, BreakerState::Closed);
        assert_eq!(c.len(), Dependency::ALL.len());
        // Its siblings on the trading API lose their retries; the data API
        // does not, nor does the open one itself (it fails fast anyway).
        assert!(b.sibling_down(Dependency::Positions));
        assert!(!b.sibling_down(Dependency::Bars));
        assert!(!b.sibling_down(Dependency::Account));
        // The account answers again: nobody is suspected any more.
        b.record(Dependency::Account, Verdict::Answered, t0);
        assert!(!b.sibling_down(Dependency::Positions));
        b.record(Dependency::Positions, Verdict::Nothing, t0);
        assert_eq!(
            b.counters()["trading.positions"].state,
            BreakerState::Closed
        );
    }
}
