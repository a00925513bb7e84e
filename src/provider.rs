//! The market and broker `market.provider` names: the simulated market
//! ([`crate::market::sim`]) or Alpaca ([`crate::alpaca`]), behind the
//! provider-neutral traits of [`crate::market`].

use std::sync::Arc;

use crate::alpaca::{AlpacaBroker, AlpacaClient, AlpacaMarket};
use crate::config::{ConfigError, MarketSettings, Provider, Secrets};
use crate::domain::Symbol;
use crate::market::sim::SimMarket;
use crate::market::{Broker, MarketData};

/// The configured market and broker.
pub struct Connected {
    /// Price source.
    pub market: Arc<dyn MarketData>,
    /// Account source.
    pub broker: Option<Arc<dyn Broker>>,
    /// Alpaca's client, shared by the market and the broker (and the
    /// trading service, which sends orders through it); `None` for the
    /// simulated market.
    pub alpaca: Option<Arc<AlpacaClient>>,
}

/// Build the provider `market.provider` names. The real provider never
/// falls back to simulated prices: without keys it stops with a message
/// naming them and the demo config.
pub fn connect(
    market: &MarketSettings,
    universe: &[Symbol],
    secrets: &Secrets,
) -> Result<Connected, ConfigError> {
    match market.provider {
        Provider::Sim => {
            let sim = Arc::new(SimMarket::new(universe.to_vec()));
            Ok(Connected {
                market: sim.clone(),
                broker: Some(sim),
                alpaca: None,
            })
        }
        Provider::Alpaca => {
            let client = Arc::new(AlpacaClient::from_config(market, secrets)?);
            Ok(Connected {
                market: Arc::new(AlpacaMarket::new(
                    client.clone(),
                    &market.feed,
                    &market.adjustment,
                )),
                broker: Some(Arc::new(AlpacaBroker::new(client.clone()))),
                alpaca: Some(client),
            })
        }
    }
}
