//! The I/O edge of the risk view: the positions and account snapshots, the
//! bars and the latest screen it needs, read through [`crate::store::Lake`]
//! (verified against the manifests; damaged dates skipped and reported).
//!
//! The daemon already holds the last `history.memory_days` of bars in
//! memory ([`crate::state::Snapshot::prices`]); [`load_data`] takes them
//! when they cover the sessions the analysis needs, so a reload reads the
//! bars once, not twice. The CLI, which holds none, reads them from the
//! lake. Both give the same history, hence the same report.

use std::collections::HashMap;

use chrono::NaiveDate;
use futures::StreamExt;

use super::holding::{Held, Runs};
use super::{RiskInput, RiskParams, f};
use crate::domain::{Account, AssetSymbol, DrawdownRow, Position};
use crate::query::PriceHistory;
use crate::store::{Dataset, Lake, PortfolioRead, READ_CONCURRENCY, StoreError};

/// Everything [`super::analyze`] reads, as loaded from the lake.
#[derive(Debug, Clone)]
pub struct RiskData {
    /// The newest positions snapshot's date.
    pub date: NaiveDate,
    /// Its positions.
    pub positions: Vec<Position>,
    /// Its account.
    pub account: Account,
    /// Holding periods from the whole snapshot history (read back only as
    /// far as the oldest holding reaches).
    pub held: HashMap<AssetSymbol, Held>,
    /// Bars of the last `max(lookback, 60) + 1` published sessions.
    pub history: PriceHistory,
    /// The newest readable screen's rows.
    pub screen: Vec<DrawdownRow>,
    /// Account equity per snapshot over the same sessions, oldest first.
    pub equity: Vec<(NaiveDate, f64)>,
    /// Whether the snapshot or the screen is simulated.
    pub simulated: bool,
    /// Where the bars came from.
    pub bars: BarsSource,
    /// Dates and objects passed over, with why.
    pub warnings: Vec<String>,
}

/// Where [`RiskData::history`] was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarsSource {
    /// The bars the daemon holds in memory (a tail of them).
    Memory,
    /// The lake's bars objects.
    Store,
}

impl RiskData {
    /// The analysis input over this data.
    pub fn input(&self) -> RiskInput<'_> {
        RiskInput {
            date: self.date,
            positions: &self.positions,
            account: &self.account,
            held: &self.held,
            history: &self.history,
            screen: &self.screen,
            equity: &self.equity,
            simulated: self.simulated,
        }
    }
}

/// Read what the risk view needs over the last `max(lookback, 60) + 1`
/// published sessions. `Ok(None)` when no positions snapshot is stored
/// there; a store that cannot be listed is an error, a damaged date a
/// warning. The bars come from `held` (the daemon's in-memory history)
/// when it covers those sessions (see [`covering`]), else from the lake.
///
/// `lake` is the reload's [`Lake::session`] in the daemon, so the
/// manifests, snapshots and screen the state just read are not read again.
pub async fn load_data(
    lake: &Lake,
    params: &RiskParams,
    held: Option<&PriceHistory>,
) -> Result<Option<RiskData>, StoreError> {
    let listing = lake.listing(None, None).await?;
    let mut warnings = listing.warnings();
    let span = params.window_returns() + 1;
    let (older, dates) = listing
        .dates
        .split_at(listing.dates.len().saturating_sub(span));
    let Some(&first) = dates.first() else {
        return Ok(None);
    };
    let mut snapshots = snapshots(lake, dates.to_vec(), &mut warnings).await;
    let Some(latest) = snapshots.pop() else {
        return Ok(None);
    };
    let equity = snapshots
        .iter()
        .chain(std::iter::once(&latest))
        .filter_map(|s| Some((s.date, f(s.account.equity?))))
        .collect();
    let mut runs = Runs::new(latest.date, &latest.positions);
    for s in snapshots.iter().rev() {
        runs.older(s.date, &s.positions);
    }
    if !runs.settled() {
        // Held since before the span: walk the older snapshots back until
        // every holding's run has ended (or the lake begins).
        older_holdings(lake, older.to_vec(), &mut runs, &mut warnings).await;
    }
    let newest = listing.dates.last().copied();
    let (history, bars) = match held.and_then(|h| covering(h, first, newest)) {
        Some(h) => (h, BarsSource::Memory),
        None => {
            let loaded = lake.price_history(Some(first), None).await?;
            warnings.extend(
                loaded
                    .skipped
                    .iter()
                    .map(|s| format!("{}: bars skipped: {}", s.date, s.reason)),
            );
            (loaded.history, BarsSource::Store)
        }
    };
    let screen = lake.latest_screen().await?;
    warnings.extend(
        screen
            .skipped
            .iter()
            .map(|s| format!("{}: screen skipped: {}", s.date, s.reason)),
    );
    let (rows, screen_simulated) = screen.screen.map_or((Vec::new(), false), |s| {
        (s.rows, s.manifest.report.simulated)
    });
    Ok(Some(RiskData {
        date: latest.date,
        positions: latest.positions,
        account: latest.account,
        held: runs.finish(),
        history,
        screen: rows,
        equity,
        simulated: latest.simulated || screen_simulated,
        bars,
        warnings,
    }))
}

