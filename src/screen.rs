//! The drawdown engine: bars in, ranked rows out. Pure, allocation-light,
//! one pass over each symbol's window.
//!
//! Definition (DESIGN.md): over the last `lookback_days` trading days ending
//! at the screen date D inclusive, `peak_price` is the highest high (or
//! close), `peak_date` the most recent bar that reached it, `current_price`
//! the last close, `drawdown_pct = (current - peak) / peak * 100` rounded to
//! 4 decimals, `days_since_peak` the trading days from peak to last bar.
//! Symbols with fewer than `min_history` bars in the window, no bars, or no
//! bar on D are skipped with the reason. Rank 1 is the deepest drawdown,
//! ties broken by symbol.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::{Bar, DrawdownRow, SkipReason, Skipped, Symbol, TradingDays};
use crate::query::{Field, PriceHistory};

/// Which price a peak is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PeakBasis {
    /// The day's high (default): the drawdown from the highest traded price.
    #[default]
    High,
    /// The day's close.
    Close,
}

/// Engine parameters (`[screen]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenParams {
    /// Window length in trading days, D included.
    pub lookback_days: usize,
    /// Fewer bars than this in the window: skipped.
    pub min_history: usize,
    /// Price the peak is measured on.
    pub peak_basis: PeakBasis,
}

/// A computed screen: ranked rows and the symbols left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Screen {
    /// Screen date.
    pub date: NaiveDate,
    /// Rows, rank 1 first.
    pub rows: Vec<DrawdownRow>,
    /// Symbols left out, in input order.
    pub skipped: Vec<Skipped>,
}

/// Compute the screen for `date`. Each series must be sorted by date with
/// no duplicates (see [`crate::domain::validate_series`]); bars after `date`
/// are ignored, so one fetched history can be screened for many dates.
/// `days` should cover the window: where it does not, the window falls back
/// to counting the symbol's own bars.
pub fn screen<'a, I>(
    date: NaiveDate,
    series: I,
    days: &TradingDays,
    params: &ScreenParams,
) -> Screen
where
    I: IntoIterator<Item = (&'a Symbol, &'a [Bar])>,
{
    let lookback = params.lookback_days.max(1);
    let window_start = days.sessions_before(date, lookback - 1);
    let iter = series.into_iter();
    let mut rows = Vec::with_capacity(iter.size_hint().0);
    let mut skipped = Vec::new();
    for (symbol, bars) in iter {
        match measure(date, bars, window_start, days, params, lookback) {
            Ok(m) => rows.push(DrawdownRow {
                date,
                symbol: symbol.clone(),
                current_price: m.current_price,
                peak_price: m.peak_price,
                peak_date: m.peak_date,
                drawdown_pct: m.drawdown_pct,
                days_since_peak: m.days_since_peak,
                volume: m.volume,
                rank: 0,
            }),
            Err(reason) => skipped.push(Skipped {
                symbol: symbol.clone(),
                reason,
            }),
        }
    }
    rank(&mut rows);
    Screen {
        date,
        rows,
        skipped,
    }
}

/// Sort rows deepest drawdown first, ties by symbol, and number them.
fn rank(rows: &mut [DrawdownRow]) {
    rows.sort_unstable_by(|a, b| {
        a.drawdown_pct
            .total_cmp(&b.drawdown_pct)
            .then_with(|| a.symbol.cmp(&b.symbol))
    });
    for (i, row) in rows.iter_mut().enumerate() {
        row.rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
    }
}

/// The screen for date position `d` of `history`, read straight from its
/// columns: for each symbol, one scan of the window's peak-basis prices
/// (8 bytes a cell, contiguous) instead of walking 80-byte bars, which is
/// what makes long lookbacks fast. The same definition and answer as
/// [`screen`] with the history's own dates as the trading calendar (every
/// session the store holds); [`DrawdownColumns`] ranks by the same
/// figures for every date at once.
pub fn screen_columns(history: &PriceHistory, d: usize, params: &ScreenParams) -> Screen {
    let lookback = params.lookback_days.max(1);
    let start = (d + 1).saturating_sub(lookback);
    let basis = basis_field(params.peak_basis);
    let mut rows = Vec::with_capacity(history.symbols().len());
    let mut skipped = Vec::new();
    for s in 0..history.symbols().len() {
        let present = &history.present(s)[start..=d];
        // Counting the mask is a branch-free sum; most symbols pass.
        let in_window: usize = present.iter().map(|p| usize::from(*p)).sum();
        if !present[present.len() - 1] || in_window < params.min_history {
            skipped.push(Skipped {
                symbol: history.symbols()[s].clone(),
                reason: skip_reason(history, s, d, params),
            });
            continue;
        }
        let window = &history.series(s, basis)[start..=d];
        let peak = window_max(window);
        // The most recent bar that reached the peak (absent cells are NaN,
        // never equal).
        let p = start + window.iter().rposition(|v| *v == peak).unwrap_or(d - start);
        let close = history.series(s, Field::Close)[d];
        rows.push(row_at(
            history,
            s,
            d,
            p,
            basis,
            round4((close - peak) / peak * 100.0),
        ));
    }
    rank(&mut rows);
    Screen {
        date: history.dates()[d],
        rows,
        skipped,
    }
}

