//! The backtester: the contrarian strategy of [`crate::strategy`] replayed
//! session by session over the lake's [`PriceHistory`], with its
//! [`metrics`] and a [`benchmark`] to compare against. Pure: history and
//! parameters in, equity curve and trades out. [`args`] reads a request's
//! options (command line and bot alike), [`job`] turns loaded bars into a
//! finished run; [`stored`] is the one module with I/O, keeping runs in
//! the lake under `backtests/id=<id>/`.
//!
//! The rules, exactly (also in `dipwatch backtest --help` and the README):
//! - **Decisions** on each rebalance session of the history's calendar
//!   (`daily`; `weekly`: the first session of an ISO week; `monthly`: the
//!   first of a month), ranking by the screen's drawdown definition
//!   ([`crate::screen::DrawdownColumns`]) from bars up to that session.
//! - **Entries:** the best-ranked names not held whose drawdown is at or
//!   below `entry_pct`, until `max_positions` are held; each buys
//!   `equity / max_positions` (`equal`), or the new names share
//!   `k * equity / max_positions` in proportion to 1 / their 60-session
//!   volatility of daily close returns (`inverse_vol`); never more than the
//!   cash. Fractional shares.
//! - **Universe:** `market.universe` ([`crate::config::AppConfig::universe_mask`]);
//!   the ticker compared against is never bought.
//! - **Exits** on every session's close, by [`crate::strategy::decide_exits`]:
//!   the position's take-profit, stop-loss and max hold (return from the
//!   fill price to the close), then the portfolio rule over every position
//!   with a bar that session and no sale ordered yet, those past their own
//!   take-profit included. A name sold is not bought back on the same
//!   session.
//! - **Fills** at the next session's open (`next_open`), or at the decision
//!   close (`close`, optimistic). Buys pay `slippage_bps` above the price,
//!   sells receive that much below; each fill pays `commission`. An order
//!   for a name with no bar on the fill session waits (a sale) or lapses (a
//!   purchase).
//! - **No look-ahead:** session D is decided from bars up to D only. A held
//!   name without a bar on D is held at its last close and judged by no
//!   rule; once it has had no bar for `delist_after` sessions in a row it
//!   is taken as delisted on that session and sold at its last close less
//!   `delist_haircut_pct` (then slippage and commission), with a warning.

pub mod args;
pub mod benchmark;
pub mod engine;
pub mod job;
pub mod metrics;
pub mod report;
pub mod stored;
pub mod sweep;

pub use benchmark::{Benchmark, BenchmarkError};
pub use engine::{Params, Run, Trade, run};
pub use metrics::{Metrics, MonthlyReturn};

#[cfg(test)]
mod tests;
