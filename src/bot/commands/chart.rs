//! `/chart TICKER [3m|6m|1y|5y]`: the symbol's price chart as a photo, from
//! the history in memory, with the screen's row in the caption. The
//! "Chart" buttons of `/symbol` and `/screen` send the same picture.

use teloxide::types::ChatId;

use super::symbol::{TickerArg, parse_ticker};
use super::{Answer, Call, Spec};
use crate::bot::charts::{no_chart, send_figure};
use crate::bot::error::BotError;
use crate::bot::format::sim_marker;
use crate::bot::html::escape;
use crate::bot::send::{self, TgBot};
use crate::chart::{Figure, Period, PriceChart, data};
use crate::domain::Symbol;
use crate::numbers::{price, signed_pct, thousands};
use crate::screen::ScreenParams;
use crate::state::Snapshot;

/// `/chart`.
pub(crate) const SPEC: Spec = Spec::new(
    "chart",
    " TICKER [3m|6m|1y|5y]",
    "A symbol's price chart: window, peak and drawdown",
    Answer::Act(|call| Box::pin(act(call))),
);

/// The chart asked for, or the usage saying what is wrong.
async fn act(call: &Call<'_>) -> Result<(), BotError> {
    let (symbol, period) = match parse_chart(call.request.args) {
        Ok(asked) => asked,
        Err(e) => return call.say(&chart_usage(&e)).await,
    };
    let params = &call.shared.ctx.config.screen.params;
    let snap = call.request.snap;
    chart(call.bot, call.chat, &symbol, period, snap, params).await
}

/// Why `/chart`'s arguments cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChartArg {
    /// The ticker is missing or is not one.
    Ticker(TickerArg),
    /// The period is not `3m`, `6m`, `1y` or `5y`; the text as typed.
    Period(String),
}

/// Parse `/chart TICKER [3m|6m|1y|5y]` (the period defaults to `1y`).
pub(crate) fn parse_chart(arg: &str) -> Result<(Symbol, Period), ChartArg> {
    let mut words = arg.split_whitespace();
    let ticker = parse_ticker(words.next().unwrap_or("")).map_err(ChartArg::Ticker)?;
    let period = match (words.next(), words.next()) {
        (None, _) => Period::Y1,
        (Some(p), None) => Period::parse(p).ok_or_else(|| ChartArg::Period(p.to_string()))?,
        (Some(_), Some(_)) => return Err(ChartArg::Period(arg.trim().to_string())),
    };
    Ok((ticker, period))
}

/// `/chart` with arguments that cannot be used.
pub(crate) fn chart_usage(err: &ChartArg) -> String {
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

/// The caption of `/chart`: rank, drawdown, peak and date from the
/// screen loaded, or why the symbol is not ranked.
pub(crate) fn chart_caption(snap: &Snapshot, c: &PriceChart) -> String {
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

/// `symbol`'s price chart over `period`, as a photo with its caption.
pub(crate) async fn chart(
    bot: &TgBot,
    chat: ChatId,
    symbol: &Symbol,
    period: Period,
    snap: &Snapshot,
    params: &ScreenParams,
) -> Result<(), BotError> {
    let published = snap.screen.as_ref().and_then(|s| s.row(symbol));
    let c = match data::price_chart(&snap.prices, symbol, period, params, published) {
        Ok(c) => c,
        Err(e) => {
            send::html(bot, chat, &no_chart(&e)).await?;
            return Ok(());
        }
    };
    let caption = chart_caption(snap, &c);
    let filename = format!("{}-{}.png", symbol, period.as_str());
    Ok(send_figure(bot, chat, Figure::Price(c), filename, &caption).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_arguments() {
        let sym = |s: &str| Symbol::parse(s).unwrap();
        assert_eq!(parse_chart(" aapl "), Ok((sym("AAPL"), Period::Y1)));
        assert_eq!(parse_chart("$bf.b 6M"), Ok((sym("BF.B"), Period::M6)));
        assert_eq!(parse_chart("NVDA 5y"), Ok((sym("NVDA"), Period::Y5)));
        assert_eq!(parse_chart(""), Err(ChartArg::Ticker(TickerArg::Missing)));
        assert_eq!(
            parse_chart("A&B 1y"),
            Err(ChartArg::Ticker(TickerArg::Invalid("A&B".into())))
        );
        assert_eq!(parse_chart("AAPL 2y"), Err(ChartArg::Period("2y".into())));
        assert_eq!(
            parse_chart("AAPL 1y 3m"),
            Err(ChartArg::Period("AAPL 1y 3m".into()))
        );
    }
}
