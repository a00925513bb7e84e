//! [`Trading`]: the runtime's handle on orders, shared by the CLI, the bot
//! and the dashboard. CONTRACT SKELETON: the signatures below are what the
//! front ends call; the bodies are being written (issue 26).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::broadcast;

use super::actor::Actor;
use super::follow::OrderUpdate;
use super::preview::{Ask, Preview};
use super::refusal::Refusal;
use crate::config::{TradingMode, TradingSettings};
use crate::domain::{ClientOrderId, Order};
use crate::market::Trader;

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

/// The handle. Cheap to clone; every clone shares the pending
/// confirmations and the follower.
#[derive(Clone)]
pub struct Trading {
    inner: Arc<Inner>,
}

struct Inner {
    settings: TradingSettings,
    mode: TradingMode,
    #[allow(dead_code)]
    trader: Arc<dyn Trader>,
    updates: broadcast::Sender<OrderUpdate>,
}

impl std::fmt::Debug for Trading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trading")
            .field("mode", &self.inner.mode)
            .finish()
    }
}

impl Trading {
    /// Over `trader`, with `settings` (the store, journal and risk inputs
    /// are added by the implementation).
    pub fn new(settings: TradingSettings, mode: TradingMode, trader: Arc<dyn Trader>) -> Self {
        let (updates, _) = broadcast::channel(256);
        Self {
            inner: Arc::new(Inner {
                settings,
                mode,
                trader,
                updates,
            }),
        }
    }

    /// PAPER or LIVE.
    pub fn mode(&self) -> TradingMode {
        self.inner.mode
    }

    /// The guards' settings.
    pub fn settings(&self) -> &TradingSettings {
        &self.inner.settings
    }

    /// Size, price and check `ask` for `actor`; journal the preview and
    /// hold its confirmation token for `confirm_ttl_secs`.
    pub async fn preview(&self, _ask: &Ask, _actor: &Actor) -> Result<Preview, Refusal> {
        todo!("issue 26: preview")
    }

    /// Confirm the preview `token` once: re-check the guards against the
    /// account now, send the order (or find it already placed), journal
    /// every step, and follow it.
    pub async fn confirm(&self, _token: &str, _actor: &Actor) -> Result<Placed, Refusal> {
        todo!("issue 26: confirm")
    }

    /// Drop the preview `token` unsent (the Cancel button), journalled.
    pub async fn discard(&self, _token: &str, _actor: &Actor) -> Result<(), Refusal> {
        todo!("issue 26: discard")
    }

    /// Open orders (`open_only`) or today's and open ones, joined with the
    /// journal.
    pub async fn orders(&self, _open_only: bool) -> Result<Vec<OrderLine>, Refusal> {
        todo!("issue 26: orders")
    }

    /// Ask the broker to cancel order `order_id` (admins), journalled.
    pub async fn cancel(&self, _order_id: &str, _actor: &Actor) -> Result<Order, Refusal> {
        todo!("issue 26: cancel")
    }

    /// Turn the kill switch on (admins): refuse new orders, cancel open
    /// ones; returns the orders asked to cancel.
    pub async fn halt(&self, _actor: &Actor) -> Result<Vec<Order>, Refusal> {
        todo!("issue 26: halt")
    }

    /// Turn the kill switch off (admins).
    pub async fn resume(&self, _actor: &Actor) -> Result<(), Refusal> {
        todo!("issue 26: resume")
    }

    /// The kill switch as stored now (`None`: trading allowed).
    pub async fn halted(&self) -> Result<Option<Halt>, Refusal> {
        todo!("issue 26: halted")
    }

    /// Status changes of followed orders, for the front ends.
    pub fn updates(&self) -> broadcast::Receiver<OrderUpdate> {
        self.inner.updates.subscribe()
    }
}
