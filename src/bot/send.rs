//! Sending: every message to a chat (replies, refusals, alerts, documents)
//! goes through [`TgBot::send`], which waits for dipwatch's own
//! [`Limiter`] (Telegram's limits, no polling tick), honours a 429's
//! `retry_after` (that chat waits, then the message is sent again), never
//! sends to an id that cannot be a Telegram chat, and turns a panic inside
//! a send into an error, so a bug there cannot take delivery down for the
//! other chats.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use teloxide::prelude::*;
use teloxide::requests::{Output, Request};
use teloxide::types::{InlineKeyboardMarkup, InputFile, LinkPreviewOptions, ParseMode};
use teloxide::{ApiError, RequestError};

use super::html::{MAX_MESSAGE, split};
use super::limiter::{Limiter, Limits};
use crate::config::is_telegram_chat_id;

/// Times a message is sent again after a 429 before the error is returned
/// (alert delivery then waits `retry_after` itself).
const RETRIES_AFTER_429: usize = 3;

/// The bot every handler gets: the Bot API client and the shared limiter.
/// Cheap to clone. It has no `Debug`: teloxide's `Bot` would print the
/// token.
#[derive(Clone)]
pub struct TgBot {
    api: Bot,
    limiter: Limiter,
}

impl TgBot {
    /// `api` with sends kept inside `limits`.
    pub fn new(api: Bot, limits: Limits) -> Self {
        Self {
            api,
            limiter: Limiter::new(limits),
        }
    }

    /// The Bot API client, for requests that are not messages to a chat
    /// (`getMe`, `getUpdates`, `setMyCommands`, `answerCallbackQuery`):
    /// Telegram's message limits do not apply to them.
    pub fn api(&self) -> &Bot {
        &self.api
    }

    /// Send `request`, a message to `chat`, as soon as the limits allow.
    pub async fn send<R>(&self, chat: ChatId, request: R) -> Result<Output<R>, RequestError>
    where
        R: Request<Err = RequestError>,
    {
        if !is_telegram_chat_id(chat.0) {
            tracing::warn!(
                chat_id = chat.0,
                "not sent: the chat id is outside Telegram's range"
            );
            return Err(RequestError::Api(ApiError::ChatNotFound));
        }
        match AssertUnwindSafe(self.send_limited(chat, &request))
            .catch_unwind()
            .await
        {
            Ok(result) => result,
            Err(_) => {
                crate::panics::record("bot send");
                Err(RequestError::Io(Arc::new(std::io::Error::other(
                    "sending panicked",
                ))))
            }
        }
    }

    async fn send_limited<R>(&self, chat: ChatId, request: &R) -> Result<Output<R>, RequestError>
    where
        R: Request<Err = RequestError>,
    {
        let mut retries = 0;
        loop {
            let permit = self.limiter.acquire(chat.0).await;
            let result = request.send_ref().await;
            // The answer is back: the windows of this message start now.
            drop(permit);
            match result {
                Err(RequestError::RetryAfter(s)) if retries < RETRIES_AFTER_429 => {
                    retries += 1;
                    tracing::warn!(
                        chat_id = chat.0,
                        retry_after_secs = s.seconds(),
                        "Telegram asked to wait (429); sending again after it"
                    );
                    self.limiter.freeze(chat.0, s.duration());
                }
                other => return other,
            }
        }
    }
}

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
        let mut request = bot
            .api()
            .send_message(chat, part.as_str())
            .parse_mode(ParseMode::Html)
            .link_preview_options(no_preview());
        if i + 1 == parts.len()
            && let Some(k) = keyboard.take()
        {
            request = request.reply_markup(k);
        }
        bot.send(chat, request).await?;
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
    let request = bot
        .api()
        .send_document(chat, InputFile::memory(bytes).file_name(filename))
        .caption(caption)
        .parse_mode(ParseMode::Html);
    bot.send(chat, request).await?;
    Ok(())
}

/// Send a PNG as a photo with an HTML caption (at most 1024 characters;
/// ours are short) and `keyboard` under it.
pub async fn photo(
    bot: &TgBot,
    chat: ChatId,
    filename: String,
    png: Vec<u8>,
    caption: &str,
    keyboard: Option<InlineKeyboardMarkup>,
) -> Result<(), RequestError> {
    let mut request = bot
        .api()
        .send_photo(chat, InputFile::memory(png).file_name(filename))
        .caption(caption)
        .parse_mode(ParseMode::Html);
    if let Some(k) = keyboard {
        request = request.reply_markup(k);
    }
    bot.send(chat, request).await?;
    Ok(())
}

/// Replace the text and keyboard of the bot's message `message` in
/// `chat` (one message: `html` must fit in one). Telegram's "message is
/// not modified" (the same page asked for twice) is not an error.
pub async fn edit_html(
    bot: &TgBot,
    chat: ChatId,
    message: teloxide::types::MessageId,
    html: &str,
    keyboard: Option<InlineKeyboardMarkup>,
) -> Result<(), RequestError> {
    let mut request = bot
        .api()
        .edit_message_text(chat, message, html)
        .parse_mode(ParseMode::Html)
        .link_preview_options(no_preview());
    if let Some(k) = keyboard {
        request = request.reply_markup(k);
    }
    match bot.send(chat, request).await {
        Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Replace (or, with `None`, take away) the buttons under the bot's
/// message `message` in `chat`, its text unchanged. Telegram's "message
/// is not modified" (already so) is not an error.
pub async fn edit_keyboard(
    bot: &TgBot,
    chat: ChatId,
    message: teloxide::types::MessageId,
    keyboard: Option<InlineKeyboardMarkup>,
) -> Result<(), RequestError> {
    let mut request = bot.api().edit_message_reply_markup(chat, message);
    if let Some(k) = keyboard {
        request = request.reply_markup(k);
    }
    match bot.send(chat, request).await {
        Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
        Err(e) => Err(e),
    }
}
