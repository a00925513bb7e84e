//! The account snapshot step: the broker's account and positions for a
//! date, each on its own (one that cannot be had does not cost the other),
//! and what they add to the date: their objects, the profit rule's verdict
//! and the positions that could not be read.

use chrono::NaiveDate;

use super::{CollectError, Collector, object};
use crate::config::PortfolioSettings;
use crate::domain::{Account, Positions, ProfitCheck, UnreadablePosition, profit_rule};
use crate::market::Broker;
use crate::store::{AccountRecord, Dataset, NewObject, PositionRecord};

/// The broker's account and positions for a date, each or why not.
pub(super) struct AccountAndPositions {
    account: Result<Account, String>,
    positions: Result<Positions, String>,
}

/// What a snapshot adds to a date's publication.
pub(super) struct SnapshotPart {
    /// The positions and account objects that could be had.
    pub objects: Vec<NewObject>,
    /// The profit rule on the positions, when they could be had.
    pub profit: Option<ProfitCheck>,
    /// Positions skipped as unreadable.
    pub unreadable: Vec<UnreadablePosition>,
    /// Why part of the snapshot is missing, if it is.
    pub failure: Option<String>,
}

impl Collector<'_> {
    /// The snapshot for `date`, if one is taken: a live broker can only say
    /// "now", so it is asked only for the latest closed session.
    pub(super) async fn snapshot_for(
        &self,
        date: NaiveDate,
        closed: Option<NaiveDate>,
    ) -> Option<AccountAndPositions> {
        match self.broker {
            Some(b) if b.answers_any_date() || Some(date) == closed => Some(take(b, date).await),
            _ => None,
        }
    }
}

/// Account and positions, each on its own.
async fn take(broker: &dyn Broker, date: NaiveDate) -> AccountAndPositions {
    AccountAndPositions {
        account: broker
            .account(date)
            .await
            .map_err(|e| format!("account: {e}")),
        positions: broker
            .positions(date)
            .await
            .map_err(|e| format!("positions: {e}")),
    }
}

impl AccountAndPositions {
    /// Encode what was had for `date` and judge the positions by the
    /// profit rule of `portfolio`.
    pub(super) fn publishable(
        &self,
        date: NaiveDate,
        portfolio: &PortfolioSettings,
    ) -> Result<SnapshotPart, CollectError> {
        let mut part = SnapshotPart {
            objects: Vec::new(),
            profit: None,
            unreadable: Vec::new(),
            failure: None,
        };
        let mut failures = Vec::new();
        match &self.positions {
            Ok(positions) => {
                let mut sorted = positions.held.clone();
                sorted.sort_by(|a, b| a.symbol.cmp(&b.symbol));
                part.objects.push(object(
                    Dataset::Positions,
                    sorted.iter().map(|p| PositionRecord::new(date, p)),
                )?);
                part.profit = Some(profit_rule(
                    &sorted,
                    &portfolio.asset_classes,
                    portfolio.top_positions,
                    portfolio.profit_target_pct,
                ));
                for u in &positions.unreadable {
                    tracing::warn!(%date, symbol = %u.symbol, reason = %u.reason, "position skipped: cannot be read");
                }
                part.unreadable = positions.unreadable.clone();
            }
            Err(reason) => failures.push(reason.as_str()),
        }
        match &self.account {
            Ok(account) => part.objects.push(object(
                Dataset::Account,
                [AccountRecord::new(date, account)],
            )?),
            Err(reason) => failures.push(reason.as_str()),
        }
        if !failures.is_empty() {
            let reason = failures.join("; ");
            tracing::warn!(%date, %reason, "broker snapshot failed; publishing the rest without it");
            part.failure = Some(reason);
        }
        Ok(part)
    }
}
