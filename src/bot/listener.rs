//! The update stream the dispatcher reads, without the updates teloxide
//! could not parse. teloxide's dispatcher logs such an update at ERROR with
//! its whole JSON (the message text of whoever sent it, allowed or not);
//! here it is dropped before the dispatcher sees it, logged with its update
//! id and chat id only. Its offset is still confirmed by the polling
//! stream, so it is not fetched again.

use futures::StreamExt;
use futures::future::ready;
use futures::stream::BoxStream;
use teloxide::stop::StopToken;
use teloxide::types::{AllowedUpdate, Update, UpdateKind};
use teloxide::update_listeners::{AsUpdateStream, UpdateListener};

/// `L` without the updates teloxide could not parse.
pub struct Parsed<L>(pub L);

/// Whether `update` is one teloxide could read; logs the ones it could not.
fn readable(update: &Update) -> bool {
    let UpdateKind::Error(raw) = &update.kind else {
        return true;
    };
    // The chat id only, as for refusals: never the text.
    let chat_id = [
        "message",
        "edited_message",
        "channel_post",
        "callback_query",
    ]
    .iter()
    .find_map(|k| raw.get(k))
    .and_then(|m| m.get("chat").or_else(|| m.get("message")?.get("chat")))
    .and_then(|c| c.get("id"))
    .and_then(serde_json::Value::as_i64);
    tracing::warn!(
        update_id = update.id.0,
        chat_id,
        "skipped an update teloxide cannot parse"
    );
    false
}

impl<'a, L> AsUpdateStream<'a> for Parsed<L>
where
    L: UpdateListener,
    L::Err: Send + 'static,
{
    type StreamErr = L::Err;
    type Stream = BoxStream<'a, Result<Update, L::Err>>;

    fn as_stream(&'a mut self) -> Self::Stream {
        self.0
            .as_stream()
            .filter(|u| ready(u.as_ref().map_or(true, readable)))
            .boxed()
    }
}

impl<L> UpdateListener for Parsed<L>
where
    L: UpdateListener,
    L::Err: Send + 'static,
{
    type Err = L::Err;

    fn stop_token(&mut self) -> StopToken {
        self.0.stop_token()
    }

    fn hint_allowed_updates(&mut self, hint: &mut dyn Iterator<Item = AllowedUpdate>) {
        self.0.hint_allowed_updates(hint);
    }
}
