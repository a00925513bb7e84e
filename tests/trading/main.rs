//! Trading, one test binary: the fake trading API checked against Alpaca's
//! behaviour (`fake_orders`), and orders placed, refused, listed, canceled
//! and halted through the real `dipwatch` binary against it (`cli_orders`,
//! `cli_guards`, `cli_refusals`).

#[path = "../support/mod.rs"]
mod support;

mod cli_guards;
mod cli_orders;
mod cli_refusals;
mod fake_orders;
mod harness;
