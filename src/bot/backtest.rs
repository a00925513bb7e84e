//! `/backtest`: the contrarian strategy replayed over the stored history,
//! with the command line's options (`/backtest from 2026-01-05 top 10
//! entry -30`, parsed into the service's [`Request`]), answered with a
//! compact summary against the benchmark and an equity chart. The entry
//! point is [`backtest`]. The run is [`Backtests::run`], as `dipwatch
//! backtest` runs it (same id for the same request on the same data), so
//! `dipwatch backtest --show ID` and the dashboard show it.
//!
//! The service reads the bars from the daemon's year in memory when it
//! holds the whole span the request needs (its start less the ranking's
//! warm-up), else from the lake, and runs the engine on a blocking thread,
//! so the bot keeps answering meanwhile. One backtest runs at a time
//! across chats ([`Gate`]): a second asker is told to try again rather
//! than queued.

use std::fmt::Write as _;

use teloxide::prelude::*;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::BotContext;
use super::error::BotError;
use super::format::sim_marker;
use super::html::{Align, Table, escape};
use super::send;
use crate::backtest::report::{self, KEY_ROWS, OPTIMISTIC, SURVIVORSHIP};
use crate::backtest::request::{OPTIONS, Request};
use crate::backtest::{BacktestError, Backtests, Outcome, Ran, Source};
use crate::chart::{self, Figure, Style};

/// One backtest at a time, across every chat.
#[derive(Debug)]
pub struct Gate(Semaphore);

impl Default for Gate {
    fn default() -> Self {
        Self(Semaphore::new(1))
    }
}

impl Gate {
    /// The right to run, `None` while another backtest runs.
    pub fn try_enter(&self) -> Option<SemaphorePermit<'_>> {
        self.0.try_acquire().ok()
    }
}

/// Bad options: what is wrong, then the usage.
pub fn usage(error: &str) -> String {
    format!(
        "⚠️ {}\n\nUsage: <code>/backtest [from YYYY-MM-DD] [to YYYY-MM-DD] [top N] [entry -30] \
         [take-profit 100] [rebalance daily|weekly|monthly] ...</code>\nOptions: {}. Each \
         overrides <code>[backtest]</code>; <code>--top 10</code> and <code>top=10</code> work \
         too. Example: <code>/backtest from 2026-01-05 top 10 entry -30</code>",
        escape(error),
        escape(&OPTIONS.join(", "))
    )
}

/// Another chat's backtest is running.
pub fn busy() -> String {
    "⏳ One backtest is running, try again shortly.".to_string()
}

/// The backtest could not run (too little history, no benchmark bars):
/// the reason says which and how to backfill.
pub fn refused(reason: &str) -> String {
    format!("⚠️ Cannot backtest: {}", escape(reason))
}

/// The compact summary: period, the key figures side by side, the
/// honesty notes, and how to see the whole run.
pub fn summary(outcome: &Outcome, source: Source) -> String {
    let s = &outcome.summary;
    let mut out = String::from(sim_marker(s.data.simulated));
    let _ = writeln!(
        out,
        "<b>Backtest</b> <code>{}</code> · {} to {} ({} sessions)",
        escape(&s.id),
        s.data.from,
        s.data.to,
        s.data.sessions
    );
    let mut table = Table::new(&[
        ("", Align::Left),
        ("strategy", Align::Right),
        (s.benchmark.as_str(), Align::Right),
    ]);
    for (label, ours, theirs) in report::rows(s) {
        if KEY_ROWS.contains(&label) {
            table.row(vec![label.to_string(), ours, theirs]);
        }
    }
    out.push_str(&table.render());
    out.push('\n');
    if s.parameters.optimistic() {
        let _ = writeln!(out, "⚠️ <i>{}</i>", escape(OPTIMISTIC));
    }
    let _ = writeln!(out, "<i>{}</i>", escape(SURVIVORSHIP));
    if let Some(line) = simplified(&s.leaves_out) {
        let _ = writeln!(out, "<i>{}</i>", escape(&line));
    }
    for w in &s.warnings {
        let _ = writeln!(out, "⚠️ {}", escape(w));
    }
    let from = match source {
        Source::Memory => "the daemon's bars in memory",
        Source::Lake => "the lake",
    };
    let _ = write!(
        out,
        "<i>Bars from {from}. Full report: </i><code>dipwatch backtest --show {}</code>",
        escape(&s.id)
    );
    out
}

