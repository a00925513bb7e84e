//! `GET /v2/account`: the account snapshot. Decimals arrive as JSON
//! strings and are parsed exactly; parsing is pure and tested on its own.

use rust_decimal::Decimal;
use serde::Deserialize;

use super::api::Dependency;
use super::client::AlpacaClient;
use super::error::AlpacaError;
use crate::domain::Account;

/// The account, now.
pub async fn fetch(client: &AlpacaClient) -> Result<Account, AlpacaError> {
    client
        .get(Dependency::Account, "/v2/account", &[], parse_account)
        .await
}

/// `GET /v2/account`. Only `status` is required: alpaca-py types every
/// other field as optional, and Alpaca stopped sending `daytrade_count`,
/// `pattern_day_trader` and `daytrading_buying_power` in 2026-07. A field
/// absent or `null` stays `None` (an empty cell), never a default.
#[derive(Deserialize)]
struct WireAccount {
    status: String,
    currency: Option<String>,
    equity: Option<Decimal>,
    last_equity: Option<Decimal>,
    cash: Option<Decimal>,
    buying_power: Option<Decimal>,
    long_market_value: Option<Decimal>,
    daytrade_count: Option<u32>,
    pattern_day_trader: Option<bool>,
}

/// `GET /v2/account` body.
pub fn parse_account(body: &[u8]) -> Result<Account, String> {
    let w: WireAccount = serde_json::from_slice(body).map_err(|e| format!("account: {e}"))?;
    Ok(Account {
        equity: w.equity,
        cash: w.cash,
        buying_power: w.buying_power,
        status: w.status,
        currency: w.currency,
        last_equity: w.last_equity,
        long_market_value: w.long_market_value,
        daytrade_count: w.daytrade_count,
        pattern_day_trader: w.pattern_day_trader,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn account_decimals_are_exact() {
        let body = br#"{"id":"x","account_number":"PA123","status":"ACTIVE","currency":"USD",
            "cash":"25000.10","buying_power":"50000.2","equity":"100000.123456789","last_equity":"99000",
            "long_market_value":"74999.99","portfolio_value":"100000.12","daytrade_count":2,
            "pattern_day_trader":false,"trading_blocked":false}"#;
        let a = parse_account(body).unwrap();
        assert_eq!(a.equity, Some(dec!(100000.123456789)));
        assert_eq!(a.cash, Some(dec!(25000.10)));
        assert_eq!(a.daytrade_count, Some(2));
        assert_eq!(a.status, "ACTIVE");
        assert!(
            parse_account(br#"{"currency":"USD"}"#)
                .unwrap_err()
                .contains("missing field `status`")
        );
        assert!(parse_account(br#"{"status":"ACTIVE","currency":"USD","cash":"abc","buying_power":"1","equity":"1","last_equity":"1","long_market_value":"1"}"#).is_err());
    }

    #[test]
    fn accounts_without_the_removed_fields_leave_them_empty() {
        let a = parse_account(
            br#"{"status":"ACTIVE","currency":null,"cash":"10","equity":null,"daytrade_count":null}"#,
        )
        .unwrap();
        assert_eq!(a.cash, Some(dec!(10)));
        assert_eq!((a.equity, a.currency), (None, None));
        assert_eq!((a.daytrade_count, a.pattern_day_trader), (None, None));
    }
}
