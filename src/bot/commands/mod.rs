//! The bot's commands: one file per command, and [`COMMANDS`], the table
//! that the dispatcher, `/help` and the menu Telegram shows
//! (`setMyCommands`) are all generated from.
//!
//! Each command's file holds its typed arguments and their parser (run once,
//! at the edge, on the text after the command), its handler, its reply text
//! and its buttons, and declares its [`Spec`]: its name, aliases, usage,
//! the one-line description, and how it is answered.
//!
//! Why a table and not an enum with a `match` per concern: a command used to
//! live in four places (the enum, a `match` for the reply, another for the
//! buttons, the help), and its arguments travelled as text and were parsed
//! twice. **To add a command**: write `commands/<name>.rs` with a
//! `pub(crate) const SPEC: Spec` ([`Spec::new`]), add its `mod` line and
//! its line in [`COMMANDS`], and describe it in `docs/BOT.md` (a unit test
//! fails until the docs and the help name it).

pub use super::reply::Reply;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use teloxide::types::{BotCommand, ChatId};

use super::error::BotError;
use super::format::Params;
use super::html::escape;
use super::send::{self, TgBot};
use super::shared::Shared;
use crate::state::Snapshot;

mod account;
mod alert;
mod alerts;
mod backtest;
mod breadth;
mod buy;
pub(crate) mod chart;
mod dashboard;
pub(crate) mod download;
mod halt;
mod help;
mod logout;
mod monitor;
mod orders;
pub mod parse;
mod portfolio;
mod resume;
pub(crate) mod risk;
pub(crate) mod screen;
mod sell;
pub(crate) mod stats;
pub(crate) mod symbol;
mod trigger;
pub(crate) mod unalert;
pub(crate) mod web;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;

pub(crate) use dashboard::dashboard;
pub use parse::{BadArgs, Input, Invocation, parse_input};

/// Every command, in the order `/help` and Telegram's menu list them.
pub const COMMANDS: &[&Spec] = &[
    &help::START,
    &help::SPEC,
    &dashboard::SPEC,
    &screen::SPEC,
    &symbol::SPEC,
    &chart::SPEC,
    &breadth::SPEC,
    &portfolio::SPEC,
    &monitor::SPEC,
    &risk::SPEC,
    &backtest::SPEC,
    &account::SPEC,
    &stats::SPEC,
    &download::SPEC,
    &trigger::SPEC,
    &buy::SPEC,
    &sell::SPEC,
    &orders::SPEC,
    &halt::SPEC,
    &resume::SPEC,
    &alert::SPEC,
    &alerts::SPEC,
    &unalert::SPEC,
    &web::SPEC,
    &logout::SPEC,
];

/// One command: what users type, what `/help` says, how it is answered.
pub struct Spec {
    /// The command without its slash, lower case; also its fixed name in
    /// metrics and logs (never user text).
    pub name: &'static str,
    /// Other words for it (`/daily` for `/dashboard`).
    pub aliases: &'static [&'static str],
    /// The arguments `/help` shows after the name (`" TICKER"`), or `""`.
    pub usage: &'static str,
    /// The one-line description of `/help` and Telegram's menu.
    pub description: &'static str,
    /// False for a command left out of `/help` and the menu (`/start`).
    pub listed: bool,
    /// `Some` for a command only admins may use: the reply a reader gets
    /// instead, given its chat id.
    pub admins_only: Option<fn(i64) -> String>,
    /// How it is answered.
    pub(crate) answer: Answer,
}

impl Spec {
    /// A command every allowed chat may use, listed in `/help` and the
    /// menu, without aliases (struct update syntax adds them).
    pub(crate) const fn new(
        name: &'static str,
        usage: &'static str,
        description: &'static str,
        answer: Answer,
    ) -> Self {
        Self {
            name,
            aliases: &[],
            usage,
            description,
            listed: true,
            admins_only: None,
            answer,
        }
    }
}

