//! Every reply's text, as pure functions of the in-memory snapshot (and
//! the clock, passed in): HTML for Telegram's HTML parse mode, with every
//! dynamic value escaped, monospace tables where columns must line up,
//! signed numbers with thousands separators, and the simulated-data marker
//! on every reply that shows prices.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use std::time::Duration;

use super::account::AccountView;
use super::commands::{
    Command, Count, DownloadArgs, MAX_DOWNLOAD_DAYS, MAX_SCREEN_ROWS, TickerArg, parse_count,
    parse_ticker, usage,
};
use super::download::Csv;
use super::html::{Align, Table, clip, escape};
use crate::config::{PortfolioSettings, Screen};
use crate::domain::{Account, LastOutcome, LastRun, Position, RunReport, Symbol, by_return};
pub use crate::numbers::{duration, time_left};
use crate::numbers::{group_digits, price, signed_pct, thousands};
use crate::state::{PortfolioState, ScreenState, Snapshot};
pub use crate::trigger::trigger_busy;
use teloxide::utils::command::BotCommands;

pub mod risk;
pub use risk::risk;

/// The settings replies mention.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// `screen.top_n`: `/screen` rows by default.
    pub top_n: usize,
    /// `screen.lookback_days`: the peak window.
    pub lookback_days: usize,
    /// `portfolio.top_positions`: positions the profit rule averages.
    pub top_positions: usize,
    /// `portfolio.profit_target_pct`.
    pub profit_target_pct: Decimal,
}

impl Params {
    /// From the `[screen]` and `[portfolio]` sections.
    pub fn new(screen: &Screen, portfolio: &PortfolioSettings) -> Self {
        Self {
            top_n: screen.top_n,
            lookback_days: screen.params.lookback_days,
            top_positions: portfolio.top_positions,
            profit_target_pct: portfolio.profit_target_pct,
        }
    }
}

/// Rows of the dashboard's candidate list and position list.
const DASHBOARD_CANDIDATES: usize = 10;
const DASHBOARD_POSITIONS: usize = 5;
/// Days of history listed under `/symbol` (the sparkline covers them all).
const SYMBOL_HISTORY_ROWS: usize = 10;

// ---------------------------------------------------------------- numbers

/// `|d|` rounded half away from zero to `dp` decimals, grouped: `1,234.50`.
fn grouped_abs(d: Decimal, dp: u32) -> String {
    let r = d
        .abs()
        .round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    let text = format!("{r:.prec$}", prec = dp as usize);
    match text.split_once('.') {
        Some((int, frac)) => format!("{}.{frac}", group_digits(int)),
        None => group_digits(&text),
    }
}

/// True when `d` shows as zero at `dp` decimals.
fn rounds_to_zero(d: Decimal, dp: u32) -> bool {
    d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
        .is_zero()
}

/// Dollars: `$1,234.50`, `-$1,234.50`.
pub fn usd(d: Decimal) -> String {
    let sign = if d.is_sign_negative() && !rounds_to_zero(d, 2) {
        "-"
    } else {
        ""
    };
    format!("{sign}${}", grouped_abs(d, 2))
}

/// Signed dollars: `+$1,234.50`, `-$1,234.50`, `$0.00`.
pub fn signed_usd(d: Decimal) -> String {
    if rounds_to_zero(d, 2) {
        "$0.00".into()
    } else if d.is_sign_negative() {
        format!("-${}", grouped_abs(d, 2))
    } else {
        format!("+${}", grouped_abs(d, 2))
    }
}

/// Signed percentage: `+1,234.56%`, `-0.50%`, `0.00%`.
pub fn pct(d: Decimal) -> String {
    if rounds_to_zero(d, 2) {
        "0.00%".into()
    } else if d.is_sign_negative() {
        format!("-{}%", grouped_abs(d, 2))
    } else {
        format!("+{}%", grouped_abs(d, 2))
    }
}

/// A share quantity: `1,250`, `0.5`, `-10`.
pub fn qty(d: Decimal) -> String {
    let n = d.normalize();
    let text = n.abs().to_string();
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let sign = if n.is_sign_negative() && !n.is_zero() {
        "-"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{}", group_digits(int))
    } else {
        format!("{sign}{}.{frac}", group_digits(int))
    }
}

