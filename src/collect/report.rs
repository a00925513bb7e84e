//! The run report of one date: what was screened, skipped, failed,
//! recovered and given up, the requests made and the phase timings. Built
//! from the date's screen and the run around it; the publish step adds the
//! snapshot's part and the outcome.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::CollectError;
use super::screen_date::DateScreen;
use crate::domain::{
    RejectedBar, RequestStats, RunOutcome, RunReport, Symbol, SymbolCounts, SymbolIssue,
};
use crate::market::MarketData;
use crate::retry_queue::Settled;

/// What the report of one date takes from the run around it.
pub(super) struct DateRun<'a> {
    /// The date.
    pub date: NaiveDate,
    /// Symbols whose fetch failed in this run (the refused ones too).
    pub failed: &'a [SymbolIssue],
    /// Of `failed`, those the source refused as invalid.
    pub refused: &'a [Symbol],
    /// The newest date of the run: bars rejected without a date are
    /// listed on its report only, once.
    pub newest: NaiveDate,
    /// What settling the date in the retry queue changed.
    pub settled: Settled,
    /// Requests made so far in this run.
    pub requests: RequestStats,
    /// How long the fetch took (from the run's start).
    pub fetch_ms: u64,
    /// When the run started.
    pub started_at: DateTime<Utc>,
}

/// The report of a screened date, as published unless the publish step
/// says otherwise. `rejected` are the run's invalid bars (those up to the
/// date are listed, the undated ones on the run's newest date);
/// `requested` is the universe's size.
pub(super) fn date_report(
    run: DateRun<'_>,
    day: &DateScreen<'_>,
    rejected: &[RejectedBar],
    market: &dyn MarketData,
    requested: usize,
    screen_ms: u64,
) -> RunReport {
    let DateRun {
        date,
        failed,
        refused,
        newest,
        settled,
        requests,
        fetch_ms,
        started_at,
    } = run;
    RunReport {
        date,
        provider: market.provider().to_string(),
        simulated: market.is_simulated(),
        outcome: RunOutcome::Published,
        reason: None,
        started_at,
        finished_at: started_at,
        symbols: SymbolCounts {
            requested,
            ok: day.screen.rows.len(),
            skipped: day.screen.skipped.len(),
            failed: failed.len(),
        },
        skipped: day.skipped_issues(),
        failed: failed.to_vec(),
        refused: refused.to_vec(),
        recovered: settled.recovered,
        gave_up: settled.gave_up,
        rejected_bars: rejected
            .iter()
            .filter(|r| r.date.map_or(date == newest, |d| d <= date))
            .cloned()
            .collect(),
        requests,
        phases_ms: BTreeMap::from([
            ("fetch".to_string(), fetch_ms),
            ("screen".to_string(), screen_ms),
        ]),
        profit: None,
        unreadable_positions: Vec::new(),
    }
}

/// The report of a date whose publication failed part-way through a run.
pub(super) fn failed_report(
    date: NaiveDate,
    market: &dyn MarketData,
    started_at: DateTime<Utc>,
    e: &CollectError,
) -> RunReport {
    RunReport {
        reason: Some(format!("{:#}", anyhow::Error::msg(e.to_string()))),
        ..RunReport::bare(
            date,
            market.provider(),
            market.is_simulated(),
            RunOutcome::Failed,
            started_at,
        )
    }
}
