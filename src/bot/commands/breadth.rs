//! `/breadth`: market breadth as a photo, one point per stored screen (how
//! many names are down 20% and 30% or more, and the median drawdown).

use super::{Answer, Call, Spec};
use crate::bot::charts::{no_chart, send_figure};
use crate::bot::error::BotError;
use crate::bot::format::sim_marker;
use crate::chart::{Figure, data};
use crate::numbers::{signed_pct, thousands};

/// `/breadth`.
pub(crate) const SPEC: Spec = Spec::new(
    "breadth",
    "",
    "Chart: names down 20% and 30% or more, median drawdown",
    Answer::Act(|call| Box::pin(act(call))),
);

/// The breadth chart over the screens held.
async fn act(call: &Call<'_>) -> Result<(), BotError> {
    let snap = call.request.snap;
    let b = match data::breadth(&snap.history, snap.simulated) {
        Ok(b) => b,
        Err(e) => return call.say(&no_chart(&e)).await,
    };
    let caption = breadth_caption(&b);
    let name = match b.points.last() {
        Some(p) => format!("breadth-{}.png", p.date),
        None => "breadth.png".to_string(),
    };
    send_figure(call.bot, call.chat, Figure::Breadth(b), name, &caption).await?;
    Ok(())
}

/// The caption of `/breadth`.
pub(crate) fn breadth_caption(b: &data::Breadth) -> String {
    let mut out = String::from(sim_marker(b.simulated));
    out.push_str(&format!(
        "<b>Market breadth</b> · {} screens",
        b.points.len()
    ));
    if let Some(last) = b.points.last() {
        out.push_str(&format!(
            "\nScreen {}: {} of {} down 20% or more, {} down 30% or more; median {}",
            last.date,
            thousands(last.down_20 as u64),
            thousands(last.ranked as u64),
            thousands(last.down_30 as u64),
            signed_pct(last.median_pct)
        ));
    }
    out
}
