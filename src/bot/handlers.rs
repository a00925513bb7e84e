//! The dptree handler tree and its endpoints. Every message is first given
//! a [`Role`] (refused chats stop there, with a refusal), then read as an
//! [`Input`]; commands go to their endpoint, anything else gets a pointer
//! to `/help`. Endpoints take their dependencies by injection (the bot, the
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
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::BotContext;
use super::account::AccountCache;
use super::commands::{Command, Input, parse_download, parse_input};
use super::download::{MAX_DOCUMENT_BYTES, MAX_LINKED_BYTES, build_csv};
use super::error::BotError;
use super::format::{self, Params};
use super::send::{self, TgBot};
use crate::access::{Access, RefusalGate, Role};
use crate::trigger::ManualRun;

/// What every endpoint shares.
pub(crate) struct Shared {
    /// Config, runner (state, store, trigger), broker, metrics.
    pub ctx: BotContext,
    /// Settings replies mention.
    pub params: Params,
    /// The allow-lists.
    pub access: Access,
    /// One refusal per chat per window.
    pub refusals: RefusalGate,
    /// The cached live account.
    pub account: AccountCache,
    /// The daemon's shutdown, for tasks that outlive an update.
    pub shutdown: CancellationToken,
    /// The `/download`s built and sent at once.
    pub downloads: super::download::Slots,
    /// One `/backtest` at a time, across chats.
    pub backtests: super::backtest::Gate,
}

