//! Single-flight collection runs. Schedule, catch-up, retries and `/trigger`
//! all come through [`Runner::trigger`]: one run at a time, a second request
//! is told which run is in progress. After each run the state is re-read
//! from the store (readers only ever see what was published) and the
//! metrics are updated.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::collect::CollectSettings;
use crate::collect::{Collector, Dates};
use crate::config::HistorySettings;
use crate::domain::{LastOutcome, LastRun, RunOutcome, RunSource};
use crate::market::{Broker, MarketData};
use crate::metrics::Metrics;
use crate::risk::RiskParams;
use crate::state::AppState;
use crate::store::Store;

/// What asking for a run got.
#[derive(Debug)]
pub enum Trigger {
    /// Started; the receiver yields the result when it ends.
    Started(oneshot::Receiver<LastRun>),
    /// One is already running, started by this.
    AlreadyRunning(RunSource),
}

/// What runs and reloads take from the configuration.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// What a collection reads: universe, screen, portfolio, retries.
    pub collect: CollectSettings,
    /// `[history]`: the bars a reload holds in memory.
    pub history: HistorySettings,
    /// The risk view computed after each reload.
    pub risk: RiskParams,
}

/// Everything a run needs, shared.
pub struct RunnerParts {
    /// What runs and reloads take from the configuration.
    pub settings: Arc<RunSettings>,
    /// Price source.
    pub market: Arc<dyn MarketData>,
    /// Account source.
    pub broker: Option<Arc<dyn Broker>>,
    /// The data lake.
    pub store: Store,
    /// What readers see.
    pub state: AppState,
    /// Where figures go.
    pub metrics: Arc<Metrics>,
}

struct Inner {
    parts: RunnerParts,
    busy: Mutex<Option<RunSource>>,
    current: Mutex<Option<JoinHandle<()>>>,
}

/// The single-flight runner (cheap to clone).
#[derive(Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("running", &self.running())
            .finish()
    }
}

/// Clears the busy flag however the run ends (panic included).
struct BusyGuard(Arc<Inner>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        if let Ok(mut b) = self.0.busy.lock() {
            *b = None;
        }
    }
}

impl Runner {
    /// A runner over `parts`.
    pub fn new(parts: RunnerParts) -> Self {
        Self {
            inner: Arc::new(Inner {
                parts,
                busy: Mutex::new(None),
                current: Mutex::new(None),
            }),
        }
    }

    /// The shared state.
    pub fn state(&self) -> &AppState {
        &self.inner.parts.state
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.parts.store
    }

    /// The price source (and its calendar).
    pub fn market(&self) -> &Arc<dyn MarketData> {
        &self.inner.parts.market
    }

    /// The run in progress, if any.
    pub fn running(&self) -> Option<RunSource> {
        self.inner.busy.lock().ok().and_then(|b| *b)
    }

    /// Start a run for `dates` unless one is running.
    pub fn trigger(&self, source: RunSource, dates: Dates) -> Trigger {
        {
            let Ok(mut busy) = self.inner.busy.lock() else {
                return Trigger::AlreadyRunning(source);
            };
            if let Some(running) = *busy {
                return Trigger::AlreadyRunning(running);
            }
            *busy = Some(source);
        }
        let (tx, rx) = oneshot::channel();
        let inner = self.inner.clone();
        let span = tracing::info_span!("run", source = source.as_str());
        let handle = tokio::spawn(
            async move {
                let guard = BusyGuard(inner.clone());
                let last = match refused(&inner.parts, source) {
                    Some(refusal) => refusal,
                    None => execute(&inner.parts, source, dates).await,
                };
                // Free the slot before telling the waiter, so whoever hears
                // "finished" can start the next run at once.
                drop(guard);
                let _ = tx.send(last);
            }
            .instrument(span),
        );
        if let Ok(mut cur) = self.inner.current.lock() {
            *cur = Some(handle);
        }
        Trigger::Started(rx)
    }

    /// Let a run in progress finish for up to `grace`, then stop it. A run
    /// stopped this way publishes nothing partial (the manifest is written
    /// last) and is picked up by catch-up at the next start. Returns false
    /// if a run had to be stopped.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        let handle = self.inner.current.lock().ok().and_then(|mut c| c.take());
        let Some(mut handle) = handle else {
            return true;
        };
        if handle.is_finished() {
            return true;
        }
        tracing::info!(
            grace_secs = grace.as_secs_f64(),
            "waiting for the run in progress"
        );
        match tokio::time::timeout(grace, &mut handle).await {
            Ok(_) => true,
            Err(_) => {
                handle.abort();
                let _ = handle.await;
                tracing::warn!("run interrupted by shutdown; nothing partial was published");
                let parts = &self.inner.parts;
                parts.metrics.record_run(&LastOutcome::Interrupted, grace);
                false
            }
        }
    }

    /// Re-read the store into the state (start-up and after runs).
    pub async fn reload_state(&self) -> Result<(), crate::store::StoreError> {
        reload(&self.inner.parts).await
    }
}

