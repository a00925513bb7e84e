//! The Telegram bot: long polling inside the daemon, every command answered
//! from the in-memory [`crate::state`] snapshot (never Alpaca's market-data
//! API, never the store on the hot path), only to the chats allowed.
//!
//! - [`commands`]: one file per command (its typed arguments, handler,
//!   reply and buttons) and the table dispatch, `/help` and the menu are
//!   generated from; how to add a command is said there;
//! - [`format`] and [`html`]: the pieces replies share as pure functions,
//!   HTML escaping, monospace tables, splitting at Telegram's 4096 characters;
//! - [`buttons`]: the callback data of "Chart" and `/screen`'s pages;
//! - [`account`]: the cached live `/account` call; [`download`]: the CSV of
//!   `/download`; [`send`]: sending through the rate-limited bot;
//!   [`charts`]: figures drawn and sent as photos;
//! - [`backtest`]: `/backtest`, one at a time, from memory or the lake;
//! - [`alerts`]: the sender alerts are delivered through, alert messages;
//! - `handlers`: the dptree handler tree (refusals, the table's one
//!   endpoint, button presses).
//!
//! - `dispatch` and `lanes`: dipwatch's own update loop (per-chat lanes,
//!   bounded, never blocking the poller; only answered updates confirmed
//!   at a stop); [`limiter`]: Telegram's send limits, kept by dipwatch.
//!
//! [`run`] never gives up on the Bot API: `getMe` is retried with backoff
//! until it answers, polling backs off on errors and honours `retry_after`,
//! and sends go through [`send::TgBot`], which paces them inside
//! Telegram's limits and retries a 429 after the wait Telegram asks for.
//! The token is only ever handed to teloxide; nothing here formats the bot
//! or the token (teloxide's `Bot` has a derived `Debug` that would show it).

pub mod account;
pub mod alerts;
pub mod backtest;
pub(crate) mod buttons;
pub(crate) mod charts;
pub mod commands;
mod dispatch;
pub mod download;
pub mod error;
pub mod format;
mod handlers;
pub mod html;
pub mod lanes;
pub mod limiter;
pub mod reply;
pub mod send;
mod shared;
pub(crate) mod trading;

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use teloxide::errors::AsResponseParameters;
use teloxide::prelude::*;
use teloxide::types::Me;
use teloxide::{ApiError, RequestError};
use tokio_util::sync::CancellationToken;

use crate::config::{PortfolioSettings, Screen, TelegramSettings};
use crate::domain::Symbol;
use crate::market::Broker;
use crate::metrics::Metrics;
use crate::runner::Runner;

use self::account::AccountCache;
use self::format::Params;
use self::limiter::Limits;
use self::send::TgBot;
use self::shared::Shared;
use crate::access::{Access, RefusalGate};

/// The pieces of configuration the bot reads, built by the app's
/// assembly (`app::bot_config`): nothing below it sees the whole
/// `AppConfig`.
#[derive(Debug, Clone)]
pub struct BotConfig {
    /// `[telegram]`: downloads, links, lanes.
    pub telegram: TelegramSettings,
    /// `[screen]`: the ranking and the default rows.
    pub screen: Screen,
    /// `[portfolio]`: the profit rule `/monitor` shows.
    pub portfolio: PortfolioSettings,
    /// `market.universe`: the tickers `/alert` may name.
    pub universe: Vec<Symbol>,
    /// `web.public_url` (or the listener's): where `/web` links point.
    pub web_public_url: url::Url,
    /// The allow-lists at start (replaced on SIGHUP through `Access`).
    pub access: Access,
    /// What `/backtest` runs with.
    pub backtest: crate::backtest::Setup,
}

