//! Fixtures the unit tests share: a date, a ticker, a run of weekdays, a
//! run report, written
//! once so that a change to their types is one edit. Test builds only.

use chrono::{Datelike, NaiveDate, Utc, Weekday};

use crate::domain::{RunOutcome, RunReport, Symbol};

/// `YYYY-MM-DD` as a date.
pub(crate) fn d(s: &str) -> NaiveDate {
    s.parse().expect("test date")
}

/// A ticker (panics on a malformed one: fixtures are written by hand).
pub(crate) fn sym(s: &str) -> Symbol {
    Symbol::parse(s).expect("test symbol")
}

/// `n` weekdays from 2026-01-05 (a Monday): the sessions of a hand-made
/// market, holidays ignored.
pub(crate) fn weekdays(n: usize) -> Vec<NaiveDate> {
    let mut d = NaiveDate::from_ymd_opt(2026, 1, 5).expect("a real date");
    let mut out = Vec::new();
    while out.len() < n {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            out.push(d);
        }
        d = d.succ_opt().expect("no calendar end in 2026");
    }
    out
}

/// The report of a clean published run of the simulated market for
/// `date`, no counts, stamped now; tests set the fields they are about
/// with `RunReport { .., ..report(date) }`.
pub(crate) fn report(date: NaiveDate) -> RunReport {
    RunReport::bare(date, "sim", true, RunOutcome::Published, Utc::now())
}
