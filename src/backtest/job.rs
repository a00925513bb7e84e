//! One backtest from loaded bars to its result, the pure core of
//! [`super::Backtests`]: which bars a request needs ([`load_from`]), the
//! window and benchmark checked ([`prepare`]), the run with its metrics and
//! honesty notes ([`single`]). The service loads the history (the lake, or
//! the daemon's year in memory when it holds the same dates) and stores
//! the [`Outcome`].

use chrono::{Days, NaiveDate};

use super::report::{self, DataUsed, EquityRow, Parameters, Side, Summary};
use super::setup::Setup;
use super::{Benchmark, BenchmarkError, Params, Trade, metrics};
use crate::config::BacktestSettings;
use crate::query::PriceHistory;
use crate::screen::{DrawdownColumns, ScreenParams};
use crate::store::HistoryLoad;
use crate::strategy::Fill;

/// Sessions a backtest must cover at least.
pub const MIN_SESSIONS: usize = 20;

/// Calendar days loaded before `--from` so the ranking has its lookback
/// there (sessions are about 5 in 7 days, plus a margin for holidays).
pub fn warmup_days(screen: &ScreenParams) -> u64 {
    (screen.lookback_days as u64 * 7).div_ceil(5) + 14
}

/// The first date a request loads: its `from` less the warm-up, or the
/// start of the lake (`None`) when no `from` is given. Everything after it
/// is loaded, whatever `to` says, so a name's bars "stop" only where the
/// lake's do.
pub fn load_from(screen: &ScreenParams, from: Option<NaiveDate>) -> Option<NaiveDate> {
    from.and_then(|f| f.checked_sub_days(Days::new(warmup_days(screen))))
}

/// History loaded, ranked and checked: what a run or a sweep needs.
pub struct Prepared {
    /// The bars and what they were read from.
    pub load: HistoryLoad,
    /// Every cell's drawdown.
    pub ranks: DrawdownColumns,
    /// The strategy's parameters.
    pub params: Params,
    /// First session simulated (position in the history's dates).
    pub start: usize,
    /// Last session simulated.
    pub end: usize,
    /// What the strategy is compared with.
    pub benchmark: Benchmark,
    /// Symbols never bought (the benchmark tickers).
    pub excluded: Vec<usize>,
    /// The benchmark's equity on each session simulated.
    pub benchmark_equity: Vec<f64>,
    /// Dates passed over while loading, with why.
    pub skipped: Vec<String>,
    /// `[screen] lookback_days`: the ranking's full window, in sessions.
    pub ranks_lookback: usize,
    /// What the run leaves out ([`report::limitations`]).
    pub leaves_out: Vec<String>,
}

/// The period asked for, and the store the bars came from (named in
/// messages).
#[derive(Debug, Clone)]
pub struct Window {
    /// First session simulated, or once the ranking has its lookback.
    pub from: Option<NaiveDate>,
    /// Last session simulated, or the latest loaded.
    pub to: Option<NaiveDate>,
    /// The store, as a message names it.
    pub store: String,
}

impl Window {
    /// How to backfill the lake so that `from` can be simulated.
    fn backfill(&self, screen: &ScreenParams, from: NaiveDate) -> String {
        format!(
            "backfill with `dipwatch collect --from {}`",
            from.checked_sub_days(Days::new(warmup_days(screen)))
                .unwrap_or(from)
        )
    }

