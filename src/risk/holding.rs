//! How long each position has been held, read from the stored positions
//! snapshots: the brokerage API says what is held now, not since when.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::domain::{AssetSymbol, Position, Side};

/// How long a position has been held, as far as the snapshots show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Held {
    /// The first snapshot of the unbroken run that holds it.
    pub since: NaiveDate,
    /// Exchange sessions from `since` to the latest snapshot (0 = first
    /// seen in the latest snapshot).
    pub sessions: u32,
    /// True when the run reaches the oldest snapshot read: it was held
    /// before, so `sessions` is a lower bound.
    pub at_least: bool,
}

/// Each position of the newest snapshot and how long it has been held:
/// the unbroken run of snapshots (oldest first in `snapshots`) that hold
/// it on the same side at the same average entry price, counted in
/// exchange sessions. A snapshot that does not hold it ends the run (it
/// was sold and bought again), and so does another entry price (bought
/// again, or added to: the return the exit rules read is measured from
/// the new entry, so the holding period restarts with it).
pub fn holding_periods(snapshots: &[(NaiveDate, Vec<Position>)]) -> HashMap<AssetSymbol, Held> {
    let Some((latest, now)) = snapshots.last() else {
        return HashMap::new();
    };
    let held: Vec<HashMap<&AssetSymbol, (Side, Decimal)>> = snapshots
        .iter()
        .map(|(_, ps)| {
            ps.iter()
                .map(|p| (&p.symbol, (p.side.clone(), p.avg_entry_price)))
                .collect()
        })
        .collect();
    now.iter()
        .map(|p| {
            let mut first = snapshots.len() - 1;
            let same = (p.side.clone(), p.avg_entry_price);
            while first > 0 && held[first - 1].get(&p.symbol) == Some(&same) {
                first -= 1;
            }
            let since = snapshots[first].0;
            let sessions = crate::market::calendar::trading_days(since, *latest)
                .len()
                .saturating_sub(1);
            let held = Held {
                since,
                sessions: u32::try_from(sessions).unwrap_or(u32::MAX),
                at_least: first == 0,
            };
            (p.symbol.clone(), held)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Symbol;
    use rust_decimal::dec;

    fn pos(s: &str) -> Position {
        Position::from_prices(Symbol::parse(s).unwrap(), dec!(1), dec!(10), dec!(11))
    }

    fn pos_at(s: &str, entry: Decimal) -> Position {
        Position::from_prices(Symbol::parse(s).unwrap(), dec!(1), entry, dec!(11))
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_run_of_snapshots_counts_sessions_and_a_gap_restarts_it() {
        // Mon 16 .. Fri 20 November 2026; AAPL held throughout, MSFT sold
        // on the 18th and bought back on the 19th.
        let snaps = vec![
            (d("2026-11-16"), vec![pos("AAPL"), pos("MSFT")]),
            (d("2026-11-17"), vec![pos("AAPL"), pos("MSFT")]),
            (d("2026-11-18"), vec![pos("AAPL")]),
            (d("2026-11-19"), vec![pos("AAPL"), pos("MSFT")]),
            (
                d("2026-11-20"),
                vec![
                    pos("AAPL"),
                    pos("MSFT"),
                    pos("NEW"),
                    pos_at("ROLL", dec!(12)),
                ],
            ),
        ];
        let mut snaps = snaps;
        // ROLL was held at another entry price before: bought again today.
        snaps[3].1.push(pos_at("ROLL", dec!(9)));
        let h = holding_periods(&snaps);
        let get = |s: &str| h[&AssetSymbol::parse(s).unwrap()];
        assert_eq!(
            get("AAPL"),
            Held {
                since: d("2026-11-16"),
                sessions: 4,
                at_least: true
            }
        );
        assert_eq!(
            get("MSFT"),
            Held {
                since: d("2026-11-19"),
                sessions: 1,
                at_least: false
            }
        );
        assert_eq!(get("NEW").sessions, 0);
        assert_eq!(
            get("ROLL").sessions,
            0,
            "a new entry price restarts the count"
        );
        assert!(!get("NEW").at_least);
        assert!(holding_periods(&[]).is_empty());
    }

    #[test]
    fn sessions_skip_weekends_and_holidays() {
        // Wed 25 Nov 2026 to Mon 30 Nov: Thanksgiving (26th) and the
        // weekend are not sessions: 27th and 30th are.
        let snaps = vec![
            (d("2026-11-24"), vec![]),
            (d("2026-11-25"), vec![pos("AAPL")]),
            (d("2026-11-30"), vec![pos("AAPL")]),
        ];
        let h = holding_periods(&snaps);
        assert_eq!(h[&AssetSymbol::parse("AAPL").unwrap()].sessions, 2);
    }
}
