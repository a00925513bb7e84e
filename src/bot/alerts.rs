//! Alerts in the bot: `/alert`, `/alerts` (with inline delete buttons),
//! `/unalert`, the sender the alert runtime delivers through (the bot's own
//! rate-limited one, so alerts and replies share Telegram's limits), and how an
//! alert message reads. Reply text comes from the pure functions here.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};
use teloxide::{ApiError, RequestError};

use super::format::{dashboard, sim_marker};
use super::html::escape;
use super::send::{self, TgBot};
use crate::alerts::edit::{self, Added, running};
use crate::alerts::{
    ALERT_USAGE, AlertSender, AlertService, Notification, Render, Rule, RuleKind, SendError,
};
use crate::domain::Symbol;
use crate::state::Snapshot;

/// Callback data of a delete button: `unalert:ID`.
pub const DELETE_PREFIX: &str = "unalert:";

pub use crate::alerts::edit::{MAX_RULES_PER_CHAT, removed, too_many, unavailable, warnings};

/// The bot as the alert runtime's sender.
pub struct BotSender(pub TgBot);

#[async_trait]
impl AlertSender for BotSender {
    async fn send_html(&self, chat: i64, html: &str) -> Result<(), SendError> {
        send::html(&self.0, ChatId(chat), html)
            .await
            .map(|_| ())
            .map_err(classify)
    }
}

/// What delivery should do about a send error.
fn classify(e: RequestError) -> SendError {
    match e {
        RequestError::RetryAfter(s) => SendError::RetryAfter(s.duration()),
        RequestError::Api(
            ApiError::BotBlocked
            | ApiError::ChatNotFound
            | ApiError::UserDeactivated
            | ApiError::BotKicked
            | ApiError::BotKickedFromSupergroup
            | ApiError::BotKickedFromChannel
            | ApiError::CantInitiateConversation
            | ApiError::CantTalkWithBots,
        ) => SendError::Blocked,
        // Telegram answered, and it is not a server trouble: this message
        // itself is refused (bad markup, too long, ...).
        RequestError::Api(ApiError::Unknown(text)) if !text.starts_with("Bad Request") => {
            SendError::Failed(text)
        }
        RequestError::Api(ApiError::InvalidToken) => {
            SendError::Failed(ApiError::InvalidToken.to_string())
        }
        RequestError::Api(e) => SendError::Rejected(e.to_string()),
        other => SendError::Failed(other.to_string()),
    }
}

/// How alert messages read: fired rules as a list, digests as the
/// dashboard.
pub fn render() -> Render {
    Arc::new(|note: &Notification, snap: &Snapshot| {
        if note.digest {
            format!("<b>Daily digest</b>\n{}", dashboard(snap, Utc::now()))
        } else {
            alert_message(note, snap.simulated)
        }
    })
}

/// One chat's alerts of one run.
pub fn alert_message(note: &Notification, simulated: bool) -> String {
    let mut out = String::from(sim_marker(simulated));
    out.push_str(&format!("<b>Alerts, {}</b>\n", note.date));
    for f in &note.fired {
        out.push_str(&format!("• {} <i>(#{})</i>\n", escape(&f.text), f.rule_id));
    }
    out.push_str("\n/alerts to manage them");
    out
}

/// Reply to a new rule, with any [`warnings`] about it.
pub fn added(id: u64, rule: &RuleKind, warnings: &[String]) -> String {
    let mut out = format!(
        "{} /alerts lists yours.",
        escape(&edit::added_line(id, rule))
    );
    for w in warnings {
        out.push_str(&format!("\n<i>Note: {}</i>", escape(w)));
    }
    out
}

/// Reply to bad `/alert` arguments: the usage line naming what was wrong.
pub fn usage(problem: &str) -> String {
    let _ = ALERT_USAGE;
    format!("<code>{}</code>", escape(problem))
}

/// A chat's rules, with one delete button each.
pub fn list(rules: &[Rule]) -> (String, Option<InlineKeyboardMarkup>) {
    if rules.is_empty() {
        return (
            format!("No alerts yet.\n<code>{}</code>", escape(ALERT_USAGE)),
            None,
        );
    }
    let mut text = String::from("<b>Your alerts</b>\n");
    let mut rows = Vec::new();
    for r in rules {
        let paused = if r.paused { " <i>(paused)</i>" } else { "" };
        text.push_str(&format!(
            "#{} {}{paused}\n",
            r.id,
            escape(&r.kind.to_string())
        ));
        rows.push(vec![InlineKeyboardButton::callback(
            format!("Delete #{}", r.id),
            format!("{DELETE_PREFIX}{}", r.id),
        )]);
    }
    text.push_str("\nTap to delete, or /unalert ID.");
    (text, Some(InlineKeyboardMarkup::new(rows)))
}

/// `/alert ARGS`; `universe` is `market.universe`, for [`warnings`].
pub async fn alert(
    bot: &TgBot,
    chat: ChatId,
    args: &str,
    alerts: Option<&AlertService>,
    universe: &[Symbol],
) -> Result<(), RequestError> {
    let reply = match edit::add(alerts, chat.0, args, universe).await {
        Added::Added { id, kind, warnings } => added(id, &kind, &warnings),
        Added::Invalid(e) => usage(&e.0),
        Added::TooMany => too_many(),
        Added::Unavailable => unavailable(),
    };
    send::html(bot, chat, &reply).await.map(|_| ())
}

/// `/alerts`.
pub async fn alerts(
    bot: &TgBot,
    chat: ChatId,
    alerts: Option<&AlertService>,
) -> Result<(), RequestError> {
    let Some(svc) = running(alerts) else {
        return send::html(bot, chat, &unavailable()).await.map(|_| ());
    };
    let (text, keyboard) = list(&svc.rules_of(chat.0).await);
    // Split like any reply (a list can outgrow one message); the delete
    // buttons go under the last part.
    send::html_with_keyboard(bot, chat, &text, keyboard)
        .await
        .map(|_| ())
}