/// How a command is answered.
pub(crate) enum Answer {
    /// From the in-memory snapshot alone: the reply is a pure function of
    /// it (so tests and the benchmark build it without a bot).
    Snapshot(fn(&Request<'_>) -> Reply),
    /// With I/O or an action (a live call, the store, a photo, a run):
    /// a file's `async fn act(call: &Call<'_>)`, boxed where its `Spec` is
    /// written (`Answer::Act(|call| Box::pin(act(call)))`).
    Act(for<'a> fn(&'a Call<'a>) -> BoxFuture<'a, Result<(), BotError>>),
}

/// What every command reads: its arguments and the snapshot they are
/// answered from.
pub struct Request<'a> {
    /// The text after the command, trimmed.
    pub args: &'a str,
    /// The state the last run published, taken once per update.
    pub snap: &'a Snapshot,
    /// The settings replies mention.
    pub params: &'a Params,
    /// The clock, read once per update.
    pub now: DateTime<Utc>,
}

/// A command being answered: the [`Request`] and where to answer it.
pub(crate) struct Call<'a> {
    /// What was asked, against which snapshot.
    pub request: Request<'a>,
    /// The rate-limited bot.
    pub bot: &'a TgBot,
    /// The chat asking.
    pub chat: ChatId,
    /// What every handler shares (config, runner, caches, gates).
    pub shared: &'a Shared,
}

impl Call<'_> {
    /// Send `html` to the asking chat (split at Telegram's limit).
    pub async fn say(&self, html: &str) -> Result<(), BotError> {
        send::html(self.bot, self.chat, html).await?;
        Ok(())
    }

    /// Send a reply with its buttons.
    pub async fn reply(&self, reply: &Reply) -> Result<(), BotError> {
        send::html_with_keyboard(self.bot, self.chat, &reply.text, reply.keyboard.clone()).await?;
        Ok(())
    }
}

/// Answer a command: its pure reply sent with its buttons, or its own
/// handler.
pub(crate) async fn answer(spec: &Spec, call: &Call<'_>) -> Result<(), BotError> {
    match spec.answer {
        Answer::Snapshot(reply) => call.reply(&reply(&call.request)).await,
        Answer::Act(act) => act(call).await,
    }
}

/// The command named `word` (lower case, without the slash), by its name
/// or an alias.
pub fn find(word: &str) -> Option<&'static Spec> {
    COMMANDS
        .iter()
        .copied()
        .find(|c| c.name == word || c.aliases.contains(&word))
}

/// The menu registered with `setMyCommands`: every listed command.
pub fn menu() -> Vec<BotCommand> {
    COMMANDS
        .iter()
        .filter(|c| c.listed)
        .map(|c| BotCommand::new(format!("/{}", c.name), c.description))
        .collect()
}

/// `/help`'s list: one line per listed command, its usage, description and
/// aliases.
pub fn help_lines() -> String {
    let mut out = String::new();
    for c in COMMANDS.iter().filter(|c| c.listed) {
        out.push_str(&format!(
            "/{}{} — {}",
            c.name,
            escape(c.usage),
            escape(c.description)
        ));
        for alias in c.aliases {
            out.push_str(&format!(" (also /{alias})"));
        }
        out.push('\n');
    }
    out
}

/// The reply of a command answered from the snapshot alone, for the text a
/// user would send (`"/screen 50"`); `None` for anything else (another
/// command, an unknown one, plain text). For benchmarks and tests.
pub fn snapshot_reply(
    text: &str,
    snap: &Snapshot,
    params: &Params,
    now: DateTime<Utc>,
) -> Option<Reply> {
    let Input::Command(invocation) = parse_input(Some(text), "") else {
        return None;
    };
    let Answer::Snapshot(reply) = invocation.spec.answer else {
        return None;
    };
    Some(reply(&Request {
        args: &invocation.args,
        snap,
        params,
        now,
    }))
}
