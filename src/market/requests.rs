//! What a provider's HTTP client counted: cumulative [`RequestCounters`]
//! that a provider fills in (the Alpaca client does), and the difference
//! between two readings as a run report's [`RequestStats`].

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::RequestStats;

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
    /// Times the breaker opened.
    pub breaker_trips: u64,
    /// Current breaker state.
    pub breaker_state: Option<BreakerState>,
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
            breaker_trips: self.breaker_trips - earlier.breaker_trips,
            breaker_state: self.breaker_state.map(|b| {
                serde_json::to_value(b)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            }),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_the_difference_with_unchanged_statuses_left_out() {
        let earlier = RequestCounters {
            requests: 10,
            retries: 1,
            rate_limit_waits: 2,
            rate_limit_wait_secs: 0.5,
            breaker_trips: 0,
            breaker_state: Some(BreakerState::Closed),
            by_status: [("200".to_string(), 9), ("503".to_string(), 1)].into(),
        };
        let now = RequestCounters {
            requests: 14,
            retries: 2,
            rate_limit_waits: 3,
            rate_limit_wait_secs: 1.7504,
            breaker_trips: 1,
            breaker_state: Some(BreakerState::HalfOpen),
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
        assert_eq!(run.breaker_trips, 1);
        assert_eq!(run.breaker_state.as_deref(), Some("half_open"));
        assert_eq!(
            run.by_status,
            [("200".to_string(), 2), ("timeout".to_string(), 2)].into()
        );
        let unknown = RequestCounters::default().since(&RequestCounters::default());
        assert_eq!(unknown, RequestStats::default());
    }
}
