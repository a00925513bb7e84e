//! Why an Alpaca call failed ([`AlpacaError`]), what the client does about
//! it (retry, count against the breaker), and the one mapping to the
//! provider-neutral [`MarketError`].

use std::time::Duration;

use super::api::Api;
use crate::market::MarketError;

/// Why an Alpaca call failed. Never carries credentials.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AlpacaError {
    /// The server answered with an error status.
    #[error("HTTP {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// Short message from the body.
        message: String,
    },
    /// No complete answer within the per-request timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The connection failed or broke.
    #[error("connection failed: {0}")]
    Connect(String),
    /// A 200 answer that is not complete JSON (often a cut transfer).
    #[error("malformed response: {0}")]
    Malformed(String),
    /// A 200 answer of well-formed JSON that does not match the API's
    /// schema: asking again gets the same answer, so it is not retried.
    #[error("unexpected response: {0}")]
    Schema(String),
    /// The dependency's circuit breaker is open.
    #[error(
        "circuit breaker {breaker} open after repeated failures; failing fast for {wait:?} more"
    )]
    CircuitOpen {
        /// The breaker's name (`trading.account`, ...).
        breaker: &'static str,
        /// Until it lets a probe through.
        wait: Duration,
    },
}

impl AlpacaError {
    /// Worth another attempt: rate limits, server errors, timeouts,
    /// connection trouble, and garbled bodies (often a cut transfer). Not a
    /// complete answer of the wrong shape: that one is deterministic.
    pub(super) fn retryable(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            Self::Timeout(_) | Self::Connect(_) | Self::Malformed(_) => true,
            Self::Schema(_) | Self::CircuitOpen { .. } => false,
        }
    }

    /// As the market layer's error, naming the service the call went to
    /// (`alpaca data`, `alpaca trading`).
    pub fn into_market(self, api: Api) -> MarketError {
        let source_name = api.service_name();
        match self {
            Self::Malformed(message) | Self::Schema(message) => MarketError::Malformed {
                source_name,
                message,
            },
            other => MarketError::Request {
                source_name,
                message: other.to_string(),
            },
        }
    }

    /// Counts against the circuit breaker: the service is failing, not
    /// merely refusing (a 4xx or 429 proves it is up).
    pub(super) fn is_service_failure(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status >= 500,
            Self::Timeout(_) | Self::Connect(_) => true,
            Self::Malformed(_) | Self::Schema(_) | Self::CircuitOpen { .. } => false,
        }
    }

    /// Label for the by-status counter.
    pub(super) fn label(&self) -> String {
        match self {
            Self::Status { status, .. } => status.to_string(),
            Self::Timeout(_) => "timeout".into(),
            Self::Connect(_) => "connect".into(),
            Self::Malformed(_) => "malformed".into(),
            Self::Schema(_) => "schema".into(),
            Self::CircuitOpen { .. } => "breaker_open".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn market_errors_name_the_service_and_keep_malformed_apart() {
        let e = AlpacaError::Schema("bars page: missing field".into()).into_market(Api::Data);
        assert!(
            matches!(&e, MarketError::Malformed { source_name: "alpaca data", message } if message == "bars page: missing field"),
            "{e:?}"
        );
        let e = AlpacaError::Status {
            status: 503,
            message: "down".into(),
        }
        .into_market(Api::Trading);
        assert_eq!(
            e.to_string(),
            "alpaca trading request failed: HTTP 503: down"
        );
    }
}