/// `2026-11-25 13:00 UTC`.
fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `in 10 h 30 min` / `5 min ago`, to the minute.
fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (t - now).num_seconds();
    let mins = secs.unsigned_abs().div_ceil(60);
    let span = if mins < 60 {
        format!("{mins} min")
    } else {
        format!("{} h {} min", mins / 60, mins % 60)
    };
    if secs >= 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

// ---------------------------------------------------------------- pieces

/// The marker on every reply showing prices when they are simulated
/// (the same words as the CLI's).
pub(crate) fn sim_marker(simulated: bool) -> &'static str {
    if simulated {
        "<i>[SIMULATED PRICES, not market data]</i>\n"
    } else {
        ""
    }
}

/// What to say when no screen has been published yet.
fn no_screen(snap: &Snapshot, now: DateTime<Utc>) -> String {
    let mut out = String::from("No screen has been published yet.");
    if let Some(next) = snap.next_run {
        out.push_str(&format!(
            " The next collection runs {} ({}).",
            when(next),
            relative(next, now)
        ));
    }
    out.push_str(" An admin can start one now with /trigger.");
    out
}

/// What to say when there is no portfolio snapshot.
fn no_portfolio() -> String {
    "No portfolio snapshot yet: one is taken with each collection when an account is configured."
        .into()
}

/// A value the broker may not have sent: formatted, or `n/a`.
fn known(v: Option<Decimal>, format: fn(Decimal) -> String) -> String {
    v.map_or_else(|| "n/a".into(), format)
}

/// Market value, P&L and cost of a set of positions (of those whose value
/// and P&L the broker sent: an unknown is not counted as zero).
fn totals(positions: &[Position]) -> (Decimal, Decimal, Decimal) {
    let (value, pl) = positions
        .iter()
        .filter_map(|p| Some((p.market_value?, p.unrealized_pl?)))
        .fold((Decimal::ZERO, Decimal::ZERO), |(v, l), (mv, pl)| {
            (v + mv, l + pl)
        });
    (value, pl, value - pl)
}

/// `P&L` over cost, when there is a cost.
fn pl_pct(pl: Decimal, cost: Decimal) -> Option<Decimal> {
    (!cost.is_zero()).then(|| pl / cost.abs() * Decimal::ONE_HUNDRED)
}

/// The day's change of an account, as `+$1,234.00 (+1.19%)`.
fn day_change(a: &Account) -> String {
    let (Some(equity), Some(last)) = (a.equity, a.last_equity) else {
        return "n/a".into();
    };
    let change = equity - last;
    match pl_pct(change, last) {
        Some(p) => format!("{} ({})", signed_usd(change), pct(p)),
        None => signed_usd(change),
    }
}

/// The candidates table: rank, symbol, drawdown, current price.
fn candidates_table(screen: &ScreenState, n: usize) -> String {
    let mut t = Table::new(&[
        ("#", Align::Right),
        ("symbol", Align::Left),
        ("drawdown", Align::Right),
        ("price", Align::Right),
    ]);
    for r in screen.rows.iter().take(n) {
        t.row(vec![
            r.rank.to_string(),
            r.symbol.to_string(),
            signed_pct(r.drawdown_pct),
            price(r.current_price),
        ]);
    }
    t.render()
}

