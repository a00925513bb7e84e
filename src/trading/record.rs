//! The journal rows of the order steps, built in one place: a preview's
//! (preview, confirm, discard, submit, answer) and a broker order's
//! (status, cancel).

use chrono::{DateTime, Utc};

use super::actor::Actor;
use super::preview::Preview;
use crate::domain::Order;
use crate::journal::{EventKind, Journal, JournalEvent};
use crate::store::StoreError;

/// A row of `kind` about `preview`, from `source`.
pub(super) fn of_preview(
    kind: EventKind,
    preview: &Preview,
    source: &str,
    now: DateTime<Utc>,
) -> JournalEvent {
    JournalEvent {
        time: now,
        event: kind,
        client_order_id: Some(preview.client_order_id.to_string()),
        order_id: None,
        source: source.to_string(),
        symbol: Some(preview.symbol.to_string()),
        side: Some(preview.side.to_string()),
        qty: Some(preview.qty),
        notional: Some(preview.estimated_cost),
        limit_price: Some(preview.limit_price),
        status: None,
        reason: None,
    }
}

/// A row of `kind` about a broker order, from `actor`.
pub(super) fn of_order(
    kind: EventKind,
    order: &Order,
    actor: &Actor,
    now: DateTime<Utc>,
) -> JournalEvent {
    of_order_by(kind, order, &actor.source.to_string(), now)
}

/// A row of `kind` about a broker order, from `source`.
pub(super) fn of_order_by(
    kind: EventKind,
    order: &Order,
    source: &str,
    now: DateTime<Utc>,
) -> JournalEvent {
    JournalEvent {
        time: now,
        event: kind,
        client_order_id: Some(order.client_order_id.clone()),
        order_id: Some(order.id.clone()),
        source: source.to_string(),
        symbol: Some(order.symbol.to_string()),
        side: Some(order.side.to_string()),
        qty: order.qty,
        notional: Some(order.committed_usd()),
        limit_price: order.limit_price,
        status: Some(order.status.to_string()),
        reason: None,
    }
}

/// A row of a command without an order (halt, resume).
pub(super) fn command(kind: EventKind, actor: &Actor, now: DateTime<Utc>) -> JournalEvent {
    JournalEvent {
        time: now,
        ..JournalEvent::command(kind, actor.source)
    }
}

/// Append, logging a failure (for the rows whose step is done either way).
pub(super) async fn append(journal: &Journal, event: JournalEvent) -> Result<(), StoreError> {
    let kind = event.event;
    let r = journal.append(event).await;
    if let Err(e) = &r {
        tracing::warn!(event = ?kind, error = %e, "the order journal could not be written");
    }
    r
}
