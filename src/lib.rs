//! placeholder
pub mod cli;
pub mod collect;
pub mod config;
pub mod domain;
pub mod format;
pub mod market;
pub mod screen;
pub mod store;
pub mod telemetry;
