//! One collection run, as a list of steps, one file each: the exchange
//! clock and the dates to publish (`dates.rs`), the retry queue
//! (`queue.rs`), one fetch of every symbol's bars with validation
//! (`fetch.rs`), then per date the account snapshot (`snapshot.rs`), the
//! pure screen of the date ([`screen_date()`]), the report (`report.rs`)
//! and the publication (`publish.rs`). A symbol with bad or missing data is
//! skipped with its reason and never sinks the run; a failure of the
//! market-data phase as a whole publishes nothing.
//!
//! One fetch serves a range of dates: the bars of the whole span are pulled
//! once and each date is screened on the bars up to it, which is how a
//! history is backfilled (`collect --from D --to D`), and how a backtest
//! screens each date.

mod dates;
mod fetch;
mod publish;
mod queue;
mod report;
pub mod screen_date;
mod snapshot;

use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};

use crate::config::{MarketSettings, PortfolioSettings, Screen};
use crate::domain::{RequestStats, RunOutcome, RunReport, Symbol};
use crate::market::{Broker, MarketData, MarketError};
use crate::screen::ScreenParams;
use crate::store::{Store, StoreError};

pub use screen_date::{DateScreen, MIN_SHARE_WITH_TODAYS_BAR, screen_date};

/// Which dates a run publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dates {
    /// The latest session that has closed.
    Latest,
    /// One given session.
    One(NaiveDate),
    /// Every session in `from..=to` that has closed.
    Range {
        /// First date.
        from: NaiveDate,
        /// Last date.
        to: NaiveDate,
    },
    /// Only the dates the retry queue holds.
    RetryFailed,
}

/// As logs show it: `latest`, `2026-11-20`, `2026-11-10..=2026-11-20`,
/// `retry-queue`.
impl std::fmt::Display for Dates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Latest => f.write_str("latest"),
            Self::One(d) => write!(f, "{d}"),
            Self::Range { from, to } => write!(f, "{from}..={to}"),
            Self::RetryFailed => f.write_str("retry-queue"),
        }
    }
}

/// Why a run could not publish anything.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The requested date is not an exchange session.
    #[error("{0} is not a trading day (weekend or exchange holiday)")]
    NotTradingDay(NaiveDate),
    /// The requested session has not closed yet, so its bar is not final.
    #[error("the {0} session has not closed yet; its daily bars are not final")]
    NotClosed(NaiveDate),
    /// No closed session in the requested span.
    #[error("no closed trading session between {0} and {1}")]
    NoSession(NaiveDate, NaiveDate),
    /// A range with its ends swapped.
    #[error("--from {0} is after --to {1}")]
    BadRange(NaiveDate, NaiveDate),
    /// The market-data phase failed as a whole. (The cause is the error's
    /// source, so a `{:#}` chain prints it once.)
    #[error("market data")]
    Market(#[from] MarketError),
    /// Writing failed; the date is not published.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Encoding failed (a bug, not a data problem).
    #[error("encoding: {0}")]
    Encode(String),
}

/// What a collection run takes from the configuration.
#[derive(Debug, Clone)]
pub struct CollectSettings {
    /// `market.universe`: the symbols screened.
    pub universe: Vec<Symbol>,
    /// The `backtest.benchmark` ticker when it is outside the universe:
    /// collected and stored with the bars, never ranked.
    pub benchmark_only: Option<Symbol>,
    /// `[screen]`: the drawdown engine's parameters.
    pub screen: ScreenParams,
    /// `[portfolio]`: the profit verdict of each snapshot.
    pub portfolio: PortfolioSettings,
    /// `market.retry_failed_max_attempts`: when a failed symbol leaves the
    /// retry queue.
    pub retry_failed_max_attempts: u32,
}

impl CollectSettings {
    /// From the universe, the benchmark collected beside it
    /// (`AppConfig::benchmark_only`), and the sections a run reads.
    pub fn new(
        universe: &[Symbol],
        benchmark_only: Option<Symbol>,
        screen: &Screen,
        portfolio: &PortfolioSettings,
        market: &MarketSettings,
    ) -> Self {
        Self {
            universe: universe.to_vec(),
            benchmark_only,
            screen: screen.params,
            portfolio: portfolio.clone(),
            retry_failed_max_attempts: market.retry_failed_max_attempts,
        }
    }

