//! The market-data API's latest trades: `/v2/stocks/{symbol}/trades/latest`
//! and `/v2/stocks/trades/latest?symbols=`, priced from the simulated
//! market's latest close or a price a test set, at "now" or a time a test
//! set (to make it stale).

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

/// The last trade price of `symbol`: a price a test set, else the
/// simulated market's close of the latest session that has opened (four
/// decimals, as trades print); `None` outside the universe.
pub(super) fn last_price(snap: &Snapshot, book: &Book, symbol: &Symbol) -> Option<Decimal> {
    if let Some(p) = book.prices.get(symbol) {
        return Some(*p);
    }
    if !snap.universe.is_empty() && !snap.universe.contains(symbol) {
        return None;
    }
    let day = latest_published(snap.now);
    let from = day.checked_sub_days(Days::new(10)).unwrap_or(day);
    snap.sim
        .bars(std::slice::from_ref(symbol), from, day)
        .into_iter()
        .find_map(|sb| sb.bars.last().map(|b| b.close))
        .and_then(|c| Decimal::try_from(c).ok())
        .map(|d| d.round_dp(4))
}

/// One trade object as Alpaca's data API writes it (alpaca-py's recorded
/// latest-trade answers): price a JSON number, conditions, tape.
fn trade_json(snap: &Snapshot, book: &Book, symbol: &Symbol, price: Decimal) -> Value {
    let at = book.trade_time.unwrap_or(snap.now);
    json!({
        "t": at.to_rfc3339_opts(SecondsFormat::Nanos, true),
        "x": "V",
        "p": price.to_string().parse::<f64>().unwrap_or(0.0),
        "s": 100,
        "c": ["@"],
        "i": fnv(&format!("{symbol}{at}")) % 100_000_000,
        "z": "C",
    })
}

/// `GET /v2/stocks/{symbol}/trades/latest`.
pub(super) fn latest_trade(snap: &Snapshot, book: &Book, raw: &str) -> Response {
    let Ok(symbol) = Symbol::parse(&percent_decode(raw)) else {
        return error(400, 40_010_001, &format!("invalid symbol: {raw}"));
    };
    match last_price(snap, book, &symbol) {
        Some(p) => Response::json(
            200,
            &json!({ "symbol": symbol.as_str(), "trade": trade_json(snap, book, &symbol, p) }),
        ),
        None => error(404, 40_410_000, &format!("no trade found for {symbol}")),
    }
}

/// `GET /v2/stocks/trades/latest?symbols=A,B`: the known ones.
pub(super) fn latest_trades(snap: &Snapshot, book: &Book, req: &Request) -> Response {
    let Some(list) = req.param("symbols").filter(|s| !s.is_empty()) else {
        return bad_request("symbols is required");
    };
    let mut trades = Map::new();
    for raw in list.split(',') {
        let Ok(symbol) = Symbol::parse(raw.trim()) else {
            return error(400, 40_010_001, &format!("invalid symbol: {raw}"));
        };
        if let Some(p) = last_price(snap, book, &symbol) {
            trades.insert(
                symbol.as_str().to_string(),
                trade_json(snap, book, &symbol, p),
            );
        }
    }
    Response::json(200, &json!({ "trades": trades }))
}
