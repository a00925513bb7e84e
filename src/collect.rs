//! One collection run: calendar -> fetch -> validate -> screen -> persist ->
//! report. A symbol with bad or missing data is skipped with its reason and
//! never sinks the run; a failure of the market-data phase as a whole
//! publishes nothing.
//!
//! One fetch serves a range of dates: the bars of the whole span are pulled
//! once and each date is screened on the bars up to it, which is how a
//! history is backfilled (`collect --from D --to D`).

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::America::New_York;

use crate::config::AppConfig;
use crate::domain::{
    Account, Bar, Positions, RejectedBar, RequestStats, RunOutcome, RunReport, Symbol,
    SymbolCounts, SymbolIssue, TradingDays, profit_rule, validate_series,
};
use crate::market::{BarsAnswer, Broker, MarketData, MarketError, latest_closed};
use crate::retry::{RetryQueue, Settled};
use crate::screen::screen;
use crate::store::{
    AccountRecord, BarRecord, Dataset, NewObject, ObjectEntry, PositionRecord, Store, StoreError,
    encode,
};

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

/// Everything a run needs, borrowed.
pub struct Collector<'a> {
    /// Universe, screen and portfolio settings.
    pub config: &'a AppConfig,
    /// Price source.
    pub market: &'a dyn MarketData,
    /// Account source, if any.
    pub broker: Option<&'a dyn Broker>,
    /// Where results go.
    pub store: &'a Store,
}

/// When fewer than this share of the symbols that have history also have a
/// bar on the screen date, the source has not published the day yet.
const MIN_SHARE_WITH_TODAYS_BAR: f64 = 0.5;

/// A validated history per symbol, universe order.
struct Histories {
    series: Vec<(Symbol, Vec<Bar>)>,
    rejected: Vec<RejectedBar>,
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
        // "The latest closed session" is the exchange's call: a host clock
        // that drifted (a VPS without NTP, a laptop after sleep) must not
        // make a run screen the wrong day.
        let now = match dates {
            Dates::Latest => match self.market.exchange_now().await {
                Some(exchange) if (exchange - now).abs() > Duration::minutes(2) => {
                    tracing::warn!(host = %now, exchange = %exchange, "the host clock is off; using the exchange's");
                    exchange
                }
                _ => now,
            },
            _ => now,
        };
        let stats_before = self.market.request_stats();
        // A corrupt queue is left in place (and reported), never overwritten.
        let (mut queue, queue_writable) = match self.store.retry_queue().await {
            Ok(q) => (q, true),
            Err(e) => {
                tracing::error!(error = %e, "retry queue unreadable; leaving it untouched this run");
                (RetryQueue::default(), false)
            }
        };
        let queued = queue.dates();
        let today = now.with_timezone(&New_York).date_naive();
        let (from, to) = match dates {
            Dates::Latest => (today, today),
            Dates::One(d) => (d, d),
            Dates::Range { from, to } if from > to => return Err(CollectError::BadRange(from, to)),
            Dates::Range { from, to } => (from, to),
            Dates::RetryFailed => match (queued.first(), queued.last()) {
                (Some(a), Some(b)) => (*a, *b),
                _ => return Ok(Vec::new()),
            },
        };
        // Calendar days that surely hold `lookback_days` sessions, reaching
        // back to the oldest queued date too.
        let pad = Duration::days((self.config.screen.lookback_days as i64) * 7 / 5 + 30);
        let oldest = queued.first().map_or(from, |q| (*q).min(from));
        let sessions = self.market.sessions(oldest - pad, to.max(today)).await?;
        let closed = latest_closed(&sessions, now);
        let days = TradingDays::new(sessions.iter().map(|s| s.date).collect());
        let is_closed = |d: NaiveDate| days.contains(d) && closed.is_some_and(|c| d <= c);

        let mut targets: Vec<NaiveDate> = match dates {
            Dates::Latest => closed.into_iter().collect(),
            Dates::One(d) => {
                if !days.contains(d) {
                    return Err(CollectError::NotTradingDay(d));
                }
                if closed.is_none_or(|c| d > c) {
                    return Err(CollectError::NotClosed(d));
                }
                vec![d]
            }
            Dates::Range { from, to } => days
                .between(from, to)
                .iter()
                .copied()
                .filter(|d| is_closed(*d))
                .collect(),
            Dates::RetryFailed => Vec::new(),
        };
        if targets.is_empty() && !matches!(dates, Dates::RetryFailed) {
            return Err(CollectError::NoSession(from - pad, to));
        }
        // Dates with queued symbols ride along: one fetch serves them all.
        for d in &queued {
            if is_closed(*d) && !targets.contains(d) {
                targets.push(*d);
            }
        }
        targets.sort_unstable();
        let (Some(&first), Some(&last)) = (targets.first(), targets.last()) else {
            return Ok(Vec::new());
        };