    /// The symbols a run fetches: the universe, then the benchmark when
    /// it is outside it.
    pub fn collected_symbols(&self) -> Vec<Symbol> {
        let mut out = self.universe.clone();
        out.extend(self.benchmark_only.clone());
        out
    }
}

/// Everything a run needs, borrowed.
pub struct Collector<'a> {
    /// Universe, screen and portfolio settings.
    pub settings: &'a CollectSettings,
    /// Price source.
    pub market: &'a dyn MarketData,
    /// Account source, if any.
    pub broker: Option<&'a dyn Broker>,
    /// Where results go.
    pub store: &'a Store,
}

impl Collector<'_> {
    /// Run a collection for `dates`, as of `now`. Returns one report per
    /// date considered, in date order.
    pub async fn run(
        &self,
        dates: Dates,
        now: DateTime<Utc>,
    ) -> Result<Vec<RunReport>, CollectError> {
        let started_at = now;
        let t0 = Instant::now();
        let now = self.exchange_now(dates, now).await;
        let stats_before = self.market.request_stats();
        let mut queue = queue::RunQueue::load(self.store).await;
        let Some(plan) = self.plan(dates, now, &queue.dates()).await? else {
            return Ok(Vec::new());
        };
        let fetched = self.fetch(&plan).await?;
        let fetch_ms = elapsed_ms(t0);

        let max_attempts = self.settings.retry_failed_max_attempts;
        let mut reports = Vec::with_capacity(plan.targets.len());
        for &date in &plan.targets {
            let snapshot = self.snapshot_for(date, plan.closed).await;
            let (settled, pending) =
                queue.settle(date, &fetched.failed, &fetched.refused, max_attempts);
            let requests = match (self.market.request_stats(), &stats_before) {
                (Some(now), Some(before)) => now.since(before),
                _ => RequestStats::default(),
            };
            let run = report::DateRun {
                date,
                failed: &fetched.failed,
                refused: &fetched.refused,
                newest: plan.last,
                settled,
                requests,
                fetch_ms,
                started_at,
            };
            match self
                .publish_date(run, snapshot.as_ref(), &plan.days, &fetched.histories)
                .await
            {
                Ok(report) => {
                    if report.outcome == RunOutcome::Published {
                        queue.commit(self.store, date, pending).await;
                    }
                    reports.push(report);
                }
                // Nothing of this run was published yet: the whole run failed.
                Err(e) if reports.is_empty() => return Err(e),
                // Earlier dates are published and stay so: report them, and
                // this date as failed (nothing of it is visible: its
                // manifest was not written), and stop.
                Err(e) => {
                    tracing::error!(%date, error = %e, "publishing failed; earlier dates of this run stay published");
                    reports.push(report::failed_report(date, self.market, started_at, &e));
                    break;
                }
            }
        }
        Ok(reports)
    }
}

