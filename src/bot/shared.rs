//! What every endpoint of the bot shares: the context, the settings replies
//! mention, the allow-lists and the gates. Below both the dispatcher
//! (`handlers`) and the commands, which each read it.

use tokio_util::sync::CancellationToken;

use super::BotContext;
use super::account::AccountCache;
use super::format::Params;
use crate::access::{Access, RefusalGate};

/// What every endpoint shares.
pub(crate) struct Shared {
    /// Config, runner (state, store, trigger), broker, metrics.
    pub ctx: BotContext,
    /// Settings replies mention.
    pub params: Params,
    /// The allow-lists.
    pub access: Access,
    /// One refusal per chat per window.
    pub refusals: RefusalGate,
    /// The cached live account.
    pub account: AccountCache,
    /// The daemon's shutdown, for tasks that outlive an update.
    pub shutdown: CancellationToken,
    /// The `/download`s built and sent at once.
    pub downloads: super::download::Slots,
    /// One `/backtest` at a time, across chats.
    pub backtests: super::backtest::Gate,
}
