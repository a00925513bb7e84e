//! What a command or a button answers: HTML and the buttons under it.
//! Below the commands and the trading replies, which both build it.

use teloxide::types::InlineKeyboardMarkup;

/// A reply: its HTML and the buttons under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The message, in Telegram's HTML.
    pub text: String,
    /// Inline buttons under it (the last part when the text is split).
    pub keyboard: Option<InlineKeyboardMarkup>,
}

impl From<String> for Reply {
    fn from(text: String) -> Self {
        Self {
            text,
            keyboard: None,
        }
    }
}
