//! `/halt` (admins): the kill switch on. New orders are refused everywhere
//! (the switch is kept in the store, shared with the command line and the
//! dashboard) and open orders placed through dipwatch are asked to cancel.

use super::{Answer, Call, Spec};
use crate::bot::error::BotError;
use crate::bot::trading::{actor, replies};

/// `/halt`.
pub(crate) const SPEC: Spec = Spec {
    admins_only: Some(replies::admins_only),
    ..Spec::new(
        "halt",
        "",
        "Stop trading: cancel open orders, refuse new ones until /resume (admins only)",
        Answer::Act(|call| Box::pin(act(call))),
    )
};

async fn act(call: &Call<'_>) -> Result<(), BotError> {
    let Some(trading) = &call.shared.ctx.trading else {
        return call.say(&replies::trading_off()).await;
    };
    let reply = match trading.halt(&actor(call.shared, call.chat)).await {
        Ok(canceled) => {
            tracing::warn!(
                chat_id = call.chat.0,
                canceled = canceled.len(),
                "trading halted from Telegram"
            );
            replies::halted(&canceled)
        }
        Err(r) => replies::refusal(&r),
    };
    call.say(&reply).await
}
