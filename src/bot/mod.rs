//! The Telegram bot: long polling inside the daemon, every command answered
//! from the in-memory [`crate::state`] snapshot (never Alpaca's market-data
//! API, never the store on the hot path), only to the chats allowed.
//!
//! - [`commands`]: the command enum (`#[derive(BotCommands)]`) and argument
//!   parsing;
//! - [`access`]: who may read, who may `/trigger`, refusals;
//! - [`format`] and [`html`]: every reply's text as pure functions, HTML
//!   escaping, monospace tables, splitting at Telegram's 4096 characters;
//! - [`account`]: the cached live `/account` call; [`download`]: the CSV of
//!   `/download`; [`send`]: sending through the throttled bot;
//! - `handlers`: the dptree handler tree.
//!
//! [`run`] never gives up on the Bot API: `getMe` is retried with backoff
//! until it answers, polling backs off on errors and honours `retry_after`,
//! and sends go through teloxide's `Throttle`, which paces them inside
//! Telegram's limits and retries a 429 after the wait Telegram asks for.
//! The token is only ever handed to teloxide; nothing here formats the bot
//! or the token (teloxide's `Bot` has a derived `Debug` that would show it).

pub mod access;
pub mod account;
pub mod alerts;
pub mod commands;
pub mod cooldown;
pub mod download;
pub mod format;
mod handlers;
pub mod html;
mod listener;
pub mod send;

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use teloxide::adaptors::throttle::Limits;
use teloxide::dispatching::ShutdownToken;
use teloxide::error_handlers::ErrorHandler;
use teloxide::errors::AsResponseParameters;
use teloxide::prelude::*;
use teloxide::types::Me;
use teloxide::update_listeners::Polling;
use teloxide::utils::command::BotCommands;
use teloxide::{ApiError, RequestError};
use tokio_util::sync::CancellationToken;

use crate::config::AppConfig;
use crate::market::Broker;
use crate::metrics::Metrics;
use crate::runner::Runner;

use self::access::{Access, RefusalGate};
use self::account::AccountCache;
use self::commands::Command;
use self::format::Params;
use self::handlers::{BotError, Shared};
use self::send::TgBot;

/// What the bot reads and acts on.
pub struct BotContext {
    /// The configuration (`[telegram]`, `[screen]`, `[portfolio]`).
    pub config: Arc<AppConfig>,
    /// The runner: the state snapshot, the store, `/trigger`.
    pub runner: Runner,
    /// The account side for `/account` (Alpaca, or the simulated broker).
    pub broker: Option<Arc<dyn Broker>>,
    /// Where `dipwatch_bot_*` metrics go.
    pub metrics: Arc<Metrics>,
    /// The alert runtime (rules, delivery); `None` turns `/alert` off.
    pub alerts: Option<crate::notify::AlertService>,
}

/// Tuning of [`run_with`]; [`run`] uses the defaults.
#[derive(Debug, Clone)]
pub struct BotOptions {
    /// Long-poll timeout of `getUpdates` (below the HTTP client's 17 s).
    pub poll_timeout: Duration,
    /// First wait after a failed Bot API call; doubles per failure.
    pub backoff_base: Duration,
    /// Longest wait between retries.
    pub backoff_max: Duration,
    /// How long a live `/account` answer is reused.
    pub account_ttl: Duration,
    /// How long `/account` waits for the trading API.
    pub account_timeout: Duration,
    /// A refused chat gets one refusal per this window.
    pub refusal_window: Duration,
    /// Send limits enforced by teloxide's `Throttle`.
    pub limits: Limits,
}

impl Default for BotOptions {
    fn default() -> Self {
        Self {
            poll_timeout: Duration::from_secs(10),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            account_ttl: Duration::from_secs(60),
            account_timeout: Duration::from_secs(15),
            refusal_window: Duration::from_secs(300),
            // Telegram's published limits: 30 messages/s overall, 1/s and
            // 20/min per chat.
            limits: Limits::default(),
        }
    }
}

impl BotOptions {
    /// The wait after `failures` consecutive failures: base * 2^failures,
    /// capped.
    pub fn backoff(&self, failures: u32) -> Duration {
        self.backoff_base
            .saturating_mul(1u32 << failures.min(16))
            .min(self.backoff_max)
    }
}

