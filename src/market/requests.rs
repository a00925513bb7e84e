//! What a provider's HTTP client counted: cumulative [`RequestCounters`]
//! that a provider fills in (the Alpaca client does), and the difference
//! between two readings as a run report's [`RequestStats`].

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::{BreakerStats, RequestStats};

/// The state of a provider client's circuit breaker, as logged, reported
/// and exported as a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls fail fast until the cool-down ends.
    Open,
    /// One probe call is in flight; others fail fast.
    HalfOpen,
}

impl BreakerState {
    /// The name reports and `/readyz` use (`closed`, `open`, `half_open`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

/// One circuit breaker's state and how often it has opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BreakerCounters {
    /// Its state now.
    pub state: BreakerState,
    /// Times it has opened.
    pub trips: u64,
}

/// Cumulative counters of a provider's HTTP client.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RequestCounters {
    /// Requests sent (retries included).
    pub requests: u64,
    /// Of which retries.
    pub retries: u64,
    /// Times a call waited for the rate budget or a server wait hint.
    pub rate_limit_waits: u64,
    /// Seconds spent in those waits.
    pub rate_limit_wait_secs: f64,
    /// Each circuit breaker by name (`data.bars`, `trading.account`, ...).
    pub breakers: BTreeMap<String, BreakerCounters>,
    /// Outcomes by HTTP status (or `timeout`, `connect`, ...).
    pub by_status: BTreeMap<String, u64>,
}

impl RequestCounters {
    /// What happened between `earlier` and `self`, as a run report wants it.
    pub fn since(&self, earlier: &RequestCounters) -> RequestStats {
        RequestStats {
            made: self.requests - earlier.requests,
            retries: self.retries - earlier.retries,
            rate_limit_waits: self.rate_limit_waits - earlier.rate_limit_waits,
            rate_limit_wait_secs: ((self.rate_limit_wait_secs - earlier.rate_limit_wait_secs)
                * 1000.0)
                .round()
                / 1000.0,
            breaker_trips: self
                .breakers
                .iter()
                .map(|(name, b)| b.trips - earlier_trips(earlier, name))
                .sum(),
            breakers: self
                .breakers
                .iter()
                .map(|(name, b)| {
                    (
                        name.clone(),
                        BreakerStats {
                            state: b.state.as_str().to_string(),
                            trips: b.trips - earlier_trips(earlier, name),
                        },
                    )
                })
                .collect(),
            by_status: self
                .by_status
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v - earlier.by_status.get(k).copied().unwrap_or(0),
                    )
                })
                .filter(|(_, v)| *v > 0)
                .collect(),
        }
    }
}

/// Trips of breaker `name` in an earlier reading (0 if it had none).
fn earlier_trips(earlier: &RequestCounters, name: &str) -> u64 {
    earlier.breakers.get(name).map_or(0, |b| b.trips)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(state: BreakerState, trips: u64) -> BreakerCounters {
        BreakerCounters { state, trips }
    }

    #[test]
    fn since_is_the_difference_with_unchanged_statuses_left_out() {
        let earlier = RequestCounters {
            requests: 10,
            retries: 1,
            rate_limit_waits: 2,
            rate_limit_wait_secs: 0.5,
            breakers: [
                ("data.bars".to_string(), counters(BreakerState::Closed, 0)),
                ("trading.clock".to_string(), counters(BreakerState::Open, 2)),
            ]
            .into(),
            by_status: [("200".to_string(), 9), ("503".to_string(), 1)].into(),
        };
        let now = RequestCounters {
            requests: 14,
            retries: 2,
            rate_limit_waits: 3,
            rate_limit_wait_secs: 1.7504,
            breakers: [
                ("data.bars".to_string(), counters(BreakerState::HalfOpen, 1)),
                ("trading.clock".to_string(), counters(BreakerState::Open, 2)),
            ]
            .into(),
            by_status: [
                ("200".to_string(), 11),
                ("503".to_string(), 1),
                ("timeout".to_string(), 2),
            ]
            .into(),
        };
        let run = now.since(&earlier);
        assert_eq!((run.made, run.retries, run.rate_limit_waits), (4, 1, 1));
        assert_eq!(run.rate_limit_wait_secs, 1.25, "rounded to milliseconds");
        assert_eq!(run.breaker_trips, 1, "trips of this run only");
        assert_eq!(run.breakers["data.bars"].state, "half_open");
        assert_eq!(run.breakers["data.bars"].trips, 1);
        assert_eq!(run.breakers["trading.clock"].state, "open");
        assert_eq!(run.breakers["trading.clock"].trips, 0);
        assert_eq!(
            run.by_status,
            [("200".to_string(), 2), ("timeout".to_string(), 2)].into()
        );
        let unknown = RequestCounters::default().since(&RequestCounters::default());
        assert_eq!(unknown, RequestStats::default());
    }
}
