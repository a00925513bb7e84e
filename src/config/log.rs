//! `[log]`: the log lines' format and filter.

use serde::{Deserialize, Serialize};

use super::error::{ConfigError, invalid, one_of};

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// JSON when stderr is not a terminal, text otherwise.
    Auto,
    /// One JSON object a line.
    Json,
    /// Human-readable lines.
    Text,
}

fn log_format<'de, D: serde::Deserializer<'de>>(d: D) -> Result<LogFormat, D::Error> {
    one_of(
        d,
        &[
            ("auto", LogFormat::Auto),
            ("json", LogFormat::Json),
            ("text", LogFormat::Text),
        ],
    )
}

/// `[log]`, as written and, once [`LogSettings::check`]ed, as telemetry
/// takes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `auto`, `json` or `text`.
    #[serde(deserialize_with = "log_format")]
    pub format: LogFormat,
    /// Filter in `RUST_LOG` syntax (`info`, `dipwatch=debug,info`).
    pub level: String,
}

impl LogSettings {
    /// The filter parses as tracing reads it.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        tracing_subscriber::EnvFilter::try_new(&self.level)
            .map(drop)
            .map_err(|e| invalid("log.level", format!("{:?}: {e}", self.level)))
    }
}
