//! Delivery: queued messages sent through an [`AlertSender`] (the bot's
//! rate-limited sender), in batches, with what each failure calls for.
//!
//! A 429 waits `retry_after`; a network error or a 5xx backs off and
//! retries for as long as it takes (the outbox is in the store); a chat that
//! blocked the bot has its rules paused and its queue dropped; a message
//! Telegram keeps refusing is dropped after a few tries, so one bad message
//! cannot hold a chat's later alerts back. A panic in the sender is caught
//! and counts as a refusal of that one message.
//!
//! Delivery is exactly-once except for one window: a message Telegram
//! accepted just before the process died, before the outbox was rewritten,
//! is sent again at the next start.

use std::time::Duration;

use async_trait::async_trait;

use super::book::{AlertDoc, Edit, StoredAlerts};
use super::outbox::{Audience, OutboxItem};

/// Why a send failed, as delivery needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Telegram asked to wait (429).
    RetryAfter(Duration),
    /// The chat blocked the bot or is gone (403, chat not found).
    Blocked,
    /// Telegram refused this message (a 400 of another kind): retried a
    /// few times, then dropped with an error log, so one bad message
    /// cannot hold a chat's later alerts back forever.
    Rejected(String),
    /// Anything else (network, 5xx): retry later, for as long as it takes.
    Failed(String),
}

/// Something that can deliver an HTML message to a chat (the bot's
/// rate-limited sender).
#[async_trait]
pub trait AlertSender: Send + Sync {
    /// Send `html` to `chat`.
    async fn send_html(&self, chat: i64, html: &str) -> Result<(), SendError>;
}

/// Messages sent together in one delivery batch (Telegram's global rate).
pub const BATCH: usize = 30;

/// Longest wait between delivery attempts while the Bot API is down.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Attempts a message Telegram keeps refusing ([`SendError::Rejected`])
/// gets before it is dropped.
pub(crate) const MAX_REJECTED_ATTEMPTS: u32 = 5;

/// The wait after a store write that failed: the pass is tried again.
const AFTER_FAILED_WRITE: Duration = Duration::from_secs(5);

/// Send one outbox item; a panic in the sender is caught (logged, counted
/// for `/readyz`) and becomes a refusal of this message, so the other
/// chats of the batch are still delivered.
async fn send_one(sender: &dyn AlertSender, item: &OutboxItem) -> Result<(), SendError> {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(sender.send_html(item.chat, &item.html))
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(_) => {
            crate::panics::record("alert delivery");
            Err(SendError::Rejected("sending panicked".into()))
        }
    }
}

/// Record in `doc` what one send of `item` came to; returns how long to
/// wait before the next attempt, if it calls for one.
fn settle(
    doc: &mut AlertDoc,
    item: &OutboxItem,
    result: Result<(), SendError>,
) -> Option<Duration> {
    match result {
        Ok(()) => {
            doc.outbox.remove(item.id);
            None
        }
        Err(SendError::Blocked) => {
            tracing::warn!(
                chat = item.chat,
                "chat blocked the bot: its alerts are paused"
            );
            doc.book.set_paused(item.chat, true);
            doc.outbox.remove_chat(item.chat);
            None
        }
        Err(SendError::RetryAfter(d)) => Some(d),
        Err(SendError::Rejected(reason)) if item.attempts + 1 >= MAX_REJECTED_ATTEMPTS => {
            tracing::error!(chat_id = item.chat, attempts = item.attempts + 1, %reason, "Telegram keeps refusing an alert message: dropped");
            doc.outbox.remove(item.id);
            None
        }
        Err(SendError::Rejected(reason) | SendError::Failed(reason)) => {
            let attempts = item.attempts + 1;
            doc.outbox.set_attempts(item.id, attempts);
            let backoff =
                Duration::from_secs(2u64.saturating_pow(attempts.min(8))).min(MAX_BACKOFF);
            tracing::warn!(chat = item.chat, attempts, %reason, wait_secs = backoff.as_secs(), "alert delivery failed; will retry");
            Some(backoff)
        }
    }
}

/// One delivery pass over `book`'s outbox: send queued messages oldest
/// first, in batches of up to [`BATCH`] sent together (one per chat, so a
/// chat's messages keep their order) so the limiter can pace them at
/// Telegram's rate rather than one round trip at a time; each batch's
/// outcome is saved in one write. What is queued for a chat outside
/// `audience` is dropped first. Returns how long to wait before the next
/// pass (`None`: nothing left).
pub(crate) async fn deliver_pass(
    book: &StoredAlerts,
    audience: &Audience,
    sender: &dyn AlertSender,
) -> Option<Duration> {
    loop {
        let dropped = book
            .edit(|doc| {
                if doc.outbox.has_strays(audience) {
                    doc.outbox.drop_strays(audience);
                    Edit::Save(())
                } else {
                    Edit::Discard(())
                }
            })
            .await;
        if let Err(e) = dropped {
            tracing::error!(error = %e, "could not record alert delivery; will retry");
            return Some(AFTER_FAILED_WRITE);
        }
        let batch = book.view(|doc| doc.outbox.next_batch(BATCH)).await;
        if batch.is_empty() {
            return None;
        }
        let results = futures::future::join_all(batch.iter().map(|i| send_one(sender, i))).await;
        let settled = book
            .edit(|doc| {
                let wait = batch
                    .iter()
                    .zip(results)
                    .filter_map(|(item, result)| settle(doc, item, result))
                    .max();
                Edit::SaveIfChanged(wait)
            })
            .await;
        match settled {
            Err(e) => {
                tracing::error!(error = %e, "could not record alert delivery; will retry");
                return Some(AFTER_FAILED_WRITE);
            }
            Ok(Some(wait)) => return Some(wait),
            Ok(None) => {}
        }
    }
}
