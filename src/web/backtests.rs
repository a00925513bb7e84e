//! The dashboard's backtest pages, read from the runs stored in the lake
//! (`backtests/id=<id>/`, written by `dipwatch backtest` and the bot's
//! `/backtest`): `/backtests`, the runs newest first with their key
//! figures, and `/backtests/{id}`, one run's figures, its equity and
//! drawdown curves against the benchmark (inline SVG: plotters writes
//! presentation attributes only, which the `style-src 'self'` policy
//! allows), and its monthly returns, read through the backtest service
//! ([`Backtests::list`], [`Backtests::show`]). Ids are checked before they
//! become a path; a missing or damaged run gets a page that says so.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Html;
use maud::{Markup, html};

use super::pages::layout;
use super::{Viewer, WebContext};
use crate::backtest::report::{self, Summary};
use crate::backtest::stored::{Listed, ReadError};
use crate::backtest::{Backtests, Outcome};
use crate::chart::{self, Figure};
use crate::numbers::signed_pct;

/// Runs listed at most (newest first).
pub const MAX_LISTED: usize = 200;

/// The sizes the curves are drawn at (scaled to the page's width), in
/// pixels: wide and low, two to a page, on a desktop (640 high: lower, the
/// text shown at 56rem would fall under 11 px); phone-sized on a phone.
const CHART: super::charts::Sizes = super::charts::Sizes {
    wide: (1200, 640),
    phone: Some((
        crate::chart::Style::PHONE.width,
        crate::chart::Style::PHONE.height,
    )),
};

/// The honesty notes, warnings and what the simulation leaves out.
fn notes(s: &Summary) -> Markup {
    html! {
        @if s.data.simulated {
            p.banner role="status" { "SIMULATED prices: not real market data." }
        }
        ul.meta {
            @for n in &s.notes { li { (n) } }
            @for w in &s.warnings { li { "warning: " (w) } }
        }
        @if !s.leaves_out.is_empty() {
            h2 { "What this backtest leaves out" }
            ul.meta {
                @for n in &s.leaves_out { li { (n) } }
            }
        }
    }
}

/// `/backtests`: every stored run listed, newest first.
pub fn render_list(runs: &[Listed], viewer: &Viewer) -> Markup {
    let body = html! {
        p.meta {
            "Runs of " code { "dipwatch backtest" } " and the bot's " code { "/backtest" }
            ", newest first. Every result uses today's universe (survivorship: biased upward)."
        }
        @if runs.is_empty() {
            p { "No backtest is stored yet: run " code { "dipwatch backtest" } " or send "
                code { "/backtest" } " to the bot." }
        } @else {
            div.ranking { table {
                thead { tr {
                    th { "Run" } th { "Period" } th.num { "Sessions" } th { "Benchmark" }
                    th.num { "Return" } th.num { "Benchmark" } th.num { "CAGR" }
                    th.num { "Max drawdown" } th.num { "Sharpe" } th.num { "Trades" }
                } }
                tbody {
                    @for run in runs {
                        @match &run.summary {
                            Ok(s) => {
                                @let m = &s.metrics.strategy;
                                tr {
                                    td { a href={ "/backtests/" (run.id) } { code { (run.id) } } }
                                    td { (s.data.from) " to " (s.data.to)
                                        @if s.data.simulated { " · SIMULATED" } }
                                    td.num { (s.data.sessions) }
                                    td { (s.benchmark) }
                                    td.num { (signed_pct(m.total_return_pct)) }
                                    td.num { (signed_pct(s.metrics.benchmark.total_return_pct)) }
                                    td.num { (m.cagr_pct.map_or("-".into(), signed_pct)) }
                                    td.num { (signed_pct(m.max_drawdown_pct)) }
                                    td.num { (m.sharpe.map_or("-".into(), |v| format!("{v:.2}"))) }
                                    td.num { (m.trades.unwrap_or(0)) }
                                }
                            }
                            Err(e) => {
                                tr { td { code { (run.id) } } td colspan="9" { "cannot be read: " (e) } }
                            }
                        }
                    }
                }
            } }
        }
    };
    layout("Backtests", Some(viewer), body)
}

