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

/// A position's asset class (`asset_class`), open: the classes dipwatch
/// knows by name, and any other Alpaca sends kept verbatim, so a class
/// Alpaca adds (as it added `crypto_perp` in 2025) is stored and shown,
/// never dropped. Only the classes in `portfolio.asset_classes` count for
/// the profit rule and the risk view's exits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AssetClass {
    /// US stocks and ETFs.
    UsEquity,
    /// US listed options.
    UsOption,
    /// Crypto pairs.
    Crypto,
    /// Crypto perpetual futures (alpaca-py's `AssetClass.CRYPTO_PERP`).
    CryptoPerp,
    /// A class dipwatch does not know by name, as Alpaca sent it.
    Other(Arc<str>),
}

impl AssetClass {
    /// Every class dipwatch knows by name, in the order Alpaca documents them.
    pub const KNOWN: [AssetClass; 4] = [
        Self::UsEquity,
        Self::UsOption,
        Self::Crypto,
        Self::CryptoPerp,
    ];

    /// The wire name (`us_equity`, ...; another class's own name).
    pub fn as_str(&self) -> &str {
        match self {
            Self::UsEquity => "us_equity",
            Self::UsOption => "us_option",
            Self::Crypto => "crypto",
            Self::CryptoPerp => "crypto_perp",
            Self::Other(name) => name,
        }
    }

    /// Whether dipwatch knows the class by name.
    pub fn is_known(&self) -> bool {
        !matches!(self, Self::Other(_))
    }

    /// The class Alpaca sent, whatever it is: a known name becomes its
    /// variant, anything else is kept verbatim (trimmed).
    pub fn from_wire(raw: &str) -> Self {
        let raw = raw.trim();
        Self::KNOWN
            .into_iter()
            .find(|c| c.as_str() == raw)
            .unwrap_or_else(|| Self::Other(Arc::from(raw)))
    }

    /// Parse a class a user names (configuration): only the known ones;
    /// the error lists them.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match Self::from_wire(raw) {
            Self::Other(_) => {
                let names: Vec<&str> = Self::KNOWN.iter().map(AssetClass::as_str).collect();
                Err(format!(
                    "asset class {raw:?} is not one of {}",
                    names.join(", ")
                ))
            }
            known => Ok(known),
        }
    }
}

impl fmt::Display for AssetClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AssetClass {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AssetClass {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        wire_text(&raw).map_err(serde::de::Error::custom)?;
        Ok(Self::from_wire(&raw))
    }
}

/// A class or side name Alpaca sends, checked before it is kept: short
/// lower-case words (`us_equity`, `crypto_perp`), so it is safe in a CSV
/// cell, a label and an HTML message.
fn wire_text(raw: &str) -> Result<(), String> {
    let s = raw.trim();
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        let shown: String = s.chars().take(40).collect();
        Err(format!(
            "{shown:?} is not a name Alpaca uses (lower-case letters, digits and '_')"
        ))
    }
}

/// Long or short (`side` of a position), open like [`AssetClass`]: a side
/// Alpaca may add is kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// Bought.
    Long,
    /// Sold short.
    Short,
    /// A side dipwatch does not know by name, as Alpaca sent it.
    Other(Arc<str>),
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

    /// The wire name (`long`, `short`, another side's own name).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Long => "long",
            Self::Short => "short",
            Self::Other(name) => name,
        }
    }

    /// The side Alpaca sent, whatever it is.
    pub fn from_wire(raw: &str) -> Self {
        match raw.trim() {
            "long" => Self::Long,
            "short" => Self::Short,
            other => Self::Other(Arc::from(other)),
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Side {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Side {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        wire_text(&raw).map_err(serde::de::Error::custom)?;
        Ok(Self::from_wire(&raw))
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
    fn users_name_known_classes_only_but_alpacas_are_kept_verbatim() {
        for c in AssetClass::KNOWN {
            assert_eq!(AssetClass::parse(c.as_str()), Ok(c.clone()));
            assert_eq!(AssetClass::from_wire(c.as_str()), c);
        }
        let err = AssetClass::parse("stocks").unwrap_err();
        assert!(
            err.contains("us_equity, us_option, crypto, crypto_perp"),
            "{err}"
        );
        let new: AssetClass = serde_json::from_str(r#""us_bond""#).unwrap();
        assert_eq!(new, AssetClass::Other("us_bond".into()));
        assert!(!new.is_known());
        assert_eq!(serde_json::to_string(&new).unwrap(), r#""us_bond""#);
        let perp: AssetClass = serde_json::from_str(r#""crypto_perp""#).unwrap();
        assert_eq!(perp, AssetClass::CryptoPerp);
        for bad in [r#""""#, r#""<b>""#, r#""US Equity""#, r#""a,b""#] {
            assert!(serde_json::from_str::<AssetClass>(bad).is_err(), "{bad}");
            assert!(serde_json::from_str::<Side>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sides_are_kept_verbatim() {
        for (wire, side) in [
            ("long", Side::Long),
            ("short", Side::Short),
            ("short_sell", Side::Other("short_sell".into())),
        ] {
            assert_eq!(
                serde_json::from_str::<Side>(&format!("{wire:?}")).unwrap(),
                side
            );
            assert_eq!(side.as_str(), wire);
        }
    }

    #[test]
    fn side_follows_the_sign_of_the_quantity() {
        assert_eq!(Side::of_quantity(rust_decimal::dec!(-3)), Side::Short);
        assert_eq!(Side::of_quantity(rust_decimal::dec!(0)), Side::Long);
        assert_eq!(Side::of_quantity(rust_decimal::dec!(0.5)), Side::Long);
    }
}
