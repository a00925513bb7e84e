//! The trading API's orders, behaving like Alpaca's: `POST /v2/orders`
//! (validated in Alpaca's order: the body, the asset, the quantity and
//! prices, a reused `client_order_id`, buying power, shares available),
//! `GET /v2/orders` (`status`, `after`, `until`, `limit`, `direction`,
//! `symbols`), `GET /v2/orders/{id}` and
//! `GET /v2/orders:by_client_order_id` (each look advances the order's
//! script one step), `DELETE /v2/orders/{id}` (204; 422 once final; 404)
//! and `DELETE /v2/orders` (207, one entry per open order).

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

use super::assets::asset_class;
use super::book::{Book, FakeOrder, order_json};
use super::trades::last_price;
use super::trading::portfolio_now;

/// Alpaca's largest `limit` on `GET /v2/orders`.
pub const MAX_ORDERS_LIMIT: usize = 500;

fn invalid(message: &str) -> Response {
    error(422, 40_010_001, message)
}

fn forbidden(message: &str) -> Response {
    error(403, 40_310_000, message)
}

/// A decimal field sent as a string or a number; `Err` when present but
/// not a number.
fn decimal_field(body: &Map<String, Value>, name: &str) -> Result<Option<Decimal>, ()> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s.trim().parse::<Decimal>().map(Some).map_err(|_| ()),
        Some(Value::Number(n)) => n.to_string().parse::<Decimal>().map(Some).map_err(|_| ()),
        Some(_) => Err(()),
    }
}

fn text_field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

/// What a valid order body asks for.
struct Ask {
    symbol: Symbol,
    side: &'static str,
    order_type: &'static str,
    time_in_force: String,
    qty: Decimal,
    limit_price: Option<Decimal>,
    client_order_id: Option<String>,
    extended_hours: bool,
}

