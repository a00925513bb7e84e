//! The backtester: the contrarian strategy of [`crate::strategy`] replayed
//! session by session over the lake's [`PriceHistory`](crate::query::PriceHistory),
//! with its [`metrics`] and a [`benchmark`] to compare against.
//!
//! One use case, one entry: [`Backtests::run`] takes a [`Request`] (the
//! period and typed options, parsed at each front end's edge: the command
//! line's flags, the bot's `/backtest` words) and gives the stored
//! [`Outcome`]; the command line, the bot and the dashboard all go through
//! [`Backtests`] ([`service`]), built from the typed pieces of the
//! configuration it reads ([`Setup`]). Underneath it is pure: [`job`]
//! turns loaded bars into a finished run with the [`engine`]; [`report`]
//! is the stored and printed result (its [`Parameters`] typed); [`stored`]
//! keeps runs in the lake under `backtests/id=<id>/`.
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

pub mod benchmark;
pub mod engine;
pub(crate) mod job;
pub mod metrics;
pub(crate) mod report;
pub(crate) mod request;
pub(crate) mod service;
pub(crate) mod setup;
pub(crate) mod stored;
pub mod sweep;

pub use benchmark::{Benchmark, BenchmarkError};
pub use engine::{Params, Run, Trade, run};
pub use job::Outcome;
pub use metrics::{Metrics, MonthlyReturn};
pub use report::Parameters;
pub use request::Request;
pub use service::{BacktestError, Backtests, Ran, Source, Sweep};
pub use setup::Setup;

#[cfg(test)]
mod tests;
