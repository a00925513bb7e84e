//! `/backtest [options]`: the backtester with the command line's options,
//! answered by [`crate::bot::backtest`] (one run at a time across chats,
//! bars from memory or the lake, the engine on a blocking thread).

use super::{Answer, Call, Spec};
use crate::bot::error::BotError;

/// `/backtest`.
pub(crate) const SPEC: Spec = Spec::new(
    "backtest",
    " [from YYYY-MM-DD] [to YYYY-MM-DD] [top N] [entry -30] [take-profit 100] ...",
    "Replay the strategy over the history vs the benchmark, with a chart",
    Answer::Act(|call| Box::pin(act(call))),
);

/// The options are read by the backtester's one parser (shared with the
/// command line), inside [`crate::bot::backtest`].
async fn act(call: &Call<'_>) -> Result<(), BotError> {
    let (shared, args) = (call.shared, call.request.args);
    crate::bot::backtest::backtest(call.bot, call.chat, args, &shared.ctx, &shared.backtests).await
}
