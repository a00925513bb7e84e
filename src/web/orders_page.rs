//! `/orders`: what the bot's `/orders` lists, on the dashboard. Open
//! orders and today's, each with its symbol, side, quantity, filled
//! shares, limit, status, submitted time (New York) and who placed it,
//! read through [`crate::trading::Trading::orders`]; PAPER or LIVE; the
//! kill switch's state. Admins get a Cancel button per open order: a
//! POST to `/orders/cancel` with the session's CSRF token, carried out by
//! [`crate::trading::Trading::cancel`] (which journals it) and answered
//! with a redirect back here that says what happened, or with the
//! refusal in plain words. Readers see the list without buttons. With
//! trading off the page says so and how to turn it on.
//!
//! Pure below the handlers: [`body`] renders what was read.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use chrono_tz::America::New_York;
use maud::{Markup, html};

use super::pages::layout;
use super::{Viewer, WebContext, stale_form};
use crate::access::Role;
use crate::config::TradingMode;
use crate::domain::{Order, OrderStatus};
use crate::market::TradeError;
use crate::numbers::{qty, usd};
use crate::trading::actor::placed_by;
use crate::trading::{Actor, Halt, OrderLine, Refusal, Source, Trading};

/// The page's title (and the navigation's label).
const TITLE: &str = "Orders";

/// What the page shows, as read from the trading service.
#[derive(Debug)]
pub(super) enum View {
    /// `ctx.trading` is `None`: trading is off (or the provider cannot trade).
    Off,
    /// Trading is on.
    On {
        /// PAPER or LIVE.
        mode: TradingMode,
        /// The kill switch as stored, or why it could not be read.
        halt: Result<Option<Halt>, Refusal>,
        /// Open and today's orders, or why they could not be listed.
        lines: Result<Vec<OrderLine>, Refusal>,
    },
}

/// What the last form did, shown above the lists.
#[derive(Debug)]
pub(super) enum Notice {
    /// A cancellation was asked for this order (its line as listed now).
    Canceled(String),
    /// A cancellation was refused; the text says why.
    Refused(String),
}

/// Read what the page shows.
async fn read(trading: Option<&Trading>) -> View {
    let Some(t) = trading else {
        return View::Off;
    };
    let (halt, lines) = tokio::join!(t.halted(), t.orders(false));
    View::On {
        mode: t.mode(),
        halt,
        lines,
    }
}

/// `GET /orders`; `?canceled=ID` after a cancellation (the redirect's
/// notice, shown only for an order in the list).
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct OrdersQuery {
    #[serde(default)]
    canceled: Option<String>,
}

/// `GET /orders`.
pub(super) async fn page(
    State(ctx): State<WebContext>,
    viewer: Viewer,
    query: Result<Query<OrdersQuery>, QueryRejection>,
) -> Response {
    let view = read(ctx.trading.as_ref()).await;
    let notice = query
        .ok()
        .and_then(|Query(q)| q.canceled)
        .map(|id| Notice::Canceled(id.trim().to_string()));
    let status = match &view {
        View::On { lines: Err(r), .. } => refusal_status(r),
        _ => StatusCode::OK,
    };
    respond(&viewer, &view, status, notice.as_ref())
}

/// The page for `viewer` with `status`.
fn respond(viewer: &Viewer, view: &View, status: StatusCode, notice: Option<&Notice>) -> Response {
    let csrf = viewer.csrf().filter(|_| viewer.role == Role::Admin);
    let page = layout(TITLE, Some(viewer), body(view, csrf, notice));
    (status, Html(page.into_string())).into_response()
}

/// The cancel form.
#[derive(serde::Deserialize)]
pub(super) struct CancelForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    order_id: String,
}

