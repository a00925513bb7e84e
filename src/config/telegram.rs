//! `[telegram]`: the bot, its allow-lists, `/download` links and the
//! manual-run cooldown.

use serde::{Deserialize, Serialize};

use super::error::{ConfigError, invalid};

/// `[telegram]`, as written and, once [`TelegramSettings::check`]ed, as the
/// bot and the alerts take it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramSettings {
    /// Start the bot when a token is present.
    pub enabled: bool,
    /// Chats that may read.
    #[serde(default, deserialize_with = "chat_ids")]
    pub allowed_chat_ids: Vec<i64>,
    /// Chats that may also trigger runs.
    #[serde(default, deserialize_with = "chat_ids")]
    pub admin_chat_ids: Vec<i64>,
    /// On an S3 store, `/download` answers with a presigned link instead of
    /// a document (no 50 MB limit, nothing through Telegram's servers).
    #[serde(default)]
    pub download_links: bool,
    /// How long such a link works, seconds (S3 allows at most 7 days).
    #[serde(default = "default_link_ttl")]
    pub download_link_ttl_secs: u64,
    /// After `/trigger` or the dashboard's "Run now" starts a collection,
    /// both refuse another for this long, seconds (0: no cooldown).
    #[serde(default = "default_trigger_cooldown")]
    pub trigger_cooldown_secs: u64,
}

fn default_trigger_cooldown() -> u64 {
    300
}

/// The longest `telegram.trigger_cooldown_secs`: a day.
const MAX_TRIGGER_COOLDOWN_SECS: u64 = 24 * 3600;

fn default_link_ttl() -> u64 {
    3600
}

impl TelegramSettings {
    /// Refuse chat ids Telegram cannot have and out-of-range durations,
    /// naming the key.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        for (key, ids) in [
            ("telegram.allowed_chat_ids", &self.allowed_chat_ids),
            ("telegram.admin_chat_ids", &self.admin_chat_ids),
        ] {
            if let Some(id) = ids.iter().find(|id| !is_telegram_chat_id(**id)) {
                return Err(invalid(
                    key,
                    format!(
                        "{id} is not a Telegram chat id (users are 1 to 1099511627775, \
                         groups -1 to -1997852516352; the bot's refusal shows yours)"
                    ),
                ));
            }
        }
        let ttl = self.download_link_ttl_secs;
        if !(60..=7 * 24 * 3600).contains(&ttl) {
            return Err(invalid(
                "telegram.download_link_ttl_secs",
                format!("{ttl} must be between 60 and 604800 (7 days, S3's limit)"),
            ));
        }
        let cooldown = self.trigger_cooldown_secs;
        if cooldown > MAX_TRIGGER_COOLDOWN_SECS {
            return Err(invalid(
                "telegram.trigger_cooldown_secs",
                format!(
                    "{cooldown} must be between 0 (no cooldown) and {MAX_TRIGGER_COOLDOWN_SECS} (a day)"
                ),
            ));
        }
        Ok(())
    }
}

/// Whether `id` is a chat id Telegram can have: a user (1 ..= 2^40 - 1), a
/// basic group (-1 ..= -999,999,999,999) or a supergroup or channel
/// (-1,000,000,000,000 ..= -1,997,852,516,352). teloxide panics
/// ("malformed chat id") when it classifies any other id.
pub(crate) fn is_telegram_chat_id(id: i64) -> bool {
    const MIN_CHANNEL: i64 = -1_997_852_516_352;
    const MAX_USER: i64 = (1 << 40) - 1;
    id != 0 && (MIN_CHANNEL..=MAX_USER).contains(&id)
}

/// A list of chat ids as users write it: a TOML list, one number, or a
/// comma-separated string (`DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS=123` comes
/// through the environment as a single number, `=1,2` as a list).
fn chat_ids<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Num(i64),
        Text(String),
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Ids {
        One(Id),
        Many(Vec<Id>),
    }
    let ids = match Ids::deserialize(d)? {
        Ids::One(id) => vec![id],
        Ids::Many(ids) => ids,
    };
    let mut out = Vec::new();
    for id in ids {
        match id {
            Id::Num(n) => out.push(n),
            Id::Text(t) => {
                for part in t.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    out.push(part.parse().map_err(|_| {
                        serde::de::Error::custom(format!(
                            "{part:?} is not a chat id (a whole number)"
                        ))
                    })?);
                }
            }
        }
    }
    Ok(out)
}
