//! The command line, one test binary: the real `dipwatch` binary's commands
//! (`cli`) and what a newcomer meets first (`cli_newcomer`).

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod cli_newcomer;
