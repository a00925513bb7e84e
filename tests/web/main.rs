//! The dashboard over real HTTP on loopback, one test binary: pages and
//! sign-in (`web`), attacks on both listeners (`web_attacks`), stored
//! backtests (`web_backtests`), the portfolio's risk section (`web_risk`)
//! and the dashboard's audit events in the journal (`web_journal`).

#[path = "../support/mod.rs"]
mod support;

mod web;
mod web_attacks;
mod web_backtests;
mod web_journal;
mod web_risk;