/// `TELOXIDE_API_URL` (teloxide's own name), when set: another Bot API
/// server, e.g. a local `telegram-bot-api` or a test fake.
pub fn api_url_from_env() -> Result<Option<url::Url>, String> {
    match std::env::var("TELOXIDE_API_URL") {
        Ok(v) if !v.trim().is_empty() => url::Url::parse(v.trim())
            .map(Some)
            .map_err(|e| format!("TELOXIDE_API_URL is not a URL: {e}")),
        _ => Ok(None),
    }
}

/// Runs until `shutdown` is cancelled; never returns early on Bot API
/// errors (retries with backoff).
pub async fn run(
    ctx: BotContext,
    token: SecretString,
    api_url: Option<url::Url>,
    shutdown: CancellationToken,
) {
    run_with(ctx, token, api_url, BotOptions::default(), shutdown).await;
}

/// [`run`] with explicit [`BotOptions`].
pub async fn run_with(
    ctx: BotContext,
    token: SecretString,
    api_url: Option<url::Url>,
    options: BotOptions,
    shutdown: CancellationToken,
) {
    let client = match teloxide::net::default_reqwest_settings().build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "Telegram bot not started: cannot build its HTTP client");
            shutdown.cancelled().await;
            return;
        }
    };
    let mut bot = Bot::with_client(token.expose_secret(), client);
    if let Some(url) = &api_url {
        // The URL is configuration, not a secret; the token is not in it.
        tracing::info!(api_url = %url, "using another Bot API server (TELOXIDE_API_URL)");
        bot = bot.set_api_url(url.clone());
    }
    drop(token);
    let bot: TgBot = bot.throttle(options.limits);
    // Alerts go out through this same throttled bot: one budget for all sends.
    let alerts_task = ctx.alerts.clone().map(|svc| {
        tokio::spawn(svc.run(
            ctx.runner.state().clone(),
            ctx.config.timezone,
            Arc::new(alerts::BotSender(bot.clone())),
            shutdown.clone(),
        ))
    });

    let telegram = &ctx.config.settings.telegram;
    let access = Access::from_settings(telegram);
    log_access(&access);
    let shared = Arc::new(Shared {
        params: Params::from_config(&ctx.config),
        access,
        refusals: RefusalGate::new(options.refusal_window),
        account: AccountCache::new(
            ctx.broker.clone(),
            options.account_ttl,
            options.account_timeout,
        ),
        shutdown: shutdown.clone(),
        trigger_cooldown: cooldown::Cooldown::new(Duration::from_secs(
            ctx.config.settings.telegram.trigger_cooldown_secs,
        )),
        downloads: download::Slots::new(
            download::MAX_CONCURRENT_DOWNLOADS,
            download::DOWNLOAD_QUEUE_WAIT,
        ),
        ctx,
    });

    let mut dispatcher = Dispatcher::builder(bot.clone(), handlers::schema())
        .dependencies(dptree::deps![shared.clone()])
        // teloxide's default logs the whole update (message text included).
        .default_handler(|update| async move {
            tracing::debug!(update_id = update.id.0, "ignored an update of another kind");
        })
        .error_handler(Arc::new(|e: BotError| async move {
            tracing::error!(error = %e, "update handler failed");
        }))
        .build();
    let stopper = tokio::spawn(stop_on(dispatcher.shutdown_token(), shutdown.clone()));

    let mut commands_registered = false;
    let mut failures = 0u32;
    loop {
        let Some(me) = wait_for_me(&bot, &options, &shutdown).await else {
            break;
        };
        tracing::info!(
            bot = me.user.username.as_deref().unwrap_or_default(),
            "Telegram bot connected; long polling"
        );
        if !commands_registered {
            commands_registered = true;
            tokio::spawn(register_commands(
                bot.clone(),
                options.clone(),
                shutdown.clone(),
            ));
        }
        let builder = Polling::builder(bot.clone())
            .timeout(options.poll_timeout)
            .backoff_strategy({
                let o = options.clone();
                move |n| o.backoff(n)
            });
        // Long polling and a webhook exclude each other: drop any webhook.
        let builder = tokio::select! {
            b = builder.delete_webhook() => b,
            () = shutdown.cancelled() => break,
        };
        let listener = listener::Parsed(builder.build());
        match dispatcher
            .try_dispatch_with_listener(listener, Arc::new(PollErrors))
            .await
        {
            Ok(()) if shutdown.is_cancelled() => break,
            Ok(()) => tracing::warn!("long polling ended unexpectedly; starting again"),
            Err(e) => tracing::warn!(error = %e, "getMe failed before polling; retrying"),
        }
        let wait = options.backoff(failures);
        failures = failures.saturating_add(1);
        tokio::select! {
            () = tokio::time::sleep(wait) => {},
            () = shutdown.cancelled() => break,
        }
    }
    stopper.abort();
    if let Some(t) = alerts_task {
        let _ = t.await;
    }
    tracing::info!("Telegram bot stopped");
}

