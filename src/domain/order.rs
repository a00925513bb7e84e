//! Orders as dipwatch asks for them ([`OrderRequest`]) and as the broker
//! reports them ([`Order`], [`OrderStatus`]): plain data, parsed at the
//! edge (the broker's wire format lives in `alpaca::orders`).

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{AssetClass, AssetSymbol, Symbol};

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderSide {
    /// Buy (opens or adds to a long position).
    Buy,
    /// Sell (reduces or closes a long position; never opens a short here).
    Sell,
}

impl OrderSide {
    /// `buy` or `sell`, as the broker and the journal write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "buy",
            Self::Sell => "sell",
        }
    }
}

impl fmt::Display for OrderSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An order's state as the broker reports it (Alpaca's names). Open like
/// [`AssetClass`]: a status the broker adds later is kept verbatim and
/// treated as not final.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Received, not yet routed.
    New,
    /// Routed and acknowledged by the exchange.
    Accepted,
    /// Received by the broker, not yet acknowledged.
    PendingNew,
    /// Some shares filled, the rest still working.
    PartiallyFilled,
    /// Every share filled: final.
    Filled,
    /// Done for the day, may resume the next one.
    DoneForDay,
    /// Canceled (by a person or dipwatch): final.
    Canceled,
    /// Its time in force ran out: final.
    Expired,
    /// Replaced by another order: final.
    Replaced,
    /// A cancel was asked for and is under way.
    PendingCancel,
    /// A replace was asked for and is under way.
    PendingReplace,
    /// Refused by the broker or the exchange: final.
    Rejected,
    /// Suspended by the broker.
    Suspended,
    /// Held (a bracket leg waiting for its parent).
    Held,
    /// A status dipwatch does not know by name, as the broker sent it.
    Other(Arc<str>),
}

impl OrderStatus {
    /// The wire name (`new`, `partially_filled`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            Self::New => "new",
            Self::Accepted => "accepted",
            Self::PendingNew => "pending_new",
            Self::PartiallyFilled => "partially_filled",
            Self::Filled => "filled",
            Self::DoneForDay => "done_for_day",
            Self::Canceled => "canceled",
            Self::Expired => "expired",
            Self::Replaced => "replaced",
            Self::PendingCancel => "pending_cancel",
            Self::PendingReplace => "pending_replace",
            Self::Rejected => "rejected",
            Self::Suspended => "suspended",
            Self::Held => "held",
            Self::Other(s) => s,
        }
    }

    /// The status the broker sent, whatever it is.
    pub fn from_wire(raw: &str) -> Self {
        match raw.trim() {
            "new" => Self::New,
            "accepted" => Self::Accepted,
            "pending_new" => Self::PendingNew,
            "partially_filled" => Self::PartiallyFilled,
            "filled" => Self::Filled,
            "done_for_day" => Self::DoneForDay,
            "canceled" => Self::Canceled,
            "expired" => Self::Expired,
            "replaced" => Self::Replaced,
            "pending_cancel" => Self::PendingCancel,
            "pending_replace" => Self::PendingReplace,
            "rejected" => Self::Rejected,
            "suspended" => Self::Suspended,
            "held" => Self::Held,
            other => Self::Other(Arc::from(other)),
        }
    }

    /// Nothing more will happen to the order: stop following it.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Filled | Self::Canceled | Self::Expired | Self::Replaced | Self::Rejected
        )
    }

    /// Still working (may fill or be canceled): what `--open` lists.
    pub fn is_open(&self) -> bool {
        !self.is_final()
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for OrderStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for OrderStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        if raw.is_empty()
            || raw.len() > 40
            || !raw.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        {
            return Err(serde::de::Error::custom("not an order status"));
        }
        Ok(Self::from_wire(&raw))
    }
}

/// The id dipwatch gives an order before sending it, made from the
/// confirmation that allowed it: the same confirmation always makes the
/// same id, so a second send of it is refused by the broker as a
/// duplicate instead of placing a second order. `dw-` and 32 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientOrderId(Arc<str>);

impl ClientOrderId {
    /// The prefix of every id dipwatch makes.
    pub const PREFIX: &'static str = "dw-";

    /// Check an id read back (from the journal, a button, the broker).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let hex = raw
            .strip_prefix(Self::PREFIX)
            .ok_or_else(|| "not a dipwatch client order id".to_string())?;
        if hex.len() != 32
            || !hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err("not a dipwatch client order id".into());
        }
        Ok(Self(Arc::from(raw)))
    }

    /// From 16 bytes (a digest of the confirmation).
    pub fn from_digest(bytes: [u8; 16]) -> Self {
        let mut s = String::with_capacity(35);
        s.push_str(Self::PREFIX);
        for b in bytes {
            s.push_str(&format!("{b:02x}"));
        }
        Self(Arc::from(s))
    }

    /// The id as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientOrderId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<ClientOrderId> for String {
    fn from(id: ClientOrderId) -> String {
        id.0.to_string()
    }
}

