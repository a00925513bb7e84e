//! `[screen]`: the drawdown window and how many rows a screen shows.

use serde::{Deserialize, Serialize};

use super::error::{ConfigError, invalid, one_of};
use crate::screen::{PeakBasis, ScreenParams};

fn peak_basis<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PeakBasis, D::Error> {
    one_of(d, &[("high", PeakBasis::High), ("close", PeakBasis::Close)])
}

/// `[screen]` as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScreenSettings {
    /// Window length in trading days.
    pub lookback_days: usize,
    /// Minimum bars in the window for a symbol to be ranked.
    pub min_history: usize,
    /// `high` or `close`.
    #[serde(deserialize_with = "peak_basis")]
    pub peak_basis: PeakBasis,
    /// Rows shown by default.
    pub top_n: usize,
}

/// `[screen]` checked: the engine's parameters and the default row count.
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    /// Drawdown engine parameters (window, minimum history, peak basis).
    pub params: ScreenParams,
    /// Rows `dipwatch screen`, the bot and the dashboard show by default.
    pub top_n: usize,
}

impl ScreenSettings {
    /// Check the window and the row count, naming the key at fault.
    pub(crate) fn parse(&self) -> Result<Screen, ConfigError> {
        if self.lookback_days < 2 {
            return Err(invalid("screen.lookback_days", "must be at least 2"));
        }
        if self.min_history == 0 || self.min_history > self.lookback_days {
            return Err(invalid(
                "screen.min_history",
                format!(
                    "must be between 1 and screen.lookback_days ({})",
                    self.lookback_days
                ),
            ));
        }
        if self.top_n == 0 {
            return Err(invalid("screen.top_n", "must be at least 1"));
        }
        Ok(Screen {
            params: ScreenParams {
                lookback_days: self.lookback_days,
                min_history: self.min_history,
                peak_basis: self.peak_basis,
            },
            top_n: self.top_n,
        })
    }
}
