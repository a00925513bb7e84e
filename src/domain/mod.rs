//! Domain types: parsed and validated where data enters (API responses, CSV
//! files, user input), plain data everywhere else.

mod bar;
mod drawdown;
mod portfolio;
mod report;
mod symbol;
mod trading_days;

pub use bar::{Bar, BarRejection, validate_series};
pub use drawdown::{DrawdownRow, SkipReason, Skipped};
pub use portfolio::{Account, Position, ProfitCheck, profit_check};
pub use report::{RejectedBar, RequestStats, RunOutcome, RunReport, SymbolCounts, SymbolIssue};
pub use symbol::{Symbol, SymbolError, parse_universe};
pub use trading_days::TradingDays;
