//! The dashboard's pages, rendered on the server from the in-memory state
//! (maud escapes every value). Pure `render_*` functions build the markup;
//! the handlers only pick the snapshot and the query.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

pub use super::screen_query::{Dir, ScreenQuery, SortKey};
use super::{Viewer, WebContext, charts};
use crate::access::Role;
use crate::chart::{self, Figure};
use crate::domain::DrawdownRow;
use crate::numbers::{price, signed_pct, thousands};
use crate::state::Snapshot;
use crate::store::{CsvProblem, Dataset, encode};

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

/// The navigation: path and label. A new page is one line here (and one
/// route in `mod.rs`).
const NAV: &[(&str, &str)] = &[
    ("/", "dipwatch"),
    ("/screen", "Screen"),
    ("/portfolio", "Portfolio"),
    ("/runs", "Runs"),
    ("/backtests", "Backtests"),
    ("/orders", "Orders"),
];

/// The page frame every page uses (the backtests page and the risk
/// section too): header with the navigation, `/alerts` for a signed-in
/// chat, the sign-out form when signed in.
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
                        @for (href, label) in NAV { a href=(href) { (label) } }
                        @if viewer.is_some_and(|v| v.chat.is_some()) { a href="/alerts" { "Alerts" } }
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
pub(super) fn simulated_banner(snap: &Snapshot) -> Markup {
    html! {
        @if snap.simulated {
            p.banner role="status" { "SIMULATED prices: not real market data." }
        }
    }
}

/// A symbol's page.
pub(super) fn symbol_href(symbol: &crate::domain::Symbol) -> String {
    format!("/symbol/{}", symbol.as_str())
}

/// Sessions a sparkline spans: the screen's lookback window, where the
/// peak it ranks by lies.
fn spark_sessions(lookback_days: usize) -> usize {
    lookback_days.clamp(20, 260)
}

/// One ranked row as a table row; `spark` adds its sparkline (a link to
/// the symbol's page), otherwise a "Chart" link.
fn row(r: &DrawdownRow, spark: Option<&Snapshot>, lookback_days: usize) -> Markup {
    let href = symbol_href(&r.symbol);
    html! {
        tr {
            td.num { (r.rank) }
            // The symbol links to its page: on a phone, where the chart
            // column is dropped, it is the way there.
            td { a href=(href) { (r.symbol.as_str()) } }
            td.num { (signed_pct(r.drawdown_pct)) }
            // On a phone the price gives way: the drawdown from the peak
            // says the same, and the peak is what the row ranks by.
            td.num.wide { (price(r.current_price)) }
            td.num { (price(r.peak_price)) }
            td.num.wide { (r.peak_date) }
            td.num.wide { (r.days_since_peak) }
            @match spark {
                Some(snap) => td.spark.wide { a href=(href) {
                    @match chart::data::sparkline(&snap.prices, &r.symbol, spark_sessions(lookback_days)) {
                        Ok(line) => (charts::inline(&Figure::Sparkline(line), charts::SPARK, &format!("{} closes", r.symbol.as_str()))),
                        Err(_) => "Chart",
                    }
                } }
                None => td.wide { a href=(href) { "Chart" } },
            }
        }
    }
}

/// A ranking table; `head` is the header row (plain, or sort links).
fn table(
    rows: &[&DrawdownRow],
    head: Markup,
    spark: Option<&Snapshot>,
    lookback_days: usize,
) -> Markup {
    html! {
        table.ranking {
            thead { (head) }
            tbody { @for r in rows { (row(r, spark, lookback_days)) } }
        }
    }
}

/// The ranking's header row, plain.
fn plain_head(last: &str) -> Markup {
    html! {
        tr {
            th.num { "Rank" } th { "Symbol" } th.num { "Drawdown" } th.num.wide { "Price" }
            th.num { "Peak" } th.num.wide { "Peak date" } th.num.wide { "Days" } th.wide { (last) }
        }
    }
}

