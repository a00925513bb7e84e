//! Secrets: the Alpaca key pair and the bot token, read only from the
//! environment, `NAME_FILE` or systemd's `$CREDENTIALS_DIRECTORY`, never
//! from TOML, and never shown (`Debug` and `check-config` say only where
//! each came from).

use std::collections::HashMap;
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

use super::error::{ConfigError, invalid};

/// Where a secret came from (shown by `check-config` instead of the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSource {
    /// The variable itself.
    Env,
    /// The file named by `NAME_FILE`.
    File,
    /// `$CREDENTIALS_DIRECTORY/NAME` (systemd `LoadCredential=`).
    Credentials,
}

/// A secret and where it came from. `Debug` never shows the value.
#[derive(Debug, Clone)]
pub struct Secret {
    /// The value, redacted in `Debug`.
    pub value: SecretString,
    /// Its source.
    pub source: SecretSource,
}

/// The three secrets dipwatch uses, under the names their ecosystems use.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// `APCA_API_KEY_ID`.
    pub alpaca_key_id: Option<Secret>,
    /// `APCA_API_SECRET_KEY`.
    pub alpaca_secret_key: Option<Secret>,
    /// `TELOXIDE_TOKEN`.
    pub telegram_token: Option<Secret>,
}

/// Environment names of the secrets.
const SECRET_NAMES: [&str; 3] = ["APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "TELOXIDE_TOKEN"];

impl Secrets {
    /// Read each secret from `NAME`, else the file at `NAME_FILE`, else
    /// `$CREDENTIALS_DIRECTORY/NAME`. Empty values count as unset; one
    /// trailing newline of a file is dropped.
    pub fn load(env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let one = |name: &str| -> Result<Option<Secret>, ConfigError> {
            if let Some(v) = env.get(name).filter(|v| !v.is_empty()) {
                return Ok(Some(Secret {
                    value: SecretString::from(v.clone()),
                    source: SecretSource::Env,
                }));
            }
            let file_var = format!("{name}_FILE");
            if let Some(path) = env.get(&file_var).filter(|v| !v.is_empty()) {
                return read_secret_file(Path::new(path), &file_var, SecretSource::File);
            }
            if let Some(dir) = env.get("CREDENTIALS_DIRECTORY").filter(|v| !v.is_empty()) {
                let path = Path::new(dir).join(name);
                if path.exists() {
                    return read_secret_file(&path, name, SecretSource::Credentials);
                }
            }
            Ok(None)
        };
        Ok(Self {
            alpaca_key_id: one(SECRET_NAMES[0])?,
            alpaca_secret_key: one(SECRET_NAMES[1])?,
            telegram_token: one(SECRET_NAMES[2])?,
        })
    }

    /// The Alpaca key pair, or the message that tells the user what to set
    /// (and how to try dipwatch without an Alpaca account).
    pub fn alpaca_credentials(&self) -> Result<(&SecretString, &SecretString), ConfigError> {
        match (&self.alpaca_key_id, &self.alpaca_secret_key) {
            (Some(id), Some(secret)) => {
                check_alpaca_key_length(SECRET_NAMES[0], &id.value, ALPACA_KEY_ID_LEN)?;
                check_alpaca_key_length(SECRET_NAMES[1], &secret.value, ALPACA_SECRET_KEY_LEN)?;
                Ok((&id.value, &secret.value))
            }
            _ => Err(invalid(
                "market.provider",
                "\"alpaca\" needs APCA_API_KEY_ID and APCA_API_SECRET_KEY (from the environment, \
                 APCA_API_KEY_ID_FILE / APCA_API_SECRET_KEY_FILE, or $CREDENTIALS_DIRECTORY); \
                 to try dipwatch on simulated prices instead, use --config config/demo.toml",
            )),
        }
    }

    /// What `check-config` prints for each secret: `name = "set (source)"`
    /// or `"not set"`, never a value.
    pub(crate) fn redacted_toml(&self) -> String {
        let mut out = String::from("\n# secrets (values never shown)\n[secrets]\n");
        for name in SECRET_NAMES {
            let state = match self.by_name(name).map(|s| s.source) {
                None => "not set",
                Some(SecretSource::Env) => "set (environment)",
                Some(SecretSource::File) => "set (file from _FILE)",
                Some(SecretSource::Credentials) => "set ($CREDENTIALS_DIRECTORY)",
            };
            out.push_str(&format!("{name} = {state:?}\n"));
        }
        out
    }

    fn by_name(&self, name: &str) -> Option<&Secret> {
        match name {
            "APCA_API_KEY_ID" => self.alpaca_key_id.as_ref(),
            "APCA_API_SECRET_KEY" => self.alpaca_secret_key.as_ref(),
            _ => self.telegram_token.as_ref(),
        }
    }
}

fn read_secret_file(
    path: &Path,
    name: &str,
    source: SecretSource,
) -> Result<Option<Secret>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Secret {
        name: name.to_string(),
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    let value = text.strip_suffix('\n').unwrap_or(&text);
    let value = value.strip_suffix('\r').unwrap_or(value);
    if value.is_empty() {
        return Ok(None);
    }
    // A second line is a mistake (two keys in one file, a pasted comment);
    // taking it whole would send a value Alpaca or Telegram refuses, and
    // the error would then blame another setting.
    if value.contains(['\n', '\r']) {
        return Err(ConfigError::Secret {
            name: name.to_string(),
            message: format!(
                "{} holds more than one line; the file must hold only the value",
                path.display()
            ),
        });
    }
    Ok(Some(Secret {
        value: SecretString::from(value.to_string()),
        source,
    }))
}

/// Length of the key ids Alpaca issues.
const ALPACA_KEY_ID_LEN: usize = 20;
/// Length of the secret keys Alpaca issues.
const ALPACA_SECRET_KEY_LEN: usize = 40;

/// A key shorter than Alpaca issues is a truncated or mistyped value: it
/// would be refused anyway, and the client masks the key values in every
/// body it reads, so a short one could match (and mask) ordinary data.
/// The message names the variable and the lengths, never the value.
fn check_alpaca_key_length(
    name: &str,
    value: &SecretString,
    issued: usize,
) -> Result<(), ConfigError> {
    let len = value.expose_secret().chars().count();
    if len >= issued {
        return Ok(());
    }
    Err(ConfigError::Secret {
        name: name.to_string(),
        message: format!(
            "{len} characters long, but Alpaca issues these with {issued}: \
             check for a truncated or mistyped value"
        ),
    })
}
