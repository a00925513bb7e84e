//! The published screens over every stored session, for the historical
//! views (`dipwatch history`): market breadth per session (names down 20%
//! and 30% or more, the median drawdown) and one symbol's drawdown and
//! rank per session.
//!
//! Both read the screens as published (each date's drawdowns, through
//! [`crate::store::Lake::screens`]), not a recomputation from the stored
//! bars: a backfill screens its first dates with a lookback of bars it
//! fetched but does not store, and the benchmark collected beside the
//! universe is never ranked, so only the published rows say what each
//! screen was. A session here is the screen published for it, row for row.
//! Pure: one date's rows in, one point out.

use chrono::NaiveDate;
use serde::Serialize;

use crate::chart::BreadthPoint;
use crate::domain::{DrawdownRow, Symbol};
use crate::state::HistoryPoint;

/// Breadth of one published screen (`None` when it ranked no name).
pub fn breadth(date: NaiveDate, rows: &[DrawdownRow]) -> Option<BreadthPoint> {
    let mut drawdowns: Vec<f64> = rows.iter().map(|r| r.drawdown_pct).collect();
    BreadthPoint::of(date, &mut drawdowns)
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

/// `symbol`'s row of one published screen, `None` when it was not ranked.
pub fn symbol(date: NaiveDate, rows: &[DrawdownRow], symbol: &Symbol) -> Option<SymbolSession> {
    let row = rows.iter().find(|r| &r.symbol == symbol)?;
    Some(SymbolSession {
        date,
        close: row.current_price,
        drawdown_pct: row.drawdown_pct,
        rank: row.rank,
        ranked: rows.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(symbol: &str, drawdown_pct: f64, rank: u32) -> DrawdownRow {
        let date = NaiveDate::from_ymd_opt(2026, 1, 7).unwrap();
        DrawdownRow {
            date,
            symbol: Symbol::parse(symbol).unwrap(),
            current_price: 10.0 + f64::from(rank),
            peak_price: 20.0,
            peak_date: date,
            drawdown_pct,
            days_since_peak: 1,
            volume: 100,
            rank,
        }
    }

    #[test]
    fn breadth_counts_the_published_rows() {
        let date = NaiveDate::from_ymd_opt(2026, 1, 7).unwrap();
        let rows = [
            row("AAA", -30.0, 1),
            row("BBB", -20.0, 2),
            row("CCC", -19.99, 3),
        ];
        let b = breadth(date, &rows).unwrap();
        assert_eq!((b.ranked, b.down_20, b.down_30), (3, 2, 1));
        assert_eq!(b.median_pct, -20.0);
        assert_eq!(breadth(date, &[]), None);
    }

    #[test]
    fn a_symbols_session_is_its_published_row() {
        let date = NaiveDate::from_ymd_opt(2026, 1, 7).unwrap();
        let rows = [row("AAA", -30.0, 1), row("BBB", -20.0, 2)];
        let s = symbol(date, &rows, &Symbol::parse("BBB").unwrap()).unwrap();
        assert_eq!(
            (s.rank, s.ranked, s.drawdown_pct, s.close),
            (2, 2, -20.0, 12.0)
        );
        assert_eq!(symbol(date, &rows, &Symbol::parse("SPY").unwrap()), None);
    }
}
