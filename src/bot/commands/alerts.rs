//! `/alerts`: this chat's alert rules, with one delete button each
//! (`unalert:ID`, read back by [`super::unalert`]).

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use super::unalert::DELETE_PREFIX;
use super::{Answer, Call, Reply, Spec};
use crate::alerts::edit::{running, unavailable};
use crate::alerts::{ALERT_USAGE, Rule};
use crate::bot::error::BotError;
use crate::bot::html::escape;

/// `/alerts`.
pub(crate) const SPEC: Spec = Spec::new(
    "alerts",
    "",
    "Your alerts, with delete buttons",
    Answer::Act(|call| Box::pin(act(call))),
);

async fn act(call: &Call<'_>) -> Result<(), BotError> {
    let Some(svc) = running(call.shared.ctx.alerts.as_ref()) else {
        return call.say(&unavailable()).await;
    };
    let (text, keyboard) = list(&svc.rules_of(call.chat.0).await);
    // Split like any reply (a list can outgrow one message); the delete
    // buttons go under the last part.
    call.reply(&Reply { text, keyboard }).await
}

/// A chat's rules, with one delete button each.
pub(crate) fn list(rules: &[Rule]) -> (String, Option<InlineKeyboardMarkup>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::RuleKind;
    use crate::alerts::edit::{MAX_RULES_PER_CHAT, too_many};
    use crate::domain::Symbol;

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
}