/// Read and check an order body as Alpaca does, before looking at the
/// account.
fn parse_ask(snap: &Snapshot, book: &Book, raw: &[u8]) -> Result<Ask, Response> {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(raw) else {
        return Err(error(400, 40_010_000, "request body format is invalid"));
    };
    let Some(symbol_text) = text_field(&body, "symbol").filter(|s| !s.is_empty()) else {
        return Err(invalid("symbol is required"));
    };
    match asset_class(snap, book, symbol_text).as_deref() {
        None => return Err(invalid(&format!("asset \"{symbol_text}\" not found"))),
        Some("us_equity") => {}
        Some(class) => {
            return Err(invalid(&format!(
                "{class} orders are not supported for this account"
            )));
        }
    }
    if book.untradable.contains(symbol_text) {
        return Err(invalid(&format!("asset {symbol_text} is not tradable")));
    }
    let symbol = Symbol::parse(symbol_text).map_err(|_| invalid("invalid symbol"))?;
    let side = match text_field(&body, "side") {
        Some("buy") => "buy",
        Some("sell") => "sell",
        _ => return Err(invalid("invalid side")),
    };
    let order_type = match text_field(&body, "type").or(text_field(&body, "order_type")) {
        Some("market") => "market",
        Some("limit") => "limit",
        Some(_) | None => return Err(invalid("invalid order type")),
    };
    let time_in_force = match text_field(&body, "time_in_force") {
        Some(t @ ("day" | "gtc" | "opg" | "cls" | "ioc" | "fok")) => t.to_string(),
        _ => return Err(invalid("invalid time_in_force")),
    };
    if body.get("notional").is_some_and(|v| !v.is_null()) {
        return Err(invalid("notional orders are not supported by this fake"));
    }
    let qty = match decimal_field(&body, "qty") {
        Err(()) => return Err(invalid("invalid qty")),
        Ok(None) => return Err(invalid("qty or notional is required")),
        Ok(Some(q)) if q <= Decimal::ZERO => return Err(invalid("qty must be > 0")),
        Ok(Some(q)) => q,
    };
    let limit_price = match decimal_field(&body, "limit_price") {
        Err(()) => return Err(invalid("invalid limit_price")),
        Ok(None) if order_type == "limit" => return Err(invalid("limit_price is required")),
        Ok(Some(_)) if order_type == "market" => {
            return Err(invalid("limit_price must not be given for market orders"));
        }
        Ok(Some(p)) if p <= Decimal::ZERO => return Err(invalid("limit_price must be > 0")),
        Ok(Some(p)) if p >= Decimal::ONE && p.normalize().scale() > 2 => {
            return Err(error(
                422,
                42_210_000,
                &format!(
                    "invalid limit_price {p}. sub-penny increment does not fulfill minimum pricing criteria"
                ),
            ));
        }
        Ok(p) => p,
    };
    let client_order_id = match body.get("client_order_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() <= 128 => Some(s.clone()),
        Some(Value::String(_)) => {
            return Err(invalid(
                "client_order_id must be no more than 128 characters",
            ));
        }
        Some(_) => return Err(invalid("invalid client_order_id")),
    };
    Ok(Ask {
        symbol,
        side,
        order_type,
        time_in_force,
        qty,
        limit_price,
        client_order_id,
        extended_hours: body
            .get("extended_hours")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// Refuse what the account cannot carry: a buy over buying power, a sell
/// of more shares than are held and not already held for other sells.
fn check_account(snap: &Snapshot, book: &Book, ask: &Ask, price: Decimal) -> Result<(), Response> {
    let (account, held) = portfolio_now(snap, book);
    if ask.side == "buy" {
        let cost = ask.qty * ask.limit_price.unwrap_or(price);
        if cost > account.buying_power.unwrap_or_default() {
            return Err(forbidden("insufficient buying power"));
        }
        return Ok(());
    }
    let existing = held
        .iter()
        .find(|p| p.symbol.as_str() == ask.symbol.as_str())
        .map_or(Decimal::ZERO, |p| p.quantity);
    let held_for_orders = book.held_for_orders(&ask.symbol);
    let available = (existing - held_for_orders).max(Decimal::ZERO);
    if ask.qty > available {
        let body = json!({
            "available": available.to_string(),
            "code": 40_310_000,
            "existing_qty": existing.to_string(),
            "held_for_orders": held_for_orders.to_string(),
            "message": format!(
                "insufficient qty available for order (requested: {}, available: {available})",
                ask.qty
            ),
            "symbol": ask.symbol.as_str(),
        });
        return Err(Response::json(403, &body));
    }
    Ok(())
}

/// `POST /v2/orders`.
pub(super) fn place(snap: &Snapshot, book: &mut Book, req: &Request) -> Response {
    let ask = match parse_ask(snap, book, &req.body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Some(id) = &ask.client_order_id
        && book.find_client(id).is_some()
    {
        return invalid("client_order_id must be unique");
    }
    let Some(price) = last_price(snap, book, &ask.symbol) else {
        return invalid(&format!("asset \"{}\" not found", ask.symbol));
    };
    if let Err(r) = check_account(snap, book, &ask, price) {
        return r;
    }
    book.placed += 1;
    let id = fake_uuid(&format!("order#{}#{}", book.placed, snap.now));
    let client_order_id = ask.client_order_id.unwrap_or_else(|| fake_uuid(&id));
    book.orders.push(FakeOrder {
        id,
        client_order_id,
        symbol: ask.symbol,
        side: ask.side.to_string(),
        order_type: ask.order_type.to_string(),
        time_in_force: ask.time_in_force,
        qty: ask.qty,
        limit_price: ask.limit_price,
        extended_hours: ask.extended_hours,
        status: "pending_new",
        filled_qty: Decimal::ZERO,
        filled_avg_price: None,
        created_at: snap.now,
        updated_at: snap.now,
        filled_at: None,
        canceled_at: None,
        expired_at: None,
        failed_at: None,
        script: book.script.0.iter().cloned().collect(),
        reject_reason: None,
    });
    let idx = book.orders.len() - 1;
    book.step(idx, price, snap.now);
    Response::json(200, &order_json(&book.orders[idx]))
}

/// Advance order `idx` one step (a look at it), then answer it.
fn look(snap: &Snapshot, book: &mut Book, idx: usize) -> Response {
    let symbol = book.orders[idx].symbol.clone();
    let price = last_price(snap, book, &symbol).unwrap_or_default();
    book.step(idx, price, snap.now);
    Response::json(200, &order_json(&book.orders[idx]))
}

fn not_found() -> Response {
    error(404, 40_410_000, "order not found")
}

/// `GET /v2/orders/{id}`.
pub(super) fn get_order(snap: &Snapshot, book: &mut Book, id: &str) -> Response {
    match book.orders.iter().position(|o| o.id == id) {
        Some(idx) => look(snap, book, idx),
        None => not_found(),
    }
}

/// `GET /v2/orders:by_client_order_id?client_order_id=`.
pub(super) fn by_client_order_id(snap: &Snapshot, book: &mut Book, req: &Request) -> Response {
    let Some(id) = req.param("client_order_id").filter(|s| !s.is_empty()) else {
        return invalid("client_order_id is required");
    };
    match book.orders.iter().position(|o| o.client_order_id == id) {
        Some(idx) => look(snap, book, idx),
        None => not_found(),
    }
}

/// `GET /v2/orders`: `status` open (default), closed or all; `after` and
/// `until` (exclusive, on the submission time); `direction` desc (default)
/// or asc; `limit` 50 by default, at most 500; `symbols` a comma list.
pub(super) fn list(book: &Book, req: &Request) -> Response {
    let status = req.param("status").unwrap_or("open");
    if !matches!(status, "open" | "closed" | "all") {
        return invalid("invalid status");
    }
    let limit = match req.param("limit").map(str::parse::<usize>) {
        None => 50,
        Some(Ok(n)) if (1..=MAX_ORDERS_LIMIT).contains(&n) => n,
        Some(_) => return invalid("invalid limit"),
    };
    let bound = |name: &str| match req.param(name) {
        None => Ok(None),
        Some(s) => parse_instant(s).map(Some).ok_or(()),
    };
    let (Ok(after), Ok(until)) = (bound("after"), bound("until")) else {
        return invalid("invalid after or until");
    };
    let asc = match req.param("direction").unwrap_or("desc") {
        "asc" => true,
        "desc" => false,
        _ => return invalid("invalid direction"),
    };
    let symbols: Option<HashSet<String>> = req
        .param("symbols")
        .filter(|s| !s.is_empty())
        .map(|s| s.split(',').map(|t| t.trim().to_string()).collect());
    let mut chosen: Vec<&FakeOrder> = book
        .orders
        .iter()
        .filter(|o| match status {
            "open" => o.is_open(),
            "closed" => !o.is_open(),
            _ => true,
        })
        .filter(|o| after.is_none_or(|t| o.created_at > t))
        .filter(|o| until.is_none_or(|t| o.created_at < t))
        .filter(|o| {
            symbols
                .as_ref()
                .is_none_or(|s| s.contains(o.symbol.as_str()))
        })
        .collect();
    // Newest first (ties: the later placed first), then the direction.
    chosen.reverse();
    chosen.truncate(limit);
    if asc {
        chosen.reverse();
    }
    Response::json(
        200,
        &Value::Array(chosen.into_iter().map(order_json).collect()),
    )
}

/// `DELETE /v2/orders/{id}`: 204 and canceled at once; 422 when it is no
/// longer cancelable; 404 when unknown.
pub(super) fn cancel(snap: &Snapshot, book: &mut Book, id: &str) -> Response {
    match book.orders.iter().position(|o| o.id == id) {
        None => not_found(),
        Some(idx) if !book.orders[idx].is_open() => {
            error(422, 42_210_000, "order is not cancelable")
        }
        Some(idx) => {
            book.cancel(idx, snap.now);
            Response::empty(204)
        }
    }
}

/// `DELETE /v2/orders`: cancel every open order; 207 with one entry each.
pub(super) fn cancel_all(snap: &Snapshot, book: &mut Book) -> Response {
    let open: Vec<usize> = (0..book.orders.len())
        .filter(|&i| book.orders[i].is_open())
        .collect();
    let mut entries = Vec::new();
    for idx in open {
        book.cancel(idx, snap.now);
        entries.push(json!({ "id": book.orders[idx].id, "status": 200 }));
    }
    Response::json(207, &Value::Array(entries))
}