/// `POST /orders/cancel`: an admin asks the broker to cancel one order;
/// a redirect back to the list, or the list with the refusal.
pub(super) async fn cancel(
    State(ctx): State<WebContext>,
    viewer: Viewer,
    form: Result<axum::Form<CancelForm>, FormRejection>,
) -> Response {
    let Some(chat) = admin_chat(&viewer) else {
        return admins_only(&viewer, "cancel orders");
    };
    let Some(axum::Form(form)) = form.ok().filter(|f| viewer.csrf_ok(&f.csrf)) else {
        return stale_form();
    };
    let refused = |status: StatusCode, text: String, view: View| {
        respond(&viewer, &view, status, Some(&Notice::Refused(text)))
    };
    let id = form.order_id.trim();
    if !is_order_id(id) {
        let text = format!("{} is not an order id.", crate::echo::quoted(id));
        let view = read(ctx.trading.as_ref()).await;
        return refused(StatusCode::UNPROCESSABLE_ENTITY, text, view);
    }
    let Some(trading) = ctx.trading.as_ref() else {
        return refused(
            StatusCode::CONFLICT,
            Refusal::Disabled.to_string(),
            View::Off,
        );
    };
    let actor = Actor {
        source: Source::Web(chat),
        role: viewer.role,
    };
    match trading.cancel(id, &actor).await {
        Ok(order) => {
            tracing::info!(chat_id = chat, order_id = %order.id, "order cancel asked from the dashboard");
            Redirect::to(&format!("/orders?canceled={}", order.id)).into_response()
        }
        Err(r) => {
            tracing::warn!(chat_id = chat, reason = %r, "order cancel from the dashboard refused");
            let text = format!("Order {id} was not canceled: {r}");
            refused(refusal_status(&r), text, read(Some(trading)).await)
        }
    }
}

/// The admin's chat, when `viewer` is a signed-in admin.
fn admin_chat(viewer: &Viewer) -> Option<i64> {
    match (viewer.role, viewer.chat) {
        (Role::Admin, Some(chat)) => Some(chat),
        _ => None,
    }
}

/// The 403 page: only admins may `what`.
fn admins_only(viewer: &Viewer, what: &str) -> Response {
    let body = html! { p { "Only admins can " (what) "." } };
    (
        StatusCode::FORBIDDEN,
        Html(layout("Not allowed", Some(viewer), body).into_string()),
    )
        .into_response()
}

