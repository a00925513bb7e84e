//! Charts in the chat: `/chart` and `/breadth` as photos, the "Chart"
//! buttons under `/symbol` and `/screen`, and `/screen`'s previous / next
//! buttons, which edit the message in place.
//!
//! A button carries the date of the screen it was made from; pressed after
//! a newer screen was loaded, it says so (in the callback's answer) rather
//! than showing another day's data. Callback data stays well inside
//! Telegram's 64 bytes (the longest is about 30). Charts are drawn from the
//! in-memory history on a blocking thread; one that cannot be drawn gets a
//! short reply and a log line, never a panic.

use chrono::NaiveDate;
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, MessageId};

use super::commands::{ChartArg, Count, MAX_SCREEN_ROWS, TickerArg, parse_count, parse_ticker};
use super::format::{self, sim_marker};
use super::html::escape;
use super::send::{self, TgBot};
use crate::chart::{self, Figure, NoChart, Period, PriceChart, data};
use crate::domain::Symbol;
use crate::numbers::{price, signed_pct, thousands};
use crate::screen::ScreenParams;
use crate::state::Snapshot;

/// Telegram's limit on a button's callback data, in bytes.
pub const MAX_CALLBACK_DATA: usize = 64;

/// Prefix of a "Chart" button's data.
const CHART_PREFIX: &str = "ch:";
/// Prefix of a `/screen` page button's data.
const PAGE_PREFIX: &str = "sp:";
/// Chart buttons per keyboard row under `/screen`.
const BUTTONS_PER_ROW: usize = 4;

/// A press of one of these buttons, as its callback data says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Press {
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

fn button(label: String, press: &Press) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(label, press.encode())
}

/// The "Chart" button under `/symbol TICKER`, for the screen of `date`.
pub fn symbol_keyboard(date: NaiveDate, symbol: &Symbol) -> InlineKeyboardMarkup {
    let press = Press::Chart {
        date,
        symbol: symbol.clone(),
    };
    InlineKeyboardMarkup::new([[button(format!("Chart {symbol}"), &press)]])
}

