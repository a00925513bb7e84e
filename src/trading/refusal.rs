//! Every reason an order, a cancellation or a halt is not carried out, in
//! words the person who asked can act on.

use chrono::{DateTime, Utc};

use super::preview::GuardCheck;
use crate::market::TradeError;

/// Why it was not done. Nothing was sent to the broker unless the
/// variant says so ([`Refusal::Broker`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// `trading.enabled` is off.
    #[error("trading is off (trading.enabled = false)")]
    Disabled,
    /// Only admins may trade.
    #[error("only admins may trade")]
    NotAdmin,
    /// The kill switch is on.
    #[error(
        "trading is halted since {since} by {by}: /resume (or `dipwatch trading resume`) first"
    )]
    Halted {
        /// When it was halted.
        since: DateTime<Utc>,
        /// By whom (a journal source).
        by: String,
    },
    /// The lake's latest data are simulated: no order is priced from them.
    #[error("the latest data in the store are simulated: no order is placed on simulated prices")]
    Simulated,
    /// The market is closed and `trading.queue_for_open` is off.
    #[error(
        "the market is closed (opens {next_open}); set trading.queue_for_open to place day orders for the open"
    )]
    MarketClosed {
        /// The next opening bell.
        next_open: DateTime<Utc>,
    },
    /// An input is older than its bound.
    #[error("{what} is too old ({age}); {hint}")]
    Stale {
        /// What (`the last trade of AAPL`, `the positions snapshot`).
        what: String,
        /// Its age, in words.
        age: String,
        /// What to do.
        hint: String,
    },
    /// One or more guards would be broken.
    #[error("{}", guard_words(.0))]
    Guards(Vec<GuardCheck>),
    /// The amount does not make an order (zero shares, bad text, ...).
    #[error("{0}")]
    Amount(String),
    /// Not a US stock (options, crypto, ...), or not tradable.
    #[error("{0}: only US stocks are traded")]
    NotStock(String),
    /// A sell of more than is held (no shorting), or of nothing held.
    #[error("{0}")]
    NotHeld(String),
    /// The confirmation is unknown (never issued, or the daemon restarted).
    #[error("this confirmation is unknown or was already answered; ask for a new preview")]
    UnknownConfirmation,
    /// The confirmation was already used (its order was placed once).
    #[error("already confirmed: the order was placed once and is not placed again")]
    AlreadyConfirmed,
    /// The confirmation's time ran out.
    #[error("this preview expired; ask for a new one")]
    Expired,
    /// Confirmed from another chat or session than the one shown it.
    #[error("this preview was shown to another chat")]
    WrongSource,
    /// The broker refused or failed: in plain words.
    #[error("{0}")]
    Broker(TradeError),
    /// The order was sent but its outcome is unknown (a timeout, a 5xx,
    /// and the lookups by its client order id found nothing yet): it may
    /// or may not be placed; the follower keeps looking.
    #[error(
        "the outcome is unknown ({reason}): the order may have been placed. Check `dipwatch orders` \
         (or /orders) for client order id {client_order_id} before trying again; dipwatch keeps looking \
         and reports it here if it appears"
    )]
    OutcomeUnknown {
        /// The id it was sent with.
        client_order_id: crate::domain::ClientOrderId,
        /// What happened.
        reason: String,
    },
    /// The store (the kill switch, the positions snapshot) could not be read
    /// or written.
    #[error("the store could not be used: {0}")]
    Store(String),
    /// The journal could not be written: nothing is sent unrecorded.
    #[error("cannot write the order journal ({0}); nothing was sent")]
    Journal(String),
}

fn guard_words(failed: &[GuardCheck]) -> String {
    let parts: Vec<String> = failed
        .iter()
        .filter(|g| !g.ok)
        .map(|g| format!("{} (limit {}, would be {})", g.key, g.limit, g.value))
        .collect();
    format!("over a guard: {}", parts.join("; "))
}
