//! Acting on a signal: orders with safeguards, confirmed by a person,
//! journalled in the lake.
//!
//! Safety is the feature. Nothing is sent that a person did not confirm:
//! a [`Preview`] (what would be sent, PAPER or LIVE, every guard and its
//! headroom) carries a one-time confirmation token; [`Trading::confirm`]
//! accepts it once, within `trading.confirm_ttl_secs`, from the source it
//! was shown to, for an admin, re-checks every guard against the account
//! as the broker says it is then, and sends the order under a
//! [`crate::domain::ClientOrderId`] made from the token, so a double tap,
//! a retry or a restart can never place it twice. Every step is appended
//! to the [`crate::journal`].
//!
//! - [`amount`]: what the user typed (`500`, `$500`, `2%`, `size`, `all`,
//!   a quantity) as an [`Amount`];
//! - [`actor`]: who asks ([`Actor`]: the CLI, a chat, a dashboard user)
//!   and their role;
//! - [`preview`]: the pure sizing and guard checks ([`Preview`],
//!   [`GuardCheck`]);
//! - [`refusal`]: every reason an order is not sent, in plain words;
//! - [`service`]: [`Trading`], the runtime's handle (preview, confirm,
//!   cancel, list, halt/resume, the status follower);
//! - [`follow`]: [`OrderUpdate`], a followed order's status changes;
//! - [`build`]: the service from the configuration ([`build()`]).
//!
//! The steps, one file each: `ask` (preview, discard), `confirm`, `book`
//! (list, cancel), [`halt`] (the kill switch), `follower` (status changes
//! and recovery), `pending` (tokens), `record` (journal rows); pure below
//! them: `gather`'s checks, `compose`, `sizing`, `guards`.

pub mod actor;
pub mod amount;
mod ask;
mod book;
pub mod build;
mod compose;
mod confirm;
pub mod follow;
mod followed;
mod follower;
mod gather;
mod guards;
pub mod halt;
mod pending;
pub mod preview;
mod record;
pub mod refusal;
pub mod service;
mod sizing;
#[cfg(test)]
mod tests;

pub use actor::{Actor, Source};
pub use amount::Amount;
pub use build::{build, with_client, with_trader};
pub use follow::OrderUpdate;
pub use preview::{Ask, GuardCheck, Preview};
pub use refusal::Refusal;
pub use service::{FOLLOW_EVERY, Halt, LOOKUP_PAUSE, OrderLine, Placed, Trading, TradingParts};
