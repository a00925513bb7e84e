//! The Alpaca trading API: account, positions, the trading calendar and the
//! market clock, through the one [`AlpacaClient`]. Decimals arrive as JSON
//! strings and are parsed exactly; parsing is pure and tested on its own.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::America::New_York;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::alpaca::{AlpacaClient, AlpacaError, Api};
use crate::domain::{Account, Position, Symbol};
use crate::market::{Broker, MarketError, Session};

/// The market clock as Alpaca reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketClock {
    /// Server time.
    pub timestamp: DateTime<Utc>,
    /// Whether the market is open now.
    pub is_open: bool,
    /// Next opening bell.
    pub next_open: DateTime<Utc>,
    /// Next closing bell.
    pub next_close: DateTime<Utc>,
}

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

    /// Sessions with dates in `from..=to`.
    pub async fn calendar(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Session>, AlpacaError> {
        let q = [("start", from.to_string()), ("end", to.to_string())];
        self.client
            .get(Api::Trading, "/v2/calendar", &q, parse_calendar)
            .await
    }

    /// The market clock.
    pub async fn clock(&self) -> Result<MarketClock, AlpacaError> {
        self.client
            .get(Api::Trading, "/v2/clock", &[], parse_clock)
            .await
    }
}

/// An Alpaca error as a market error of the trading API.
pub(crate) fn trading_error(e: AlpacaError) -> MarketError {
    match e {
        AlpacaError::Malformed(message) => MarketError::Malformed {
            source_name: "alpaca trading",
            message,
        },
        other => MarketError::Request {
            source_name: "alpaca trading",
            message: other.to_string(),
        },
    }
}

#[async_trait]
impl Broker for AlpacaBroker {
    async fn account(&self, _as_of: NaiveDate) -> Result<Account, MarketError> {
        self.client
            .get(Api::Trading, "/v2/account", &[], parse_account)
            .await
            .map_err(trading_error)
    }

    async fn positions(&self, _as_of: NaiveDate) -> Result<Vec<Position>, MarketError> {
        self.client
            .get(Api::Trading, "/v2/positions", &[], parse_positions)
            .await
            .map_err(trading_error)
    }
}

