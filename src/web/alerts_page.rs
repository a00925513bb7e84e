//! `/alerts`: the signed-in chat's alert rules, added with the bot's own
//! `/alert` syntax and deleted one by one, each a POST with the session's
//! CSRF token. Adding and deleting go through [`crate::alerts::edit`], the
//! code the bot's `/alert` and `/unalert` use: the same parser, per-chat
//! cap and warnings, so the two front ends cannot disagree.
//!
//! An anonymous loopback reader has no chat, so no alerts: the page says
//! so (403) and the navigation does not offer it.

use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};

use super::pages::layout;
use super::{Viewer, WebContext, stale_form};
use crate::alerts::edit::{self, Added, MAX_RULES_PER_CHAT};
use crate::alerts::edit::{removed, too_many, unavailable};
use crate::alerts::{ALERT_USAGE, Rule};

/// The longest rule text the add box takes (and echoes back).
const MAX_TYPED: usize = 200;

/// What the last form did, shown above the list.
enum Notice {
    /// It worked.
    Done(String, Vec<String>),
    /// It was refused; the text says why.
    Refused(String),
}

/// The alerts page of a chat with `rules` (`None`: alerts are not
/// running), after `notice`.
fn render(viewer: &Viewer, rules: Option<&[Rule]>, notice: Option<&Notice>, typed: &str) -> Markup {
    let csrf = viewer.csrf().unwrap_or_default();
    let body = html! {
        @match notice {
            Some(Notice::Done(text, warnings)) => {
                p.notice role="status" { (text) }
                @for w in warnings { p.meta { "Note: " (w) } }
            }
            Some(Notice::Refused(text)) => {
                div.error role="alert" { @for line in text.lines() { p { (line) } } }
            }
            None => {}
        }
        @match rules {
            None => p { (unavailable()) }
            Some(rules) => {
                form.add-alert method="post" action="/alerts" {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "New alert "
                        input type="text" name="rule" value=(typed) required
                            placeholder="AAPL below -30" autocomplete="off" maxlength=(MAX_TYPED);
                    }
                    button type="submit" { "Add" }
                }
                p.meta { "The bot's /alert syntax: " code { (ALERT_USAGE.trim_start_matches("usage: ")) } }
                @if rules.is_empty() {
                    p { "No alerts yet." }
                } @else {
                    table.alerts {
                        thead { tr { th.num { "#" } th { "Watches" } th { "" } } }
                        tbody {
                            @for r in rules {
                                tr {
                                    td.num { (r.id) }
                                    td { (r.kind.to_string()) @if r.paused { " (paused)" } }
                                    td {
                                        form method="post" action="/alerts/delete" {
                                            input type="hidden" name="csrf" value=(csrf);
                                            input type="hidden" name="id" value=(r.id);
                                            button type="submit" aria-label={ "Delete alert " (r.id) } { "Delete" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    p.meta { (rules.len()) " of at most " (MAX_RULES_PER_CHAT) " alerts." }
                }
            }
        }
    };
    layout("Alerts", Some(viewer), body)
}

/// The refusal an anonymous reader gets: alerts belong to a chat.
fn no_chat(viewer: &Viewer) -> Response {
    let body = html! {
        p { "Alerts belong to a Telegram chat, and this anonymous read-only view has none. "
            "Set alerts with /alert in the bot, or sign in with the bot's /web link." }
    };
    (
        StatusCode::FORBIDDEN,
        Html(layout("Alerts", Some(viewer), body).into_string()),
    )
        .into_response()
}

/// The page for `chat` after `notice`, with `status`.
async fn respond(
    ctx: &WebContext,
    viewer: &Viewer,
    chat: i64,
    status: StatusCode,
    notice: Option<Notice>,
    typed: &str,
) -> Response {
    let rules = match edit::running(ctx.alerts()) {
        Some(svc) => Some(svc.rules_of(chat).await),
        None => None,
    };
    let page = render(viewer, rules.as_deref(), notice.as_ref(), typed);
    (status, Html(page.into_string())).into_response()
}

/// `GET /alerts`.
pub(super) async fn page(State(ctx): State<WebContext>, viewer: Viewer) -> Response {
    let Some(chat) = viewer.chat else {
        return no_chat(&viewer);
    };
    respond(&ctx, &viewer, chat, StatusCode::OK, None, "").await
}

/// The add form.
#[derive(serde::Deserialize)]
pub(super) struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    rule: String,
}

/// `POST /alerts`: add the rule typed, as `/alert` would.
pub(super) async fn add(
    State(ctx): State<WebContext>,
    viewer: Viewer,
    form: Result<axum::Form<AddForm>, FormRejection>,
) -> Response {
    let Some(chat) = viewer.chat else {
        return no_chat(&viewer);
    };
    let Some(axum::Form(form)) = form.ok().filter(|f| viewer.csrf_ok(&f.csrf)) else {
        return stale_form();
    };
    // What was typed goes back into the box after a refusal, clipped as
    // the box itself clips it.
    let typed: String = form.rule.chars().take(MAX_TYPED).collect();
    // Typed as in the bot, "/alert" and all, it means the same.
    let args = form.rule.trim();
    let args = args.strip_prefix("/alert ").unwrap_or(args);
    let universe = &ctx.config.universe;
    let (status, notice, keep) =
        match edit::add(ctx.alerts(), editor(&ctx, chat), args, universe).await {
            Added::Added { id, kind, warnings } => (
                StatusCode::OK,
                Notice::Done(edit::added_line(id, &kind), warnings),
                "",
            ),
            Added::Invalid(e) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Notice::Refused(e.0),
                typed.as_str(),
            ),
            Added::TooMany => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Notice::Refused(too_many()),
                typed.as_str(),
            ),
            Added::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                Notice::Refused(unavailable()),
                typed.as_str(),
            ),
        };
    respond(&ctx, &viewer, chat, status, Some(notice), keep).await
}

/// The delete form.
#[derive(serde::Deserialize)]
pub(super) struct DeleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
}

/// `POST /alerts/delete`: delete one of the chat's rules.
pub(super) async fn delete(
    State(ctx): State<WebContext>,
    viewer: Viewer,
    form: Result<axum::Form<DeleteForm>, FormRejection>,
) -> Response {
    let Some(chat) = viewer.chat else {
        return no_chat(&viewer);
    };
    let Some(axum::Form(form)) = form.ok().filter(|f| viewer.csrf_ok(&f.csrf)) else {
        return stale_form();
    };
    let (status, notice) = match form.id.trim().trim_start_matches('#').parse::<u64>() {
        Err(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Notice::Refused(format!(
                "{} is not an alert id.",
                crate::echo::quoted(form.id.trim())
            )),
        ),
        Ok(id) => match edit::remove(ctx.alerts(), editor(&ctx, chat), id).await {
            Some(true) => (StatusCode::OK, Notice::Done(removed(id, true), vec![])),
            Some(false) => (StatusCode::NOT_FOUND, Notice::Refused(removed(id, false))),
            None => (
                StatusCode::SERVICE_UNAVAILABLE,
                Notice::Refused(unavailable()),
            ),
        },
    };
    respond(&ctx, &viewer, chat, status, Some(notice), "").await
}

/// An edit from this dashboard session, journalled as `web:<id>`.
fn editor(ctx: &WebContext, chat: i64) -> edit::Editor<'_> {
    edit::Editor {
        source: crate::trading::Source::Web(chat),
        journal: &ctx.journal,
    }
}