impl fmt::Display for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What dipwatch sends: always a limit order for whole shares of a US
/// stock, good for the day (the only kind this version places).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    /// Made from the confirmation; see [`ClientOrderId`].
    pub client_order_id: ClientOrderId,
    /// The stock.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: OrderSide,
    /// Whole shares, above zero.
    pub qty: Decimal,
    /// The limit price (within the collar of the last trade), in cents.
    pub limit_price: Decimal,
}

/// An order as the broker reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The broker's id.
    pub id: String,
    /// The id it was sent with (any text for an order placed elsewhere).
    pub client_order_id: String,
    /// What it trades.
    pub symbol: AssetSymbol,
    /// `us_equity`, `us_option`, `crypto`, ...
    pub asset_class: AssetClass,
    /// Buy or sell.
    pub side: OrderSide,
    /// Shares asked for (`None` for a notional order).
    pub qty: Option<Decimal>,
    /// Dollars asked for (a notional order).
    pub notional: Option<Decimal>,
    /// Shares filled so far.
    pub filled_qty: Decimal,
    /// Average fill price, once something filled.
    pub filled_avg_price: Option<Decimal>,
    /// `market`, `limit`, `stop`, ...
    pub order_type: String,
    /// The limit price, for a limit order.
    pub limit_price: Option<Decimal>,
    /// `day`, `gtc`, ...
    pub time_in_force: String,
    /// Its state now.
    pub status: OrderStatus,
    /// When the broker received it.
    pub submitted_at: Option<DateTime<Utc>>,
    /// Its last change.
    pub updated_at: Option<DateTime<Utc>>,
    /// When it filled completely.
    pub filled_at: Option<DateTime<Utc>>,
}

impl Order {
    /// Dollars it commits: filled shares at their average price plus the
    /// unfilled rest at the limit price (what the daily guard counts); an
    /// order that ended without filling commits what it filled.
    pub fn committed_usd(&self) -> Decimal {
        let filled = self
            .filled_avg_price
            .map_or(Decimal::ZERO, |p| p * self.filled_qty);
        if self.status.is_final() {
            return filled;
        }
        let rest = self
            .qty
            .map_or(Decimal::ZERO, |q| (q - self.filled_qty).max(Decimal::ZERO));
        let price = self
            .limit_price
            .or(self.filled_avg_price)
            .unwrap_or(Decimal::ZERO);
        filled + rest * price + self.notional.unwrap_or(Decimal::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn statuses_round_trip_and_unknown_ones_stay_open() {
        for s in [
            "new",
            "accepted",
            "partially_filled",
            "filled",
            "canceled",
            "rejected",
            "expired",
        ] {
            assert_eq!(OrderStatus::from_wire(s).as_str(), s);
        }
        let later = OrderStatus::from_wire("pending_review");
        assert_eq!(later, OrderStatus::Other(Arc::from("pending_review")));
        assert!(later.is_open() && !later.is_final());
        assert!(OrderStatus::Filled.is_final() && OrderStatus::PartiallyFilled.is_open());
        assert!(serde_json::from_str::<OrderStatus>("\"<b>\"").is_err());
    }

    #[test]
    fn client_order_ids_are_checked() {
        let id = ClientOrderId::from_digest([0xab; 16]);
        assert_eq!(id.as_str().len(), 35);
        assert_eq!(ClientOrderId::parse(id.as_str()), Ok(id));
        for bad in ["dw-xyz", "ab", "dw-ABABABABABABABABABABABABABABABAB", ""] {
            assert!(ClientOrderId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn committed_dollars_count_fills_and_the_working_rest() {
        let mut o = Order {
            id: "1".into(),
            client_order_id: "c".into(),
            symbol: AssetSymbol::parse("AAPL").unwrap(),
            asset_class: AssetClass::UsEquity,
            side: OrderSide::Buy,
            qty: Some(dec!(10)),
            notional: None,
            filled_qty: dec!(4),
            filled_avg_price: Some(dec!(99)),
            order_type: "limit".into(),
            limit_price: Some(dec!(100)),
            time_in_force: "day".into(),
            status: OrderStatus::PartiallyFilled,
            submitted_at: None,
            updated_at: None,
            filled_at: None,
        };
        assert_eq!(o.committed_usd(), dec!(996));
        o.status = OrderStatus::Canceled;
        assert_eq!(o.committed_usd(), dec!(396));
    }
}
