use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Symbol;

/// One open position (the `positions.csv` columns). Money is exact decimal,
/// as the trading API sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// Ticker.
    pub symbol: Symbol,
    /// Shares held (negative for a short).
    pub quantity: Decimal,
    /// Average entry price per share.
    pub avg_entry_price: Decimal,
    /// Latest price per share.
    pub current_price: Decimal,
    /// Unrealized return on cost, in percent.
    pub unrealized_return_pct: Decimal,
    /// Current market value.
    pub market_value: Decimal,
    /// Unrealized profit or loss.
    pub unrealized_pl: Decimal,
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
            symbol,
            quantity,
            avg_entry_price,
            current_price,
            unrealized_return_pct,
            market_value,
            unrealized_pl,
        }
    }
}

/// The brokerage account snapshot (the `account.csv` columns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// Total equity.
    pub equity: Decimal,
    /// Cash balance.
    pub cash: Decimal,
    /// Buying power.
    pub buying_power: Decimal,
    /// Account status as the broker reports it (`ACTIVE`, ...).
    pub status: String,
    /// Account currency.
    pub currency: String,
    /// Equity at the previous close.
    pub last_equity: Decimal,
    /// Market value of long positions.
    pub long_market_value: Decimal,
    /// Day trades in the last five sessions.
    pub daytrade_count: u32,
    /// Flagged as a pattern day trader.
    pub pattern_day_trader: bool,
}

/// The profit-taking rule's verdict: is the average return of the best
/// `top_n` positions at or above the target?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfitCheck {
    /// Positions the average was taken over (best first), at most `top_n`.
    pub considered: Vec<(Symbol, Decimal)>,
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

/// Evaluate the profit-taking rule. With fewer than `top_n` positions the
/// average is taken over those held (`considered.len()` says how many);
/// with none, nothing triggers. Ties in return are broken by symbol so the
/// verdict does not depend on input order.
pub fn profit_check(positions: &[Position], top_n: usize, target_pct: Decimal) -> ProfitCheck {
    let mut ranked: Vec<(Symbol, Decimal)> = positions
        .iter()
        .map(|p| (p.symbol.clone(), p.unrealized_return_pct))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(top_n);
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
        assert_eq!(p.market_value, dec!(540.75));
        assert_eq!(p.unrealized_pl, dec!(90.45));
        assert_eq!(p.unrealized_return_pct, dec!(20.0866));
    }

    #[test]
    fn short_position_return_has_the_right_sign() {
        let p = Position::from_prices(Symbol::parse("X").unwrap(), dec!(-10), dec!(50), dec!(40));
        assert_eq!(p.unrealized_pl, dec!(100));
        assert_eq!(p.unrealized_return_pct, dec!(20));
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
    fn no_positions_never_triggers() {
        let c = profit_check(&[], 5, dec!(0));
        assert_eq!(c.average_return_pct, None);
        assert!(!c.take_profit);
    }
}