        let window_start = days
            .sessions_before(first, self.config.screen.lookback_days - 1)
            .unwrap_or(first - pad);
        // The universe and the backtest benchmark (never ranked).
        let symbols = self.config.collected_symbols();
        tracing::info!(symbols = symbols.len(), %window_start, %last, dates = targets.len(), "fetching daily bars");
        let answer = self.market.daily_bars(&symbols, window_start, last).await?;
        let (histories, failed) = validate(&symbols, answer);
        let fetch_ms = elapsed_ms(t0);
        if !histories.rejected.is_empty() {
            tracing::warn!(bars = histories.rejected.len(), "dropped invalid bars");
        }
        if !failed.is_empty() {
            tracing::warn!(
                symbols = failed.len(),
                "symbols failed to fetch; queued for retry"
            );
        }

        let max_attempts = self.config.settings.market.retry_failed_max_attempts;
        let mut reports = Vec::with_capacity(targets.len());
        for date in targets {
            // Positions and account are snapshots: a live broker is asked
            // only for the latest closed session (it can only say "now").
            let snapshot = match self.broker {
                Some(b) if b.answers_any_date() || Some(date) == closed => {
                    Some(self.snapshot(b, date).await)
                }
                _ => None,
            };
            let mut next_queue = queue.clone();
            let settled = next_queue.settle(date, &failed, max_attempts, Utc::now());
            let requests = match (self.market.request_stats(), &stats_before) {
                (Some(now), Some(before)) => now.since(before),
                _ => RequestStats::default(),
            };
            let run = DateRun {
                date,
                snapshot: snapshot.as_ref(),
                failed: &failed,
                settled,
                requests,
                fetch_ms,
                started_at,
            };
            let published = match self.publish_date(run, &days, &histories).await {
                Ok(report) => {
                    if report.outcome == RunOutcome::Published {
                        queue = next_queue;
                        // The date is published: a queue that cannot be
                        // saved must not make the run look failed.
                        if queue_writable && let Err(e) = self.store.put_retry_queue(&queue).await {
                            tracing::error!(%date, error = %e, "published, but the retry queue was not saved: this run's failed symbols are not queued");
                        }
                    }
                    report
                }
                // Nothing of this run was published yet: the whole run failed.
                Err(e) if reports.is_empty() => return Err(e),
                // Earlier dates are published and stay so: report them, and
                // this date as failed (nothing of it is visible: its
                // manifest was not written), and stop.
                Err(e) => {
                    tracing::error!(%date, error = %e, "publishing failed; earlier dates of this run stay published");
                    reports.push(failed_report(date, self.market, started_at, &e));
                    break;
                }
            };
            reports.push(published);
        }
        Ok(reports)
    }

    /// Account and positions, each on its own: one that cannot be had
    /// does not cost the other.
    async fn snapshot(&self, broker: &dyn Broker, date: NaiveDate) -> Snapshot {
        Snapshot {
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

    /// Screen and publish one date.
    async fn publish_date(
        &self,
        run: DateRun<'_>,
        days: &TradingDays,
        histories: &Histories,
    ) -> Result<RunReport, CollectError> {
        let DateRun {
            date,
            snapshot,
            failed,
            settled,
            requests,
            fetch_ms,
            started_at,
        } = run;
        let cfg = self.config;
        let t_screen = Instant::now();
        let benchmark = cfg.benchmark_only();
        let screened = screen(
            date,
            histories
                .series
                .iter()
                .filter(|(s, _)| Some(s) != benchmark.as_ref())
                .map(|(s, b)| (s, b.as_slice())),
            days,
            &cfg.screen,
        );
        let todays: Vec<(&Symbol, &Bar)> = histories
            .series
            .iter()
            .filter_map(|(s, bars)| {
                bars.binary_search_by_key(&date, |b| b.date)
                    .ok()
                    .map(|i| (s, &bars[i]))
            })
            .collect();
        let screen_ms = elapsed_ms(t_screen);

        let mut report = RunReport {
            date,
            provider: self.market.provider().to_string(),
            simulated: self.market.is_simulated(),
            outcome: RunOutcome::Published,
            reason: None,
            started_at,
            finished_at: started_at,
            symbols: SymbolCounts {
                requested: cfg.universe.len(),
                ok: screened.rows.len(),
                skipped: screened.skipped.len(),
                failed: failed.len(),
            },
            skipped: screened
                .skipped
                .iter()
                .map(|s| SymbolIssue {
                    symbol: s.symbol.clone(),
                    reason: s.reason.to_string(),
                })
                .collect(),
            failed: failed.to_vec(),
            recovered: settled.recovered,
            gave_up: settled.gave_up,
            rejected_bars: histories
                .rejected
                .iter()
                .filter(|r| r.date <= date)
                .cloned()
                .collect(),
            requests,
            phases_ms: BTreeMap::from([
                ("fetch".to_string(), fetch_ms),
                ("screen".to_string(), screen_ms),
            ]),
            profit: None,
            unreadable_positions: Vec::new(),
        };

        let with_history = histories
            .series
            .iter()
            .filter(|(_, b)| !b.is_empty())
            .count();
        if with_history == 0
            || (todays.len() as f64) < MIN_SHARE_WITH_TODAYS_BAR * with_history as f64
        {
            report.outcome = RunOutcome::DataNotAvailable;
            report.reason = Some(format!(
                "only {} of {with_history} symbols have a bar for {date}: the source has not published the day yet",
                todays.len()
            ));
            report.finished_at = Utc::now();
            tracing::warn!(%date, reason = report.reason.as_deref(), "data not yet available; nothing published");
            return Ok(report);
        }

        let t_persist = Instant::now();
        let enc = |e: crate::store::CsvProblem| CollectError::Encode(e.0);
        let (bars_csv, bar_rows) = encode(
            Dataset::Bars,
            todays.iter().map(|(s, b)| BarRecord::new(s, b)),
        )
        .map_err(enc)?;
        let (dd_csv, dd_rows) = encode(Dataset::Drawdowns, &screened.rows).map_err(enc)?;
        let mut objects = vec![
            NewObject {
                dataset: Dataset::Bars,
                bytes: bars_csv,
                rows: bar_rows,
            },
            NewObject {
                dataset: Dataset::Drawdowns,
                bytes: dd_csv,
                rows: dd_rows,
            },
        ];
        if let Some(snapshot) = snapshot {
            let mut failures = Vec::new();
            match &snapshot.positions {
                Ok(positions) => {
                    let mut sorted = positions.held.clone();
                    sorted.sort_by(|a, b| a.symbol.cmp(&b.symbol));
                    let (pos_csv, pos_rows) = encode(
                        Dataset::Positions,
                        sorted.iter().map(|p| PositionRecord::new(date, p)),
                    )
                    .map_err(enc)?;
                    objects.push(NewObject {
                        dataset: Dataset::Positions,
                        bytes: pos_csv,
                        rows: pos_rows,
                    });
                    let p = &cfg.settings.portfolio;
                    report.profit = Some(profit_rule(
                        &sorted,
                        &p.asset_classes,
                        p.top_positions,
                        p.profit_target_pct,
                    ));
                    for u in &positions.unreadable {
                        tracing::warn!(%date, symbol = %u.symbol, reason = %u.reason, "position skipped: cannot be read");
                    }
                    report.unreadable_positions = positions.unreadable.clone();
                }
                Err(reason) => failures.push(reason.as_str()),
            }
            match &snapshot.account {
                Ok(account) => {
                    let (acc_csv, _) =
                        encode(Dataset::Account, [AccountRecord::new(date, account)])
                            .map_err(enc)?;
                    objects.push(NewObject {
                        dataset: Dataset::Account,
                        bytes: acc_csv,
                        rows: 1,
                    });
                }
                Err(reason) => failures.push(reason.as_str()),
            }
            if !failures.is_empty() {
                let reason = failures.join("; ");
                tracing::warn!(%date, %reason, "broker snapshot failed; publishing the rest without it");
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
        let previous = match self.store.manifest(date).await {
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

/// The report of a date whose publication failed part-way through a run.
fn failed_report(
    date: NaiveDate,
    market: &dyn MarketData,
    started_at: DateTime<Utc>,
    e: &CollectError,
) -> RunReport {
    RunReport {
        date,
        provider: market.provider().to_string(),
        simulated: market.is_simulated(),
        outcome: RunOutcome::Failed,
        reason: Some(format!("{:#}", anyhow::Error::msg(e.to_string()))),
        started_at,
        finished_at: Utc::now(),
        symbols: SymbolCounts::default(),
        skipped: Vec::new(),
        failed: Vec::new(),
        recovered: Vec::new(),
        gave_up: Vec::new(),
        rejected_bars: Vec::new(),
        requests: RequestStats::default(),
        phases_ms: BTreeMap::new(),
        profit: None,
        unreadable_positions: Vec::new(),
    }
}

/// Validate every symbol's bars. Symbols the source did not return get an
/// empty history (the engine skips them as "no bars"); symbols whose fetch
/// failed are left out of the screen and returned as failures.
fn validate(universe: &[Symbol], answer: BarsAnswer) -> (Histories, Vec<SymbolIssue>) {
    let BarsAnswer {
        series,
        failed,
        mut rejected,
    } = answer;
    let mut by_symbol: BTreeMap<Symbol, Vec<Bar>> =
        series.into_iter().map(|sb| (sb.symbol, sb.bars)).collect();
    let series = universe
        .iter()
        .filter(|sym| failed.iter().all(|f| &f.symbol != *sym))
        .map(|sym| {
            let raw = by_symbol.remove(sym).unwrap_or_default();
            let (kept, dropped) = validate_series(raw);
            rejected.extend(dropped.into_iter().map(|r| RejectedBar {
                symbol: sym.clone(),
                date: r.date,
                reason: r.reason,
            }));
            (sym.clone(), kept)
        })
        .collect();
    (Histories { series, rejected }, failed)
}

/// The broker's account and positions for a date, each or why not.
struct Snapshot {
    account: Result<Account, String>,
    positions: Result<Positions, String>,
}

/// What one date's publication needs besides the shared histories.
struct DateRun<'a> {
    date: NaiveDate,
    snapshot: Option<&'a Snapshot>,
    failed: &'a [SymbolIssue],
    settled: Settled,
    requests: RequestStats,
    fetch_ms: u64,
    started_at: DateTime<Utc>,
}

fn elapsed_ms(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use async_trait::async_trait;

    use super::*;
    use crate::market::Session;
    use crate::market::sim::SimMarket;

    /// The sim, but with no bars on or after `cutoff` (the source has not
    /// published the day yet) and a broker that only knows "now".
    struct Lagging {
        sim: SimMarket,
        cutoff: NaiveDate,
    }

    #[async_trait]
    impl MarketData for Lagging {
        fn provider(&self) -> &'static str {
            "lagging"
        }
        fn is_simulated(&self) -> bool {
            true
        }
        async fn sessions(
            &self,
            from: NaiveDate,
            to: NaiveDate,
        ) -> Result<Vec<Session>, MarketError> {
            self.sim.sessions(from, to).await
        }
        async fn daily_bars(
            &self,
            s: &[Symbol],
            from: NaiveDate,
            to: NaiveDate,
        ) -> Result<BarsAnswer, MarketError> {
            let mut out = self.sim.daily_bars(s, from, to).await?;
            for sb in &mut out.series {
                sb.bars.retain(|b| b.date < self.cutoff);
            }
            Ok(out)
        }
    }

    #[async_trait]
    impl Broker for Lagging {
        async fn account(&self, d: NaiveDate) -> Result<Account, MarketError> {
            self.sim.account(d).await
        }
        async fn positions(&self, d: NaiveDate) -> Result<Positions, MarketError> {
            self.sim.positions(d).await
        }
    }

    fn config(symbols: usize) -> AppConfig {
        let universe = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/universe/russell1000.txt"
        );
        let env: HashMap<String, String> = [(
            "DIPWATCH__MARKET__UNIVERSE".to_string(),
            universe.to_string(),
        )]
        .into();
        let mut c = AppConfig::load_with_env(None, env).unwrap();
        c.universe.truncate(symbols);
        c
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// 2026-11-25 12:00 UTC: the 11-24 session has closed.
    fn now() -> DateTime<Utc> {
        "2026-11-25T12:00:00Z".parse().unwrap()
    }

    fn memory_store() -> Store {
        Store::from_object_store(Arc::new(object_store::memory::InMemory::new()), "memory://")
    }

    #[tokio::test]
    async fn a_day_the_source_has_not_published_is_not_screened_under_its_date() {
        let cfg = config(40);
        let market = Lagging {
            sim: SimMarket::new(cfg.universe.clone()),
            cutoff: d("2026-11-24"),
        };
        let store = memory_store();
        let c = Collector {
            config: &cfg,
            market: &market,
            broker: Some(&market),
            store: &store,
        };
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
            store.published_dates().await.unwrap().dates.is_empty(),
            "nothing published"
        );

        // The day before is complete and publishes normally.
        let earlier = c.run(Dates::One(d("2026-11-23")), now()).await.unwrap();
        assert_eq!(earlier[0].outcome, RunOutcome::Published);
    }

    #[tokio::test]
    async fn a_live_broker_snapshots_only_the_latest_session_and_reruns_keep_it() {
        let cfg = config(30);
        let market = Lagging {
            sim: SimMarket::new(cfg.universe.clone()),
            cutoff: d("2027-01-01"),
        };
        let store = memory_store();
        let c = Collector {
            config: &cfg,
            market: &market,
            broker: Some(&market),
            store: &store,
        };
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
        let m20 = store.manifest(d("2026-11-20")).await.unwrap().unwrap();
        assert!(
            m20.object(Dataset::Positions).is_none(),
            "no snapshot for a past date"
        );
        let m24 = store.manifest(d("2026-11-24")).await.unwrap().unwrap();
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
        let m24b = store.manifest(d("2026-11-24")).await.unwrap().unwrap();
        assert_eq!(m24b.object(Dataset::Positions), Some(&positions));
        assert!(
            store
                .read_verified(&m24b, Dataset::Positions)
                .await
                .unwrap()
                .is_some()
        );
    }
}
