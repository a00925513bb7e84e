//! `/alert ARGS`: set an alert rule for this chat (the grammar is
//! [`crate::alert_rules`]; adding goes through [`crate::alerts::edit`], as
//! the dashboard's does), with warnings about rules that cannot fire.

use super::{Answer, Call, Spec};
use crate::alerts::RuleKind;
use crate::alerts::edit::{self, Added, too_many, unavailable};
use crate::bot::error::BotError;
use crate::bot::html::escape;
use crate::trading::Source;

/// `/alert`.
pub(crate) const SPEC: Spec = Spec::new(
    "alert",
    " TICKER below -30 | top N | market below -20 count 50 | profit | risk weight|hhi|cluster LEVEL | digest 07:30",
    "Set an alert pushed after each run",
    Answer::Act(|call| Box::pin(act(call))),
);

/// Add the rule; `market.universe` is read for the warnings.
async fn act(call: &Call<'_>) -> Result<(), BotError> {
    let ctx = &call.shared.ctx;
    let added = edit::add(
        ctx.alerts.as_ref(),
        edit::Editor {
            source: Source::Chat(call.chat.0),
            journal: &ctx.journal,
        },
        call.request.args,
        &ctx.config.universe,
    )
    .await;
    let reply = match added {
        Added::Added { id, kind, warnings } => added_reply(id, &kind, &warnings),
        Added::Invalid(e) => usage(&e.0),
        Added::TooMany => too_many(),
        Added::Unavailable => unavailable(),
    };
    call.say(&reply).await
}

/// Reply to a new rule, with any [`warnings`] about it.
pub(crate) fn added_reply(id: u64, rule: &RuleKind, warnings: &[String]) -> String {
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
pub(crate) fn usage(problem: &str) -> String {
    format!("<code>{}</code>", escape(problem))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::edit::{removed, warnings};
    use crate::alerts::parse_alert;
    use crate::domain::Symbol;

    #[test]
    fn replies() {
        assert_eq!(
            added_reply(5, &RuleKind::Top { n: 10 }, &[]),
            "Alert #5 set: top 10 changes. /alerts lists yours."
        );
        let universe = [Symbol::parse("AAPL").unwrap()];
        let outside = parse_alert("ZZZ below -30").unwrap();
        let w = warnings(&outside, &universe);
        assert!(w[0].contains("ZZZ is not in the universe"), "{w:?}");
        assert!(added_reply(6, &outside, &w).contains("\n<i>Note: ZZZ is not in the universe"));
        assert!(warnings(&parse_alert("AAPL below -30").unwrap(), &universe).is_empty());
        let breadth = parse_alert("market below -20 count 2").unwrap();
        assert!(warnings(&breadth, &universe)[0].contains("cannot fire"));
        assert_eq!(removed(5, true), "Alert #5 deleted.");
        assert!(removed(6, false).contains("no alert #6"));
        assert_eq!(usage("a <b> & c"), "<code>a &lt;b&gt; &amp; c</code>");
    }
}
