//! `/orders`: open and today's orders from the broker, joined with the
//! journal (who placed each), with a Cancel button under each open one for
//! an admin.

use super::{Answer, Call, Spec};
use crate::bot::error::BotError;
use crate::bot::trading::{is_admin, replies};

/// `/orders`.
pub(crate) const SPEC: Spec = Spec::new(
    "orders",
    "",
    "Open and today's orders, with Cancel buttons for admins",
    Answer::Act(|call| Box::pin(act(call))),
);

async fn act(call: &Call<'_>) -> Result<(), BotError> {
    let Some(trading) = &call.shared.ctx.trading else {
        return call.say(&replies::trading_off()).await;
    };
    match trading.orders(false).await {
        Ok(lines) => {
            let admin = is_admin(call.shared, call.chat);
            call.reply(&replies::orders_reply(&lines, admin)).await
        }
        Err(r) => call.say(&replies::refusal(&r)).await,
    }
}
