//! `/v2/orders`: Alpaca's order object read as alpaca-py's `Order` model
//! reads it (decimals as strings or numbers, most fields nullable, an
//! asset class or status Alpaca adds later kept verbatim), and the
//! requests: place (one attempt), list, look up by id or client order
//! id, cancel (one attempt). Pure parsers, thin callers of the client.

use chrono::{DateTime, Utc};
use reqwest::Method;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::api::Dependency;
use super::client::AlpacaClient;
use super::error::AlpacaError;
use crate::domain::{
    AssetClass, AssetSymbol, ClientOrderId, Order, OrderRequest, OrderSide, OrderStatus,
};
use crate::market::OrderQuery;

/// A decimal as Alpaca sends it: a string (`"10.5"`) or, in older
/// answers, a JSON number.
#[derive(Deserialize)]
#[serde(untagged)]
enum WireDecimal {
    Text(String),
    Number(serde_json::Number),
}

impl WireDecimal {
    fn value(&self, field: &str) -> Result<Decimal, String> {
        let text = match self {
            Self::Text(s) => s.trim().to_string(),
            Self::Number(n) => n.to_string(),
        };
        text.parse::<Decimal>()
            .or_else(|_| Decimal::from_scientific(&text))
            .map_err(|_| format!("{field}: {text:?} is not a decimal"))
    }
}

fn opt(d: &Option<WireDecimal>, field: &str) -> Result<Option<Decimal>, String> {
    d.as_ref().map(|d| d.value(field)).transpose()
}

/// The fields of Alpaca's order object dipwatch reads (the others, legs
/// and trailing-stop figures among them, are ignored).
#[derive(Deserialize)]
struct WireOrder {
    id: String,
    client_order_id: String,
    submitted_at: Option<DateTime<chrono::FixedOffset>>,
    updated_at: Option<DateTime<chrono::FixedOffset>>,
    filled_at: Option<DateTime<chrono::FixedOffset>>,
    symbol: Option<String>,
    asset_class: Option<String>,
    notional: Option<WireDecimal>,
    qty: Option<WireDecimal>,
    filled_qty: Option<WireDecimal>,
    filled_avg_price: Option<WireDecimal>,
    #[serde(rename = "type")]
    kind: Option<String>,
    order_type: Option<String>,
    side: Option<String>,
    time_in_force: String,
    limit_price: Option<WireDecimal>,
    status: String,
}

fn utc(t: Option<DateTime<chrono::FixedOffset>>) -> Option<DateTime<Utc>> {
    t.map(|t| t.with_timezone(&Utc))
}

impl WireOrder {
    fn into_order(self) -> Result<Order, String> {
        let symbol = self
            .symbol
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or("order without a symbol (a multi-leg order)")?;
        let side = match self.side.as_deref() {
            Some("buy") => OrderSide::Buy,
            Some("sell") => OrderSide::Sell,
            other => return Err(format!("order side {other:?} is not buy or sell")),
        };
        Ok(Order {
            symbol: AssetSymbol::parse(symbol)?,
            asset_class: self
                .asset_class
                .as_deref()
                .map_or(AssetClass::UsEquity, AssetClass::from_wire),
            side,
            qty: opt(&self.qty, "qty")?,
            notional: opt(&self.notional, "notional")?,
            filled_qty: opt(&self.filled_qty, "filled_qty")?.unwrap_or(Decimal::ZERO),
            filled_avg_price: opt(&self.filled_avg_price, "filled_avg_price")?,
            order_type: self.kind.or(self.order_type).unwrap_or_default(),
            limit_price: opt(&self.limit_price, "limit_price")?,
            time_in_force: self.time_in_force,
            status: OrderStatus::from_wire(&self.status),
            submitted_at: utc(self.submitted_at),
            updated_at: utc(self.updated_at),
            filled_at: utc(self.filled_at),
            id: self.id,
            client_order_id: self.client_order_id,
        })
    }
}

