//! `/unalert ID`, and the delete buttons under `/alerts`: delete one of
//! this chat's alert rules.

use teloxide::types::ChatId;

use super::alert::usage;
use super::{Answer, Call, Spec};
use crate::alerts::edit::{self, removed, running, unavailable};
use crate::bot::BotContext;
use crate::bot::error::BotError;
use crate::bot::send::{self, TgBot};

/// `/unalert`.
pub(crate) const SPEC: Spec = Spec::new(
    "unalert",
    " ID",
    "Delete an alert by id",
    Answer::Act(|call| Box::pin(act(call))),
);

/// Callback data of a delete button: `unalert:ID`.
pub(crate) const DELETE_PREFIX: &str = "unalert:";

async fn act(call: &Call<'_>) -> Result<(), BotError> {
    unalert(call.bot, call.chat, call.request.args, &call.shared.ctx).await
}

/// `/unalert ID` (or a delete button).
pub(crate) async fn unalert(
    bot: &TgBot,
    chat: ChatId,
    arg: &str,
    ctx: &BotContext,
) -> Result<(), BotError> {
    let alerts = ctx.alerts.as_ref();
    if running(alerts).is_none() {
        send::html(bot, chat, &unavailable()).await?;
        return Ok(());
    }
    let reply = match arg.trim().trim_start_matches('#').parse::<u64>() {
        Err(_) => usage(&format!(
            "{} is not an alert id\nusage: /unalert ID (see /alerts)",
            crate::echo::quoted(arg.trim())
        )),
        Ok(id) => match edit::remove(alerts, editor(ctx, chat), id).await {
            Some(found) => removed(id, found),
            None => unavailable(),
        },
    };
    send::html(bot, chat, &reply).await?;
    Ok(())
}

/// A deletion from this chat, journalled.
fn editor(ctx: &BotContext, chat: ChatId) -> edit::Editor<'_> {
    edit::Editor {
        source: crate::trading::Source::Chat(chat.0),
        journal: &ctx.journal,
    }
}
