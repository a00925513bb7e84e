//! A chat's rule edits as every front end makes them (the bot's `/alert`
//! and `/unalert`, the dashboard's `/alerts` forms): the same parser, the
//! same per-chat cap, the same warnings, so the two cannot drift apart.
//! Each front end only turns the outcome into its own text.

use super::{AlertService, RuleKind, UsageError, parse_alert};
use crate::domain::Symbol;
use crate::journal::{EventKind, Journal, JournalEvent};
use crate::trading::Source;

/// Who edits and where it is recorded: the front end's source (the chat
/// from the bot, `web:<id>` from the dashboard; a rule belongs to that
/// Telegram chat either way) and the journal each change is appended to.
#[derive(Debug, Clone, Copy)]
pub struct Editor<'a> {
    /// Who, as the journal's `source` says it.
    pub source: Source,
    /// The audit journal.
    pub journal: &'a Journal,
}

impl Editor<'_> {
    /// The chat whose rules these are.
    fn chat(&self) -> i64 {
        match self.source {
            Source::Chat(id) | Source::Web(id) => id,
            // The command line edits no alerts; no chat owns rule 0.
            Source::Cli => 0,
        }
    }

    /// Journal a change (best effort: see [`Journal::audit`]).
    async fn record(&self, kind: EventKind, id: u64, rule: &RuleKind) {
        let event = JournalEvent::command(kind, self.source).status("ok");
        self.journal
            .audit(event.reason(format!("#{id} {rule}")))
            .await;
    }
}

/// Rules one chat may have: the bot's `/alerts` list (a line and a delete
/// button each) then always fits one message and one keyboard.
pub const MAX_RULES_PER_CHAT: usize = 50;

/// What asking to add a rule gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Added {
    /// Saved as rule `id`, with [`warnings`] about it.
    Added {
        /// The new rule's id.
        id: u64,
        /// What it watches.
        kind: RuleKind,
        /// Why it may never fire with this universe.
        warnings: Vec<String>,
    },
    /// The text is not a rule: the usage line names what was wrong.
    Invalid(UsageError),
    /// The chat has [`MAX_RULES_PER_CHAT`] rules already.
    TooMany,
    /// Alerts are not running, or the rule could not be saved (logged).
    Unavailable,
}

/// The service, when alerts are running: `None` without one, or while its
/// book cannot be read (an empty book must not pass for "no alerts").
pub fn running(alerts: Option<&AlertService>) -> Option<&AlertService> {
    alerts.filter(|svc| svc.problem().is_none())
}

/// Add the rule `args` describes (`/alert`'s arguments) for the editor's
/// chat, journalled; `universe` is `market.universe`, for [`warnings`].
pub async fn add(
    alerts: Option<&AlertService>,
    by: Editor<'_>,
    args: &str,
    universe: &[Symbol],
) -> Added {
    let Some(svc) = running(alerts) else {
        return Added::Unavailable;
    };
    let kind = match parse_alert(args) {
        Ok(kind) => kind,
        Err(e) => return Added::Invalid(e),
    };
    if svc.rules_of(by.chat()).await.len() >= MAX_RULES_PER_CHAT {
        return Added::TooMany;
    }
    match svc.add(by.chat(), kind.clone()).await {
        Ok(id) => {
            by.record(EventKind::AlertAdd, id, &kind).await;
            Added::Added {
                warnings: warnings(&kind, universe),
                id,
                kind,
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "could not save an alert rule");
            Added::Unavailable
        }
    }
}

/// The line that confirms a new rule, in every front end.
pub fn added_line(id: u64, kind: &RuleKind) -> String {
    format!("Alert #{id} set: {kind}.")
}

/// Delete the editor's rule `id` (journalled with its text): `Some(found)`,
/// or `None` when alerts are not running or the book could not be saved
/// (logged).
pub async fn remove(alerts: Option<&AlertService>, by: Editor<'_>, id: u64) -> Option<bool> {
    let svc = running(alerts)?;
    let rules = svc.rules_of(by.chat()).await;
    let rule = rules.iter().find(|r| r.id == id).map(|r| r.kind.clone());
    match svc.remove(by.chat(), id).await {
        Ok(found) => {
            if let (true, Some(rule)) = (found, &rule) {
                by.record(EventKind::AlertDelete, id, rule).await;
            }
            Some(found)
        }
        Err(e) => {
            tracing::error!(error = %e, "could not delete an alert rule");
            None
        }
    }
}

/// Why a rule that parsed may never fire with this universe: a ticker
/// that is not in it (accepted: the universe file may be about to change)
/// or a market count above its size.
pub fn warnings(rule: &RuleKind, universe: &[Symbol]) -> Vec<String> {
    match rule {
        RuleKind::SymbolBelow { symbol, .. } if !universe.contains(symbol) => vec![format!(
            "{symbol} is not in the universe (market.universe), so it is never screened; \
             this alert fires only once it is added"
        )],
        RuleKind::Breadth { count, .. } if *count > universe.len() => vec![format!(
            "the universe has {} symbols, fewer than {count}: this alert cannot fire",
            universe.len()
        )],
        _ => Vec::new(),
    }
}

/// Reply to `/alert` from a chat that has the most rules it may have.
pub fn too_many() -> String {
    format!(
        "You have {MAX_RULES_PER_CHAT} alerts, the most a chat can have. /alerts to delete some."
    )
}

/// Reply to a deletion.
pub fn removed(id: u64, found: bool) -> String {
    if found {
        format!("Alert #{id} deleted.")
    } else {
        format!("You have no alert #{id}. /alerts lists yours.")
    }
}

/// Reply when alerts are not running (no store document, or unreadable).
pub fn unavailable() -> String {
    "Alerts are not available right now; the daemon log says why.".to_string()
}