/// One order object.
pub fn parse_order(body: &[u8]) -> Result<Order, String> {
    let w: WireOrder = serde_json::from_slice(body).map_err(|e| format!("order: {e}"))?;
    w.into_order().map_err(|e| format!("order: {e}"))
}

/// A list of order objects: one that cannot be read (a multi-leg order,
/// an odd field) is left out with a warning, never the whole list.
pub fn parse_orders(body: &[u8]) -> Result<Vec<Order>, String> {
    let raw: Vec<serde_json::Value> =
        serde_json::from_slice(body).map_err(|e| format!("orders: {e}"))?;
    Ok(raw
        .into_iter()
        .filter_map(|v| {
            let read = serde_json::from_value::<WireOrder>(v)
                .map_err(|e| e.to_string())
                .and_then(WireOrder::into_order);
            read.map_err(|e| tracing::warn!(error = %e, "an order in Alpaca's list was left out"))
                .ok()
        })
        .collect())
}

/// The body of `POST /v2/orders`: a day limit order for whole shares,
/// decimals as strings.
pub fn order_body(o: &OrderRequest) -> serde_json::Value {
    serde_json::json!({
        "symbol": o.symbol.as_str(),
        "qty": o.qty.normalize().to_string(),
        "side": o.side.as_str(),
        "type": "limit",
        "time_in_force": "day",
        "limit_price": o.limit_price.round_dp(2).to_string(),
        "client_order_id": o.client_order_id.as_str(),
    })
}

/// An order id safe in a path (Alpaca's are UUIDs).
fn checked_id(id: &str) -> Result<&str, AlpacaError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(id)
    } else {
        Err(AlpacaError::Status {
            status: 404,
            message: "not an order id".into(),
        })
    }
}

/// Place `order`, once.
pub async fn submit(client: &AlpacaClient, order: &OrderRequest) -> Result<Order, AlpacaError> {
    let body = order_body(order);
    client
        .send(
            Dependency::Orders,
            Method::POST,
            "/v2/orders",
            Some(&body),
            parse_order,
        )
        .await
}

/// Orders matching `q`, newest first.
pub async fn list(client: &AlpacaClient, q: &OrderQuery) -> Result<Vec<Order>, AlpacaError> {
    let mut query = vec![
        (
            "status",
            if q.open_only { "open" } else { "all" }.to_string(),
        ),
        ("limit", q.limit.clamp(1, 500).to_string()),
        ("direction", "desc".to_string()),
    ];
    if let Some(after) = q.after {
        // Alpaca's `after` is exclusive: a second earlier includes the instant.
        let after = after - chrono::Duration::seconds(1);
        query.push((
            "after",
            after.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ));
    }
    client
        .get(Dependency::Orders, "/v2/orders", &query, parse_orders)
        .await
}

/// The order sent with `id` (`None`: Alpaca has none).
pub async fn by_client_id(
    client: &AlpacaClient,
    id: &ClientOrderId,
) -> Result<Option<Order>, AlpacaError> {
    let query = [("client_order_id", id.to_string())];
    match client
        .get(
            Dependency::Orders,
            "/v2/orders:by_client_order_id",
            &query,
            parse_order,
        )
        .await
    {
        Ok(o) => Ok(Some(o)),
        Err(AlpacaError::Status { status: 404, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The order with Alpaca's id `id`.
pub async fn by_id(client: &AlpacaClient, id: &str) -> Result<Order, AlpacaError> {
    let path = format!("/v2/orders/{}", checked_id(id)?);
    client
        .get(Dependency::Orders, &path, &[], parse_order)
        .await
}

/// Ask Alpaca to cancel the order `id`, once (204 when accepted).
pub async fn cancel(client: &AlpacaClient, id: &str) -> Result<(), AlpacaError> {
    let path = format!("/v2/orders/{}", checked_id(id)?);
    client
        .send(Dependency::Orders, Method::DELETE, &path, None, |_| Ok(()))
        .await
}
