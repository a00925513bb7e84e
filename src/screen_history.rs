//! The screen over every stored session, for the historical views
//! (`dipwatch history`): market breadth per session (names down 20% and
//! 30% or more, the median drawdown) and one symbol's drawdown and rank
//! per session. Both read [`DrawdownColumns`], which computes every
//! cell's drawdown in one pass with the screen's own definition (the
//! history's dates as the calendar), so a session here agrees with the
//! screen published for it. Pure.

use std::ops::RangeInclusive;

use chrono::NaiveDate;
use serde::Serialize;

use crate::chart::BreadthPoint;
use crate::query::{Field, PriceHistory};
use crate::screen::DrawdownColumns;
use crate::state::HistoryPoint;

/// Breadth on each session of `sessions` (positions in the history's
/// dates) where at least one name is ranked, oldest first.
pub fn breadth(
    history: &PriceHistory,
    columns: &DrawdownColumns,
    sessions: RangeInclusive<usize>,
) -> Vec<BreadthPoint> {
    let symbols = history.symbols().len();
    let mut drawdowns = Vec::with_capacity(symbols);
    sessions
        .filter_map(|d| {
            drawdowns.clear();
            drawdowns.extend((0..symbols).filter_map(|s| columns.drawdown(s, d)));
            BreadthPoint::of(history.dates()[d], &mut drawdowns)
        })
        .collect()
}

/// One symbol on one session.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SymbolSession {
    /// The session.
    pub date: NaiveDate,
    /// Its close.
    pub close: f64,
    /// Below the window's peak, percent.
    pub drawdown_pct: f64,
    /// Its rank that session (1 = deepest; ties by symbol, as the screen).
    pub rank: u32,
    /// Names ranked that session.
    pub ranked: usize,
}

impl From<&SymbolSession> for HistoryPoint {
    fn from(s: &SymbolSession) -> Self {
        HistoryPoint {
            date: s.date,
            drawdown_pct: s.drawdown_pct,
            rank: s.rank,
        }
    }
}

/// Symbol `s`'s drawdown and rank on each session of `sessions` where it
/// is ranked, oldest first. The rank counts the names deeper than it (or
/// as deep with an earlier symbol), as the screen orders them, without
/// sorting the session.
pub fn symbol(
    history: &PriceHistory,
    columns: &DrawdownColumns,
    s: usize,
    sessions: RangeInclusive<usize>,
) -> Vec<SymbolSession> {
    let symbols = history.symbols().len();
    let close = history.series(s, Field::Close);
    sessions
        .filter_map(|d| {
            let own = columns.drawdown(s, d)?;
            let (mut deeper, mut ranked) = (0usize, 0usize);
            for other in 0..symbols {
                if let Some(v) = columns.drawdown(other, d) {
                    ranked += 1;
                    if v < own || (v == own && other < s) {
                        deeper += 1;
                    }
                }
            }
            Some(SymbolSession {
                date: history.dates()[d],
                close: close[d],
                drawdown_pct: own,
                rank: u32::try_from(deeper + 1).unwrap_or(u32::MAX),
                ranked,
            })
        })
        .collect()
}

/// The positions of the sessions from `from` to `to` (either open) in
/// `dates` (sorted), `None` when none falls in between.
pub fn sessions(
    dates: &[NaiveDate],
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Option<RangeInclusive<usize>> {
    let start = from.map_or(0, |f| dates.partition_point(|d| *d < f));
    let end = to.map_or(dates.len(), |t| dates.partition_point(|d| *d <= t));
    (start < end).then(|| start..=end - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Symbol;
    use crate::query::DayBars;
    use crate::screen::{PeakBasis, ScreenParams};

    /// Three names over five sessions, closes only.
    fn market() -> PriceHistory {
        let closes: [(&str, [f64; 5]); 3] = [
            ("AAA", [100.0, 80.0, 70.0, 90.0, 60.0]),
            ("BBB", [50.0, 50.0, 40.0, 45.0, 50.0]),
            ("CCC", [10.0, 7.0, 8.0, 7.0, 6.0]),
        ];
        let days = (0..5)
            .map(|d| {
                let date = NaiveDate::from_ymd_opt(2026, 1, 5 + d as u32).unwrap();
                let mut day = DayBars::new(date, false);
                for (t, c) in &closes {
                    let v = c[d];
                    day.push(&Symbol::parse(t).unwrap(), [v, v, v, v, 1.0]);
                }
                day
            })
            .collect();
        PriceHistory::from_days(days)
    }

    fn columns(h: &PriceHistory) -> DrawdownColumns {
        DrawdownColumns::new(
            h,
            &ScreenParams {
                lookback_days: 10,
                min_history: 1,
                peak_basis: PeakBasis::Close,
            },
        )
    }

    #[test]
    fn breadth_counts_each_session_by_hand() {
        let h = market();
        let b = breadth(&h, &columns(&h), 0..=4);
        // Session 2: AAA -30, BBB -20, CCC -20 (8 vs 10).
        assert_eq!((b[2].ranked, b[2].down_20, b[2].down_30), (3, 3, 1));
        assert_eq!(b[2].median_pct, -20.0);
        // Session 4: AAA -40, BBB 0, CCC -40.
        assert_eq!((b[4].down_20, b[4].down_30, b[4].median_pct), (2, 2, -40.0));
        assert_eq!(b[0].down_20, 0);
    }

    #[test]
    fn a_symbols_rank_is_the_screens() {
        let h = market();
        let c = columns(&h);
        let ccc = symbol(&h, &c, 2, 0..=4);
        assert_eq!(ccc.len(), 5);
        // Session 1: AAA -20, CCC -30: CCC first.
        assert_eq!(
            (ccc[1].rank, ccc[1].drawdown_pct, ccc[1].close),
            (1, -30.0, 7.0)
        );
        // Session 4: AAA and CCC both -40: the earlier symbol first.
        assert_eq!(ccc[4].rank, 2);
        for (d, session) in ccc.iter().enumerate() {
            let screen = c.screen_at(
                &h,
                d,
                &ScreenParams {
                    lookback_days: 10,
                    min_history: 1,
                    peak_basis: PeakBasis::Close,
                },
            );
            let row = screen
                .rows
                .iter()
                .find(|r| r.symbol.as_str() == "CCC")
                .unwrap();
            assert_eq!(row.rank, session.rank, "session {d}");
        }
    }

    #[test]
    fn sessions_of_a_period() {
        let h = market();
        let d = |day| NaiveDate::from_ymd_opt(2026, 1, day);
        assert_eq!(sessions(h.dates(), None, None), Some(0..=4));
        assert_eq!(sessions(h.dates(), d(6), d(8)), Some(1..=3));
        assert_eq!(sessions(h.dates(), d(20), None), None);
        assert_eq!(sessions(h.dates(), d(8), d(6)), None);
    }
}
