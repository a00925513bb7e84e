//! Pure: an [`Amount`] sized into whole shares, and the limit price
//! within the collar of the last trade. No I/O; the service gathers the
//! inputs.

use rust_decimal::{Decimal, RoundingStrategy};

use super::amount::Amount;
use super::refusal::Refusal;
use crate::domain::{OrderSide, Symbol};
use crate::numbers::{qty, usd};

/// What sizing needs to know about the account and the symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SizeInputs {
    /// The stock.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: OrderSide,
    /// The account's equity now.
    pub equity: Decimal,
    /// Shares of the symbol held now (0 when none).
    pub held: Decimal,
    /// The risk view's suggested shares for the symbol, or why there are none.
    pub suggested: Result<u64, String>,
}

/// The limit price: the collar's edge (a buy at most `collar_pct` above
/// `last`, rounded down to the cent; a sell at most that far below,
/// rounded up), or `asked` when it lies within the collar.
pub(crate) fn limit_price(
    side: OrderSide,
    last: Decimal,
    collar_pct: Decimal,
    asked: Option<Decimal>,
) -> Result<Decimal, Refusal> {
    if last <= Decimal::ZERO {
        return Err(Refusal::Amount(format!(
            "the last trade's price ({}) cannot price an order",
            usd(last)
        )));
    }
    let factor = collar_pct / Decimal::ONE_HUNDRED;
    let edge = match side {
        OrderSide::Buy => {
            (last * (Decimal::ONE + factor)).round_dp_with_strategy(2, RoundingStrategy::ToZero)
        }
        OrderSide::Sell => (last * (Decimal::ONE - factor))
            .round_dp_with_strategy(2, RoundingStrategy::AwayFromZero),
    };
    let Some(asked) = asked else {
        return Ok(edge);
    };
    if asked <= Decimal::ZERO || asked.round_dp(2) != asked {
        return Err(Refusal::Amount(format!(
            "the limit price {asked} is not a positive amount in whole cents"
        )));
    }
    let inside = match side {
        OrderSide::Buy => asked <= edge,
        OrderSide::Sell => asked >= edge,
    };
    if inside {
        return Ok(asked);
    }
    let (bound, word) = match side {
        OrderSide::Buy => ("at most", "above"),
        OrderSide::Sell => ("at least", "below"),
    };
    Err(Refusal::Amount(format!(
        "the limit price {} is outside the collar: trading.limit_collar_pct = {}% allows a {side} \
         limit {bound} {} ({}% {word} the last trade, {})",
        usd(asked),
        collar_pct.normalize(),
        usd(edge),
        collar_pct.normalize(),
        usd(last)
    )))
}

/// `amount` in whole shares at `limit`: dollars and a percent of equity
/// buy what they can at the limit (never more), a percent of the position
/// and `all` round down, `size` takes the risk view's suggestion. A sell
/// is never more than is held (no shorting).
pub(crate) fn shares(amount: Amount, limit: Decimal, inp: &SizeInputs) -> Result<Decimal, Refusal> {
    let whole = |d: Decimal| d.round_dp_with_strategy(0, RoundingStrategy::ToZero);
    let held = whole(inp.held.max(Decimal::ZERO));
    let q = match amount {
        Amount::Usd(usd_amount) => whole(usd_amount / limit),
        Amount::Shares(n) => {
            if n.fract() != Decimal::ZERO {
                return Err(Refusal::Amount(format!(
                    "{n} is not a whole number of shares: only whole shares are traded"
                )));
            }
            n
        }
        Amount::PctOfEquity(p) => whole(inp.equity * p / Decimal::ONE_HUNDRED / limit),
        Amount::PctOfPosition(p) => whole(held * p / Decimal::ONE_HUNDRED),
        Amount::All => held,
        Amount::Suggested => match &inp.suggested {
            Ok(n) => Decimal::from(*n),
            Err(why) => {
                return Err(Refusal::Amount(format!(
                    "the risk view has no suggested size for {}: {why}",
                    inp.symbol
                )));
            }
        },
    };
    if inp.side == OrderSide::Sell {
        if held.is_zero() {
            return Err(Refusal::NotHeld(format!(
                "no whole share of {} is held: a sell would open a short, which dipwatch never does",
                inp.symbol
            )));
        }
        if q > held {
            return Err(Refusal::NotHeld(format!(
                "a sell of {} {} is more than the {} held (no shorting)",
                qty(q),
                inp.symbol,
                qty(held)
            )));
        }
    }
    if q <= Decimal::ZERO {
        return Err(Refusal::Amount(format!(
            "that is 0 whole shares of {} at a limit of {}",
            inp.symbol,
            usd(limit)
        )));
    }
    Ok(q)
}
