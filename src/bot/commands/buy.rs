//! `/buy TICKER AMOUNT` (admins): the order's preview, with Confirm and
//! Cancel buttons ([`crate::bot::trading`]).

use super::{Answer, Call, Spec};
use crate::bot::error::BotError;
use crate::bot::html::escape;
use crate::bot::trading::{open_preview, parse_ask, replies};
use crate::domain::OrderSide;

/// `/buy`.
pub(crate) const SPEC: Spec = Spec {
    admins_only: Some(replies::admins_only),
    ..Spec::new(
        "buy",
        " TICKER 500|$500|2%|size",
        "Preview a buy; Confirm places it (admins only)",
        Answer::Act(|call| Box::pin(act(call))),
    )
};

async fn act(call: &Call<'_>) -> Result<(), BotError> {
    if call.shared.ctx.trading.is_none() {
        return call.say(&replies::trading_off()).await;
    }
    match parse_ask(call.request.args, OrderSide::Buy) {
        Ok(ask) => open_preview(call.bot, call.chat, call.shared, &ask).await,
        Err(problem) => call.say(&usage(&problem)).await,
    }
}

/// `/buy` with arguments it cannot use: what is wrong, then the usage.
pub(crate) fn usage(problem: &str) -> String {
    format!(
        "{}.\nUsage: <code>/buy TICKER AMOUNT</code>, AMOUNT in dollars (<code>500</code> or \
         <code>$500</code>), a percentage of equity (<code>2%</code>) or <code>size</code> \
         (the risk view's suggested size).",
        escape(problem)
    )
}
