//! The web dashboard, served by the daemon on `web.listen` (separate from
//! health and metrics): server-rendered pages from the in-memory state,
//! escaped by default (maud), under a strict Content-Security-Policy, with
//! no script required.
//!
//! Signing in goes through the bot ([`auth`]): `/web` gives a one-time
//! link to `/login?token=...`, which starts a server-side session (an
//! HttpOnly, SameSite=Strict cookie). Each request checks the session's
//! chat against the allow-lists again. Without a bot token the dashboard
//! is off, unless `web.anonymous_loopback` serves read-only pages to
//! loopback clients.

mod alerts_page;
pub mod auth;
mod backtests;
mod charts;
pub mod pages;
mod risk;
mod run_now;
pub mod symbol;
mod viewer;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;

use crate::config::AppConfig;
use crate::runner::Runner;

pub use charts::SnapshotFigures;
pub use viewer::Viewer;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "dipwatch_session";
/// Sign-in attempts a client address may make per minute.
pub const LOGIN_ATTEMPTS_PER_MINUTE: u32 = 10;

/// The dashboard's sign-in state, shared with the bot (which issues links).
#[derive(Debug, Default)]
pub struct WebAuth {
    tokens: Mutex<auth::LoginTokens>,
    sessions: Mutex<auth::Sessions>,
    attempts: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl WebAuth {
    /// A one-time sign-in token for `chat`, `None` when none can be given.
    pub fn issue_login(&self, chat: i64) -> Option<String> {
        self.issue_login_at(chat, Utc::now())
    }

    /// A one-time sign-in token for `chat` as if issued at `issued`: the
    /// clock the tests control (a token issued [`auth::LOGIN_TTL`] ago is
    /// already expired).
    pub fn issue_login_at(&self, chat: i64, issued: chrono::DateTime<Utc>) -> Option<String> {
        lock(&self.tokens).issue(chat, issued)
    }

    /// End every session of `chat` (the bot's `/logout`); how many ended.
    pub fn logout_chat(&self, chat: i64) -> usize {
        lock(&self.sessions).end_chat(chat)
    }

    /// Count a sign-in attempt from `ip`; false once it is over the limit
    /// for the current minute.
    fn attempt(&self, ip: IpAddr, now: Instant) -> bool {
        let mut attempts = lock(&self.attempts);
        attempts.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        let entry = attempts.entry(ip).or_insert((now, 0));
        entry.1 += 1;
        entry.1 <= LOGIN_ATTEMPTS_PER_MINUTE
    }
}

/// A poisoned lock still holds consistent tables (every update is one
/// statement), so a panic elsewhere never locks everyone out.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the handlers read.
#[derive(Clone)]
pub struct WebContext {
    /// The configuration (allow-lists, `[web]`, `[screen]`).
    pub config: Arc<AppConfig>,
    /// The state snapshot and `/trigger`.
    pub runner: Runner,
    /// Sign-in state.
    pub auth: Arc<WebAuth>,
    /// Whether a bot token is configured (sessions are possible).
    pub bot_configured: bool,
    /// The alert runtime, once the daemon has opened it (after the state
    /// loaded; the dashboard already answers before).
    pub alerts: Arc<std::sync::OnceLock<crate::alerts::AlertService>>,
    /// Manual runs' cooldown, the one the bot's `/trigger` uses too.
    pub trigger_cooldown: Arc<crate::trigger::Cooldown>,
    /// Figures drawn once per snapshot.
    pub figures: Arc<SnapshotFigures>,
}

impl WebContext {
    /// Whether the dashboard serves anything: with a bot (sign-in), or
    /// read-only to loopback clients when `web.anonymous_loopback` is on.
    pub fn enabled(&self) -> bool {
        self.bot_configured || self.config.settings.web.anonymous_loopback
    }

    /// The alert runtime, when it is open.
    fn alerts(&self) -> Option<&crate::alerts::AlertService> {
        self.alerts.get()
    }

