//! Alpaca as a [`Broker`]: the account and open positions from the trading
//! API, always "now".

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;

use super::api::Api;
use super::client::AlpacaClient;
use super::{account, positions};
use crate::domain::{Account, Positions};
use crate::market::{Broker, MarketError};

/// The account and positions side of Alpaca.
#[derive(Debug, Clone)]
pub struct AlpacaBroker {
    client: Arc<AlpacaClient>,
}

impl AlpacaBroker {
    /// Over the shared client.
    pub fn new(client: Arc<AlpacaClient>) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Broker for AlpacaBroker {
    async fn account(&self, _as_of: NaiveDate) -> Result<Account, MarketError> {
        account::fetch(&self.client)
            .await
            .map_err(|e| e.into_market(Api::Trading))
    }

    async fn positions(&self, _as_of: NaiveDate) -> Result<Positions, MarketError> {
        positions::fetch(&self.client)
            .await
            .map_err(|e| e.into_market(Api::Trading))
    }
}
