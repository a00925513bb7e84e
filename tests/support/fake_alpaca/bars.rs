//! The market-data API: `/v2/stocks/bars`, paged by `next_page_token`.

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

/// Alpaca's answer to a bars request over a ticker it does not accept, as
/// recorded (the ticker is replaced by the one refused); source in
/// `tests/data/alpaca/SOURCES.md`.
pub const INVALID_SYMBOL_BODY: &str = include_str!("../../data/alpaca/invalid_symbol.json");

/// A refusal that names no symbol: not recorded from Alpaca (see
/// `tests/data/alpaca/SOURCES.md`), the case the client bisects for.
pub const INVALID_SYMBOLS_UNNAMED: &str =
    include_str!("../../data/alpaca/invalid_symbols_unnamed.json");

/// The timeframe parameter: `Ok(true)` for daily, `Ok(false)` for a valid
/// timeframe the fake does not serve, `Err` for an invalid one.
pub(super) fn daily_timeframe(tf: &str) -> Result<bool, ()> {
    let digits = tf.chars().take_while(char::is_ascii_digit).count();
    let (amount, unit) = tf.split_at(digits);
    let amount: u32 = if amount.is_empty() {
        1
    } else {
        amount.parse().map_err(|_| ())?
    };
    let ok = match unit {
        "Min" | "T" => (1..=59).contains(&amount),
        "Hour" | "H" => (1..=23).contains(&amount),
        "Day" | "D" => amount == 1,
        "Week" | "W" => [1, 2, 4, 6, 8, 12].contains(&amount),
        "Month" | "M" => [1, 2, 3, 4, 6, 12].contains(&amount),
        _ => false,
    };
    if !ok {
        return Err(());
    }
    Ok(matches!(unit, "Day" | "D"))
}

pub(super) struct BarsQuery {
    pub(super) start: DateTime<Utc>,
    pub(super) end: DateTime<Utc>,
    pub(super) desc: bool,
}

pub(super) fn bars(snap: &Snapshot, req: &Request) -> Response {
    let Some(raw_symbols) = req.param("symbols").filter(|s| !s.trim().is_empty()) else {
        return unprocessable("invalid symbols: the symbols parameter is required");
    };
    let mut symbols = Vec::new();
    for raw in raw_symbols.split(',') {
        match Symbol::parse(raw) {
            Ok(s) => symbols.push(s),
            Err(_) => return bad_request(&format!("invalid symbol: {:?}", raw.trim())),
        }
    }
    symbols.sort();
    symbols.dedup();
    // Alpaca refuses the whole request over one ticker it does not accept.
    if let Some(bad) = symbols.iter().find(|s| snap.quirks.refused.contains(*s)) {
        let body = if snap.quirks.refuse_unnamed {
            INVALID_SYMBOLS_UNNAMED.to_string()
        } else {
            INVALID_SYMBOL_BODY.replace("BC-C", bad.as_str())
        };
        let mut r = Response::json(400, &json!({}));
        r.body = body.trim().as_bytes().to_vec();
        return r;
    }

    match req.param("timeframe").map(daily_timeframe) {
        None => return unprocessable("invalid timeframe: the timeframe parameter is required"),
        Some(Err(())) => return unprocessable("invalid timeframe"),
        Some(Ok(false)) => {
            return unprocessable("unsupported timeframe: this fake serves 1Day bars only");
        }
        Some(Ok(true)) => {}
    }
    let limit = match req.param("limit") {
        None => DEFAULT_BARS_LIMIT,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if n > MAX_BARS_LIMIT as i64 => {
                return unprocessable(&format!(
                    "invalid limit: exceeded the maximum allowed ({MAX_BARS_LIMIT})"
                ));
            }
            Ok(n) if n >= 1 => usize::try_from(n).unwrap_or(DEFAULT_BARS_LIMIT),
            _ => return unprocessable(&format!("invalid limit: {l:?}")),
        },
    };
    if let Some(a) = req.param("adjustment") {
        let known = ["raw", "split", "dividend", "spin-off", "all"];
        if !a.split(',').all(|p| known.contains(&p.trim())) {
            return unprocessable("invalid adjustment");
        }
    }
    if let Some(f) = req.param("feed")
        && !["sip", "iex", "boats", "otc", "delayed_sip"].contains(&f)
    {
        return unprocessable("invalid feed");
    }
    let desc = match req.param("sort") {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return unprocessable("invalid sort"),
    };
    let start = match req.param("start") {
        None => ny_midnight(ny_date(snap.now)),
        Some(s) => match parse_instant(s) {
            Some(t) => t,
            None => return unprocessable("invalid start"),
        },
    };
    let end = match req.param("end") {
        None => snap.now,
        Some(s) => match parse_instant(s) {
            Some(t) => t,
            None => return unprocessable("invalid end"),
        },
    };
    if start > end {
        return unprocessable("end should not be before start");
    }
    let q = BarsQuery { start, end, desc };

    // Where this page starts: (index into `symbols`, index into its bars).
    let (first_symbol, first_bar) = match req.param("page_token").filter(|t| !t.is_empty()) {
        None => (0, 0),
        Some(token) => match decode_token(token, &symbols) {
            Some(pos) => pos,
            None => return bad_request("invalid page token"),
        },
    };

    let mut out: Map<String, Value> = Map::new();
    let mut room = limit;
    let mut next: Option<(usize, usize)> = None;
    for (i, symbol) in symbols.iter().enumerate().skip(first_symbol) {
        let wire = symbol_bars(snap, symbol, &q);
        let from = if i == first_symbol { first_bar } else { 0 };
        if from >= wire.len() {
            continue;
        }
        if room == 0 {
            next = Some((i, from));
            break;
        }
        let take = room.min(wire.len() - from);
        out.insert(
            symbol.as_str().to_string(),
            Value::Array(wire[from..from + take].to_vec()),
        );
        room -= take;
        if from + take < wire.len() {
            next = Some((i, from + take));
            break;
        }
    }
    if snap.quirks.page_token_loop {
        next = Some((0, 0));
    }
    let token = next.and_then(|(i, k)| symbols.get(i).map(|s| encode_token(s, k)));
    Response::json(200, &json!({ "bars": out, "next_page_token": token }))
}