/// The kill switch's form: its CSRF token only.
#[derive(serde::Deserialize)]
pub(super) struct SwitchForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /orders/halt`: an admin turns the kill switch on (the open
/// orders placed through dipwatch are asked to cancel), as `/halt` does.
pub(super) async fn halt(
    State(ctx): State<WebContext>,
    viewer: Viewer,
    form: Result<axum::Form<SwitchForm>, FormRejection>,
) -> Response {
    switch(ctx, viewer, form, true).await
}

/// `POST /orders/resume`: an admin turns the kill switch off.
pub(super) async fn resume(
    State(ctx): State<WebContext>,
    viewer: Viewer,
    form: Result<axum::Form<SwitchForm>, FormRejection>,
) -> Response {
    switch(ctx, viewer, form, false).await
}

/// Turn the kill switch `on` or off through the service (journalled as
/// `web:<chat>`); back to the list, which shows the switch, or the list
/// with the refusal.
async fn switch(
    ctx: WebContext,
    viewer: Viewer,
    form: Result<axum::Form<SwitchForm>, FormRejection>,
    on: bool,
) -> Response {
    let Some(chat) = admin_chat(&viewer) else {
        return admins_only(&viewer, "halt or resume trading");
    };
    if !form.is_ok_and(|axum::Form(f)| viewer.csrf_ok(&f.csrf)) {
        return stale_form();
    }
    let Some(trading) = ctx.trading.as_ref() else {
        let text = Refusal::Disabled.to_string();
        return respond(
            &viewer,
            &View::Off,
            StatusCode::CONFLICT,
            Some(&Notice::Refused(text)),
        );
    };
    let actor = Actor {
        source: Source::Web(chat),
        role: viewer.role,
    };
    let done = match on {
        true => trading.halt(&actor).await.map(|canceled| canceled.len()),
        false => trading.resume(&actor).await.map(|()| 0),
    };
    match done {
        Ok(canceled) => {
            tracing::info!(
                chat_id = chat,
                halted = on,
                canceled,
                "kill switch set from the dashboard"
            );
            Redirect::to("/orders").into_response()
        }
        Err(r) => {
            tracing::warn!(chat_id = chat, halted = on, reason = %r, "kill switch from the dashboard refused");
            let verb = if on { "halted" } else { "resumed" };
            let text = format!("Trading was not {verb}: {r}");
            let view = read(Some(trading)).await;
            respond(
                &viewer,
                &view,
                refusal_status(&r),
                Some(&Notice::Refused(text)),
            )
        }
    }
}

/// What a broker's order id looks like (Alpaca's are UUIDs): 1 to 64
/// letters, digits and dashes. Anything else is refused before any call.
fn is_order_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The HTTP status a refusal is answered with.
fn refusal_status(r: &Refusal) -> StatusCode {
    match r {
        Refusal::NotAdmin | Refusal::WrongSource => StatusCode::FORBIDDEN,
        Refusal::Disabled | Refusal::Halted { .. } => StatusCode::CONFLICT,
        Refusal::Broker(TradeError::NotFound) => StatusCode::NOT_FOUND,
        Refusal::Broker(TradeError::RateLimited { .. }) => StatusCode::TOO_MANY_REQUESTS,
        Refusal::Broker(TradeError::Unavailable { .. } | TradeError::Malformed { .. }) => {
            StatusCode::BAD_GATEWAY
        }
        // A circuit breaker open: nothing was sent, try again later.
        Refusal::Broker(TradeError::Refused { status: 500.., .. }) | Refusal::Journal(_) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The page's body: the notice, then trading's state and the lists.
/// `csrf` is the admin's token (Cancel buttons); `None` for a reader.
pub(super) fn body(view: &View, csrf: Option<&str>, notice: Option<&Notice>) -> Markup {
    let lines: &[OrderLine] = match view {
        View::On { lines: Ok(l), .. } => l,
        _ => &[],
    };
    html! {
        @match notice {
            Some(Notice::Canceled(id)) => {
                @if let Some(line) = lines.iter().find(|l| l.order.id == *id) {
                    p.notice role="status" {
                        "Cancel asked for " (what(&line.order)) " (order " (line.order.id) "): its status is now "
                        strong { (line.order.status.as_str()) } "."
                        @if line.order.status.is_open() {
                            " The list shows when the broker has canceled it: "
                            a href="/orders" { "reload" } "."
                        }
                    }
                }
            }
            Some(Notice::Refused(text)) => div.error role="alert" { p { (text) } },
            None => {}
        }
        @match view {
            View::Off => (off()),
            View::On { mode, halt, lines } => {
                (mode_banner(*mode))
                (kill_switch(halt, csrf))
                @match lines {
                    Err(r) => div.error role="alert" { p { "The orders could not be listed: " (r) } },
                    Ok(lines) => (lists(lines, csrf)),
                }
            }
        }
    }
}

/// Alpaca's paper trading API, the default `market.trading_url`.
const PAPER_URL: &str = "https://paper-api.alpaca.markets";

/// Trading is off: why, and how to turn it on.
fn off() -> Markup {
    html! {
        p.banner role="status" { "Trading is off." }
        p { "dipwatch places orders only when " code { "trading.enabled = true" }
            " and " code { "market.provider = \"alpaca\"" } " (the simulated market is never traded)." }
        p { "To turn it on: get paper keys from Alpaca, keep " code { "market.trading_url" }
            " at the paper API (" code { (PAPER_URL) } "), set "
            code { "DIPWATCH__TRADING__ENABLED=true" } " (or " code { "enabled = true" }
            " under " code { "[trading]" } "), check it with " code { "dipwatch check-config" }
            " and restart the daemon. The README's \"Paper trading\" walks through it." }
    }
}

/// PAPER or LIVE, unmissable.
fn mode_banner(mode: TradingMode) -> Markup {
    html! {
        @match mode {
            TradingMode::Paper => p.banner.paper role="status" { "PAPER trading: orders go to Alpaca's paper account, no real money." },
            TradingMode::Live => p.banner.live role="status" { "LIVE trading: orders spend real money." },
        }
    }
}

/// The kill switch's state, with its Halt or Resume button for an admin
/// (`csrf` is theirs).
fn kill_switch(halt: &Result<Option<Halt>, Refusal>, csrf: Option<&str>) -> Markup {
    html! {
        @match halt {
            Ok(None) => div.kill-switch {
                p.meta { "Kill switch: off. Orders may be placed." }
                @if let Some(token) = csrf {
                    (switch_form("/orders/halt", token, "Halt trading (cancels open dipwatch orders)"))
                }
            },
            Ok(Some(h)) => div.error.kill-switch role="alert" {
                p { strong { "Kill switch: ON" } " since " (new_york(h.since)) " by " (placed_by(Some(&h.by)))
                    ". New orders are refused until resumed (here, " code { "/resume" } " or "
                    code { "dipwatch trading resume" } ")." }
                @if let Some(token) = csrf {
                    (switch_form("/orders/resume", token, "Resume trading"))
                }
            },
            Err(r) => div.error.kill-switch role="alert" { p { "The kill switch could not be read: " (r) } },
        }
    }
}

/// A one-button form posting the CSRF token to `action`.
fn switch_form(action: &str, csrf: &str, label: &str) -> Markup {
    html! {
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            button type="submit" { (label) }
        }
    }
}

/// The open orders, then today's others.
fn lists(lines: &[OrderLine], csrf: Option<&str>) -> Markup {
    let (open, done): (Vec<&OrderLine>, Vec<&OrderLine>) =
        lines.iter().partition(|l| l.order.status.is_open());
    html! {
        h2 { "Open" }
        @if open.is_empty() { p { "No open orders." } } @else { (table(&open, csrf, "open")) }
        h2 { "Today's" }
        @if done.is_empty() { p { "No other orders today." } } @else { (table(&done, None, "done")) }
    }
}

/// One table of orders; `csrf` adds a Cancel button to each row.
fn table(lines: &[&OrderLine], csrf: Option<&str>, class: &str) -> Markup {
    html! {
        table class={ "orders " (class) } {
            thead { tr {
                th { "Symbol" } th { "Side" } th.num { "Qty" } th.num { "Filled" } th.num { "Limit" }
                th { "Status" } th { "Submitted (New York)" } th { "Placed by" }
                @if csrf.is_some() { th { span.visually-hidden { "Action" } } }
            } }
            tbody { @for l in lines { (row(l, csrf)) } }
        }
    }
}

/// One order as a row (a card on a phone: each cell names itself).
fn row(line: &OrderLine, csrf: Option<&str>) -> Markup {
    let o = &line.order;
    html! {
        tr data-order=(o.id) {
            td data-label="Symbol" { strong { (o.symbol.as_str()) } }
            td data-label="Side" { (o.side.as_str()) }
            td.num data-label="Qty" { (ordered(o)) }
            td.num data-label="Filled" {
                (qty(o.filled_qty))
                @if let Some(p) = o.filled_avg_price { span.meta { " at " (usd(p)) } }
            }
            td.num data-label="Limit" { (o.limit_price.map_or_else(|| o.order_type.clone(), usd)) }
            td data-label="Status" { span class={ "status " (status_class(&o.status)) } { (o.status.as_str()) } }
            td data-label="Submitted" { (o.submitted_at.map_or_else(|| "–".to_string(), new_york)) }
            td data-label="Placed by" { (placed_by(line.source.as_deref())) }
            @if let Some(csrf) = csrf {
                td.action {
                    @if o.status != OrderStatus::PendingCancel {
                        form.cancel-order method="post" action="/orders/cancel" {
                            input type="hidden" name="csrf" value=(csrf);
                            input type="hidden" name="order_id" value=(o.id);
                            button type="submit" aria-label={ "Cancel " (what(o)) } { "Cancel" }
                        }
                    } @else { span.meta { "cancel asked" } }
                }
            }
        }
    }
}

/// Shares asked for, or the dollars of a notional order.
fn ordered(o: &Order) -> String {
    match (o.qty, o.notional) {
        (Some(q), _) => qty(q),
        (None, Some(n)) => usd(n),
        (None, None) => "–".to_string(),
    }
}

/// `AAPL buy 3`: what an order trades, in a sentence.
fn what(o: &Order) -> String {
    format!("{} {} {}", o.symbol.as_str(), o.side.as_str(), ordered(o))
}

/// A status's colour class: filled, working, or ended without filling.
fn status_class(s: &OrderStatus) -> &'static str {
    match s {
        OrderStatus::Filled => "filled",
        s if s.is_open() => "working",
        _ => "ended",
    }
}

/// An instant as New York's wall clock: `2026-12-04 10:31 EST`.
fn new_york(t: DateTime<Utc>) -> String {
    t.with_timezone(&New_York)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

#[cfg(test)]
mod tests;
