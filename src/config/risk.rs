//! `[risk]`: the portfolio risk view's window, budget and thresholds.

use serde::{Deserialize, Serialize};

use super::error::{ConfigError, invalid};

/// `[risk]`: the portfolio risk view (`dipwatch portfolio`, `/risk`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskSettings {
    /// Sessions of daily returns the correlations, betas and clusters are
    /// measured over.
    pub lookback: usize,
    /// The fraction of equity a new position may risk: a suggested size is
    /// `budget * equity / annual volatility`, capped by cash.
    pub budget: f64,
    /// Positions whose returns correlate at least this much (on average
    /// between groups) are one cluster, one bet.
    pub cluster_correlation: f64,
    /// A candidate correlated at least this much with a holding duplicates it.
    pub duplicate_correlation: f64,
    /// Candidates taken from the top of the latest screen.
    pub candidates: usize,
}

/// Fewest `risk.lookback` sessions: fewer returns make a correlation noise.
const MIN_RISK_LOOKBACK: usize = 20;
/// Most `risk.lookback` sessions (ten years).
const MAX_RISK_LOOKBACK: usize = 2520;

impl RiskSettings {
    /// Refuse values the risk view cannot use, naming the key.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if !(MIN_RISK_LOOKBACK..=MAX_RISK_LOOKBACK).contains(&self.lookback) {
            return Err(invalid(
                "risk.lookback",
                format!(
                    "{} must be between {MIN_RISK_LOOKBACK} and {MAX_RISK_LOOKBACK} sessions",
                    self.lookback
                ),
            ));
        }
        if !(self.budget > 0.0 && self.budget <= 1.0) {
            return Err(invalid(
                "risk.budget",
                format!(
                    "{} must be a fraction of equity above 0 and at most 1 (0.02 = 2%)",
                    self.budget
                ),
            ));
        }
        for (key, v) in [
            ("risk.cluster_correlation", self.cluster_correlation),
            ("risk.duplicate_correlation", self.duplicate_correlation),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                return Err(invalid(
                    key,
                    format!("{v} must be a correlation above 0 and at most 1"),
                ));
            }
        }
        if self.candidates == 0 {
            return Err(invalid("risk.candidates", "must be at least 1"));
        }
        Ok(())
    }
}
