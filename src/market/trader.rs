//! The order side of a broker, provider-neutral: [`Trader`] places, looks
//! up, lists and cancels orders and reads what an order is priced from
//! (the last trade, the market clock, the account and positions as they
//! are now). Implemented by `alpaca::AlpacaTrader`; the simulated market
//! has none (its prices are not real, so nothing is ever traded on them).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::domain::{Account, AssetClass, ClientOrderId, Order, OrderRequest, Positions, Symbol};

/// What the broker says a symbol is: only a tradable `us_equity` is
/// ever ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// The ticker.
    pub symbol: Symbol,
    /// `us_equity`, `us_option`, `crypto`, ...
    pub class: AssetClass,
    /// The broker accepts orders for it.
    pub tradable: bool,
}

/// The last trade of a stock: what an order is priced from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastTrade {
    /// Its price.
    pub price: Decimal,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// The market's clock as the broker says it is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketClock {
    /// The broker's time.
    pub now: DateTime<Utc>,
    /// The regular session is open.
    pub is_open: bool,
    /// The next opening bell.
    pub next_open: DateTime<Utc>,
    /// The next closing bell.
    pub next_close: DateTime<Utc>,
}

/// Which orders to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderQuery {
    /// Only orders still working; otherwise every status.
    pub open_only: bool,
    /// Only orders submitted at or after this instant.
    pub after: Option<DateTime<Utc>>,
    /// At most this many, newest first (the broker's cap is 500).
    pub limit: u32,
}

/// Why an order call failed, in words a person can act on. Never carries
/// credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TradeError {
    /// The broker refused the request (403, 422, 404, ...): `reason` is its
    /// message in plain words ("insufficient buying power").
    #[error("{broker} refused it (HTTP {status}): {reason}")]
    Refused {
        /// The broker's name (`Alpaca`).
        broker: &'static str,
        /// HTTP status.
        status: u16,
        /// What it said, short and scrubbed.
        reason: String,
    },
    /// An order with this client order id already exists (Alpaca's 422
    /// "client_order_id must be unique"): the order was placed before;
    /// look it up instead of placing it again.
    #[error("an order with client order id {0} was already placed")]
    AlreadyPlaced(ClientOrderId),
    /// Too many requests (429): try again in a moment.
    #[error("{broker} is rate limiting requests; try again in a minute")]
    RateLimited {
        /// The broker's name.
        broker: &'static str,
    },
    /// The broker could not be reached, timed out or failed (5xx). For a
    /// submission the outcome is unknown: the order may have been placed.
    #[error("{broker} did not answer: {message}")]
    Unavailable {
        /// The broker's name.
        broker: &'static str,
        /// What happened (timeout, connection refused, HTTP 503 ...).
        message: String,
    },
    /// The order does not exist.
    #[error("no such order")]
    NotFound,
    /// An answer dipwatch could not read.
    #[error("unreadable answer from {broker}: {message}")]
    Malformed {
        /// The broker's name.
        broker: &'static str,
        /// What was wrong.
        message: String,
    },
}

impl TradeError {
    /// A submission that failed this way may still have placed the order
    /// (the request may have arrived): look it up by its client order id
    /// before saying anything, and never send it again blindly.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Malformed { .. })
    }
}

/// Places and follows orders. Every submission is one attempt: a POST is
/// never retried blindly (reads may be).
#[async_trait]
pub trait Trader: Send + Sync {
    /// The account now (equity, cash, buying power).
    async fn account(&self) -> Result<Account, TradeError>;
    /// The open positions now.
    async fn positions(&self) -> Result<Positions, TradeError>;
    /// The last trade of `symbol`.
    async fn last_trade(&self, symbol: &Symbol) -> Result<LastTrade, TradeError>;
    /// What the broker says `symbol` is (its class, whether it trades);
    /// [`TradeError::NotFound`] for a symbol it does not know.
    async fn asset(&self, symbol: &Symbol) -> Result<Asset, TradeError>;
    /// The market clock now.
    async fn clock(&self) -> Result<MarketClock, TradeError>;
    /// Send one order, once.
    async fn submit(&self, order: &OrderRequest) -> Result<Order, TradeError>;
    /// The order sent with `id`, if the broker has one.
    async fn order_by_client_id(&self, id: &ClientOrderId) -> Result<Option<Order>, TradeError>;
    /// The order with the broker's id `id`.
    async fn order(&self, id: &str) -> Result<Order, TradeError>;
    /// Orders matching `query`, newest first.
    async fn orders(&self, query: &OrderQuery) -> Result<Vec<Order>, TradeError>;
    /// Ask the broker to cancel the order `id` (done when it says so).
    async fn cancel(&self, id: &str) -> Result<(), TradeError>;
}
