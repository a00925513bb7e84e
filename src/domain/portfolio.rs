use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{AssetClass, AssetSymbol, Side, Symbol};

/// One open position (the `positions.csv` columns). Money is exact decimal,
/// as the trading API sends it; a value the API did not send (alpaca-py
/// types these as optional) is `None`, never a made-up zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// The instrument: a ticker, an OCC option symbol or a crypto pair.
    pub symbol: AssetSymbol,
    /// Its asset class.
    pub asset_class: AssetClass,
    /// Long or short.
    pub side: Side,
    /// Units held (negative for a short).
    pub quantity: Decimal,
    /// Average entry price per unit.
    pub avg_entry_price: Decimal,
    /// Latest price per unit.
    pub current_price: Option<Decimal>,
    /// Unrealized return on cost, in percent.
    pub unrealized_return_pct: Option<Decimal>,
    /// Current market value.
    pub market_value: Option<Decimal>,
    /// Unrealized profit or loss.
    pub unrealized_pl: Option<Decimal>,
}

impl Position {
    /// Build a position from quantity and prices, deriving value, P&L and
    /// return (percent of cost, 4 decimals) the way the trading API does.
    pub fn from_prices(
        symbol: Symbol,
        quantity: Decimal,
        avg_entry_price: Decimal,
        current_price: Decimal,
    ) -> Self {
        let market_value = quantity * current_price;
        let cost = quantity * avg_entry_price;
        let unrealized_pl = market_value - cost;
        let unrealized_return_pct = if cost.is_zero() {
            Decimal::ZERO
        } else {
            (unrealized_pl / cost.abs() * Decimal::ONE_HUNDRED).round_dp(4)
        };
        Self {
            symbol: AssetSymbol::from(&symbol),
            asset_class: AssetClass::UsEquity,
            side: Side::of_quantity(quantity),
            quantity,
            avg_entry_price,
            current_price: Some(current_price),
            unrealized_return_pct: Some(unrealized_return_pct),
            market_value: Some(market_value),
            unrealized_pl: Some(unrealized_pl),
        }
    }
}

/// A position Alpaca listed that could not be read: skipped, with why, so
/// one odd entry never costs the rest of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadablePosition {
    /// The symbol as sent, or `#N` (its place in the list) when even that
    /// could not be read.
    pub symbol: String,
    /// What was wrong.
    pub reason: String,
}

/// What the broker's positions call brought back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Positions {
    /// Positions read.
    pub held: Vec<Position>,
    /// Entries skipped, with reasons.
    pub unreadable: Vec<UnreadablePosition>,
}

/// The brokerage account snapshot (the `account.csv` columns). Every field
/// but the status is optional on the wire (alpaca-py types them so, and
/// Alpaca dropped the day-trading fields in 2026-07): what was not sent is
/// `None`, an empty cell, never a made-up value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// Total equity.
    pub equity: Option<Decimal>,
    /// Cash balance.
    pub cash: Option<Decimal>,
    /// Buying power.
    pub buying_power: Option<Decimal>,
    /// Account status as the broker reports it (`ACTIVE`, ...).
    pub status: String,
    /// Account currency.
    pub currency: Option<String>,
    /// Equity at the previous close.
    pub last_equity: Option<Decimal>,
    /// Market value of long positions.
    pub long_market_value: Option<Decimal>,
    /// Day trades in the last five sessions.
    pub daytrade_count: Option<u32>,
    /// Flagged as a pattern day trader.
    pub pattern_day_trader: Option<bool>,
}

impl Account {
    /// An `ACTIVE` account of which only the equity and the cash are known
    /// (every other figure `None`, as when the broker leaves them out): the
    /// fixture the risk view, the charts and their tests build on.
    #[must_use]
    pub fn with_equity_and_cash(equity: Option<Decimal>, cash: Option<Decimal>) -> Self {
        Self {
            equity,
            cash,
            buying_power: None,
            status: "ACTIVE".into(),
            currency: None,
            last_equity: None,
            long_market_value: None,
            daytrade_count: None,
            pattern_day_trader: None,
        }
    }
}

/// The profit-taking rule's verdict: is the average return of the best
/// `top_n` positions at or above the target?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfitCheck {
    /// Positions the average was taken over (best first), at most `top_n`.
    pub considered: Vec<(AssetSymbol, Decimal)>,
    /// How many positions the rule wants.
    pub top_n: usize,
    /// Average return of `considered`, in percent, unrounded (the comparison
    /// with the target is exact); `None` with no positions.
    pub average_return_pct: Option<Decimal>,
    /// The target, in percent.
    pub target_pct: Decimal,
    /// True when the average reaches the target.
    pub take_profit: bool,
}

/// The profit-taking rule as configured: only positions of `classes`
/// (`portfolio.asset_classes`) count, so an option's or a coin's return
/// never moves a stock strategy's verdict. The one entry point collection
/// and the daemon's state both use.
pub fn profit_rule(
    positions: &[Position],
    classes: &[AssetClass],
    top_n: usize,
    target_pct: Decimal,
) -> ProfitCheck {
    let eligible: Vec<Position> = positions
        .iter()
        .filter(|p| classes.contains(&p.asset_class))
        .cloned()
        .collect();
    profit_check(&eligible, top_n, target_pct)
}

