//! The order book behind the fake's trading API: orders as placed, the
//! script of statuses each goes through, and what their fills did to the
//! account (cash) and the positions, on top of the simulated portfolio.
//! Orders are written in Alpaca's wire shape by [`order_json`], built from
//! the order objects alpaca-py's tests record (every field name, decimals
//! as strings, the fields an order does not have yet `null`).

#![allow(dead_code, unused_imports)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use chrono::{DateTime, SecondsFormat, Utc};
use dipwatch::domain::Symbol;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::trading::{dec, fake_uuid};

/// One step of an order's life, applied when the order is placed (the
/// first) and then one per `GET` of that order (or per
/// [`super::FakeAlpaca::advance_order`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `new`: received, not yet routed.
    New,
    /// `pending_new`: received by Alpaca, not yet acknowledged.
    PendingNew,
    /// `accepted`: acknowledged, working.
    Accepted,
    /// `partially_filled`: half the shares (rounded down, at least one)
    /// fill.
    PartialFill,
    /// `filled`: every share left fills.
    Fill,
    /// `canceled`.
    Cancel,
    /// `expired`: its time in force ran out.
    Expire,
    /// `rejected` (Alpaca's order object has no reason field; the reason
    /// is for the test's own record).
    Reject(String),
}

impl Step {
    fn status(&self) -> &'static str {
        match self {
            Step::New => "new",
            Step::PendingNew => "pending_new",
            Step::Accepted => "accepted",
            Step::PartialFill => "partially_filled",
            Step::Fill => "filled",
            Step::Cancel => "canceled",
            Step::Expire => "expired",
            Step::Reject(_) => "rejected",
        }
    }
}

/// The statuses an order placed later goes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderScript(pub Vec<Step>);

impl OrderScript {
    /// `accepted`, and it stays working (the default).
    pub fn stays_open() -> Self {
        Self(vec![Step::Accepted])
    }

    /// `accepted`, then `filled` at the first look.
    pub fn fills() -> Self {
        Self(vec![Step::Accepted, Step::Fill])
    }

    /// `accepted`, `partially_filled`, `filled`.
    pub fn fills_in_two() -> Self {
        Self(vec![Step::Accepted, Step::PartialFill, Step::Fill])
    }

    /// `pending_new`, then `rejected`.
    pub fn rejected(reason: &str) -> Self {
        Self(vec![Step::PendingNew, Step::Reject(reason.into())])
    }

    /// `accepted`, then `expired` unfilled.
    pub fn expires() -> Self {
        Self(vec![Step::Accepted, Step::Expire])
    }

    /// The whole life the recorded fixtures show: `new`, `accepted`,
    /// `partially_filled`, `filled`.
    pub fn every_fill_state() -> Self {
        Self(vec![
            Step::New,
            Step::Accepted,
            Step::PartialFill,
            Step::Fill,
        ])
    }
}

impl Default for OrderScript {
    fn default() -> Self {
        Self::stays_open()
    }
}

/// An order as the fake holds it.
#[derive(Debug, Clone)]
pub(super) struct FakeOrder {
    pub(super) id: String,
    pub(super) client_order_id: String,
    pub(super) symbol: Symbol,
    pub(super) side: String,
    pub(super) order_type: String,
    pub(super) time_in_force: String,
    pub(super) qty: Decimal,
    pub(super) limit_price: Option<Decimal>,
    pub(super) extended_hours: bool,
    pub(super) status: &'static str,
    pub(super) filled_qty: Decimal,
    pub(super) filled_avg_price: Option<Decimal>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
    pub(super) filled_at: Option<DateTime<Utc>>,
    pub(super) canceled_at: Option<DateTime<Utc>>,
    pub(super) expired_at: Option<DateTime<Utc>>,
    pub(super) failed_at: Option<DateTime<Utc>>,
    /// Steps not yet applied.
    pub(super) script: VecDeque<Step>,
    /// Why it was rejected, when a script said so.
    pub(super) reject_reason: Option<String>,
}

