//! `/symbol/{TICKER}`: one symbol's page, its price chart over a period
//! (`?period=3m|6m|1y|5y`, as the history held allows) with the lookback
//! window, the peak and the drawdown marked, its drawdown and rank history,
//! the position if held, and the signed-in chat's alerts on it.
//!
//! The ticker is parsed at the edge into a [`Symbol`]: anything else is a
//! 400 that says so, an unknown symbol a 404.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};

use super::pages::{layout, opt, simulated_banner};
use super::{Viewer, WebContext, charts};
use crate::alerts::{Rule, RuleKind};
use crate::chart::{Figure, Period, data};
use crate::domain::Symbol;
use crate::echo::quoted;
use crate::numbers::{price, signed_pct, thousands};
use crate::screen::ScreenParams;
use crate::state::Snapshot;

/// `?period=`.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct SymbolQuery {
    period: Option<String>,
}

/// The periods worth offering for `held` sessions: the shortest, and each
/// longer one while the history reaches past the one before it (a 5y link
/// on a year of bars would draw the same year).
pub fn periods_for(held: usize) -> Vec<Period> {
    let mut out = vec![Period::ALL[0]];
    for pair in Period::ALL.windows(2) {
        if held > pair[0].sessions() {
            out.push(pair[1]);
        }
    }
    out
}

/// The period shown without `?period=`: a year, or the longest offered
/// when less is held.
fn default_period(offered: &[Period]) -> Period {
    if offered.contains(&Period::Y1) {
        Period::Y1
    } else {
        offered.last().copied().unwrap_or(Period::M3)
    }
}

/// Whether the state knows `symbol` at all: ranked, in the bars held, or
/// in the drawdown history.
fn known(snap: &Snapshot, symbol: &Symbol) -> bool {
    snap.screen
        .as_ref()
        .is_some_and(|s| s.row(symbol).is_some())
        || snap.prices.symbol_index(symbol).is_some()
        || snap.history.contains_key(symbol)
}

/// A page that explains a refusal, with its status.
fn problem(viewer: &Viewer, status: StatusCode, title: &str, text: String) -> Response {
    let body = html! {
        p { (text) }
        p { a href="/screen" { "Back to the screen" } }
    };
    (
        status,
        Html(layout(title, Some(viewer), body).into_string()),
    )
        .into_response()
}

/// The page of `symbol` over `period`; `rules` are the viewer's alerts on it.
pub fn render_symbol(
    snap: &Snapshot,
    viewer: &Viewer,
    symbol: &Symbol,
    period: Period,
    params: &ScreenParams,
    rules: Option<&[Rule]>,
) -> Markup {
    let ticker = symbol.as_str();
    let screen = snap.screen.as_ref();
    let row = screen.and_then(|s| s.row(symbol));
    let offered = periods_for(snap.prices.dates().len());
    let position = snap
        .portfolio
        .as_ref()
        .and_then(|p| p.positions.iter().find(|x| &x.symbol == symbol));
    let body = html! {
        (simulated_banner(snap))
        @match (screen, row) {
            (Some(s), Some(r)) => {
                table.facts {
                    tbody {
                        tr { th { "Rank" } td.num { (r.rank) " of " (thousands(s.rows.len() as u64)) } }
                        tr { th { "Drawdown" } td.num { (signed_pct(r.drawdown_pct)) } }
                        tr { th { "Price" } td.num { (price(r.current_price)) } }
                        tr { th { "Peak" } td.num { (price(r.peak_price)) } }
                        tr { th { "Peak date" } td.num { (r.peak_date) } }
                        tr { th { "Days since peak" } td.num { (r.days_since_peak) } }
                        tr { th { "Screen of" } td.num { (s.date) } }
                    }
                }
            }
            _ => p.meta { (ticker) " is not in the latest screen." },
        }
        nav.periods aria-label="Period" {
            @for p in &offered {
                @if *p == period {
                    strong aria-current="page" { (p.as_str()) }
                } @else {
                    a href={ "?period=" (p.as_str()) } { (p.as_str()) }
                }
            }
        }
        @match data::price_chart(&snap.prices, symbol, period, params, row) {
            Ok(c) => (charts::inline(&Figure::Price(c), charts::FIGURE, &format!("{ticker} price, {}", period.as_str()))),
            Err(e) => p.meta { "No price chart: " (e) "." },
        }
        h2 { "Drawdown and rank" }
        @match data::rank_history(&snap.history, symbol, snap.simulated) {
            Ok(h) => (charts::inline(&Figure::RankHistory(h), charts::FIGURE, &format!("{ticker} drawdown and rank history"))),
            Err(_) => p.meta { "No screen has ranked " (ticker) " yet." },
        }
        h2 { "Position" }
        @match position {
            Some(pos) => table.facts {
                tbody {
                    tr { th { "Quantity" } td.num { (pos.quantity) } }
                    tr { th { "Average entry" } td.num { (pos.avg_entry_price.round_dp(2)) } }
                    tr { th { "Price" } td.num { (opt(pos.current_price)) } }
                    tr { th { "Return" } td.num { @match pos.unrealized_return_pct { Some(r) => { (r.round_dp(2)) "%" } None => "–" } } }
                    tr { th { "P&L" } td.num { (opt(pos.unrealized_pl)) } }
                    tr { th { "Value" } td.num { (opt(pos.market_value)) } }
                }
            },
            None => p.meta { "Not held." },
        }
        @if let Some(rules) = rules {
            h2 { "Your alerts on " (ticker) }
            @if rules.is_empty() {
                p.meta { "None. " a href="/alerts" { "Add one" } " (for example " code { (ticker) " below -30" } ")." }
            } @else {
                ul { @for r in rules { li { "#" (r.id) " " (r.kind.to_string()) @if r.paused { " (paused)" } } } }
                p { a href="/alerts" { "Manage your alerts" } }
            }
        }
    };
    layout(ticker, Some(viewer), body)
}

