//! How much to buy or sell, as typed: `500` or `$500` (dollars), `2%` (of
//! equity for a buy, of the position for a sell), `size` (the risk view's
//! suggested size), `all` (the whole position), or a share count
//! (`--qty`, `/sell X 10`). Parsed at the edge into [`Amount`]; sized into
//! whole shares by [`super::preview`].
//!
//! One grammar for every front end: the bot's `/buy TICKER AMOUNT` and
//! `/sell TICKER [all|QTY|PCT%]` ([`Amount::parse_buy`],
//! [`Amount::parse_sell`]) and the command line's `--usd`, `--qty` and
//! `--pct` ([`Amount::usd`], [`Amount::shares`], [`Amount::pct`]). A
//! number is plain ASCII digits with at most one decimal point and commas
//! only between groups of three (`1,000.50`); no sign, exponent, spaces or
//! other digits. Anything else is an [`AmountError`] that names what was
//! wrong and quotes the input clipped ([`crate::echo::quoted`]), never
//! escaped for a medium (the bot escapes it for HTML).

use std::str::FromStr;

use rust_decimal::Decimal;

use crate::domain::OrderSide;
use crate::echo::quoted;

/// How much, before it is sized into shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    /// Dollars (a buy's `500` / `$500`, `--usd`).
    Usd(Decimal),
    /// Shares (`--qty`, a sell's `10`).
    Shares(Decimal),
    /// Percent of equity (a buy's `2%`, `--pct`).
    PctOfEquity(Decimal),
    /// Percent of the position (a sell's `50%`, `--pct`).
    PctOfPosition(Decimal),
    /// The risk view's suggested size for the symbol (`size`).
    Suggested,
    /// The whole position (a sell's `all`, the default of `/sell X`).
    All,
}

/// Why a typed amount is not one: in words, with the input quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AmountError(String);

/// The largest dollar amount accepted (the highest `trading.max_order_usd`
/// may be): anything above is a typo, not an order.
pub const MAX_USD: Decimal = Decimal::from_parts(10_000_000, 0, 0, false, 0);

/// The largest share count accepted.
pub const MAX_SHARES: Decimal = Decimal::from_parts(10_000_000, 0, 0, false, 0);

/// Digits of cents a dollar amount may have.
const USD_DECIMALS: u32 = 2;
/// Decimals a percentage may have (`2.25%`).
const PCT_DECIMALS: u32 = 2;
/// The longest number read (`10,000,000.00` is 13 characters).
const MAX_NUMBER_CHARS: usize = 20;

impl Amount {
    /// A buy's amount as typed: `500`, `$500`, `$1,000.50` (dollars),
    /// `2%` (of equity), `size` (the risk view's suggestion).
    pub fn parse_buy(text: &str) -> Result<Self, AmountError> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("size") {
            return Ok(Self::Suggested);
        }
        if let Some(p) = t.strip_suffix('%') {
            return pct_of(p, t).map(Self::PctOfEquity);
        }
        if t.eq_ignore_ascii_case("all") {
            return Err(AmountError(
                "“all” is for /sell; a buy is dollars (500 or $500), a percentage of equity (2%) \
                 or size (the risk view's suggestion)"
                    .into(),
            ));
        }
        if !looks_numeric(t) {
            return Err(AmountError(format!(
                "{} is not an amount: dollars (500 or $500), a percentage of equity (2%) \
                 or size (the risk view's suggestion)",
                quoted(t)
            )));
        }
        Self::usd(t.strip_prefix('$').unwrap_or(t))
    }

    /// A sell's amount as typed: empty or `all` (the whole position), a
    /// whole share count (`10`), or a percentage of the position (`50%`).
    pub fn parse_sell(text: &str) -> Result<Self, AmountError> {
        let t = text.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("all") {
            return Ok(Self::All);
        }
        if let Some(p) = t.strip_suffix('%') {
            return pct_of(p, t).map(Self::PctOfPosition);
        }
        if t.starts_with('$') || t.eq_ignore_ascii_case("size") {
            return Err(AmountError(format!(
                "{}: a sell is all, a whole share count (10) or a percentage of the position (50%)",
                quoted(t)
            )));
        }
        if !looks_numeric(t) {
            return Err(AmountError(format!(
                "{} is not an amount: a sell is all, a whole share count (10) or a percentage \
                 of the position (50%)",
                quoted(t)
            )));
        }
        Self::shares(t)
    }

    /// Dollars (`--usd 500`, a buy's `500`): above zero, at most cents, at
    /// most [`MAX_USD`].
    pub fn usd(text: &str) -> Result<Self, AmountError> {
        let t = text.trim();
        let d = positive(t)?;
        if d.normalize().scale() > USD_DECIMALS {
            return Err(AmountError(format!(
                "{} has more than cents: at most 2 decimals",
                quoted(t)
            )));
        }
        if d > MAX_USD {
            return Err(AmountError(format!(
                "{} is more than any order may be ($10,000,000)",
                quoted(t)
            )));
        }
        Ok(Self::Usd(d.normalize()))
    }

    /// Whole shares (`--qty 10`, a sell's `10`): above zero, at most
    /// [`MAX_SHARES`].
    pub fn shares(text: &str) -> Result<Self, AmountError> {
        let t = text.trim();
        let d = positive(t)?;
        if d.normalize().scale() > 0 {
            return Err(AmountError(format!(
                "{} is not a whole number of shares: only whole shares are traded",
                quoted(t)
            )));
        }
        if d > MAX_SHARES {
            return Err(AmountError(format!(
                "{} is more shares than any order may be (10,000,000)",
                quoted(t)
            )));
        }
        Ok(Self::Shares(d.normalize()))
    }

    /// A percentage (`--pct 2`, with or without its `%`): of equity for a
    /// buy, of the position for a sell; above zero, at most 100, two
    /// decimals.
    pub fn pct(text: &str, side: OrderSide) -> Result<Self, AmountError> {
        let t = text.trim();
        let p = pct_of(t.strip_suffix('%').unwrap_or(t), t)?;
        Ok(match side {
            OrderSide::Buy => Self::PctOfEquity(p),
            OrderSide::Sell => Self::PctOfPosition(p),
        })
    }
}