impl FakeOrder {
    /// Still working: may fill or be canceled.
    pub(super) fn is_open(&self) -> bool {
        !matches!(self.status, "filled" | "canceled" | "expired" | "rejected")
    }

    /// Shares not yet filled.
    pub(super) fn left(&self) -> Decimal {
        (self.qty - self.filled_qty).max(Decimal::ZERO)
    }
}

/// What fills changed in one symbol, on top of the simulated position.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Delta {
    /// Shares added (negative: sold).
    pub(super) qty: Decimal,
    /// Cost added to the position's basis (negative: sold at average cost).
    pub(super) cost: Decimal,
}

/// The book: orders, scripts, fills, and the knobs tests turn.
#[derive(Debug, Default)]
pub(super) struct Book {
    /// Oldest first.
    pub(super) orders: Vec<FakeOrder>,
    /// The script orders placed from now on follow.
    pub(super) script: OrderScript,
    /// Cash moved by fills (negative: spent).
    pub(super) cash_delta: Decimal,
    /// Per symbol: what fills changed.
    pub(super) deltas: BTreeMap<Symbol, Delta>,
    /// Buying power before open buys (`None`: twice the cash, Reg T).
    pub(super) buying_power: Option<Decimal>,
    /// Last trade prices set by tests (else the simulated latest close).
    pub(super) prices: HashMap<Symbol, Decimal>,
    /// When every last trade happened (`None`: "now").
    pub(super) trade_time: Option<DateTime<Utc>>,
    /// `/v2/clock`'s `is_open` as set (`None`: the calendar's).
    pub(super) market_open: Option<bool>,
    /// Asset classes set by tests (`crypto`, `us_option`); others are
    /// `us_equity` when in the universe.
    pub(super) asset_classes: HashMap<String, String>,
    /// Symbols listed as not tradable.
    pub(super) untradable: HashSet<String>,
    /// Orders placed so far (ids are made from it).
    pub(super) placed: u64,
}

impl Book {
    pub(super) fn find(&mut self, id: &str) -> Option<&mut FakeOrder> {
        self.orders.iter_mut().find(|o| o.id == id)
    }

    pub(super) fn find_client(&mut self, client_order_id: &str) -> Option<&mut FakeOrder> {
        self.orders
            .iter_mut()
            .find(|o| o.client_order_id == client_order_id)
    }

    /// Dollars open buys hold back from buying power.
    pub(super) fn reserved(&self) -> Decimal {
        self.orders
            .iter()
            .filter(|o| o.is_open() && o.side == "buy")
            .map(|o| o.left() * o.limit_price.unwrap_or_default())
            .sum()
    }

    /// Shares of `symbol` open sells hold.
    pub(super) fn held_for_orders(&self, symbol: &Symbol) -> Decimal {
        self.orders
            .iter()
            .filter(|o| o.is_open() && o.side == "sell" && &o.symbol == symbol)
            .map(FakeOrder::left)
            .sum()
    }

