//! The in-memory snapshot the bot and the HTTP endpoints read: the latest
//! published screen, the latest portfolio snapshot, per-symbol drawdown
//! history, dataset health, the last run. Built from the store at start and
//! rebuilt after every run, then swapped in whole (`watch` channel of an
//! `Arc`), so readers never see a half-updated state and never touch the
//! store or Alpaca on their hot path.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::watch;

use crate::config::PortfolioSettings;
use crate::domain::{
    Account, DrawdownRow, LastRun, Position, ProfitCheck, RunReport, Symbol, profit_rule,
};
use crate::query::PriceHistory;
use crate::store::{Dataset, Lake, PortfolioRead, RunManifest, StoreError};

/// Published dates whose drawdowns are kept for `/symbol` history.
pub const HISTORY_DATES: usize = 60;

/// The latest published screen.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreenState {
    /// Screen date.
    pub date: NaiveDate,
    /// Ranked rows, rank 1 first.
    pub rows: Vec<DrawdownRow>,
    /// The run report of that date.
    pub report: RunReport,
    index: HashMap<Symbol, usize>,
}

impl ScreenState {
    /// From a date's rows and report.
    pub fn new(date: NaiveDate, rows: Vec<DrawdownRow>, report: RunReport) -> Self {
        let index = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.symbol.clone(), i))
            .collect();
        Self {
            date,
            rows,
            report,
            index,
        }
    }

    /// One symbol's row.
    pub fn row(&self, symbol: &Symbol) -> Option<&DrawdownRow> {
        self.index.get(symbol).map(|i| &self.rows[*i])
    }

    /// How many ranked names are at or below `pct` (e.g. -20).
    pub fn count_below(&self, pct: f64) -> usize {
        self.rows.partition_point(|r| r.drawdown_pct <= pct)
    }
}

/// The latest account and positions snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct PortfolioState {
    /// Snapshot date.
    pub date: NaiveDate,
    /// The account.
    pub account: Account,
    /// Positions, by symbol.
    pub positions: Vec<Position>,
    /// The profit-taking rule on these positions.
    pub profit: ProfitCheck,
}

/// One day of a symbol's drawdown history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryPoint {
    /// Date.
    pub date: NaiveDate,
    /// Drawdown, percent.
    pub drawdown_pct: f64,
    /// Rank that day.
    pub rank: u32,
}

/// Latest date and rows of one dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasetStatus {
    /// Which dataset.
    pub dataset: Dataset,
    /// Newest date holding it.
    pub latest: Option<NaiveDate>,
    /// Rows on that date.
    pub rows: u64,
}

/// Everything readers see, swapped whole.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Latest published screen.
    pub screen: Option<ScreenState>,
    /// Latest account and positions.
    pub portfolio: Option<PortfolioState>,
    /// Drawdown history per symbol, oldest first, over the last
    /// [`HISTORY_DATES`] published dates.
    pub history: HashMap<Symbol, Vec<HistoryPoint>>,
    /// Daily bars of the last `history.memory_days` calendar days up to
    /// the newest published date, as columns: what charts, the dashboard
    /// and the risk view read, so none of them waits on the store.
    pub prices: Arc<PriceHistory>,
    /// What `prices` was read from: the span and each date's checksum, so
    /// a result computed from them (a backtest) carries the same data
    /// fingerprint as one computed from the lake.
    pub prices_source: Arc<PricesSource>,
    /// The account snapshots of the last [`HISTORY_DATES`] published dates
    /// that have one, oldest first (the dashboard's equity chart).
    pub accounts: Vec<(NaiveDate, Account)>,
    /// The run reports of the last [`HISTORY_DATES`] published dates,
    /// newest first (the dashboard's `/runs`).
    pub reports: Vec<RunReport>,
    /// Per-dataset health.
    pub datasets: Vec<DatasetStatus>,
    /// Dates skipped while loading (damaged objects), with why.
    pub load_warnings: Vec<String>,
    /// The last run of this process.
    pub last_run: Option<LastRun>,
    /// When the scheduler fires next.
    pub next_run: Option<DateTime<Utc>>,
    /// `market.provider`.
    pub provider: String,
    /// True when what readers are shown may be simulated: the screen or
    /// the portfolio comes from a simulated run (the manifest says so), or
    /// the provider itself is simulated (live `/account`).
    pub simulated: bool,
    /// Dates among those loaded whose manifest says simulated, on a daemon
    /// whose provider is real: a store a demo filled. Newest first.
    pub simulated_dates: Vec<NaiveDate>,
    /// When the store was last read into this snapshot.
    pub loaded_at: Option<DateTime<Utc>>,
    /// The risk view of the latest positions snapshot, computed when the
    /// state is reloaded (`/risk`, the dashboard and the risk alerts read
    /// it, never the store); `None` with
    /// no positions snapshot or when it could not be computed (logged).
    pub risk: Option<Arc<crate::risk::RiskReport>>,
}

