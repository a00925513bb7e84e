//! What a configuration problem looks like: an error or a warning naming
//! its key, and the serde helpers every section reads named choices with.

use rust_decimal::Decimal;
use serde::Deserialize;

/// A configuration problem, naming the key (or file) at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value is present but not acceptable.
    #[error("{key}: {message}")]
    Invalid {
        /// Dotted key, e.g. `schedule.collect`.
        key: String,
        /// What is wrong and what would be right.
        message: String,
    },
    /// The layered sources could not be read or do not fit the schema
    /// (unknown key, wrong type); the message names the key.
    #[error("{0}")]
    Layers(String),
    /// A setting is well-formed but what it points at cannot be used: a
    /// store that cannot be created or written, an address already in use.
    /// The message names the key.
    #[error("{0}")]
    Unusable(String),
    /// A secret source exists but cannot be read.
    #[error("{name}: {message}")]
    Secret {
        /// Variable name, e.g. `APCA_API_KEY_ID_FILE`.
        name: String,
        /// What failed (never the secret itself).
        message: String,
    },
}

/// A setting that is accepted but probably not what the user wants
/// (`check-config` prints it; the other commands log it at start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// Dotted key, e.g. `http.listen`.
    pub key: String,
    /// What the setting does and what would be safer.
    pub message: String,
}

impl std::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// A warning about `key`.
pub(crate) fn warning(key: &str, message: impl Into<String>) -> ConfigWarning {
    ConfigWarning {
        key: key.to_string(),
        message: message.into(),
    }
}

/// A refusal of `key`'s value.
pub(crate) fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        message: message.into(),
    }
}

/// Deserialize one of a fixed set of names, saying which names exist when
/// it is none of them ("\"simulated\" is not one of alpaca | sim"), where
/// serde's own message would name a Rust enum instead.
pub(crate) fn one_of<'de, D, T: Copy>(d: D, choices: &[(&str, T)]) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let name = String::deserialize(d)?;
    choices
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            serde::de::Error::custom(format!("{name:?} is not one of {}", names.join(" | ")))
        })
}

/// Write a decimal setting as a TOML number (`100.0`), not the string its
/// exact serde form would give.
pub(crate) fn decimal_number<S: serde::Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    use rust_decimal::prelude::ToPrimitive;
    s.serialize_f64(d.to_f64().unwrap_or(f64::NAN))
}
