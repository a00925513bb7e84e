//! What the unit tests of many modules share (compiled for tests only):
//! dates and tickers written as text.

use chrono::NaiveDate;

use crate::domain::Symbol;

/// `"2026-11-24"` as a date; panics on a typo in the test.
pub(crate) fn d(s: &str) -> NaiveDate {
    s.parse().expect("test date")
}

/// `"AAPL"` as a ticker; panics on a typo in the test.
pub(crate) fn sym(s: &str) -> Symbol {
    Symbol::parse(s).expect("test symbol")
}