/// The shared, swappable snapshot.
#[derive(Debug, Clone)]
pub struct AppState {
    tx: Arc<watch::Sender<Arc<Snapshot>>>,
}

impl AppState {
    /// Start from `initial`.
    pub fn new(initial: Snapshot) -> Self {
        let (tx, _rx) = watch::channel(Arc::new(initial));
        Self { tx: Arc::new(tx) }
    }

    /// The current snapshot (cheap: an `Arc` clone).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.tx.borrow().clone()
    }

    /// Replace the snapshot with `f(current)`.
    pub fn update(&self, f: impl FnOnce(&Snapshot) -> Snapshot) {
        self.tx.send_modify(|cur| *cur = Arc::new(f(cur)));
    }

    /// A receiver that wakes on every swap.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.tx.subscribe()
    }
}

/// The warning a real-market daemon gives about simulated dates in its
/// store (a demo filled it: both default to `./data`), if there are any.
pub fn simulated_warning(snap: &Snapshot) -> Option<String> {
    let newest = snap.simulated_dates.first()?;
    Some(format!(
        "the store holds SIMULATED prices for {} of the last {HISTORY_DATES} published dates \
         (newest {newest}), written by market.provider = \"sim\" (config/demo.toml?): \
         they are shown labelled as simulated; point storage.url elsewhere or remove them",
        snap.simulated_dates.len()
    ))
}

/// Where [`Snapshot::prices`] came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PricesSource {
    /// The first calendar day the span covers (every published date from
    /// it to the newest is held, or listed in `skipped`); `None` when
    /// nothing is held.
    pub from: Option<NaiveDate>,
    /// Each held date's bars checksum (from its manifest), oldest first.
    pub checksums: Vec<(NaiveDate, String)>,
    /// Dates in the span passed over as unreadable, with why.
    pub skipped: Vec<crate::store::Skipped>,
}

/// The bars of the `memory_days` calendar days ending on `newest` (the
/// newest published date) as columns, what they were read from, and the
/// dates skipped, with why.
pub async fn load_prices(
    lake: &Lake,
    newest: Option<NaiveDate>,
    memory_days: u32,
) -> Result<(Arc<PriceHistory>, Arc<PricesSource>, Vec<String>), StoreError> {
    let Some(newest) = newest.filter(|_| memory_days > 0) else {
        return Ok((Arc::default(), Arc::default(), Vec::new()));
    };
    let from = newest - chrono::Days::new(u64::from(memory_days - 1));
    let loaded = lake.price_history(Some(from), Some(newest)).await?;
    let warnings = loaded
        .skipped
        .iter()
        .map(|s| format!("{}: bars: {}", s.date, s.reason))
        .collect();
    let source = PricesSource {
        from: Some(from),
        checksums: loaded.checksums,
        skipped: loaded.skipped,
    };
    Ok((Arc::new(loaded.history), Arc::new(source), warnings))
}

/// What [`load`] reads besides the store.
#[derive(Debug, Clone, Copy)]
pub struct LoadSettings<'a> {
    /// `market.provider`.
    pub provider: &'a str,
    /// Whether the provider is simulated.
    pub provider_simulated: bool,
    /// `[portfolio]`: the profit rule.
    pub portfolio: &'a PortfolioSettings,
    /// `history.memory_days`: the span of bars held in memory.
    pub memory_days: u32,
}

impl<'a> LoadSettings<'a> {
    /// The settings of `[portfolio]` and `[history]` for a daemon on `market`.
    pub fn new(
        portfolio: &'a PortfolioSettings,
        history: &crate::config::HistorySettings,
        market: &'a dyn crate::market::MarketData,
    ) -> Self {
        Self {
            provider: market.provider(),
            provider_simulated: market.is_simulated(),
            portfolio,
            memory_days: history.memory_days,
        }
    }
}

