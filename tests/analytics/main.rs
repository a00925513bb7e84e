//! The pure engines from the outside, one test binary: the backtester
//! against empyrical and the real `dipwatch backtest` (`backtest`), the risk
//! view against numpy (`risk`), and property-based fuzzing of every parser
//! of outside input (`fuzz`, its regressions in `fuzz.proptest-regressions`).

#[path = "../support/mod.rs"]
mod support;

mod backtest;
mod fuzz;
mod risk;