/// `/unalert ID` (or a delete button).
pub async fn unalert(
    bot: &TgBot,
    chat: ChatId,
    arg: &str,
    alerts: Option<&AlertService>,
) -> Result<(), RequestError> {
    if running(alerts).is_none() {
        return send::html(bot, chat, &unavailable()).await.map(|_| ());
    }
    let reply = match arg.trim().trim_start_matches('#').parse::<u64>() {
        Err(_) => usage(&format!(
            "{} is not an alert id\nusage: /unalert ID (see /alerts)",
            crate::echo::quoted(arg.trim())
        )),
        Ok(id) => match edit::remove(alerts, chat.0, id).await {
            Some(found) => removed(id, found),
            None => unavailable(),
        },
    };
    send::html(bot, chat, &reply).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{Fired, parse_alert};

    #[test]
    fn alert_messages_escape_and_mark_simulated_prices() {
        let note = Notification {
            chat: 1,
            date: "2026-11-24".parse().unwrap(),
            fired: vec![Fired {
                rule_id: 7,
                text: "BF.B fell below -30%: <now> & then".into(),
            }],
            digest: false,
        };
        let html = alert_message(&note, true);
        assert_eq!(
            html,
            "<i>[SIMULATED PRICES, not market data]</i>\n<b>Alerts, 2026-11-24</b>\n\
             • BF.B fell below -30%: &lt;now&gt; &amp; then <i>(#7)</i>\n\n/alerts to manage them"
        );
    }

    #[test]
    fn the_list_has_one_delete_button_per_rule() {
        let rules = vec![
            Rule {
                id: 3,
                chat: 1,
                kind: RuleKind::SymbolBelow {
                    symbol: Symbol::parse("AAPL").unwrap(),
                    level: -30.0,
                },
                paused: false,
            },
            Rule {
                id: 4,
                chat: 1,
                kind: RuleKind::Profit,
                paused: true,
            },
        ];
        let (text, keyboard) = list(&rules);
        assert_eq!(
            text,
            "<b>Your alerts</b>\n#3 AAPL below -30%\n#4 profit-taking signal <i>(paused)</i>\n\nTap to delete, or /unalert ID."
        );
        let k = keyboard.unwrap();
        assert_eq!(k.inline_keyboard.len(), 2);
        let (empty, none) = list(&[]);
        assert!(empty.starts_with("No alerts yet.") && none.is_none());
    }

    /// What delivery does about each answer, from the descriptions Telegram
    /// actually sends (parsed by teloxide as it parses a real response).
    #[test]
    fn send_errors_are_classified_for_delivery() {
        let api = |description: &str| {
            let e: ApiError = serde_json::from_value(serde_json::json!(description)).unwrap();
            classify(RequestError::Api(e))
        };
        assert_eq!(
            api("Forbidden: bot was blocked by the user"),
            SendError::Blocked
        );
        assert_eq!(api("Bad Request: chat not found"), SendError::Blocked);
        assert_eq!(api("Forbidden: user is deactivated"), SendError::Blocked);
        assert!(matches!(
            api("Bad Request: can't parse entities: unexpected end tag at byte offset 3"),
            SendError::Rejected(_)
        ));
        assert!(matches!(
            api("Bad Request: something new"),
            SendError::Rejected(_)
        ));
        // Server trouble and a bad token are waited out, never dropped.
        assert!(matches!(api("Internal Server Error"), SendError::Failed(_)));
        assert!(matches!(api("Unauthorized"), SendError::Failed(_)));
        assert!(matches!(
            classify(RequestError::RetryAfter(teloxide::types::Seconds::from_seconds(7))),
            SendError::RetryAfter(d) if d == std::time::Duration::from_secs(7)
        ));
    }

    #[test]
    fn the_longest_list_fits_one_message() {
        let rules: Vec<Rule> = (0..MAX_RULES_PER_CHAT as u64)
            .map(|i| Rule {
                id: 1_000_000 + i,
                chat: 1,
                kind: RuleKind::Breadth {
                    level: -33.33,
                    count: 1000,
                },
                paused: true,
            })
            .collect();
        let (text, keyboard) = list(&rules);
        assert!(crate::bot::html::well_formed(&text), "{} units", text.len());
        assert_eq!(keyboard.unwrap().inline_keyboard.len(), MAX_RULES_PER_CHAT);
        assert!(too_many().contains("50 alerts"));
    }

    #[test]
    fn replies() {
        assert_eq!(
            added(5, &RuleKind::Top { n: 10 }, &[]),
            "Alert #5 set: top 10 changes. /alerts lists yours."
        );
        let universe = [Symbol::parse("AAPL").unwrap()];
        let outside = parse_alert("ZZZ below -30").unwrap();
        let w = warnings(&outside, &universe);
        assert!(w[0].contains("ZZZ is not in the universe"), "{w:?}");
        assert!(added(6, &outside, &w).contains("\n<i>Note: ZZZ is not in the universe"));
        assert!(warnings(&parse_alert("AAPL below -30").unwrap(), &universe).is_empty());
        let breadth = parse_alert("market below -20 count 2").unwrap();
        assert!(warnings(&breadth, &universe)[0].contains("cannot fire"));
        assert_eq!(removed(5, true), "Alert #5 deleted.");
        assert!(removed(6, false).contains("no alert #6"));
        assert_eq!(usage("a <b> & c"), "<code>a &lt;b&gt; &amp; c</code>");
    }
}