/// The handler tree.
pub(crate) fn schema() -> UpdateHandler<BotError> {
    let commands = dptree::filter_map(|input: Input| match input {
        Input::Command(c) => Some(c),
        _ => None,
    })
    .branch(
        dptree::case![Command::Trigger]
            .filter(|role: Role| role == Role::Admin)
            .endpoint(trigger),
    )
    .branch(dptree::case![Command::Trigger].endpoint(not_admin))
    .branch(dptree::endpoint(command));

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
    let press = super::charts::Press::decode(data);
    let snap = shared.ctx.runner.state().snapshot();
    let notice = match (&allowed, &press) {
        (Some(_), Some(p)) => super::charts::stale(p.date(), &snap),
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
    match press {
        Some(super::charts::Press::Chart { symbol, .. }) => {
            guarded(&bot, chat, "chart", &shared, async {
                let params = &shared.ctx.config.screen.params;
                let period = crate::chart::Period::Y1;
                Ok(super::charts::chart(&bot, chat, &symbol, period, &snap, params).await?)
            })
            .await;
        }
        Some(super::charts::Press::Page { offset, n, .. }) => {
            let Some(message) = q.message.as_ref().map(|m| m.id()) else {
                return Ok(());
            };
            guarded(&bot, chat, "screen", &shared, async {
                Ok(super::charts::page(&bot, chat, message, offset, n, &snap).await?)
            })
            .await;
        }
        None => {
            let Some(id) = data.strip_prefix(super::alerts::DELETE_PREFIX) else {
                return Ok(());
            };
            let id = id.to_string();
            guarded(&bot, chat, "unalert", &shared, async {
                Ok(super::alerts::unalert(&bot, chat, &id, shared.ctx.alerts.as_ref()).await?)
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
    match input {
        Input::Unknown => {
            guarded(&bot, chat, "unknown", &shared, async {
                send::html(&bot, chat, &format::unknown_command()).await?;
                Ok(())
            })
            .await;
        }
        _ if msg.chat.is_private() => {
            guarded(&bot, chat, "text", &shared, async {
                send::html(&bot, chat, &format::plain_text()).await?;
                Ok(())
            })
            .await;
        }
        _ => shared.ctx.metrics.bot_update("text", Duration::ZERO),
    }
    Ok(())
}

/// Every command but `/trigger`.
async fn command(
    bot: TgBot,
    msg: Message,
    cmd: Command,
    shared: Arc<Shared>,
) -> Result<(), BotError> {
    let chat = msg.chat.id;
    guarded(
        &bot,
        chat,
        cmd.name(),
        &shared,
        answer(&bot, chat, &cmd, &shared),
    )
    .await;
    Ok(())
}

async fn answer(bot: &TgBot, chat: ChatId, cmd: &Command, shared: &Shared) -> Result<(), BotError> {
    let snap = shared.ctx.runner.state().snapshot();
    let now = Utc::now();
    if let Some(text) = format::snapshot_reply(cmd, &snap, &shared.params, now) {
        let keyboard = super::charts::keyboard_for(cmd, &snap, shared.params.top_n);
        send::html_with_keyboard(bot, chat, &text, keyboard).await?;
        if matches!(cmd, Command::Risk) {
            super::charts::risk_heatmap(bot, chat, &snap).await?;
        }
        return Ok(());
    }
    match cmd {
        Command::Account => {
            let as_of = snap
                .screen
                .as_ref()
                .map_or_else(|| crate::market::calendar::exchange_date(now), |s| s.date);
            let fallback = snap.portfolio.as_ref().map(|p| (p.date, &p.account));
            let view = shared.account.get(as_of, fallback).await;
            send::html(bot, chat, &format::account(&view, snap.simulated)).await?;
        }
        Command::Download(arg) => {
            let Ok(args) = parse_download(arg) else {
                send::html(bot, chat, &format::download_usage()).await?;
                return Ok(());
            };
            // Held until the file is sent: the CSV lives that long.
            let Some(_slot) = shared.downloads.enter().await else {
                send::html(bot, chat, &format::download_busy()).await?;
                return Ok(());
            };
            let store = shared.ctx.runner.store();
            let telegram = &shared.ctx.config.telegram;
            let as_link = telegram.download_links && store.can_share();
            let max_bytes = if as_link {
                MAX_LINKED_BYTES
            } else {
                MAX_DOCUMENT_BYTES
            };
            match build_csv(store, args.dataset, args.days, max_bytes).await? {
                None => {
                    send::html(bot, chat, &format::download_empty(&args)).await?;
                }
                Some(csv) if as_link => {
                    let caption = format::download_caption(&csv, &args);
                    let name = format::download_filename(&csv);
                    let ttl = Duration::from_secs(telegram.download_link_ttl_secs);
                    // A unique object per request: a link is never repointed.
                    let object = format!("{}-{name}", now.timestamp_millis());
                    let url = store.share(&object, csv.bytes, ttl).await?;
                    let text = format::download_link(&caption, &name, url.as_str(), ttl.as_secs());
                    send::html(bot, chat, &text).await?;
                }
                Some(csv) => {
                    let caption = format::download_caption(&csv, &args);
                    let name = format::download_filename(&csv);
                    send::csv(bot, chat, name, csv.bytes, &caption).await?;
                }
            }
        }
        Command::Alert(args) => {
            let universe = &shared.ctx.config.universe;
            super::alerts::alert(bot, chat, args, shared.ctx.alerts.as_ref(), universe).await?
        }
        Command::Alerts => super::alerts::alerts(bot, chat, shared.ctx.alerts.as_ref()).await?,
        Command::Chart(args) => {
            super::charts::chart_command(bot, chat, args, &snap, &shared.ctx.config.screen.params)
                .await?
        }
        Command::Breadth => super::charts::breadth(bot, chat, &snap).await?,
        Command::Backtest(args) => {
            super::backtest::backtest(bot, chat, args, &shared.ctx, &shared.backtests).await?
        }
        Command::Unalert(arg) => {
            super::alerts::unalert(bot, chat, arg, shared.ctx.alerts.as_ref()).await?
        }
        Command::Web => {
            let ctx = &shared.ctx;
            super::web::web(bot, chat, ctx.web.as_deref(), &ctx.config.web.public_url).await?
        }
        Command::Logout => super::web::logout(bot, chat, shared.ctx.web.as_deref()).await?,
        // Answered from the snapshot above, or by their own endpoints.
        _ => {}
    }
    Ok(())
}

/// `/trigger` from an admin: start a run, answer at once, and again with
/// the run's summary when it ends.
async fn trigger(bot: TgBot, msg: Message, shared: Arc<Shared>) -> Result<(), BotError> {
    let chat = msg.chat.id;
    guarded(&bot, chat, "trigger", &shared, async {
        let attempt = crate::trigger::start_manual(
            &shared.ctx.runner,
            &shared.ctx.trigger_cooldown,
            Instant::now(),
        );
        match attempt {
            ManualRun::Started(done) => {
                tracing::info!(chat_id = chat.0, "collection started from Telegram");
                send::html(&bot, chat, &format::trigger_started()).await?;
                let bot = bot.clone();
                let shutdown = shared.shutdown.clone();
                tokio::spawn(async move {
                    let run = tokio::select! {
                        run = done => run.ok(),
                        () = shutdown.cancelled() => return,
                    };
                    let text = format::trigger_finished(run.as_ref());
                    if let Err(e) = send::html(&bot, chat, &text).await {
                        tracing::warn!(chat_id = chat.0, error = %e, "could not send the run summary");
                    }
                });
            }
            ManualRun::Busy(running) => {
                send::html(&bot, chat, &format::trigger_busy(running)).await?;
            }
            ManualRun::Cooling { left, period } => {
                tracing::info!(chat_id = chat.0, "refused /trigger within the cooldown");
                send::html(&bot, chat, &format::trigger_cooldown(left, period)).await?;
            }
        }
        Ok(())
    })
    .await;
    Ok(())
}

/// `/trigger` from a chat that may only read.
async fn not_admin(bot: TgBot, msg: Message, shared: Arc<Shared>) -> Result<(), BotError> {
    let chat = msg.chat.id;
    tracing::info!(
        chat_id = chat.0,
        "refused /trigger from a chat that is not an admin"
    );
    guarded(&bot, chat, "trigger", &shared, async {
        send::html(&bot, chat, &format::admin_only(chat.0)).await?;
        Ok(())
    })
    .await;
    Ok(())
}
