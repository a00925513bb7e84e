//! The trading API's assets: `GET /v2/assets/{symbol}`, shaped like
//! alpaca-py's recorded asset objects. The universe's tickers are active,
//! tradable `us_equity`; a test can make a symbol `crypto` or `us_option`,
//! or not tradable; anything else is 404.

#![allow(dead_code, unused_imports)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Datelike, Days, NaiveDate, SecondsFormat, TimeZone, Utc};
use chrono_tz::America::New_York;
use dipwatch::domain::{Bar, Symbol};
use dipwatch::market::calendar;
use dipwatch::market::sim::SimMarket;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::*;

use super::book::Book;

/// The asset class of `symbol` (`us_equity`, or what a test set), `None`
/// when the fake does not know it.
pub(super) fn asset_class(snap: &Snapshot, book: &Book, symbol: &str) -> Option<String> {
    if let Some(class) = book.asset_classes.get(symbol) {
        return Some(class.clone());
    }
    let s = Symbol::parse(symbol).ok()?;
    (snap.universe.is_empty() || snap.universe.contains(&s)).then(|| "us_equity".to_string())
}

/// `GET /v2/assets/{symbol}` (the symbol may be percent-encoded:
/// `BTC%2FUSD`).
pub(super) fn asset(snap: &Snapshot, book: &Book, raw: &str) -> Response {
    let symbol = percent_decode(raw);
    let Some(class) = asset_class(snap, book, &symbol) else {
        return error(404, 40_410_000, "asset not found");
    };
    let equity = class == "us_equity";
    let exchange = match class.as_str() {
        "crypto" => "CRYPTO",
        "us_option" => "OTC",
        _ if fnv(&symbol).is_multiple_of(3) => "NYSE",
        _ => "NASDAQ",
    };
    let tradable = !book.untradable.contains(&symbol);
    let mut body = json!({
        "id": fake_uuid(&symbol),
        "class": class,
        "exchange": exchange,
        "symbol": symbol,
        "name": format!("{symbol} Fake Holdings Inc. Common Stock"),
        "status": if tradable { "active" } else { "inactive" },
        "tradable": tradable,
        "marginable": equity,
        "shortable": equity,
        "easy_to_borrow": equity,
        "fractionable": true,
        "maintenance_margin_requirement": if equity { 30 } else { 100 },
        "margin_requirement_long": if equity { "50" } else { "100" },
        "margin_requirement_short": if equity { "150" } else { "100" },
        "attributes": [],
    });
    if class == "crypto"
        && let Value::Object(fields) = &mut body
    {
        fields.insert("min_order_size".into(), json!("0.000000002"));
        fields.insert("min_trade_increment".into(), json!("0.000000001"));
        fields.insert("price_increment".into(), json!("1"));
    }
    Response::json(200, &body)
}
