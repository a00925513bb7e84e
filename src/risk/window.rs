//! The returns the statistics are taken over: the last sessions of the
//! price history, a symbol measured only when it has a close on every one
//! of them (a gap or a recent listing would otherwise line up returns of
//! different days).

use crate::domain::Symbol;
use crate::query::{Field, PriceHistory};

use super::stats::mean;

/// Sessions the volatility is measured over (as the backtester's
/// `inverse_vol` sizing).
pub const VOL_SESSIONS: usize = 60;

/// The window of daily returns: the last `returns` returns of a history
/// (so `returns + 1` closes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Date index of the first close used.
    pub start: usize,
    /// Returns in the window.
    pub returns: usize,
}

impl Window {
    /// The last `returns` returns of `history`, or why there are not
    /// enough sessions.
    pub fn last(history: &PriceHistory, returns: usize) -> Result<Self, String> {
        let n = history.dates().len();
        if n < returns + 1 {
            return Err(format!(
                "the lake holds {n} session{} of bars; {} are needed \
                 (backfill with `dipwatch collect --from`)",
                if n == 1 { "" } else { "s" },
                returns + 1
            ));
        }
        Ok(Self {
            start: n - returns - 1,
            returns,
        })
    }

    /// `symbol`'s daily returns over the window, or why it cannot be
    /// measured.
    pub fn returns_of(&self, history: &PriceHistory, symbol: &Symbol) -> Result<Vec<f64>, String> {
        let end = self.start + self.returns + 1;
        let Some(s) = history.symbol_index(symbol) else {
            return Err(format!("no bars in the last {} sessions", end - self.start));
        };
        let present = &history.present(s)[self.start..end];
        let closes = &history.series(s, Field::Close)[self.start..end];
        if let Some(why) = missing(present, &history.dates()[self.start..end]) {
            return Err(why);
        }
        if closes.iter().any(|c| !(c.is_finite() && *c > 0.0)) {
            return Err("a close that is not a positive price".into());
        }
        let r = super::stats::returns(closes);
        if r.iter().all(|x| *x == r[0]) {
            return Err("the price did not move over the window".into());
        }
        Ok(r)
    }

    /// The equal-weight universe's daily returns over the window: each
    /// session, the mean return of every member with a close on it and on
    /// the session before. `None` on a session no member spans.
    pub fn universe_returns(&self, history: &PriceHistory, members: &[Symbol]) -> Vec<Option<f64>> {
        universe_returns(history, members)[self.start + 1..self.start + self.returns + 1].to_vec()
    }
}

/// What is true of a symbol's bars over the window's `dates` when some are
/// missing (`present[i]`: a bar on `dates[i]`), or `None` with none missing:
/// a first bar inside the window (a listing, or bars not collected before),
/// no bar since a date (halted or delisted), or bars missing in between.
fn missing(present: &[bool], dates: &[chrono::NaiveDate]) -> Option<String> {
    let n = present.len();
    let have = present.iter().filter(|p| **p).count();
    if have == n {
        return None;
    }
    let of = format!("{have} of the last {n} sessions");
    let (Some(first), Some(last)) = (
        present.iter().position(|p| *p),
        present.iter().rposition(|p| *p),
    ) else {
        return Some(format!("no bars in the last {n} sessions"));
    };
    let between = present[first..=last].iter().filter(|p| !**p).count();
    Some(if between == 0 && last == n - 1 {
        format!(
            "first bar in the window on {}: bars on {of} (a recent listing, \
             or not collected before)",
            dates[first]
        )
    } else if between == 0 && first == 0 {
        format!(
            "no bar since {}: bars on {of} (halted or delisted)",
            dates[last]
        )
    } else {
        let gap = (first..=last).find(|&i| !present[i]).map_or(first, |i| i);
        format!(
            "bars on {of}: {between} missing between {} and {} (first on {}: a halt or a gap)",
            dates[first], dates[last], dates[gap]
        )
    })
}

/// The equal-weight return of the universe's `members` on every session of
/// `history` (the first is `None`: no session before it). Symbols of the
/// history outside it (the benchmark ticker) are left out.
pub fn universe_returns(history: &PriceHistory, members: &[Symbol]) -> Vec<Option<f64>> {
    let n = history.dates().len();
    let mut sums = vec![0.0; n];
    let mut counts = vec![0usize; n];
    let members: std::collections::HashSet<&Symbol> = members.iter().collect();
    for s in 0..history.symbols().len() {
        if !members.contains(&history.symbols()[s]) {
            continue;
        }
        let closes = history.series(s, Field::Close);
        let present = history.present(s);
        for t in 1..n {
            if present[t] && present[t - 1] && closes[t - 1] > 0.0 {
                sums[t] += closes[t] / closes[t - 1] - 1.0;
                counts[t] += 1;
            }
        }
    }
    (0..n)
        .map(|t| (counts[t] > 0).then(|| sums[t] / counts[t] as f64))
        .collect()
}

