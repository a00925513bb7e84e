//! Small values the tests build their data from: a date, a ticker, a run
//! report, written once so that a change to their types is one edit.

use chrono::{Days, NaiveDate, Utc};
use dipwatch::collect::Dates;
use dipwatch::domain::{Account, RunOutcome, RunReport, Symbol, SymbolCounts};
use rust_decimal::Decimal;

/// `YYYY-MM-DD` as a date.
pub fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A ticker (panics on a malformed one: fixtures are written by hand).
pub fn sym(s: &str) -> Symbol {
    Symbol::parse(s).unwrap()
}

/// The report of a clean published run of the simulated market for
/// `date` over `symbols` tickers, all of them screened, stamped now;
/// tests change the fields they are about.
pub fn report(date: NaiveDate, symbols: usize) -> RunReport {
    RunReport {
        symbols: SymbolCounts {
            requested: symbols,
            ok: symbols,
            skipped: 0,
            failed: 0,
        },
        ..RunReport::bare(date, "sim", true, RunOutcome::Published, Utc::now())
    }
}

/// An active account holding `equity`, `cash` of it in cash, nothing else
/// reported.
pub fn account(equity: i64, cash: i64) -> Account {
    Account {
        equity: Some(Decimal::from(equity)),
        cash: Some(Decimal::from(cash)),
        buying_power: None,
        status: "ACTIVE".into(),
        currency: None,
        last_equity: None,
        long_market_value: None,
        daytrade_count: None,
        pattern_day_trader: None,
    }
}

/// A backfill of the `days` calendar days before today in New York (the
/// exchange's date), for the runner.
pub fn days_before_today(days: u64) -> Dates {
    let today = Utc::now()
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    Dates::Range {
        from: today - Days::new(days),
        to: today - Days::new(1),
    }
}