    fn secure_cookies(&self) -> bool {
        self.config.web_public_url.scheme() == "https"
    }
}

/// The dashboard's routes.
pub fn router(ctx: WebContext) -> Router {
    Router::new()
        .route("/", get(pages::overview))
        .route("/screen", get(pages::screen))
        .route("/screen.csv", get(pages::screen_csv))
        .route("/portfolio", get(pages::portfolio))
        .route("/runs", get(pages::runs))
        .route("/backtests", get(backtests::list))
        .route("/backtests/{id}", get(backtests::show))
        .route("/symbol/{ticker}", get(symbol::page))
        .route("/alerts", get(alerts_page::page).post(alerts_page::add))
        .route("/alerts/delete", post(alerts_page::delete))
        .route("/trigger", post(run_now::trigger))
        // A page of its own is one route here and one line in pages::NAV.
        .route("/login", get(login))
        .route("/miniapp", get(miniapp_page))
        .route("/login/miniapp", post(login_miniapp))
        .route("/static/miniapp.js", get(miniapp_script))
        .route("/logout", post(logout))
        .route("/static/app.css", get(stylesheet))
        .fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(ctx)
}

/// Every response: no framing by other sites (Telegram's Mini App web
/// client excepted), no inline script or style, no referrer (the sign-in
/// link's token never leaves in a Referer header), no sniffing.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'self' https://web.telegram.org",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `?token=` of a sign-in link.
#[derive(serde::Deserialize)]
struct LoginQuery {
    token: Option<String>,
}

/// Follow a one-time link: a session for its chat if the chat may read,
/// else 401, the same for an unknown, expired, reused or refused token.
async fn login(
    State(ctx): State<WebContext>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<LoginQuery>,
) -> Response {
    if !ctx.enabled() {
        return not_found().await.into_response();
    }
    if !ctx.auth.attempt(peer.ip(), Instant::now()) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "60")],
            "Too many sign-in attempts; wait a minute.",
        )
            .into_response();
    }
    let now = Utc::now();
    let chat = q
        .token
        .as_deref()
        .and_then(|t| lock(&ctx.auth.tokens).redeem(t, now))
        .filter(|chat| viewer::role_of(&ctx.config, *chat) != crate::bot::access::Role::Refused);
    match chat {
        Some(chat) => start_session(&ctx, chat, now),
        None => pages::refused().into_response(),
    }
}

/// A session for `chat`: the cookie, and a redirect to the overview.
fn start_session(ctx: &WebContext, chat: i64, now: chrono::DateTime<Utc>) -> Response {
    let ttl = Duration::from_secs(ctx.config.settings.web.session_ttl_secs);
    let Some((id, _)) = lock(&ctx.auth.sessions).start(chat, now, ttl) else {
        return (StatusCode::SERVICE_UNAVAILABLE, "Try again.").into_response();
    };
    let secure = if ctx.secure_cookies() { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        ttl.as_secs()
    );
    let mut response = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// The Mini App's sign-in body: the `initData` Telegram gave the page.
#[derive(serde::Deserialize)]
struct MiniAppForm {
    init_data: String,
}

/// Sign in from inside Telegram: `initData` signed with the bot token
/// names the user (the chat of a private chat with the bot); the same
/// allow-list check and the same 401 as a link.
async fn login_miniapp(
    State(ctx): State<WebContext>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    axum::Form(form): axum::Form<MiniAppForm>,
) -> Response {
    let Some(token) = ctx.config.secrets.telegram_token.as_ref() else {
        return not_found().await.into_response();
    };
    if !ctx.auth.attempt(peer.ip(), Instant::now()) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "60")],
            "Too many sign-in attempts; wait a minute.",
        )
            .into_response();
    }
    let now = Utc::now();
    match auth::verify_init_data(&form.init_data, &token.value, now)
        .filter(|chat| viewer::role_of(&ctx.config, *chat) != crate::bot::access::Role::Refused)
    {
        Some(chat) => start_session(&ctx, chat, now),
        None => pages::refused().into_response(),
    }
}

/// The page Telegram opens for the "Open dashboard" button: its script
/// posts the launch data to `/login/miniapp`.
async fn miniapp_page(State(ctx): State<WebContext>) -> Response {
    if ctx.config.secrets.telegram_token.is_none() {
        return not_found().await.into_response();
    }
    axum::response::Html(pages::miniapp().into_string()).into_response()
}

/// The Mini App's script (served, never inline, under the CSP).
async fn miniapp_script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("miniapp.js"),
    )
}

/// A form that carries only the CSRF token (sign-out, "Run now"). A
/// missing token is an empty one, refused like a wrong one.
#[derive(serde::Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// End this browser's session (a POST with its CSRF token).
async fn logout(
    State(ctx): State<WebContext>,
    viewer: Viewer,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    let Some(session) = viewer.session_cookie() else {
        return pages::refused().into_response();
    };
    if !viewer.csrf_ok(&form.csrf) {
        return stale_form();
    }
    lock(&ctx.auth.sessions).end(session);
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("dipwatch_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}

/// A state-changing POST whose CSRF token is missing or not this
/// session's: refused, nothing changed.
fn stale_form() -> Response {
    (StatusCode::FORBIDDEN, "Stale form: reload the page.").into_response()
}

/// The one stylesheet, compiled in.
async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("app.css"),
    )
}

async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, "Not found.")
}

/// Serve the dashboard on `listener` until `shutdown`, with the same
/// connection timeouts as health and metrics.
pub async fn serve(
    listener: tokio::net::TcpListener,
    ctx: WebContext,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    crate::http::serve_router(
        listener,
        router(ctx),
        crate::http::Timeouts::default(),
        shutdown,
    )
    .await
}
