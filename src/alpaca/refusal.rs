//! A bars request Alpaca refused because of a symbol in it: a 400 or 422
//! whose message is about symbols (`{"code":42210000,"message":"invalid
//! symbol: BC-C"}`), read for the symbol it names. Pure; the isolation
//! that acts on it is in [`super::bars`].

use super::error::AlpacaError;
use crate::domain::Symbol;

/// Why Alpaca refused a multi-symbol request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refusal {
    /// It named this symbol of the batch (its index) as invalid.
    Named(usize),
    /// It refused a symbol without saying which one of the batch.
    Unnamed,
}

/// The refusal `e` is, for a request of `batch`; `None` when `e` is not a
/// refusal of a symbol (a server error, a bad feed, an auth failure ...).
pub(super) fn refusal(e: &AlpacaError, batch: &[Symbol]) -> Option<Refusal> {
    let AlpacaError::Status { status, message } = e else {
        return None;
    };
    if !matches!(status, 400 | 422) {
        return None;
    }
    let lower = message.to_ascii_lowercase();
    let at = lower.find("symbol")?;
    // What follows "symbol", "symbols", "symbol:" or "symbol(s):" is the
    // candidate; Alpaca writes the ticker as sent (it echoes our upper
    // case), but compare without case anyway.
    let rest = message[at + "symbol".len()..].trim_start_matches(['s', '(', ')', ':', ' ', '"']);
    let named: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '/'))
        .collect();
    Some(
        batch
            .iter()
            .position(|s| !named.is_empty() && s.as_str().eq_ignore_ascii_case(&named))
            .map_or(Refusal::Unnamed, Refusal::Named),
    )
}

/// Requests the isolation of refused symbols in one batch may spend:
/// bisecting `n` symbols costs about two requests per halving for each bad
/// one, so a few bad symbols fit and a request that every symbol fails
/// (a refusal that is not about one symbol after all) stops early.
pub(super) fn isolation_budget(n: usize) -> usize {
    let halvings = usize::BITS - n.max(1).leading_zeros();
    8 * (halvings as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(names: &[&str]) -> Vec<Symbol> {
        names.iter().map(|n| Symbol::parse(n).unwrap()).collect()
    }

    fn status(status: u16, message: &str) -> AlpacaError {
        AlpacaError::Status {
            status,
            message: message.into(),
        }
    }

    #[test]
    fn alpacas_invalid_symbol_answers_name_the_symbol() {
        let b = batch(&["AAPL", "TSLA", "BC-C"]);
        // As `error_message` renders Alpaca's bodies (tests/data/alpaca/).
        for m in [
            "invalid symbol: BC-C (code 42210000)",
            "invalid symbol: BC-C",
            "invalid symbol: bc-c",
        ] {
            assert_eq!(refusal(&status(400, m), &b), Some(Refusal::Named(2)), "{m}");
        }
        assert_eq!(
            refusal(&status(422, "invalid symbols (code 42210000)"), &b),
            Some(Refusal::Unnamed)
        );
        assert_eq!(
            refusal(&status(400, "invalid symbol: ZZZZ"), &b),
            Some(Refusal::Unnamed),
            "a symbol not in the batch names none of it"
        );
    }

    #[test]
    fn other_errors_are_not_refusals_of_a_symbol() {
        let b = batch(&["AAPL"]);
        for e in [
            status(422, "invalid feed (code 42210000)"),
            status(403, "invalid symbol: AAPL"),
            status(500, "invalid symbol: AAPL"),
            status(400, "invalid page token"),
            AlpacaError::Timeout(std::time::Duration::from_secs(1)),
        ] {
            assert_eq!(refusal(&e, &b), None, "{e}");
        }
    }

    #[test]
    fn the_budget_grows_with_the_halvings() {
        assert_eq!(isolation_budget(1), 16);
        assert_eq!(isolation_budget(500), 80);
        assert!(isolation_budget(1000) < 100);
    }
}