/// What the run simplifies, one short line for a phone: the head of each
/// of the summary's `leaves_out` entries ("dividends", "costs", ...); the
/// full sentences are in `dipwatch backtest --show ID`, which the reply
/// names.
fn simplified(leaves_out: &[String]) -> Option<String> {
    let heads: Vec<&str> = leaves_out
        .iter()
        .map(|n| n.split_once(':').map_or(n.as_str(), |(head, _)| head))
        .collect();
    (!heads.is_empty()).then(|| {
        format!(
            "Simplified (details in the full report): {}.",
            heads.join(", ")
        )
    })
}

/// `/backtest ARGS`: the bot's one entry point for the command. Bad
/// options get the usage (before the gate, so even while another runs);
/// a second backtest while one runs is refused; the rest is the service's.
pub(crate) async fn backtest(
    bot: &send::TgBot,
    chat: ChatId,
    arg: &str,
    ctx: &BotContext,
    gate: &Gate,
) -> Result<(), BotError> {
    // The chat is told "the store", not where it is on the host.
    let backtests = Backtests::new(ctx.config.backtest.clone(), ctx.runner.store().clone())
        .in_daemon(ctx.runner.state().clone(), "the store");
    let checked = Request::parse(arg)
        .and_then(|r| backtests.settings(&r).map(|_| r).map_err(|e| e.to_string()));
    let request = match checked {
        Ok(request) => request,
        Err(e) => {
            send::html(bot, chat, &usage(&e)).await?;
            return Ok(());
        }
    };
    let Some(_running) = gate.try_enter() else {
        tracing::info!(chat_id = chat.0, "refused /backtest: another is running");
        send::html(bot, chat, &busy()).await?;
        return Ok(());
    };
    let text = match backtests.run(&request).await {
        Ok(ran) => return reply(bot, chat, ran).await,
        Err(BacktestError::Options(e)) => usage(&e),
        Err(BacktestError::Refused(reason)) => refused(&reason),
        Err(BacktestError::Store(e)) => return Err(e.into()),
        Err(e @ BacktestError::Crashed(_)) => {
            tracing::error!(chat_id = chat.0, error = %e, "a backtest failed");
            super::format::apology()
        }
    };
    send::html(bot, chat, &text).await?;
    Ok(())
}

/// Answer a finished backtest: the summary, then its equity chart (drawn
/// on a blocking thread), or a line saying the chart failed.
async fn reply(bot: &send::TgBot, chat: ChatId, ran: Ran) -> Result<(), BotError> {
    let Ran { outcome, source } = ran;
    let id = outcome.summary.id.clone();
    tracing::info!(chat_id = chat.0, id = %id, ?source, "backtest run from Telegram");
    send::html(bot, chat, &summary(&outcome, source)).await?;
    let caption = format!(
        "{}Backtest <code>{}</code>: equity vs {}",
        sim_marker(outcome.summary.data.simulated),
        escape(&id),
        escape(&outcome.summary.benchmark)
    );
    let drawn = tokio::task::spawn_blocking(move || {
        chart::backtest::equity(&outcome.summary, &outcome.equity)
            .map_err(|e| e.to_string())
            .and_then(|c| {
                chart::png(&Figure::BacktestEquity(c), &Style::PHOTO).map_err(|e| e.to_string())
            })
    })
    .await
    .unwrap_or_else(|e| {
        crate::panics::record("backtest chart");
        Err(e.to_string())
    });
    match drawn {
        Ok(png) => {
            send::photo(bot, chat, format!("backtest-{id}.png"), png, &caption, None).await?;
        }
        Err(e) => {
            tracing::error!(chat_id = chat.0, error = %e, "the backtest chart could not be drawn");
            send::html(bot, chat, &super::charts::chart_failed()).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_backtest_at_a_time() {
        let gate = Gate::default();
        let first = gate.try_enter();
        assert!(first.is_some());
        assert!(gate.try_enter().is_none(), "a second one is refused");
        drop(first);
        assert!(gate.try_enter().is_some(), "free again once it is done");
    }

    #[test]
    fn the_simplifications_are_named_by_their_heads() {
        let notes = vec![
            "dividends: left out".to_string(),
            "costs: a flat 5 bps".to_string(),
            "no colon here".to_string(),
        ];
        assert_eq!(
            simplified(&notes).as_deref(),
            Some("Simplified (details in the full report): dividends, costs, no colon here.")
        );
        assert_eq!(simplified(&[]), None);
    }

    #[test]
    fn usage_names_the_error_escaped() {
        let text = usage("\"<b>\" is not an option");
        assert!(
            text.starts_with("⚠️ \"&lt;b&gt;\" is not an option"),
            "{text}"
        );
        assert!(text.contains("take-profit"));
    }
}
