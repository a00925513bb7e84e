//! One backtest from loaded bars to its stored result, shared by every
//! front end (`dipwatch backtest`, the bot's `/backtest`): which bars a
//! request needs ([`load_from`]), the window and benchmark checked
//! ([`prepare`]), the run with its metrics and honesty notes ([`single`]).
//! Pure: the caller loads the history (the lake, or the daemon's year in
//! memory when it holds the same dates) and stores the [`Outcome`].

use chrono::{Days, NaiveDate};

use super::report::{self, DataUsed, EquityRow, Side, Summary};
use super::{Benchmark, BenchmarkError, Params, Trade, metrics};
use crate::config::{AppConfig, BacktestSettings};
use crate::query::HistoryLoad;
use crate::screen::{DrawdownColumns, ScreenParams};
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

/// The strategy's parameters from settings.
pub fn params(config: &AppConfig, s: &BacktestSettings) -> Params {
    Params {
        rebalance: s.rebalance,
        entry_pct: s.entry_pct,
        max_positions: s.max_positions,
        sizing: s.sizing,
        exits: s.exit_rules(),
        portfolio_rule: s.portfolio_rule(&config.portfolio),
        fill: s.fill,
        commission: s.commission,
        slippage_bps: s.slippage_bps,
        initial_capital: s.initial_capital,
        delist_after: s.delist_after,
        delist_haircut_pct: s.delist_haircut_pct,
    }
}

/// Check the window and the benchmark on `load` (read from `store_url`,
/// named in messages) and rank every cell. The error says what is missing
/// and how to backfill it.
pub fn prepare(
    config: &AppConfig,
    settings: &BacktestSettings,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    load: HistoryLoad,
    store_url: &str,
) -> Result<Prepared, String> {
    let screen = config.screen.params;
    let warmup = warmup_days(&screen);
    let history = &load.history;
    let dates = history.dates();
    let backfill = |from: NaiveDate| {
        format!(
            "backfill with `dipwatch collect --from {}`",
            from.checked_sub_days(Days::new(warmup)).unwrap_or(from)
        )
    };
    if dates.is_empty() {
        return Err(format!(
            "no bars published in {store_url} for this window: {}",
            from.map_or(
                "run `dipwatch collect --from YYYY-MM-DD` to backfill history".to_string(),
                backfill
            )
        ));
    }
    // `min_history` sessions before the first one simulated, as the README
    // says: fewer is refused, not ranked on a window too short to rank.
    let need = screen.min_history;
    let end = match to {
        Some(t) => match dates.iter().rposition(|d| *d <= t) {
            Some(e) => e,
            None => {
                return Err(format!(
                    "no published session on or before {t}: {}",
                    backfill(t)
                ));
            }
        },
        None => dates.len() - 1,
    };
    let start = match from {
        Some(f) => dates.partition_point(|d| *d < f),
        None => (screen.lookback_days.max(1) - 1)
            .min(end.saturating_sub(MIN_SESSIONS - 1))
            .max(need),
    };
    let from_label = from.unwrap_or(dates[start.min(dates.len() - 1)]);
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
            backfill(dates[0])
        ));
    }
    let benchmark = settings
        .benchmark_symbol()
        .map_or(Benchmark::EqualWeight, Benchmark::Symbol);
    // Only the universe is bought and averaged (one definition:
    // `AppConfig::universe_mask`), and never the ticker compared against.
    let requested = settings.benchmark_symbol();
    let excluded: Vec<usize> = config
        .universe_mask(history.symbols())
        .into_iter()
        .enumerate()
        .filter(|&(s, member)| !member || requested.as_ref() == Some(&history.symbols()[s]))
        .map(|(s, _)| s)
        .collect();
    let params = params(config, settings);
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
            BenchmarkError::Late { .. } => backfill(dates[start]),
        };
        format!("{e}: {how}")
    })?;
    let ranks = DrawdownColumns::new(history, &screen);
    let skipped = load
        .skipped
        .iter()
        .map(|s| format!("{}: {}", s.date, s.reason))
        .collect();
    let simulated = history.any_simulated();
    let market = &config.market;
    let leaves_out = report::limitations(
        (!simulated).then_some(market.adjustment.as_str()),
        (!simulated).then_some(market.feed.as_str()),
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
pub fn single(config: &AppConfig, settings: &BacktestSettings, p: &Prepared) -> Outcome {
    let history = &p.load.history;
    let run = super::run(history, &p.ranks, &p.params, &p.excluded, p.start, p.end);
    let rf = settings.risk_free_rate_pct;
    let ours = metrics::of_run(
        &run,
        p.params.initial_capital,
        rf,
        Some(&p.benchmark_equity),
    );
    let theirs = metrics::curve(
        &run.dates,
        &p.benchmark_equity,
        p.params.initial_capital,
        rf,
        None,
    );
    let data = data_used(p, true);
    let parameters = serde_json::json!({
        "strategy": p.params,
        "screen": {
            "lookback_days": config.screen.params.lookback_days,
            "min_history": config.screen.params.min_history,
            "peak_basis": config.screen.params.peak_basis,
        },
        "benchmark": settings.benchmark,
        "risk_free_rate_pct": rf,
        "from": data.from,
        "to": data.to,
    });
    let summary = Summary {
        id: report::id(&parameters, &data.fingerprint),
        notes: report::notes(&data, p.params.fill == Fill::Close),
        leaves_out: p.leaves_out.clone(),
        parameters,
        data,
        benchmark: p.benchmark.label(),
        metrics: Side {
            strategy: ours,
            benchmark: theirs,
        },
        monthly: Side {
            strategy: metrics::monthly(&run.dates, &run.equity, p.params.initial_capital),
            benchmark: metrics::monthly(&run.dates, &p.benchmark_equity, p.params.initial_capital),
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
