//! The dashboard's pages, rendered on the server from the in-memory state
//! (maud escapes every value). Pure `render_*` functions build the markup;
//! the handlers only pick the snapshot and the query.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::{Viewer, WebContext};
use crate::bot::access::Role;
use crate::domain::DrawdownRow;
use crate::numbers::{price, signed_pct, thousands};
use crate::state::Snapshot;

/// Rows on one page of `/screen`.
pub const PAGE_ROWS: usize = 50;

/// The refusal every failed sign-in and every unauthenticated page gets:
/// 401, and nothing about why.
pub fn refused() -> (StatusCode, Html<String>) {
    let body = html! {
        p { "Sign in from the bot: send " code { "/web" } " to get a one-time link." }
    };
    (
        StatusCode::UNAUTHORIZED,
        Html(layout("Sign in", None, body).into_string()),
    )
}

/// The page frame: header with the navigation, the sign-out form when
/// signed in.
pub(super) fn layout(title: &str, viewer: Option<&Viewer>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · dipwatch" }
                link rel="stylesheet" href="/static/app.css";
            }
            body {
                header {
                    nav {
                        a href="/" { "dipwatch" }
                        a href="/screen" { "Screen" }
                        a href="/portfolio" { "Portfolio" }
                        a href="/runs" { "Runs" }
                    }
                    @if let Some(csrf) = viewer.and_then(Viewer::csrf) {
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// The simulated-prices banner, when what is shown is simulated.
fn simulated_banner(snap: &Snapshot) -> Markup {
    html! {
        @if snap.simulated {
            p.banner role="status" { "SIMULATED prices: not real market data." }
        }
    }
}

/// One ranked row as a table row.
fn row(r: &DrawdownRow) -> Markup {
    html! {
        tr {
            td.num { (r.rank) }
            td { (r.symbol.as_str()) }
            td.num { (signed_pct(r.drawdown_pct)) }
            td.num { (price(r.current_price)) }
            td.num { (price(r.peak_price)) }
            td.num { (r.peak_date) }
            td.num { (r.days_since_peak) }
        }
    }
}

fn table(rows: &[DrawdownRow]) -> Markup {
    html! {
        table.ranking {
            thead { tr {
                th.num { "Rank" } th { "Symbol" } th.num { "Drawdown" } th.num { "Price" }
                th.num { "Peak" } th.num { "Peak date" } th.num { "Days" }
            } }
            tbody { @for r in rows { (row(r)) } }
        }
    }
}

/// `/`: data date and freshness, provider, the top candidates, the
/// profit rule's progress, the last run.
pub fn render_overview(snap: &Snapshot, viewer: &Viewer, top_n: usize) -> Markup {
    let body = html! {
        (simulated_banner(snap))
        @match &snap.screen {
            None => p { "Nothing is published yet: the first collection has not run." }
            Some(screen) => {
                p.meta {
                    "Data of " strong { (screen.date) } " · provider " (snap.provider)
                    " · " (thousands(screen.rows.len() as u64)) " ranked"
                    " · " (screen.count_below(-20.0)) " down 20% or more"
                }
                h2 { "Top " (top_n.min(screen.rows.len())) " drawdowns" }
                (table(&screen.rows[..top_n.min(screen.rows.len())]))
            }
        }
        @if let Some(p) = &snap.portfolio {
            h2 { "Profit rule" }
            p {
                @match p.profit.average_return_pct {
                    Some(avg) => {
                        "Best " (p.profit.considered.len()) " of " (p.profit.top_n) " positions average "
                        strong { (avg.round_dp(2)) "%" } " against a target of " (p.profit.target_pct) "%"
                        @if p.profit.take_profit { " — " strong { "TAKE PROFIT" } }
                    }
                    None => "No positions with a return to rank.",
                }
            }
        }
        @if let Some(run) = &snap.last_run {
            h2 { "Last run" }
            p { (run.outcome.label()) " · started " (run.started_at.format("%Y-%m-%d %H:%M UTC")) " · "
                (format!("{:.1}", run.duration.as_secs_f64())) " s" }
        }
        @if viewer.role == Role::Admin {
            p.meta { "Signed in as an admin." }
        }
    };
    layout("Overview", Some(viewer), body)
}

/// `/screen`'s query: filters, sort and page. A field left empty in the
/// filter form (`max_drawdown=`) is no filter: browsers send every field.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ScreenQuery {
    /// Only rows at or below this drawdown, percent (e.g. -20).
    #[serde(default, deserialize_with = "empty_as_none")]
    pub max_drawdown: Option<f64>,
    /// Only rows at least this many days past their peak.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub min_days: Option<u32>,
    /// `rank` (default), `drawdown`, `days`, `symbol`.
    pub sort: Option<String>,
    /// Descending instead of ascending.
    pub desc: Option<bool>,
    /// 1-based page.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub page: Option<usize>,
}

/// A query field that may be present but empty: empty is `None`, anything
/// else must parse (`max_drawdown=abc` is still a 400 that says why).
fn empty_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let text: Option<String> = serde::Deserialize::deserialize(d)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

impl ScreenQuery {
    /// The rows this query selects, in its order.
    pub fn select<'a>(&self, rows: &'a [DrawdownRow]) -> Vec<&'a DrawdownRow> {
        let mut out: Vec<&DrawdownRow> = rows
            .iter()
            .filter(|r| self.max_drawdown.is_none_or(|m| r.drawdown_pct <= m))
            .filter(|r| self.min_days.is_none_or(|d| r.days_since_peak >= d))
            .collect();
        match self.sort.as_deref() {
            Some("drawdown") => out.sort_by(|a, b| a.drawdown_pct.total_cmp(&b.drawdown_pct)),
            Some("days") => out.sort_by_key(|r| r.days_since_peak),
            Some("symbol") => out.sort_by(|a, b| a.symbol.cmp(&b.symbol)),
            _ => out.sort_by_key(|r| r.rank),
        }
        if self.desc == Some(true) {
            out.reverse();
        }
        out
    }

    /// This query's string with another page.
    fn with_page(&self, page: usize) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(m) = self.max_drawdown {
            q.append_pair("max_drawdown", &m.to_string());
        }
        if let Some(d) = self.min_days {
            q.append_pair("min_days", &d.to_string());
        }
        if let Some(s) = &self.sort {
            q.append_pair("sort", s);
        }
        if self.desc == Some(true) {
            q.append_pair("desc", "true");
        }
        q.append_pair("page", &page.to_string());
        q.finish()
    }
}

