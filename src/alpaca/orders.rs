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
            symbol: lenient_symbol(symbol)?,
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

/// The symbol as sent; a stray character Alpaca's answers have been
/// recorded with (alpaca-py's fixtures carry ``AAPL` ``) is dropped
/// rather than losing the whole order.
fn lenient_symbol(raw: &str) -> Result<AssetSymbol, String> {
    AssetSymbol::parse(raw).or_else(|e| {
        let kept: String = raw
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '/'))
            .collect();
        AssetSymbol::parse(&kept).map_err(|_| e)
    })
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
        "limit_price": format!("{:.2}", o.limit_price.round_dp(2)),
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

#[cfg(test)]
mod tests {
    use rust_decimal::dec;

    use super::*;
    use crate::test_support::sym;

    /// An order object in the shape Alpaca answers with (as alpaca-py's
    /// recorded answers show it): numbers where decimals usually are
    /// strings, a stray backtick in the symbol, unknown fields.
    const RECORDED: &str = r#"{
      "id": "61e69015-8549-4bfd-b9c3-01e75843f47d",
      "client_order_id": "dw-00112233445566778899aabbccddeeff",
      "created_at": "2021-03-16T18:38:01.942282Z",
      "updated_at": "2021-03-16T18:38:01.942282Z",
      "submitted_at": "2021-03-16T18:38:01.937734Z",
      "filled_at": null, "expired_at": null, "canceled_at": null, "failed_at": null,
      "replaced_at": null, "replaced_by": null, "replaces": null,
      "asset_id": "904837e3-3b76-47ec-b432-046db621571b",
      "symbol": "AAPL`", "asset_class": "us_equity", "notional": null,
      "qty": 3, "filled_qty": "0", "filled_avg_price": null,
      "order_class": "simple", "order_type": "limit", "type": "limit", "side": "buy",
      "time_in_force": "day", "limit_price": 187.5, "stop_price": null,
      "status": "accepted", "extended_hours": false, "legs": null,
      "trail_percent": null, "trail_price": null, "hwm": null, "commission": 1.25
    }"#;

    #[test]
    fn a_recorded_order_object_reads() {
        let o = parse_order(RECORDED.as_bytes()).unwrap();
        assert_eq!(o.symbol.as_str(), "AAPL");
        assert_eq!(o.status, OrderStatus::Accepted);
        assert_eq!(o.qty, Some(dec!(3)));
        assert_eq!(o.filled_qty, dec!(0));
        assert_eq!(o.limit_price, Some(dec!(187.5)));
        assert_eq!(o.order_type, "limit");
        assert_eq!(o.side, OrderSide::Buy);
        assert_eq!(
            o.submitted_at.unwrap().to_rfc3339(),
            "2021-03-16T18:38:01.937734+00:00"
        );
    }

    #[test]
    fn every_status_the_fake_scripts_reads_and_strings_are_exact() {
        for (status, filled, price) in [
            ("new", "0", "null"),
            ("accepted", "0", "null"),
            ("partially_filled", "\"1\"", "\"187.31\""),
            ("filled", "\"3\"", "\"187.3033333333\""),
            ("canceled", "0", "null"),
            ("rejected", "0", "null"),
            ("expired", "0", "null"),
            ("pending_review", "0", "null"),
        ] {
            let body = RECORDED
                .replace("\"accepted\"", &format!("\"{status}\""))
                .replace(
                    "\"filled_qty\": \"0\"",
                    &format!("\"filled_qty\": {filled}"),
                )
                .replace(
                    "\"filled_avg_price\": null",
                    &format!("\"filled_avg_price\": {price}"),
                );
            let o = parse_order(body.as_bytes()).unwrap();
            assert_eq!(o.status.as_str(), status);
            if status == "filled" {
                assert_eq!(o.filled_qty, dec!(3));
                assert_eq!(o.filled_avg_price, Some(dec!(187.3033333333)));
            }
        }
    }

    #[test]
    fn a_list_keeps_the_readable_orders() {
        let mleg = r#"{"id":"x","client_order_id":"c","symbol":"","side":"","time_in_force":"day","status":"new","order_class":"mleg"}"#;
        let crypto = RECORDED
            .replace("\"us_equity\"", "\"crypto_perp\"")
            .replace("AAPL`", "BTC/USD");
        let body = format!("[{RECORDED},{mleg},{crypto}]");
        let orders = parse_orders(body.as_bytes()).unwrap();
        assert_eq!(orders.len(), 2);
        assert_eq!(orders[1].asset_class.as_str(), "crypto_perp");
        assert!(parse_orders(b"{}").is_err());
        assert!(parse_order(br#"{"id":"x"}"#).is_err());
    }

    #[test]
    fn the_order_body_is_a_day_limit_for_whole_shares_with_strings() {
        let r = OrderRequest {
            client_order_id: ClientOrderId::from_digest([0x0f; 16]),
            symbol: sym("BRK.B"),
            side: OrderSide::Sell,
            qty: dec!(5.000),
            limit_price: dec!(412.3),
        };
        let b = order_body(&r);
        assert_eq!(b["symbol"], "BRK.B");
        assert_eq!(b["qty"], "5");
        assert_eq!(b["side"], "sell");
        assert_eq!(b["type"], "limit");
        assert_eq!(b["time_in_force"], "day");
        assert_eq!(b["limit_price"], "412.30");
        assert_eq!(b["client_order_id"], r.client_order_id.as_str());
    }

    #[test]
    fn only_plain_ids_reach_a_path() {
        assert!(checked_id("61e69015-8549-4bfd-b9c3-01e75843f47d").is_ok());
        for bad in ["", "../account", "a/b", "x?y", "a b"] {
            assert!(checked_id(bad).is_err(), "{bad}");
        }
    }

    /// A loopback server answering every request with HTTP 503, counting them.
    async fn failing_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                seen.fetch_add(1, Ordering::SeqCst);
                let mut buf = vec![0u8; 8192];
                let _ = sock.read(&mut buf).await;
                let body = r#"{"code":50000000,"message":"internal"}"#;
                let answer = format!(
                    "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(answer.as_bytes()).await;
            }
        });
        (url, count)
    }

    #[tokio::test]
    async fn a_post_is_sent_once_and_a_get_is_retried() {
        use std::sync::atomic::Ordering;
        let (url, count) = failing_server().await;
        let settings = super::super::ClientSettings {
            data_url: url.clone(),
            trading_url: url,
            requests_per_minute: 10_000,
            burst: 100,
            timeout: std::time::Duration::from_secs(10),
            max_retries: 2,
            retry_base: std::time::Duration::from_millis(1),
            breaker_threshold: 100,
            breaker_cooldown: std::time::Duration::from_secs(1),
        };
        let key = secrecy::SecretString::from("PKTESTKEY");
        let client = AlpacaClient::new(settings, &key, &key).unwrap();
        let r = OrderRequest {
            client_order_id: ClientOrderId::from_digest([2; 16]),
            symbol: sym("AAPL"),
            side: OrderSide::Buy,
            qty: dec!(1),
            limit_price: dec!(100),
        };
        let e = submit(&client, &r).await.unwrap_err();
        assert!(
            matches!(e, AlpacaError::Status { status: 503, .. }),
            "{e:?}"
        );
        assert_eq!(count.load(Ordering::SeqCst), 1, "a POST is never retried");
        let e = cancel(&client, "61e69015-8549-4bfd-b9c3-01e75843f47d").await;
        assert!(e.is_err());
        assert_eq!(count.load(Ordering::SeqCst), 2, "nor a DELETE");
        let q = OrderQuery {
            open_only: true,
            after: None,
            limit: 10,
        };
        assert!(list(&client, &q).await.is_err());
        assert_eq!(count.load(Ordering::SeqCst), 5, "a GET is retried twice");
        let stats = client.stats();
        assert_eq!(stats.by_status["503"], 5);
        assert_eq!(stats.retries, 2);
    }
}
