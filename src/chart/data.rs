//! What each figure shows, as plain data computed from the in-memory
//! history, the published screens and the account snapshots: pure
//! functions, no drawing. The peak and the drawdown of a price chart come
//! from the screen engine itself ([`crate::screen::screen`]), so a chart
//! never disagrees with `/screen`.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;

use crate::domain::{Account, DrawdownRow, Symbol, TradingDays};
use crate::query::{Field, PriceHistory};
use crate::screen::{ScreenParams, screen};
use crate::state::HistoryPoint;

/// How far back a price chart reaches, in sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// About three months (63 sessions).
    M3,
    /// About six months (126 sessions).
    M6,
    /// About a year (252 sessions).
    Y1,
    /// About five years (1,260 sessions).
    Y5,
}

impl Period {
    /// Every period, shortest first.
    pub const ALL: [Period; 4] = [Period::M3, Period::M6, Period::Y1, Period::Y5];

    /// Sessions the period spans.
    pub fn sessions(self) -> usize {
        match self {
            Self::M3 => 63,
            Self::M6 => 126,
            Self::Y1 => 252,
            Self::Y5 => 1260,
        }
    }

    /// How users write it: `3m`, `6m`, `1y`, `5y`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::M3 => "3m",
            Self::M6 => "6m",
            Self::Y1 => "1y",
            Self::Y5 => "5y",
        }
    }

    /// Read `3m`, `6m`, `1y` or `5y` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// The screen's verdict on the last session shown: the peak in the
/// lookback window and the fall from it, as the engine computes them.
#[derive(Debug, Clone, PartialEq)]
pub struct PeakMarks {
    /// First session of the lookback window (the first one held when the
    /// history is shorter than the window).
    pub window_start: NaiveDate,
    /// Most recent session that reached the peak.
    pub peak_date: NaiveDate,
    /// The peak price (high or close, per `screen.peak_basis`).
    pub peak_price: f64,
    /// The last session.
    pub last_date: NaiveDate,
    /// Its close.
    pub last_price: f64,
    /// `(last - peak) / peak * 100`, rounded as the screen rounds it.
    pub drawdown_pct: f64,
}

/// A symbol's closes over a period, with the screen's marks.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceChart {
    /// The symbol.
    pub symbol: Symbol,
    /// The period asked for.
    pub period: Period,
    /// Sessions with a bar, oldest first.
    pub dates: Vec<NaiveDate>,
    /// Their closes.
    pub closes: Vec<f64>,
    /// The peak and drawdown, or why the screen does not rank the symbol
    /// on the last session held.
    pub marks: Result<PeakMarks, String>,
    /// True when the history held is shorter than the period.
    pub short: bool,
    /// True when any price shown is simulated.
    pub simulated: bool,
}

/// Why a chart cannot be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoChart {
    /// No history is held at all.
    #[error("no price history is loaded yet")]
    NoHistory,
    /// The symbol has no bar in the history held.
    #[error("{0} has no bars in the price history held")]
    UnknownSymbol(Symbol),
    /// Nothing to plot.
    #[error("nothing to chart yet")]
    Empty,
}

/// `symbol`'s price over `period` (as much as is held), with the lookback
/// window, the peak and the drawdown on the last session held.
///
/// The marks are `published`, the symbol's row of the published screen,
/// when it is of that last session (the screen was computed over the full
/// window, which the history held may not reach); otherwise the screen
/// engine computes them with `params` over the sessions held.
pub fn price_chart(
    history: &PriceHistory,
    symbol: &Symbol,
    period: Period,
    params: &ScreenParams,
    published: Option<&DrawdownRow>,
) -> Result<PriceChart, NoChart> {
    let (Some(&last), false) = (history.dates().last(), history.is_empty()) else {
        return Err(NoChart::NoHistory);
    };
    let s = history
        .symbol_index(symbol)
        .ok_or_else(|| NoChart::UnknownSymbol(symbol.clone()))?;
    let n = history.dates().len();
    let from = n.saturating_sub(period.sessions());
    let present = history.present(s);
    let closes = history.series(s, Field::Close);
    let shown: Vec<usize> = (from..n).filter(|d| present[*d]).collect();
    let marks = match published.filter(|r| r.date == last && &r.symbol == symbol) {
        Some(row) => Ok(marks_of(row, window_start(history, last, params))),
        None => marks(history, s, symbol, last, params),
    };
    Ok(PriceChart {
        symbol: symbol.clone(),
        period,
        dates: shown.iter().map(|d| history.dates()[*d]).collect(),
        closes: shown.iter().map(|d| closes[*d]).collect(),
        marks,
        short: n < period.sessions(),
        simulated: (from..n).any(|d| history.is_simulated(d)),
    })
}

