//! The API: what a handler sees, error shapes, and the routing table.

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
    if req.method != "GET" {
        let mut r = error(405, 40_510_000, "method not allowed");
        r.headers.push(("Allow".into(), "GET".into()));
        return r;
    }
    match req.path.as_str() {
        "/v2/stocks/bars" => bars(&snap, req),
        "/v2/account" => account(&snap),
        "/v2/positions" => positions(&snap, None),
        "/v2/calendar" => calendar_days(&snap, req),
        "/v2/clock" => clock(&snap),
        p => match p.strip_prefix("/v2/positions/") {
            Some(s) if !s.is_empty() => positions(&snap, Some(s)),
            _ => error(404, 40_410_000, "endpoint not found"),
        },
    }
}
