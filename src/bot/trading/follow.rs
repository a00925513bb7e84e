//! The status changes of followed orders, sent to the chat that placed
//! each one. One task reads the service's broadcast; each chat has its own
//! small queue and sender task, so a chat that cannot be reached (blocked
//! the bot, flood-waited) never delays another, the messages of one chat
//! stay in order, and nothing here blocks polling. A chat taken off the
//! allow-lists is told nothing more.

use std::collections::HashMap;

use teloxide::types::ChatId;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::replies::status_update;
use crate::access::{Access, Role};
use crate::bot::send::{self, TgBot};
use crate::trading::{OrderUpdate, Source};

/// Messages one chat may have waiting; more are dropped (and logged).
const PER_CHAT_QUEUE: usize = 64;

/// Forward `updates` until `shutdown`.
pub(crate) fn spawn(
    bot: TgBot,
    updates: broadcast::Receiver<OrderUpdate>,
    access: Access,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(forward(bot, updates, access, shutdown))
}

async fn forward(
    bot: TgBot,
    mut updates: broadcast::Receiver<OrderUpdate>,
    access: Access,
    shutdown: CancellationToken,
) {
    let mut queues: HashMap<i64, mpsc::Sender<String>> = HashMap::new();
    loop {
        let update = tokio::select! {
            u = updates.recv() => u,
            () = shutdown.cancelled() => return,
        };
        let update = match update {
            Ok(u) => u,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "order status changes were missed (the bot fell behind)"
                );
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Source::Chat(chat) = update.source else {
            continue;
        };
        if access.role(chat) == Role::Refused {
            tracing::info!(
                chat_id = chat,
                "order status not sent: the chat is no longer allowed"
            );
            continue;
        }
        let text = status_update(&update);
        let queue = queues
            .entry(chat)
            .or_insert_with(|| chat_queue(&bot, chat, &shutdown));
        if let Err(e) = queue.try_send(text) {
            tracing::warn!(chat_id = chat, error = %e, "an order status message was dropped");
        }
    }
}

/// A chat's queue and the task sending it, in order, until shutdown.
fn chat_queue(bot: &TgBot, chat: i64, shutdown: &CancellationToken) -> mpsc::Sender<String> {
    let (tx, mut rx) = mpsc::channel::<String>(PER_CHAT_QUEUE);
    let (bot, shutdown) = (bot.clone(), shutdown.clone());
    tokio::spawn(async move {
        loop {
            let text = tokio::select! {
                t = rx.recv() => match t { Some(t) => t, None => return },
                () = shutdown.cancelled() => return,
            };
            if let Err(e) = send::html(&bot, ChatId(chat), &text).await {
                tracing::warn!(chat_id = chat, error = %e, "could not send an order's status");
            }
        }
    });
    tx
}
