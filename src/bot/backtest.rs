//! `/backtest`: the contrarian strategy replayed over the stored history,
//! with the command line's options (`/backtest from 2026-01-05 top 10
//! entry -30`, read by [`crate::backtest::args`]), answered with a compact
//! summary against the benchmark and an equity chart. The run is stored
//! as `dipwatch backtest` stores it (same id for the same request on the
//! same data), so `dipwatch backtest --show ID` and the dashboard show it.
//!
//! The bars come from the daemon's year in memory when it holds the whole
//! span the request needs (its start less the ranking's warm-up), else
//! from the lake, read in this handler's own task. One backtest runs at a
//! time across chats ([`Gate`]): a second asker is told to try again
//! rather than queued. The engine runs on a blocking thread, so the bot
//! keeps answering meanwhile.

use std::fmt::Write as _;

use teloxide::prelude::*;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::BotContext;
use super::error::BotError;
use super::format::sim_marker;
use super::html::{Align, Table, escape};
use super::send;
use crate::backtest::args::{OPTIONS, Overrides};
use crate::backtest::job::{self, Outcome};
use crate::backtest::report::{self, KEY_ROWS, OPTIMISTIC, SURVIVORSHIP};
use crate::backtest::stored;
use crate::chart::{self, Figure, Style};
use crate::query::Lake;

/// Where a backtest's bars were read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The daemon's year of bars in memory.
    Memory,
    /// The lake (the request reaches before the year held).
    Lake,
}

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
    if s.parameters["strategy"]["fill"] == "close" {
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

/// `/backtest ARGS`.
pub(crate) async fn backtest(
    bot: &send::TgBot,
    chat: ChatId,
    arg: &str,
    ctx: &BotContext,
    gate: &Gate,
) -> Result<(), BotError> {
    let config = ctx.config.clone();
    let request = Overrides::parse(arg).and_then(|o| o.apply(&config.backtest).map(|s| (o, s)));
    let (overrides, settings) = match request {
        Ok(r) => r,
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
    let store = ctx.runner.store().clone();
    let load_from = job::load_from(&config.screen.params, overrides.from);
    let snap = ctx.runner.state().snapshot();
    let (load, source) = match job::from_memory(&snap.prices, &snap.prices_source, load_from) {
        Some(load) => (load, Source::Memory),
        None => (
            Lake::new(store.clone())
                .price_history(load_from, None)
                .await?,
            Source::Lake,
        ),
    };
    drop(snap);
    // The chat is told "the store", not where it is on the host.
    let url = "the store".to_string();
    // Ranking, the session loop and the metrics are CPU work: off the
    // runtime, so every other chat is still answered meanwhile.
    let run = tokio::task::spawn_blocking(move || {
        let prepared = job::prepare(&config, &settings, overrides.from, overrides.to, load, &url)?;
        let outcome = job::single(&config, &settings, &prepared);
        let figure = chart::backtest::equity(&outcome.summary, &outcome.equity)
            .map_err(|e| e.to_string())
            .and_then(|c| {
                chart::png(&Figure::BacktestEquity(c), &Style::PHOTO).map_err(|e| e.to_string())
            });
        Ok::<_, String>((outcome, figure))
    })
    .await;
    let (outcome, png) = match run {
        Ok(Ok(done)) => done,
        Ok(Err(reason)) => {
            send::html(bot, chat, &refused(&reason)).await?;
            return Ok(());
        }
        Err(e) => {
            crate::panics::record("backtest");
            tracing::error!(chat_id = chat.0, error = %e, "a backtest failed");
            send::html(bot, chat, &super::format::apology()).await?;
            return Ok(());
        }
    };
    stored::save(&store, &outcome).await?;
    // Any reader may run one: the store keeps only the configured count
    // and age, so they cannot pile up.
    if let Err(e) = stored::prune(&store, stored::Retention::of(&ctx.config.backtest)).await {
        tracing::warn!(error = %e, "could not delete old stored backtests");
    }
    let id = outcome.summary.id.clone();
    tracing::info!(chat_id = chat.0, id = %id, ?source, "backtest run from Telegram");
    send::html(bot, chat, &summary(&outcome, source)).await?;
    match png {
        Ok(png) => {
            let caption = format!(
                "{}Backtest <code>{}</code>: equity vs {}",
                sim_marker(outcome.summary.data.simulated),
                escape(&id),
                escape(&outcome.summary.benchmark)
            );
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
