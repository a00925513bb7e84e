//! Sending replies: HTML text split to Telegram's size limit, and CSV
//! documents. Every request goes through the [`Throttle`] adaptor, which
//! paces sends inside Telegram's limits and, on a 429, waits the
//! `retry_after` Telegram asked for and sends again.

use teloxide::RequestError;
use teloxide::adaptors::Throttle;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardMarkup, InputFile, LinkPreviewOptions, ParseMode};

use super::html::{MAX_MESSAGE, split};

/// The bot every handler gets: throttled.
pub type TgBot = Throttle<Bot>;

/// No link previews: replies are data, and a preview would cost a fetch.
fn no_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

/// Send `html` to `chat`, split on line boundaries into messages Telegram
/// accepts, in order. Returns how many messages were sent.
pub async fn html(bot: &TgBot, chat: ChatId, html: &str) -> Result<usize, RequestError> {
    html_with_keyboard(bot, chat, html, None).await
}

/// [`html`], with `keyboard` (when given) under the last message.
pub async fn html_with_keyboard(
    bot: &TgBot,
    chat: ChatId,
    html: &str,
    keyboard: Option<InlineKeyboardMarkup>,
) -> Result<usize, RequestError> {
    let parts = split(html, MAX_MESSAGE);
    let mut keyboard = keyboard;
    for (i, part) in parts.iter().enumerate() {
        let mut req = bot
            .send_message(chat, part.as_str())
            .parse_mode(ParseMode::Html)
            .link_preview_options(no_preview());
        if i + 1 == parts.len()
            && let Some(k) = keyboard.take()
        {
            req = req.reply_markup(k);
        }
        req.await?;
    }
    Ok(parts.len())
}

/// Send a CSV file with an HTML caption (captions are limited to 1024
/// characters; ours are short).
pub async fn csv(
    bot: &TgBot,
    chat: ChatId,
    filename: String,
    bytes: Vec<u8>,
    caption: &str,
) -> Result<(), RequestError> {
    bot.send_document(chat, InputFile::memory(bytes).file_name(filename))
        .caption(caption)
        .parse_mode(ParseMode::Html)
        .await?;
    Ok(())
}
