//! `/resume` (admins): the kill switch off; orders may be previewed and
//! confirmed again.

use super::{Answer, Call, Spec};
use crate::bot::error::BotError;
use crate::bot::trading::{actor, replies};

/// `/resume`.
pub(crate) const SPEC: Spec = Spec {
    admins_only: Some(replies::admins_only),
    ..Spec::new(
        "resume",
        "",
        "Allow trading again after /halt (admins only)",
        Answer::Act(|call| Box::pin(act(call))),
    )
};

async fn act(call: &Call<'_>) -> Result<(), BotError> {
    let Some(trading) = &call.shared.ctx.trading else {
        return call.say(&replies::trading_off()).await;
    };
    let reply = match trading.resume(&actor(call.shared, call.chat)).await {
        Ok(()) => {
            tracing::warn!(chat_id = call.chat.0, "trading resumed from Telegram");
            replies::resumed()
        }
        Err(r) => replies::refusal(&r),
    };
    call.say(&reply).await
}