/// The largest value of `values`, NaN (an absent cell) ignored; negative
/// infinity when there is none. Eight independent lanes so the compiler
/// vectorises the scan.
fn window_max(values: &[f64]) -> f64 {
    let mut lanes = [f64::NEG_INFINITY; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (lane, v) in lanes.iter_mut().zip(chunk) {
            // `>` is false for NaN, so absent cells never win.
            if *v > *lane {
                *lane = *v;
            }
        }
    }
    lanes
        .iter()
        .chain(rest)
        .fold(f64::NEG_INFINITY, |m, v| if *v > m { *v } else { m })
}

/// The column a peak is measured on.
fn basis_field(basis: PeakBasis) -> Field {
    match basis {
        PeakBasis::High => Field::High,
        PeakBasis::Close => Field::Close,
    }
}

/// Symbol `s`'s row at date position `d` with its peak at position `p`
/// (rank set later by [`rank`]).
fn row_at(
    history: &PriceHistory,
    s: usize,
    d: usize,
    p: usize,
    basis: Field,
    drawdown_pct: f64,
) -> DrawdownRow {
    DrawdownRow {
        date: history.dates()[d],
        symbol: history.symbols()[s].clone(),
        current_price: history.series(s, Field::Close)[d],
        peak_price: history.series(s, basis)[p],
        peak_date: history.dates()[p],
        drawdown_pct,
        days_since_peak: u32::try_from(d - p).unwrap_or(u32::MAX),
        volume: history.series(s, Field::Volume)[d] as u64,
        rank: 0,
    }
}

/// Why symbol `s` is not ranked at date position `d` of `history` (called
/// only for a symbol that is not): no bar yet, no bar on the date, or too
/// few bars in the window.
fn skip_reason(history: &PriceHistory, s: usize, d: usize, params: &ScreenParams) -> SkipReason {
    let lookback = params.lookback_days.max(1);
    let present = &history.present(s)[..=d];
    match present.iter().rposition(|p| *p) {
        None => SkipReason::NoBars,
        Some(last) if last < d => SkipReason::Stale {
            last_bar: history.dates()[last],
        },
        Some(_) => SkipReason::InsufficientHistory {
            bars: present[(d + 1).saturating_sub(lookback)..]
                .iter()
                .filter(|p| **p)
                .count(),
            required: params.min_history,
        },
    }
}

/// One symbol's figures, before ranking.
struct Measure {
    current_price: f64,
    peak_price: f64,
    peak_date: NaiveDate,
    drawdown_pct: f64,
    days_since_peak: u32,
    volume: u64,
}

/// Measure one symbol's drawdown, or say why it is skipped.
fn measure(
    date: NaiveDate,
    bars: &[Bar],
    window_start: Option<NaiveDate>,
    days: &TradingDays,
    params: &ScreenParams,
    lookback: usize,
) -> Result<Measure, SkipReason> {
    // Usually the series ends on the screen date: no search needed. (The
    // binary searches over long histories were cache misses that cost more
    // than scanning the window itself.)
    let end = match bars.last() {
        Some(b) if b.date <= date => bars.len(),
        _ => bars.partition_point(|b| b.date <= date),
    };
    let Some(last) = end.checked_sub(1).map(|i| &bars[i]) else {
        return Err(SkipReason::NoBars);
    };
    if last.date < date {
        return Err(SkipReason::Stale {
            last_bar: last.date,
        });
    }
    // At most `lookback` bars fit in the window; if the first of the last
    // `lookback` is already inside it, that is the start. Otherwise (gaps,
    // a short history) search only within those bars.
    let candidate = end.saturating_sub(lookback);
    let start = match window_start {
        Some(ws) if bars[candidate].date < ws => {
            candidate + bars[candidate..end].partition_point(|b| b.date < ws)
        }
        _ => candidate,
    };
    let window = &bars[start..end];
    if window.len() < params.min_history {
        return Err(SkipReason::InsufficientHistory {
            bars: window.len(),
            required: params.min_history,
        });
    }
    let price = |b: &Bar| match params.peak_basis {
        PeakBasis::High => b.high,
        PeakBasis::Close => b.close,
    };
    // `>=` keeps the most recent bar among equal peaks.
    let (peak_idx, peak_price) =
        window
            .iter()
            .enumerate()
            .fold((0, f64::NEG_INFINITY), |(bi, bp), (i, b)| {
                let p = price(b);
                if p >= bp { (i, p) } else { (bi, bp) }
            });
    let peak_date = window[peak_idx].date;
    let days_since_peak = match (days.index_of(peak_date), days.index_of(last.date)) {
        (Some(p), Some(l)) => l - p,
        _ => window.len() - 1 - peak_idx,
    };
    let raw = (last.close - peak_price) / peak_price * 100.0;
    Ok(Measure {
        current_price: last.close,
        peak_price,
        peak_date,
        drawdown_pct: round4(raw),
        days_since_peak: u32::try_from(days_since_peak).unwrap_or(u32::MAX),
        volume: last.volume,
    })
}