/// `viewer`'s rules on `symbol`; `None` for an anonymous reader or when
/// alerts are not running.
async fn rules_on(ctx: &WebContext, viewer: &Viewer, symbol: &Symbol) -> Option<Vec<Rule>> {
    let chat = viewer.chat?;
    let svc = crate::alerts::edit::running(ctx.alerts())?;
    let mut rules = svc.rules_of(chat).await;
    rules.retain(|r| matches!(&r.kind, RuleKind::SymbolBelow { symbol: s, .. } if s == symbol));
    Some(rules)
}

/// `GET /symbol/{ticker}`.
pub(super) async fn page(
    State(ctx): State<WebContext>,
    viewer: Viewer,
    Path(ticker): Path<String>,
    Query(q): Query<SymbolQuery>,
) -> Response {
    let Ok(symbol) = Symbol::parse(&ticker) else {
        let text = format!(
            "{} is not a ticker: letters, digits, '.' and '-', up to {} characters.",
            quoted(&ticker),
            Symbol::MAX_LEN
        );
        return problem(&viewer, StatusCode::BAD_REQUEST, "Not a ticker", text);
    };
    let snap = ctx.runner.state().snapshot();
    if !known(&snap, &symbol) {
        let text = format!(
            "{} is not in the latest screen, the price history held or the screens before it.",
            symbol.as_str()
        );
        return problem(&viewer, StatusCode::NOT_FOUND, "Unknown symbol", text);
    }
    let period = match q.period.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => default_period(&periods_for(snap.prices.dates().len())),
        Some(p) => match Period::parse(p) {
            Some(p) => p,
            None => {
                let text = format!("{} is not a period: 3m, 6m, 1y or 5y.", quoted(p));
                return problem(&viewer, StatusCode::BAD_REQUEST, "Not a period", text);
            }
        },
    };
    let rules = rules_on(&ctx, &viewer, &symbol).await;
    let params = ctx.config.screen.params;
    super::pages::render_blocking(move || {
        render_symbol(&snap, &viewer, &symbol, period, &params, rules.as_deref())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_offered_as_the_history_allows() {
        assert_eq!(periods_for(0), vec![Period::M3]);
        assert_eq!(periods_for(63), vec![Period::M3]);
        assert_eq!(periods_for(64), vec![Period::M3, Period::M6]);
        assert_eq!(periods_for(252), vec![Period::M3, Period::M6, Period::Y1]);
        assert_eq!(periods_for(253), Period::ALL.to_vec());
        assert_eq!(default_period(&periods_for(100)), Period::M6);
        assert_eq!(default_period(&periods_for(2000)), Period::Y1);
    }
}
