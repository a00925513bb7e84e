use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A ticker as Alpaca spells it: `AAPL`, `BRK.B`, `BF.A`.
///
/// Parsing upper-cases and trims; it must start with a letter or digit and
/// hold only ASCII letters, digits, `.` and `-`, so a ticker is always safe
/// to put in a URL query, a CSV cell, an HTML message or a storage path.
/// Shared text (`Arc<str>`): a screen, a state snapshot and alert states
/// hold the same tickers many times over, and cloning one is a counter bump.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Symbol(Arc<str>);

/// Why a string is not a ticker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymbolError {
    /// Empty after trimming.
    #[error("empty ticker")]
    Empty,
    /// Longer than [`Symbol::MAX_LEN`].
    #[error("ticker {0:?} is longer than {max} characters", max = Symbol::MAX_LEN)]
    TooLong(String),
    /// Holds a character no exchange ticker uses.
    #[error("ticker {0:?} is not letters, digits, '.' or '-' starting with a letter or digit")]
    BadChar(String),
}

impl Symbol {
    /// Longest accepted ticker (Alpaca's longest are well under this).
    pub const MAX_LEN: usize = 12;

    /// Parse user or file input into a ticker.
    pub fn parse(raw: &str) -> Result<Self, SymbolError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(SymbolError::Empty);
        }
        if s.len() > Self::MAX_LEN {
            return Err(SymbolError::TooLong(
                s.chars().take(Self::MAX_LEN + 8).collect(),
            ));
        }
        let starts_well = s.starts_with(|c: char| c.is_ascii_alphanumeric());
        if !starts_well
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        {
            return Err(SymbolError::BadChar(s.to_string()));
        }
        Ok(Self(Arc::from(s.to_ascii_uppercase())))
    }

    /// Whether `s` is a ticker exactly as [`Symbol::parse`] returns one
    /// (trimmed, upper case, allowed characters): a check that allocates
    /// nothing, for reading the lake's own files row by row.
    pub fn is_canonical(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'))
    }

    /// The ticker text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Symbol {
    type Error = SymbolError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Symbol> for String {
    fn from(s: Symbol) -> Self {
        s.0.to_string()
    }
}

/// Parse a universe file: one ticker a line, `#` starts a comment, blank
/// lines ignored, duplicates dropped (first one kept). Errors name the line.
pub fn parse_universe(text: &str) -> Result<Vec<Symbol>, String> {
    // Editors on Windows start UTF-8 files with a byte-order mark; it is
    // not part of the first ticker.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let sym = Symbol::parse(content).map_err(|e| format!("line {}: {e}", i + 1))?;
        if seen.insert(sym.clone()) {
            out.push(sym);
        }
    }
    if out.is_empty() {
        return Err("no tickers in the file".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_class_shares_and_normalises_case() {
        assert_eq!(Symbol::parse(" bf.b ").unwrap().as_str(), "BF.B");
        assert_eq!(Symbol::parse("BRK-B").unwrap().as_str(), "BRK-B");
    }

    #[test]
    fn canonical_is_what_parse_returns() {
        for raw in [
            "AAPL",
            "BRK.B",
            "BF-A",
            "A1",
            "aapl",
            " AAPL",
            "",
            ".A",
            "A&B",
            "ABCDEFGHIJKLM",
        ] {
            let parsed = Symbol::parse(raw).ok();
            let canonical = parsed.as_ref().is_some_and(|s| s.as_str() == raw);
            assert_eq!(Symbol::is_canonical(raw), canonical, "{raw:?}");
        }
    }

    #[test]
    fn rejects_unsafe_text() {
        assert_eq!(Symbol::parse("  "), Err(SymbolError::Empty));
        assert!(matches!(Symbol::parse("A&B"), Err(SymbolError::BadChar(_))));
        assert!(matches!(
            Symbol::parse("../etc"),
            Err(SymbolError::BadChar(_))
        ));
        assert!(matches!(Symbol::parse(".A"), Err(SymbolError::BadChar(_))));
        assert!(matches!(
            Symbol::parse("BTC/USD"),
            Err(SymbolError::BadChar(_))
        ));
        assert!(matches!(
            Symbol::parse(&"A".repeat(40)),
            Err(SymbolError::TooLong(_))
        ));
    }

    #[test]
    fn universe_skips_comments_blank_lines_and_duplicates() {
        let u = parse_universe("# header\nAAPL\n\nmsft # software\nAAPL\n").unwrap();
        let names: Vec<_> = u.iter().map(Symbol::as_str).collect();
        assert_eq!(names, ["AAPL", "MSFT"]);
    }

    #[test]
    fn universe_error_names_the_line() {
        let err = parse_universe("AAPL\nNOT A TICKER\n").unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
        assert!(parse_universe("# nothing\n").is_err());
    }
}