/// Positions by return, best first, ties by symbol (so the order does not
/// depend on input order); a position whose return the broker did not
/// send comes last. The order the profit rule ranks by and the bot lists.
pub fn by_return(positions: &[Position]) -> Vec<&Position> {
    let mut v: Vec<&Position> = positions.iter().collect();
    v.sort_by(|a, b| {
        b.unrealized_return_pct
            .cmp(&a.unrealized_return_pct)
            .then_with(|| a.symbol.cmp(&b.symbol))
    });
    v
}

/// Evaluate the profit-taking rule. With fewer than `top_n` positions the
/// average is taken over those held (`considered.len()` says how many);
/// with none, nothing triggers. A position whose return the broker did not
/// send cannot be ranked and is left out. Ties in return are broken by
/// symbol so the verdict does not depend on input order.
pub fn profit_check(positions: &[Position], top_n: usize, target_pct: Decimal) -> ProfitCheck {
    // The strategy's own ranking (the backtester and the risk view use it
    // too), over the positions in symbol order so ties go by symbol.
    let mut by_symbol: Vec<&Position> = positions.iter().collect();
    by_symbol.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    let returns: Vec<Option<Decimal>> = by_symbol.iter().map(|p| p.unrealized_return_pct).collect();
    let ranked: Vec<(AssetSymbol, Decimal)> =
        crate::strategy::best_first(&returns, top_n, Decimal::cmp)
            .into_iter()
            .filter_map(|i| Some((by_symbol[i].symbol.clone(), returns[i]?)))
            .collect();
    let average_return_pct = if ranked.is_empty() {
        None
    } else {
        let sum: Decimal = ranked.iter().map(|(_, r)| *r).sum();
        Some(sum / Decimal::from(ranked.len()))
    };
    ProfitCheck {
        take_profit: average_return_pct.is_some_and(|avg| avg >= target_pct),
        considered: ranked,
        top_n,
        average_return_pct,
        target_pct,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn pos(sym: &str, ret: Decimal) -> Position {
        // Entry 100, price chosen so the return is `ret` percent.
        let price = dec!(100) + ret;
        Position::from_prices(Symbol::parse(sym).unwrap(), dec!(10), dec!(100), price)
    }

    #[test]
    fn position_derives_value_pl_and_return_exactly() {
        let p = Position::from_prices(
            Symbol::parse("AAPL").unwrap(),
            dec!(3),
            dec!(150.10),
            dec!(180.25),
        );
        assert_eq!(p.market_value, Some(dec!(540.75)));
        assert_eq!(p.unrealized_pl, Some(dec!(90.45)));
        assert_eq!(p.unrealized_return_pct, Some(dec!(20.0866)));
    }

    #[test]
    fn short_position_return_has_the_right_sign() {
        let p = Position::from_prices(Symbol::parse("X").unwrap(), dec!(-10), dec!(50), dec!(40));
        assert_eq!(p.unrealized_pl, Some(dec!(100)));
        assert_eq!(p.unrealized_return_pct, Some(dec!(20)));
        assert_eq!(p.side, Side::Short);
    }

    #[test]
    fn triggers_when_top_five_average_reaches_target() {
        let ps: Vec<_> = [150, 120, 100, 80, 50, -20]
            .iter()
            .enumerate()
            .map(|(i, r)| pos(&format!("S{i}"), Decimal::from(*r)))
            .collect();
        let c = profit_check(&ps, 5, dec!(100));
        assert_eq!(c.average_return_pct, Some(dec!(100)));
        assert!(c.take_profit);
        assert_eq!(c.considered.len(), 5);
        assert_eq!(c.considered[0].0.as_str(), "S0");
    }

    #[test]
    fn below_target_by_a_hair_does_not_trigger() {
        let ps = vec![pos("A", dec!(99.9999)), pos("B", dec!(100))];
        let c = profit_check(&ps, 5, dec!(100));
        assert!(!c.take_profit);
        assert_eq!(c.considered.len(), 2);
    }

    #[test]
    fn only_the_configured_classes_count() {
        let mut coin = pos("BTCUSD", dec!(900));
        coin.asset_class = AssetClass::Crypto;
        let mut unpriced = pos("MSFT", dec!(0));
        unpriced.unrealized_return_pct = None;
        let ps = vec![pos("A", dec!(10)), coin, unpriced];
        let stocks = profit_rule(&ps, &[AssetClass::UsEquity], 5, dec!(100));
        assert_eq!(stocks.average_return_pct, Some(dec!(10)));
        assert_eq!(stocks.considered.len(), 1, "no coin, no unpriced position");
        let all = profit_rule(&ps, &AssetClass::KNOWN, 5, dec!(100));
        assert_eq!(all.average_return_pct, Some(dec!(455)));
        assert!(all.take_profit);
    }

    #[test]
    fn by_return_is_best_first_ties_by_symbol_unknown_last() {
        let mut unpriced = pos("AAA", dec!(0));
        unpriced.unrealized_return_pct = None;
        let ps = vec![
            unpriced,
            pos("C", dec!(5)),
            pos("B", dec!(5)),
            pos("D", dec!(9)),
        ];
        let order: Vec<&str> = by_return(&ps).iter().map(|p| p.symbol.as_str()).collect();
        assert_eq!(order, ["D", "B", "C", "AAA"]);
    }

    #[test]
    fn no_positions_never_triggers() {
        let c = profit_check(&[], 5, dec!(0));
        assert_eq!(c.average_return_pct, None);
        assert!(!c.take_profit);
    }
}
