//! dipwatch's own update loop, in place of teloxide's `Dispatcher` (whose
//! poller blocked on a full per-chat queue, so one flooding chat froze
//! every other, and whose next `getUpdates` confirmed updates still
//! waiting in those queues, so a stop lost them).
//!
//! - Long polling: `getUpdates` with the offset after the last update
//!   fetched; errors back off (`retry_after` honoured).
//! - Each update goes to its chat's lane ([`super::lanes`]) without ever
//!   waiting: a chat's excess is dropped and the chat told once.
//! - Updates from an id that cannot be a Telegram chat are ignored.
//! - While [`MAX_UNFINISHED`] updates are unfinished the poller fetches
//!   nothing (Telegram keeps, and does not confirm, the rest).
//! - At shutdown polling stops, the lanes get `drain` to finish what was
//!   fetched, and one last `getUpdates` confirms only the finished ones.

use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use teloxide::dispatching::UpdateHandler;
use teloxide::dptree::di::DependencyMap;
use teloxide::errors::AsResponseParameters;
use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, UpdateKind};
use teloxide::{ApiError, RequestError};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::error::BotError;
use super::lanes::{Admit, Book, Next};
use super::send::{self, TgBot};
use super::{BotOptions, format};
use crate::access::{Access, Role};
use crate::config::is_telegram_chat_id;

/// Fetched updates not finished at most: at 30 replies a second overall
/// (and [`super::lanes::PER_CHAT`] per chat at one a second), about what
/// the shutdown drain (`BotOptions::drain`, 6 s) can still answer.
pub const MAX_UNFINISHED: usize = 100;

/// What every lane needs.
struct Ctx {
    bot: TgBot,
    handler: Arc<UpdateHandler<BotError>>,
    deps: DependencyMap,
    access: Access,
    /// Dropped updates are counted as `command="dropped"`.
    metrics: Arc<crate::metrics::Metrics>,
    book: Mutex<Book<Update>>,
    /// Lanes running (answering, or telling a chat about drops).
    lanes: AtomicUsize,
    /// Bumped whenever an update finishes or a lane ends (the poller and
    /// the drain wait on it).
    finished: watch::Sender<u64>,
}

impl Ctx {
    fn book(&self) -> std::sync::MutexGuard<'_, Book<Update>> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.finished.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Counts a lane as running while it lives (a panic included).
struct Running(Arc<Ctx>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.lanes.fetch_sub(1, Ordering::SeqCst);
        self.0.bump();
    }
}

/// The chat an update belongs to (its lane), if any.
fn chat_of(update: &Update) -> Option<i64> {
    update
        .chat()
        .map(|c| c.id.0)
        .or_else(|| update.from().and_then(|u| i64::try_from(u.id.0).ok()))
}

/// Poll and answer until `shutdown`, then drain and confirm.
/// `deps` must hold what the handlers take (the bot, `Me`, shared state).
pub(crate) async fn run(
    bot: TgBot,
    handler: UpdateHandler<BotError>,
    deps: DependencyMap,
    access: Access,
    metrics: Arc<crate::metrics::Metrics>,
    options: &BotOptions,
    shutdown: &CancellationToken,
) {
    let (finished, mut finished_rx) = watch::channel(0u64);
    let ctx = Arc::new(Ctx {
        bot,
        handler: Arc::new(handler),
        deps,
        access,
        metrics,
        book: Mutex::new(Book::new(options.per_chat)),
        lanes: AtomicUsize::new(0),
        finished,
    });
    let offsets = poll(&ctx, &mut finished_rx, options, shutdown).await;
    drain(&ctx, &mut finished_rx, options.drain).await;
    confirm(&ctx, offsets).await;
}

/// Where polling stopped.
struct Offsets {
    /// The offset after the last update fetched.
    next: u32,
    /// The one the last `getUpdates` sent: what Telegram has confirmed.
    sent: u32,
}