/// The screen engine's row for symbol `s` on `last`, as marks.
fn marks(
    history: &PriceHistory,
    s: usize,
    symbol: &Symbol,
    last: NaiveDate,
    params: &ScreenParams,
) -> Result<PeakMarks, String> {
    let bars = history.bars(s, history.dates().len() - 1);
    let days = TradingDays::new(history.dates().to_vec());
    let result = screen(last, [(symbol, bars.as_slice())], &days, params);
    if let Some(skipped) = result.skipped.first() {
        return Err(skipped.reason.to_string());
    }
    let row = result.rows.first().ok_or("not ranked")?;
    Ok(marks_of(row, window_start(history, last, params)))
}

/// The first session of the lookback window ending on `last`, or the
/// first one held when the history does not reach that far.
fn window_start(history: &PriceHistory, last: NaiveDate, params: &ScreenParams) -> NaiveDate {
    let dates = history.dates();
    let end = dates.partition_point(|d| *d <= last);
    let back = params.lookback_days.max(1);
    dates.get(end.saturating_sub(back)).copied().unwrap_or(last)
}

/// A screen row as marks.
fn marks_of(row: &DrawdownRow, window_start: NaiveDate) -> PeakMarks {
    PeakMarks {
        window_start,
        peak_date: row.peak_date,
        peak_price: row.peak_price,
        last_date: row.date,
        last_price: row.current_price,
        drawdown_pct: row.drawdown_pct,
    }
}

/// A symbol's drawdown and rank on each published screen.
#[derive(Debug, Clone, PartialEq)]
pub struct RankHistory {
    /// The symbol.
    pub symbol: Symbol,
    /// One point a screen, oldest first.
    pub points: Vec<HistoryPoint>,
    /// True when the screens were computed from simulated prices.
    pub simulated: bool,
}

/// `symbol`'s drawdown and rank history from the published screens held.
pub fn rank_history(
    history: &HashMap<Symbol, Vec<HistoryPoint>>,
    symbol: &Symbol,
    simulated: bool,
) -> Result<RankHistory, NoChart> {
    let points = history
        .get(symbol)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| NoChart::UnknownSymbol(symbol.clone()))?;
    Ok(RankHistory {
        symbol: symbol.clone(),
        points: points.clone(),
        simulated,
    })
}

/// Market breadth on one published screen.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BreadthPoint {
    /// Screen date.
    pub date: NaiveDate,
    /// Names ranked that day.
    pub ranked: usize,
    /// Names at or below -20%.
    pub down_20: usize,
    /// Names at or below -30%.
    pub down_30: usize,
    /// The median drawdown, percent.
    pub median_pct: f64,
}

/// Market breadth over the published screens held.
#[derive(Debug, Clone, PartialEq)]
pub struct Breadth {
    /// One point a screen, oldest first.
    pub points: Vec<BreadthPoint>,
    /// True when the screens were computed from simulated prices.
    pub simulated: bool,
}

/// Breadth per screen date from every symbol's drawdown history: how many
/// names are down 20% and 30% or more (at or below, as alerts count them)
/// and the median drawdown.
pub fn breadth(
    history: &HashMap<Symbol, Vec<HistoryPoint>>,
    simulated: bool,
) -> Result<Breadth, NoChart> {
    let mut by_date: BTreeMap<NaiveDate, Vec<f64>> = BTreeMap::new();
    for p in history.values().flatten() {
        by_date.entry(p.date).or_default().push(p.drawdown_pct);
    }
    if by_date.is_empty() {
        return Err(NoChart::Empty);
    }
    let points = by_date
        .into_iter()
        .filter_map(|(date, mut v)| BreadthPoint::of(date, &mut v))
        .collect();
    Ok(Breadth { points, simulated })
}

impl BreadthPoint {
    /// Breadth of one session's drawdowns (reordered in place): names
    /// ranked, at or below -20% and -30% (as alerts count them), the
    /// median; `None` when no name is ranked.
    pub fn of(date: NaiveDate, drawdowns: &mut [f64]) -> Option<Self> {
        if drawdowns.is_empty() {
            return None;
        }
        drawdowns.sort_unstable_by(f64::total_cmp);
        Some(Self {
            date,
            ranked: drawdowns.len(),
            down_20: drawdowns.partition_point(|x| *x <= -20.0),
            down_30: drawdowns.partition_point(|x| *x <= -30.0),
            median_pct: median(drawdowns),
        })
    }
}

