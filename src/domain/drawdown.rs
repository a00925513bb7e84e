use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::Symbol;

/// One ranked line of the drawdown screen (the `drawdowns.csv` columns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrawdownRow {
    /// Screen date.
    pub date: NaiveDate,
    /// Ticker.
    pub symbol: Symbol,
    /// Close of the last bar.
    pub current_price: f64,
    /// Highest high (or close, per `screen.peak_basis`) in the window.
    pub peak_price: f64,
    /// Most recent date the peak was reached.
    pub peak_date: NaiveDate,
    /// `(current - peak) / peak * 100`: zero or negative.
    pub drawdown_pct: f64,
    /// Trading days from the peak to the last bar (0 = peak today).
    pub days_since_peak: u32,
    /// Volume of the last bar.
    pub volume: u64,
    /// 1 = deepest drawdown; ties broken by symbol.
    pub rank: u32,
}

/// Why a symbol was left out of a screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SkipReason {
    /// No bar at all in the window.
    NoBars,
    /// Fewer bars in the window than `screen.min_history`.
    InsufficientHistory {
        /// Bars found in the window.
        bars: usize,
        /// Bars required.
        required: usize,
    },
    /// The last bar is older than the screen date (halted, delisted, late data).
    Stale {
        /// Date of the newest bar.
        last_bar: NaiveDate,
    },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoBars => write!(f, "no bars in the window"),
            Self::InsufficientHistory { bars, required } => {
                write!(f, "insufficient history: {bars} bars, {required} required")
            }
            Self::Stale { last_bar } => write!(f, "stale: last bar {last_bar}"),
        }
    }
}

/// A symbol left out of a screen, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Ticker.
    pub symbol: Symbol,
    /// Why.
    pub reason: SkipReason,
}