/// Long polling until `shutdown`: each update fetched goes to its lane;
/// nothing is fetched while [`MAX_UNFINISHED`] updates are unfinished, and
/// errors back off.
async fn poll(
    ctx: &Arc<Ctx>,
    finished_rx: &mut watch::Receiver<u64>,
    options: &BotOptions,
    shutdown: &CancellationToken,
) -> Offsets {
    let mut at = Offsets { next: 0, sent: 0 };
    let mut failures = 0u32;
    loop {
        while ctx.book().unfinished() >= MAX_UNFINISHED {
            tokio::select! {
                _ = finished_rx.changed() => {}
                () = shutdown.cancelled() => return at,
            }
        }
        let mut request = ctx
            .bot
            .api()
            .get_updates()
            .timeout(
                options
                    .poll_timeout
                    .as_secs()
                    .try_into()
                    .unwrap_or(u32::MAX),
            )
            .allowed_updates([AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
        if at.next > 0 {
            request = request.offset(i32::try_from(at.next).unwrap_or(i32::MAX));
        }
        at.sent = at.sent.max(at.next);
        let result = tokio::select! {
            r = request.send() => r,
            () = shutdown.cancelled() => return at,
        };
        let updates = match result {
            Ok(u) => {
                failures = 0;
                u
            }
            Err(e) => {
                let wait = e
                    .retry_after()
                    .map_or_else(|| options.backoff(failures), |s| s.duration());
                failures = failures.saturating_add(1);
                log_poll_error(&e, wait);
                tokio::select! {
                    () = tokio::time::sleep(wait) => continue,
                    () = shutdown.cancelled() => return at,
                }
            }
        };
        for update in updates {
            at.next = at.next.max(update.id.0.saturating_add(1));
            route(ctx, update);
        }
    }
}

/// At a stop, what was fetched gets `budget` to be answered.
async fn drain(ctx: &Ctx, finished_rx: &mut watch::Receiver<u64>, budget: Duration) {
    let drained = tokio::time::timeout(budget, async {
        while ctx.lanes.load(Ordering::SeqCst) > 0 {
            if finished_rx.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            unanswered = ctx.book().unfinished(),
            "the stop budget ran out before every fetched update was answered"
        );
    }
}

/// One last `getUpdates` confirming the finished updates only; the rest
/// come again at the next start.
async fn confirm(ctx: &Ctx, at: Offsets) {
    let confirm = ctx.book().confirm_up_to(at.next);
    if confirm <= at.sent {
        return;
    }
    let last = ctx
        .bot
        .api()
        .get_updates()
        .offset(i32::try_from(confirm).unwrap_or(i32::MAX))
        .timeout(0)
        .limit(1)
        .send();
    match tokio::time::timeout(Duration::from_secs(2), last).await {
        Ok(Ok(_)) => tracing::debug!(offset = confirm, "confirmed the answered updates"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "could not confirm the answered updates; they may be answered again")
        }
        Err(_) => tracing::warn!(
            "could not confirm the answered updates in time; they may be answered again"
        ),
    }
}

/// The chat id of an update teloxide could not parse, read from its raw
/// JSON (a message, an edit, a channel post or a callback's message).
fn raw_chat_id(raw: &serde_json::Value) -> Option<i64> {
    [
        "message",
        "edited_message",
        "channel_post",
        "callback_query",
    ]
    .iter()
    .find_map(|k| raw.get(k))
    .and_then(|m| m.get("chat").or_else(|| m.get("message")?.get("chat")))
    .and_then(|c| c.get("id"))
    .and_then(serde_json::Value::as_i64)
}

/// Hand `update` to its chat's lane, never waiting.
fn route(ctx: &Arc<Ctx>, update: Update) {
    let id = update.id.0;
    if let UpdateKind::Error(raw) = &update.kind {
        // Never the raw update: it holds the message text. The chat id
        // only, as for refusals.
        tracing::warn!(
            update_id = id,
            chat_id = raw_chat_id(raw),
            "skipped an update teloxide cannot parse"
        );
        return;
    }
    let Some(chat) = chat_of(&update) else {
        tracing::debug!(update_id = id, "ignored an update without a chat");
        return;
    };
    if !is_telegram_chat_id(chat) {
        tracing::warn!(
            update_id = id,
            chat_id = chat,
            "ignored an update from a chat id outside Telegram's range"
        );
        return;
    }
    let (admit, start) = ctx.book().admit(chat, id, update);
    match (admit, start) {
        (Admit::Start, Some(update)) => {
            ctx.lanes.fetch_add(1, Ordering::SeqCst);
            let running = Running(ctx.clone());
            tokio::spawn(lane(running, chat, update));
        }
        (Admit::Dropped, _) => {
            ctx.metrics.bot_update("dropped", Duration::ZERO);
            tracing::debug!(
                update_id = id,
                chat_id = chat,
                "dropped: the chat sends faster than it can be answered"
            );
        }
        _ => {}
    }
}

/// Answer `chat`'s updates in order until its lane is empty; then tell it
/// how many were dropped, if any.
async fn lane(running: Running, chat: i64, mut update: Update) {
    let ctx = &running.0;
    loop {
        let id = update.id.0;
        handle(ctx, update).await;
        let next = ctx.book().finish(chat, id);
        ctx.bump();
        match next {
            Next::Run(u) => update = u,
            Next::Idle { dropped } => {
                if dropped > 0 && ctx.access.role(chat) != Role::Refused {
                    tracing::info!(
                        chat_id = chat,
                        dropped,
                        "told a chat its excess messages were dropped"
                    );
                    if let Err(e) =
                        send::html(&ctx.bot, ChatId(chat), &format::too_fast(dropped)).await
                    {
                        tracing::warn!(chat_id = chat, error = %e, "could not say messages were dropped");
                    }
                }
                return;
            }
        }
    }
}

/// Run the handler tree on one update; nothing it does (an error, a panic)
/// goes further than a log line.
async fn handle(ctx: &Ctx, update: Update) {
    let id = update.id.0;
    let mut deps = ctx.deps.clone();
    deps.insert(update);
    match AssertUnwindSafe(ctx.handler.dispatch(deps))
        .catch_unwind()
        .await
    {
        Ok(ControlFlow::Break(Ok(()))) => {}
        Ok(ControlFlow::Break(Err(e))) => tracing::error!(error = %e, "update handler failed"),
        Ok(ControlFlow::Continue(_)) => {
            tracing::debug!(update_id = id, "ignored an update of another kind")
        }
        Err(_) => crate::panics::record("bot update handler"),
    }
}

/// Log a failed `getUpdates` (never with the token: teloxide redacts it).
fn log_poll_error(error: &RequestError, wait: Duration) {
    let retry_in_secs = wait.as_secs_f64();
    match error {
        RequestError::Api(ApiError::TerminatedByOtherGetUpdates) => tracing::warn!(
            retry_in_secs,
            "another process is polling with this bot token (only one may); retrying"
        ),
        RequestError::Api(ApiError::InvalidToken) => tracing::error!(
            retry_in_secs,
            "the Bot API refused the token (Unauthorized): check TELOXIDE_TOKEN"
        ),
        RequestError::RetryAfter(s) => tracing::warn!(
            retry_after_secs = s.seconds(),
            "Bot API rate limit on getUpdates; waiting"
        ),
        e => {
            tracing::warn!(error = %e, retry_in_secs, "getUpdates failed; polling again after a backoff")
        }
    }
}