/// Decimals a limit price may have (Alpaca's tick below a dollar).
const PRICE_DECIMALS: u32 = 4;

/// A limit price as typed (`--limit 101.25`): above zero, at most four
/// decimals, at most [`MAX_USD`]; whether it is a tick Alpaca accepts at
/// that price, and within the collar, is the preview's to say.
pub fn limit_price(text: &str) -> Result<Decimal, AmountError> {
    let t = text.trim();
    let d = positive(t.strip_prefix('$').unwrap_or(t))?;
    if d.normalize().scale() > PRICE_DECIMALS {
        return Err(AmountError(format!(
            "{} has too many decimals: a price has at most 4",
            quoted(t)
        )));
    }
    if d > MAX_USD {
        return Err(AmountError(format!("{} is not a price", quoted(t))));
    }
    Ok(d.normalize())
}

/// `p` (the text before `%` of `whole`) as a percentage in (0, 100].
fn pct_of(p: &str, whole: &str) -> Result<Decimal, AmountError> {
    let d = positive_named(p, whole)?;
    if d.normalize().scale() > PCT_DECIMALS {
        return Err(AmountError(format!(
            "{} has too many decimals: a percentage has at most 2",
            quoted(whole)
        )));
    }
    if d > Decimal::ONE_HUNDRED {
        return Err(AmountError(format!(
            "{} is over 100%: a percentage is above 0 and at most 100",
            quoted(whole)
        )));
    }
    Ok(d.normalize())
}

/// `t` as a number above zero, or why not.
fn positive(t: &str) -> Result<Decimal, AmountError> {
    positive_named(t, t)
}

/// `t` (a part of `whole`, which errors quote) as a number above zero.
fn positive_named(t: &str, whole: &str) -> Result<Decimal, AmountError> {
    if t.is_empty() {
        return Err(AmountError(format!(
            "{} has no number: an amount is above zero",
            quoted(whole)
        )));
    }
    if t.starts_with('-') && number(&t[1..]).is_ok() {
        return Err(AmountError(format!(
            "{} is negative: an amount is above zero",
            quoted(whole)
        )));
    }
    let d = number(t).map_err(|why| AmountError(format!("{} {why}", quoted(whole))))?;
    if d.is_zero() {
        return Err(AmountError(format!(
            "{} is zero: an amount is above zero",
            quoted(whole)
        )));
    }
    Ok(d)
}

/// Whether `t` starts like a number (a digit, a sign, a point or `$`), so
/// the number's own error says more than "not an amount".
fn looks_numeric(t: &str) -> bool {
    t.trim_start_matches('$')
        .starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.'))
}

/// The strict number grammar: ASCII digits, at most one decimal point,
/// commas only between whole groups of three before it.
fn number(t: &str) -> Result<Decimal, &'static str> {
    if t.chars().count() > MAX_NUMBER_CHARS {
        return Err("is too long to be an amount");
    }
    if !t
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
    {
        return Err("is not a number: digits and one decimal point only");
    }
    let (whole, frac) = match t.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (t, None),
    };
    if frac.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
        return Err("is not a number: digits and one decimal point only");
    }
    if whole.is_empty() {
        return Err("is not a number: write a digit before the point (0.5)");
    }
    if whole.contains(',') {
        let mut groups = whole.split(',');
        let first = groups.next().unwrap_or_default();
        if first.is_empty() || first.len() > 3 || groups.any(|g| g.len() != 3) {
            return Err("is not a number: commas go between groups of three digits (1,000)");
        }
    }
    let plain: String = t.chars().filter(|c| *c != ',').collect();
    Decimal::from_str(&plain).map_err(|_| "is not a number")
}

#[cfg(test)]
mod tests;
