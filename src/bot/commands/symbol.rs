//! `/symbol TICKER`: the symbol's row of the screen, its drawdown history
//! over the stored days, and the position if held; if it is not ranked,
//! why. A "Chart TICKER" button under it sends its 1y chart.

use chrono::{DateTime, NaiveDate, Utc};
use teloxide::types::InlineKeyboardMarkup;

use super::{Answer, Reply, Request, Spec};
use crate::bot::buttons::{Press, button};
use crate::bot::format::{known, no_screen, sim_marker};
use crate::bot::html::{Align, Table, escape};
use crate::domain::Symbol;
use crate::numbers::{pct, price, qty, signed_pct, signed_usd, thousands, usd};
use crate::state::{HistoryPoint, ScreenState, Snapshot};

/// `/symbol`.
pub(crate) const SPEC: Spec = Spec::new(
    "symbol",
    " TICKER",
    "One symbol: rank, drawdown, history, position",
    Answer::Snapshot(reply),
);

/// Days of history listed under `/symbol` (the sparkline covers them all).
const SYMBOL_HISTORY_ROWS: usize = 10;

/// The symbol's reply and its chart button (when there is a chart to
/// draw); the usage on a bad argument.
fn reply(r: &Request<'_>) -> Reply {
    match parse_ticker(r.args) {
        Ok(sym) => Reply {
            text: symbol(r.snap, &sym, r.now),
            keyboard: keyboard(r.snap, &sym),
        },
        Err(e) => symbol_usage(&e).into(),
    }
}

/// The "Chart" button, when the symbol is ranked or its prices are held.
fn keyboard(snap: &Snapshot, symbol: &Symbol) -> Option<InlineKeyboardMarkup> {
    let screen = snap.screen.as_ref()?;
    let charted = screen.row(symbol).is_some() || snap.prices.symbol_index(symbol).is_some();
    charted.then(|| symbol_keyboard(screen.date, symbol))
}

/// Why `/symbol`'s argument is not a ticker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TickerArg {
    /// No argument.
    Missing,
    /// Not a ticker; the text as typed.
    Invalid(String),
}

/// Parse `/symbol TICKER` (one word, any case, `$` prefix allowed).
pub(crate) fn parse_ticker(arg: &str) -> Result<Symbol, TickerArg> {
    let arg = arg.trim();
    if arg.is_empty() {
        return Err(TickerArg::Missing);
    }
    let word = arg.strip_prefix('$').unwrap_or(arg);
    if word.contains(char::is_whitespace) {
        return Err(TickerArg::Invalid(arg.to_string()));
    }
    Symbol::parse(word).map_err(|_| TickerArg::Invalid(arg.to_string()))
}

/// Eight-level bar chart of the history, deepest drawdown lowest.
fn sparkline(values: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    values
        .iter()
        .map(|v| {
            if !(hi - lo).is_normal() {
                BARS[3]
            } else {
                let i = ((v - lo) / (hi - lo) * 7.0).round();
                BARS[(i.clamp(0.0, 7.0)) as usize]
            }
        })
        .collect()
}

/// `/symbol TICKER`: its row, its history, its position.
pub(crate) fn symbol(snap: &Snapshot, sym: &Symbol, now: DateTime<Utc>) -> String {
    let Some(s) = &snap.screen else {
        return no_screen(snap, now);
    };
    let name = escape(sym.as_str());
    let mut out = String::from(sim_marker(snap.simulated));
    out.push_str(&format!("<b>{name}</b> · screen {}\n", s.date));
    out.push_str(&ranking(s, sym));
    if let Some(points) = snap.history.get(sym).filter(|p| !p.is_empty()) {
        out.push_str(&history(points));
    }
    out.push_str(&position(snap, sym));
    out
}

/// The symbol's row of the screen, or why it has none.
fn ranking(s: &ScreenState, sym: &Symbol) -> String {
    if let Some(r) = s.row(sym) {
        return format!(
            "Rank <b>{}</b> of {} · drawdown <b>{}</b>\nPeak {} on {} ({} session{} ago) · now {}\nVolume {}\n",
            r.rank,
            thousands(s.rows.len() as u64),
            signed_pct(r.drawdown_pct),
            price(r.peak_price),
            r.peak_date,
            r.days_since_peak,
            if r.days_since_peak == 1 { "" } else { "s" },
            price(r.current_price),
            thousands(r.volume)
        );
    }
    let skipped = s.report.skipped.iter().find(|i| &i.symbol == sym);
    let failed = s.report.failed.iter().find(|i| &i.symbol == sym);
    let line = match (skipped, failed) {
        (Some(i), _) => format!("Not ranked on {}: {}.", s.date, escape(&i.reason)),
        (None, Some(i)) => format!("Could not be fetched on {}: {}.", s.date, escape(&i.reason)),
        (None, None) => format!(
            "Not in the screen of {}: it may not be in the universe (market.universe).",
            s.date
        ),
    };
    format!("{line}\n")
}