/// `/screen`: the whole ranking, filtered, sorted and paged.
pub fn render_screen(snap: &Snapshot, viewer: &Viewer, q: &ScreenQuery) -> Markup {
    let body = html! {
        (simulated_banner(snap))
        @match &snap.screen {
            None => p { "Nothing is published yet." }
            Some(screen) => {
                @let selected = q.select(&screen.rows);
                @let pages = selected.len().div_ceil(PAGE_ROWS).max(1);
                @let page = q.page.unwrap_or(1).clamp(1, pages);
                form.filters method="get" action="/screen" {
                    label { "Drawdown at most " input type="number" name="max_drawdown" step="any" value=[q.max_drawdown] ; "%" }
                    label { "Days since peak at least " input type="number" name="min_days" min="0" value=[q.min_days] ; }
                    label { "Sort " select name="sort" {
                        @for (v, name) in [("rank", "rank"), ("drawdown", "drawdown"), ("days", "days since peak"), ("symbol", "symbol")] {
                            option value=(v) selected[q.sort.as_deref().unwrap_or("rank") == v] { (name) }
                        }
                    } }
                    button type="submit" { "Apply" }
                }
                p.meta { (screen.date) " · " (selected.len()) " of " (screen.rows.len()) " rows · page " (page) " of " (pages)
                    " · " a href={ "/screen.csv?" (q.with_page(page)) } { "CSV of these rows" } }
                @let shown: Vec<DrawdownRow> = selected.iter().skip((page - 1) * PAGE_ROWS).take(PAGE_ROWS).map(|r| (*r).clone()).collect();
                (table(&shown))
                nav.pages {
                    @if page > 1 { a rel="prev" href={ "/screen?" (q.with_page(page - 1)) } { "Previous" } }
                    @if page < pages { a rel="next" href={ "/screen?" (q.with_page(page + 1)) } { "Next" } }
                }
            }
        }
    };
    layout("Screen", Some(viewer), body)
}