/// One symbol's bars for a query, as JSON objects, quirks applied.
pub(super) fn symbol_bars(snap: &Snapshot, symbol: &Symbol, q: &BarsQuery) -> Vec<Value> {
    let quirks = &snap.quirks;
    if quirks.no_bars.contains(symbol)
        || (!snap.universe.is_empty() && !snap.universe.contains(symbol))
    {
        return Vec::new();
    }
    let from = ny_date(q.start);
    let to = ny_date(q.end.min(snap.now));
    if from > to {
        return Vec::new();
    }
    let latest = latest_published(snap.now);
    let mut list: Vec<Bar> = snap
        .sim
        .bars(std::slice::from_ref(symbol), from, to)
        .into_iter()
        .next()
        .map(|s| s.bars)
        .unwrap_or_default();
    list.retain(|b| {
        let t = ny_midnight(b.date);
        t >= q.start
            && t <= q.end
            && b.date <= latest
            && !quirks.missing_days.contains(&b.date)
            && !(quirks.missing_latest.contains(symbol) && b.date == latest)
    });
    let kinds = quirks.invalid_bars.get(symbol);
    let mut wire: Vec<Value> = list
        .iter()
        .map(|b| wire_bar(b, kinds.and_then(|k| BadBar::on(b.date, k))))
        .collect();
    if quirks.duplicate_bars.contains(symbol) && !wire.is_empty() {
        if wire.len() >= 3 {
            wire.insert(0, wire[0].clone());
        }
        wire.push(wire[wire.len() - 1].clone());
    }
    if q.desc {
        wire.reverse();
    }
    if quirks.null_bar.contains(symbol) && !wire.is_empty() {
        wire.push(Value::Null);
    }
    wire
}

/// A bar as Alpaca sends it (`t o h l c v n vw`), possibly spoiled.
pub(super) fn wire_bar(b: &Bar, bad: Option<BadBar>) -> Value {
    let (mut o, mut h, mut l, mut c) = (b.open, b.high, b.low, b.close);
    let mut vw = b.vwap;
    match bad {
        Some(BadBar::NegativePrice) => c = -c.abs().max(0.01),
        Some(BadBar::ZeroPrice) => o = 0.0,
        Some(BadBar::HighBelowLow) => {
            std::mem::swap(&mut h, &mut l);
            if h == l {
                l = h + 1.0;
            }
        }
        Some(BadBar::HugeValue) => {
            h = 1e300;
            vw = Some(1e300);
        }
        Some(BadBar::MissingField) | None => {}
    }
    let mut m = Map::new();
    m.insert("t".into(), Value::String(bar_timestamp(b.date)));
    m.insert("o".into(), json!(o));
    m.insert("h".into(), json!(h));
    m.insert("l".into(), json!(l));
    if bad != Some(BadBar::MissingField) {
        m.insert("c".into(), json!(c));
    }
    m.insert("v".into(), json!(b.volume));
    if let Some(n) = b.trade_count {
        m.insert("n".into(), json!(n));
    }
    if let Some(vw) = vw {
        m.insert("vw".into(), json!(vw));
    }
    Value::Object(m)
}

/// The opaque page token: base64 of `SYMBOL|index`.
pub(super) fn encode_token(symbol: &Symbol, index: usize) -> String {
    base64_encode(format!("{}|{index}", symbol.as_str()).as_bytes())
}

pub(super) fn decode_token(token: &str, symbols: &[Symbol]) -> Option<(usize, usize)> {
    let raw = String::from_utf8(base64_decode(token)?).ok()?;
    let (s, k) = raw.split_once('|')?;
    let i = symbols.iter().position(|x| x.as_str() == s)?;
    Some((i, k.parse().ok()?))
}

pub(super) const B64: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub(super) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for j in 0..4 {
            if j <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * j)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub(super) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if s.is_empty() || !s.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for (ci, chunk) in s.chunks(4).enumerate() {
        let last = ci == s.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|c| **c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            let v = B64.iter().position(|x| *x == c)?;
            n = (n << 6) | u32::try_from(v).ok()?;
        }
        n <<= 6 * pad;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}
