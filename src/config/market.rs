//! `[market]`: which market is read, the universe, and the Alpaca client's
//! addresses, budget, retries and breaker.

use serde::{Deserialize, Serialize};

use super::error::{ConfigError, invalid, one_of};

/// Which market the collector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Alpaca's market-data and trading APIs (needs keys).
    Alpaca,
    /// The deterministic simulated market (no keys, prices not real).
    Sim,
}

impl Provider {
    /// Name as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alpaca => "alpaca",
            Self::Sim => "sim",
        }
    }
}

fn provider<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Provider, D::Error> {
    one_of(d, &[("alpaca", Provider::Alpaca), ("sim", Provider::Sim)])
}

/// `[market]`, as written and, once [`MarketSettings::check`]ed, as the
/// provider and its client take it (the universe itself is read into
/// [`super::AppConfig::universe`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketSettings {
    /// `alpaca` or `sim`.
    #[serde(deserialize_with = "provider")]
    pub provider: Provider,
    /// The universe: `builtin:russell1000` (compiled in) or a file
    /// with one ticker a line.
    pub universe: String,
    /// Alpaca market-data base URL.
    pub data_url: String,
    /// Alpaca trading base URL (paper or live).
    pub trading_url: String,
    /// Alpaca data feed (`iex`, `sip`, ...).
    pub feed: String,
    /// Price adjustment (`raw`, `split`, `dividend`, `all`).
    pub adjustment: String,
    /// Request budget shared by every Alpaca call.
    pub requests_per_minute: u32,
    /// Requests allowed at once before pacing.
    pub burst: u32,
    /// Per-request timeout, seconds.
    pub request_timeout_secs: u64,
    /// Retries after a failed attempt.
    pub max_retries: u32,
    /// First retry backoff, milliseconds.
    pub retry_base_ms: u64,
    /// Consecutive failures that open the circuit breaker.
    pub breaker_threshold: u32,
    /// How long the breaker stays open, seconds.
    pub breaker_cooldown_secs: u64,
    /// Attempts before a failed symbol leaves the retry queue.
    pub retry_failed_max_attempts: u32,
}

/// Accepted `market.feed` values (Alpaca's stock feeds).
const FEEDS: [&str; 6] = ["iex", "sip", "delayed_sip", "boats", "overnight", "otc"];
/// Accepted `market.adjustment` values.
const ADJUSTMENTS: [&str; 4] = ["raw", "split", "dividend", "all"];

impl MarketSettings {
    /// Check every value, naming the key of the first one at fault.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        for (key, value) in [
            ("market.data_url", &self.data_url),
            ("market.trading_url", &self.trading_url),
        ] {
            let parsed = url::Url::parse(value)
                .map_err(|e| invalid(key, format!("{value:?} is not a URL: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(invalid(
                    key,
                    format!("{value:?} must be http:// or https://"),
                ));
            }
        }
        for (key, value, choices) in [
            ("market.feed", &self.feed, &FEEDS[..]),
            ("market.adjustment", &self.adjustment, &ADJUSTMENTS[..]),
        ] {
            if !choices.contains(&value.as_str()) {
                return Err(invalid(
                    key,
                    format!("{value:?} is not one of {}", choices.join(", ")),
                ));
            }
        }
        self.check_budget()
    }

    /// The rate budget, the timeout, the breaker and the retry queue: each
    /// needs at least one of its unit to work at all.
    fn check_budget(&self) -> Result<(), ConfigError> {
        if self.requests_per_minute < 2 {
            return Err(invalid("market.requests_per_minute", "must be at least 2"));
        }
        if self.burst == 0 || self.burst >= self.requests_per_minute {
            return Err(invalid(
                "market.burst",
                format!(
                    "must be between 1 and market.requests_per_minute - 1 ({})",
                    self.requests_per_minute - 1
                ),
            ));
        }
        for (key, value) in [
            ("market.request_timeout_secs", self.request_timeout_secs),
            ("market.breaker_threshold", self.breaker_threshold.into()),
            (
                "market.retry_failed_max_attempts",
                self.retry_failed_max_attempts.into(),
            ),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be at least 1"));
            }
        }
        Ok(())
    }
}