async fn reload(parts: &RunnerParts) -> Result<(), crate::store::StoreError> {
    let previous = parts.state.snapshot();
    let settings = crate::state::LoadSettings::new(
        &parts.settings.collect.portfolio,
        &parts.settings.history,
        parts.market.as_ref(),
    );
    // The screen, the portfolio and the run reports first: readers (and
    // /readyz) have them at once. The bars held in memory and the risk view
    // computed from the lake follow in a second swap; until then readers
    // keep the previous ones.
    let quick = crate::state::LoadSettings {
        memory_days: 0,
        ..settings
    };
    // One pass over the lake: the state, the bars and the risk view share
    // what it read, so each object is read once.
    let lake = crate::store::Lake::new(parts.store.clone()).session();
    let mut fresh = crate::state::load(&lake, quick, &previous).await?;
    fresh.prices = previous.prices.clone();
    fresh.prices_source = previous.prices_source.clone();
    fresh.risk = previous.risk.clone();
    let newest = fresh.reports.first().map(|r| r.date);
    publish(parts, fresh);
    let (prices, source, warnings) =
        crate::state::load_prices(&lake, newest, settings.memory_days).await?;
    for w in &warnings {
        tracing::warn!(warning = %w, "skipped while loading the store");
    }
    let risk = risk_view(parts, &lake, &prices).await;
    parts.state.update(|current| {
        let mut next = current.clone();
        next.prices = prices;
        next.prices_source = source;
        next.risk = risk;
        next.load_warnings.extend(warnings);
        next
    });
    Ok(())
}

/// Log what a fresh snapshot warns about, record its gauges, swap it in.
fn publish(parts: &RunnerParts, fresh: crate::state::Snapshot) {
    for w in &fresh.load_warnings {
        tracing::warn!(warning = %w, "skipped while loading the store");
    }
    if let Some(w) = crate::state::simulated_warning(&fresh) {
        tracing::warn!(warning = %w, "SIMULATED PRICES in the store of a real-market daemon");
    }
    parts.metrics.record_snapshot(&fresh);
    parts.state.update(|_| fresh);
}

/// The risk view of the latest positions snapshot, for `/risk`, the
/// dashboard and the risk alerts: read and computed here, after each run,
/// so no reader touches the store. Its bars are the ones just loaded into
/// memory when they reach back far enough (`prices`), else the lake's. A
/// failure is logged and leaves the view out.
async fn risk_view(
    parts: &RunnerParts,
    lake: &crate::store::Lake,
    prices: &crate::query::PriceHistory,
) -> Option<Arc<crate::risk::RiskReport>> {
    let params = &parts.settings.risk;
    match crate::risk::load_data(lake, params, Some(prices)).await {
        Ok(Some(data)) => {
            for w in &data.warnings {
                tracing::warn!(warning = %w, "skipped while loading the risk view");
            }
            Some(Arc::new(crate::risk::analyze(&data.input(), params)))
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "the risk view could not be loaded");
            None
        }
    }
}

/// One run, start to published state.
/// A run this process may not make: it does not hold the store's writer
/// lease (a standby's dashboard asked for "Run now"). Nothing is fetched,
/// and nothing recorded as this process's run.
fn refused(parts: &RunnerParts, source: RunSource) -> Option<LastRun> {
    let e = parts.store.check_fence().err()?;
    tracing::warn!(error = %e, "run refused");
    Some(LastRun {
        source,
        started_at: Utc::now(),
        duration: Duration::ZERO,
        outcome: LastOutcome::Failed {
            reason: e.to_string(),
        },
    })
}

async fn execute(parts: &RunnerParts, source: RunSource, dates: Dates) -> LastRun {
    let started_at = Utc::now();
    let t0 = Instant::now();
    tracing::info!(%dates, "run starting");
    let collector = Collector {
        settings: &parts.settings.collect,
        market: parts.market.as_ref(),
        broker: parts.broker.as_deref(),
        store: &parts.store,
    };
    let stats_before = parts.market.request_stats();
    let result = collector.run(dates, started_at).await;
    // The Alpaca figures of the run whatever its outcome: a failed run
    // (breaker open, calendar down) is the one whose requests, retries and
    // breaker state matter most.
    if let (Some(before), Some(after)) = (&stats_before, parts.market.request_stats()) {
        parts.metrics.record_requests(&after.since(before));
    }
    let outcome = match result {
        Err(e) => LastOutcome::Failed {
            reason: format!("{:#}", anyhow::Error::new(e)),
        },
        Ok(reports) => {
            match reports
                .iter()
                .rev()
                .find(|r| r.outcome == RunOutcome::Published)
            {
                _ if reports
                    .last()
                    .is_some_and(|r| r.outcome == RunOutcome::DataNotAvailable) =>
                {
                    LastOutcome::NotAvailable {
                        reason: reports
                            .last()
                            .and_then(|r| r.reason.clone())
                            .unwrap_or_else(|| "data not yet available".into()),
                    }
                }
                Some(r) => LastOutcome::Published {
                    date: r.date,
                    ranked: r.symbols.ok,
                    skipped: r.symbols.skipped,
                    failed: r.symbols.failed,
                },
                None => LastOutcome::Failed {
                    reason: "nothing to collect".into(),
                },
            }
        }
    };
    let duration = t0.elapsed();
    match &outcome {
        LastOutcome::Failed { reason } => tracing::error!(%reason, "run failed"),
        LastOutcome::NotAvailable { reason } => {
            tracing::warn!(%reason, "run: data not yet available")
        }
        other => tracing::info!(
            outcome = other.label(),
            ms = duration.as_millis() as u64,
            "run finished"
        ),
    }
    parts.metrics.record_run(&outcome, duration);
    let last = LastRun {
        source,
        started_at,
        duration,
        outcome,
    };
    if let Err(e) = reload(parts).await {
        tracing::error!(error = %e, "could not re-read the store after the run");
    }
    let recorded = last.clone();
    parts.state.update(|s| crate::state::Snapshot {
        last_run: Some(recorded),
        ..s.clone()
    });
    last
}
