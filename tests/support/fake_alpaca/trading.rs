//! The trading API: account, positions, calendar, clock (the account and
//! the positions are the simulated portfolio's with the order book's fills
//! on top; see `book.rs` and `orders.rs` for the orders themselves).

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
use super::trades::last_price;
use dipwatch::domain::{Account, Position};

/// The account and positions now: the simulated portfolio's as of "now",
/// with the book's fills on top (cash spent or received, shares added or
/// sold, buying power held back by open buys).
pub(super) fn portfolio_now(snap: &Snapshot, book: &Book) -> (Account, Vec<Position>) {
    let (mut a, mut held) = snap.sim.portfolio(as_of(snap.now));
    let reserved = book.reserved();
    if book.deltas.is_empty() && book.cash_delta.is_zero() {
        if book.buying_power.is_some() || !reserved.is_zero() {
            let base = book.buying_power.or(a.buying_power).unwrap_or_default();
            a.buying_power = Some(base - reserved);
        }
        return (a, held);
    }
    for (symbol, delta) in &book.deltas {
        let i = held
            .iter()
            .position(|p| p.symbol.as_str() == symbol.as_str());
        let (qty, cost, price) = match i.map(|i| &held[i]) {
            Some(p) => (
                p.quantity,
                p.quantity * p.avg_entry_price,
                p.current_price.unwrap_or(p.avg_entry_price),
            ),
            None => (
                Decimal::ZERO,
                Decimal::ZERO,
                last_price(snap, book, symbol).unwrap_or_default(),
            ),
        };
        let (qty, cost) = (qty + delta.qty, cost + delta.cost);
        if let Some(i) = i {
            held.remove(i);
        }
        if qty > Decimal::ZERO {
            let avg = (cost / qty).round_dp(4);
            held.push(Position::from_prices(symbol.clone(), qty, avg, price));
        }
    }
    held.sort_by(|x, y| x.symbol.as_str().cmp(y.symbol.as_str()));
    let cash = a.cash.unwrap_or_default() + book.cash_delta;
    let long: Decimal = held.iter().filter_map(|p| p.market_value).sum();
    a.cash = Some(cash);
    a.long_market_value = Some(long);
    a.equity = Some(cash + long);
    a.buying_power = Some(book.buying_power.unwrap_or(cash * Decimal::TWO) - reserved);
    (a, held)
}

