//! Position shapes a test can inject: options, crypto, malformed.

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

/// A long option position as `/v2/positions` lists it (OCC symbol,
/// `us_option`, empty exchange; the shape of alpaca-py's test fixtures),
/// with every optional money field `null` when `priced` is false.
pub fn option_position(symbol: &str, priced: bool) -> Value {
    let money = |s: &str| {
        if priced {
            Value::String(s.into())
        } else {
            Value::Null
        }
    };
    json!({
        "asset_id": fake_uuid(symbol),
        "symbol": symbol,
        "exchange": "",
        "asset_class": "us_option",
        "asset_marginable": true,
        "qty": "2",
        "avg_entry_price": "3.05",
        "side": "long",
        "market_value": money("1220"),
        "cost_basis": "610",
        "unrealized_pl": money("610"),
        "unrealized_plpc": money("1"),
        "unrealized_intraday_pl": money("12"),
        "unrealized_intraday_plpc": money("0.0099"),
        "current_price": money("6.1"),
        "lastday_price": money("6.04"),
        "change_today": money("0.0099"),
        "qty_available": "2",
    })
}

/// A crypto position (`BTCUSD` or `BTC/USD`), fractional quantity, with a
/// return far above any stock's so counting it would flip the profit rule.
pub fn crypto_position(symbol: &str) -> Value {
    json!({
        "asset_id": fake_uuid(symbol),
        "symbol": symbol,
        "exchange": "CRXL",
        "asset_class": "crypto",
        "asset_marginable": false,
        "qty": "0.012345678",
        "avg_entry_price": "20000",
        "side": "long",
        "market_value": "1234.5678",
        "cost_basis": "246.91356",
        "unrealized_pl": "987.65424",
        "unrealized_plpc": "40",
        "unrealized_intraday_pl": "1.5",
        "unrealized_intraday_plpc": "0.0012",
        "current_price": "100000",
        "lastday_price": "99880",
        "change_today": "0.0012",
        "swap_rate": null,
        "avg_entry_swap_rate": null,
        "usd": null,
        "qty_available": "0.012345678",
    })
}

/// An entry that cannot be read: `qty` is not a number.
pub fn malformed_position(symbol: &str) -> Value {
    json!({
        "asset_id": fake_uuid(symbol),
        "symbol": symbol,
        "exchange": "NYSE",
        "asset_class": "us_equity",
        "qty": "ten",
        "avg_entry_price": "12.5",
        "side": "long",
    })
}
