//! Pure: every guard of `[trading]` against one order, each with its
//! limit, the value the order makes and the headroom left. A value equal
//! to its limit passes.

use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;

use super::preview::GuardCheck;
use crate::config::TradingSettings;
use crate::domain::OrderSide;
use crate::numbers::usd;

/// The account and today's orders as the broker says they are now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GuardInputs {
    /// Buy or sell.
    pub side: OrderSide,
    /// `qty * limit`.
    pub cost: Decimal,
    /// The account's equity.
    pub equity: Decimal,
    /// The symbol's market value held now.
    pub held_value: Decimal,
    /// Buying power (`None`: the broker sent none; the guard then fails).
    pub buying_power: Option<Decimal>,
    /// Orders submitted today (the New York trading day), before this one.
    pub orders_today: u32,
    /// Dollars those orders commit.
    pub usd_today: Decimal,
}

fn dec(x: f64) -> Decimal {
    Decimal::from_f64(x).unwrap_or(Decimal::ZERO)
}

fn money(key: &'static str, limit: Decimal, value: Decimal) -> GuardCheck {
    GuardCheck {
        key,
        limit: usd(limit),
        value: usd(value),
        headroom: headroom(limit - value, usd),
        ok: value <= limit,
    }
}

fn headroom(left: Decimal, fmt: impl Fn(Decimal) -> String) -> String {
    if left < Decimal::ZERO {
        format!("none, over by {}", fmt(-left))
    } else {
        fmt(left)
    }
}

fn percent(d: Decimal) -> String {
    format!("{:.2}%", d.round_dp(2))
}

/// The symbol's weight in equity after the order, percent (0 without equity).
pub(crate) fn weight_after(inp: &GuardInputs) -> Decimal {
    let value = match inp.side {
        OrderSide::Buy => inp.held_value + inp.cost,
        OrderSide::Sell => (inp.held_value - inp.cost).max(Decimal::ZERO),
    };
    if inp.equity <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    value / inp.equity * Decimal::ONE_HUNDRED
}

/// Every guard that applies to the order (the position and buying power
/// guards to buys only).
pub(crate) fn check(s: &TradingSettings, inp: &GuardInputs) -> Vec<GuardCheck> {
    let mut out = vec![money(
        "trading.max_order_usd",
        dec(s.max_order_usd),
        inp.cost,
    )];
    if inp.side == OrderSide::Buy {
        let limit = dec(s.max_position_pct);
        let value = if inp.equity > Decimal::ZERO {
            weight_after(inp)
        } else {
            // No equity to weigh against: the order would be all of it.
            Decimal::ONE_HUNDRED
        };
        out.push(GuardCheck {
            key: "trading.max_position_pct",
            limit: percent(limit),
            value: percent(value),
            headroom: headroom(limit - value, percent),
            ok: value <= limit,
        });
    }
    let n = inp.orders_today.saturating_add(1);
    let per_day = s.max_orders_per_day;
    out.push(GuardCheck {
        key: "trading.max_orders_per_day",
        limit: orders(per_day),
        value: orders(n),
        headroom: match per_day.checked_sub(n) {
            Some(left) => orders(left),
            None => format!("none, over by {}", orders(n - per_day)),
        },
        ok: n <= per_day,
    });
    out.push(money(
        "trading.max_daily_usd",
        dec(s.max_daily_usd),
        inp.usd_today + inp.cost,
    ));
    if inp.side == OrderSide::Buy {
        out.push(match inp.buying_power {
            Some(bp) => money("buying_power", bp, inp.cost),
            None => GuardCheck {
                key: "buying_power",
                limit: "unknown (the broker sent none)".into(),
                value: usd(inp.cost),
                headroom: "unknown".into(),
                ok: false,
            },
        });
    }
    out
}

/// `n` orders, in words ("1 order", "10 orders").
fn orders(n: u32) -> String {
    match n {
        1 => "1 order".into(),
        n => format!("{n} orders"),
    }
}
