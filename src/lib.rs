//! placeholder
pub mod domain;
pub mod market;
pub mod screen;
