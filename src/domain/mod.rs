//! Domain types: parsed and validated where data enters (API responses, CSV
//! files, user input), plain data everywhere else.

mod asset;
mod bar;
mod drawdown;
mod order;
mod portfolio;
mod report;
mod run;
mod symbol;
mod trading_days;

pub use asset::{AssetClass, AssetSymbol, Side};
pub use bar::{Bar, BarRejection, validate_series};
pub use drawdown::{DrawdownRow, SkipReason, Skipped};
pub use order::{ClientOrderId, Order, OrderRequest, OrderSide, OrderStatus};
pub use portfolio::{
    Account, Position, Positions, ProfitCheck, UnreadablePosition, by_return, profit_check,
    profit_rule,
};
pub use report::{
    BreakerStats, RejectedBar, RequestStats, RunOutcome, RunReport, SymbolCounts, SymbolIssue,
};
pub use run::{LastOutcome, LastRun, RunSource};
pub use symbol::{Symbol, SymbolError, parse_universe};
pub use trading_days::TradingDays;
