//! Health and metrics over HTTP (axum, `http.listen`, loopback by default):
//! `/healthz` (the process answers), `/readyz` (state loaded, storage
//! reachable, last run not failed), `/metrics` (Prometheus text format).
//! Nothing here exposes a secret, a chat id or a path outside the store.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::runner::Runner;
use crate::state::LastOutcome;

/// What the handlers read.
#[derive(Clone)]
pub struct HttpContext {
    /// State and store.
    pub runner: Runner,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
}

/// The router.
pub fn router(ctx: HttpContext) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(ctx)
}

/// Serve on `listener` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    ctx: HttpContext,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router(ctx))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

async fn healthz() -> &'static str {
    "ok\n"
}

#[derive(Serialize)]
struct Readiness {
    ready: bool,
    state_loaded: bool,
    storage_reachable: bool,
    last_run: Option<&'static str>,
    latest_screen: Option<String>,
    problems: Vec<String>,
}

/// 200 when the state is loaded, the store answers within 2 s, and the
/// last run (if any) did not fail; 503 with the reasons otherwise.
async fn readyz(State(ctx): State<HttpContext>) -> Response {
    let snap = ctx.runner.state().snapshot();
    let mut problems = Vec::new();
    let state_loaded = snap.loaded_at.is_some();
    if !state_loaded {
        problems.push("state not loaded yet".to_string());
    }
    let storage_reachable =
        match tokio::time::timeout(Duration::from_secs(2), ctx.runner.store().published_dates())
            .await
        {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                problems.push(format!("storage: {e}"));
                false
            }
            Err(_) => {
                problems.push("storage: no answer within 2 s".into());
                false
            }
        };
    problems.extend(crate::panics::problem(crate::panics::count()));
    let last_run = snap.last_run.as_ref().map(|r| r.outcome.label());
    if let Some(LastOutcome::Failed { reason }) = snap.last_run.as_ref().map(|r| &r.outcome) {
        problems.push(format!("last run failed: {reason}"));
    }
    let body = Readiness {
        ready: problems.is_empty(),
        state_loaded,
        storage_reachable,
        last_run,
        latest_screen: snap.screen.as_ref().map(|s| s.date.to_string()),
        problems,
    };
    let status = if body.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// OpenMetrics when the scraper asks for it (Prometheus does), the classic
/// text format otherwise.
async fn metrics(State(ctx): State<HttpContext>, headers: HeaderMap) -> Response {
    let wants_openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    if wants_openmetrics {
        (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            ctx.metrics.encode(),
        )
            .into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            ctx.metrics.encode_classic(),
        )
            .into_response()
    }
}
