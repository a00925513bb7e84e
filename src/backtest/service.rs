//! Backtests as one service: [`Backtests::run`] takes a typed [`Request`]
//! and gives the stored [`Outcome`], whichever front end asked
//! (`dipwatch backtest`, the bot's `/backtest`); [`Backtests::sweep`] runs
//! a parameter grid; [`Backtests::show`] and [`Backtests::list`] read
//! stored runs back (`--show`, the dashboard). The I/O lives here: the
//! bars read (the daemon's year in memory when it holds the span, else
//! the lake), the CPU work on a blocking thread, the run stored and the
//! old ones pruned. The decisions are the pure [`job`] and engine.

use tokio::task::JoinError;

use super::job::{self, Outcome, Prepared, Window};
use super::request::Request;
use super::setup::Setup;
use super::stored::{self, Listed, ReadError};
use super::sweep::{self, Axis, Point, SortBy};
use crate::config::BacktestSettings;
use crate::state::AppState;
use crate::store::{HistoryLoad, Lake};
use crate::store::{Store, StoreError};

/// Where a backtest's bars were read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The daemon's year of bars in memory.
    Memory,
    /// The lake (the request reaches before the year held).
    Lake,
}

/// Why a backtest did not run.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    /// The request's options are refused (the message names the option or
    /// the setting): a usage error.
    #[error("{0}")]
    Options(String),
    /// The lake cannot answer the request (too little history, no bars of
    /// the benchmark); the message says how to backfill.
    #[error("{0}")]
    Refused(String),
    /// Reading the bars or storing the run failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The computation stopped (a panic on the blocking thread).
    #[error("the backtest stopped unexpectedly: {0}")]
    Crashed(String),
}

impl From<JoinError> for BacktestError {
    fn from(e: JoinError) -> Self {
        crate::panics::record("backtest");
        Self::Crashed(e.to_string())
    }
}

/// A backtest run and stored.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The result, as stored.
    pub outcome: Outcome,
    /// Where its bars came from.
    pub source: Source,
}

/// A parameter grid run on every core, best first.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// Combinations tried.
    pub combinations: usize,
    /// Each combination's figures, sorted by the metric asked for.
    pub points: Vec<Point>,
    /// The honesty notes of the period (as a run's).
    pub notes: Vec<String>,
    /// What every combination leaves out.
    pub leaves_out: Vec<String>,
    /// Dates passed over while loading, with why.
    pub skipped: Vec<String>,
}

/// The backtest service: the configuration it runs with, the store it
/// reads and writes, and (in the daemon) the bars in memory.
#[derive(Debug, Clone)]
pub struct Backtests {
    setup: Setup,
    store: Store,
    memory: Option<AppState>,
    store_label: String,
}

impl Backtests {
    /// Backtests over `store` with `setup`, reading bars from the lake.
    pub fn new(setup: Setup, store: Store) -> Self {
        let store_label = store.url().to_string();
        Self {
            setup,
            store,
            memory: None,
            store_label,
        }
    }

    /// Read the bars from the daemon's state when its year holds the span
    /// a request needs (the same dates, bars and checksums as the lake's,
    /// so the same id), and say `label` for the store in messages (a chat
    /// is not told where the store is on the host).
    pub fn in_daemon(mut self, state: AppState, label: &str) -> Self {
        self.memory = Some(state);
        self.store_label = label.to_string();
        self
    }

    /// `[backtest]` with `request`'s options, checked.
    pub fn settings(&self, request: &Request) -> Result<BacktestSettings, BacktestError> {
        request
            .settings(&self.setup.backtest)
            .map_err(BacktestError::Options)
    }

    /// Run `request`, store the result (pruning what `backtest.keep_runs`
    /// and `keep_days` no longer keep) and give it back.
    pub async fn run(&self, request: &Request) -> Result<Ran, BacktestError> {
        let (outcome, source) = self
            .prepared(request, |setup, settings, p| {
                job::single(setup, settings, &p)
            })
            .await?;
        stored::save(&self.store, &outcome).await?;
        self.prune().await;
        Ok(Ran { outcome, source })
    }

