//! A followed order's status changes, as the service publishes them to
//! every front end (the bot tells the chat that placed the order).

use super::actor::Source;
use crate::domain::{Order, OrderStatus};

/// One change of a followed order: from `previous` to `order.status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderUpdate {
    /// Who placed it (the chat to tell).
    pub source: Source,
    /// The order as the broker reports it now.
    pub order: Order,
    /// Its status before this change (`None`: first seen).
    pub previous: Option<OrderStatus>,
}