/// The rows a `/screen` query selects as CSV (all pages).
pub fn screen_csv_body(snap: &Snapshot, q: &ScreenQuery) -> String {
    let mut out = String::from(
        "rank,symbol,drawdown_pct,current_price,peak_price,peak_date,days_since_peak\n",
    );
    if let Some(screen) = &snap.screen {
        for r in q.select(&screen.rows) {
            out.push_str(&format!(
                "{},{},{:.4},{},{},{},{}\n",
                r.rank,
                r.symbol.as_str(),
                r.drawdown_pct,
                r.current_price,
                r.peak_price,
                r.peak_date,
                r.days_since_peak
            ));
        }
    }
    out
}

pub(super) async fn overview(State(ctx): State<WebContext>, viewer: Viewer) -> Html<String> {
    let snap = ctx.runner.state().snapshot();
    Html(render_overview(&snap, &viewer, ctx.config.settings.screen.top_n).into_string())
}

pub(super) async fn screen(
    State(ctx): State<WebContext>,
    viewer: Viewer,
    Query(q): Query<ScreenQuery>,
) -> Html<String> {
    let snap = ctx.runner.state().snapshot();
    Html(render_screen(&snap, &viewer, &q).into_string())
}

pub(super) async fn screen_csv(
    State(ctx): State<WebContext>,
    _viewer: Viewer,
    Query(q): Query<ScreenQuery>,
) -> Response {
    let snap = ctx.runner.state().snapshot();
    let name = snap.screen.as_ref().map_or("screen.csv".to_string(), |s| {
        format!("screen-{}.csv", s.date)
    });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        screen_csv_body(&snap, &q),
    )
        .into_response()
}

/// `/portfolio`: positions by return with P&L, and how far the profit
/// rule is from firing.
pub fn render_portfolio(snap: &Snapshot, viewer: &Viewer) -> Markup {
    let body = html! {
        (simulated_banner(snap))
        @match &snap.portfolio {
            None => p { "No portfolio snapshot is stored yet." }
            Some(p) => {
                p.meta { "Snapshot of " (p.date) " · equity " (opt(p.account.equity))
                    " · cash " (opt(p.account.cash)) }
                h2 { "Profit rule" }
                p {
                    @match p.profit.average_return_pct {
                        Some(avg) => {
                            "Best " (p.profit.considered.len()) " of " (p.profit.top_n) " average "
                            strong { (avg.round_dp(2)) "%" } " of a " (p.profit.target_pct) "% target: "
                            @if p.profit.take_profit { strong { "TAKE PROFIT" } }
                            @else { (( p.profit.target_pct - avg).round_dp(2)) " points to go" }
                        }
                        None => "No positions with a return to rank.",
                    }
                }
                h2 { "Positions by return" }
                table {
                    thead { tr { th { "Symbol" } th { "Class" } th.num { "Qty" } th.num { "Entry" }
                        th.num { "Price" } th.num { "Return" } th.num { "P&L" } th.num { "Value" } } }
                    tbody {
                        @for pos in by_return(&p.positions) {
                            tr {
                                td { (pos.symbol.as_str()) }
                                td { (pos.asset_class.as_str()) }
                                td.num { (pos.quantity) }
                                td.num { (pos.avg_entry_price.round_dp(2)) }
                                td.num { (opt(pos.current_price)) }
                                td.num { @match pos.unrealized_return_pct { Some(r) => { (r.round_dp(2)) "%" } None => "–" } }
                                td.num { (opt(pos.unrealized_pl)) }
                                td.num { (opt(pos.market_value)) }
                            }
                        }
                    }
                }
            }
        }
        (super::risk::section(snap))
    };
    layout("Portfolio", Some(viewer), body)
}

/// Positions best return first; those without a return last, by symbol.
fn by_return(positions: &[crate::domain::Position]) -> Vec<&crate::domain::Position> {
    let mut out: Vec<&crate::domain::Position> = positions.iter().collect();
    out.sort_by(|a, b| {
        b.unrealized_return_pct
            .cmp(&a.unrealized_return_pct)
            .then_with(|| a.symbol.cmp(&b.symbol))
    });
    out
}

