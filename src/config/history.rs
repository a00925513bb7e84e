//! `[history]`: the bars the daemon holds in memory.

use serde::{Deserialize, Serialize};

use super::error::{ConfigError, invalid};

/// `[history]`, as written and, once [`HistorySettings::check`]ed, as the
/// state's reload takes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistorySettings {
    /// Calendar days of daily bars the daemon holds in memory, back from
    /// the newest published date; 0 holds none.
    pub memory_days: u32,
}

/// The most `history.memory_days` takes: 30 years.
const MAX_MEMORY_DAYS: u32 = 30 * 366;

impl HistorySettings {
    /// Refuse a span no daemon should hold in memory.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.memory_days > MAX_MEMORY_DAYS {
            return Err(invalid(
                "history.memory_days",
                format!(
                    "{} must be at most {MAX_MEMORY_DAYS} (30 years; a year of 1,000 symbols is about 10 MB)",
                    self.memory_days
                ),
            ));
        }
        Ok(())
    }
}