    /// Run every combination of `axes` over `request`, on every core,
    /// sorted by `by` (nothing is stored).
    pub async fn sweep(
        &self,
        request: &Request,
        axes: Vec<Axis>,
        by: SortBy,
    ) -> Result<Sweep, BacktestError> {
        let (sweep, _) = self
            .prepared(request, move |_, settings, p| {
                grid(&p, &axes, by, settings.risk_free_rate_pct)
            })
            .await?;
        Ok(sweep)
    }

    /// `work` on `request`'s bars, loaded, checked and ranked: the options
    /// checked first (before any read), then the bars read, then the
    /// CPU work (ranking, the session loop, the metrics) on a blocking
    /// thread, so a daemon keeps answering meanwhile.
    async fn prepared<T: Send + 'static>(
        &self,
        request: &Request,
        work: impl FnOnce(&Setup, &BacktestSettings, Prepared) -> T + Send + 'static,
    ) -> Result<(T, Source), BacktestError> {
        let settings = self.settings(request)?;
        let (load, source) = self.load(request).await?;
        let setup = self.setup.clone();
        let window = Window {
            from: request.from,
            to: request.to,
            store: self.store_label.clone(),
        };
        let done = tokio::task::spawn_blocking(move || {
            job::prepare(&setup, &settings, &window, load).map(|p| work(&setup, &settings, p))
        })
        .await?
        .map_err(BacktestError::Refused)?;
        Ok((done, source))
    }

    /// A stored run, whole.
    pub async fn show(&self, id: &str) -> Result<Outcome, ReadError> {
        stored::read(&self.store, id).await
    }

    /// The stored runs, newest first, at most `limit`.
    pub async fn list(&self, limit: usize) -> Result<Vec<Listed>, StoreError> {
        stored::list(&self.store, limit).await
    }

    /// The store, as messages name it.
    pub fn store_label(&self) -> &str {
        &self.store_label
    }

    /// The bars `request` needs, from memory when the daemon holds them.
    async fn load(&self, request: &Request) -> Result<(HistoryLoad, Source), StoreError> {
        let from = job::load_from(&self.setup.screen, request.from);
        if let Some(state) = &self.memory {
            let snap = state.snapshot();
            if let Some(load) = job::from_memory(&snap.prices, &snap.prices_source, from) {
                return Ok((load, Source::Memory));
            }
        }
        let load = Lake::new(self.store.clone())
            .price_history(from, None)
            .await?;
        Ok((load, Source::Lake))
    }

    /// Delete the runs the retention no longer keeps. Any reader may run
    /// backtests: the store keeps only the configured count and age, so
    /// they cannot pile up. A failure is logged; the new run is stored.
    async fn prune(&self) {
        let retention = stored::Retention::of(&self.setup.backtest);
        if let Err(e) = stored::prune(&self.store, retention).await {
            tracing::warn!(error = %e, "could not delete old stored backtests");
        }
    }
}