/// `/`: data date and freshness, provider, the top candidates, the
/// breadth chart (`breadth`, drawn once per snapshot; `None` draws it), the
/// profit rule's progress, the last run.
pub fn render_overview(
    snap: &Snapshot,
    viewer: &Viewer,
    top_n: usize,
    lookback_days: usize,
    breadth: Option<Markup>,
) -> Markup {
    let breadth = breadth.unwrap_or_else(|| charts::breadth(snap));
    let body = html! {
        (simulated_banner(snap))
        (run_now_button(viewer))
        @match &snap.screen {
            None => p { "Nothing is published yet: the first collection has not run." }
            Some(screen) => {
                p.meta {
                    "Data of " strong { (screen.date) } " · provider " (snap.provider)
                    " · " (thousands(screen.rows.len() as u64)) " ranked"
                    " · " (screen.count_below(-20.0)) " down 20% or more"
                }
                h2 { "Top " (top_n.min(screen.rows.len())) " drawdowns" }
                @let top: Vec<&DrawdownRow> = screen.rows.iter().take(top_n).collect();
                (table(&top, plain_head("Trend"), Some(snap), lookback_days))
                h2 { "Market breadth" }
                (breadth)
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
                    label { "Down at least " input type="number" name="min_drawdown" min="0" max="100" step="any" value=[q.min_drawdown.map(f64::abs)] ; "%" }
                    label { "Days since peak at least " input type="number" name="min_days" min="0" value=[q.min_days] ; }
                    label { "Sort " select name="sort" {
                        @for (key, v, name) in SortKey::ALL {
                            option value=(v) selected[q.sort == key] { (name) }
                        }
                    } }
                    label { "Order " select name="dir" {
                        option value="asc" selected[q.dir == Dir::Asc] { "ascending" }
                        option value="desc" selected[q.dir == Dir::Desc] { "descending" }
                    } }
                    button type="submit" { "Apply" }
                }
                p.meta { (screen.date) " · " (selected.len()) " of " (screen.rows.len()) " rows · page " (page) " of " (pages)
                    " · " a href={ "/screen.csv?" (q.with_page(page)) } { "CSV of the selected rows (all pages)" } }
                @let shown: Vec<&DrawdownRow> = selected.iter().skip((page - 1) * PAGE_ROWS).take(PAGE_ROWS).copied().collect();
                (table(&shown, q.head(), None, 0))
                nav.pages {
                    @if page > 1 { a rel="prev" href={ "/screen?" (q.with_page(page - 1)) } { "Previous" } }
                    @if page < pages { a rel="next" href={ "/screen?" (q.with_page(page + 1)) } { "Next" } }
                }
            }
        }
    };
    layout("Screen", Some(viewer), body)
}

/// The rows a `/screen` query selects as CSV (all pages), written as the
/// drawdowns dataset is (its header and columns, the one CSV writer), so
/// this file, `/download drawdowns` and `dipwatch export drawdowns` read
/// alike.
pub fn screen_csv_body(snap: &Snapshot, q: &ScreenQuery) -> Result<Vec<u8>, CsvProblem> {
    let rows = snap.screen.as_ref().map_or(&[][..], |s| &s.rows[..]);
    encode(Dataset::Drawdowns, q.select(rows)).map(|(bytes, _)| bytes)
}

/// Render a page with charts on a blocking thread (drawing is CPU work
/// that must not stall the runtime the other requests share); a panic
/// there is a 500 for this request only.
pub(super) async fn render_blocking(render: impl FnOnce() -> Markup + Send + 'static) -> Response {
    match tokio::task::spawn_blocking(move || render().into_string()).await {
        Ok(page) => Html(page).into_response(),
        Err(e) => {
            // The payload is not logged: it could hold page text.
            if e.is_panic() {
                crate::panics::record("web page");
            }
            tracing::error!("a dashboard page could not be rendered");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be rendered; it is logged.",
            )
                .into_response()
        }
    }
}

