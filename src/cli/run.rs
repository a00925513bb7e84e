//! `dipwatch run`: the daemon. [`crate::app::App`] is built from the
//! configuration and runs until SIGINT or SIGTERM; shutdown cancels one
//! token, and the app stops in order (see [`crate::app::App::run_until_stopped`]),
//! exit 0.

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::AppConfig;

/// Run the daemon until a shutdown signal; exit 0.
pub async fn run(config: &AppConfig) -> anyhow::Result<ExitCode> {
    let app = App::build(config.clone()).await?;
    let shutdown = CancellationToken::new();
    let signals = tokio::spawn(forward_signals(shutdown.clone()));
    app.run_until_stopped(shutdown).await?;
    signals.abort();
    Ok(ExitCode::SUCCESS)
}

/// Cancel `token` on SIGINT or SIGTERM.
async fn forward_signals(token: CancellationToken) {
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
    // Cancel first, log second: nothing the log does can keep the signal
    // from stopping the daemon.
    let name = tokio::select! {
        () = ctrl_c => "SIGINT",
        () = term => "SIGTERM",
    };
    token.cancel();
    tracing::info!(signal = name, "stop requested");
}
