//! The pieces every reply is built from, as pure functions (HTML for
//! Telegram's HTML parse mode, every dynamic value escaped): the settings
//! replies mention, dates and times, the simulated-data marker, what to say
//! when nothing is published, account and position sums, the profit rule's
//! verdict, a run's outcome, and the replies that belong to no command
//! (refusals, unknown input, apologies). Each command's own reply is in its
//! file under [`super::commands`]; numbers are formatted by
//! [`crate::numbers`].

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::html::{clip, escape};
use crate::config::{PortfolioSettings, Screen};
use crate::domain::{Account, LastOutcome, Position};
use crate::numbers::{grouped_abs, pct, signed_usd, thousands};
use crate::state::{PortfolioState, Snapshot};

/// The settings replies mention.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// `screen.top_n`: `/screen` rows by default.
    pub top_n: usize,
    /// `screen.lookback_days`: the peak window.
    pub lookback_days: usize,
    /// `portfolio.top_positions`: positions the profit rule averages.
    pub top_positions: usize,
    /// `portfolio.profit_target_pct`.
    pub profit_target_pct: Decimal,
}

impl Params {
    /// From the `[screen]` and `[portfolio]` sections.
    pub fn new(screen: &Screen, portfolio: &PortfolioSettings) -> Self {
        Self {
            top_n: screen.top_n,
            lookback_days: screen.params.lookback_days,
            top_positions: portfolio.top_positions,
            profit_target_pct: portfolio.profit_target_pct,
        }
    }
}

/// `2026-11-25 13:00 UTC`.
pub(crate) fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `in 10 h 30 min` / `5 min ago`, to the minute.
pub(crate) fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (t - now).num_seconds();
    let mins = secs.unsigned_abs().div_ceil(60);
    let span = if mins < 60 {
        format!("{mins} min")
    } else {
        format!("{} h {} min", mins / 60, mins % 60)
    };
    if secs >= 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

/// The marker on every reply showing prices when they are simulated
/// (the same words as the CLI's).
pub(crate) fn sim_marker(simulated: bool) -> &'static str {
    if simulated {
        "<i>[SIMULATED PRICES, not market data]</i>\n"
    } else {
        ""
    }
}

/// What to say when no screen has been published yet.
pub(crate) fn no_screen(snap: &Snapshot, now: DateTime<Utc>) -> String {
    let mut out = String::from("No screen has been published yet.");
    if let Some(next) = snap.next_run {
        out.push_str(&format!(
            " The next collection runs {} ({}).",
            when(next),
            relative(next, now)
        ));
    }
    out.push_str(" An admin can start one now with /trigger.");
    out
}

/// What to say when there is no portfolio snapshot.
pub(crate) fn no_portfolio() -> String {
    "No portfolio snapshot yet: one is taken with each collection when an account is configured."
        .into()
}

/// A value the broker may not have sent: formatted, or `n/a`.
pub(crate) fn known(v: Option<Decimal>, format: fn(Decimal) -> String) -> String {
    v.map_or_else(|| "n/a".into(), format)
}

/// Market value, P&L and cost of a set of positions (of those whose value
/// and P&L the broker sent: an unknown is not counted as zero).
pub(crate) fn totals(positions: &[Position]) -> (Decimal, Decimal, Decimal) {
    let (value, pl) = positions
        .iter()
        .filter_map(|p| Some((p.market_value?, p.unrealized_pl?)))
        .fold((Decimal::ZERO, Decimal::ZERO), |(v, l), (mv, pl)| {
            (v + mv, l + pl)
        });
    (value, pl, value - pl)
}

/// `P&L` over cost, when there is a cost.
pub(crate) fn pl_pct(pl: Decimal, cost: Decimal) -> Option<Decimal> {
    (!cost.is_zero()).then(|| pl / cost.abs() * Decimal::ONE_HUNDRED)
}

