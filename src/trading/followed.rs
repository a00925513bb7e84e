//! What the follower keeps between rounds: the orders it follows (their
//! last status and who placed them) and the client order ids still to
//! recover. State only, held by the service (`service.rs`) and worked by
//! the follower (`follower.rs`), so neither file needs the other's.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::actor::Source;
use crate::domain::{ClientOrderId, OrderStatus};

/// One followed order as last seen.
pub(super) struct Tracked {
    /// The id it was sent with.
    pub(super) client_order_id: String,
    /// Who placed it (the chat to tell).
    pub(super) source: Source,
    /// Its status at the last look.
    pub(super) status: OrderStatus,
}

/// The orders followed (by broker id) and the ids still to recover, with
/// who placed them and since when they are looked for.
#[derive(Default)]
pub(super) struct Followed {
    /// Followed orders by the broker's id.
    pub(super) orders: Mutex<HashMap<String, Tracked>>,
    /// Client order ids whose order is not yet found.
    pub(super) recover: Mutex<HashMap<ClientOrderId, (Source, DateTime<Utc>)>>,
}