    /// The sessions simulated, `start..=end` (positions in `dates`): the
    /// request's period, with `min_history` sessions before it to rank
    /// from and at least [`MIN_SESSIONS`] in it. The error says what is
    /// missing and how to backfill it.
    fn sessions(
        &self,
        screen: &ScreenParams,
        dates: &[NaiveDate],
    ) -> Result<(usize, usize), String> {
        let backfill = |from| self.backfill(screen, from);
        let Some(&first) = dates.first() else {
            return Err(format!(
                "no bars published in {} for this window: {}",
                self.store,
                self.from.map_or(
                    "run `dipwatch collect --from YYYY-MM-DD` to backfill history".to_string(),
                    backfill
                )
            ));
        };
        // `min_history` sessions before the first one simulated, as the
        // README says: fewer is refused, not ranked on a window too short.
        let need = screen.min_history;
        let end = match self.to {
            Some(t) => dates
                .iter()
                .rposition(|d| *d <= t)
                .ok_or_else(|| format!("no published session on or before {t}: {}", backfill(t)))?,
            None => dates.len() - 1,
        };
        let start = match self.from {
            Some(f) => dates.partition_point(|d| *d < f),
            None => (screen.lookback_days.max(1) - 1)
                .min(end.saturating_sub(MIN_SESSIONS - 1))
                .max(need),
        };
        let from_label = self.from.unwrap_or(dates[start.min(dates.len() - 1)]);
        if start < need {
            return Err(format!(
                "too little history before {from_label}: the lake holds {start} session(s) before it, the ranking needs {need} ([screen] min_history = {}): {}",
                screen.min_history,
                backfill(from_label)
            ));
        }
        if start > end || end + 1 - start < MIN_SESSIONS {
            return Err(format!(
                "too few sessions to backtest: {} published from {from_label} to {} (at least {MIN_SESSIONS}): {}",
                (end + 1).saturating_sub(start),
                dates[end],
                backfill(first)
            ));
        }
        Ok((start, end))
    }
}

/// The symbols of `history` never bought: outside the universe (one
/// definition: `market.universe`), and the ticker compared against.
fn excluded(setup: &Setup, settings: &BacktestSettings, history: &PriceHistory) -> Vec<usize> {
    let requested = settings.benchmark_symbol();
    setup
        .universe_mask(history.symbols())
        .into_iter()
        .enumerate()
        .filter(|&(s, member)| !member || requested.as_ref() == Some(&history.symbols()[s]))
        .map(|(s, _)| s)
        .collect()
}

/// Check the window and the benchmark on `load` and rank every cell. The
/// error says what is missing and how to backfill it.
pub fn prepare(
    setup: &Setup,
    settings: &BacktestSettings,
    window: &Window,
    load: HistoryLoad,
) -> Result<Prepared, String> {
    let screen = setup.screen;
    let history = &load.history;
    let (start, end) = window.sessions(&screen, history.dates())?;
    let benchmark = settings
        .benchmark_symbol()
        .map_or(Benchmark::EqualWeight, Benchmark::Symbol);
    let excluded = excluded(setup, settings, history);
    let params = setup.params(settings);
    let benchmark_equity = super::benchmark::equity(
        history,
        &benchmark,
        &excluded,
        start,
        end,
        params.initial_capital,
    )
    .map_err(|e| {
        let how = match &e {
            BenchmarkError::NoBars(_) => {
                "it is collected alongside the universe from now on; to backfill it, run `dipwatch collect --from` the first date you want to test, or use --benchmark universe".to_string()
            }
            BenchmarkError::Late { .. } => window.backfill(&screen, history.dates()[start]),
        };
        format!("{e}: {how}")
    })?;
    let ranks = DrawdownColumns::new(history, &screen);
    let skipped = load
        .skipped
        .iter()
        .map(|s| format!("{}: {}", s.date, s.reason))
        .collect();
    // Simulated prices have neither an adjustment nor a feed.
    let real = !history.any_simulated();
    let leaves_out = report::limitations(
        real.then_some(setup.adjustment.as_str()),
        real.then_some(setup.feed.as_str()),
        params.slippage_bps,
        params.commission,
        params.delist_after,
        params.delist_haircut_pct,
    );
    Ok(Prepared {
        load,
        ranks,
        params,
        start,
        end,
        benchmark,
        excluded,
        benchmark_equity,
        skipped,
        ranks_lookback: screen.lookback_days,
        leaves_out,
    })
}

/// A finished backtest: what is stored and printed.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// `summary.json`.
    pub summary: Summary,
    /// `equity.csv`: the strategy and the benchmark per session.
    pub equity: Vec<EquityRow>,
    /// `trades.csv`.
    pub trades: Vec<Trade>,
}

