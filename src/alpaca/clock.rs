//! `GET /v2/clock`: the exchange's own clock, which decides "latest
//! closed" when the host's clock has drifted.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::api::Dependency;
use super::client::AlpacaClient;
use super::error::AlpacaError;

/// The market clock as Alpaca reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketClock {
    /// Server time.
    pub timestamp: DateTime<Utc>,
    /// Whether the market is open now.
    pub is_open: bool,
    /// Next opening bell.
    pub next_open: DateTime<Utc>,
    /// Next closing bell.
    pub next_close: DateTime<Utc>,
}

/// The market clock, now.
pub async fn fetch(client: &AlpacaClient) -> Result<MarketClock, AlpacaError> {
    client
        .get(Dependency::Clock, "/v2/clock", &[], parse_clock)
        .await
}

#[derive(Deserialize)]
struct WireClock {
    timestamp: DateTime<chrono::FixedOffset>,
    is_open: bool,
    next_open: DateTime<chrono::FixedOffset>,
    next_close: DateTime<chrono::FixedOffset>,
}

/// `GET /v2/clock` body.
pub fn parse_clock(body: &[u8]) -> Result<MarketClock, String> {
    let w: WireClock = serde_json::from_slice(body).map_err(|e| format!("clock: {e}"))?;
    Ok(MarketClock {
        timestamp: w.timestamp.with_timezone(&Utc),
        is_open: w.is_open,
        next_open: w.next_open.with_timezone(&Utc),
        next_close: w.next_close.with_timezone(&Utc),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_parses_offsets() {
        let c = parse_clock(br#"{"timestamp":"2026-11-25T07:00:00.123-05:00","is_open":false,"next_open":"2026-11-25T09:30:00-05:00","next_close":"2026-11-25T16:00:00-05:00"}"#).unwrap();
        assert!(!c.is_open);
        assert_eq!(c.next_open.to_rfc3339(), "2026-11-25T14:30:00+00:00");
    }
}