/// The profit rule's verdict in one or two lines.
fn profit_verdict(p: &PortfolioState, short: bool) -> String {
    let c = &p.profit;
    let Some(avg) = c.average_return_pct else {
        return if p.positions.is_empty() {
            "No positions held: nothing to take profit on.".into()
        } else {
            // Options or crypto only (or no return sent): the rule counts
            // only the classes in portfolio.asset_classes.
            "No position the rule counts (portfolio.asset_classes, with a known return): nothing to take profit on."
                .into()
        };
    };
    let who = if short {
        format!("top {}", c.top_n)
    } else {
        format!("the best {}", c.top_n)
    };
    let mut out = if c.take_profit {
        format!(
            "✅ <b>TAKE PROFIT</b>: {who} average <b>{}</b>, at or above the {} target.",
            pct(avg),
            pct(c.target_pct)
        )
    } else {
        let mut line = format!(
            "{who} average <b>{}</b> vs the {} target: {} points to go.",
            pct(avg),
            pct(c.target_pct),
            grouped_abs(c.target_pct - avg, 2)
        );
        // Capitalise the sentence start ("top" / "the" are ASCII).
        line[..1].make_ascii_uppercase();
        line
    };
    if c.considered.len() < c.top_n {
        out.push_str(&format!(
            "\n<i>Only {} position{} held: the average is over {}.</i>",
            c.considered.len(),
            if c.considered.len() == 1 { "" } else { "s" },
            if c.considered.len() == 1 {
                "that one"
            } else {
                "those"
            }
        ));
    }
    out
}

// ---------------------------------------------------------------- replies

/// `/start` and `/help`: what the bot does, every command, the strategy,
/// and when the data was last updated.
pub fn help(snap: &Snapshot, params: &Params, now: DateTime<Utc>) -> String {
    let mut out = String::from(
        "<b>dipwatch</b> ranks a universe of stocks by how far each has fallen from its recent \
         peak, and watches your portfolio for the profit target.\n",
    );
    out.push_str(&format!(
        "<b>Strategy</b>: buy the stocks furthest below their {}-session peak; take profit when \
         your best {} positions average {} or more.\n\n",
        params.lookback_days,
        params.top_positions,
        pct(params.profit_target_pct)
    ));
    for c in Command::bot_commands() {
        let name = c.command.trim_start_matches('/');
        out.push_str(&format!(
            "/{name}{} — {}",
            escape(usage(name)),
            escape(&c.description)
        ));
        if name == "dashboard" {
            out.push_str(" (also /daily)");
        }
        out.push('\n');
    }
    out.push('\n');
    match (&snap.screen, snap.loaded_at) {
        (Some(s), Some(loaded)) => out.push_str(&format!(
            "<i>Data last updated: screen of {}, read {} ({}).</i>",
            s.date,
            when(loaded),
            relative(loaded, now)
        )),
        (Some(s), None) => {
            out.push_str(&format!("<i>Data last updated: screen of {}.</i>", s.date))
        }
        (None, _) => out.push_str(&format!("<i>{}</i>", no_screen(snap, now))),
    }
    if snap.simulated {
        out.push_str("\n<i>Prices are simulated (market.provider = sim).</i>");
    }
    out
}

/// `/dashboard`: account, portfolio overview, top positions, profit
/// target, top candidates.
pub fn dashboard(snap: &Snapshot, now: DateTime<Utc>) -> String {
    let mut out = String::from(sim_marker(snap.simulated));
    let date = snap
        .screen
        .as_ref()
        .map(|s| s.date)
        .or(snap.portfolio.as_ref().map(|p| p.date));
    match date {
        Some(d) => out.push_str(&format!("<b>Dashboard</b> · {d}\n\n")),
        None => out.push_str("<b>Dashboard</b>\n\n"),
    }
    match &snap.portfolio {
        Some(p) => {
            let a = &p.account;
            out.push_str(&format!(
                "<b>Account</b> (snapshot {})\nEquity <b>{}</b> · day {}\nCash {} · buying power {}\n\n",
                p.date,
                known(a.equity, usd),
                day_change(a),
                known(a.cash, usd),
                known(a.buying_power, usd)
            ));
            let (value, pl, cost) = totals(&p.positions);
            out.push_str(&format!(
                "<b>Portfolio</b>: {} position{} · value {} · P&amp;L {}",
                p.positions.len(),
                if p.positions.len() == 1 { "" } else { "s" },
                usd(value),
                signed_usd(pl)
            ));
            if let Some(x) = pl_pct(pl, cost) {
                out.push_str(&format!(" ({})", pct(x)));
            }
            out.push('\n');
            if !p.positions.is_empty() {
                let mut t = Table::new(&[
                    ("symbol", Align::Left),
                    ("return", Align::Right),
                    ("P&L", Align::Right),
                ]);
                for pos in by_return(&p.positions)
                    .into_iter()
                    .take(DASHBOARD_POSITIONS)
                {
                    t.row(vec![
                        pos.symbol.to_string(),
                        known(pos.unrealized_return_pct, pct),
                        known(pos.unrealized_pl, signed_usd),
                    ]);
                }
                out.push_str(&t.render());
                out.push('\n');
            }
            out.push_str(&format!(
                "\n<b>Profit target</b>\n{}\n\n",
                profit_verdict(p, true)
            ));
        }
        None => out.push_str(&format!("{}\n\n", no_portfolio())),
    }
    match &snap.screen {
        Some(s) => {
            out.push_str(&format!(
                "<b>Top {} candidates</b> of {} ranked\n",
                DASHBOARD_CANDIDATES.min(s.rows.len()),
                thousands(s.rows.len() as u64)
            ));
            out.push_str(&candidates_table(s, DASHBOARD_CANDIDATES));
        }
        None => out.push_str(&no_screen(snap, now)),
    }
    out
}

