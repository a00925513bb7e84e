//! Logging: `tracing` to stderr (stdout stays clean for `screen`/`export`
//! output), JSON lines or human-readable, filtered by `RUST_LOG` or
//! `log.level`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings};

/// Install the global subscriber. Safe to call once per process.
pub fn init(settings: &LogSettings) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_new(&settings.level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let json = match settings.format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    // A write error must never reach the program: by default the fmt layer
    // reports one with `eprintln!`, which panics when stderr itself is gone
    // (journald restarted and closed the pipe), and a panic in the signal
    // task would leave SIGTERM unanswered. Lines that cannot be written
    // are dropped instead.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .log_internal_errors(false)
        .with_writer(std::io::stderr);
    let result = if json {
        builder.json().with_current_span(true).try_init()
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
    // A second init (tests) keeps the first subscriber; nothing to report.
    let _ = result;
}
