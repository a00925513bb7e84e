//! `dipwatch run`: the daemon. For now it catches up on the latest closed
//! session at start and then waits for SIGINT/SIGTERM; the scheduler, the
//! bot and the HTTP endpoints plug in here as they land.

use std::process::ExitCode;

use chrono::Utc;

use super::open_store;
use crate::collect::{Collector, Dates};
use crate::config::AppConfig;
use crate::domain::RunOutcome;

/// Start, catch up, wait for a shutdown signal, exit 0.
pub async fn run(config: &AppConfig) -> anyhow::Result<ExitCode> {
    let connected = crate::market::connect(config)?;
    let store = open_store(config).await?;
    tracing::info!(
        provider = connected.market.provider(),
        simulated = connected.market.is_simulated(),
        store = store.url(),
        symbols = config.universe.len(),
        "dipwatch starting"
    );
    let collector = Collector {
        config,
        market: connected.market.as_ref(),
        broker: connected.broker.as_deref(),
        store: &store,
    };
    // Catch-up: (re)publish the latest closed session. Re-running a
    // published day rewrites identical objects, so this is safe at every
    // start; the scheduler will make it conditional.
    let latest = store.published_dates().await?.dates.last().copied();
    tokio::select! {
        result = collector.run(Dates::Latest, Utc::now()) => match result {
            Ok(reports) => {
                for r in reports {
                    match r.outcome {
                        RunOutcome::Published => tracing::info!(date = %r.date, ranked = r.symbols.ok, previous = ?latest, "catch-up run published"),
                        _ => tracing::warn!(date = %r.date, reason = r.reason.as_deref(), "catch-up run published nothing"),
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "catch-up run failed"),
        },
        () = shutdown_signal() => {
            tracing::info!("shutdown during catch-up; nothing partial was published");
            return Ok(ExitCode::SUCCESS);
        }
    }
    tracing::info!("waiting (SIGINT or SIGTERM stops)");
    shutdown_signal().await;
    tracing::info!("shutting down");
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