/// `/screen [N]`: the N worst drawdowns.
pub fn screen(snap: &Snapshot, count: Count, now: DateTime<Utc>) -> String {
    screen_page(snap, 0, count, now)
}

/// One page of `/screen`: `count.n` rows from rank `offset + 1` (the
/// first page is [`screen`]; later ones are reached with its buttons).
pub fn screen_page(snap: &Snapshot, offset: usize, count: Count, now: DateTime<Utc>) -> String {
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
pub fn screen_usage(default: usize, max: usize) -> String {
    format!(
        "Usage: /screen [N], N a whole number from 1 to {max} (default {}).",
        default.clamp(1, max)
    )
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
pub fn symbol(snap: &Snapshot, sym: &Symbol, now: DateTime<Utc>) -> String {
    let Some(s) = &snap.screen else {
        return no_screen(snap, now);
    };
    let name = escape(sym.as_str());
    let mut out = String::from(sim_marker(snap.simulated));
    out.push_str(&format!("<b>{name}</b> · screen {}\n", s.date));
    match s.row(sym) {
        Some(r) => out.push_str(&format!(
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
        )),
        None => {
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
            out.push_str(&line);
            out.push('\n');
        }
    }
    if let Some(points) = snap.history.get(sym).filter(|p| !p.is_empty()) {
        let (first, last) = (points[0], points[points.len() - 1]);
        out.push_str(&format!(
            "\n<b>History</b>: {} session{}, {} → {}\n",
            points.len(),
            if points.len() == 1 { "" } else { "s" },
            first.date,
            last.date
        ));
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
    }
    match &snap.portfolio {
        Some(p) => match p.positions.iter().find(|x| &x.symbol == sym) {
            Some(x) => out.push_str(&format!(
                "\n<b>Position</b> (snapshot {})\n{} shares at {} · now {}\nValue {} · P&amp;L {} ({})",
                p.date,
                qty(x.quantity),
                usd(x.avg_entry_price),
                known(x.current_price, usd),
                known(x.market_value, usd),
                known(x.unrealized_pl, signed_usd),
                known(x.unrealized_return_pct, pct)
            )),
            None => out.push_str(&format!("\nNot held (snapshot {}).", p.date)),
        },
        None => out.push_str("\nNo portfolio snapshot."),
    }
    out
}

/// `/symbol` with a missing or bad argument.
pub fn symbol_usage(err: &TickerArg) -> String {
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

/// `/portfolio`: positions by return with value and P&L, and totals.
pub fn portfolio(snap: &Snapshot) -> String {
    let Some(p) = &snap.portfolio else {
        return no_portfolio();
    };
    let mut out = String::from(sim_marker(snap.simulated));
    out.push_str(&format!(
        "<b>Portfolio</b> · snapshot {} · {} position{}\n",
        p.date,
        p.positions.len(),
        if p.positions.len() == 1 { "" } else { "s" }
    ));
    if p.positions.is_empty() {
        out.push_str("No open positions.\n");
    } else {
        let mut t = Table::new(&[
            ("symbol", Align::Left),
            ("return", Align::Right),
            ("value", Align::Right),
            ("P&L", Align::Right),
        ]);
        for x in by_return(&p.positions) {
            t.row(vec![
                held_label(x),
                known(x.unrealized_return_pct, pct),
                known(x.market_value, usd),
                known(x.unrealized_pl, signed_usd),
            ]);
        }
        out.push_str(&t.render());
        out.push('\n');
    }
    let (value, pl, cost) = totals(&p.positions);
    out.push_str(&format!(
        "Value <b>{}</b> · cost {} · P&amp;L <b>{}</b>",
        usd(value),
        usd(cost),
        signed_usd(pl)
    ));
    if let Some(x) = pl_pct(pl, cost) {
        out.push_str(&format!(" ({})", pct(x)));
    }
    out.push_str(&format!(
        "\nEquity {} · cash {}",
        known(p.account.equity, usd),
        known(p.account.cash, usd)
    ));
    out
}

/// A held position as `/portfolio` lists it: a stock by its ticker, any
/// other class (options, crypto, one Alpaca added since) labelled with the
/// class name Alpaca sent, so nothing is mistaken for a stock or dropped.
fn held_label(p: &Position) -> String {
    match p.asset_class {
        crate::domain::AssetClass::UsEquity => p.symbol.to_string(),
        ref class => format!("{} ({class})", p.symbol),
    }
}

/// `/monitor`: the profit-taking rule on the latest snapshot.
pub fn monitor(snap: &Snapshot, params: &Params) -> String {
    let Some(p) = &snap.portfolio else {
        return no_portfolio();
    };
    let mut out = String::from(sim_marker(snap.simulated));
    out.push_str(&format!(
        "<b>Profit-taking rule</b> · snapshot {}\nTake profit when the best {} positions average {} or more.\n",
        p.date,
        p.profit.top_n,
        pct(p.profit.target_pct)
    ));
    if !p.profit.considered.is_empty() {
        let mut t = Table::new(&[
            ("#", Align::Right),
            ("symbol", Align::Left),
            ("return", Align::Right),
        ]);
        for (i, (sym, ret)) in p.profit.considered.iter().enumerate() {
            t.row(vec![(i + 1).to_string(), sym.to_string(), pct(*ret)]);
        }
        out.push_str(&t.render());
        out.push('\n');
    }
    out.push_str(&profit_verdict(p, false));
    if p.profit.top_n != params.top_positions || p.profit.target_pct != params.profit_target_pct {
        out.push_str(&format!(
            "\n<i>Evaluated with the settings of the snapshot; now: best {} at {}.</i>",
            params.top_positions,
            pct(params.profit_target_pct)
        ));
    }
    out
}

/// `/account`: the live account (or the last snapshot when the trading
/// API cannot be reached).
pub fn account(view: &AccountView, simulated: bool) -> String {
    let (a, title) = match view {
        AccountView::Live {
            account,
            fetched_at,
        } => (
            account,
            format!(
                "<b>Account</b> · live, as of {} (refreshed at most once a minute)",
                fetched_at.format("%H:%M:%S UTC")
            ),
        ),
        AccountView::Snapshot { account, date } => (
            account,
            format!(
                "<b>Account</b> · the trading API did not answer just now; last snapshot {date}"
            ),
        ),
        AccountView::Unavailable => {
            return "No account to show: no broker is configured and no snapshot has been collected yet."
                .into();
        }
    };
    let mut out = String::from(sim_marker(simulated));
    out.push_str(&title);
    out.push('\n');
    let mut t = Table::new(&[("", Align::Left), ("", Align::Left)]);
    t.row(vec!["equity".into(), known(a.equity, usd)]);
    t.row(vec!["day change".into(), day_change(a)]);
    t.row(vec!["cash".into(), known(a.cash, usd)]);
    t.row(vec!["buying power".into(), known(a.buying_power, usd)]);
    t.row(vec!["long value".into(), known(a.long_market_value, usd)]);
    t.row(vec![
        "status".into(),
        format!(
            "{} ({})",
            clip(&a.status, 24),
            clip(a.currency.as_deref().unwrap_or("n/a"), 8)
        ),
    ]);
    // Alpaca stopped sending these in 2026-07: shown only when sent.
    if let (Some(count), Some(pdt)) = (a.daytrade_count, a.pattern_day_trader) {
        t.row(vec![
            "day trades".into(),
            format!(
                "{count} in 5 sessions · PDT {}",
                if pdt { "yes" } else { "no" }
            ),
        ]);
    }
    // The header row of a label/value table is empty: drop it.
    out.push_str(&t.render().replacen("<pre>\n", "<pre>", 1));
    out
}

/// One line for how a run ended.
fn outcome_line(o: &LastOutcome) -> String {
    match o {
        LastOutcome::Published {
            date,
            ranked,
            skipped,
            failed,
        } => format!(
            "published {date}: {} ranked, {} skipped, {} failed",
            thousands(*ranked as u64),
            thousands(*skipped as u64),
            thousands(*failed as u64)
        ),
        LastOutcome::NotAvailable { reason } => {
            format!("no new data yet ({})", escape(&clip(reason, 200)))
        }
        LastOutcome::Failed { reason } => format!("failed: {}", escape(&clip(reason, 300))),
        LastOutcome::Interrupted => "interrupted by shutdown; nothing partial published".into(),
    }
}

/// `/stats`: data health, the latest run report, this process's last run,
/// the next scheduled run.
pub fn stats(snap: &Snapshot, now: DateTime<Utc>) -> String {
    let mut out = format!(
        "<b>Data health</b> · provider {}{}\n",
        escape(&snap.provider),
        if snap.simulated {
            " (simulated prices)"
        } else {
            ""
        }
    );
    let mut t = Table::new(&[
        ("dataset", Align::Left),
        ("latest", Align::Left),
        ("rows", Align::Right),
    ]);
    for d in &snap.datasets {
        t.row(vec![
            d.dataset.name().into(),
            d.latest.map_or("none".into(), |x: NaiveDate| x.to_string()),
            thousands(d.rows),
        ]);
    }
    if snap.datasets.iter().any(|d| d.latest.is_some()) {
        out.push_str(&t.render());
        out.push('\n');
    } else {
        out.push_str("Nothing published in the store yet.\n");
    }
    match &snap.screen {
        Some(s) => {
            let r = &s.report;
            let took = (r.finished_at - r.started_at).to_std().unwrap_or_default();
            out.push_str(&format!(
                "<b>Latest screen</b> {}: {} ranked, {} skipped, {} failed of {}; the run took {}\n",
                s.date,
                thousands(r.symbols.ok as u64),
                thousands(r.symbols.skipped as u64),
                thousands(r.symbols.failed as u64),
                thousands(r.symbols.requested as u64),
                duration(took)
            ));
            out.push_str(&refused_line(r));
            out.push_str(&breakers_line(r));
        }
        None => out.push_str("<b>Latest screen</b>: none published yet\n"),
    }
    match &snap.last_run {
        Some(l) => out.push_str(&format!(
            "<b>Last run</b> (since start): {}, started {}, took {}: {}\n",
            l.source.label(),
            when(l.started_at),
            duration(l.duration),
            outcome_line(&l.outcome)
        )),
        None => out.push_str("<b>Last run</b> (since start): none yet\n"),
    }
    match snap.next_run {
        Some(n) => out.push_str(&format!(
            "<b>Next run</b>: {} ({})\n",
            when(n),
            relative(n, now)
        )),
        None => out.push_str("<b>Next run</b>: not scheduled\n"),
    }
    if let Some(l) = snap.loaded_at {
        out.push_str(&format!("State read from the store {}", when(l)));
        if !snap.load_warnings.is_empty() {
            out.push_str(&format!(
                "; {} damaged date{} skipped",
                snap.load_warnings.len(),
                if snap.load_warnings.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ));
        }
        out.push('.');
    }
    out
}

/// The tickers Alpaca refused in a run, with its message: they are never
/// retried, so `/stats` says the universe needs fixing. Empty when none.
fn refused_line(r: &RunReport) -> String {
    if r.refused.is_empty() {
        return String::new();
    }
    const SHOWN: usize = 10;
    let named: Vec<String> = r
        .refused
        .iter()
        .take(SHOWN)
        .map(|sym| {
            let why = r
                .failed
                .iter()
                .find(|f| &f.symbol == sym)
                .map(|f| f.reason.trim_start_matches("refused by Alpaca: "))
                .unwrap_or("invalid symbol");
            format!("{} ({})", escape(sym.as_str()), escape(&clip(why, 80)))
        })
        .collect();
    let more = r.refused.len().saturating_sub(SHOWN);
    format!(
        "<b>Refused by Alpaca</b> (not retried; fix the universe): {}{}\n",
        named.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

/// The Alpaca circuit breakers that were not closed at the end of a run.
/// Empty when all were closed (or the provider has none).
fn breakers_line(r: &RunReport) -> String {
    let not_closed: Vec<String> = r
        .requests
        .breakers
        .iter()
        .filter(|(_, b)| b.state != "closed")
        .map(|(name, b)| format!("{} {}", escape(name), b.state.replace('_', "-")))
        .collect();
    if not_closed.is_empty() {
        return String::new();
    }
    format!(
        "<b>Circuit breakers</b> not closed after that run: {}\n",
        not_closed.join(", ")
    )
}

/// `/download` with bad arguments.
pub fn download_usage() -> String {
    format!(
        "Usage: /download [drawdowns|positions|bars|account] [days], for example /download bars 5. \
         Days from 1 to {MAX_DOWNLOAD_DAYS} (default 1: the latest date); the dataset defaults to drawdowns."
    )
}

/// `/download` when every download slot stayed busy for the whole wait.
pub fn download_busy() -> String {
    "Other downloads are being prepared right now; please try /download again in a minute.".into()
}

/// `/download` when the dataset has no published date.
pub fn download_empty(args: &DownloadArgs) -> String {
    format!("No {} published yet.", args.dataset.name())
}

/// The file name of a download.
pub fn download_filename(csv: &Csv) -> String {
    let name = csv.dataset.name();
    match (csv.dates.first(), csv.dates.last()) {
        (Some(a), Some(b)) if a != b => format!("{name}_{a}_{b}.csv"),
        (Some(a), _) => format!("{name}_{a}.csv"),
        _ => format!("{name}.csv"),
    }
}

/// A download answered with a presigned link (S3): the caption, then the
/// link and how long it works.
pub fn download_link(caption: &str, filename: &str, url: &str, ttl_secs: u64) -> String {
    let valid = if ttl_secs.is_multiple_of(3600) {
        let h = ttl_secs / 3600;
        format!("{h} hour{}", if h == 1 { "" } else { "s" })
    } else {
        format!("{} minutes", ttl_secs.div_ceil(60))
    };
    format!(
        "{caption}\n<a href=\"{}\">{}</a> (link works for {valid})",
        escape(url).replace('"', "&quot;"),
        escape(filename)
    )
}

/// The caption of a download.
pub fn download_caption(csv: &Csv, args: &DownloadArgs) -> String {
    let mut out = format!(
        "<b>{}</b>: {} date{}",
        csv.dataset.name(),
        csv.dates.len(),
        if csv.dates.len() == 1 { "" } else { "s" }
    );
    if let (Some(a), Some(b)) = (csv.dates.first(), csv.dates.last()) {
        if a == b {
            out.push_str(&format!(" ({a})"));
        } else {
            out.push_str(&format!(" ({a} → {b})"));
        }
    }
    out.push_str(&format!(", {} rows", thousands(csv.rows)));
    if args.capped {
        out.push_str(&format!(
            "\n<i>At most {MAX_DOWNLOAD_DAYS} days per file.</i>"
        ));
    }
    if csv.truncated {
        out.push_str(
            "\n<i>Older dates left out to stay under Telegram's file size limit; \
             `dipwatch export` has no limit.</i>",
        );
    }
    if csv.damaged > 0 {
        out.push_str(&format!(
            "\n<i>{} damaged date{} skipped.</i>",
            csv.damaged,
            if csv.damaged == 1 { "" } else { "s" }
        ));
    }
    out
}

/// `/trigger` accepted.
pub fn trigger_started() -> String {
    "⏳ Collection started. I will send its summary when it finishes.".into()
}

/// `/trigger` within `telegram.trigger_cooldown_secs` of the last one that
/// started a collection: how long until it may again.
pub fn trigger_cooldown(left: Duration, period: Duration) -> String {
    format!(
        "A collection was started by hand (/trigger or the dashboard) less than {} ago; \
         not starting another. \
         /trigger works again in {} (telegram.trigger_cooldown_secs).",
        duration(period),
        time_left(left)
    )
}

/// The summary of a run started by `/trigger`; `None` if its report was lost.
pub fn trigger_finished(run: Option<&LastRun>) -> String {
    let Some(r) = run else {
        return "The collection ended without a report (is the daemon stopping?).".into();
    };
    let mark = match r.outcome {
        LastOutcome::Published { .. } => "✅ ",
        LastOutcome::Failed { .. } => "❌ ",
        _ => "",
    };
    format!(
        "{mark}Collection finished in {}: {}.",
        duration(r.duration),
        outcome_line(&r.outcome)
    )
}

/// `/trigger` from a chat that may read but is not an admin.
pub fn admin_only(chat_id: i64) -> String {
    format!(
        "Only admins can start a collection. This chat's id is <code>{chat_id}</code>; \
         add it to telegram.admin_chat_ids to allow it."
    )
}

/// The one reply a refused chat gets: no data, just its id.
pub fn refusal(chat_id: i64) -> String {
    format!(
        "This is a private dipwatch bot. Your chat id is <code>{chat_id}</code>: \
         its owner can add it to telegram.allowed_chat_ids."
    )
}

/// An unknown command.
pub fn unknown_command() -> String {
    "I don't know that command. Send /help for the list.".into()
}

/// Plain text (or a photo, a sticker...).
pub fn plain_text() -> String {
    "I only answer commands. Send /help for the list.".into()
}

/// Told once to a chat whose messages came faster than it can be answered
/// (Telegram lets a bot send about one message a second to a chat), after
/// the ones kept were answered.
pub fn too_fast(skipped: usize) -> String {
    let noun = if skipped == 1 { "message" } else { "messages" };
    format!(
        "Skipped {} {noun}: they came faster than I can answer (about one reply a second). \
         Send them again once I have answered.",
        crate::numbers::thousands(skipped as u64)
    )
}

/// A handler failed: a short apology, never the error itself.
pub fn apology() -> String {
    "Sorry, something went wrong while answering. It has been logged; please try again in a moment."
        .into()
}

/// The reply to a command answered from the snapshot alone, or `None` for
/// the commands that need I/O (`/account`, `/download`) or act
/// (`/trigger`).
pub fn snapshot_reply(
    cmd: &Command,
    snap: &Snapshot,
    params: &Params,
    now: DateTime<Utc>,
) -> Option<String> {
    Some(match cmd {
        Command::Start | Command::Help => help(snap, params, now),
        Command::Dashboard => dashboard(snap, now),
        Command::Screen(arg) => match parse_count(arg, params.top_n, MAX_SCREEN_ROWS) {
            Ok(count) => screen(snap, count, now),
            Err(_) => screen_usage(params.top_n, MAX_SCREEN_ROWS),
        },
        Command::Symbol(arg) => match parse_ticker(arg) {
            Ok(sym) => symbol(snap, &sym, now),
            Err(e) => symbol_usage(&e),
        },
        Command::Portfolio => portfolio(snap),
        Command::Monitor => monitor(snap, params),
        Command::Risk => risk(snap),
        Command::Stats => stats(snap, now),
        Command::Account
        | Command::Download(_)
        | Command::Trigger
        | Command::Alert(_)
        | Command::Alerts
        | Command::Unalert(_)
        | Command::Chart(_)
        | Command::Breadth
        | Command::Backtest(_)
        | Command::Web
        | Command::Logout => return None,
    })
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
