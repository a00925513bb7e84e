//! The layers, lowest first: `config/default.toml` (compiled in), an
//! optional `--config FILE`, then `DIPWATCH__SECTION__KEY` variables.

use std::collections::HashMap;
use std::path::Path;

use super::Settings;
use super::error::ConfigError;

/// The defaults, compiled into the binary so it runs from any directory.
const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// Prefix of the environment overrides (`DIPWATCH__MARKET__PROVIDER=sim`).
const ENV_PREFIX: &str = "DIPWATCH";

/// Layer defaults, the file and the environment into [`Settings`].
pub(crate) fn layered_settings(
    file: Option<&Path>,
    env: &HashMap<String, String>,
) -> Result<Settings, ConfigError> {
    use config::{Config, Environment, File, FileFormat};
    let mut builder = Config::builder().add_source(File::from_str(DEFAULT_TOML, FileFormat::Toml));
    if let Some(path) = file {
        if !path.is_file() {
            return Err(ConfigError::Layers(format!(
                "--config {}: no such file",
                path.display()
            )));
        }
        builder = builder.add_source(File::from(path).format(FileFormat::Toml));
    }
    // Only our prefix is handed over, so unrelated variables never matter.
    let ours: config::Map<String, String> = env
        .iter()
        .filter(|(k, _)| k.starts_with(&format!("{ENV_PREFIX}__")))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    builder = builder.add_source(
        Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .list_separator(",")
            .with_list_parse_key("telegram.allowed_chat_ids")
            .with_list_parse_key("telegram.admin_chat_ids")
            .with_list_parse_key("web.trusted_proxies")
            .with_list_parse_key("web.frame_ancestors")
            .with_list_parse_key("alerts.defaults")
            .with_list_parse_key("portfolio.asset_classes")
            .source(Some(ours)),
    );
    let layered = builder
        .build()
        .map_err(|e| ConfigError::Layers(e.to_string()))?;
    layered
        .try_deserialize::<Settings>()
        .map_err(|e| ConfigError::Layers(e.to_string()))
}
