//! The API: what a handler sees, error shapes, and the routing table
//! (method and path to the handler of each API file).

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

/// What a handler needs, copied out of the lock.
pub(super) struct Snapshot {
    pub(super) universe: Arc<HashSet<Symbol>>,
    pub(super) sim: Arc<SimMarket>,
    pub(super) now: DateTime<Utc>,
    pub(super) quirks: Arc<Quirks>,
}

pub(super) fn error(status: u16, code: u64, message: &str) -> Response {
    Response::json(status, &json!({ "code": code, "message": message }))
}

pub(super) fn unprocessable(message: &str) -> Response {
    error(422, 42_210_000, message)
}

pub(super) fn bad_request(message: &str) -> Response {
    error(400, 40_010_001, message)
}

pub(super) fn route(shared: &Shared, req: &Request) -> Response {
    let (snap, authorized) = {
        let c = lock(&shared.config);
        let authorized = req.header("apca-api-key-id") == Some(c.key_id.as_str())
            && req.header("apca-api-secret-key") == Some(c.secret_key.as_str());
        let snap = Snapshot {
            universe: c.universe.clone(),
            sim: c.sim.clone(),
            now: c.now.unwrap_or_else(Utc::now),
            quirks: c.quirks.clone(),
        };
        (snap, authorized)
    };
    if !authorized {
        return error(401, 40_110_000, "request is not authorized");
    }
    let mut book = lock(&shared.book);
    let path = req.path.as_str();
    match (req.method.as_str(), path) {
        ("GET", "/v2/stocks/bars") => bars(&snap, req),
        ("GET", "/v2/stocks/trades/latest") => trades::latest_trades(&snap, &book, req),
        ("GET", "/v2/account") => account(&snap, &book),
        ("GET", "/v2/positions") => positions(&snap, &book, None),
        ("GET", "/v2/calendar") => calendar_days(&snap, req),
        ("GET", "/v2/clock") => clock(&snap, &book),
        ("GET", "/v2/orders") => orders::list(&book, req),
        ("POST", "/v2/orders") => orders::place(&snap, &mut book, req),
        ("DELETE", "/v2/orders") => orders::cancel_all(&snap, &mut book),
        ("GET", "/v2/orders:by_client_order_id") => {
            orders::by_client_order_id(&snap, &mut book, req)
        }
        (method, p) => {
            if let Some(id) = tail(p, "/v2/orders/") {
                return match method {
                    "GET" => orders::get_order(&snap, &mut book, id),
                    "DELETE" => orders::cancel(&snap, &mut book, id),
                    _ => not_allowed("GET, DELETE"),
                };
            }
            if method != "GET" {
                return match p {
                    "/v2/orders" => not_allowed("GET, POST, DELETE"),
                    _ => not_allowed("GET"),
                };
            }
            if let Some(s) = tail(p, "/v2/positions/") {
                positions(&snap, &book, Some(s))
            } else if let Some(s) = tail(p, "/v2/assets/") {
                assets::asset(&snap, &book, s)
            } else if let Some(s) = p
                .strip_prefix("/v2/stocks/")
                .and_then(|r| r.strip_suffix("/trades/latest"))
                .filter(|s| !s.is_empty() && !s.contains('/'))
            {
                trades::latest_trade(&snap, &book, s)
            } else {
                error(404, 40_410_000, "endpoint not found")
            }
        }
    }
}

/// The non-empty rest of `path` after `prefix`, without a further `/`
/// (an encoded `BTC%2FUSD` is one segment).
fn tail<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    path.strip_prefix(prefix)
        .filter(|s| !s.is_empty() && !s.contains('/'))
}

fn not_allowed(allow: &str) -> Response {
    let mut r = error(405, 40_510_000, "method not allowed");
    r.headers.push(("Allow".into(), allow.into()));
    r
}