/// The screen's drawdown for every symbol on every date of a
/// [`PriceHistory`], computed in one pass per symbol: the backtester ranks
/// from these on each decision session. The same definition as [`screen`],
/// with the history's own dates as the trading calendar (what a backtest
/// knows): for each date the window is the last `lookback_days` dates, and
/// a symbol without a bar on the date or with fewer than `min_history`
/// bars in the window is not ranked there. Only bars up to each date are
/// read, so no figure looks ahead.
///
/// The window's peak is a sliding maximum computed the van Herk / Gil-Werman
/// way: the dates are cut into blocks of `lookback`, each block gets a
/// running maximum from its start and one from its end, and any window is
/// one block's tail plus the next block's head, so every cell costs three
/// branch-free `max`es whatever the lookback. (A monotonic queue is O(1)
/// too, but its pops are data-dependent branches.)
#[derive(Debug, Clone)]
pub struct DrawdownColumns {
    dates: usize,
    /// `drawdown_pct` per cell (symbol-major, as the history), `NaN` where
    /// the symbol is not ranked.
    drawdown: Vec<f64>,
}

impl DrawdownColumns {
    /// Compute the figures of every cell of `history`.
    pub fn new(history: &PriceHistory, params: &ScreenParams) -> Self {
        let n = history.dates().len();
        let lookback = params.lookback_days.max(1);
        let mut drawdown = vec![f64::NAN; history.symbols().len() * n];
        let basis = basis_field(params.peak_basis);
        // Reused per symbol: the running maxima from each block's start
        // (`head`) and from its end (`tail`), and the bars seen before
        // each date (`seen[d]`), so a window's count is one subtraction.
        let (mut head, mut tail) = (vec![f64::NAN; n], vec![f64::NAN; n]);
        let mut seen = vec![0u32; n + 1];
        for (s, dd) in drawdown
            .chunks_exact_mut(n.max(1))
            .enumerate()
            .take(history.symbols().len())
        {
            let prices = history.series(s, basis);
            let close = history.series(s, Field::Close);
            let present = history.present(s);
            for d in 0..n {
                seen[d + 1] = seen[d] + u32::from(present[d]);
            }
            // `f64::max` returns the other operand for NaN (an absent
            // cell), so absent cells never become the peak.
            for start in (0..n).step_by(lookback) {
                let end = (start + lookback).min(n);
                head[start] = prices[start];
                for d in start + 1..end {
                    head[d] = head[d - 1].max(prices[d]);
                }
                tail[end - 1] = prices[end - 1];
                for d in (start..end - 1).rev() {
                    tail[d] = tail[d + 1].max(prices[d]);
                }
            }
            let min_history = u32::try_from(params.min_history).unwrap_or(u32::MAX);
            // `d`'s place in its block, counted rather than divided.
            let mut at = 0;
            for d in 0..n {
                let ends_block = at + 1 == lookback;
                at = if ends_block { 0 } else { at + 1 };
                // The window [d + 1 - lookback, d]: within the first block,
                // or ending a block, it is that block's head; otherwise the
                // previous block's tail from the window's first date plus
                // this block's head.
                let first = (d + 1).saturating_sub(lookback);
                if !present[d] || seen[d + 1] - seen[first] < min_history {
                    continue;
                }
                let peak = if first == 0 || ends_block {
                    head[d]
                } else {
                    tail[first].max(head[d])
                };
                dd[d] = round4((close[d] - peak) / peak * 100.0);
            }
        }
        Self { dates: n, drawdown }
    }

    /// Symbol `s`'s drawdown at date position `d`, `None` when not ranked.
    pub fn drawdown(&self, s: usize, d: usize) -> Option<f64> {
        let v = self.drawdown[s * self.dates + d];
        (!v.is_nan()).then_some(v)
    }

    /// The symbols ranked at date position `d` whose drawdown is at or
    /// below `at_most` (use `f64::INFINITY` for all), as `(symbol position,
    /// drawdown_pct)`, rank 1 first: deepest first, ties by symbol (the
    /// history's symbols are sorted, so by position).
    pub fn ranked_at(&self, d: usize, at_most: f64) -> Vec<(usize, f64)> {
        let mut out: Vec<(usize, f64)> = (0..self.drawdown.len() / self.dates.max(1))
            .filter_map(|s| {
                let v = self.drawdown[s * self.dates + d];
                (v <= at_most).then_some((s, v))
            })
            .collect();
        out.sort_unstable_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        out
    }

    /// The full screen at date position `d`, as [`screen`] reports it
    /// (every symbol not ranked there is skipped with its reason): the
    /// figures the columns rank by, with each peak's date found by
    /// [`screen_columns`] (one scan of that date's windows).
    pub fn screen_at(&self, history: &PriceHistory, d: usize, params: &ScreenParams) -> Screen {
        screen_columns(history, d, params)
    }
}

/// Round to 4 decimals, so equal displayed drawdowns tie and rank by symbol.
/// `+ 0.0` turns a rounded `-0.0` into `0.0`.
fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0 + 0.0
}

#[cfg(test)]
mod tests;