/// The median of sorted, non-empty `v`.
fn median(v: &[f64]) -> f64 {
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Portfolio equity over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Equity {
    /// Snapshot dates with a known equity, oldest first.
    pub dates: Vec<NaiveDate>,
    /// Equity on each.
    pub values: Vec<f64>,
    /// True when the snapshots are simulated.
    pub simulated: bool,
}

/// Equity from account snapshots (any order; snapshots without an equity
/// figure are left out, a date given twice keeps the later one).
pub fn equity(snapshots: &[(NaiveDate, Account)], simulated: bool) -> Result<Equity, NoChart> {
    let by_date: BTreeMap<NaiveDate, f64> = snapshots
        .iter()
        .filter_map(|(d, a)| Some((*d, a.equity?.to_f64()?)))
        .collect();
    if by_date.is_empty() {
        return Err(NoChart::Empty);
    }
    Ok(Equity {
        dates: by_date.keys().copied().collect(),
        values: by_date.values().copied().collect(),
        simulated,
    })
}

/// The deepest drawdowns of one screen, as bars.
#[derive(Debug, Clone, PartialEq)]
pub struct TopDrawdowns {
    /// Screen date.
    pub date: NaiveDate,
    /// Symbol and drawdown, deepest first.
    pub bars: Vec<(Symbol, f64)>,
    /// True when the screen was computed from simulated prices.
    pub simulated: bool,
}

/// The first `n` rows of a ranked screen (rank 1 first).
pub fn top_drawdowns(
    date: NaiveDate,
    rows: &[DrawdownRow],
    n: usize,
    simulated: bool,
) -> Result<TopDrawdowns, NoChart> {
    if rows.is_empty() || n == 0 {
        return Err(NoChart::Empty);
    }
    Ok(TopDrawdowns {
        date,
        bars: rows
            .iter()
            .take(n)
            .map(|r| (r.symbol.clone(), r.drawdown_pct))
            .collect(),
        simulated,
    })
}

/// A symbol's recent closes, drawn small and bare (no axes, no text) next
/// to its row in a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Sparkline {
    /// The symbol.
    pub symbol: Symbol,
    /// Closes of the sessions with a bar, oldest first.
    pub closes: Vec<f64>,
    /// True when any price shown is simulated.
    pub simulated: bool,
}

