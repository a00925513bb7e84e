//! How long each position has been held, read from the stored positions
//! snapshots: the brokerage API says what is held now, not since when.
//! [`Runs`] walks the snapshots back from the newest and says when older
//! ones can no longer matter, so the whole history is read only as far as
//! the oldest holding reaches.

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
    /// True when the run reaches the oldest stored snapshot: it was held
    /// before the lake begins, so `sessions` is a lower bound.
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
    let mut runs = Runs::new(*latest, now);
    for (date, positions) in snapshots.iter().rev().skip(1) {
        if runs.settled() {
            break;
        }
        runs.older(*date, positions);
    }
    runs.finish()
}

/// The holding periods of the newest snapshot's positions, built from
/// snapshots fed newest to oldest, so a reader can stop reading the lake as
/// soon as every run has ended ([`Runs::settled`]) instead of reading the
/// whole history every time.
#[derive(Debug, Clone)]
pub struct Runs {
    latest: NaiveDate,
    /// Per position of the newest snapshot: side and entry that identify
    /// the holding, the oldest snapshot of its run so far, and whether an
    /// older snapshot has ended the run.
    runs: Vec<Run>,
}

#[derive(Debug, Clone)]
struct Run {
    symbol: AssetSymbol,
    held: (Side, Decimal),
    since: NaiveDate,
    ended: bool,
}

impl Runs {
    /// The runs of `positions`, the newest snapshot (of `latest`).
    pub fn new(latest: NaiveDate, positions: &[Position]) -> Self {
        Self {
            latest,
            runs: positions
                .iter()
                .map(|p| Run {
                    symbol: p.symbol.clone(),
                    held: (p.side.clone(), p.avg_entry_price),
                    since: latest,
                    ended: false,
                })
                .collect(),
        }
    }

    /// The next older snapshot: a run it holds reaches back to `date`; a
    /// run it does not hold ends.
    pub fn older(&mut self, date: NaiveDate, positions: &[Position]) {
        let held: HashMap<&AssetSymbol, (Side, Decimal)> = positions
            .iter()
            .map(|p| (&p.symbol, (p.side.clone(), p.avg_entry_price)))
            .collect();
        for run in self.runs.iter_mut().filter(|r| !r.ended) {
            if held.get(&run.symbol) == Some(&run.held) {
                run.since = date;
            } else {
                run.ended = true;
            }
        }
    }

    /// True when every run has ended: older snapshots cannot change them.
    pub fn settled(&self) -> bool {
        self.runs.iter().all(|r| r.ended)
    }

    /// The holding periods. A run that never ended reaches the oldest
    /// snapshot fed: held before it, so its count is a lower bound.
    pub fn finish(self) -> HashMap<AssetSymbol, Held> {
        let latest = self.latest;
        self.runs
            .into_iter()
            .map(|r| {
                let sessions = crate::market::calendar::trading_days(r.since, latest)
                    .len()
                    .saturating_sub(1);
                let held = Held {
                    since: r.since,
                    sessions: u32::try_from(sessions).unwrap_or(u32::MAX),
                    at_least: !r.ended,
                };
                (r.symbol, held)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Symbol;
    use crate::test_support::d;
    use rust_decimal::dec;

    fn pos(s: &str) -> Position {
        Position::from_prices(Symbol::parse(s).unwrap(), dec!(1), dec!(10), dec!(11))
    }

    fn pos_at(s: &str, entry: Decimal) -> Position {
        Position::from_prices(Symbol::parse(s).unwrap(), dec!(1), entry, dec!(11))
    }

    /// A run held since `since` for `sessions` sessions.
    fn held(since: &str, sessions: u32, at_least: bool) -> Held {
        Held {
            since: d(since),
            sessions,
            at_least,
        }
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
        assert_eq!(get("AAPL"), held("2026-11-16", 4, true));
        assert_eq!(get("MSFT"), held("2026-11-19", 1, false));
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

    #[test]
    fn runs_settle_once_every_holding_has_ended() {
        let mut runs = Runs::new(d("2026-11-20"), &[pos("AAPL"), pos("MSFT")]);
        runs.older(d("2026-11-19"), &[pos("AAPL"), pos("MSFT")]);
        assert!(!runs.settled());
        // MSFT was not held on the 18th: its run ends; AAPL's goes on.
        runs.older(d("2026-11-18"), &[pos("AAPL")]);
        assert!(!runs.settled());
        // AAPL at another entry price on the 17th: bought again on the 18th.
        runs.older(d("2026-11-17"), &[pos_at("AAPL", dec!(9)), pos("MSFT")]);
        assert!(runs.settled(), "older snapshots cannot change anything");
        let h = runs.finish();
        let get = |s: &str| h[&AssetSymbol::parse(s).unwrap()];
        assert_eq!(get("AAPL"), held("2026-11-18", 2, false));
        assert_eq!(get("MSFT"), held("2026-11-19", 1, false));
    }
}
