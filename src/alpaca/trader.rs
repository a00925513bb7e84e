//! Alpaca as a [`Trader`]: orders, the last trade, the asset, the clock,
//! the account and positions now, through the one client; and the one
//! mapping of Alpaca's answers to [`TradeError`] in plain words.

use std::sync::Arc;

use async_trait::async_trait;

use super::client::AlpacaClient;
use super::error::AlpacaError;
use super::{account, assets, clock, orders, positions, trades};
use crate::domain::{Account, ClientOrderId, Order, OrderRequest, Positions, Symbol};
use crate::market::{Asset, LastTrade, MarketClock, OrderQuery, TradeError, Trader};

/// The broker's name in errors.
const ALPACA: &str = "Alpaca";

/// The order side of Alpaca.
#[derive(Debug, Clone)]
pub struct AlpacaTrader {
    client: Arc<AlpacaClient>,
    feed: String,
}

impl AlpacaTrader {
    /// Over the shared client; last trades from `feed` (`market.feed`).
    pub fn new(client: Arc<AlpacaClient>, feed: &str) -> Self {
        Self {
            client,
            feed: feed.to_string(),
        }
    }
}

/// Alpaca's answer as a [`TradeError`]: 403 and 422 are refusals with
/// Alpaca's words, 404 no such thing, 429 a rate limit, 5xx and transport
/// failures "did not answer". An open breaker sent nothing.
pub fn trade_error(e: AlpacaError) -> TradeError {
    match e {
        AlpacaError::Status { status: 404, .. } => TradeError::NotFound,
        AlpacaError::Status { status: 429, .. } => TradeError::RateLimited { broker: ALPACA },
        AlpacaError::Status { status, message } if status >= 500 => TradeError::Unavailable {
            broker: ALPACA,
            message: format!("HTTP {status}: {message}"),
        },
        AlpacaError::Status { status, message } => TradeError::Refused {
            broker: ALPACA,
            status,
            reason: message,
        },
        e @ (AlpacaError::Timeout(_) | AlpacaError::Connect(_)) => TradeError::Unavailable {
            broker: ALPACA,
            message: e.to_string(),
        },
        AlpacaError::Malformed(message) | AlpacaError::Schema(message) => TradeError::Malformed {
            broker: ALPACA,
            message,
        },
        e @ AlpacaError::CircuitOpen { .. } => TradeError::Refused {
            broker: ALPACA,
            status: 503,
            reason: format!("{e}; nothing was sent"),
        },
    }
}

/// A submission's error: 422 "client_order_id must be unique" means the
/// order was placed before.
pub fn submit_error(e: AlpacaError, id: &ClientOrderId) -> TradeError {
    match &e {
        AlpacaError::Status {
            status: 422,
            message,
        } if message
            .to_ascii_lowercase()
            .contains("client_order_id must be unique") =>
        {
            TradeError::AlreadyPlaced(id.clone())
        }
        _ => trade_error(e),
    }
}

#[async_trait]
impl Trader for AlpacaTrader {
    async fn account(&self) -> Result<Account, TradeError> {
        account::fetch(&self.client).await.map_err(trade_error)
    }

    async fn positions(&self) -> Result<Positions, TradeError> {
        positions::fetch(&self.client).await.map_err(trade_error)
    }

    async fn last_trade(&self, symbol: &Symbol) -> Result<LastTrade, TradeError> {
        trades::latest(&self.client, symbol, &self.feed)
            .await
            .map_err(trade_error)
    }

    async fn asset(&self, symbol: &Symbol) -> Result<Asset, TradeError> {
        assets::fetch(&self.client, symbol)
            .await
            .map_err(trade_error)
    }

    async fn clock(&self) -> Result<MarketClock, TradeError> {
        let c = clock::fetch(&self.client).await.map_err(trade_error)?;
        Ok(MarketClock {
            now: c.timestamp,
            is_open: c.is_open,
            next_open: c.next_open,
            next_close: c.next_close,
        })
    }

    async fn submit(&self, order: &OrderRequest) -> Result<Order, TradeError> {
        orders::submit(&self.client, order)
            .await
            .map_err(|e| submit_error(e, &order.client_order_id))
    }

    async fn order_by_client_id(&self, id: &ClientOrderId) -> Result<Option<Order>, TradeError> {
        orders::by_client_id(&self.client, id)
            .await
            .map_err(trade_error)
    }

    async fn order(&self, id: &str) -> Result<Order, TradeError> {
        orders::by_id(&self.client, id).await.map_err(trade_error)
    }

    async fn orders(&self, query: &OrderQuery) -> Result<Vec<Order>, TradeError> {
        orders::list(&self.client, query).await.map_err(trade_error)
    }

    async fn cancel(&self, id: &str) -> Result<(), TradeError> {
        orders::cancel(&self.client, id).await.map_err(trade_error)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn status(status: u16, message: &str) -> AlpacaError {
        AlpacaError::Status {
            status,
            message: message.into(),
        }
    }

    #[test]
    fn answers_map_to_plain_words() {
        let id = ClientOrderId::from_digest([1; 16]);
        let e = submit_error(
            status(403, "insufficient buying power (code 40310000)"),
            &id,
        );
        assert!(
            matches!(&e, TradeError::Refused { status: 403, reason, .. } if reason.contains("insufficient buying power")),
            "{e:?}"
        );
        let e = submit_error(status(422, "qty must be > 0 (code 40010001)"), &id);
        assert!(
            matches!(e, TradeError::Refused { status: 422, .. }),
            "{e:?}"
        );
        let e = submit_error(
            status(422, "client_order_id must be unique (code 40010001)"),
            &id,
        );
        assert_eq!(e, TradeError::AlreadyPlaced(id.clone()));
        assert_eq!(
            trade_error(status(429, "too many")),
            TradeError::RateLimited { broker: "Alpaca" }
        );
        assert_eq!(
            trade_error(status(404, "order not found")),
            TradeError::NotFound
        );
        for unknown in [
            status(503, "down"),
            AlpacaError::Timeout(Duration::from_secs(10)),
            AlpacaError::Connect("refused".into()),
            AlpacaError::Malformed("cut".into()),
        ] {
            assert!(submit_error(unknown, &id).outcome_unknown());
        }
        // A breaker that failed fast sent nothing: not an unknown outcome.
        let open = AlpacaError::CircuitOpen {
            breaker: "trading.orders",
            wait: Duration::from_secs(30),
        };
        let e = submit_error(open, &id);
        assert!(!e.outcome_unknown(), "{e:?}");
        assert!(e.to_string().contains("nothing was sent"), "{e}");
    }
}
