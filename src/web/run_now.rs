//! The admins' "Run now" button: a POST with the session's CSRF token that
//! starts a collection through [`crate::trigger::start_manual`], the same
//! call, cooldown and single flight as the bot's `/trigger`. Readers never
//! see the button and get 403 if they post anyway.

use std::time::Instant;

use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::html;

use super::pages::{layout, render_runs};
use super::{CsrfForm, Viewer, WebContext, stale_form};
use crate::access::Role;
use crate::numbers::{duration, time_left};
use crate::trigger::{ManualRun, start_manual, trigger_busy};

/// What the page says about a request, and its status.
fn outcome(run: &ManualRun) -> (StatusCode, String) {
    match run {
        ManualRun::Started(_) => (
            StatusCode::ACCEPTED,
            "Collection started. This page shows its report once it is published; reload to see it."
                .to_string(),
        ),
        ManualRun::Busy(running) => (StatusCode::CONFLICT, trigger_busy(*running)),
        ManualRun::Cooling { left, period } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "A collection was started by hand (here or with /trigger) less than {} ago; \
                 not starting another. Run now works again in {} (telegram.trigger_cooldown_secs).",
                duration(*period),
                time_left(*left)
            ),
        ),
    }
}

/// `POST /trigger`: start a run for an admin, then show `/runs` with what
/// happened.
pub(super) async fn trigger(
    State(ctx): State<WebContext>,
    viewer: Viewer,
    form: Result<axum::Form<CsrfForm>, FormRejection>,
) -> Response {
    if viewer.role != Role::Admin {
        let body = html! { p { "Only admins can start a collection." } };
        return (
            StatusCode::FORBIDDEN,
            Html(layout("Not allowed", Some(&viewer), body).into_string()),
        )
            .into_response();
    }
    if !form.is_ok_and(|f| viewer.csrf_ok(&f.csrf)) {
        return stale_form();
    }
    let run = start_manual(&ctx.runner, &ctx.trigger_cooldown, Instant::now());
    (ctx.journal)
        .audit(run.audit_event(viewer.journal_source()))
        .await;
    if matches!(run, ManualRun::Started(_)) {
        tracing::info!(
            chat_id = viewer.chat,
            "collection started from the dashboard"
        );
    }
    let (status, text) = outcome(&run);
    let snap = ctx.runner.state().snapshot();
    let notice = html! { p.notice role="status" { (text) } };
    (
        status,
        Html(render_runs(&snap, &viewer, Some(notice)).into_string()),
    )
        .into_response()
}
