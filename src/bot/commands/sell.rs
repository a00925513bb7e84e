//! `/sell TICKER [all|QTY|PCT%]` (admins): the order's preview, with
//! Confirm and Cancel buttons ([`crate::bot::trading`]); long only, so at
//! most what is held.

use super::{Answer, Call, Spec};
use crate::bot::error::BotError;
use crate::bot::html::escape;
use crate::bot::trading::{open_preview, parse_ask, replies};
use crate::domain::OrderSide;

/// `/sell`.
pub(crate) const SPEC: Spec = Spec {
    admins_only: Some(replies::admins_only),
    ..Spec::new(
        "sell",
        " TICKER [all|QTY|PCT%]",
        "Preview a sell of a position; Confirm places it (admins only)",
        Answer::Act(|call| Box::pin(act(call))),
    )
};

async fn act(call: &Call<'_>) -> Result<(), BotError> {
    if call.shared.ctx.trading.is_none() {
        return call.say(&replies::trading_off()).await;
    }
    match parse_ask(call.request.args, OrderSide::Sell) {
        Ok(ask) => open_preview(call.bot, call.chat, call.shared, &ask).await,
        Err(problem) => call.say(&usage(&problem)).await,
    }
}

/// `/sell` with arguments it cannot use: what is wrong, then the usage.
pub(crate) fn usage(problem: &str) -> String {
    format!(
        "{}.\nUsage: <code>/sell TICKER [all|QTY|PCT%]</code>: <code>all</code> of the position \
         (the default), whole shares (<code>10</code>) or a percentage of it (<code>50%</code>).",
        escape(problem)
    )
}
