//! `/screen [N]`: the N worst drawdowns, with a "📈 TICKER" chart button
//! per row and previous / next buttons that page through the whole ranking,
//! editing the message in place.

use chrono::{DateTime, Utc};
use teloxide::RequestError;
use teloxide::types::{ChatId, InlineKeyboardButton, InlineKeyboardMarkup, MessageId};

use super::parse::BadArgs;
use super::{Answer, Reply, Request, Spec};
use crate::bot::buttons::{Press, button};
use crate::bot::format::{no_screen, sim_marker};
use crate::bot::html::{Align, Table};
use crate::bot::send::{self, TgBot};
use crate::numbers::{price, signed_pct, thousands};
use crate::state::Snapshot;

/// `/screen`.
pub(crate) const SPEC: Spec = Spec::new(
    "screen",
    " [N]",
    "The worst drawdowns: rank, drop, peak and price",
    Answer::Snapshot(reply),
);

/// Chart buttons per keyboard row under `/screen`.
const BUTTONS_PER_ROW: usize = 4;

/// The first page, with its buttons; the usage on a bad argument.
fn reply(r: &Request<'_>) -> Reply {
    match parse_count(r.args, r.params.top_n, MAX_SCREEN_ROWS) {
        Ok(count) => Reply {
            text: screen(r.snap, count, r.now),
            keyboard: screen_keyboard(r.snap, 0, count.n),
        },
        Err(BadArgs) => screen_usage(r.params.top_n, MAX_SCREEN_ROWS).into(),
    }
}

/// The largest `/screen N` (kept with the buttons, which check a page's
/// size against it).
pub(crate) use crate::bot::buttons::MAX_SCREEN_ROWS;

/// `/screen [N]`: how many rows, or why the argument is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Count {
    /// Rows to show.
    pub n: usize,
    /// True when the request was above the maximum and was lowered.
    pub capped: bool,
}

/// Parse `/screen`'s argument: empty means `default`, above `max` is
/// capped, anything but a positive whole number is an error.
pub(crate) fn parse_count(arg: &str, default: usize, max: usize) -> Result<Count, BadArgs> {
    let arg = arg.trim();
    if arg.is_empty() {
        return Ok(Count {
            n: default.clamp(1, max),
            capped: false,
        });
    }
    if !arg.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BadArgs);
    }
    // All digits: an overflow is just a very large request.
    let n = arg.parse::<usize>().unwrap_or(usize::MAX);
    match n {
        0 => Err(BadArgs),
        n if n > max => Ok(Count {
            n: max,
            capped: true,
        }),
        n => Ok(Count { n, capped: false }),
    }
}

/// `/screen [N]`: the N worst drawdowns.
pub(crate) fn screen(snap: &Snapshot, count: Count, now: DateTime<Utc>) -> String {
    screen_page(snap, 0, count, now)
}

/// One page of `/screen`: `count.n` rows from rank `offset + 1` (the
/// first page is [`screen`]; later ones are reached with its buttons).
pub(crate) fn screen_page(
    snap: &Snapshot,
    offset: usize,
    count: Count,
    now: DateTime<Utc>,
) -> String {
    let Some(s) = &snap.screen else {
        return no_screen(snap, now);
    };
    let mut out = String::from(sim_marker(snap.simulated));
    let offset = offset.min(s.rows.len());
    let n = count.n.min(s.rows.len() - offset);
    let total = thousands(s.rows.len() as u64);
    if offset == 0 {
        out.push_str(&format!(
            "<b>Worst drawdowns</b> · screen {}\nTop {n} of {total} ranked",
            s.date
        ));
    } else {
        out.push_str(&format!(
            "<b>Worst drawdowns</b> · screen {}\nRanks {}–{} of {total}",
            s.date,
            offset + 1,
            offset + n
        ));
    }
    if count.capped {
        out.push_str(&format!(" (at most {} per reply)", count.n));
    }
    out.push('\n');
    let mut t = Table::new(&[
        ("#", Align::Right),
        ("symbol", Align::Left),
        ("drawdown", Align::Right),
        ("peak", Align::Right),
        ("now", Align::Right),
        ("days", Align::Right),
    ]);
    for r in s.rows.iter().skip(offset).take(n) {
        t.row(vec![
            r.rank.to_string(),
            r.symbol.to_string(),
            signed_pct(r.drawdown_pct),
            price(r.peak_price),
            price(r.current_price),
            r.days_since_peak.to_string(),
        ]);
    }
    out.push_str(&t.render());
    out.push_str("\n<i>peak → now: highest price in the window, then the last close; days: sessions since the peak.</i>");
    out
}

