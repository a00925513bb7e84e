//! Number formatting shared by every human-facing output (the CLI's
//! tables, the bot's replies, the dashboard's pages, the backtest report):
//! one family, so a figure reads the same wherever it is shown.
//!
//! | function            | input     | example                     |
//! |---------------------|-----------|-----------------------------|
//! | [`thousands`]       | `u64`     | `1,234,567`                 |
//! | [`price`]           | `f64`     | `1,234.50`, `0.1235`        |
//! | [`signed_pct`]      | `f64`     | `-12.35%`, `+5.00%`, `0.00%` |
//! | [`share_pct`]       | `f64`, dp | `12.3%` (a share: no sign)  |
//! | [`pct`]             | `Decimal` | `+1,234.57%`, `-0.50%`      |
//! | [`usd`]             | `Decimal` | `$1,234.50`, `-$1,234.50`   |
//! | [`signed_usd`]      | `Decimal` | `+$1,234.50`, `$0.00`       |
//! | [`qty`]             | `Decimal` | `1,250`, `-0.5`             |
//!
//! The `f64` variants format figures computed in floating point (drawdowns,
//! volatility, backtest metrics); the `Decimal` ones the broker's exact
//! amounts (cash, equity, a position's value and return), rounded half away
//! from zero so a cent never flips with binary rounding.

use rust_decimal::{Decimal, RoundingStrategy};

/// `1234567` -> `1,234,567`.
pub fn thousands(n: u64) -> String {
    group_digits(&n.to_string())
}

/// A run of digits with thousands separators: `"1234567"` -> `"1,234,567"`
/// (the integer part of a number already formatted, without its sign).
pub fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A signed percentage with two decimals: `-12.34%`, `+5.00%`, `0.00%`.
pub fn signed_pct(x: f64) -> String {
    let r = (x * 100.0).round() / 100.0;
    if r > 0.0 {
        format!("+{r:.2}%")
    } else if r < 0.0 {
        format!("{r:.2}%")
    } else {
        "0.00%".to_string()
    }
}

/// An unsigned percentage with `dp` decimals, for shares and rates that
/// have no direction (a weight, volatility, a win rate): `share_pct(12.345,
/// 1)` is `12.3%`. Values already in percent (`12.3` for 12.3 %).
pub fn share_pct(x: f64, dp: usize) -> String {
    format!("{x:.dp$}%")
}

/// `|d|` rounded half away from zero to `dp` decimals, grouped: `1,234.50`.
pub fn grouped_abs(d: Decimal, dp: u32) -> String {
    let r = d
        .abs()
        .round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    let text = format!("{r:.prec$}", prec = dp as usize);
    match text.split_once('.') {
        Some((int, frac)) => format!("{}.{frac}", group_digits(int)),
        None => group_digits(&text),
    }
}

/// True when `d` shows as zero at `dp` decimals (so it prints without a
/// sign: `-0.004` is `$0.00`, never `-$0.00`).
fn rounds_to_zero(d: Decimal, dp: u32) -> bool {
    d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
        .is_zero()
}

/// An exact signed percentage (already in percent), two decimals, grouped:
/// `+1,234.57%`, `-0.50%`, `0.00%`. The `Decimal` sibling of
/// [`signed_pct`], for the broker's figures.
pub fn pct(d: Decimal) -> String {
    signed(d, "", "%")
}

/// Dollars, two decimals, grouped, a sign only when negative: `$1,234.50`,
/// `-$1,234.50` (an amount: cash, equity, a position's value).
pub fn usd(d: Decimal) -> String {
    let sign = if d.is_sign_negative() && !rounds_to_zero(d, 2) {
        "-"
    } else {
        ""
    };
    format!("{sign}${}", grouped_abs(d, 2))
}

/// Dollars with a sign either way: `+$1,234.50`, `-$1,234.50`, `$0.00`
/// (a change: profit and loss).
pub fn signed_usd(d: Decimal) -> String {
    signed(d, "$", "")
}

