//! The dptree handler tree and its endpoints. Every message is first given
//! a [`Role`] (refused chats stop there, with a refusal), then read as an
//! [`Input`]; a command is answered by its entry in
//! [`commands::COMMANDS`] (one endpoint for all: the table is the
//! dispatch), anything else gets a pointer to `/help`. Endpoints take their dependencies by injection (the bot, the
//! message, the parsed command, the [`Shared`] context).
//!
//! Endpoints never return an error to the dispatcher: a failure or a panic
//! while answering is logged with the command and chat id and the user
//! gets a short apology, so one bad update cannot stop a chat's worker.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::FutureExt;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::Me;
use tracing::Instrument;

use super::buttons::{Press, stale};
use super::commands::{self, Call, Input, Invocation, Request, parse_input};
use super::error::BotError;
use super::format;
use super::send::{self, TgBot};
pub(crate) use super::shared::Shared;
use crate::access::Role;

/// The handler tree.
pub(crate) fn schema() -> UpdateHandler<BotError> {
    let commands = dptree::filter_map(|input: Input| match input {
        Input::Command(c) => Some(c),
        _ => None,
    })
    .endpoint(command);

    let buttons = Update::filter_callback_query().endpoint(button);
    let messages = Update::filter_message()
        .map(|msg: Message, shared: Arc<Shared>| shared.access.role(msg.chat.id.0))
        .branch(dptree::filter(|role: Role| role == Role::Refused).endpoint(refuse))
        // A chat that had blocked the bot and writes again gets its alerts back.
        .inspect_async(|msg: Message, shared: Arc<Shared>| async move {
            if let Some(alerts) = &shared.ctx.alerts
                && let Err(e) = alerts.resume(msg.chat.id.0).await
            {
                tracing::warn!(chat_id = msg.chat.id.0, error = %e, "could not resume the chat's alerts");
            }
        })
        .map(|msg: Message, me: Me| {
            parse_input(msg.text(), me.user.username.as_deref().unwrap_or_default())
        })
        .branch(dptree::filter(|input: Input| input == Input::OtherBot).endpoint(other_bot))
        .branch(commands)
        .branch(dptree::endpoint(other_input));
    dptree::entry().branch(messages).branch(buttons)
}

/// An inline button: the alert list's delete buttons, "Chart", and
/// `/screen`'s pages. Every press is answered exactly once, so the client
/// stops its spinner; a button made from another day's screen is answered
/// with a notice saying so and does nothing else. Refused chats get the
/// bare answer and nothing more.
async fn button(bot: TgBot, q: CallbackQuery, shared: Arc<Shared>) -> Result<(), BotError> {
    let chat = q.message.as_ref().map(|m| m.chat().id);
    let allowed = chat.filter(|c| shared.access.role(c.0) != Role::Refused);
    let data = q.data.as_deref().unwrap_or_default();
    let press = Press::decode(data);
    let snap = shared.ctx.runner.state().snapshot();
    let notice = match (&allowed, &press) {
        (Some(_), Some(p)) => stale(p.date(), &snap),
        _ => None,
    };
    let mut answer = bot.api().answer_callback_query(q.id.clone());
    if let Some(text) = &notice {
        answer = answer.text(text.clone()).show_alert(true);
    }
    let _ = answer.await;
    let Some(chat) = allowed else {
        if let Some(chat) = chat {
            tracing::warn!(chat_id = chat.0, "refused a button press");
        }
        return Ok(());
    };
    if notice.is_some() {
        tracing::info!(
            chat_id = chat.0,
            "a button of another day's screen was pressed"
        );
        return Ok(());
    }
    let message = q.message.as_ref().map(|m| m.id());
    match (press, message) {
        (Some(Press::Chart { symbol, .. }), _) => {
            guarded(&bot, chat, "chart", &shared, async {
                let params = &shared.ctx.config.screen.params;
                let period = crate::chart::Period::Y1;
                commands::chart::chart(&bot, chat, &symbol, period, &snap, params).await
            })
            .await;
        }
        (Some(Press::Page { offset, n, .. }), Some(message)) => {
            guarded(&bot, chat, "screen", &shared, async {
                Ok(commands::screen::page(&bot, chat, message, offset, n, &snap).await?)
            })
            .await;
        }
        (Some(Press::Page { .. }), None) => {}
        (None, _) => {
            let Some(id) = data.strip_prefix(commands::unalert::DELETE_PREFIX) else {
                return Ok(());
            };
            guarded(&bot, chat, "unalert", &shared, async {
                commands::unalert::unalert(&bot, chat, id, &shared.ctx).await
            })
            .await;
        }
    }
    Ok(())
}

