//! The web dashboard, served by the daemon on `web.listen` (separate from
//! health and metrics): server-rendered pages from the in-memory state,
//! escaped by default (maud), under a strict Content-Security-Policy, with
//! no script required.
//!
//! Signing in goes through the bot ([`crate::access::tokens`]): `/web` gives a one-time
//! link to `/login?token=...`, which starts a server-side session (an
//! HttpOnly, SameSite=Strict cookie). Each request checks the session's
//! chat against the allow-lists again. Without a bot token the dashboard
//! is off, unless `web.anonymous_loopback` serves read-only pages to
//! loopback clients.

mod alerts_page;
mod backtests;
mod charts;
pub mod client;
pub mod cookie;
mod orders_page;
pub mod pages;
mod risk;
mod run_now;
mod screen_query;
mod signin;
pub mod symbol;
mod viewer;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

/// The pure sign-in tokens, sessions and Mini App checks (below the
/// dashboard, shared with the bot).
use crate::access::tokens as auth;
use crate::access::web_auth::lock;
use crate::config::{Screen, Web};
use crate::domain::Symbol;
use crate::runner::Runner;

pub use crate::access::WebAuth;
pub use charts::SnapshotFigures;
pub use cookie::{HOST_SESSION_COOKIE, SESSION_COOKIE};
pub use signin::MINIAPP_BODY_LIMIT;
pub use viewer::Viewer;

use signin::CsrfForm;

pub use crate::access::web_auth::LOGIN_ATTEMPTS_PER_MINUTE;

/// What the dashboard takes from the configuration.
#[derive(Clone)]
pub struct WebConfig {
    /// `[web]`: listener, public URL, sessions, proxies, frame origins.
    pub web: Web,
    /// `[screen]`: the window and the default rows.
    pub screen: Screen,
    /// `market.universe`: the tickers alerts may name.
    pub universe: Vec<Symbol>,
    /// The allow-lists, shared with the bot and replaced on SIGHUP.
    pub access: crate::access::Access,
    /// The bot token: Mini App launch data is signed with it (`None`: no
    /// bot, no sign-in).
    pub bot_token: Option<secrecy::SecretString>,
    /// What the stored backtests are read with (the backtest service's
    /// pieces of configuration).
    pub backtest: crate::backtest::Setup,
}

/// What the handlers read.
#[derive(Clone)]
pub struct WebContext {
    /// The dashboard's configuration.
    pub config: Arc<WebConfig>,
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
    /// Where sign-ins are counted.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Orders (the `/orders` page); `None` while trading is off.
    pub trading: Option<crate::trading::Trading>,
    /// The audit journal (sign-ins, Run now, cancellations).
    pub journal: crate::journal::Journal,
}

impl WebContext {
    /// Whether the dashboard serves anything: with a bot (sign-in), or
    /// read-only to loopback clients when `web.anonymous_loopback` is on.
    pub fn enabled(&self) -> bool {
        self.bot_configured || self.config.web.anonymous_loopback
    }

    /// The alert runtime, when it is open.
    fn alerts(&self) -> Option<&crate::alerts::AlertService> {
        self.alerts.get()
    }

    /// Whether the dashboard is reached over https (its cookies are then
    /// `Secure` and `__Host-` prefixed, and HSTS is sent).
    fn https(&self) -> bool {
        self.config.web.public_url.scheme() == "https"
    }
}

/// The dashboard's routes, behind the checks both listeners make (host
/// name, bounded bodies; see [`crate::http::guarded`]).
pub fn router(ctx: WebContext) -> Router {
    let app = Router::new()
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
        .route("/orders", get(orders_page::page))
        .route("/orders/cancel", post(orders_page::cancel))
        .route("/orders/halt", post(orders_page::halt))
        .route("/orders/resume", post(orders_page::resume))
        // A page of its own is one route here and one line in pages::NAV.
        .route("/login", get(signin::login))
        .route("/miniapp", get(miniapp_page))
        .route("/login/miniapp", post(signin::login_miniapp))
        .route("/static/miniapp.js", get(miniapp_script))
        .route("/logout", post(signin::logout))
        .route("/static/app.css", get(stylesheet))
        .fallback(not_found)
        .layer(axum::middleware::map_response_with_state(
            Arc::new(Headers::of(&ctx)),
            security_headers,
        ))
        .with_state(ctx.clone());
    let hosts = crate::http::host::AllowedHosts::new(
        ctx.config.web.listen,
        Some(&ctx.config.web.public_url),
    );
    crate::http::guarded(app, Arc::new(hosts), BODIES)
}

/// The dashboard's bodies: forms of a few hundred bytes, and the Mini
/// App's launch data.
const BODIES: crate::http::body::BodyBounds =
    crate::http::body::BodyBounds::with_paths(&[("/login/miniapp", MINIAPP_BODY_LIMIT)]);

/// The headers every response carries that depend on the configuration.
#[derive(Debug)]
struct Headers {
    /// Content-Security-Policy: no inline script or style, framed only by
    /// this site and `web.frame_ancestors` (Telegram's web client).
    csp: HeaderValue,
    /// Served over https: HSTS too.
    https: bool,
}

impl Headers {
    fn of(ctx: &WebContext) -> Self {
        let ancestors = ctx.config.web.frame_ancestors.join(" ");
        let csp = format!(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'self' {ancestors}"
        );
        Self {
            // The origins were checked when the configuration loaded; a
            // value that still does not fit a header frames nothing.
            csp: HeaderValue::from_str(csp.trim_end()).unwrap_or_else(|_| {
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
                     form-action 'self'; base-uri 'none'; frame-ancestors 'self'",
                )
            }),
            https: ctx.https(),
        }
    }
}

/// Every response: no framing by other sites (Telegram's Mini App web
/// client excepted; `X-Frame-Options` for browsers without
/// `frame-ancestors`), no inline script or style, no referrer (the sign-in
/// link's token never leaves in a Referer header), no sniffing, HSTS over
/// https, and nothing cached unless the handler said it may be (the
/// static assets).
async fn security_headers(State(conf): State<Arc<Headers>>, mut response: Response) -> Response {
    let https = conf.https;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, conf.csp.clone());
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The page Telegram opens for the "Open dashboard" button: its script
/// posts the launch data to `/login/miniapp`.
async fn miniapp_page(State(ctx): State<WebContext>) -> Response {
    if ctx.config.bot_token.is_none() {
        return not_found().await.into_response();
    }
    axum::response::Html(pages::miniapp().into_string()).into_response()
}

/// How long browsers may keep the static assets: an hour, so a new
/// version reaches everyone within one.
const STATIC_CACHE: &str = "public, max-age=3600";

/// The Mini App's script (served, never inline, under the CSP).
async fn miniapp_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, STATIC_CACHE),
        ],
        include_str!("miniapp.js"),
    )
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
            (header::CACHE_CONTROL, STATIC_CACHE),
        ],
        include_str!("app.css"),
    )
}

async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, "Not found.")
}

/// Serve the dashboard on `listener` until `shutdown`, at most
/// `max_connections` at once, with the same connection timeouts as health
/// and metrics.
pub async fn serve(
    listener: tokio::net::TcpListener,
    ctx: WebContext,
    max_connections: usize,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    crate::http::serve_router(
        listener,
        router(ctx),
        crate::http::Timeouts::default(),
        max_connections,
        shutdown,
    )
    .await
}