/// A figure as inline SVG in both themes, or a line saying why it
/// cannot be drawn.
fn figure(f: Result<Figure, chart::NoChart>, label: &str) -> Markup {
    match f {
        Ok(f) => super::charts::inline(&f, CHART, label),
        Err(e) => html! { p.meta { "The chart cannot be drawn: " (e) } },
    }
}

/// `/backtests/{id}`: one run.
pub fn render_run(run: &Outcome, viewer: &Viewer) -> Markup {
    let s = &run.summary;
    let equity = chart::backtest::equity(s, &run.equity).map(Figure::BacktestEquity);
    let drawdown = chart::backtest::drawdown(s, &run.equity).map(Figure::BacktestDrawdown);
    let body = html! {
        p.meta { "Run " code { (s.id) } " · " (s.data.from) " to " (s.data.to) " · "
            (s.data.sessions) " sessions · " (run.trades.len()) " closed trades · "
            "shown again by " code { "dipwatch backtest --show " (s.id) } }
        (notes(s))
        h2 { "Equity vs " (s.benchmark) }
        (figure(equity, "Equity against the benchmark"))
        h2 { "Drawdown" }
        (figure(drawdown, "Drawdown against the benchmark"))
        h2 { "Figures" }
        div.ranking { table {
            thead { tr { th { "" } th.num { "Strategy" } th.num { (s.benchmark) } } }
            tbody {
                @for (label, ours, theirs) in report::rows(s) {
                    tr { td { (label) } td.num { (ours) } td.num { (theirs) } }
                }
            }
        } }
        h2 { "Monthly returns" }
        div.ranking { table {
            thead { tr { th { "Month" } th.num { "Strategy" } th.num { (s.benchmark) } } }
            tbody {
                @for (m, b) in s.monthly.strategy.iter().zip(&s.monthly.benchmark) {
                    tr {
                        td { (format!("{}-{:02}", m.year, m.month)) }
                        td.num { (signed_pct(m.return_pct)) }
                        td.num { (signed_pct(b.return_pct)) }
                    }
                }
            }
        } }
    };
    layout(&format!("Backtest {}", s.id), Some(viewer), body)
}

/// A page that says why a run cannot be shown.
fn problem(status: StatusCode, text: String, viewer: &Viewer) -> (StatusCode, Html<String>) {
    let body = html! {
        p { (text) }
        p { a href="/backtests" { "All backtests" } }
    };
    (
        status,
        Html(layout("Backtest", Some(viewer), body).into_string()),
    )
}

/// The backtest service over the daemon's store.
fn backtests(ctx: &WebContext) -> Backtests {
    Backtests::new(ctx.config.backtest.clone(), ctx.runner.store().clone())
}

pub(super) async fn list(
    State(ctx): State<WebContext>,
    viewer: Viewer,
) -> (StatusCode, Html<String>) {
    match backtests(&ctx).list(MAX_LISTED).await {
        Ok(runs) => (
            StatusCode::OK,
            Html(render_list(&runs, &viewer).into_string()),
        ),
        Err(e) => {
            tracing::error!(error = %e, "listing backtests failed");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "The store could not be read; try again shortly.".into(),
                &viewer,
            )
        }
    }
}

pub(super) async fn show(
    State(ctx): State<WebContext>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> (StatusCode, Html<String>) {
    let run = match backtests(&ctx).show(&id).await {
        Ok(run) => run,
        Err(e @ (ReadError::BadId(_) | ReadError::Missing(_))) => {
            return problem(StatusCode::NOT_FOUND, format!("{e}."), &viewer);
        }
        Err(e @ ReadError::Damaged { .. }) => {
            tracing::warn!(error = %e, "a stored backtest cannot be read");
            return problem(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}."), &viewer);
        }
        Err(ReadError::Store(e)) => {
            tracing::error!(error = %e, "reading a backtest failed");
            return problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "The store could not be read; try again shortly.".into(),
                &viewer,
            );
        }
    };
    // Drawing two curves is CPU work: off the runtime.
    let page = tokio::task::spawn_blocking(move || render_run(&run, &viewer).into_string()).await;
    match page {
        Ok(page) => (StatusCode::OK, Html(page)),
        Err(e) => {
            crate::panics::record("web backtest page");
            tracing::error!(error = %e, "rendering a backtest page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("The page could not be drawn.".into()),
            )
        }
    }
}