/// The day's change of an account, as `+$1,234.00 (+1.19%)`.
pub(crate) fn day_change(a: &Account) -> String {
    let (Some(equity), Some(last)) = (a.equity, a.last_equity) else {
        return "n/a".into();
    };
    let change = equity - last;
    match pl_pct(change, last) {
        Some(p) => format!("{} ({})", signed_usd(change), pct(p)),
        None => signed_usd(change),
    }
}

/// The profit rule's verdict in one or two lines.
pub(crate) fn profit_verdict(p: &PortfolioState, short: bool) -> String {
    let c = &p.profit;
    let Some(avg) = c.average_return_pct else {
        return if p.positions.is_empty() {
            "No positions held: nothing to take profit on.".into()
        } else {
            // Options or crypto only (or no return sent): the rule counts
            // only the classes in portfolio.asset_classes.
            "No position the rule counts (portfolio.asset_classes, with a known return): nothing to take profit on."
                .into()
        };
    };
    let who = if short {
        format!("top {}", c.top_n)
    } else {
        format!("the best {}", c.top_n)
    };
    let mut out = if c.take_profit {
        format!(
            "✅ <b>TAKE PROFIT</b>: {who} average <b>{}</b>, at or above the {} target.",
            pct(avg),
            pct(c.target_pct)
        )
    } else {
        let mut line = format!(
            "{who} average <b>{}</b> vs the {} target: {} points to go.",
            pct(avg),
            pct(c.target_pct),
            grouped_abs(c.target_pct - avg, 2)
        );
        // Capitalise the sentence start ("top" / "the" are ASCII).
        line[..1].make_ascii_uppercase();
        line
    };
    if c.considered.len() < c.top_n {
        out.push_str(&format!(
            "\n<i>Only {} position{} held: the average is over {}.</i>",
            c.considered.len(),
            if c.considered.len() == 1 { "" } else { "s" },
            if c.considered.len() == 1 {
                "that one"
            } else {
                "those"
            }
        ));
    }
    out
}

/// One line for how a run ended.
pub(crate) fn outcome_line(o: &LastOutcome) -> String {
    match o {
        LastOutcome::Published {
            date,
            ranked,
            skipped,
            failed,
        } => format!(
            "published {date}: {} ranked, {} skipped, {} failed",
            thousands(*ranked as u64),
            thousands(*skipped as u64),
            thousands(*failed as u64)
        ),
        LastOutcome::NotAvailable { reason } => {
            format!("no new data yet ({})", escape(&clip(reason, 200)))
        }
        LastOutcome::Failed { reason } => format!("failed: {}", escape(&clip(reason, 300))),
        LastOutcome::Interrupted => "interrupted by shutdown; nothing partial published".into(),
    }
}

/// The one reply a refused chat gets: no data, just its id.
pub fn refusal(chat_id: i64) -> String {
    format!(
        "This is a private dipwatch bot. Your chat id is <code>{chat_id}</code>: \
         its owner can add it to telegram.allowed_chat_ids."
    )
}

/// An unknown command.
pub fn unknown_command() -> String {
    "I don't know that command. Send /help for the list.".into()
}

/// Plain text (or a photo, a sticker...).
pub fn plain_text() -> String {
    "I only answer commands. Send /help for the list.".into()
}

/// Told once to a chat whose messages came faster than it can be answered
/// (Telegram lets a bot send about one message a second to a chat), after
/// the ones kept were answered.
pub fn too_fast(skipped: usize) -> String {
    let noun = if skipped == 1 { "message" } else { "messages" };
    format!(
        "Skipped {} {noun}: they came faster than I can answer (about one reply a second). \
         Send them again once I have answered.",
        crate::numbers::thousands(skipped as u64)
    )
}

/// A handler failed: a short apology, never the error itself.
pub fn apology() -> String {
    "Sorry, something went wrong while answering. It has been logged; please try again in a moment."
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_gives_the_chat_id_and_where_to_add_it() {
        assert_eq!(
            refusal(-100_123),
            "This is a private dipwatch bot. Your chat id is <code>-100123</code>: its owner can add \
             it to telegram.allowed_chat_ids."
        );
    }
}