/// The drawdown history held (never empty): its span, a sparkline with the
/// deepest and shallowest days, and the last days as a table.
fn history(points: &[HistoryPoint]) -> String {
    let (first, last) = (points[0], points[points.len() - 1]);
    let mut out = format!(
        "\n<b>History</b>: {} session{}, {} → {}\n",
        points.len(),
        if points.len() == 1 { "" } else { "s" },
        first.date,
        last.date
    );
    if points.len() > 1 {
        let values: Vec<f64> = points.iter().map(|p| p.drawdown_pct).collect();
        out.push_str(&format!("<code>{}</code>\n", sparkline(&values)));
        let deepest = points
            .iter()
            .min_by(|a, b| a.drawdown_pct.total_cmp(&b.drawdown_pct))
            .unwrap_or(&first);
        let shallowest = points
            .iter()
            .max_by(|a, b| a.drawdown_pct.total_cmp(&b.drawdown_pct))
            .unwrap_or(&first);
        out.push_str(&format!(
            "Deepest {} ({}) · shallowest {} ({})\n",
            signed_pct(deepest.drawdown_pct),
            deepest.date,
            signed_pct(shallowest.drawdown_pct),
            shallowest.date
        ));
    }
    let mut t = Table::new(&[
        ("date", Align::Left),
        ("drawdown", Align::Right),
        ("rank", Align::Right),
    ]);
    for p in points.iter().rev().take(SYMBOL_HISTORY_ROWS) {
        t.row(vec![
            p.date.to_string(),
            signed_pct(p.drawdown_pct),
            p.rank.to_string(),
        ]);
    }
    out.push_str(&t.render());
    out.push('\n');
    out
}

/// The position in the symbol, if the last snapshot holds one.
fn position(snap: &Snapshot, sym: &Symbol) -> String {
    let Some(p) = &snap.portfolio else {
        return "\nNo portfolio snapshot.".into();
    };
    match p.positions.iter().find(|x| &x.symbol == sym) {
        Some(x) => format!(
            "\n<b>Position</b> (snapshot {})\n{} shares at {} · now {}\nValue {} · P&amp;L {} ({})",
            p.date,
            qty(x.quantity),
            usd(x.avg_entry_price),
            known(x.current_price, usd),
            known(x.market_value, usd),
            known(x.unrealized_pl, signed_usd),
            known(x.unrealized_return_pct, pct)
        ),
        None => format!("\nNot held (snapshot {}).", p.date),
    }
}

/// `/symbol` with a missing or bad argument.
pub(crate) fn symbol_usage(err: &TickerArg) -> String {
    let usage = "Usage: /symbol TICKER, for example /symbol AAPL or /symbol BF.B";
    match err {
        TickerArg::Missing => format!("{usage}."),
        TickerArg::Invalid(t) => format!(
            "{} is not a ticker (letters, digits, '.' and '-', up to {} characters). {usage}.",
            escape(&crate::echo::quoted(t)),
            Symbol::MAX_LEN
        ),
    }
}

/// The "Chart" button under `/symbol TICKER`, for the screen of `date`.
pub(crate) fn symbol_keyboard(date: NaiveDate, symbol: &Symbol) -> InlineKeyboardMarkup {
    let press = Press::Chart {
        date,
        symbol: symbol.clone(),
    };
    InlineKeyboardMarkup::new([[button(format!("Chart {symbol}"), &press)]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickers() {
        assert_eq!(parse_ticker(" bf.b ").unwrap().as_str(), "BF.B");
        assert_eq!(parse_ticker("$aapl").unwrap().as_str(), "AAPL");
        assert_eq!(parse_ticker(""), Err(TickerArg::Missing));
        assert_eq!(
            parse_ticker("A&B"),
            Err(TickerArg::Invalid("A&B".to_string()))
        );
        assert_eq!(
            parse_ticker("AAPL MSFT"),
            Err(TickerArg::Invalid("AAPL MSFT".to_string()))
        );
    }
}
