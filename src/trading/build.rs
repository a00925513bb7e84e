//! The trading service from the configuration: `None` while
//! `trading.enabled` is off, a clear error for the simulated market (its
//! prices are not real), otherwise [`Trading`] over Alpaca's order side.

use std::sync::Arc;

use anyhow::bail;

use super::service::{FOLLOW_EVERY, LOOKUP_PAUSE, Trading, TradingParts};
use crate::alpaca::{AlpacaClient, AlpacaTrader};
use crate::config::{AppConfig, Provider, TradingSettings};
use crate::journal::Journal;
use crate::market::Trader;
use crate::risk::RiskParams;
use crate::store::Store;

/// The service `config` describes over `store`, with a client of its own
/// (the CLI). `None` while `trading.enabled` is off.
pub async fn build(config: &AppConfig, store: Store) -> anyhow::Result<Option<Trading>> {
    if !config.trading.enabled {
        return Ok(None);
    }
    refuse_sim(config)?;
    let client = Arc::new(AlpacaClient::from_config(&config.market, &config.secrets)?);
    Ok(with_client(config, &store, client))
}

/// The service over an existing Alpaca client (the daemon's, so orders
/// share its rate budget and report their breakers with the others);
/// `None` while `trading.enabled` is off.
pub fn with_client(
    config: &AppConfig,
    store: &Store,
    client: Arc<AlpacaClient>,
) -> Option<Trading> {
    let trader: Arc<dyn Trader> = Arc::new(AlpacaTrader::new(client, &config.market.feed));
    with_trader(config, store, trader)
}

/// The service over any [`Trader`] (tests bring a scripted one).
pub fn with_trader(config: &AppConfig, store: &Store, trader: Arc<dyn Trader>) -> Option<Trading> {
    if !config.trading.enabled {
        return None;
    }
    Some(Trading::new(TradingParts {
        settings: config.trading.clone(),
        mode: TradingSettings::mode(&config.market.trading_url),
        trader,
        journal: Journal::new(store.clone()),
        store: store.clone(),
        risk: RiskParams::new(
            &config.risk,
            &config.backtest,
            &config.portfolio,
            &config.universe,
        ),
        follow_every: FOLLOW_EVERY,
        lookup_pause: LOOKUP_PAUSE,
    }))
}

/// The simulated market cannot trade.
pub fn refuse_sim(config: &AppConfig) -> anyhow::Result<()> {
    if config.trading.enabled && config.market.provider == Provider::Sim {
        bail!(
            "trading.enabled is true but market.provider is \"sim\": the simulated market cannot \
             trade (its prices are not real). Use market.provider = \"alpaca\" with the paper URL, \
             or set trading.enabled = false"
        );
    }
    Ok(())
}
