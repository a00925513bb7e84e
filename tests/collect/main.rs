//! Collection from Alpaca, one test binary: the real binary and client
//! against the loopback fake of Alpaca's APIs (`alpaca`), the store going
//! away in the middle of a run (`outage`), and the fake itself checked
//! against Alpaca's wire formats (`fake_alpaca_selftest`).

#[path = "../support/mod.rs"]
mod support;

mod alpaca;
mod fake_alpaca_selftest;
mod outage;