pub(super) async fn overview(State(ctx): State<WebContext>, viewer: Viewer) -> Response {
    let snap = ctx.runner.state().snapshot();
    let screen = &ctx.config.screen;
    let (top_n, lookback) = (screen.top_n, screen.params.lookback_days);
    let figures = ctx.figures.clone();
    render_blocking(move || {
        let breadth = figures.breadth(&snap);
        render_overview(&snap, &viewer, top_n, lookback, Some(breadth))
    })
    .await
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
    let body = match screen_csv_body(&snap, &q) {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "the screen could not be written as CSV");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The CSV could not be written; it is logged.",
            )
                .into_response();
        }
    };
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
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
                p.meta { "Snapshot of " (p.date) " · equity " (money(p.account.equity))
                    " · cash " (money(p.account.cash)) }
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
                h2 { "Equity" }
                @match chart::data::equity(&snap.accounts, snap.simulated) {
                    Ok(e) => (charts::inline(&Figure::Equity(e), charts::FIGURE, "portfolio equity over time")),
                    Err(e) => p.meta { "No equity chart: " (e) "." },
                }
                h2 { "Positions by return" }
                table #positions {
                    thead { tr { th { "Symbol" } th.wide { "Class" } th.num.wide { "Qty" } th.num.wide { "Entry" }
                        th.num.wide { "Price" } th.num { "Return" } th.num { "P&L" } th.num { "Value" } } }
                    tbody {
                        @for pos in by_return(&p.positions) {
                            tr {
                                td { (pos.symbol.as_str()) }
                                td.wide { (pos.asset_class.as_str()) }
                                td.num.wide { (pos.quantity) }
                                td.num.wide { (pos.avg_entry_price.round_dp(2)) }
                                td.num.wide { (opt(pos.current_price)) }
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

/// An account amount as dollars (`$54,870.66`), or a dash when the broker
/// did not state it.
fn money(d: Option<rust_decimal::Decimal>) -> String {
    d.map_or("–".to_string(), crate::numbers::usd)
}

/// A figure to 2 decimals (a table cell), "–" when unknown.
pub(super) fn opt(d: Option<rust_decimal::Decimal>) -> String {
    d.map_or("–".to_string(), |d| d.round_dp(2).to_string())
}

/// `/runs`: each stored date's run report, newest first.
pub fn render_runs(snap: &Snapshot, viewer: &Viewer, notice: Option<Markup>) -> Markup {
    let body = html! {
        @if let Some(n) = notice { (n) }
        (run_now_button(viewer))
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

pub(super) async fn portfolio(State(ctx): State<WebContext>, viewer: Viewer) -> Response {
    let snap = ctx.runner.state().snapshot();
    render_blocking(move || render_portfolio(&snap, &viewer)).await
}

pub(super) async fn runs(State(ctx): State<WebContext>, viewer: Viewer) -> Html<String> {
    let snap = ctx.runner.state().snapshot();
    Html(render_runs(&snap, &viewer, None).into_string())
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

/// The "Run now" button (a POST to `/trigger`, see `run_now.rs`), for an admin with a session (the form needs its token);
/// nothing for anyone else.
pub(super) fn run_now_button(viewer: &Viewer) -> Markup {
    html! {
        @if let Some(csrf) = viewer.csrf().filter(|_| viewer.role == Role::Admin) {
            form.run-now method="post" action="/trigger" {
                input type="hidden" name="csrf" value=(csrf);
                button type="submit" { "Run now" }
                span.meta { " collects the latest session, as /trigger does" }
            }
        }
    }
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
        let q = query("min_drawdown=&min_days=&sort=symbol&dir=desc").unwrap();
        assert_eq!((q.min_drawdown, q.min_days), (None, None));
        assert_eq!((q.sort, q.dir), (SortKey::Symbol, Dir::Desc));
        let q = query("min_drawdown=20&min_days=5&page=2").unwrap();
        assert_eq!(
            (q.min_drawdown, q.min_days, q.page, q.sort),
            (Some(20.0), Some(5), Some(2), SortKey::Rank)
        );
        let why = query("min_drawdown=abc").unwrap_err();
        assert!(why.contains("is not a number"), "{why}");
        assert!(query("min_days=-1").is_err());
        assert!(query("sort=price").is_err(), "not a sort key");
    }

    fn row(symbol: &str, rank: u32, drawdown_pct: f64, days: u32) -> DrawdownRow {
        let date = "2026-11-30".parse().unwrap();
        DrawdownRow {
            date,
            symbol: crate::domain::Symbol::parse(symbol).unwrap(),
            current_price: 1.0,
            peak_price: 2.0,
            peak_date: date,
            drawdown_pct,
            days_since_peak: days,
            volume: 1,
            rank,
        }
    }

    #[test]
    fn select_filters_then_sorts_stably_either_way() {
        let rows = [
            row("AAA", 1, -50.0, 3),
            row("CCC", 2, -40.0, 9),
            row("BBB", 3, -40.0, 1),
            row("DDD", 4, -10.0, 9),
        ];
        let names = |q: &str| -> Vec<String> {
            query(q)
                .unwrap()
                .select(&rows)
                .iter()
                .map(|r| r.symbol.to_string())
                .collect()
        };
        assert_eq!(names(""), ["AAA", "CCC", "BBB", "DDD"]);
        // 20 and -20 both mean "down 20% or more".
        assert_eq!(names("min_drawdown=20"), ["AAA", "CCC", "BBB"]);
        assert_eq!(names("min_drawdown=-40&min_days=2"), ["AAA", "CCC"]);
        assert_eq!(names("sort=symbol"), ["AAA", "BBB", "CCC", "DDD"]);
        // Ties keep the rank order, reversed with the rest.
        assert_eq!(names("sort=drawdown"), ["AAA", "CCC", "BBB", "DDD"]);
        assert_eq!(names("sort=days&dir=desc"), ["DDD", "CCC", "AAA", "BBB"]);
    }
}
