//! `GET /v2/positions`: the open positions, each entry read on its own.
//! Decimals arrive as JSON strings and are parsed exactly; parsing is pure
//! and tested on its own.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::api::Dependency;
use super::client::AlpacaClient;
use super::error::AlpacaError;
use crate::domain::{AssetClass, AssetSymbol, Position, Positions, Side, UnreadablePosition};

/// The open positions, now.
pub async fn fetch(client: &AlpacaClient) -> Result<Positions, AlpacaError> {
    client
        .get(Dependency::Positions, "/v2/positions", &[], parse_positions)
        .await
}

/// One entry of `GET /v2/positions`: what alpaca-py requires is required
/// here; its optional money fields are optional.
#[derive(Deserialize)]
struct WirePosition {
    symbol: String,
    asset_class: AssetClass,
    side: Side,
    qty: Decimal,
    avg_entry_price: Decimal,
    current_price: Option<Decimal>,
    market_value: Option<Decimal>,
    unrealized_pl: Option<Decimal>,
    unrealized_plpc: Option<Decimal>,
}

/// `GET /v2/positions` body: a JSON array, each entry read on its own, so
/// one entry that cannot be read is skipped with its reason instead of
/// costing the whole snapshot. Returns are Alpaca's own `unrealized_plpc`
/// (a fraction) as a percentage, so they match what the user sees there.
pub fn parse_positions(body: &[u8]) -> Result<Positions, String> {
    let entries: Vec<&RawValue> =
        serde_json::from_slice(body).map_err(|e| format!("positions: {e}"))?;
    let mut out = Positions::default();
    for (i, raw) in entries.into_iter().enumerate() {
        match parse_position(raw) {
            Ok(p) => out.held.push(p),
            Err(reason) => out.unreadable.push(UnreadablePosition {
                symbol: entry_symbol(raw).unwrap_or_else(|| format!("#{}", i + 1)),
                reason,
            }),
        }
    }
    Ok(out)
}

/// One position entry.
fn parse_position(raw: &RawValue) -> Result<Position, String> {
    let w: WirePosition = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    Ok(Position {
        symbol: AssetSymbol::parse(&w.symbol)?,
        asset_class: w.asset_class,
        side: w.side,
        quantity: w.qty,
        avg_entry_price: w.avg_entry_price,
        current_price: w.current_price,
        unrealized_return_pct: w
            .unrealized_plpc
            .map(|f| (f * Decimal::ONE_HUNDRED).round_dp(4)),
        market_value: w.market_value,
        unrealized_pl: w.unrealized_pl,
    })
}

/// The symbol of an entry that could not be read, when it is a readable
/// symbol itself (server text never reaches a report unchecked).
fn entry_symbol(raw: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct JustSymbol {
        symbol: String,
    }
    let s: JustSymbol = serde_json::from_str(raw.get()).ok()?;
    AssetSymbol::parse(&s.symbol).ok().map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn positions_use_alpacas_return() {
        let body = br#"[{"asset_id":"a","symbol":"BF.B","exchange":"NYSE","asset_class":"us_equity","qty":"10",
            "avg_entry_price":"150.10","side":"long","market_value":"1802.50","cost_basis":"1501.00",
            "unrealized_pl":"301.50","unrealized_plpc":"0.2008660893","current_price":"180.25"}]"#;
        let p = parse_positions(body).unwrap().held;
        assert_eq!(p[0].symbol.as_str(), "BF.B");
        assert_eq!(p[0].unrealized_return_pct, Some(dec!(20.0866)));
        assert_eq!(p[0].market_value, Some(dec!(1802.50)));
        let bad = parse_positions(br#"[{"symbol":"<b>","qty":"1"}]"#).unwrap();
        assert!(bad.held.is_empty());
        assert_eq!(bad.unreadable[0].symbol, "#1", "server text is not echoed");
        assert!(parse_positions(br#"{"symbol":"X"}"#).is_err(), "not a list");
    }

    #[test]
    fn options_crypto_and_nulls_are_kept_and_one_bad_entry_is_skipped() {
        let body = br#"[
          {"symbol":"AAPL261218C00200000","asset_class":"us_option","side":"long","qty":"2",
           "avg_entry_price":"3.05","current_price":null,"market_value":null,"unrealized_pl":null,"unrealized_plpc":null},
          {"symbol":"BTCUSD","asset_class":"crypto","side":"long","qty":"0.012345678",
           "avg_entry_price":"60000","current_price":"90000","market_value":"1111.11","unrealized_pl":"370.37","unrealized_plpc":"0.5"},
          {"symbol":"MSFT","asset_class":"us_equity","side":"short","qty":"-3","avg_entry_price":"oops"}
        ]"#;
        let p = parse_positions(body).unwrap();
        assert_eq!(p.held.len(), 2);
        assert_eq!(p.held[0].asset_class, AssetClass::UsOption);
        assert_eq!(p.held[0].current_price, None);
        assert_eq!(p.held[1].symbol.as_str(), "BTCUSD");
        assert_eq!(p.held[1].unrealized_return_pct, Some(dec!(50)));
        assert_eq!(p.unreadable.len(), 1);
        assert_eq!(p.unreadable[0].symbol, "MSFT");
        assert!(
            p.unreadable[0].reason.contains("expected a Decimal"),
            "{:?}",
            p.unreadable
        );
    }
}
