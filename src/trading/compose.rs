//! Pure: an ask and the facts of now into the figures of a preview
//! (shares, limit, cost, weights, cash, guards), the same arithmetic at
//! preview and at confirm.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::gather::Facts;
use super::guards::{self, GuardInputs};
use super::preview::{Ask, GuardCheck};
use super::refusal::Refusal;
use super::sizing::{self, SizeInputs};
use crate::config::TradingSettings;
use crate::domain::{OrderSide, Symbol};
use crate::risk::RiskReport;

/// The figures of one order against the facts of now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Assessed {
    /// `qty * limit`.
    pub cost: Decimal,
    /// The symbol's weight after, percent.
    pub weight_after_pct: f64,
    /// Cash after it fills at the limit.
    pub cash_after: Decimal,
    /// The largest weight after: symbol and percent.
    pub largest_weight: Option<(String, f64)>,
    /// Every guard.
    pub guards: Vec<GuardCheck>,
}

fn collar(s: &TradingSettings) -> Decimal {
    rust_decimal::prelude::FromPrimitive::from_f64(s.limit_collar_pct).unwrap_or(Decimal::ZERO)
}

/// Shares and limit price of `ask` against the facts.
pub(crate) fn size(
    ask: &Ask,
    facts: &Facts,
    suggested: Result<u64, String>,
    s: &TradingSettings,
) -> Result<(Decimal, Decimal), Refusal> {
    let limit = sizing::limit_price(ask.side, facts.last.price, collar(s), ask.limit)?;
    let (held, _) = facts.held(&ask.symbol);
    let inputs = SizeInputs {
        symbol: ask.symbol.clone(),
        side: ask.side,
        equity: facts.account.equity.unwrap_or(Decimal::ZERO),
        held,
        suggested,
    };
    let qty = sizing::shares(ask.amount, limit, &inputs)?;
    Ok((qty, limit))
}

/// Re-check a previewed `qty` at `limit` against the facts of now: the
/// limit still within the collar of the last trade, a sell still held.
pub(crate) fn recheck(
    side: OrderSide,
    symbol: &Symbol,
    qty: Decimal,
    limit: Decimal,
    facts: &Facts,
    s: &TradingSettings,
) -> Result<(), Refusal> {
    sizing::limit_price(side, facts.last.price, collar(s), Some(limit))?;
    if side == OrderSide::Sell {
        let (held, _) = facts.held(symbol);
        let inputs = SizeInputs {
            symbol: symbol.clone(),
            side,
            equity: Decimal::ZERO,
            held,
            suggested: Err(String::new()),
        };
        sizing::shares(super::amount::Amount::Shares(qty), limit, &inputs)?;
    }
    Ok(())
}

/// Cost, weights, cash and guards of `qty` shares of `symbol` at `limit`.
pub(crate) fn assess(
    side: OrderSide,
    symbol: &Symbol,
    qty: Decimal,
    limit: Decimal,
    facts: &Facts,
    s: &TradingSettings,
) -> Assessed {
    let cost = qty * limit;
    let (_, held_value) = facts.held(symbol);
    let equity = facts.account.equity.unwrap_or(Decimal::ZERO);
    let inputs = GuardInputs {
        side,
        cost,
        equity,
        held_value,
        buying_power: facts.account.buying_power,
        orders_today: facts.orders_today,
        usd_today: facts.usd_today,
    };
    let cash = facts.account.cash.unwrap_or(Decimal::ZERO);
    let signed = match side {
        OrderSide::Buy => cost,
        OrderSide::Sell => -cost,
    };
    Assessed {
        cost,
        weight_after_pct: guards::weight_after(&inputs).to_f64().unwrap_or(0.0),
        cash_after: cash - signed,
        largest_weight: largest_weight(facts, symbol, signed, equity),
        guards: guards::check(s, &inputs),
    }
}

/// The largest position's weight after the order (`signed` dollars added
/// to `symbol`), from the positions now.
fn largest_weight(
    facts: &Facts,
    symbol: &Symbol,
    signed: Decimal,
    equity: Decimal,
) -> Option<(String, f64)> {
    if equity <= Decimal::ZERO {
        return None;
    }
    let mut values: Vec<(String, Decimal)> = facts
        .positions
        .held
        .iter()
        .filter_map(|p| Some((p.symbol.to_string(), p.market_value?)))
        .collect();
    match values.iter_mut().find(|(s, _)| s == symbol.as_str()) {
        Some((_, v)) => *v = (*v + signed).max(Decimal::ZERO),
        None if signed > Decimal::ZERO => values.push((symbol.to_string(), signed)),
        None => {}
    }
    values
        .into_iter()
        .map(|(s, v)| {
            (
                s,
                (v.abs() / equity * Decimal::ONE_HUNDRED)
                    .to_f64()
                    .unwrap_or(0.0),
            )
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// The held names of the correlation cluster `symbol` is in or, for a
/// name not held, joins (its closest holding correlates at or above
/// `risk.cluster_correlation`); empty for none.
pub(crate) fn joins_cluster(report: &RiskReport, symbol: &Symbol) -> Vec<String> {
    let names = |of: &Symbol| -> Option<Vec<String>> {
        report
            .clusters
            .iter()
            .find(|c| c.symbols.contains(of))
            .map(|c| c.symbols.iter().map(ToString::to_string).collect())
    };
    if let Some(n) = names(symbol) {
        return n;
    }
    let closest = report
        .suggestions
        .iter()
        .find(|s| &s.symbol == symbol)
        .and_then(|s| s.closest.as_ref())
        .filter(|p| p.correlation >= report.cluster_correlation);
    match closest {
        Some(p) => names(&p.b).unwrap_or_else(|| vec![p.b.to_string()]),
        None => Vec::new(),
    }
}
