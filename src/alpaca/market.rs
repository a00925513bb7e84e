//! Alpaca as a [`MarketData`] source: sessions from the trading calendar,
//! daily bars from the market-data API, the exchange's own clock, and the
//! client's request counters.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::api::Api;
use super::bars::{self, BarsOptions};
use super::client::AlpacaClient;
use super::{calendar, clock};
use crate::domain::Symbol;
use crate::market::{BarsAnswer, MarketData, MarketError, RequestCounters, Session};

/// Alpaca as a [`MarketData`] source.
#[derive(Debug, Clone)]
pub struct AlpacaMarket {
    client: Arc<AlpacaClient>,
    bars: BarsOptions,
}

impl AlpacaMarket {
    /// Over the shared client, with `market.feed` and `market.adjustment`.
    pub fn new(client: Arc<AlpacaClient>, feed: &str, adjustment: &str) -> Self {
        Self {
            client,
            bars: BarsOptions {
                feed: feed.to_string(),
                adjustment: adjustment.to_string(),
            },
        }
    }
}

#[async_trait]
impl MarketData for AlpacaMarket {
    fn provider(&self) -> &'static str {
        "alpaca"
    }

    fn is_simulated(&self) -> bool {
        false
    }

    async fn sessions(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Session>, MarketError> {
        calendar::fetch(&self.client, from, to)
            .await
            .map_err(|e| e.into_market(Api::Trading))
    }

    async fn daily_bars(
        &self,
        symbols: &[Symbol],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BarsAnswer, MarketError> {
        bars::daily_bars(&self.client, &self.bars, symbols, from, to).await
    }

    async fn exchange_now(&self) -> Option<DateTime<Utc>> {
        match clock::fetch(&self.client).await {
            Ok(clock) => Some(clock.timestamp),
            Err(e) => {
                tracing::warn!(error = %e, "market clock unavailable; using the host's clock");
                None
            }
        }
    }

    fn request_stats(&self) -> Option<RequestCounters> {
        Some(self.client.stats())
    }
}
