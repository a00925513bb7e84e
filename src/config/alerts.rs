//! `[alerts]`: the rules every allowed chat gets once.

use serde::{Deserialize, Serialize};

use super::error::{ConfigError, invalid};

/// `[alerts]`, as written and, once [`AlertsSettings::check`]ed, as the
/// alert runtime takes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsSettings {
    /// Rules every allowed chat gets once, in `/alert` syntax.
    #[serde(default)]
    pub defaults: Vec<String>,
}

impl AlertsSettings {
    /// Each default parses with the `/alert` grammar, or the error quotes it.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        for spec in &self.defaults {
            crate::alert_rules::parse_alert(spec)
                .map_err(|e| invalid("alerts.defaults", format!("{spec:?}: {}", e.0)))?;
        }
        Ok(())
    }
}
