//! The dashboard over real HTTP on loopback, one test binary: pages and
//! sign-in (`web`), attacks on both listeners (`web_attacks`), stored
//! backtests (`web_backtests`), the orders page (`web_orders`) and the portfolio's risk section (`web_risk`).

#[path = "../support/mod.rs"]
mod support;

mod web;
mod web_attacks;
mod web_backtests;
mod web_orders;
mod web_risk;