fn opt(d: Option<rust_decimal::Decimal>) -> String {
    d.map_or("–".to_string(), |d| d.round_dp(2).to_string())
}

/// `/runs`: each stored date's run report, newest first.
pub fn render_runs(snap: &Snapshot, viewer: &Viewer) -> Markup {
    let body = html! {
        @if let Some(run) = &snap.last_run {
            p.meta { "This process's last run: " (run.outcome.label()) ", started "
                (run.started_at.format("%Y-%m-%d %H:%M UTC")) }
        }
        @if snap.reports.is_empty() { p { "No run is published yet." } }
        @for r in &snap.reports {
            section.run {
                h2 { (r.date) @if r.simulated { " · SIMULATED" } }
                p.meta {
                    (r.symbols.ok) " of " (r.symbols.requested) " symbols · "
                    (r.symbols.skipped) " skipped · " (r.symbols.failed) " failed · "
                    (r.requests.made) " requests, " (r.requests.retries) " retries, "
                    (r.requests.rate_limit_waits) " rate-limit waits ("
                    (format!("{:.1}", r.requests.rate_limit_wait_secs)) " s), "
                    (r.requests.breaker_trips) " breaker trips · "
                    (format!("{:.1}", (r.finished_at - r.started_at).num_milliseconds() as f64 / 1000.0)) " s"
                }
                @if !r.phases_ms.is_empty() {
                    p.meta { @for (phase, ms) in &r.phases_ms { (phase) " " (ms) " ms · " } }
                }
                @if !r.failed.is_empty() || !r.gave_up.is_empty() || !r.skipped.is_empty() {
                    details {
                        summary { "Failed, given up and skipped symbols" }
                        ul {
                            @for i in &r.failed { li { "failed " (i.symbol.as_str()) ": " (i.reason) } }
                            @for i in &r.gave_up { li { "gave up " (i.symbol.as_str()) ": " (i.reason) } }
                            @for i in &r.skipped { li { "skipped " (i.symbol.as_str()) ": " (i.reason) } }
                        }
                    }
                }
            }
        }
    };
    layout("Runs", Some(viewer), body)
}

pub(super) async fn portfolio(State(ctx): State<WebContext>, viewer: Viewer) -> Html<String> {
    let snap = ctx.runner.state().snapshot();
    Html(render_portfolio(&snap, &viewer).into_string())
}

pub(super) async fn runs(State(ctx): State<WebContext>, viewer: Viewer) -> Html<String> {
    let snap = ctx.runner.state().snapshot();
    Html(render_runs(&snap, &viewer).into_string())
}

/// The Mini App's landing page: a form its script fills with Telegram's
/// launch data and submits (so signing in works without any other script).
pub fn miniapp() -> Markup {
    let body = html! {
        p #miniapp-note { "Signing in…" }
        form #miniapp-login method="post" action="/login/miniapp" {
            input type="hidden" name="init_data";
            noscript { p { "Send " code { "/web" } " to the bot for a sign-in link." } }
        }
        script src="/static/miniapp.js" {}
    };
    layout("Dashboard", None, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Uri;

    fn query(q: &str) -> Result<ScreenQuery, String> {
        let uri: Uri = format!("/screen?{q}").parse().unwrap();
        Query::<ScreenQuery>::try_from_uri(&uri)
            .map(|Query(q)| q)
            .map_err(|e| e.body_text())
    }

    #[test]
    fn the_filter_forms_empty_fields_are_no_filter_and_bad_numbers_are_refused() {
        let q = query("max_drawdown=&min_days=&sort=symbol").unwrap();
        assert_eq!((q.max_drawdown, q.min_days), (None, None));
        assert_eq!(q.sort.as_deref(), Some("symbol"));
        let q = query("max_drawdown=-20&min_days=5&page=2").unwrap();
        assert_eq!(
            (q.max_drawdown, q.min_days, q.page),
            (Some(-20.0), Some(5), Some(2))
        );
        assert!(query("max_drawdown=abc").is_err());
        assert!(query("min_days=-1").is_err());
    }
}
