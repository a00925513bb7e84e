//! The trading buttons' callback data: Confirm and Cancel under a preview
//! (the preview's one-time token), Cancel under an `/orders` line (the
//! broker's order id), and `/risk`'s Buy and Sell (a ticker). Each is a
//! two-letter prefix and one value, well inside Telegram's 64 bytes; the
//! value is checked on the way out and on the way back (a press is input
//! like any other).

use teloxide::types::InlineKeyboardButton;

use crate::domain::Symbol;

/// Telegram's limit on a button's callback data, in bytes.
const MAX_CALLBACK_DATA: usize = 64;

/// A press of a trading button, as its callback data says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TradePress {
    /// Confirm the preview with this token.
    Confirm(String),
    /// Drop the preview with this token unsent.
    Discard(String),
    /// Ask the broker to cancel the order with this id.
    CancelOrder(String),
    /// Preview a buy of the risk view's suggested size.
    Buy(Symbol),
    /// Preview a sell of the whole position.
    Sell(Symbol),
}

const CONFIRM: &str = "tc:";
const DISCARD: &str = "tx:";
const CANCEL_ORDER: &str = "oc:";
const BUY: &str = "rb:";
const SELL: &str = "rs:";

impl TradePress {
    /// The callback data; `None` when the value cannot travel in a button
    /// (too long, or characters a token or an order id never has).
    pub fn encode(&self) -> Option<String> {
        let (prefix, value) = match self {
            Self::Confirm(t) => (CONFIRM, t.as_str()),
            Self::Discard(t) => (DISCARD, t.as_str()),
            Self::CancelOrder(id) => (CANCEL_ORDER, id.as_str()),
            Self::Buy(s) => (BUY, s.as_str()),
            Self::Sell(s) => (SELL, s.as_str()),
        };
        let data = format!("{prefix}{value}");
        (plain(value) && data.len() <= MAX_CALLBACK_DATA).then_some(data)
    }

    /// Read callback data; `None` for anything that is not one of ours.
    pub fn decode(data: &str) -> Option<Self> {
        if data.len() > MAX_CALLBACK_DATA {
            return None;
        }
        let (prefix, value) = data.split_at_checked(3)?;
        if !plain(value) {
            return None;
        }
        match prefix {
            CONFIRM => Some(Self::Confirm(value.to_string())),
            DISCARD => Some(Self::Discard(value.to_string())),
            CANCEL_ORDER => Some(Self::CancelOrder(value.to_string())),
            BUY => Symbol::parse(value).ok().map(Self::Buy),
            SELL => Symbol::parse(value).ok().map(Self::Sell),
            _ => None,
        }
    }

    /// The button making this press, labelled `label`; `None` when it
    /// cannot be encoded.
    pub fn button(&self, label: impl Into<String>) -> Option<InlineKeyboardButton> {
        self.encode()
            .map(|data| InlineKeyboardButton::callback(label.into(), data))
    }

    /// The command's name in logs and metrics (never user text).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Confirm(_) => "confirm",
            Self::Discard(_) => "discard",
            Self::CancelOrder(_) => "cancel_order",
            Self::Buy(_) => "risk_buy",
            Self::Sell(_) => "risk_sell",
        }
    }
}

/// A value a button may carry: non-empty ASCII letters, digits, `-`, `_`
/// and `.` (tokens are hex, order ids UUIDs, tickers `BRK.B`).
fn plain(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presses_round_trip_within_64_bytes() {
        let token = "0123456789abcdef0123456789abcdef".to_string();
        let order = "61e69015-8549-4bfd-b9c3-01e75843f47d".to_string();
        let presses = [
            TradePress::Confirm(token.clone()),
            TradePress::Discard(token),
            TradePress::CancelOrder(order),
            TradePress::Buy(Symbol::parse("BRK.B").unwrap()),
            TradePress::Sell(Symbol::parse("ABCDEFGH.XYZ").unwrap()),
        ];
        for p in presses {
            let data = p.encode().expect("encodes");
            assert!(data.len() <= MAX_CALLBACK_DATA, "{data}");
            assert_eq!(TradePress::decode(&data), Some(p));
        }
    }

    #[test]
    fn damaged_or_hostile_data_is_not_a_press() {
        let long = format!("tc:{}", "a".repeat(62));
        for bad in [
            "tc:",
            "tc:a b",
            "tc:<b>",
            "oc:1;2",
            "rb:A&B",
            "rs:",
            "zz:abc",
            "t",
            "",
            "tc:é",
            long.as_str(),
            // Another button family's data.
            "ch:20261120:AAPL",
            "unalert:3",
        ] {
            assert_eq!(TradePress::decode(bad), None, "{bad}");
        }
        assert_eq!(TradePress::Confirm("a b".into()).encode(), None);
        assert_eq!(TradePress::Confirm("x".repeat(70)).encode(), None);
    }
}