    /// Apply the next step of order `idx` (if any is left and the order is
    /// still open); `price` is the last trade of its symbol. The new
    /// status, when it changed.
    pub(super) fn step(
        &mut self,
        idx: usize,
        price: Decimal,
        now: DateTime<Utc>,
    ) -> Option<&'static str> {
        let order = self.orders.get_mut(idx)?;
        if !order.is_open() {
            order.script.clear();
            return None;
        }
        let step = order.script.pop_front()?;
        let fill = match &step {
            Step::PartialFill => {
                let half = (order.qty / Decimal::TWO).floor().max(Decimal::ONE);
                (half - order.filled_qty)
                    .min(order.left())
                    .max(Decimal::ZERO)
            }
            Step::Fill => order.left(),
            _ => Decimal::ZERO,
        };
        order.status = step.status();
        order.updated_at = now;
        match step {
            Step::Cancel => order.canceled_at = Some(now),
            Step::Expire => order.expired_at = Some(now),
            Step::Reject(reason) => {
                order.failed_at = Some(now);
                order.reject_reason = Some(reason);
            }
            Step::Fill => order.filled_at = Some(now),
            _ => {}
        }
        if fill > Decimal::ZERO {
            let at = fill_price(order, price);
            let before = order.filled_qty * order.filled_avg_price.unwrap_or_default();
            order.filled_qty += fill;
            order.filled_avg_price = Some(((before + fill * at) / order.filled_qty).round_dp(4));
            let (symbol, side) = (order.symbol.clone(), order.side.clone());
            self.record_fill(&symbol, &side, fill, at);
        }
        Some(self.orders[idx].status)
    }

    /// Move cash and shares for `qty` shares of `symbol` filled at `at`.
    fn record_fill(&mut self, symbol: &Symbol, side: &str, qty: Decimal, at: Decimal) {
        let delta = self.deltas.entry(symbol.clone()).or_default();
        if side == "buy" {
            self.cash_delta -= qty * at;
            delta.qty += qty;
            delta.cost += qty * at;
        } else {
            self.cash_delta += qty * at;
            delta.qty -= qty;
            // The basis shrinks at the fill price: close enough for a fake
            // (the realized profit is not tracked).
            delta.cost -= qty * at;
        }
    }

    /// Cancel order `idx` now (a `DELETE`, a halt).
    pub(super) fn cancel(&mut self, idx: usize, now: DateTime<Utc>) {
        if let Some(o) = self.orders.get_mut(idx) {
            o.status = "canceled";
            o.canceled_at = Some(now);
            o.updated_at = now;
            o.script.clear();
        }
    }
}

/// What a marketable limit order fills at: the last trade, but never past
/// the limit; a market order at the last trade.
fn fill_price(order: &FakeOrder, last: Decimal) -> Decimal {
    match (order.limit_price, order.side.as_str()) {
        (Some(limit), "buy") => last.min(limit),
        (Some(limit), _) => last.max(limit),
        (None, _) => last,
    }
}

/// Alpaca's timestamps on orders: UTC, microseconds, `Z`.
fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn opt_stamp(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(stamp(t)))
}

/// The order in Alpaca's wire shape (the fields of alpaca-py's recorded
/// `/v2/orders` objects, in their order).
pub(super) fn order_json(o: &FakeOrder) -> Value {
    json!({
        "id": o.id,
        "client_order_id": o.client_order_id,
        "created_at": stamp(o.created_at),
        "updated_at": stamp(o.updated_at),
        "submitted_at": stamp(o.created_at),
        "filled_at": opt_stamp(o.filled_at),
        "expired_at": opt_stamp(o.expired_at),
        "canceled_at": opt_stamp(o.canceled_at),
        "failed_at": opt_stamp(o.failed_at),
        "replaced_at": null,
        "replaced_by": null,
        "replaces": null,
        "asset_id": fake_uuid(o.symbol.as_str()),
        "symbol": o.symbol.as_str(),
        "asset_class": "us_equity",
        "notional": null,
        "qty": dec(o.qty),
        "filled_qty": dec(o.filled_qty),
        "filled_avg_price": dec(o.filled_avg_price),
        "order_class": "simple",
        "order_type": o.order_type,
        "type": o.order_type,
        "side": o.side,
        "position_intent": if o.side == "buy" { "buy_to_open" } else { "sell_to_close" },
        "time_in_force": o.time_in_force,
        "limit_price": dec(o.limit_price),
        "stop_price": null,
        "status": o.status,
        "extended_hours": o.extended_hours,
        "legs": null,
        "trail_percent": null,
        "trail_price": null,
        "hwm": null,
        "subtag": null,
        "source": null,
        "expires_at": null,
    })
}
