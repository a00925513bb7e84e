//! `/backtest [options]`: the backtester with the command line's options,
//! answered by [`crate::bot::backtest`] (one run at a time across chats,
//! bars from memory or the lake, the engine on a blocking thread).

use futures::future::BoxFuture;

use super::{Answer, Call, Spec};
use crate::bot::error::BotError;

/// `/backtest`.
pub(crate) const SPEC: Spec = Spec {
    name: "backtest",
    aliases: &[],
    usage: " [from YYYY-MM-DD] [to YYYY-MM-DD] [top N] [entry -30] [take-profit 100] ...",
    description: "Replay the strategy over the history vs the benchmark, with a chart",
    listed: true,
    admins_only: None,
    answer: Answer::Act(act),
};

/// The options are read by the backtester's one parser (shared with the
/// command line), inside [`crate::bot::backtest`].
fn act<'a>(call: &'a Call<'a>) -> BoxFuture<'a, Result<(), BotError>> {
    let shared = call.shared;
    Box::pin(crate::bot::backtest::backtest(
        call.bot,
        call.chat,
        call.request.args,
        &shared.ctx,
        &shared.backtests,
    ))
}