/// Milliseconds since `t`, saturating.
fn elapsed_ms(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// One dataset's object from its rows.
fn object<R: serde::Serialize>(
    dataset: crate::store::Dataset,
    rows: impl IntoIterator<Item = R>,
) -> Result<crate::store::NewObject, CollectError> {
    let (bytes, rows) =
        crate::store::encode(dataset, rows).map_err(|e| CollectError::Encode(e.0))?;
    Ok(crate::store::NewObject {
        dataset,
        bytes,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;
    use crate::domain::Symbol;
    use crate::market::scripted::Scripted;
    use crate::store::Dataset;
    use crate::test_support::d;

    /// The sim, but with no bars on or after `cutoff` (the source has not
    /// published the day yet) and a broker that only knows "now".
    fn lagging(universe: Vec<Symbol>, cutoff: NaiveDate) -> Scripted {
        let mut market = Scripted::new(universe);
        market.bars_before = Some(cutoff);
        market
    }

    fn config(symbols: usize) -> CollectSettings {
        let universe = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/universe/russell1000.txt"
        );
        let env: HashMap<String, String> = [(
            "DIPWATCH__MARKET__UNIVERSE".to_string(),
            universe.to_string(),
        )]
        .into();
        let c = crate::config::AppConfig::load_with_env(None, env).unwrap();
        let universe = &c.universe[..symbols];
        CollectSettings::new(universe, None, &c.screen, &c.portfolio, &c.market)
    }

    /// 2026-11-25 12:00 UTC: the 11-24 session has closed.
    fn now() -> DateTime<Utc> {
        "2026-11-25T12:00:00Z".parse().unwrap()
    }

    /// What every collector test runs on: the first `symbols` names of the
    /// shipped universe, a [`lagging`] market that is also the broker, and
    /// an in-memory lake.
    struct Bench {
        settings: CollectSettings,
        market: Scripted,
        store: Store,
    }

    impl Bench {
        fn new(symbols: usize, cutoff: NaiveDate) -> Self {
            let settings = config(symbols);
            let market = lagging(settings.universe.clone(), cutoff);
            let store = Store::from_object_store(
                Arc::new(object_store::memory::InMemory::new()),
                "memory://",
            );
            Self {
                settings,
                market,
                store,
            }
        }

        fn collector(&self) -> Collector<'_> {
            Collector {
                settings: &self.settings,
                market: &self.market,
                broker: Some(&self.market),
                store: &self.store,
            }
        }
    }

    #[tokio::test]
    async fn a_day_the_source_has_not_published_is_not_screened_under_its_date() {
        let bench = Bench::new(40, d("2026-11-24"));
        let (c, store) = (bench.collector(), &bench.store);
        let reports = c.run(Dates::Latest, now()).await.unwrap();
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].date, d("2026-11-24"));
        assert_eq!(reports[0].outcome, RunOutcome::DataNotAvailable);
        assert!(
            reports[0]
                .reason
                .as_deref()
                .unwrap()
                .contains("only 0 of 40")
        );
        assert!(
            crate::store::Lake::new(store.clone())
                .dates(None, None)
                .await
                .unwrap()
                .is_empty(),
            "nothing published"
        );

        // The day before is complete and publishes normally.
        let earlier = c.run(Dates::One(d("2026-11-23")), now()).await.unwrap();
        assert_eq!(earlier[0].outcome, RunOutcome::Published);
    }

    #[tokio::test]
    async fn a_live_broker_snapshots_only_the_latest_session_and_reruns_keep_it() {
        let bench = Bench::new(30, d("2027-01-01"));
        let (c, store) = (bench.collector(), &bench.store);
        let reports = c
            .run(
                Dates::Range {
                    from: d("2026-11-20"),
                    to: d("2026-11-24"),
                },
                now(),
            )
            .await
            .unwrap();
        assert_eq!(
            reports.iter().map(|r| r.date).collect::<Vec<_>>(),
            [d("2026-11-20"), d("2026-11-23"), d("2026-11-24")]
        );
        let lake = crate::store::Lake::new(store.clone());
        let m20 = lake.manifest(d("2026-11-20")).await.unwrap().unwrap();
        assert!(
            m20.object(Dataset::Positions).is_none(),
            "no snapshot for a past date"
        );
        let m24 = lake.manifest(d("2026-11-24")).await.unwrap().unwrap();
        let positions = m24
            .object(Dataset::Positions)
            .cloned()
            .expect("latest has a snapshot");
        assert!(
            m24.report.profit.is_some(),
            "profit rule evaluated with the snapshot"
        );

        // A day later, re-running 11-24 cannot re-take its snapshot: the
        // stored one is carried into the new manifest, not dropped.
        // 11-27 07:00 New York: 11-25 is now the latest closed session.
        let later: DateTime<Utc> = "2026-11-27T12:00:00Z".parse().unwrap();
        let again = c.run(Dates::One(d("2026-11-24")), later).await.unwrap();
        assert_eq!(again[0].outcome, RunOutcome::Published);
        let m24b = lake.manifest(d("2026-11-24")).await.unwrap().unwrap();
        assert_eq!(m24b.object(Dataset::Positions), Some(&positions));
        assert!(lake.positions(&m24b).await.unwrap().is_some());
    }
}
