//! `[storage]`: where the data lake lives, and the S3 options that reach it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::{ConfigError, invalid};
use crate::store::StorageUrl;

/// `[storage]` as written. `Debug` redacts secret-looking options.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StorageSettings {
    /// `./data`, `file:///var/lib/dipwatch`, `s3://bucket/prefix`.
    pub url: String,
    /// Extra object_store options for S3 (`endpoint`, `region`, `allow_http`, ...).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

impl StorageSettings {
    /// The options with secret-looking values replaced by `[redacted]`.
    pub(crate) fn redacted_options(&self) -> BTreeMap<String, String> {
        redacted(&self.options)
    }

    /// The URL parsed, and every option checked against it: only an S3
    /// store takes options, and only those object_store knows (a typo is
    /// named rather than ignored).
    pub(crate) fn parse(&self) -> Result<Storage, ConfigError> {
        let url = StorageUrl::parse(&self.url).map_err(|e| invalid("storage.url", e))?;
        for key in self.options.keys() {
            let key_name = format!("storage.options.{key}");
            match url {
                StorageUrl::Local(_) => {
                    return Err(invalid(
                        &key_name,
                        "only an s3:// storage.url takes options",
                    ));
                }
                StorageUrl::S3 { .. } => {
                    if key.parse::<object_store::aws::AmazonS3ConfigKey>().is_err() {
                        return Err(invalid(
                            &key_name,
                            "not an S3 option object_store knows (e.g. endpoint, region, allow_http)",
                        ));
                    }
                }
            }
        }
        Ok(Storage {
            url,
            options: self.options.clone(),
        })
    }
}

impl std::fmt::Debug for StorageSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageSettings")
            .field("url", &self.url)
            .field("options", &self.redacted_options())
            .finish()
    }
}

/// `[storage]` checked: what `Store::open` takes. `Debug` redacts
/// secret-looking options.
#[derive(Clone)]
pub struct Storage {
    /// Where the data lake lives.
    pub url: StorageUrl,
    /// The S3 options, each one object_store knows.
    pub options: BTreeMap<String, String>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("url", &self.url)
            .field("options", &redacted(&self.options))
            .finish()
    }
}

/// `options` with secret-looking values replaced by `[redacted]`.
fn redacted(options: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    options
        .iter()
        .map(|(k, v)| {
            let v = if is_secret_option(k) {
                "[redacted]".to_string()
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect()
}

/// Whether a storage option carries a credential (by its name).
fn is_secret_option(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["secret", "key", "token", "password", "credential"]
        .iter()
        .any(|w| k.contains(w))
}
