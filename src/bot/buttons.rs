//! The inline buttons under replies whose data the bot reads back: a
//! symbol's "Chart" and `/screen`'s pages (the alert list's delete buttons
//! are `unalert:ID`, [`super::commands::unalert`]).
//!
//! A button carries the date of the screen it was made from; pressed after
//! a newer screen was loaded, it says so (in the callback's answer) rather
//! than showing another day's data. Callback data stays well inside
//! Telegram's 64 bytes (the longest is about 30), and its format never
//! changes: buttons on old messages must keep working.

use chrono::NaiveDate;
use teloxide::types::InlineKeyboardButton;

use crate::domain::Symbol;
use crate::state::Snapshot;

/// The largest `/screen N`: a page button never asks for more rows.
pub(crate) const MAX_SCREEN_ROWS: usize = 50;

/// Telegram's limit on a button's callback data, in bytes (the tests hold
/// every encoding to it).
#[cfg(test)]
const MAX_CALLBACK_DATA: usize = 64;

/// Prefix of a "Chart" button's data.
const CHART_PREFIX: &str = "ch:";

/// Prefix of a `/screen` page button's data.
const PAGE_PREFIX: &str = "sp:";

/// A press of one of these buttons, as its callback data says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Press {
    /// "Chart": `symbol`'s price chart, from the screen of `date`.
    Chart {
        /// The screen the button was made from.
        date: NaiveDate,
        /// The symbol.
        symbol: Symbol,
    },
    /// A `/screen` page: `n` rows from rank `offset + 1`.
    Page {
        /// The screen the button was made from.
        date: NaiveDate,
        /// Rows before the page.
        offset: usize,
        /// Rows on the page.
        n: usize,
    },
}

impl Press {
    /// The screen date the button was made from.
    pub fn date(&self) -> NaiveDate {
        match self {
            Self::Chart { date, .. } | Self::Page { date, .. } => *date,
        }
    }

    /// The callback data: `ch:YYYYMMDD:TICKER` or `sp:YYYYMMDD:OFFSET:N`.
    pub fn encode(&self) -> String {
        match self {
            Self::Chart { date, symbol } => {
                format!("{CHART_PREFIX}{}:{symbol}", date.format("%Y%m%d"))
            }
            Self::Page { date, offset, n } => {
                format!("{PAGE_PREFIX}{}:{offset}:{n}", date.format("%Y%m%d"))
            }
        }
    }

    /// Read callback data; `None` for anything that is not one of ours
    /// (or is damaged).
    pub fn decode(data: &str) -> Option<Self> {
        let date = |s: &str| NaiveDate::parse_from_str(s, "%Y%m%d").ok();
        if let Some(rest) = data.strip_prefix(CHART_PREFIX) {
            let (d, t) = rest.split_once(':')?;
            return Some(Self::Chart {
                date: date(d)?,
                symbol: Symbol::parse(t).ok()?,
            });
        }
        let rest = data.strip_prefix(PAGE_PREFIX)?;
        let mut parts = rest.split(':');
        let (d, offset, n) = (parts.next()?, parts.next()?, parts.next()?);
        let n: usize = n.parse().ok()?;
        if parts.next().is_some() || !(1..=MAX_SCREEN_ROWS).contains(&n) {
            return None;
        }
        Some(Self::Page {
            date: date(d)?,
            offset: offset.parse().ok()?,
            n,
        })
    }
}

/// A button that makes `press` when pressed.
pub(crate) fn button(label: String, press: &Press) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(label, press.encode())
}

/// What a button made from the screen of `date` says when the screen
/// loaded now is another day's (or there is none); `None` when current.
pub(crate) fn stale(date: NaiveDate, snap: &Snapshot) -> Option<String> {
    match &snap.screen {
        Some(s) if s.date == date => None,
        Some(s) => Some(format!(
            "This button is from the screen of {date}; the data is now of {}. Send the command again.",
            s.date
        )),
        None => Some(format!(
            "This button is from the screen of {date}, which is no longer loaded."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::commands::fixtures::{d, ranked as snap};

    #[test]
    fn presses_round_trip_and_fit_in_64_bytes() {
        let longest = Press::Chart {
            date: d("2026-11-20"),
            symbol: Symbol::parse("ABCDEFGH.XYZ").unwrap(),
        };
        let page = Press::Page {
            date: d("2026-11-20"),
            offset: usize::MAX,
            n: MAX_SCREEN_ROWS,
        };
        for p in [longest, page] {
            let data = p.encode();
            assert!(data.len() <= MAX_CALLBACK_DATA, "{data}: {}", data.len());
            assert_eq!(Press::decode(&data), Some(p));
        }
        assert_eq!(
            Press::decode("ch:20261120:BF.B").unwrap().date(),
            d("2026-11-20")
        );
        for bad in [
            "del:3",
            "ch:2026-11-20:AAPL",
            "ch:20261120:A&B",
            "sp:20261120:10",
            "sp:20261120:10:0",
            "sp:20261120:10:51",
            "sp:20261120:x:10",
            "sp:20261120:10:10:1",
        ] {
            assert_eq!(Press::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_button_of_another_screen_says_so() {
        let s = snap(3);
        assert_eq!(stale(d("2026-11-20"), &s), None);
        let old = stale(d("2026-11-19"), &s).unwrap();
        assert!(
            old.contains("2026-11-19") && old.contains("now of 2026-11-20"),
            "{old}"
        );
        assert!(stale(d("2026-11-20"), &Snapshot::default()).is_some());
    }
}
