//! The Telegram bot end to end: the real dispatcher with real long polling
//! (`dipwatch::bot::run_with`) against a loopback fake of the Bot API,
//! over a store filled by real collection runs on the simulated market.
//!
//! Nothing here is timed: waits are generous upper bounds for a hang, and
//! the speed figures live in `benches/bot.rs`.
//!
//! One file per feature; `helpers.rs` is the shared harness.

mod helpers;
#[path = "../support/mod.rs"]
mod support;

mod access;
mod alerts;
mod backtest;
mod charts;
mod commands;
mod delivery;
mod downloads;
mod journal;
mod risk;
mod trading;
mod web;
