//! The command line, one test binary: the real `dipwatch` binary's commands
//! (`cli`), what a newcomer meets first (`cli_newcomer`) and the journal's
//! export (`export_orders`).

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod cli_newcomer;
mod export_orders;
