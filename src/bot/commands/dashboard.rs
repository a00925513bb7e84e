//! `/dashboard` (alias `/daily`): account, portfolio overview, top
//! positions, profit target and top candidates in one message; also the
//! daily digest alerts send.

use chrono::{DateTime, Utc};

use super::{Answer, Spec};
use crate::bot::format::{
    day_change, known, no_portfolio, no_screen, pl_pct, profit_verdict, sim_marker, totals,
};
use crate::bot::html::{Align, Table};
use crate::domain::by_return;
use crate::numbers::{pct, price, signed_pct, signed_usd, thousands, usd};
use crate::state::{ScreenState, Snapshot};

/// `/dashboard`.
pub(crate) const SPEC: Spec = Spec {
    aliases: &["daily"],
    ..Spec::new(
        "dashboard",
        "",
        "Account, portfolio, profit target and top candidates",
        Answer::Snapshot(|r| dashboard(r.snap, r.now).into()),
    )
};

/// Rows of the dashboard's candidate list and position list.
const DASHBOARD_CANDIDATES: usize = 10;
const DASHBOARD_POSITIONS: usize = 5;

/// `/dashboard`: account, portfolio overview, top positions, profit
/// target, top candidates.
pub(crate) fn dashboard(snap: &Snapshot, now: DateTime<Utc>) -> String {
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
