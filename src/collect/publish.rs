//! The publish step of one date: screen it from the fetched histories,
//! check the source has published the day, encode its objects (and the
//! snapshot's), carry over an earlier run's snapshot objects this run does
//! not renew, and write it all with the manifest last.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{NaiveDate, Utc};

use super::fetch::Histories;
use super::report::{DateRun, date_report};
use super::screen_date::{DateScreen, screen_date};
use super::snapshot::AccountAndPositions;
use super::{CollectError, Collector, elapsed_ms, object};
use crate::domain::{RunOutcome, RunReport, TradingDays};
use crate::store::{BarRecord, Dataset, NewObject, ObjectEntry};

impl Collector<'_> {
    /// Screen and publish one date.
    pub(super) async fn publish_date(
        &self,
        run: DateRun<'_>,
        snapshot: Option<&AccountAndPositions>,
        days: &TradingDays,
        histories: &Histories,
    ) -> Result<RunReport, CollectError> {
        let date = run.date;
        let cfg = self.settings;
        let t_screen = Instant::now();
        let benchmark = cfg.benchmark_only.clone();
        let day = screen_date(
            date,
            &histories.series,
            benchmark.as_ref(),
            days,
            &cfg.screen,
        );
        let screen_ms = elapsed_ms(t_screen);
        let mut report = date_report(
            run,
            &day,
            &histories.rejected,
            self.market,
            cfg.universe.len(),
            screen_ms,
        );
        if let Some(reason) = day.unavailable() {
            report.outcome = RunOutcome::DataNotAvailable;
            report.reason = Some(reason);
            report.finished_at = Utc::now();
            tracing::warn!(%date, reason = report.reason.as_deref(), "data not yet available; nothing published");
            return Ok(report);
        }

        let t_persist = Instant::now();
        let mut objects = screen_objects(&day)?;
        if let Some(snapshot) = snapshot {
            let part = snapshot.publishable(date, &cfg.portfolio)?;
            objects.extend(part.objects);
            report.profit = part.profit;
            report.unreadable_positions = part.unreadable;
            if let Some(reason) = part.failure {
                report.reason = Some(format!("broker snapshot failed: {reason}"));
            }
        }
        let carried = self.carried_entries(date, &objects).await;
        report
            .phases_ms
            .insert("persist".into(), elapsed_ms(t_persist));
        report.finished_at = Utc::now();
        self.store
            .publish(date, objects, carried, report.clone())
            .await?;
        tracing::info!(%date, ranked = report.symbols.ok, skipped = report.symbols.skipped, "published");
        Ok(report)
    }

    /// Snapshot objects an earlier run published for `date` that this run
    /// does not renew (re-running a past date cannot re-take a snapshot):
    /// kept in the new manifest so nothing already stored is dropped.
    async fn carried_entries(
        &self,
        date: NaiveDate,
        writing: &[NewObject],
    ) -> BTreeMap<String, ObjectEntry> {
        let previous = match crate::store::Lake::new(self.store.clone())
            .manifest(date)
            .await
        {
            Ok(Some(m)) => m,
            Ok(None) => return BTreeMap::new(),
            Err(e) => {
                tracing::warn!(%date, error = %e, "previous manifest unreadable; not carrying its snapshot");
                return BTreeMap::new();
            }
        };
        previous
            .objects
            .into_iter()
            .filter(|(name, _)| writing.iter().all(|o| o.dataset.name() != name))
            .collect()
    }
}

/// The date's bars and drawdowns objects.
fn screen_objects(day: &DateScreen<'_>) -> Result<Vec<NewObject>, CollectError> {
    Ok(vec![
        object(
            Dataset::Bars,
            day.bars.iter().map(|(s, b)| BarRecord::new(s, b)),
        )?,
        object(Dataset::Drawdowns, &day.screen.rows)?,
    ])
}
