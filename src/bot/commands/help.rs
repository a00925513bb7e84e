//! `/start` and `/help`: what the bot does, every command (from the
//! table, [`super::help_lines`]), the strategy, and when the data was last
//! updated.

use super::{Answer, Spec};
use crate::bot::format::{Params, no_screen, relative, when};
use crate::numbers::pct;
use crate::state::Snapshot;
use chrono::{DateTime, Utc};

/// `/help`.
pub(crate) const SPEC: Spec = Spec::new(
    "help",
    "",
    "What the bot does and every command",
    Answer::Snapshot(|r| help(r.snap, r.params, r.now).into()),
);

/// `/start`, what Telegram sends when a chat opens the bot: the help,
/// under its own name in metrics, left out of the list.
pub(crate) const START: Spec = Spec {
    name: "start",
    listed: false,
    ..SPEC
};

/// `/start` and `/help`: what the bot does, every command, the strategy,
/// and when the data was last updated.
pub(crate) fn help(snap: &Snapshot, params: &Params, now: DateTime<Utc>) -> String {
    let mut out = String::from(
        "<b>dipwatch</b> ranks a universe of stocks by how far each has fallen from its recent \
         peak, and watches your portfolio for the profit target.\n",
    );
    out.push_str(&format!(
        "<b>Strategy</b>: buy the stocks furthest below their {}-session peak; take profit when \
         your best {} positions average {} or more.\n\n",
        params.lookback_days,
        params.top_positions,
        pct(params.profit_target_pct)
    ));
    out.push_str(&super::help_lines());
    out.push('\n');
    match (&snap.screen, snap.loaded_at) {
        (Some(s), Some(loaded)) => out.push_str(&format!(
            "<i>Data last updated: screen of {}, read {} ({}).</i>",
            s.date,
            when(loaded),
            relative(loaded, now)
        )),
        (Some(s), None) => {
            out.push_str(&format!("<i>Data last updated: screen of {}.</i>", s.date))
        }
        (None, _) => out.push_str(&format!("<i>{}</i>", no_screen(snap, now))),
    }
    if snap.simulated {
        out.push_str("\n<i>Prices are simulated (market.provider = sim).</i>");
    }
    out
}
