//! The follower: polls the orders it follows until each is final,
//! journalling every status change and publishing it as an
//! [`OrderUpdate`]; and the recovery of orders whose outcome is not yet
//! known (a restart between submission and answer, a timeout), looked up
//! by their client order id. Spawned by the daemon's assembly, stopped by
//! its shutdown; a failure or a panic in one round never stops it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use tokio_util::sync::CancellationToken;

use super::actor::Source;
use super::follow::OrderUpdate;
use super::followed::Tracked;
use super::record;
use super::service::Trading;
use crate::domain::{ClientOrderId, Order, OrderStatus};
use crate::journal::{EventKind, JournalEvent};
use crate::market::calendar::exchange_date;

/// How long an order whose outcome is unknown is looked for before the
/// journal says it never reached the broker.
const RECOVER_FOR: chrono::Duration = chrono::Duration::minutes(10);
/// Rounds between two reads of the journal for orders to recover (the
/// CLI's submissions while the daemon runs).
const JOURNAL_EVERY: u32 = 30;

impl Trading {
    /// Follow `order` (placed by `source`) until it is final.
    pub(super) fn follow(&self, order: &Order, source: Source) {
        if order.status.is_final() {
            return;
        }
        if let Ok(mut m) = self.inner.followed.orders.lock() {
            m.entry(order.id.clone()).or_insert(Tracked {
                client_order_id: order.client_order_id.clone(),
                source,
                status: order.status.clone(),
            });
        }
    }

    /// Look for the order sent with `id` in the next rounds.
    pub(super) fn recover_later(&self, id: ClientOrderId, source: Source) {
        if self.following(&id) {
            return;
        }
        if let Ok(mut m) = self.inner.followed.recover.lock() {
            m.entry(id).or_insert((source, self.now() + RECOVER_FOR));
        }
    }

    /// Whether the order sent with `id` is followed already.
    fn following(&self, id: &ClientOrderId) -> bool {
        self.inner
            .followed
            .orders
            .lock()
            .is_ok_and(|m| m.values().any(|t| t.client_order_id == id.as_str()))
    }

    /// Start the follower: recover from the journal, then a round every
    /// `follow_every` until `shutdown`.
    pub fn spawn_follower(&self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut round = 0u32;
            loop {
                let guarded = std::panic::AssertUnwindSafe(this.round(round)).catch_unwind();
                tokio::select! {
                    r = guarded => if r.is_err() { crate::panics::record("trading follower") },
                    () = shutdown.cancelled() => return,
                }
                round = round.wrapping_add(1);
                tokio::select! {
                    () = tokio::time::sleep(this.parts().follow_every) => {}
                    () = shutdown.cancelled() => return,
                }
            }
        })
    }

    /// One round: the journal now and then, the ids to recover, the
    /// followed orders.
    pub(crate) async fn round(&self, n: u32) {
        if n.is_multiple_of(JOURNAL_EVERY) {
            self.recover_from_journal().await;
        }
        self.recover_round().await;
        self.poll_round().await;
    }

    /// Orders submitted today or yesterday (New York) without a final
    /// status or a refusal in the journal: looked up by client order id.
    async fn recover_from_journal(&self) {
        let today = exchange_date(self.now());
        let mut events = Vec::new();
        for day in [today.pred_opt().unwrap_or(today), today] {
            match self.journal().day(day).await {
                Ok(e) => events.extend(e),
                Err(e) => {
                    tracing::warn!(%day, error = %e, "follower: the journal could not be read")
                }
            }
        }
        for (id, source) in unsettled(&events) {
            self.recover_later(id, source);
        }
    }

    async fn recover_round(&self) {
        let ids: Vec<_> = match self.inner.followed.recover.lock() {
            Ok(m) => m.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            Err(_) => return,
        };
        for (id, (source, until)) in ids {
            let outcome = match self.trader().order_by_client_id(&id).await {
                Ok(Some(order)) => Some(Some(order)),
                Ok(None) if self.now() > until => Some(None),
                Ok(None) => None,
                Err(e) => {
                    tracing::info!(client_order_id = %id, error = %e, "follower: lookup failed");
                    None
                }
            };
            let Some(found) = outcome else { continue };
            if let Ok(mut m) = self.inner.followed.recover.lock() {
                m.remove(&id);
            }
            if self.following(&id) {
                continue;
            }
            match found {
                Some(order) => {
                    self.changed(&order, source, None).await;
                    self.follow(&order, source);
                }
                None => {
                    let event = not_placed(&id, self.now());
                    let _ = record::append(self.journal(), event).await;
                }
            }
        }
    }

    async fn poll_round(&self) {
        let ids: Vec<(String, Source, OrderStatus)> = match self.inner.followed.orders.lock() {
            Ok(m) => m
                .iter()
                .map(|(id, t)| (id.clone(), t.source, t.status.clone()))
                .collect(),
            Err(_) => return,
        };
        for (id, source, before) in ids {
            let order = match self.trader().order(&id).await {
                Ok(o) => o,
                Err(e) => {
                    tracing::info!(order = %id, error = %e, "follower: order lookup failed");
                    continue;
                }
            };
            if order.status == before {
                continue;
            }
            if let Ok(mut m) = self.inner.followed.orders.lock() {
                if order.status.is_final() {
                    m.remove(&id);
                } else if let Some(t) = m.get_mut(&id) {
                    t.status = order.status.clone();
                }
            }
            self.changed(&order, source, Some(before)).await;
        }
    }

    /// Journal and publish a status seen.
    async fn changed(&self, order: &Order, source: Source, previous: Option<OrderStatus>) {
        let event = record::of_order_by(EventKind::Status, order, "daemon", self.now());
        let _ = record::append(self.journal(), event).await;
        let _ = self.inner.updates.send(OrderUpdate {
            source,
            order: order.clone(),
            previous,
        });
    }
}

/// The client order ids submitted in `events` whose order has no final
/// status, no refusal and no "never placed" answer yet, with who placed them.
pub(super) fn unsettled(events: &[JournalEvent]) -> Vec<(ClientOrderId, Source)> {
    let mut open: HashMap<String, Option<Source>> = HashMap::new();
    for e in events {
        let Some(id) = &e.client_order_id else {
            continue;
        };
        match e.event {
            EventKind::Submit => {
                let source = Source::parse(&e.source).unwrap_or(Source::Cli);
                open.entry(id.clone()).or_insert(Some(source));
            }
            EventKind::Answer | EventKind::Status => {
                let settled = e.status.as_deref().is_some_and(|s| {
                    s == "refused" || s == "not_placed" || OrderStatus::from_wire(s).is_final()
                });
                if settled {
                    open.insert(id.clone(), None);
                }
            }
            _ => {}
        }
    }
    let mut out: Vec<_> = open
        .into_iter()
        .filter_map(|(id, src)| Some((ClientOrderId::parse(&id).ok()?, src?)))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn not_placed(id: &ClientOrderId, now: DateTime<Utc>) -> JournalEvent {
    JournalEvent {
        time: now,
        event: EventKind::Answer,
        client_order_id: Some(id.to_string()),
        order_id: None,
        source: "daemon".into(),
        symbol: None,
        side: None,
        qty: None,
        notional: None,
        limit_price: None,
        status: Some("not_placed".into()),
        reason: Some(
            "the broker has no order with this client order id: it was never placed".into(),
        ),
    }
}