/// Every combination of `axes` on a prepared history, best first by `by`.
fn grid(p: &Prepared, axes: &[Axis], by: SortBy, rf_pct: f64) -> Sweep {
    let combos = sweep::grid(&p.params, axes);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut points = sweep::run_grid(
        &p.load.history,
        &p.ranks,
        &combos,
        &p.excluded,
        p.start,
        p.end,
        Some(&p.benchmark_equity),
        rf_pct,
        threads,
    );
    sweep::sort(&mut points, by);
    Sweep {
        combinations: combos.len(),
        points,
        notes: job::notes(p),
        leaves_out: p.leaves_out.clone(),
        skipped: p.skipped.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use chrono::NaiveDate;

    use super::*;
    use crate::collect::{Collector, Dates};
    use crate::config::AppConfig;
    use crate::market::sim::SimMarket;

    /// Twelve names, ranked over 20 sessions (10 at least).
    fn config() -> AppConfig {
        let universe = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/universe/russell1000.txt"
        );
        let env: HashMap<String, String> = [
            ("DIPWATCH__MARKET__UNIVERSE", universe),
            ("DIPWATCH__SCREEN__LOOKBACK_DAYS", "20"),
            ("DIPWATCH__SCREEN__MIN_HISTORY", "10"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut config = AppConfig::load_with_env(None, env).unwrap();
        config.universe.truncate(12);
        config
    }

    fn memory_store() -> Store {
        Store::from_object_store(
            Arc::new(object_store::memory::InMemory::new()),
            "memory://lake",
        )
    }

    /// The service over a lake the simulated market filled from June to
    /// October 2026.
    async fn with_history() -> Backtests {
        let config = config();
        let store = memory_store();
        let market = SimMarket::new(config.universe.clone());
        let settings = crate::app::collect_settings(&config);
        let collector = Collector {
            settings: &settings,
            market: &market,
            broker: None,
            store: &store,
        };
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let range = Dates::Range {
            from: d("2026-06-01"),
            to: d("2026-10-30"),
        };
        let now = "2026-11-25T12:00:00Z".parse().unwrap();
        collector.run(range, now).await.unwrap();
        Backtests::new(Setup::of(&config), store)
    }

    #[tokio::test]
    async fn refused_options_are_options_errors_naming_the_setting() {
        let backtests = Backtests::new(Setup::of(&config()), memory_store());
        let request = Request::parse("top 0").unwrap();
        match backtests.run(&request).await {
            Err(BacktestError::Options(m)) => assert!(m.contains("backtest.max_positions"), "{m}"),
            other => panic!("{other:?}"),
        }
        let axes = vec![sweep::parse_axis("top=2,3").unwrap()];
        let swept = backtests.sweep(&request, axes, SortBy::Sharpe).await;
        assert!(matches!(swept, Err(BacktestError::Options(_))), "{swept:?}");
    }

    #[tokio::test]
    async fn an_empty_lake_is_refused_naming_the_store_as_told() {
        let backtests = Backtests::new(Setup::of(&config()), memory_store())
            .in_daemon(AppState::new(Default::default()), "the store");
        match backtests.run(&Request::default()).await {
            Err(BacktestError::Refused(m)) => {
                assert!(m.starts_with("no bars published in the store"), "{m}");
                assert!(m.contains("dipwatch collect --from"), "{m}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_run_is_stored_with_its_parameters_and_read_back_the_same() {
        let backtests = with_history().await;
        let request =
            Request::parse("benchmark universe entry -5 top 4 max-hold 5 fill close").unwrap();
        let ran = backtests.run(&request).await.unwrap();
        assert_eq!(ran.source, Source::Lake);
        let summary = &ran.outcome.summary;
        assert_eq!(summary.parameters.strategy.max_positions, 4);
        assert!(summary.parameters.optimistic());
        assert_eq!(summary.parameters.screen.lookback_days, 20);
        assert_eq!(summary.benchmark, "equal-weight universe");
        assert!(!ran.outcome.trades.is_empty(), "the case trades");
        // Read back: the same document (CSV floats to within a unit of the
        // last place, as the CSV reader parses them).
        let shown = backtests.show(&summary.id).await.unwrap();
        assert_eq!(shown.summary.parameters, summary.parameters);
        assert_eq!(shown.summary.id, summary.id);
        assert_eq!(shown.trades.len(), ran.outcome.trades.len());
        assert_eq!(shown.equity.len(), ran.outcome.equity.len());
        for (a, b) in shown.equity.iter().zip(&ran.outcome.equity) {
            assert_eq!(a.date, b.date);
            assert!(
                (a.equity - b.equity).abs() <= 1e-9 * b.equity.abs(),
                "{a:?} {b:?}"
            );
        }
        let listed = backtests.list(10).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, summary.id);
        // The same request on the same data is the same run.
        let again = backtests.run(&request).await.unwrap();
        assert_eq!(again.outcome, ran.outcome);

        // A sweep of the same request: one point per combination, the
        // base combination's figures the run's.
        let axes = vec![sweep::parse_axis("top=4,2").unwrap()];
        let swept = backtests
            .sweep(&request, axes, SortBy::TotalReturn)
            .await
            .unwrap();
        assert_eq!((swept.combinations, swept.points.len()), (2, 2));
        let four = swept.points.iter().find(|p| p.values == [4.0]).unwrap();
        assert_eq!(four.metrics, summary.metrics.strategy);
    }
}
