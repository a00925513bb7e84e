//! The operations server on `http.listen` (loopback by default), for
//! orchestrators and scrapers rather than people: `/healthz` (the process
//! answers), `/readyz` (state loaded, storage reachable, last run not
//! failed), `/metrics` (Prometheus text format). Nothing here exposes a
//! secret, a chat id or a path outside the store. It is served by the
//! shared plumbing of [`crate::http`], like the dashboard.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::domain::LastOutcome;
use crate::health::Health;
use crate::http::Timeouts;
use crate::metrics::Metrics;
use crate::runner::Runner;

/// What the handlers read.
#[derive(Clone)]
pub struct OpsContext {
    /// State and store.
    pub runner: Runner,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Other parts' readiness (the alert book).
    pub health: Health,
    /// The writer lease's role and holder (`None`: no lease, one writer).
    pub lease: Option<tokio::sync::watch::Receiver<crate::lease::Status>>,
    /// The host names this listener answers to.
    pub hosts: Arc<crate::http::host::AllowedHosts>,
    /// Connections served at once.
    pub max_connections: usize,
}

/// The router.
pub fn router(ctx: OpsContext) -> Router {
    let hosts = ctx.hosts.clone();
    crate::http::guarded(
        Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .with_state(ctx),
        hosts,
        crate::http::body::BodyBounds::default(),
    )
}

/// Serve on `listener` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    ctx: OpsContext,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let cap = ctx.max_connections;
    crate::http::serve_router(listener, router(ctx), Timeouts::default(), cap, shutdown).await
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
    /// What is shown may be simulated (the data says so).
    simulated: bool,
    problems: Vec<String>,
    /// Not reasons to be unready, but to look: simulated dates in the store
    /// of a real-market daemon, partitions ignored while loading, a circuit
    /// breaker that is not closed.
    warnings: Vec<String>,
    /// The provider client's circuit breakers by name (`data.bars`,
    /// `trading.account`, ...) and state (`closed`, `open`, `half_open`);
    /// empty for a provider without one (the simulated market).
    breakers: BTreeMap<String, &'static str>,
    /// `primary` (holds the store's writer lease) or `standby`.
    role: &'static str,
    /// The writer lease as last seen (holder, host, pid, until), or null.
    lease: serde_json::Value,
}

/// 200 when the state is loaded, the store answers within 2 s, the last
/// run (if any) did not fail and no registered [`Health`] probe reports a
/// problem (the alert book); 503 with the reasons otherwise.
async fn readyz(State(ctx): State<OpsContext>) -> Response {
    let snap = ctx.runner.state().snapshot();
    let mut problems = Vec::new();
    let state_loaded = snap.loaded_at.is_some();
    if !state_loaded {
        problems.push("state not loaded yet".to_string());
    }
    let lake = crate::store::Lake::new(ctx.runner.store().clone());
    let storage_reachable =
        match tokio::time::timeout(Duration::from_secs(2), lake.dates(None, None)).await {
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
    problems.extend(ctx.health.problems());
    // One dependency's breaker open is not the daemon being unready (the
    // others still answer, and the next run probes it): a warning.
    let breakers: BTreeMap<String, &'static str> = ctx
        .runner
        .market()
        .request_stats()
        .map(|c| {
            c.breakers
                .into_iter()
                .map(|(name, b)| (name, b.state.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let warnings = crate::state::simulated_warning(&snap)
        .into_iter()
        .chain(snap.load_warnings.iter().cloned())
        .chain(
            breakers
                .iter()
                .filter(|(_, state)| **state != "closed")
                .map(|(name, state)| format!("alpaca circuit breaker {name} is {state}")),
        )
        .collect();
    let body = Readiness {
        ready: problems.is_empty(),
        state_loaded,
        storage_reachable,
        last_run,
        latest_screen: snap.screen.as_ref().map(|s| s.date.to_string()),
        simulated: snap.simulated,
        problems,
        warnings,
        breakers,
        role: ctx
            .lease
            .as_ref()
            .map_or("primary", |l| l.borrow().role.as_str()),
        lease: ctx
            .lease
            .as_ref()
            .map_or(serde_json::Value::Null, |l| l.borrow().lease_json()),
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
async fn metrics(State(ctx): State<OpsContext>, headers: HeaderMap) -> Response {
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
