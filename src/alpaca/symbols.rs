//! Alpaca's grammar for US equity tickers, to warn before a run about a
//! ticker Alpaca will refuse: a root of one to five capital letters, and
//! optionally a share class after a dot (`BRK.B`, `BF.A`). Yahoo's dashes
//! (`BRK-B`) and digits are refused (`{"message":"invalid symbol: BC-C"}`,
//! see `tests/data/alpaca/`). Pure.

use crate::domain::Symbol;

/// Why Alpaca's grammar cannot accept `symbol`, or `None` when it can.
pub fn grammar_problem(symbol: &Symbol) -> Option<&'static str> {
    let s = symbol.as_str();
    let (root, class) = match s.split_once('.') {
        Some((root, class)) => (root, Some(class)),
        None => (s, None),
    };
    let letters = |t: &str, max: usize| {
        !t.is_empty() && t.len() <= max && t.bytes().all(|b| b.is_ascii_uppercase())
    };
    if s.contains('-') {
        return Some("Alpaca writes share classes with '.', as BRK.B, not '-'");
    }
    if s.bytes().any(|b| b.is_ascii_digit()) {
        return Some("Alpaca's tickers have no digits");
    }
    if !letters(root, 5) {
        return Some("the root is not one to five letters");
    }
    match class {
        Some(c) if !letters(c, 2) => Some("the class after '.' is not one or two letters"),
        _ => None,
    }
}

/// `check-config`'s warning about the universe's tickers Alpaca's grammar
/// cannot accept (at most ten named), or `None` when every one fits.
pub fn universe_warning(universe: &[Symbol]) -> Option<String> {
    const NAMED: usize = 10;
    let bad: Vec<String> = universe
        .iter()
        .filter_map(|s| grammar_problem(s).map(|why| format!("{s} ({why})")))
        .collect();
    if bad.is_empty() {
        return None;
    }
    let more = bad.len().saturating_sub(NAMED);
    Some(format!(
        "market.universe: {} ticker{} Alpaca will likely refuse as invalid (each is set aside \
         and reported as refused, never retried): {}{}",
        bad.len(),
        if bad.len() == 1 { "" } else { "s" },
        bad[..bad.len().min(NAMED)].join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_support::sym;

    #[test]
    fn alpacas_tickers_fit_and_yahoos_do_not() {
        for ok in ["A", "AAPL", "GOOGL", "BRK.B", "BF.A"] {
            assert_eq!(grammar_problem(&sym(ok)), None, "{ok}");
        }
        for bad in ["BC-C", "BRK-B", "YZCDE2", "ABCDEF", "BRK.ABC", "A."] {
            let Ok(s) = Symbol::parse(bad) else { continue };
            assert!(grammar_problem(&s).is_some(), "{bad}");
        }
    }

    #[test]
    fn the_warning_names_the_bad_ones() {
        assert_eq!(universe_warning(&[sym("AAPL"), sym("BRK.B")]), None);
        let w = universe_warning(&[sym("AAPL"), sym("BC-C")]).unwrap();
        assert!(w.contains("1 ticker Alpaca"), "{w}");
        assert!(
            w.contains("BC-C (Alpaca writes share classes with '.'"),
            "{w}"
        );
        let many: Vec<Symbol> = (0..12).map(|i| sym(&format!("X{i}"))).collect();
        assert!(universe_warning(&many).unwrap().ends_with(" and 2 more"));
    }
}