/// The data a prepared run covers (the fingerprint only when `fingerprint`).
fn data_used(p: &Prepared, fingerprint: bool) -> DataUsed {
    let history = &p.load.history;
    DataUsed {
        from: history.dates()[p.start],
        to: history.dates()[p.end],
        sessions: p.end + 1 - p.start,
        loaded_from: history.dates()[0],
        symbols: history.symbols().len(),
        simulated: history.any_simulated(),
        short_window_sessions: (p.ranks_lookback.saturating_sub(1))
            .saturating_sub(p.start)
            .min(p.end + 1 - p.start),
        fingerprint: if fingerprint {
            report::fingerprint(&p.load.checksums)
        } else {
            String::new()
        },
        skipped_dates: if fingerprint {
            p.skipped.clone()
        } else {
            Vec::new()
        },
    }
}

/// The honesty notes of a prepared grid (a sweep prints them).
pub fn notes(p: &Prepared) -> Vec<String> {
    report::notes(&data_used(p, false), p.params.fill == Fill::Close)
}

/// Run one backtest on a prepared history: the equity curve, the trades,
/// both sides' metrics and the summary, addressed by its parameters and
/// the data's fingerprint (the same request on the same data has the
/// same id, whichever front end ran it).
pub fn single(setup: &Setup, settings: &BacktestSettings, p: &Prepared) -> Outcome {
    let run = super::run(
        &p.load.history,
        &p.ranks,
        &p.params,
        &p.excluded,
        p.start,
        p.end,
    );
    let (initial, rf) = (p.params.initial_capital, settings.risk_free_rate_pct);
    let data = data_used(p, true);
    let parameters = Parameters {
        strategy: p.params.clone(),
        screen: setup.screen,
        benchmark: settings.benchmark.clone(),
        risk_free_rate_pct: rf,
        from: data.from,
        to: data.to,
    };
    let summary = Summary {
        id: report::id(&parameters, &data.fingerprint),
        notes: report::notes(&data, p.params.fill == Fill::Close),
        leaves_out: p.leaves_out.clone(),
        parameters,
        data,
        benchmark: p.benchmark.label(),
        metrics: Side {
            strategy: metrics::of_run(&run, initial, rf, Some(&p.benchmark_equity)),
            benchmark: metrics::curve(&run.dates, &p.benchmark_equity, initial, rf, None),
        },
        monthly: Side {
            strategy: metrics::monthly(&run.dates, &run.equity, initial),
            benchmark: metrics::monthly(&run.dates, &p.benchmark_equity, initial),
        },
        open_positions: run.open.len(),
        open: run.open.clone(),
        warnings: run.warnings.clone(),
    };
    let equity = run
        .dates
        .iter()
        .zip(&run.equity)
        .zip(&p.benchmark_equity)
        .map(|((date, equity), benchmark)| EquityRow {
            date: *date,
            equity: *equity,
            benchmark: *benchmark,
        })
        .collect();
    Outcome {
        summary,
        equity,
        trades: run.trades,
    }
}

/// The daemon's bars in memory from `load_from` on, as the lake would give
/// them, when the span held covers that date; else `None` (read the
/// lake). The span holds every published date from its first day to the
/// newest (each held or listed as skipped), so the slice has the same
/// dates, bars and checksums as `Lake::price_history(load_from, None)` on
/// the store the daemon last loaded: the same fingerprint, the same id.
pub fn from_memory(
    prices: &crate::query::PriceHistory,
    source: &crate::state::PricesSource,
    load_from: Option<NaiveDate>,
) -> Option<HistoryLoad> {
    let (Some(wanted), Some(held_from)) = (load_from, source.from) else {
        return None;
    };
    if wanted < held_from || prices.is_empty() {
        return None;
    }
    let first = prices.dates().partition_point(|d| *d < wanted);
    let history = prices.tail(prices.dates().len() - first);
    let checksums: Vec<(NaiveDate, String)> = source
        .checksums
        .iter()
        .filter(|(d, _)| *d >= wanted)
        .cloned()
        .collect();
    // Every date held has its checksum, or the fingerprint would not be
    // the lake's.
    let complete = checksums.len() == history.dates().len()
        && checksums.iter().map(|(d, _)| d).eq(history.dates().iter());
    complete.then(|| HistoryLoad {
        history,
        skipped: source
            .skipped
            .iter()
            .filter(|s| s.date >= wanted)
            .cloned()
            .collect(),
        checksums,
    })
}