/// `symbol`'s closes over the last `sessions` sessions held.
pub fn sparkline(
    history: &PriceHistory,
    symbol: &Symbol,
    sessions: usize,
) -> Result<Sparkline, NoChart> {
    if history.is_empty() {
        return Err(NoChart::NoHistory);
    }
    let s = history
        .symbol_index(symbol)
        .ok_or_else(|| NoChart::UnknownSymbol(symbol.clone()))?;
    let n = history.dates().len();
    let from = n.saturating_sub(sessions);
    let (present, closes) = (history.present(s), history.series(s, Field::Close));
    let closes: Vec<f64> = (from..n)
        .filter(|d| present[*d])
        .map(|d| closes[d])
        .collect();
    if closes.is_empty() {
        return Err(NoChart::Empty);
    }
    Ok(Sparkline {
        symbol: symbol.clone(),
        closes,
        simulated: (from..n).any(|d| history.is_simulated(d)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::DayBars;
    use crate::screen::PeakBasis;
    use crate::test_support::{d, sym};
    use rust_decimal::dec;

    /// Weekday sessions from 2026-01-05 with AAPL's (high, close) and a
    /// second symbol that misses the second session.
    fn history(hc: &[(f64, f64)], simulated_from: usize) -> PriceHistory {
        let mut date = d("2026-01-05");
        let mut days = Vec::new();
        for (i, (h, c)) in hc.iter().enumerate() {
            while matches!(
                chrono::Datelike::weekday(&date),
                chrono::Weekday::Sat | chrono::Weekday::Sun
            ) {
                date = date.succ_opt().unwrap();
            }
            let mut day = DayBars::new(date, i >= simulated_from);
            day.push(&sym("AAPL"), [*c, *h, *c, *c, 100.0]);
            if i != 1 {
                day.push(&sym("MSFT"), [10.0, 10.0, 10.0, 10.0, 5.0]);
            }
            days.push(day);
            date = date.succ_opt().unwrap();
        }
        PriceHistory::from_days(days)
    }

    fn params(lookback: usize) -> ScreenParams {
        ScreenParams {
            lookback_days: lookback,
            min_history: 2,
            peak_basis: PeakBasis::High,
        }
    }

    #[test]
    fn periods_parse_and_count_sessions() {
        assert_eq!(Period::parse(" 1Y "), Some(Period::Y1));
        assert_eq!(Period::parse("3m"), Some(Period::M3));
        assert_eq!(Period::parse("2y"), None);
        assert_eq!(
            Period::ALL.map(Period::sessions),
            [63, 126, 252, 1260],
            "a trading year is 252 sessions"
        );
    }

    #[test]
    fn a_price_chart_marks_the_screens_peak_and_drawdown() {
        // Highs 10, 12, 11, 9, 8; closes 9, 11, 10, 8, 6. Lookback 4
        // sessions: the window is sessions 2..=5 (Jan 6..9), the highest
        // high there is 12 on Jan 6, the last close 6:
        // (6 - 12) / 12 = -50%.
        let h = history(
            &[
                (10.0, 9.0),
                (12.0, 11.0),
                (11.0, 10.0),
                (9.0, 8.0),
                (8.0, 6.0),
            ],
            99,
        );
        let c = price_chart(&h, &sym("AAPL"), Period::M3, &params(4), None).unwrap();
        assert_eq!(c.closes, [9.0, 11.0, 10.0, 8.0, 6.0]);
        assert_eq!(c.dates.first(), Some(&d("2026-01-05")));
        assert!(c.short && !c.simulated);
        let m = c.marks.unwrap();
        assert_eq!(
            m,
            PeakMarks {
                window_start: d("2026-01-06"),
                peak_date: d("2026-01-06"),
                peak_price: 12.0,
                last_date: d("2026-01-09"),
                last_price: 6.0,
                drawdown_pct: -50.0,
            }
        );
        // Lookback 2: the window is Jan 8..9; peak 9 on Jan 8;
        // (6 - 9) / 9 = -33.3333%.
        let m = price_chart(&h, &sym("AAPL"), Period::M3, &params(2), None)
            .unwrap()
            .marks
            .unwrap();
        assert_eq!(
            (m.window_start, m.peak_date, m.peak_price, m.drawdown_pct),
            (d("2026-01-08"), d("2026-01-08"), 9.0, -33.3333)
        );
    }

    #[test]
    fn a_price_chart_skips_absent_sessions_and_keeps_to_its_period() {
        let hc: Vec<(f64, f64)> = (0..70).map(|i| (i as f64 + 1.0, i as f64 + 1.0)).collect();
        let h = history(&hc, 68);
        // MSFT misses session 1, which is outside the last 63 anyway.
        let c = price_chart(&h, &sym("MSFT"), Period::M3, &params(10), None).unwrap();
        assert_eq!(c.closes.len(), 63);
        assert_eq!(c.dates[0], h.dates()[7]);
        assert!(
            !c.short && c.simulated,
            "the last two sessions are simulated"
        );
        // The 6-month chart holds all 70 sessions but session 1.
        let c = price_chart(&h, &sym("MSFT"), Period::M6, &params(10), None).unwrap();
        assert_eq!(c.closes.len(), 69);
        assert!(c.short);
        assert!(!c.dates.contains(&h.dates()[1]));
        // Flat at 10: peak today, 0%.
        assert_eq!(c.marks.unwrap().drawdown_pct, 0.0);
    }

    #[test]
    fn a_symbol_the_screen_skips_is_charted_with_the_reason() {
        let h = history(&[(10.0, 9.0), (12.0, 11.0)], 99);
        let mut p = params(10);
        p.min_history = 5;
        let c = price_chart(&h, &sym("AAPL"), Period::Y1, &p, None).unwrap();
        assert_eq!(c.closes.len(), 2);
        assert!(c.marks.unwrap_err().contains("insufficient history"));
        // The published screen (computed over the whole window when it was
        // collected) ranks it: its row gives the marks, when it is of the
        // last session held.
        let row = DrawdownRow {
            date: d("2026-01-06"),
            symbol: sym("AAPL"),
            current_price: 11.0,
            peak_price: 20.0,
            peak_date: d("2025-12-01"),
            drawdown_pct: -45.0,
            days_since_peak: 25,
            volume: 100,
            rank: 1,
        };
        let m = price_chart(&h, &sym("AAPL"), Period::Y1, &p, Some(&row))
            .unwrap()
            .marks
            .unwrap();
        assert_eq!(
            (m.window_start, m.peak_date, m.peak_price, m.drawdown_pct),
            (d("2026-01-05"), d("2025-12-01"), 20.0, -45.0)
        );
        let older = DrawdownRow {
            date: d("2026-01-05"),
            ..row
        };
        let c = price_chart(&h, &sym("AAPL"), Period::Y1, &p, Some(&older)).unwrap();
        assert!(c.marks.is_err(), "a row of another day is not used");
        assert_eq!(
            price_chart(&h, &sym("NVDA"), Period::Y1, &p, None),
            Err(NoChart::UnknownSymbol(sym("NVDA")))
        );
        assert_eq!(
            price_chart(&PriceHistory::default(), &sym("AAPL"), Period::Y1, &p, None),
            Err(NoChart::NoHistory)
        );
    }

    fn point(date: &str, pct: f64, rank: u32) -> HistoryPoint {
        HistoryPoint {
            date: d(date),
            drawdown_pct: pct,
            rank,
        }
    }

    #[test]
    fn breadth_counts_names_down_20_and_30_and_the_median() {
        let mut h = HashMap::new();
        h.insert(
            sym("A"),
            vec![point("2026-01-05", -35.0, 1), point("2026-01-06", -10.0, 2)],
        );
        h.insert(
            sym("B"),
            vec![point("2026-01-05", -20.0, 2), point("2026-01-06", -30.0, 1)],
        );
        h.insert(sym("C"), vec![point("2026-01-05", -5.0, 3)]);
        h.insert(sym("D"), vec![point("2026-01-05", 0.0, 4)]);
        let b = breadth(&h, true).unwrap();
        assert!(b.simulated);
        assert_eq!(
            b.points,
            [
                // -35, -20, -5, 0: two at or below -20, one at or below
                // -30, median (-20 + -5) / 2.
                BreadthPoint {
                    date: d("2026-01-05"),
                    ranked: 4,
                    down_20: 2,
                    down_30: 1,
                    median_pct: -12.5,
                },
                // -30, -10: median -20.
                BreadthPoint {
                    date: d("2026-01-06"),
                    ranked: 2,
                    down_20: 1,
                    down_30: 1,
                    median_pct: -20.0,
                },
            ]
        );
        assert_eq!(breadth(&HashMap::new(), false), Err(NoChart::Empty));
        let r = rank_history(&h, &sym("B"), false).unwrap();
        assert_eq!(r.points.iter().map(|p| p.rank).collect::<Vec<_>>(), [2, 1]);
        assert!(rank_history(&h, &sym("Z"), false).is_err());
    }

    #[test]
    fn equity_keeps_dates_with_a_figure_in_order() {
        let account = |e: Option<rust_decimal::Decimal>| Account::with_equity_and_cash(e, None);
        let e = equity(
            &[
                (d("2026-01-07"), account(Some(dec!(1100.5)))),
                (d("2026-01-05"), account(Some(dec!(1000)))),
                (d("2026-01-06"), account(None)),
            ],
            false,
        )
        .unwrap();
        assert_eq!(e.dates, [d("2026-01-05"), d("2026-01-07")]);
        assert_eq!(e.values, [1000.0, 1100.5]);
        assert_eq!(equity(&[], false), Err(NoChart::Empty));
    }

    #[test]
    fn top_drawdowns_take_the_first_ranks() {
        let row = |s: &str, pct: f64, rank: u32| DrawdownRow {
            date: d("2026-01-09"),
            symbol: sym(s),
            current_price: 1.0,
            peak_price: 2.0,
            peak_date: d("2026-01-05"),
            drawdown_pct: pct,
            days_since_peak: 4,
            volume: 1,
            rank,
        };
        let rows = [row("X", -40.0, 1), row("Y", -30.0, 2), row("Z", -1.0, 3)];
        let t = top_drawdowns(d("2026-01-09"), &rows, 2, false).unwrap();
        assert_eq!(t.bars, [(sym("X"), -40.0), (sym("Y"), -30.0)]);
        assert_eq!(
            top_drawdowns(d("2026-01-09"), &[], 5, false),
            Err(NoChart::Empty)
        );
    }
}
