//! `GET /v2/assets/{symbol}`: what Alpaca says a symbol is (its class,
//! whether it trades).

use serde::Deserialize;

use super::api::Dependency;
use super::client::AlpacaClient;
use super::error::AlpacaError;
use crate::domain::{AssetClass, Symbol};
use crate::market::Asset;

#[derive(Deserialize)]
struct WireAsset {
    class: String,
    tradable: bool,
}

/// The asset body, for `symbol`.
pub fn parse_asset(symbol: &Symbol, body: &[u8]) -> Result<Asset, String> {
    let w: WireAsset = serde_json::from_slice(body).map_err(|e| format!("asset: {e}"))?;
    Ok(Asset {
        symbol: symbol.clone(),
        class: AssetClass::from_wire(&w.class),
        tradable: w.tradable,
    })
}

/// The asset `symbol`.
pub async fn fetch(client: &AlpacaClient, symbol: &Symbol) -> Result<Asset, AlpacaError> {
    let path = format!("/v2/assets/{}", symbol.as_str());
    client
        .get(Dependency::Assets, &path, &[], |b| parse_asset(symbol, b))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_class_and_tradable_are_read() {
        let s = Symbol::parse("AAPL").unwrap();
        let a = parse_asset(&s, br#"{"id":"b0b6dd9d-8b9b-48a9-ba46-b9d54906e415","class":"us_equity","exchange":"NASDAQ","symbol":"AAPL","status":"active","tradable":true,"marginable":true,"shortable":true,"fractionable":true}"#).unwrap();
        assert_eq!(a.class, AssetClass::UsEquity);
        assert!(a.tradable);
        let c = parse_asset(&s, br#"{"class":"crypto_perp","tradable":false}"#).unwrap();
        assert_eq!(c.class.as_str(), "crypto_perp");
    }
}