#[derive(Deserialize)]
struct WireAccount {
    status: String,
    currency: String,
    #[serde(with = "rust_decimal::serde::str")]
    equity: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    last_equity: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    cash: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    buying_power: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    long_market_value: Decimal,
    #[serde(default)]
    daytrade_count: u32,
    #[serde(default)]
    pattern_day_trader: bool,
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

#[derive(Deserialize)]
struct WirePosition {
    symbol: String,
    #[serde(with = "rust_decimal::serde::str")]
    qty: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    avg_entry_price: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    current_price: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    market_value: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    unrealized_pl: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    unrealized_plpc: Decimal,
}

/// `GET /v2/positions` body. Returns are Alpaca's own `unrealized_plpc`
/// (a fraction) as a percentage, so they match what the user sees there.
pub fn parse_positions(body: &[u8]) -> Result<Vec<Position>, String> {
    let wire: Vec<WirePosition> =
        serde_json::from_slice(body).map_err(|e| format!("positions: {e}"))?;
    wire.into_iter()
        .map(|w| {
            Ok(Position {
                symbol: Symbol::parse(&w.symbol).map_err(|e| format!("positions: {e}"))?,
                quantity: w.qty,
                avg_entry_price: w.avg_entry_price,
                current_price: w.current_price,
                unrealized_return_pct: (w.unrealized_plpc * Decimal::ONE_HUNDRED).round_dp(4),
                market_value: w.market_value,
                unrealized_pl: w.unrealized_pl,
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct WireDay {
    date: NaiveDate,
    open: String,
    close: String,
}

/// A New York wall-clock time on `date` as an instant.
fn ny_instant(date: NaiveDate, hhmm: &str) -> Result<DateTime<Utc>, String> {
    let t = NaiveTime::parse_from_str(hhmm, "%H:%M")
        .map_err(|e| format!("calendar time {hhmm:?}: {e}"))?;
    New_York
        .from_local_datetime(&date.and_time(t))
        .single()
        .map(|dt| dt.with_timezone(&Utc))
        .ok_or_else(|| format!("calendar: {date} {hhmm} is not a valid New York time"))
}

/// `GET /v2/calendar` body.
pub fn parse_calendar(body: &[u8]) -> Result<Vec<Session>, String> {
    let days: Vec<WireDay> = serde_json::from_slice(body).map_err(|e| format!("calendar: {e}"))?;
    let mut sessions = days
        .into_iter()
        .map(|d| {
            Ok(Session {
                date: d.date,
                open: ny_instant(d.date, &d.open)?,
                close: ny_instant(d.date, &d.close)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    sessions.sort_by_key(|s| s.date);
    sessions.dedup_by_key(|s| s.date);
    Ok(sessions)
}

#[derive(Deserialize)]
struct WireClock {
    timestamp: DateTime<chrono::FixedOffset>,
    is_open: bool,
    next_open: DateTime<chrono::FixedOffset>,
    next_close: DateTime<chrono::FixedOffset>,
}

/// `GET /v2/clock` body.
pub fn parse_clock(body: &[u8]) -> Result<MarketClock, String> {
    let w: WireClock = serde_json::from_slice(body).map_err(|e| format!("clock: {e}"))?;
    Ok(MarketClock {
        timestamp: w.timestamp.with_timezone(&Utc),
        is_open: w.is_open,
        next_open: w.next_open.with_timezone(&Utc),
        next_close: w.next_close.with_timezone(&Utc),
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
        assert_eq!(a.equity, dec!(100000.123456789));
        assert_eq!(a.cash, dec!(25000.10));
        assert_eq!(a.daytrade_count, 2);
        assert_eq!(a.status, "ACTIVE");
        assert!(
            parse_account(br#"{"status":"ACTIVE"}"#)
                .unwrap_err()
                .contains("missing field")
        );
        assert!(parse_account(br#"{"status":"ACTIVE","currency":"USD","cash":"abc","buying_power":"1","equity":"1","last_equity":"1","long_market_value":"1"}"#).is_err());
    }

    #[test]
    fn positions_use_alpacas_return() {
        let body = br#"[{"asset_id":"a","symbol":"BF.B","exchange":"NYSE","asset_class":"us_equity","qty":"10",
            "avg_entry_price":"150.10","side":"long","market_value":"1802.50","cost_basis":"1501.00",
            "unrealized_pl":"301.50","unrealized_plpc":"0.2008660893","current_price":"180.25"}]"#;
        let p = parse_positions(body).unwrap();
        assert_eq!(p[0].symbol.as_str(), "BF.B");
        assert_eq!(p[0].unrealized_return_pct, dec!(20.0866));
        assert_eq!(p[0].market_value, dec!(1802.50));
        assert!(parse_positions(br#"[{"symbol":"<b>","qty":"1"}]"#).is_err());
    }

    #[test]
    fn calendar_times_are_new_york_with_dst_and_early_closes() {
        let body = br#"[{"date":"2026-07-02","open":"09:30","close":"16:00","session_open":"0400","session_close":"2000","settlement_date":"2026-07-06"},
                        {"date":"2026-11-27","open":"09:30","close":"13:00","session_open":"0400","session_close":"1700","settlement_date":"2026-11-30"}]"#;
        let s = parse_calendar(body).unwrap();
        assert_eq!(s[0].close.to_rfc3339(), "2026-07-02T20:00:00+00:00");
        assert_eq!(s[1].open.to_rfc3339(), "2026-11-27T14:30:00+00:00");
        assert_eq!(s[1].close.to_rfc3339(), "2026-11-27T18:00:00+00:00");
    }

    #[test]
    fn clock_parses_offsets() {
        let c = parse_clock(br#"{"timestamp":"2026-11-25T07:00:00.123-05:00","is_open":false,"next_open":"2026-11-25T09:30:00-05:00","next_close":"2026-11-25T16:00:00-05:00"}"#).unwrap();
        assert!(!c.is_open);
        assert_eq!(c.next_open.to_rfc3339(), "2026-11-25T14:30:00+00:00");
    }
}