/// The keyboard under a `/screen` page: a chart button per row, then
/// previous / next where there are more rows. `None` without a screen.
pub fn screen_keyboard(snap: &Snapshot, offset: usize, n: usize) -> Option<InlineKeyboardMarkup> {
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

/// The buttons under a reply answered from the snapshot: `/screen` and
/// `/symbol` get theirs; other commands none.
pub fn keyboard_for(
    cmd: &super::commands::Command,
    snap: &Snapshot,
    top_n: usize,
) -> Option<InlineKeyboardMarkup> {
    use super::commands::Command;
    let screen = snap.screen.as_ref()?;
    match cmd {
        Command::Screen(arg) => {
            let count = parse_count(arg, top_n, MAX_SCREEN_ROWS).ok()?;
            screen_keyboard(snap, 0, count.n)
        }
        Command::Symbol(arg) => {
            let symbol = parse_ticker(arg).ok()?;
            let charted =
                screen.row(&symbol).is_some() || snap.prices.symbol_index(&symbol).is_some();
            charted.then(|| symbol_keyboard(screen.date, &symbol))
        }
        _ => None,
    }
}

/// What a button made from the screen of `date` says when the screen
/// loaded now is another day's (or there is none); `None` when current.
pub fn stale(date: NaiveDate, snap: &Snapshot) -> Option<String> {
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

/// `/chart` with arguments that cannot be used.
pub fn chart_usage(err: &ChartArg) -> String {
    let usage = "Usage: /chart TICKER [3m|6m|1y|5y], for example /chart AAPL or /chart BF.B 6m";
    match err {
        ChartArg::Ticker(TickerArg::Missing) => format!("{usage}."),
        ChartArg::Ticker(TickerArg::Invalid(t)) => format!(
            "{} is not a ticker. {usage}.",
            escape(&crate::echo::quoted(t))
        ),
        ChartArg::Period(p) => format!(
            "{} is not a period (3m, 6m, 1y or 5y). {usage}.",
            escape(&crate::echo::quoted(p))
        ),
    }
}

/// Why there is no chart to send.
pub fn no_chart(err: &NoChart) -> String {
    format!("No chart: {}.", escape(&err.to_string()))
}

/// A chart that could not be drawn (logged).
pub fn chart_failed() -> String {
    "Sorry, the chart could not be drawn. It has been logged; the text commands still work."
        .to_string()
}

/// The caption of `/chart`: rank, drawdown, peak and date from the
/// screen loaded, or why the symbol is not ranked.
pub fn chart_caption(snap: &Snapshot, c: &PriceChart) -> String {
    let mut out = String::from(sim_marker(c.simulated || snap.simulated));
    let name = escape(c.symbol.as_str());
    let held = match (c.dates.first(), c.dates.last()) {
        (Some(a), Some(b)) => format!("{a} → {b}"),
        _ => "no sessions".to_string(),
    };
    out.push_str(&format!("<b>{name}</b> · {} · {held}\n", c.period.as_str()));
    let row = snap
        .screen
        .as_ref()
        .and_then(|s| Some((s, s.row(&c.symbol)?)));
    match (row, &c.marks) {
        (Some((s, r)), _) => out.push_str(&format!(
            "Rank <b>{}</b> of {} · drawdown <b>{}</b>\nPeak {} on {} · now {} · screen {}",
            r.rank,
            thousands(s.rows.len() as u64),
            signed_pct(r.drawdown_pct),
            price(r.peak_price),
            r.peak_date,
            price(r.current_price),
            s.date
        )),
        (None, Ok(m)) => out.push_str(&format!(
            "Not in the latest screen · {} from the peak of {} on {}",
            signed_pct(m.drawdown_pct),
            price(m.peak_price),
            m.peak_date
        )),
        (None, Err(reason)) => out.push_str(&format!("Not ranked: {}", escape(reason))),
    }
    if c.short {
        out.push_str(&format!(
            "\n<i>Only {} sessions are held for {}.</i>",
            c.dates.len(),
            c.period.as_str()
        ));
    }
    out
}

/// The caption of `/breadth`.
pub fn breadth_caption(b: &data::Breadth) -> String {
    let mut out = String::from(sim_marker(b.simulated));
    out.push_str(&format!(
        "<b>Market breadth</b> · {} screens",
        b.points.len()
    ));
    if let Some(last) = b.points.last() {
        out.push_str(&format!(
            "\nScreen {}: {} of {} down 20% or more, {} down 30% or more; median {}",
            last.date,
            thousands(last.down_20 as u64),
            thousands(last.ranked as u64),
            thousands(last.down_30 as u64),
            signed_pct(last.median_pct)
        ));
    }
    out
}

/// Draw `figure` as a PNG on a blocking thread (it is CPU work).
async fn render(figure: Figure) -> Result<Vec<u8>, String> {
    tokio::task::spawn_blocking(move || chart::png(&figure, &figure.photo_style()))
        .await
        .map_err(|e| format!("the drawing task failed: {e}"))?
        .map_err(|e| e.to_string())
}

/// Send `figure` as a photo, or say that it could not be drawn.
async fn send_figure(
    bot: &TgBot,
    chat: ChatId,
    figure: Figure,
    filename: String,
    caption: &str,
) -> Result<(), RequestError> {
    match render(figure).await {
        Ok(png) => send::photo(bot, chat, filename, png, caption, None).await,
        Err(e) => {
            tracing::error!(chat_id = chat.0, error = %e, "a chart could not be drawn");
            send::html(bot, chat, &chart_failed()).await.map(|_| ())
        }
    }
}

/// `symbol`'s price chart over `period`, as a photo with its caption.
pub async fn chart(
    bot: &TgBot,
    chat: ChatId,
    symbol: &Symbol,
    period: Period,
    snap: &Snapshot,
    params: &ScreenParams,
) -> Result<(), RequestError> {
    let published = snap.screen.as_ref().and_then(|s| s.row(symbol));
    let c = match data::price_chart(&snap.prices, symbol, period, params, published) {
        Ok(c) => c,
        Err(e) => return send::html(bot, chat, &no_chart(&e)).await.map(|_| ()),
    };
    let caption = chart_caption(snap, &c);
    let filename = format!("{}-{}.png", symbol, period.as_str());
    send_figure(bot, chat, Figure::Price(c), filename, &caption).await
}

/// `/chart ARGS`.
pub async fn chart_command(
    bot: &TgBot,
    chat: ChatId,
    args: &str,
    snap: &Snapshot,
    params: &ScreenParams,
) -> Result<(), RequestError> {
    match super::commands::parse_chart(args) {
        Ok((symbol, period)) => chart(bot, chat, &symbol, period, snap, params).await,
        Err(e) => send::html(bot, chat, &chart_usage(&e)).await.map(|_| ()),
    }
}

/// `/breadth`: the breadth chart over the screens held.
pub async fn breadth(bot: &TgBot, chat: ChatId, snap: &Snapshot) -> Result<(), RequestError> {
    let b = match data::breadth(&snap.history, snap.simulated) {
        Ok(b) => b,
        Err(e) => return send::html(bot, chat, &no_chart(&e)).await.map(|_| ()),
    };
    let caption = breadth_caption(&b);
    let name = match b.points.last() {
        Some(p) => format!("breadth-{}.png", p.date),
        None => "breadth.png".to_string(),
    };
    send_figure(bot, chat, Figure::Breadth(b), name, &caption).await
}

/// The caption of `/risk`'s heatmap.
pub fn heatmap_caption(h: &chart::CorrelationHeatmap) -> String {
    let mut out = String::from(sim_marker(h.simulated));
    out.push_str(&format!(
        "<b>Correlation</b> of daily returns over {} sessions · snapshot {}",
        h.lookback, h.date
    ));
    if h.truncated() {
        out.push_str(&format!(
            "\n<i>The {} largest of {} measured positions.</i>",
            h.symbols.len(),
            h.measured
        ));
    }
    out
}

/// `/risk`'s picture, sent after its summary: the correlation heatmap of
/// the risk view the daemon computed. Nothing is sent when there is no
/// view or fewer than two measured positions (the summary says why).
pub async fn risk_heatmap(bot: &TgBot, chat: ChatId, snap: &Snapshot) -> Result<(), RequestError> {
    let Some(heatmap) = snap
        .risk
        .as_deref()
        .and_then(|r| chart::correlation_heatmap(r).ok())
    else {
        return Ok(());
    };
    let caption = heatmap_caption(&heatmap);
    let name = format!("correlation-{}.png", heatmap.date);
    send_figure(bot, chat, Figure::Correlation(heatmap), name, &caption).await
}

/// A `/screen` page button: the message becomes that page.
pub async fn page(
    bot: &TgBot,
    chat: ChatId,
    message: MessageId,
    offset: usize,
    n: usize,
    snap: &Snapshot,
) -> Result<(), RequestError> {
    let count = Count { n, capped: false };
    let text = format::screen_page(snap, offset, count, chrono::Utc::now());
    let keyboard = screen_keyboard(snap, offset, n);
    send::edit_html(bot, chat, message, &text, keyboard).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DrawdownRow;
    use crate::state::ScreenState;

    use crate::test_support::d;

    fn snap(n: usize) -> Snapshot {
        let date = d("2026-11-20");
        let rows = (0..n)
            .map(|i| DrawdownRow {
                date,
                symbol: Symbol::parse(&format!("S{i}")).unwrap(),
                current_price: 1.0,
                peak_price: 2.0,
                peak_date: d("2026-10-01"),
                drawdown_pct: -50.0 + i as f64 * 0.01,
                days_since_peak: 30,
                volume: 1,
                rank: i as u32 + 1,
            })
            .collect();
        let report = crate::test_support::report(date);
        Snapshot {
            screen: Some(ScreenState::new(date, rows, report)),
            ..Snapshot::default()
        }
    }

    fn datas(k: &InlineKeyboardMarkup) -> Vec<(String, String)> {
        k.inline_keyboard
            .iter()
            .flatten()
            .map(|b| match &b.kind {
                teloxide::types::InlineKeyboardButtonKind::CallbackData(d) => {
                    (b.text.clone(), d.clone())
                }
                other => panic!("not a callback button: {other:?}"),
            })
            .collect()
    }

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

    #[test]
    fn pages_after_the_first_name_their_ranks() {
        let s = snap(25);
        let count = Count {
            n: 10,
            capped: false,
        };
        let now = chrono::Utc::now();
        let text = format::screen_page(&s, 20, count, now);
        assert!(text.contains("Ranks 21–25 of 25"), "{text}");
        assert!(text.contains("S24") && !text.contains(" S19 "), "{text}");
        assert!(format::screen_page(&s, 0, count, now).contains("Top 10 of 25 ranked"));
    }
}
