//! Signing in and out: the one-time link (`/login`), the Mini App's launch
//! data (`/login/miniapp`), and sign-out (`/logout`). Every attempt is
//! rate-limited per client address, logged (chat when known, address,
//! outcome; never a token) and counted in `/metrics`.

use std::net::IpAddr;
use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};

use super::client::ClientAddr;
use super::{WebContext, auth, cookie, lock, pages, viewer};

/// The largest Mini App sign-in body: Telegram's launch data is well under
/// 4 KiB.
pub const MINIAPP_BODY_LIMIT: usize = 4 * 1024;

/// How a sign-in was attempted (the metric's `method` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Link,
    MiniApp,
}

impl Method {
    fn label(self) -> &'static str {
        match self {
            Self::Link => "link",
            Self::MiniApp => "miniapp",
        }
    }
}

/// Log and count one attempt. `chat` is known when the credential named
/// one (a refused chat with a genuine link or launch data).
fn audit(
    ctx: &WebContext,
    method: Method,
    outcome: &'static str,
    chat: Option<i64>,
    client: IpAddr,
) {
    ctx.metrics.web_sign_in(method.label(), outcome);
    let method = method.label();
    journal_sign_in(ctx, method, outcome, chat, client);
    match outcome {
        "ok" => tracing::info!(method, outcome, chat, client = %client, "dashboard sign-in"),
        _ => tracing::warn!(method, outcome, chat, client = %client, "dashboard sign-in refused"),
    }
}

/// Journal a sign-in of a known chat (a session started, or a genuine
/// credential of a chat the allow-lists refuse); anonymous failures are
/// only counted, so nobody can fill the journal by guessing.
fn journal_sign_in(
    ctx: &WebContext,
    method: &str,
    outcome: &str,
    chat: Option<i64>,
    client: IpAddr,
) {
    use crate::journal::{EventKind, JournalEvent};
    if chat.is_some() {
        let source = viewer::web_source(chat);
        let event = JournalEvent::command(EventKind::SignIn, source).status(outcome);
        (ctx.journal).audit_soon(event.reason(format!("{method} from {client}")));
    }
}

/// The 429 a client over its attempts gets.
fn too_many(ctx: &WebContext, method: Method, client: IpAddr) -> Response {
    audit(ctx, method, "rate_limited", None, client);
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, "60")],
        "Too many sign-in attempts; wait a minute.",
    )
        .into_response()
}

/// `?token=` of a sign-in link.
#[derive(serde::Deserialize)]
pub(super) struct LoginQuery {
    token: Option<String>,
}

/// Follow a one-time link: a session for its chat if the chat may read,
/// else 401, the same for an unknown, expired, reused or refused token.
pub(super) async fn login(
    State(ctx): State<WebContext>,
    ClientAddr(client): ClientAddr,
    Query(q): Query<LoginQuery>,
) -> Response {
    if !ctx.enabled() {
        return super::not_found().await.into_response();
    }
    if !ctx.auth.attempt(client, Instant::now()) {
        return too_many(&ctx, Method::Link, client);
    }
    let now = Utc::now();
    let redeemed = q
        .token
        .as_deref()
        .and_then(|t| lock(&ctx.auth.tokens).redeem_issued(t, now));
    match redeemed {
        Some((chat, issued)) if viewer::still_valid(&ctx, chat, issued) => {
            start_session(&ctx, Method::Link, chat, client, now)
        }
        other => {
            audit(&ctx, Method::Link, "refused", other.map(|(c, _)| c), client);
            pages::refused().into_response()
        }
    }
}

/// The Mini App's sign-in body: the `initData` Telegram gave the page.
#[derive(serde::Deserialize)]
pub(super) struct MiniAppForm {
    init_data: String,
}

/// Sign in from inside Telegram: `initData` signed with the bot token
/// names the user (the chat of a private chat with the bot); each launch
/// signs in once; the same allow-list check and the same 401 as a link.
pub(super) async fn login_miniapp(
    State(ctx): State<WebContext>,
    ClientAddr(client): ClientAddr,
    axum::Form(form): axum::Form<MiniAppForm>,
) -> Response {
    let Some(token) = ctx.config.bot_token.as_ref() else {
        return super::not_found().await.into_response();
    };
    if !ctx.auth.attempt(client, Instant::now()) {
        return too_many(&ctx, Method::MiniApp, client);
    }
    let now = Utc::now();
    let launch = auth::verify_launch(&form.init_data, token, now);
    match launch {
        Some(l)
            if viewer::still_valid(&ctx, l.chat, l.issued)
                && lock(&ctx.auth.launches).first_use(&l, now) =>
        {
            start_session(&ctx, Method::MiniApp, l.chat, client, now)
        }
        other => {
            audit(
                &ctx,
                Method::MiniApp,
                "refused",
                other.map(|l| l.chat),
                client,
            );
            pages::refused().into_response()
        }
    }
}

/// A session for `chat`: the cookie, and a redirect to the overview.
fn start_session(
    ctx: &WebContext,
    method: Method,
    chat: i64,
    client: IpAddr,
    now: DateTime<Utc>,
) -> Response {
    let web = &ctx.config.web;
    let ttl = web.session_ttl;
    let new = auth::NewSession {
        chat,
        ttl,
        per_chat: web.sessions_per_chat,
        miniapp: method == Method::MiniApp,
    };
    let Some((id, _)) = lock(&ctx.auth.sessions).start(new, now) else {
        audit(ctx, method, "refused", Some(chat), client);
        return (StatusCode::SERVICE_UNAVAILABLE, "Try again later.").into_response();
    };
    audit(ctx, method, "ok", Some(chat), client);
    let value = cookie::set(ctx.https(), new.miniapp, &id, ttl.as_secs());
    let mut response = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// A form that carries only the CSRF token (sign-out, "Run now"). A
/// missing token is an empty one, refused like a wrong one.
#[derive(serde::Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
}

/// End this browser's session (a POST with its CSRF token).
pub(super) async fn logout(
    State(ctx): State<WebContext>,
    viewer: viewer::Viewer,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    let Some(session) = viewer.session_cookie() else {
        return pages::refused().into_response();
    };
    if !viewer.csrf_ok(&form.csrf) {
        return super::stale_form();
    }
    lock(&ctx.auth.sessions).end(session);
    let mut response = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie::clear(ctx.https(), viewer.miniapp())) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}