/// The portfolio snapshots of `dates` (oldest first) that read, oldest
/// first; the unreadable ones are warnings.
async fn snapshots(
    lake: &Lake,
    dates: Vec<NaiveDate>,
    warnings: &mut Vec<String>,
) -> Vec<PortfolioRead> {
    let (manifests, skipped) = lake.readable_manifests(dates, usize::MAX).await;
    warnings.extend(skipped.iter().map(|s| format!("{}: {}", s.date, s.reason)));
    let mut found = Vec::new();
    for (m, read) in manifests.iter().zip(lake.portfolios(&manifests).await) {
        match read {
            Ok(Some(s)) => found.push(s),
            Ok(None) => {}
            Err(e) => warnings.push(format!("{}: snapshot skipped: {e}", m.date)),
        }
    }
    found
}

/// The dates of `held` from `first` on, when `held` reaches back to
/// `first` and forward to `newest` (the newest published date): exactly
/// the bars the lake would give for `first..`. `None` when it does not
/// cover them (a short `history.memory_days`, a reload in between).
pub fn covering(
    held: &PriceHistory,
    first: NaiveDate,
    newest: Option<NaiveDate>,
) -> Option<PriceHistory> {
    let dates = held.dates();
    let covers = dates.first().is_some_and(|d| *d <= first) && dates.last().copied() == newest;
    if !covers {
        return None;
    }
    let from = dates.partition_point(|d| *d < first);
    Some(held.tail(dates.len() - from))
}

/// Feed `runs` the positions snapshots of `dates` (oldest first), newest
/// first, until every run has ended. Manifests and positions are read
/// [`READ_CONCURRENCY`] at a time ahead of the walk, and the reads stop
/// with it: a lake of years is read only as far back as the oldest
/// holding. A date without a snapshot is passed over (it neither holds
/// nor ends a holding); an unreadable one is a warning.
async fn older_holdings(
    lake: &Lake,
    mut dates: Vec<NaiveDate>,
    runs: &mut Runs,
    warnings: &mut Vec<String>,
) {
    dates.reverse();
    let mut reads = std::pin::pin!(
        lake.manifests(dates)
            .map(|(date, m)| {
                let lake = lake.clone();
                async move {
                    let m = match m {
                        Ok(Some(m)) if m.object(Dataset::Positions).is_some() => m,
                        Ok(_) => return Ok(None),
                        Err(e) => return Err(format!("{date}: {e}")),
                    };
                    match lake.positions(&m).await {
                        Ok(positions) => Ok(positions.map(|p| (date, p))),
                        Err(e) => Err(format!("{date}: positions skipped: {e}")),
                    }
                }
            })
            .buffered(READ_CONCURRENCY)
    );
    while !runs.settled() {
        match reads.next().await {
            Some(Ok(Some((date, positions)))) => runs.older(date, &positions),
            Some(Ok(None)) => {}
            Some(Err(w)) => warnings.push(w),
            None => break,
        }
    }
}
