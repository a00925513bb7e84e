//! The audit journal: every order step (preview, confirmation, discard,
//! submission, the broker's answer, status changes, cancellations) and
//! every other command that changes something (`/trigger` and Run now,
//! halt and resume, alert edits, allow-list reloads, sign-ins), appended
//! to `orders/date=D/` in the lake as CSV that DuckDB reads like the other
//! datasets.
//!
//! Append-only and crash-safe: each append is its own object with a name
//! no other writer can make, created with a conditional put, so an event
//! is either wholly written or not at all, and the CLI and the daemon may
//! both append while the daemon holds the store's writer lease.
//!
//! - `audit.rs`: the other commands' events, best effort (logged, counted)
//! - `codec.rs`: the rows as CSV (header, hostile cells, exact round trip)
//! - `export.rs`: [`Exported`], a dataset or the journal, for export and `/download`
//! - `read.rs`: reading a day or a range back (listing, bounded concurrent
//!   reads, an unreadable object skipped with a warning)

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use object_store::path::Path;

use crate::store::{Store, StoreError};

mod audit;
mod codec;
mod export;
mod read;

pub use codec::{COLUMNS, decode, encode, header};
pub use export::Exported;
pub use read::{JournalRead, Unreadable};

/// Where the journal lives: `orders/date=D/`.
pub const PREFIX: &str = "orders";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An order was previewed (a confirmation token issued).
    Preview,
    /// A preview was confirmed by a person.
    Confirm,
    /// A preview was dropped unsent (Cancel button, expiry, a refusal at confirm).
    Discard,
    /// An order is being sent (written before the request leaves).
    Submit,
    /// The broker answered a submission (accepted, or refused with its reason).
    Answer,
    /// A followed order's status changed.
    Status,
    /// A person asked to cancel an order.
    Cancel,
    /// Trading was halted.
    Halt,
    /// Trading was resumed.
    Resume,
    /// A manual run (`/trigger`, the dashboard's Run now).
    Trigger,
    /// An alert rule was added or changed.
    AlertAdd,
    /// An alert rule was deleted.
    AlertDelete,
    /// The allow-lists were reloaded (SIGHUP).
    AccessReload,
    /// A dashboard sign-in.
    SignIn,
}

/// One journal row. Order columns are empty for the other commands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEvent {
    /// When it happened.
    pub time: DateTime<Utc>,
    /// What happened.
    pub event: EventKind,
    /// The order's client order id.
    pub client_order_id: Option<String>,
    /// The broker's order id, once known.
    pub order_id: Option<String>,
    /// Who: `cli`, a chat id, `web:<id>`, `daemon` (the follower, the schedule).
    pub source: String,
    /// The stock.
    pub symbol: Option<String>,
    /// `buy` or `sell`.
    pub side: Option<String>,
    /// Shares.
    pub qty: Option<Decimal>,
    /// Estimated dollars.
    pub notional: Option<Decimal>,
    /// The limit price.
    pub limit_price: Option<Decimal>,
    /// The order's status (or the outcome of another command).
    pub status: Option<String>,
    /// Why (a refusal's words, the broker's reason, what was edited).
    pub reason: Option<String>,
}

/// The journal's writer and reader over the store.
#[derive(Debug, Clone)]
pub struct Journal {
    store: Store,
    /// Audit events that could not be written (see `audit.rs`).
    audit_failures: prometheus_client::metrics::counter::Counter,
}

/// The partition of the New York date `date`.
pub fn partition(date: NaiveDate) -> String {
    format!("{PREFIX}/date={date}")
}

/// A fresh object name for an event at `time`: the time (so names sort
/// roughly by time) and a random nonce no other writer will draw.
fn object_path(time: DateTime<Utc>) -> Path {
    let date = crate::market::calendar::exchange_date(time);
    let nonce: u64 = rand::random();
    Path::from(format!(
        "{}/{}-{nonce:016x}.csv",
        partition(date),
        time.format("%Y%m%dT%H%M%S%.9fZ")
    ))
}

/// How many fresh names an append tries before giving up (a taken name
/// means a nonce collided: practically never).
const NAME_ATTEMPTS: usize = 3;

impl Journal {
    /// Over `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            audit_failures: Default::default(),
        }
    }

    /// Append `event` durably; an error means it was not recorded (and an
    /// order step that cannot be recorded is not carried out).
    pub async fn append(&self, event: JournalEvent) -> Result<(), StoreError> {
        let bytes = encode(std::slice::from_ref(&event));
        for _ in 0..NAME_ATTEMPTS {
            let path = object_path(event.time);
            if self.store.create_new(&path, bytes.clone()).await? {
                return Ok(());
            }
        }
        Err(StoreError::Backend {
            store: self.store.url().to_string(),
            message: "journal: every fresh object name was taken".into(),
        })
    }

    /// Every event of the New York date `date`, in time order. An object
    /// that cannot be decoded is skipped with a warning.
    pub async fn day(&self, date: NaiveDate) -> Result<Vec<JournalEvent>, StoreError> {
        Ok(self.range(date, date).await?.events)
    }

    /// Every event of the New York dates `from..=to`, in time order, and
    /// the objects that could not be read (each also logged as a warning).
    pub async fn range(&self, from: NaiveDate, to: NaiveDate) -> Result<JournalRead, StoreError> {
        read::range(&self.store, from, to).await
    }
}
