//! What a position holds: the instrument's symbol as the broker spells it,
//! its asset class and the side. Separate from [`super::Symbol`] (a stock
//! ticker of the universe) because an account can hold options (OCC
//! symbols such as `AAPL261218C00200000`, 21 characters) and crypto
//! (`BTC/USD`, `BTCUSD`), which are not tickers and never go into a bars
//! request or a storage path.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Symbol;

/// Alpaca's asset classes (`asset_class` of a position).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetClass {
    /// US stocks and ETFs.
    UsEquity,
    /// US listed options.
    UsOption,
    /// Crypto pairs.
    Crypto,
}

impl AssetClass {
    /// Every class, in the order Alpaca documents them.
    pub const ALL: [AssetClass; 3] = [Self::UsEquity, Self::UsOption, Self::Crypto];

    /// The wire name (`us_equity`, `us_option`, `crypto`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UsEquity => "us_equity",
            Self::UsOption => "us_option",
            Self::Crypto => "crypto",
        }
    }

    /// Parse a wire name; the error lists the accepted ones.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == raw)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|c| c.as_str()).collect();
                format!("asset class {raw:?} is not one of {}", names.join(", "))
            })
    }
}

impl fmt::Display for AssetClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Long or short (`side` of a position).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Bought.
    Long,
    /// Sold short.
    Short,
}

impl Side {
    /// The side a signed quantity implies (Alpaca's short `qty` is negative).
    pub fn of_quantity(q: rust_decimal::Decimal) -> Self {
        if q.is_sign_negative() && !q.is_zero() {
            Self::Short
        } else {
            Self::Long
        }
    }
}

/// The symbol of a held instrument: a ticker, an OCC option symbol or a
/// crypto pair. ASCII letters, digits, `.`, `-` and `/`, starting with a
/// letter or digit, at most [`AssetSymbol::MAX_LEN`] characters: safe in a
/// CSV cell and (escaped as every value is) an HTML message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AssetSymbol(Arc<str>);

impl AssetSymbol {
    /// Longest accepted symbol (OCC symbols are at most 21).
    pub const MAX_LEN: usize = 32;

    /// Parse broker or file input.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("empty symbol".into());
        }
        if s.len() > Self::MAX_LEN {
            let cut: String = s.chars().take(Self::MAX_LEN + 8).collect();
            return Err(format!(
                "symbol {cut:?} is longer than {} characters",
                Self::MAX_LEN
            ));
        }
        let ok = s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '/'));
        if !ok {
            return Err(format!(
                "symbol {s:?} is not letters, digits, '.', '-' or '/' starting with a letter or digit"
            ));
        }
        Ok(Self(Arc::from(s.to_ascii_uppercase())))
    }

    /// The symbol text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&Symbol> for AssetSymbol {
    fn from(s: &Symbol) -> Self {
        // A ticker's alphabet is a subset of this one.
        Self(Arc::from(s.as_str()))
    }
}

impl PartialEq<Symbol> for AssetSymbol {
    fn eq(&self, other: &Symbol) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Display for AssetSymbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for AssetSymbol {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<AssetSymbol> for String {
    fn from(s: AssetSymbol) -> Self {
        s.0.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_crypto_are_symbols_of_a_position() {
        for s in ["AAPL261218C00200000", "BTC/USD", "BTCUSD", "BRK.B", "bf-b"] {
            assert!(AssetSymbol::parse(s).is_ok(), "{s}");
        }
        assert_eq!(AssetSymbol::parse(" btc/usd ").unwrap().as_str(), "BTC/USD");
        for bad in ["", "/USD", "A B", "<b>", "A&B", &"A".repeat(40)] {
            assert!(AssetSymbol::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn classes_parse_their_wire_names_only() {
        for c in AssetClass::ALL {
            assert_eq!(AssetClass::parse(c.as_str()), Ok(c));
        }
        let err = AssetClass::parse("stocks").unwrap_err();
        assert!(err.contains("us_equity, us_option, crypto"), "{err}");
    }

    #[test]
    fn side_follows_the_sign_of_the_quantity() {
        assert_eq!(Side::of_quantity(rust_decimal::dec!(-3)), Side::Short);
        assert_eq!(Side::of_quantity(rust_decimal::dec!(0)), Side::Long);
        assert_eq!(Side::of_quantity(rust_decimal::dec!(0.5)), Side::Long);
    }
}
