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
mod tests {
    use super::*;
    use chrono::{Datelike, Weekday};

    /// Weekdays from 2026-01-05 (a Monday), `n` of them.
    fn weekdays(n: usize) -> Vec<NaiveDate> {
        let mut d = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let mut out = Vec::new();
        while out.len() < n {
            if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
                out.push(d);
            }
            d = d.succ_opt().unwrap();
        }
        out
    }

    /// Bars on `dates` with the given (high, close); open = low = close.
    fn series(dates: &[NaiveDate], hc: &[(f64, f64)]) -> Vec<Bar> {
        dates
            .iter()
            .zip(hc)
            .map(|(d, (h, c))| Bar {
                date: *d,
                open: *c,
                high: *h,
                low: *c,
                close: *c,
                volume: 100,
                trade_count: None,
                vwap: None,
            })
            .collect()
    }

    fn params(lookback: usize, min: usize) -> ScreenParams {
        ScreenParams {
            lookback_days: lookback,
            min_history: min,
            peak_basis: PeakBasis::High,
        }
    }

    fn run(cal: &[NaiveDate], input: &[(&str, Vec<Bar>)], p: ScreenParams) -> Screen {
        let syms: Vec<_> = input
            .iter()
            .map(|(s, b)| (Symbol::parse(s).unwrap(), b))
            .collect();
        let days = TradingDays::new(cal.to_vec());
        screen(
            *cal.last().unwrap(),
            syms.iter().map(|(s, b)| (s, b.as_slice())),
            &days,
            &p,
        )
    }

    #[test]
    fn flat_prices_are_zero_drawdown_peaking_today() {
        let cal = weekdays(40);
        let s = run(
            &cal,
            &[("FLAT", series(&cal, &[(10.0, 10.0); 40]))],
            params(180, 30),
        );
        let r = &s.rows[0];
        assert_eq!(r.drawdown_pct, 0.0);
        assert!(r.drawdown_pct.is_sign_positive());
        assert_eq!(r.peak_date, cal[39]);
        assert_eq!(r.days_since_peak, 0);
        assert_eq!(r.rank, 1);
    }

    #[test]
    fn new_high_today_is_zero_days() {
        let cal = weekdays(35);
        let hc: Vec<_> = (0..35).map(|i| (10.0 + i as f64, 9.5 + i as f64)).collect();
        let s = run(&cal, &[("UP", series(&cal, &hc))], params(180, 30));
        let r = &s.rows[0];
        // peak = today's high 44, close 43.5: -1.1364%
        assert_eq!(r.peak_price, 44.0);
        assert_eq!(r.peak_date, cal[34]);
        assert_eq!(r.days_since_peak, 0);
        assert_eq!(r.drawdown_pct, -1.1364);
        assert_eq!(r.current_price, 43.5);
    }

    #[test]
    fn peak_tie_takes_the_most_recent_bar() {
        let cal = weekdays(30);
        let mut hc = vec![(10.0, 10.0); 30];
        hc[5] = (12.0, 11.0);
        hc[20] = (12.0, 11.0);
        hc[29] = (9.0, 9.0);
        let s = run(&cal, &[("TIE", series(&cal, &hc))], params(180, 30));
        let r = &s.rows[0];
        assert_eq!(r.peak_date, cal[20]);
        assert_eq!(r.days_since_peak, 9);
        assert_eq!(r.drawdown_pct, -25.0);
    }

    #[test]
    fn fewer_than_min_history_is_skipped_with_reason() {
        let cal = weekdays(40);
        let s = run(
            &cal,
            &[("NEW", series(&cal[11..], &[(10.0, 10.0); 29]))],
            params(180, 30),
        );
        assert!(s.rows.is_empty());
        assert_eq!(s.skipped[0].symbol.as_str(), "NEW");
        assert_eq!(
            s.skipped[0].reason,
            SkipReason::InsufficientHistory {
                bars: 29,
                required: 30
            }
        );
    }

    #[test]
    fn split_adjusted_four_for_one_is_not_a_crash() {
        // Raw prices ~400 then ~100 after a 4:1 split on day 20; the
        // adjusted feed divides the pre-split bars by 4.
        let cal = weekdays(40);
        let raw: Vec<(f64, f64)> = (0..40)
            .map(|i| {
                if i < 20 {
                    (404.0, 400.0)
                } else {
                    (101.0, 100.0)
                }
            })
            .collect();
        let adjusted: Vec<(f64, f64)> = raw
            .iter()
            .enumerate()
            .map(|(i, (h, c))| if i < 20 { (h / 4.0, c / 4.0) } else { (*h, *c) })
            .collect();
        let s = run(&cal, &[("SPLT", series(&cal, &adjusted))], params(180, 30));
        let r = &s.rows[0];
        // Peak 101 (the most recent 101 high), close 100: -0.9901%, not -75%.
        assert_eq!(r.peak_price, 101.0);
        assert_eq!(r.drawdown_pct, -0.9901);
        assert_eq!(r.days_since_peak, 0);
        // The same bars unadjusted would read as a crash: the reason the
        // collector asks for split-adjusted data.
        let crash = run(&cal, &[("SPLT", series(&cal, &raw))], params(180, 30));
        assert_eq!(crash.rows[0].drawdown_pct, -75.2475);
    }

    #[test]
    fn gaps_count_trading_days_not_bars() {
        // The symbol has no bars on sessions 31..=35 (a halt).
        let cal = weekdays(45);
        let dates: Vec<_> = cal
            .iter()
            .enumerate()
            .filter(|(i, _)| !(31..=35).contains(i))
            .map(|(_, d)| *d)
            .collect();
        let mut hc = vec![(10.0, 10.0); dates.len()];
        hc[30] = (20.0, 19.0); // session 30, just before the halt
        *hc.last_mut().unwrap() = (15.0, 15.0);
        let s = run(&cal, &[("GAP", series(&dates, &hc))], params(180, 30));
        let r = &s.rows[0];
        assert_eq!(r.peak_date, cal[30]);
        assert_eq!(r.days_since_peak, 14, "sessions 30 -> 44, halt included");
        assert_eq!(r.drawdown_pct, -25.0);
    }

    #[test]
    fn window_is_the_last_lookback_sessions() {
        let cal = weekdays(50);
        let mut hc = vec![(10.0, 8.0); 50];
        hc[10] = (100.0, 90.0); // outside a 30-session window
        hc[25] = (12.0, 11.0); // inside
        let s = run(&cal, &[("WIN", series(&cal, &hc))], params(30, 20));
        let r = &s.rows[0];
        assert_eq!(r.peak_price, 12.0);
        assert_eq!(r.peak_date, cal[25]);
        assert_eq!(r.drawdown_pct, -33.3333);
        // a wider window sees the old peak
        let wide = run(&cal, &[("WIN", series(&cal, &hc))], params(180, 20));
        assert_eq!(wide.rows[0].peak_price, 100.0);
        assert_eq!(wide.rows[0].drawdown_pct, -92.0);
    }

    #[test]
    fn stale_and_empty_series_are_skipped() {
        let cal = weekdays(40);
        let s = run(
            &cal,
            &[
                ("OLD", series(&cal[..39], &[(10.0, 10.0); 39])),
                ("NONE", vec![]),
            ],
            params(180, 30),
        );
        assert!(s.rows.is_empty());
        assert_eq!(s.skipped[0].reason, SkipReason::Stale { last_bar: cal[38] });
        assert_eq!(s.skipped[1].reason, SkipReason::NoBars);
    }

    #[test]
    fn bars_after_the_screen_date_are_ignored() {
        let cal = weekdays(40);
        let mut hc = vec![(10.0, 10.0); 40];
        hc[39] = (50.0, 50.0);
        let bars = series(&cal, &hc);
        let sym = Symbol::parse("FUT").unwrap();
        let days = TradingDays::new(cal.clone());
        let s = screen(cal[38], [(&sym, bars.as_slice())], &days, &params(180, 30));
        assert_eq!(s.date, cal[38]);
        assert_eq!(s.rows[0].current_price, 10.0);
        assert_eq!(s.rows[0].peak_price, 10.0);
    }

    #[test]
    fn ranks_deepest_first_and_breaks_ties_by_symbol() {
        let cal = weekdays(30);
        let mk = |close: f64| {
            let mut hc = vec![(10.0, 10.0); 30];
            hc[29] = (close, close);
            series(&cal, &hc)
        };
        let s = run(
            &cal,
            &[
                ("BBB", mk(5.0)),
                ("CCC", mk(9.0)),
                ("AAA", mk(5.0)),
                ("DDD", mk(2.0)),
            ],
            params(180, 30),
        );
        let order: Vec<_> = s
            .rows
            .iter()
            .map(|r| (r.rank, r.symbol.as_str(), r.drawdown_pct))
            .collect();
        assert_eq!(
            order,
            [
                (1, "DDD", -80.0),
                (2, "AAA", -50.0),
                (3, "BBB", -50.0),
                (4, "CCC", -10.0)
            ]
        );
    }

    #[test]
    fn close_basis_ignores_intraday_highs() {
        let cal = weekdays(30);
        let mut hc = vec![(10.0, 10.0); 30];
        hc[3] = (30.0, 12.0);
        hc[29] = (9.0, 9.0);
        let mut p = params(180, 30);
        p.peak_basis = PeakBasis::Close;
        let s = run(&cal, &[("CLS", series(&cal, &hc))], p);
        assert_eq!(s.rows[0].peak_price, 12.0);
        assert_eq!(s.rows[0].drawdown_pct, -25.0);
    }

    /// The definition, written the obvious way: filter the bars by date
    /// window, take the max, count calendar sessions.
    fn naive(
        date: NaiveDate,
        bars: &[Bar],
        cal: &[NaiveDate],
        p: &ScreenParams,
    ) -> Result<(f64, NaiveDate, u32, f64), SkipReason> {
        let upto: Vec<&Bar> = bars.iter().filter(|b| b.date <= date).collect();
        let last = upto.last().ok_or(SkipReason::NoBars)?;
        if last.date < date {
            return Err(SkipReason::Stale {
                last_bar: last.date,
            });
        }
        let sessions: Vec<NaiveDate> = cal.iter().copied().filter(|d| *d <= date).collect();
        let ws = sessions[sessions.len().saturating_sub(p.lookback_days)];
        let window: Vec<&Bar> = upto.iter().copied().filter(|b| b.date >= ws).collect();
        if window.len() < p.min_history {
            return Err(SkipReason::InsufficientHistory {
                bars: window.len(),
                required: p.min_history,
            });
        }
        let peak = window.iter().map(|b| b.high).fold(f64::MIN, f64::max);
        let peak_date = window.iter().rev().find(|b| b.high == peak).unwrap().date;
        let pos = |d: NaiveDate| sessions.iter().position(|x| *x == d).unwrap();
        let days = (pos(last.date) - pos(peak_date)) as u32;
        Ok((
            peak,
            peak_date,
            days,
            round4((last.close - peak) / peak * 100.0),
        ))
    }

    #[test]
    fn matches_a_naive_reference_on_random_series() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
        let cal = weekdays(120);
        let days = TradingDays::new(cal.clone());
        for case in 0..400 {
            let p = ScreenParams {
                lookback_days: rng.random_range(2..100),
                min_history: rng.random_range(1..40),
                peak_basis: PeakBasis::High,
            };
            // A random subset of sessions (gaps, late starts), random prices.
            let keep = rng.random_range(0.3..1.0);
            let mut bars: Vec<Bar> = Vec::new();
            for d in &cal {
                if !rng.random_bool(keep) {
                    continue;
                }
                let c = rng.random_range(1.0..100.0_f64).round();
                let h = c + rng.random_range(0..3) as f64;
                bars.push(Bar {
                    date: *d,
                    open: c,
                    high: h,
                    low: c,
                    close: c,
                    volume: 1,
                    trade_count: None,
                    vwap: None,
                });
            }
            let date = cal[rng.random_range(0..cal.len())];
            let sym = Symbol::parse("R").unwrap();
            let got = screen(date, [(&sym, bars.as_slice())], &days, &p);
            let want = naive(date, &bars, &cal, &p);
            match (got.rows.first(), want) {
                (Some(r), Ok((peak, peak_date, d, dd))) => {
                    assert_eq!(
                        (r.peak_price, r.peak_date, r.days_since_peak, r.drawdown_pct),
                        (peak, peak_date, d, dd),
                        "case {case}"
                    );
                }
                (None, Err(reason)) => assert_eq!(got.skipped[0].reason, reason, "case {case}"),
                (row, want) => panic!(
                    "case {case}: engine {row:?} / {:?}, reference {want:?}",
                    got.skipped
                ),
            }
        }
    }

    #[test]
    fn columns_rank_exactly_as_the_screen_on_every_date_both_ways() {
        use crate::query::{DayBars, PriceHistory};
        use rand::{Rng, SeedableRng};
        let mut rng = rand_pcg::Pcg64::seed_from_u64(11);
        let cal = weekdays(90);
        let names = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"];
        let mut days: Vec<DayBars> = cal.iter().map(|d| DayBars::new(*d, false)).collect();
        for name in names {
            let sym = Symbol::parse(name).unwrap();
            // Late starts, gaps and early ends; integer prices so ties occur.
            let (start, end) = (rng.random_range(0..30), rng.random_range(60..=90));
            for day in &mut days[start..end] {
                if rng.random_bool(0.1) {
                    continue;
                }
                let c = rng.random_range(5..40) as f64;
                let h = c + rng.random_range(0..3) as f64;
                day.push(&sym, [c, h, c, c, 1000.0]);
            }
        }
        let history = PriceHistory::from_days(days);
        let calendar = TradingDays::new(history.dates().to_vec());
        for (lookback, min_history, peak_basis) in [
            (20, 10, PeakBasis::High),
            (45, 30, PeakBasis::Close),
            (1, 1, PeakBasis::High),
            (200, 5, PeakBasis::High),
            (7, 3, PeakBasis::High),
            (90, 1, PeakBasis::Close),
            (89, 2, PeakBasis::High),
        ] {
            let p = ScreenParams {
                lookback_days: lookback,
                min_history,
                peak_basis,
            };
            let columns = DrawdownColumns::new(&history, &p);
            for d in 0..history.dates().len() {
                let bars: Vec<Vec<Bar>> = (0..history.symbols().len())
                    .map(|s| history.bars(s, d))
                    .collect();
                let want = screen(
                    history.dates()[d],
                    history.symbols().iter().zip(bars.iter().map(Vec::as_slice)),
                    &calendar,
                    &p,
                );
                let got = screen_columns(&history, d, &p);
                assert_eq!(got, want, "columns, date {d}, lookback {lookback}");
                // The all-dates columns rank the same names in the same
                // order with the same drawdowns, and no others.
                let ranked: Vec<(usize, f64)> = want
                    .rows
                    .iter()
                    .map(|r| (history.symbol_index(&r.symbol).unwrap(), r.drawdown_pct))
                    .collect();
                assert_eq!(
                    columns.ranked_at(d, f64::INFINITY),
                    ranked,
                    "date {d}, lookback {lookback}"
                );
                for (s, _) in history.symbols().iter().enumerate() {
                    let row = want
                        .rows
                        .iter()
                        .find(|r| history.symbol_index(&r.symbol) == Some(s));
                    assert_eq!(columns.drawdown(s, d), row.map(|r| r.drawdown_pct));
                }
            }
        }
    }
}
