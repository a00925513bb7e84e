//! Who asks for an order, a cancellation or a halt, and what they may do.

use std::fmt;

use crate::access::Role;

/// Where a request came from: the journal's `source` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// `dipwatch order ...` on a terminal (`cli`).
    Cli,
    /// A Telegram chat (its id).
    Chat(i64),
    /// A dashboard session of this Telegram user (`web:<id>`).
    Web(i64),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cli => f.write_str("cli"),
            Self::Chat(id) => write!(f, "{id}"),
            Self::Web(id) => write!(f, "web:{id}"),
        }
    }
}

impl Source {
    /// Read back a journal's `source` column (`cli`, a chat id,
    /// `web:<id>`); `None` for anything else (`daemon`).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "cli" => Some(Self::Cli),
            _ => match raw.strip_prefix("web:") {
                Some(id) => id.parse().ok().map(Self::Web),
                None => raw.parse().ok().map(Self::Chat),
            },
        }
    }
}

/// Who did something, in words, from a journal source (`cli`, a chat id,
/// `web:<id>`): "the CLI", "chat 42", "dashboard (42)"; `None` (an order
/// the journal does not know) was placed elsewhere. What the bot and the
/// dashboard show as "placed by" and the kill switch's "by".
pub fn placed_by(source: Option<&str>) -> String {
    let Some(raw) = source else {
        return "elsewhere (not dipwatch)".to_string();
    };
    match Source::parse(raw) {
        Some(Source::Cli) => "the CLI".to_string(),
        Some(Source::Chat(id)) => format!("chat {id}"),
        Some(Source::Web(id)) => format!("dashboard ({id})"),
        None => raw.to_string(),
    }
}

/// A person asking: where from, and their role there (the CLI is an
/// admin: whoever runs it holds the keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// Where the request came from.
    pub source: Source,
    /// Their role, checked against the allow-lists at the time of asking.
    pub role: Role,
}

impl Actor {
    /// The operator at a terminal.
    pub fn cli() -> Self {
        Self {
            source: Source::Cli,
            role: Role::Admin,
        }
    }
}
