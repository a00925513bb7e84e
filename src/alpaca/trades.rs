//! `GET /v2/stocks/{symbol}/trades/latest` (market-data API): the last
//! trade, what an order is priced from.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::api::Dependency;
use super::client::AlpacaClient;
use super::error::AlpacaError;
use crate::domain::Symbol;
use crate::market::LastTrade;

#[derive(Deserialize)]
struct WireLatest {
    trade: WireTrade,
}

#[derive(Deserialize)]
struct WireTrade {
    t: DateTime<chrono::FixedOffset>,
    p: serde_json::Number,
}

/// The latest-trade body.
pub fn parse_latest_trade(body: &[u8]) -> Result<LastTrade, String> {
    let w: WireLatest = serde_json::from_slice(body).map_err(|e| format!("latest trade: {e}"))?;
    let text = w.trade.p.to_string();
    let price = text
        .parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|_| format!("latest trade: price {text} is not a decimal"))?;
    if price <= Decimal::ZERO {
        return Err(format!("latest trade: price {text} is not positive"));
    }
    Ok(LastTrade {
        price,
        at: w.trade.t.with_timezone(&Utc),
    })
}

/// The last trade of `symbol` on `feed`.
pub async fn latest(
    client: &AlpacaClient,
    symbol: &Symbol,
    feed: &str,
) -> Result<LastTrade, AlpacaError> {
    let path = format!("/v2/stocks/{}/trades/latest", symbol.as_str());
    client
        .get(
            Dependency::Trades,
            &path,
            &[("feed", feed.to_string())],
            parse_latest_trade,
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_trade_parses_price_and_time() {
        let t = parse_latest_trade(
            br#"{"symbol":"AAPL","trade":{"t":"2026-12-04T15:59:59.5-05:00","x":"V","p":187.45,"s":100,"c":["@"],"i":1,"z":"C"}}"#,
        )
        .unwrap();
        assert_eq!(t.price, rust_decimal::dec!(187.45));
        assert_eq!(t.at.to_rfc3339(), "2026-12-04T20:59:59.500+00:00");
        assert!(parse_latest_trade(br#"{"trade":{"t":"2026-12-04T15:59:59Z","p":0}}"#).is_err());
    }
}