/// Log who may use the bot; when nobody may, say how to find a chat id.
fn log_access(access: &Access) {
    let (readers, admins) = access.counts();
    if access.refuses_everyone() {
        tracing::warn!(
            "telegram.allowed_chat_ids is empty: the bot refuses everyone. To allow yourself, \
             send the bot any message: its refusal shows your chat id. Add it to \
             telegram.allowed_chat_ids (or DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS=<id>; admins in \
             telegram.admin_chat_ids) and restart."
        );
    } else {
        tracing::info!(
            allowed_chats = readers,
            admin_chats = admins,
            "Telegram bot access lists loaded"
        );
    }
}

/// `getMe` until it answers (or shutdown): the bot starts even when the
/// Bot API is down or slow at first.
async fn wait_for_me(
    bot: &TgBot,
    options: &BotOptions,
    shutdown: &CancellationToken,
) -> Option<Me> {
    let mut failures = 0u32;
    loop {
        let result = tokio::select! {
            r = bot.get_me().send() => r,
            () = shutdown.cancelled() => return None,
        };
        let error = match result {
            Ok(me) => return Some(me),
            Err(e) => e,
        };
        let wait = error
            .retry_after()
            .map_or_else(|| options.backoff(failures), |s| s.duration());
        failures = failures.saturating_add(1);
        match &error {
            RequestError::Api(ApiError::InvalidToken) => tracing::error!(
                retry_in_secs = wait.as_secs_f64(),
                "the Bot API refused the token (Unauthorized): check TELOXIDE_TOKEN"
            ),
            e => tracing::warn!(
                error = %e,
                attempt = failures,
                retry_in_secs = wait.as_secs_f64(),
                "Bot API getMe failed; retrying"
            ),
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {},
            () = shutdown.cancelled() => return None,
        }
    }
}

/// `setMyCommands`, so Telegram shows the menu; retried until it works.
async fn register_commands(bot: TgBot, options: BotOptions, shutdown: CancellationToken) {
    let mut failures = 0u32;
    loop {
        let result = tokio::select! {
            r = bot.set_my_commands(Command::bot_commands()).send() => r,
            () = shutdown.cancelled() => return,
        };
        let error = match result {
            Ok(_) => {
                tracing::info!("bot commands registered (setMyCommands)");
                return;
            }
            Err(e) => e,
        };
        let wait = error
            .retry_after()
            .map_or_else(|| options.backoff(failures), |s| s.duration());
        failures = failures.saturating_add(1);
        tracing::warn!(error = %error, retry_in_secs = wait.as_secs_f64(), "setMyCommands failed; retrying");
        tokio::select! {
            () = tokio::time::sleep(wait) => {},
            () = shutdown.cancelled() => return,
        }
    }
}

/// Stop the dispatcher gracefully when `shutdown` fires (its last
/// `getUpdates` confirms the updates already handled, so a restart does
/// not answer them twice).
async fn stop_on(token: ShutdownToken, shutdown: CancellationToken) {
    shutdown.cancelled().await;
    loop {
        match token.shutdown() {
            Ok(done) => {
                done.await;
                return;
            }
            // Not dispatching yet (waiting for getMe): the run loop sees
            // the cancellation itself; keep trying in case it starts.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Logs `getUpdates` failures (the polling stream backs off by itself,
/// or waits `retry_after`).
struct PollErrors;

impl ErrorHandler<RequestError> for PollErrors {
    fn handle_error(self: Arc<Self>, error: RequestError) -> BoxFuture<'static, ()> {
        match &error {
            RequestError::Api(ApiError::TerminatedByOtherGetUpdates) => tracing::warn!(
                "another process is polling with this bot token (only one may); retrying"
            ),
            RequestError::Api(ApiError::InvalidToken) => {
                tracing::error!(
                    "the Bot API refused the token (Unauthorized): check TELOXIDE_TOKEN"
                )
            }
            RequestError::RetryAfter(s) => tracing::warn!(
                retry_after_secs = s.seconds(),
                "Bot API rate limit on getUpdates; waiting"
            ),
            e => tracing::warn!(error = %e, "getUpdates failed; polling again after a backoff"),
        }
        Box::pin(async {})
    }
}