/// `/screen` with a bad argument.
pub(crate) fn screen_usage(default: usize, max: usize) -> String {
    format!(
        "Usage: /screen [N], N a whole number from 1 to {max} (default {}).",
        default.clamp(1, max)
    )
}

/// The keyboard under a `/screen` page: a chart button per row, then
/// previous / next where there are more rows. `None` without a screen.
pub(crate) fn screen_keyboard(
    snap: &Snapshot,
    offset: usize,
    n: usize,
) -> Option<InlineKeyboardMarkup> {
    let s = snap.screen.as_ref()?;
    let total = s.rows.len();
    let offset = offset.min(total);
    let mut rows: Vec<Vec<InlineKeyboardButton>> = s
        .rows
        .iter()
        .skip(offset)
        .take(n)
        .map(|r| {
            let press = Press::Chart {
                date: s.date,
                symbol: r.symbol.clone(),
            };
            button(format!("📈 {}", r.symbol), &press)
        })
        .collect::<Vec<_>>()
        .chunks(BUTTONS_PER_ROW)
        .map(<[InlineKeyboardButton]>::to_vec)
        .collect();
    let mut nav = Vec::new();
    if offset > 0 {
        let press = Press::Page {
            date: s.date,
            offset: offset.saturating_sub(n),
            n,
        };
        nav.push(button("‹ Previous".into(), &press));
    }
    if offset + n < total {
        let press = Press::Page {
            date: s.date,
            offset: offset + n,
            n,
        };
        nav.push(button(
            format!("Next › ({} of {})", (offset + 2 * n).min(total), total),
            &press,
        ));
    }
    if !nav.is_empty() {
        rows.push(nav);
    }
    (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows))
}

/// A `/screen` page button: the message becomes that page.
pub(crate) async fn page(
    bot: &TgBot,
    chat: ChatId,
    message: MessageId,
    offset: usize,
    n: usize,
    snap: &Snapshot,
) -> Result<(), RequestError> {
    let count = Count { n, capped: false };
    let text = screen_page(snap, offset, count, chrono::Utc::now());
    let keyboard = screen_keyboard(snap, offset, n);
    send::edit_html(bot, chat, message, &text, keyboard).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::commands::fixtures::{buttons as datas, ranked as snap};

    #[test]
    fn screen_count() {
        let count = |n, capped| Ok(Count { n, capped });
        assert_eq!(parse_count("", 10, 50), count(10, false));
        assert_eq!(parse_count(" 7 ", 10, 50), count(7, false));
        assert_eq!(parse_count("500", 10, 50), count(50, true));
        let huge = "99999999999999999999999";
        assert_eq!(parse_count(huge, 10, 50), count(50, true));
        assert_eq!(parse_count("0", 10, 50), Err(BadArgs));
        assert_eq!(parse_count("-3", 10, 50), Err(BadArgs));
        assert_eq!(parse_count("ten", 10, 50), Err(BadArgs));
        assert_eq!(parse_count("", 80, 50), count(50, false));
    }

    #[test]
    fn screen_pages_have_chart_buttons_and_previous_next() {
        let s = snap(25);
        let first = datas(&screen_keyboard(&s, 0, 10).unwrap());
        assert_eq!(first.len(), 11, "10 charts and next");
        assert_eq!(first[0], ("📈 S0".into(), "ch:20261120:S0".into()));
        assert_eq!(
            first[10],
            ("Next › (20 of 25)".into(), "sp:20261120:10:10".into())
        );
        let middle = datas(&screen_keyboard(&s, 10, 10).unwrap());
        let nav: Vec<&str> = middle[10..].iter().map(|b| b.1.as_str()).collect();
        assert_eq!(nav, ["sp:20261120:0:10", "sp:20261120:20:10"]);
        let last = datas(&screen_keyboard(&s, 20, 10).unwrap());
        assert_eq!(last.len(), 6, "5 charts and previous");
        assert_eq!(last[5].1, "sp:20261120:10:10");
        // One page holds everything: no navigation.
        let all = datas(&screen_keyboard(&s, 0, 50).unwrap());
        assert_eq!(all.len(), 25);
        assert!(screen_keyboard(&Snapshot::default(), 0, 10).is_none());
    }

    #[test]
    fn pages_after_the_first_name_their_ranks() {
        let s = snap(25);
        let count = Count {
            n: 10,
            capped: false,
        };
        let now = chrono::Utc::now();
        let text = screen_page(&s, 20, count, now);
        assert!(text.contains("Ranks 21–25 of 25"), "{text}");
        assert!(text.contains("S24") && !text.contains(" S19 "), "{text}");
        assert!(screen_page(&s, 0, count, now).contains("Top 10 of 25 ranked"));
    }
}
