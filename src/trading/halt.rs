//! The kill switch: a document in the store (`_trading/halt.json`), read
//! fresh each time so the CLI and the daemon share it. Halting writes it,
//! cancels the open orders placed through dipwatch and journals; resuming
//! deletes it.

use object_store::path::Path;

use super::actor::Actor;
use super::record;
use super::refusal::Refusal;
use super::service::{Halt, Trading};
use crate::access::Role;
use crate::domain::{ClientOrderId, Order};
use crate::journal::EventKind;
use crate::market::{OrderQuery, TradeError};

/// Where the kill switch is kept.
pub const HALT_PATH: &str = "_trading/halt.json";

impl Trading {
    pub(super) async fn read_halt(&self) -> Result<Option<Halt>, Refusal> {
        self.parts()
            .store
            .read_doc::<Halt>(HALT_PATH)
            .await
            .map_err(|e| Refusal::Store(format!("cannot read the kill switch ({e})")))
    }

    /// Refuse while halted.
    pub(super) async fn check_not_halted(&self) -> Result<(), Refusal> {
        match self.read_halt().await? {
            Some(h) => Err(Refusal::Halted {
                since: h.since,
                by: h.by,
            }),
            None => Ok(()),
        }
    }

    pub(super) async fn halt_all(&self, actor: &Actor) -> Result<Vec<Order>, Refusal> {
        if actor.role != Role::Admin {
            return Err(Refusal::NotAdmin);
        }
        let halt = Halt {
            since: self.now(),
            by: actor.source.to_string(),
        };
        self.parts()
            .store
            .write_doc(HALT_PATH, &halt)
            .await
            .map_err(|e| Refusal::Store(format!("cannot write the kill switch ({e})")))?;
        // The switch is on whatever the journal says; its record follows.
        let _ = record::append(
            self.journal(),
            record::command(EventKind::Halt, actor, self.now()),
        )
        .await;
        let open = self
            .trader()
            .orders(&OrderQuery {
                open_only: true,
                after: None,
                limit: 500,
            })
            .await
            .map_err(|e| Refusal::Broker(halted_but(e)))?;
        let mut canceled = Vec::new();
        for order in open {
            if ClientOrderId::parse(&order.client_order_id).is_err() {
                continue;
            }
            let mut event = record::of_order(EventKind::Cancel, &order, actor, self.now());
            event.reason = Some("trading halted".into());
            let _ = record::append(self.journal(), event).await;
            match self.trader().cancel(&order.id).await {
                Ok(()) => {
                    self.follow(&order, actor.source);
                    canceled.push(order);
                }
                Err(e) => tracing::warn!(order = %order.id, error = %e, "halt: cancel failed"),
            }
        }
        Ok(canceled)
    }

    pub(super) async fn resume_all(&self, actor: &Actor) -> Result<(), Refusal> {
        if actor.role != Role::Admin {
            return Err(Refusal::NotAdmin);
        }
        self.parts()
            .store
            .delete(&Path::from(HALT_PATH))
            .await
            .map_err(|e| Refusal::Store(format!("cannot delete the kill switch ({e})")))?;
        let _ = record::append(
            self.journal(),
            record::command(EventKind::Resume, actor, self.now()),
        )
        .await;
        Ok(())
    }
}

/// The switch is on but the open orders could not be listed: say both.
fn halted_but(e: TradeError) -> TradeError {
    let broker = match &e {
        TradeError::Refused { broker, .. }
        | TradeError::RateLimited { broker }
        | TradeError::Unavailable { broker, .. }
        | TradeError::Malformed { broker, .. } => broker,
        TradeError::AlreadyPlaced(_) | TradeError::NotFound => "the broker",
    };
    TradeError::Unavailable {
        broker,
        message: format!(
            "{e}. Trading IS halted (no new orders), but its open orders could not be listed \
             to cancel them: halt again in a moment, or cancel them at the broker"
        ),
    }
}