/// Complete returns from optional ones, or `None` when one is missing.
pub fn complete(returns: &[Option<f64>]) -> Option<Vec<f64>> {
    let out: Option<Vec<f64>> = returns.iter().copied().collect();
    out.filter(|r| !r.is_empty() && mean(r).is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::DayBars;
    use crate::test_support::sym;
    use chrono::NaiveDate;

    fn history(rows: &[(&str, &[Option<f64>])]) -> PriceHistory {
        let start: NaiveDate = "2026-11-02".parse().unwrap();
        let days = crate::market::calendar::trading_days(start, start + chrono::Days::new(60));
        let len = rows[0].1.len();
        let bars = (0..len)
            .map(|t| {
                let mut day = DayBars::new(days[t], false);
                for (sym, closes) in rows {
                    if let Some(c) = closes[t] {
                        day.push(&Symbol::parse(sym).unwrap(), [c, c, c, c, 100.0]);
                    }
                }
                day
            })
            .collect();
        PriceHistory::from_days(bars)
    }

    #[test]
    fn a_symbol_is_measured_only_with_every_close_of_the_window() {
        let h = history(&[
            (
                "AAA",
                &[Some(10.0), Some(11.0), Some(12.1), Some(12.1), Some(13.0)],
            ),
            (
                "GAP",
                &[Some(10.0), None, Some(12.0), Some(13.0), Some(14.0)],
            ),
            ("NEW", &[None, None, Some(5.0), Some(6.0), Some(7.0)]),
            ("FLAT", &[Some(3.0); 5]),
            ("HALT", &[Some(3.0), Some(3.1), Some(3.2), None, None]),
        ]);
        let w = Window::last(&h, 4).unwrap();
        let sym = |s: &str| Symbol::parse(s).unwrap();
        let r = w.returns_of(&h, &sym("AAA")).unwrap();
        assert_eq!(r.len(), 4);
        assert!((r[0] - 0.1).abs() < 1e-12 && (r[1] - 0.1).abs() < 1e-12 && r[2] == 0.0);
        let err = |s: &str| w.returns_of(&h, &sym(s)).unwrap_err();
        assert!(err("GAP").contains("4 of the last 5"), "{}", err("GAP"));
        assert!(err("NEW").contains("3 of the last 5"), "{}", err("NEW"));
        assert!(err("FLAT").contains("did not move"));
        assert!(
            err("HALT").contains("no bar since 2026-11-04: bars on 3 of the last 5"),
            "{}",
            err("HALT")
        );
        assert!(err("ZZZ").contains("no bars in the last 5 sessions"));
        assert!(err("GAP").contains("1 missing between 2026-11-02 and 2026-11-06"));
        assert!(err("GAP").contains("first on 2026-11-03"), "{}", err("GAP"));
        assert!(
            err("NEW").contains("first bar in the window on 2026-11-04"),
            "{}",
            err("NEW")
        );
        // The last two returns only: NEW is complete there.
        let w2 = Window::last(&h, 2).unwrap();
        assert_eq!(w2.returns_of(&h, &sym("NEW")).unwrap().len(), 2);
        assert!(Window::last(&h, 5).unwrap_err().contains("5 sessions"));
    }

    #[test]
    fn the_universe_return_is_the_mean_of_those_present() {
        let h = history(&[
            ("AAA", &[Some(10.0), Some(11.0), Some(11.0)]),
            ("BBB", &[Some(20.0), Some(18.0), None]),
            ("SPY", &[Some(100.0), Some(150.0), Some(10.0)]),
        ]);
        // SPY is in the history, not in the universe: never averaged.
        let u = universe_returns(&h, &[sym("AAA"), sym("BBB")]);
        assert_eq!(u[0], None);
        // (+10% + -10%) / 2, then AAA alone at 0.
        assert!(u[1].unwrap().abs() < 1e-12);
        assert_eq!(u[2], Some(0.0));
        assert_eq!(complete(&u[1..]).map(|v| v.len()), Some(2));
        assert_eq!(complete(&u), None);
    }
}
