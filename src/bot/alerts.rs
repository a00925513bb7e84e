//! Alerts through the bot: the sender the alert runtime delivers through
//! (the bot's own rate-limited one, so alerts and replies share Telegram's
//! limits) and how an alert message reads. The commands that edit alerts
//! are [`super::commands`]' `alert`, `alerts` and `unalert`.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use teloxide::prelude::*;
use teloxide::{ApiError, RequestError};

use super::commands::dashboard;
use super::format::sim_marker;
use super::html::escape;
use super::send::{self, TgBot};
use crate::alerts::{AlertSender, Notification, Render, SendError};
use crate::state::Snapshot;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::Fired;

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
}
