use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{ProfitCheck, Symbol, UnreadablePosition};

/// How a collection run for one date ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// The date's objects and manifest were written.
    Published,
    /// The source has no bars for the date yet; nothing was written.
    DataNotAvailable,
    /// The run failed as a whole; nothing was written.
    Failed,
}

/// Symbol counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolCounts {
    /// Symbols in the universe.
    pub requested: usize,
    /// Ranked in the screen.
    pub ok: usize,
    /// Left out for a data reason (history, stale, no bars).
    pub skipped: usize,
    /// Left out because fetching them failed.
    pub failed: usize,
}

/// One symbol left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolIssue {
    /// Ticker.
    pub symbol: Symbol,
    /// Reason, in words.
    pub reason: String,
}

/// One bar dropped by validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedBar {
    /// Ticker.
    pub symbol: Symbol,
    /// Bar date, when the bar carried a readable one (a `null` element or
    /// a bar without a timestamp has none, and none is made up for it).
    pub date: Option<NaiveDate>,
    /// Reason.
    pub reason: String,
}

/// One circuit breaker in a run report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerStats {
    /// State at the end of the run (`closed`, `open`, `half_open`).
    pub state: String,
    /// Times it opened during the run.
    pub trips: u64,
}

/// Outbound request figures of a run (zero for the simulated market).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestStats {
    /// HTTP requests sent.
    pub made: u64,
    /// Of which retries.
    pub retries: u64,
    /// Times the rate limiter made a call wait.
    pub rate_limit_waits: u64,
    /// Seconds spent waiting on the rate limiter or `Retry-After`.
    pub rate_limit_wait_secs: f64,
    /// Times any circuit breaker opened during the run.
    pub breaker_trips: u64,
    /// Each circuit breaker by name (`data.bars`, `trading.account`, ...):
    /// its state at the end of the run and its trips during it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub breakers: BTreeMap<String, BreakerStats>,
    /// Outcomes by HTTP status (or `timeout`, `connect`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_status: BTreeMap<String, u64>,
}

/// What a collection run did for one screen date: stored as the `report`
/// of `runs/date=D/run.json` and shown by the bot and `/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Screen date.
    pub date: NaiveDate,
    /// `market.provider` of the run.
    pub provider: String,
    /// True when prices are simulated.
    pub simulated: bool,
    /// How it ended.
    pub outcome: RunOutcome,
    /// One-line reason when not published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// Symbol counts.
    pub symbols: SymbolCounts,
    /// Symbols skipped, with reasons.
    pub skipped: Vec<SymbolIssue>,
    /// Symbols whose fetch failed, with reasons (the refused ones too).
    pub failed: Vec<SymbolIssue>,
    /// Of `failed`, the tickers Alpaca refused as invalid: never queued
    /// for retry (waiting will not make them valid; the universe needs
    /// fixing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Symbol>,
    /// Symbols from the retry queue this run fetched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovered: Vec<Symbol>,
    /// Symbols that failed too often and left the retry queue.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gave_up: Vec<SymbolIssue>,
    /// Bars dropped by validation.
    pub rejected_bars: Vec<RejectedBar>,
    /// Outbound requests.
    pub requests: RequestStats,
    /// Milliseconds per phase (`fetch`, `screen`, `persist`, ...).
    pub phases_ms: BTreeMap<String, u64>,
    /// The profit-taking rule at this snapshot, when positions were taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profit: Option<ProfitCheck>,
    /// Positions the broker listed that could not be read, with why (the
    /// rest of the snapshot is kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable_positions: Vec<UnreadablePosition>,
}

impl RunReport {
    /// A report of `date` from `provider` that ended with `outcome`,
    /// started at `started_at` and finished now, with nothing counted or
    /// listed yet: what a failed run reports, and the base every fixture
    /// and benchmark sets its fields on (one place to change when the
    /// report gains a field).
    pub fn bare(
        date: NaiveDate,
        provider: &str,
        simulated: bool,
        outcome: RunOutcome,
        started_at: DateTime<Utc>,
    ) -> Self {
        Self {
            date,
            provider: provider.to_string(),
            simulated,
            outcome,
            reason: None,
            started_at,
            finished_at: Utc::now(),
            symbols: SymbolCounts::default(),
            skipped: Vec::new(),
            failed: Vec::new(),
            refused: Vec::new(),
            recovered: Vec::new(),
            gave_up: Vec::new(),
            rejected_bars: Vec::new(),
            requests: RequestStats::default(),
            phases_ms: BTreeMap::new(),
            profit: None,
            unreadable_positions: Vec::new(),
        }
    }
}