/// `+{prefix}{|d|}{suffix}`, `-...`, or unsigned zero, two decimals.
fn signed(d: Decimal, prefix: &str, suffix: &str) -> String {
    if rounds_to_zero(d, 2) {
        format!("{prefix}0.00{suffix}")
    } else if d.is_sign_negative() {
        format!("-{prefix}{}{suffix}", grouped_abs(d, 2))
    } else {
        format!("+{prefix}{}{suffix}", grouped_abs(d, 2))
    }
}

/// A share quantity as the broker states it, trailing zeros dropped,
/// grouped: `1,250`, `-0.5`, `12,345.125`.
pub fn qty(d: Decimal) -> String {
    let n = d.normalize();
    let text = n.abs().to_string();
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let sign = if n.is_sign_negative() && !n.is_zero() {
        "-"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{}", group_digits(int))
    } else {
        format!("{sign}{}.{frac}", group_digits(int))
    }
}

/// A price: two decimals with thousands separators, four under one dollar.
pub fn price(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x.abs() < 1.0 {
        return format!("{x:.4}");
    }
    let cents = (x.abs() * 100.0).round() as u64;
    let sign = if x < 0.0 { "-" } else { "" };
    format!("{sign}{}.{:02}", thousands(cents / 100), cents % 100)
}

/// `850 ms`, `1.3 s`, `2 min 5 s`, `1 h 5 min`.
pub fn duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", d.as_secs_f64())
    } else if ms < 3_600_000 {
        format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1_000)
    } else {
        format!("{} h {} min", ms / 3_600_000, (ms % 3_600_000) / 60_000)
    }
}

/// A wait still to go, in whole seconds rounded up: "0 ms" left would read
/// as "now".
pub fn time_left(left: std::time::Duration) -> String {
    duration(std::time::Duration::from_secs(
        left.as_secs() + u64::from(left.subsec_nanos() > 0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(group_digits("1234567"), "1,234,567");
        assert_eq!(group_digits("123"), "123");
        assert_eq!(signed_pct(-12.345), "-12.35%");
        assert_eq!(signed_pct(5.0), "+5.00%");
        assert_eq!(signed_pct(-0.001), "0.00%");
        assert_eq!(price(1234.5), "1,234.50");
        assert_eq!(price(0.12345), "0.1235");
        assert_eq!(price(-2500.0), "-2,500.00");
        assert_eq!(share_pct(12.345, 1), "12.3%");
        assert_eq!(share_pct(7.0, 2), "7.00%");
    }

    #[test]
    fn money_has_signs_and_thousands_separators() {
        use rust_decimal::dec;
        assert_eq!(usd(dec!(1234567.891)), "$1,234,567.89");
        assert_eq!(usd(dec!(-0.004)), "$0.00");
        assert_eq!(usd(dec!(-1234.5)), "-$1,234.50");
        assert_eq!(signed_usd(dec!(1234.5)), "+$1,234.50");
        assert_eq!(signed_usd(dec!(-0.005)), "-$0.01");
        assert_eq!(signed_usd(dec!(0.001)), "$0.00");
        assert_eq!(pct(dec!(1234.565)), "+1,234.57%");
        assert_eq!(pct(dec!(-0.5)), "-0.50%");
        assert_eq!(pct(dec!(0)), "0.00%");
        assert_eq!(qty(dec!(1250.000)), "1,250");
        assert_eq!(qty(dec!(-0.50)), "-0.5");
        assert_eq!(qty(dec!(12345.125)), "12,345.125");
        use std::time::Duration;
        assert_eq!(duration(Duration::from_millis(850)), "850 ms");
        assert_eq!(duration(Duration::from_millis(1_340)), "1.3 s");
        assert_eq!(duration(Duration::from_secs(125)), "2 min 5 s");
        assert_eq!(duration(Duration::from_secs(3_900)), "1 h 5 min");
    }
}
