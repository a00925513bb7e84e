//! [`Trading`]: the runtime's handle on orders, shared by the CLI, the bot
//! and the dashboard. This file is the handle and its parts; the steps
//! live beside it: [`super::gather`] (a preview's inputs), [`super::confirm`]
//! (a confirmation to a placed order), [`super::pending`] (tokens waiting
//! for a person), [`super::halt`] (the kill switch), [`super::book`]
//! (listing and cancelling), [`super::follower`] (status changes, recovery).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::broadcast;

use super::actor::Actor;
use super::follow::OrderUpdate;
use super::followed::Followed;
use super::pending::PendingBook;
use super::preview::{Ask, Preview};
use super::refusal::Refusal;
use crate::config::{TradingMode, TradingSettings};
use crate::domain::{ClientOrderId, Order};
use crate::journal::Journal;
use crate::market::Trader;
use crate::risk::RiskParams;
use crate::store::Store;

/// An order that was sent (or found already placed under its id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The order as the broker answered.
    pub order: Order,
    /// The id it was sent with.
    pub client_order_id: ClientOrderId,
    /// It had been placed before (a retry or a restart found it): nothing
    /// new was sent.
    pub already_placed: bool,
}

/// One line of `orders`: the broker's order joined with the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    /// The order as the broker reports it.
    pub order: Order,
    /// Who placed it through dipwatch (a journal source: `cli`, a chat
    /// id, `web:<id>`); `None` for an order placed elsewhere.
    pub source: Option<String>,
}

/// The kill switch, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Halt {
    /// When it was turned on.
    pub since: DateTime<Utc>,
    /// By whom (a journal source).
    pub by: String,
}

/// What [`Trading::new`] is built from.
#[derive(Clone)]
pub struct TradingParts {
    /// `[trading]`.
    pub settings: TradingSettings,
    /// PAPER or LIVE (from `market.trading_url`).
    pub mode: TradingMode,
    /// The broker's order side.
    pub trader: Arc<dyn Trader>,
    /// The lake: the positions snapshot, the latest data's provider, the
    /// kill switch document.
    pub store: Store,
    /// Where every step is recorded.
    pub journal: Journal,
    /// The risk view's parameters (the `size` amount, clusters).
    pub risk: RiskParams,
    /// How often the follower asks about followed orders.
    pub follow_every: Duration,
    /// Pause between the lookups of an order whose submission's outcome
    /// is unknown.
    pub lookup_pause: Duration,
}

/// The follower's default interval.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(2);
/// The default pause between lookups of an unknown outcome.
pub const LOOKUP_PAUSE: Duration = Duration::from_secs(1);

/// The handle. Cheap to clone; every clone shares the pending
/// confirmations and the follower.
#[derive(Clone)]
pub struct Trading {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) parts: TradingParts,
    pub(super) updates: broadcast::Sender<OrderUpdate>,
    pub(super) pending: PendingBook,
    pub(super) followed: Followed,
    /// Seconds added to the clock (unit tests move time; always 0 otherwise).
    pub(super) skew_secs: AtomicI64,
}

impl std::fmt::Debug for Trading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trading")
            .field("mode", &self.inner.parts.mode)
            .finish()
    }
}

impl Trading {
    /// Over `parts`: nothing is sent until a preview is confirmed.
    pub fn new(parts: TradingParts) -> Self {
        let (updates, _) = broadcast::channel(256);
        Self {
            inner: Arc::new(Inner {
                parts,
                updates,
                pending: PendingBook::default(),
                followed: Followed::default(),
                skew_secs: AtomicI64::new(0),
            }),
        }
    }

    /// PAPER or LIVE.
    pub fn mode(&self) -> TradingMode {
        self.inner.parts.mode
    }

    /// The guards' settings.
    pub fn settings(&self) -> &TradingSettings {
        &self.inner.parts.settings
    }

    pub(super) fn parts(&self) -> &TradingParts {
        &self.inner.parts
    }

    pub(super) fn trader(&self) -> &dyn Trader {
        self.inner.parts.trader.as_ref()
    }

    pub(super) fn journal(&self) -> &Journal {
        &self.inner.parts.journal
    }

    /// Now, as the service reckons expiry.
    pub(super) fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.inner.skew_secs.load(Ordering::Relaxed))
    }

    /// Move the service's clock `secs` ahead (unit tests of expiry).
    #[cfg(test)]
    pub(crate) fn advance(&self, secs: i64) {
        self.inner.skew_secs.fetch_add(secs, Ordering::Relaxed);
    }

    /// Size, price and check `ask` for `actor`; journal the preview and
    /// hold its confirmation token for `confirm_ttl_secs`. A preview with
    /// a failing guard is returned (`all_pass()` false) so every front end
    /// shows which one, but it cannot be confirmed.
    pub async fn preview(&self, ask: &Ask, actor: &Actor) -> Result<Preview, Refusal> {
        self.preview_for(ask, actor).await
    }

    /// Confirm the preview `token` once: re-check the guards against the
    /// account now, send the order (or find it already placed), journal
    /// every step, and follow it.
    pub async fn confirm(&self, token: &str, actor: &Actor) -> Result<Placed, Refusal> {
        self.confirm_token(token, actor).await
    }

    /// Drop the preview `token` unsent (the Cancel button), journalled.
    pub async fn discard(&self, token: &str, actor: &Actor) -> Result<(), Refusal> {
        self.discard_token(token, actor).await
    }

    /// Open orders (`open_only`) or today's and open ones, joined with the
    /// journal.
    pub async fn orders(&self, open_only: bool) -> Result<Vec<OrderLine>, Refusal> {
        self.order_lines(open_only).await
    }

    /// Ask the broker to cancel order `order_id` (admins), journalled.
    pub async fn cancel(&self, order_id: &str, actor: &Actor) -> Result<Order, Refusal> {
        self.cancel_order(order_id, actor).await
    }

    /// Turn the kill switch on (admins): refuse new orders, cancel open
    /// ones placed through dipwatch; returns the orders asked to cancel.
    pub async fn halt(&self, actor: &Actor) -> Result<Vec<Order>, Refusal> {
        self.halt_all(actor).await
    }

    /// Turn the kill switch off (admins).
    pub async fn resume(&self, actor: &Actor) -> Result<(), Refusal> {
        self.resume_all(actor).await
    }

    /// The kill switch as stored now (`None`: trading allowed).
    pub async fn halted(&self) -> Result<Option<Halt>, Refusal> {
        self.read_halt().await
    }

    /// Status changes of followed orders, for the front ends.
    pub fn updates(&self) -> broadcast::Receiver<OrderUpdate> {
        self.inner.updates.subscribe()
    }
}