/// Read the store into a snapshot: the newest date that reads cleanly, the
/// newest portfolio snapshot, the history window, the bars of the last
/// `memory_days` as columns, dataset health. Damaged
/// dates are skipped and listed in `load_warnings`, never fatal. Keeps
/// `last_run` and `next_run` from `previous`. Pass a [`Lake::session`]
/// shared by the rest of the reload (the bars, the risk view) so each
/// object is read once.
///
/// Whether prices are simulated is read from the data (each date's
/// manifest says), not from `provider_simulated`: a real-market daemon
/// pointed at a store a demo filled must label what it shows.
pub async fn load(
    lake: &Lake,
    settings: LoadSettings<'_>,
    previous: &Snapshot,
) -> Result<Snapshot, StoreError> {
    let listing = lake.listing(None, None).await?;
    let mut snap = Snapshot {
        provider: settings.provider.to_string(),
        simulated: settings.provider_simulated,
        last_run: previous.last_run.clone(),
        next_run: previous.next_run,
        loaded_at: Some(Utc::now()),
        load_warnings: listing.warnings(),
        ..Snapshot::default()
    };
    // Newest first: the screen, the portfolio, then history. Read through
    // the lake, many at a time (on S3 each read is a round trip).
    let newest_first = listing.dates.iter().rev().copied().collect();
    let (manifests, skipped) = lake.readable_manifests(newest_first, HISTORY_DATES).await;
    snap.load_warnings
        .extend(skipped.iter().map(|s| format!("{}: {}", s.date, s.reason)));
    if !settings.provider_simulated {
        snap.simulated_dates = manifests
            .iter()
            .filter(|m| m.report.simulated)
            .map(|m| m.date)
            .collect();
    }
    read_screens(lake, &manifests, &mut snap).await;
    read_portfolio(lake, &manifests, settings.portfolio, &mut snap).await;
    if settings.memory_days > 0 {
        let (prices, source, warnings) =
            load_prices(lake, listing.dates.last().copied(), settings.memory_days).await?;
        snap.load_warnings.extend(warnings);
        snap.prices = prices;
        snap.prices_source = source;
    }
    for (date, account) in lake.accounts(&manifests).await.into_iter().rev() {
        match account {
            Ok(a) => snap.accounts.push((date, a)),
            Err(e) => snap.load_warnings.push(format!("{date}: {e}")),
        }
    }
    snap.reports = manifests.iter().map(|m| m.report.clone()).collect();
    snap.datasets = dataset_status(&manifests);
    Ok(snap)
}

/// The newest screen that reads, and every symbol's drawdown history over
/// `manifests` (newest first), into `snap`.
async fn read_screens(lake: &Lake, manifests: &[RunManifest], snap: &mut Snapshot) {
    let mut history: HashMap<Symbol, Vec<HistoryPoint>> = HashMap::new();
    let screens = lake.drawdowns(manifests).await;
    for (m, rows) in manifests.iter().zip(screens) {
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                snap.load_warnings.push(format!("{}: {e}", m.date));
                continue;
            }
        };
        for r in &rows {
            history
                .entry(r.symbol.clone())
                .or_default()
                .push(HistoryPoint {
                    date: r.date,
                    drawdown_pct: r.drawdown_pct,
                    rank: r.rank,
                });
        }
        if snap.screen.is_none() {
            snap.simulated |= m.report.simulated;
            snap.screen = Some(ScreenState::new(m.date, rows, m.report.clone()));
        }
    }
    for points in history.values_mut() {
        points.reverse();
    }
    snap.history = history;
}

/// The newest portfolio snapshot among `manifests` (newest first) that
/// reads, with its profit verdict, into `snap`.
async fn read_portfolio(
    lake: &Lake,
    manifests: &[RunManifest],
    portfolio: &PortfolioSettings,
    snap: &mut Snapshot,
) {
    for m in manifests {
        let read = match lake.portfolio(m).await {
            Ok(Some(read)) => read,
            Ok(None) => continue,
            Err(e) => {
                snap.load_warnings.push(format!("{}: {e}", m.date));
                continue;
            }
        };
        let PortfolioRead {
            date,
            positions,
            account,
            simulated,
        } = read;
        snap.simulated |= simulated;
        // The verdict the run stored with its snapshot (under the settings
        // of then: `/monitor` says when they differ from now's); judged
        // here only for a manifest without one (a re-run that carried an
        // earlier snapshot over, an older store).
        let profit = m.report.profit.clone().unwrap_or_else(|| {
            profit_rule(
                &positions,
                &portfolio.asset_classes,
                portfolio.top_positions,
                portfolio.profit_target_pct,
            )
        });
        snap.portfolio = Some(PortfolioState {
            date,
            account,
            profit,
            positions,
        });
        return;
    }
}

/// Each dataset's newest date and rows among `manifests` (newest first).
fn dataset_status(manifests: &[RunManifest]) -> Vec<DatasetStatus> {
    Dataset::ALL
        .iter()
        .map(|d| {
            let found = manifests
                .iter()
                .find_map(|m| m.object(*d).map(|o| (m.date, o.rows)));
            DatasetStatus {
                dataset: *d,
                latest: found.map(|f| f.0),
                rows: found.map_or(0, |f| f.1),
            }
        })
        .collect()
}