/// What the bot reads and acts on.
pub struct BotContext {
    /// The configuration the bot reads (`[telegram]`, `[screen]`,
    /// `[portfolio]`, the universe, the backtest's pieces).
    pub config: Arc<BotConfig>,
    /// The runner: the state snapshot, the store, `/trigger`.
    pub runner: Runner,
    /// The account side for `/account` (Alpaca, or the simulated broker).
    pub broker: Option<Arc<dyn Broker>>,
    /// Where `dipwatch_bot_*` metrics go.
    pub metrics: Arc<Metrics>,
    /// The alert runtime (rules, delivery), started by the daemon's
    /// assembly; the bot delivers its messages. `None` turns `/alert` off.
    pub alerts: Option<crate::alerts::AlertService>,
    /// The dashboard's sign-in state (`/web` issues links, `/logout` ends
    /// sessions); `None` when the dashboard is off.
    pub web: Option<Arc<crate::access::WebAuth>>,
    /// `/trigger`'s cooldown: the daemon's one, shared with the dashboard's
    /// "Run now" button.
    pub trigger_cooldown: Arc<crate::trigger::Cooldown>,
    /// Orders (`/buy`, `/sell`, `/orders`, `/halt`, `/resume`); `None`
    /// while `trading.enabled` is off or the market is simulated.
    pub trading: Option<crate::trading::Trading>,
    /// The audit journal every command that changes something appends to.
    pub journal: crate::journal::Journal,
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
    /// Send limits, kept by [`limiter`].
    pub limits: Limits,
    /// Updates one chat may have in the bot at once; more are dropped (and
    /// the chat told), so it never makes another chat wait.
    pub per_chat: usize,
    /// At a stop, how long the updates already fetched get to be answered
    /// (inside the daemon's stop budget; what is left is not confirmed).
    pub drain: Duration,
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
            per_chat: lanes::PER_CHAT,
            drain: Duration::from_secs(6),
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
    let mut api = Bot::with_client(token.expose_secret(), client);
    if let Some(url) = &api_url {
        // The URL is configuration, not a secret; the token is not in it.
        tracing::info!(api_url = %url, "using another Bot API server (TELOXIDE_API_URL)");
        api = api.set_api_url(url.clone());
    }
    drop(token);
    let bot = TgBot::new(api, options.limits);

    // The configuration's shared lists: a SIGHUP reload reaches the bot.
    let access = ctx.config.access.clone();
    log_access(&access);
    let shared = Arc::new(Shared {
        params: Params::new(&ctx.config.screen, &ctx.config.portfolio),
        access: access.clone(),
        refusals: RefusalGate::new(options.refusal_window),
        account: AccountCache::new(
            ctx.broker.clone(),
            options.account_ttl,
            options.account_timeout,
        ),
        shutdown: shutdown.clone(),
        downloads: download::Slots::new(
            download::MAX_CONCURRENT_DOWNLOADS,
            download::DOWNLOAD_QUEUE_WAIT,
        ),
        backtests: backtest::Gate::default(),
        ctx,
    });

    start_outgoing(&bot, &shared);

    if let Some(me) = wait_for_me(&bot, &options, &shutdown).await {
        tracing::info!(
            bot = me.user.username.as_deref().unwrap_or_default(),
            "Telegram bot connected; long polling"
        );
        tokio::spawn(register_commands(
            bot.clone(),
            options.clone(),
            shutdown.clone(),
        ));
        if drop_webhook(&bot, &options, &shutdown).await {
            let deps = dptree::deps![bot.clone(), me, shared.clone()];
            let metrics = shared.ctx.metrics.clone();
            dispatch::run(
                bot,
                handlers::schema(),
                deps,
                access,
                metrics,
                &options,
                &shutdown,
            )
            .await;
        }
    }
    tracing::info!("Telegram bot stopped");
}

/// What the bot sends unasked, through the same limiter as its replies:
/// the alerts, and the status changes of the orders a chat placed
/// (subscribed before polling starts, so nothing confirmed here is missed).
fn start_outgoing(bot: &TgBot, shared: &Shared) {
    if let Some(svc) = &shared.ctx.alerts {
        svc.deliver_through(Arc::new(alerts::BotSender(bot.clone())));
    }
    if let Some(t) = &shared.ctx.trading {
        trading::follow::spawn(
            bot.clone(),
            t.updates(),
            shared.access.clone(),
            shared.shutdown.clone(),
        );
    }
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
            r = bot.api().get_me().send() => r,
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

/// `deleteWebhook` until it works (long polling and a webhook exclude
/// each other); false on shutdown.
async fn drop_webhook(bot: &TgBot, options: &BotOptions, shutdown: &CancellationToken) -> bool {
    let mut failures = 0u32;
    loop {
        let error = tokio::select! {
            r = bot.api().delete_webhook().send() => match r {
                Ok(_) => return true,
                Err(e) => e,
            },
            () = shutdown.cancelled() => return false,
        };
        let wait = error
            .retry_after()
            .map_or_else(|| options.backoff(failures), |s| s.duration());
        failures = failures.saturating_add(1);
        tracing::warn!(error = %error, retry_in_secs = wait.as_secs_f64(), "deleteWebhook failed; retrying");
        tokio::select! {
            () = tokio::time::sleep(wait) => {},
            () = shutdown.cancelled() => return false,
        }
    }
}

/// `setMyCommands`, so Telegram shows the menu; retried until it works.
async fn register_commands(bot: TgBot, options: BotOptions, shutdown: CancellationToken) {
    let mut failures = 0u32;
    loop {
        let result = tokio::select! {
            r = bot.api().set_my_commands(commands::menu()).send() => r,
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