/// Run an endpoint's body: errors and panics become a logged error and an
/// apology; the update is counted in the metrics either way.
async fn guarded<F>(bot: &TgBot, chat: ChatId, name: &'static str, shared: &Shared, body: F)
where
    F: Future<Output = Result<(), BotError>>,
{
    let t0 = Instant::now();
    let span = tracing::info_span!("bot_update", command = name, chat_id = chat.0);
    async {
        let failed = match AssertUnwindSafe(body).catch_unwind().await {
            Ok(Ok(())) => false,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "answering an update failed");
                true
            }
            Err(_) => {
                tracing::error!("answering an update panicked");
                true
            }
        };
        if failed && let Err(e) = send::html(bot, chat, &format::apology()).await {
            tracing::warn!(error = %e, "could not send the apology either");
        }
        let elapsed = t0.elapsed();
        shared.ctx.metrics.bot_update(name, elapsed);
        tracing::debug!(ms = elapsed.as_secs_f64() * 1e3, "answered");
    }
    .instrument(span)
    .await;
}

/// A chat that is on neither list: one short refusal per window, no data.
async fn refuse(bot: TgBot, msg: Message, shared: Arc<Shared>) -> Result<(), BotError> {
    let chat = msg.chat.id;
    if shared.refusals.should_reply(chat.0, Instant::now()) {
        // The chat id only: never the message text.
        tracing::warn!(
            chat_id = chat.0,
            "refused a chat that is not on telegram.allowed_chat_ids"
        );
        guarded(&bot, chat, "refused", &shared, async {
            send::html(&bot, chat, &format::refusal(chat.0)).await?;
            Ok(())
        })
        .await;
    } else {
        tracing::debug!(
            chat_id = chat.0,
            "refused again; no reply within the window"
        );
        shared.ctx.metrics.bot_update("refused", Duration::ZERO);
    }
    Ok(())
}

/// A command for another bot in a group: not ours to answer.
async fn other_bot(shared: Arc<Shared>) -> Result<(), BotError> {
    shared.ctx.metrics.bot_update("other_bot", Duration::ZERO);
    Ok(())
}

/// Unknown commands and plain text: a pointer to `/help` (in private
/// chats only for plain text, so an allowed group is not answered at
/// every message).
async fn other_input(
    bot: TgBot,
    msg: Message,
    input: Input,
    shared: Arc<Shared>,
) -> Result<(), BotError> {
    let chat = msg.chat.id;
    let (name, reply) = match input {
        Input::Unknown => ("unknown", format::unknown_command()),
        _ if msg.chat.is_private() => ("text", format::plain_text()),
        _ => {
            shared.ctx.metrics.bot_update("text", Duration::ZERO);
            return Ok(());
        }
    };
    guarded(&bot, chat, name, &shared, async {
        send::html(&bot, chat, &reply).await?;
        Ok(())
    })
    .await;
    Ok(())
}

/// A command: answered by its entry in the table, after the one check
/// the table asks of the dispatcher (admins-only commands refuse readers).
async fn command(
    bot: TgBot,
    msg: Message,
    invocation: Invocation,
    role: Role,
    shared: Arc<Shared>,
) -> Result<(), BotError> {
    let chat = msg.chat.id;
    let spec = invocation.spec;
    let snap = shared.ctx.runner.state().snapshot();
    let call = Call {
        request: Request {
            args: &invocation.args,
            snap: &snap,
            params: &shared.params,
            now: Utc::now(),
        },
        bot: &bot,
        chat,
        shared: &shared,
    };
    guarded(&bot, chat, spec.name, &shared, async {
        match spec.admins_only {
            Some(refusal) if role != Role::Admin => {
                tracing::info!(
                    chat_id = chat.0,
                    command = spec.name,
                    "refused an admins-only command from a chat that is not an admin"
                );
                call.say(&refusal(chat.0)).await
            }
            _ => commands::answer(spec, &call).await,
        }
    })
    .await;
    Ok(())
}
