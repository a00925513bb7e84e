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
use serde_json::value::RawValue;

use crate::domain::{
    Account, AssetClass, AssetSymbol, Position, Positions, Side, UnreadablePosition,
};
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
    e.into_market("alpaca trading")
}

#[async_trait]
impl Broker for AlpacaBroker {
    async fn account(&self, _as_of: NaiveDate) -> Result<Account, MarketError> {
        self.client
            .get(Api::Trading, "/v2/account", &[], parse_account)
            .await
            .map_err(trading_error)
    }

    async fn positions(&self, _as_of: NaiveDate) -> Result<Positions, MarketError> {
        self.client
            .get(Api::Trading, "/v2/positions", &[], parse_positions)
            .await
            .map_err(trading_error)
    }
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
    fn accounts_without_the_removed_fields_leave_them_empty() {
        let a = parse_account(
            br#"{"status":"ACTIVE","currency":null,"cash":"10","equity":null,"daytrade_count":null}"#,
        )
        .unwrap();
        assert_eq!(a.cash, Some(dec!(10)));
        assert_eq!((a.equity, a.currency), (None, None));
        assert_eq!((a.daytrade_count, a.pattern_day_trader), (None, None));
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