/// FNV-1a, for stable fake identifiers.
pub(super) fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A stable UUID-shaped id for `s`.
pub(super) fn fake_uuid(s: &str) -> String {
    let a = fnv(s);
    let b = fnv(&format!("{s}#"));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// A decimal as Alpaca sends it (a string), or `null` when unknown.
pub(super) fn dec(d: impl Into<Option<Decimal>>) -> Value {
    d.into()
        .map_or(Value::Null, |d| Value::String(d.to_string()))
}

pub(super) fn account(snap: &Snapshot, book: &Book) -> Response {
    let as_of = as_of(snap.now);
    let (a, _) = portfolio_now(snap, book);
    let number = format!("PA{:010}", fnv("account") % 10_000_000_000);
    let zero = Value::String("0".into());
    // The simulated account sends every field.
    let long_value = a.long_market_value.unwrap_or_default();
    let mut body = json!({
            "id": fake_uuid("account"),
            "admin_configurations": {},
            "user_configurations": null,
            "account_number": number,
            "status": a.status,
            "crypto_status": "ACTIVE",
            "options_approved_level": 0,
            "options_trading_level": 0,
            "currency": a.currency,
            "buying_power": dec(a.buying_power),
            "regt_buying_power": dec(a.buying_power),
            "daytrading_buying_power": zero,
            "effective_buying_power": dec(a.buying_power),
            "non_marginable_buying_power": dec(a.cash),
            "options_buying_power": dec(a.cash),
            "bod_dtbp": zero,
            "cash": dec(a.cash),
            "accrued_fees": zero,
            "portfolio_value": dec(a.equity),
            "pattern_day_trader": a.pattern_day_trader,
            "trading_blocked": false,
            "transfers_blocked": false,
            "account_blocked": false,
            "created_at": "2024-01-02T15:04:05.123456Z",
            "trade_suspended_by_user": false,
            "multiplier": "2",
            "shorting_enabled": true,
            "equity": dec(a.equity),
            "last_equity": dec(a.last_equity),
            "long_market_value": dec(a.long_market_value),
            "short_market_value": zero,
            "position_market_value": dec(a.long_market_value),
            "initial_margin": dec((long_value / Decimal::TWO).round_dp(2)),
            "maintenance_margin": dec((long_value * Decimal::new(3, 1)).round_dp(2)),
            "last_maintenance_margin": dec((long_value * Decimal::new(3, 1)).round_dp(2)),
            "sma": dec(a.cash),
            "daytrade_count": a.daytrade_count,
            "balance_asof": as_of.pred_opt().map(session_on_or_before).unwrap_or(as_of).to_string(),
            "crypto_tier": 1,
            "intraday_adjustments": zero,
            "pending_reg_taf_fees": zero,
    });
    if let Value::Object(fields) = &mut body {
        for (name, value) in &snap.quirks.account_fields {
            match value {
                Some(v) => fields.insert(name.clone(), v.clone()),
                None => fields.remove(name),
            };
        }
    }
    Response::json(200, &body)
}

pub(super) fn positions(snap: &Snapshot, book: &Book, only: Option<&str>) -> Response {
    let as_of = as_of(snap.now);
    let (_, held) = portfolio_now(snap, book);
    let prev = session_on_or_before(as_of.pred_opt().unwrap_or(as_of));
    let syms: Vec<Symbol> = held.iter().map(|p| sym(p.symbol.as_str())).collect();
    let last_closes: HashMap<Symbol, f64> = snap
        .sim
        .bars(&syms, prev, prev)
        .into_iter()
        .filter_map(|sb| sb.bars.first().map(|b| (sb.symbol, b.close)))
        .collect();
    let objects: Vec<(Symbol, Value)> = held
        .into_iter()
        .map(|p| {
            // The simulated book prices every position.
            let current = p.current_price.unwrap_or_default();
            let lastday = last_closes
                .get(&sym(p.symbol.as_str()))
                .and_then(|c| Decimal::try_from(*c).ok())
                .unwrap_or(current);
            let cost = p.quantity * p.avg_entry_price;
            let plpc = if cost.is_zero() {
                Decimal::ZERO
            } else {
                (p.unrealized_pl.unwrap_or_default() / cost.abs()).round_dp(10)
            };
            let change = if lastday.is_zero() {
                Decimal::ZERO
            } else {
                ((current - lastday) / lastday).round_dp(10)
            };
            let intraday_pl = p.quantity * (current - lastday);
            let intraday_plpc = if lastday.is_zero() || p.quantity.is_zero() {
                Decimal::ZERO
            } else {
                (intraday_pl / (p.quantity * lastday).abs()).round_dp(10)
            };
            let exchange = if fnv(p.symbol.as_str()).is_multiple_of(3) {
                "NYSE"
            } else {
                "NASDAQ"
            };
            let side = if p.quantity.is_sign_negative() {
                "short"
            } else {
                "long"
            };
            let v = json!({
                "asset_id": fake_uuid(p.symbol.as_str()),
                "symbol": p.symbol.as_str(),
                "exchange": exchange,
                "asset_class": "us_equity",
                "asset_marginable": true,
                "qty": dec(p.quantity),
                "avg_entry_price": dec(p.avg_entry_price),
                "side": side,
                "market_value": dec(p.market_value),
                "cost_basis": dec(cost),
                "unrealized_pl": dec(p.unrealized_pl),
                "unrealized_plpc": dec(plpc),
                "unrealized_intraday_pl": dec(intraday_pl),
                "unrealized_intraday_plpc": dec(intraday_plpc),
                "current_price": dec(p.current_price),
                "lastday_price": dec(lastday),
                "change_today": dec(change),
                "qty_available": dec(p.quantity - book.held_for_orders(&sym(p.symbol.as_str()))),
            });
            (sym(p.symbol.as_str()), v)
        })
        .collect();
    match only {
        None => Response::json(
            200,
            &Value::Array(
                objects
                    .into_iter()
                    .map(|(_, v)| v)
                    .chain(snap.quirks.extra_positions.iter().cloned())
                    .collect(),
            ),
        ),
        Some(s) => {
            let wanted = s.to_ascii_uppercase();
            match objects.into_iter().find(|(sym, _)| sym.as_str() == wanted) {
                Some((_, v)) => Response::json(200, &v),
                None => error(404, 40_410_000, "position does not exist"),
            }
        }
    }
}

pub(super) fn calendar_days(snap: &Snapshot, req: &Request) -> Response {
    let start = match req.param("start") {
        None => NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default(),
        Some(s) => match parse_date(s) {
            Some(d) => d,
            None => return bad_request("invalid start"),
        },
    };
    let end = match req.param("end") {
        None => NaiveDate::from_ymd_opt(ny_date(snap.now).year() + 1, 12, 31).unwrap_or(start),
        Some(s) => match parse_date(s) {
            Some(d) => d,
            None => return bad_request("invalid end"),
        },
    };
    let hhmm = |t: DateTime<Utc>| t.with_timezone(&New_York).format("%H:%M").to_string();
    let days: Vec<Value> = calendar::sessions(start, end)
        .into_iter()
        .map(|s| {
            json!({
                "date": s.date.to_string(),
                "open": hhmm(s.open),
                "close": hhmm(s.close),
                "session_open": "0400",
                "session_close": "2000",
                "settlement_date": settlement_date(s.date).to_string(),
            })
        })
        .collect();
    Response::json(200, &Value::Array(days))
}

/// T+1 from 2024-05-28 (T+2 before), counted in trading days.
pub(super) fn settlement_date(date: NaiveDate) -> NaiveDate {
    let t1_from = NaiveDate::from_ymd_opt(2024, 5, 28).unwrap_or(date);
    let n = if date >= t1_from { 1 } else { 2 };
    calendar::trading_days(date + Days::new(1), date + Days::new(15))
        .get(n - 1)
        .copied()
        .unwrap_or(date)
}

/// `/v2/clock`; a test may say the market is open or closed whatever the
/// calendar says (`is_open` then follows it, and the next bells stay the
/// calendar's).
pub(super) fn clock(snap: &Snapshot, book: &Book) -> Response {
    let now = snap.now;
    let today = ny_date(now);
    let sessions = calendar::sessions(today - Days::new(1), today + Days::new(20));
    let current = sessions.iter().find(|s| s.open <= now && now < s.close);
    let next = sessions.iter().find(|s| s.open > now);
    let next_close = current.or(next).map(|s| s.close);
    let is_open = book.market_open.unwrap_or(current.is_some());
    Response::json(
        200,
        &json!({
            "timestamp": ny_rfc3339(now, true),
            "is_open": is_open,
            "next_open": next.map(|s| ny_rfc3339(s.open, false)),
            "next_close": next_close.map(|t| ny_rfc3339(t, false)),
        }),
    )
}

// ---------------------------------------------------------------------------
// Helpers for tests that talk to the fake
// ---------------------------------------------------------------------------

/// The bars Alpaca would send for `symbols` over `from..=to` if nothing were
/// wrong: the simulated market's, for comparing what a client stored.
pub fn expected_bars(
    symbols: &[Symbol],
    from: NaiveDate,
    to: NaiveDate,
) -> BTreeMap<Symbol, Vec<Bar>> {
    SimMarket::new(Vec::new())
        .bars(symbols, from, to)
        .into_iter()
        .map(|sb| (sb.symbol, sb.bars))
        .collect()
}
