//! Why answering an update failed: logged, never shown to the user. Its
//! own module so every command's file can return it without importing the
//! handler tree that calls them.

use teloxide::RequestError;

use crate::store::StoreError;

/// Why answering an update failed (logged, never shown to the user).
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// A Bot API request failed.
    #[error("Bot API: {0}")]
    Telegram(#[from] RequestError),
    /// Reading the store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}
