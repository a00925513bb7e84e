//! `dipwatch run`: the daemon. [`crate::app::App`] is built from the
//! configuration and runs until SIGINT or SIGTERM; shutdown cancels one
//! token, and the app stops in order (see [`crate::app::App::run_until_stopped`]),
//! exit 0. SIGHUP (`systemctl reload`) reads the configuration again and
//! applies its allow-lists at once; every other setting needs a restart.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use super::{open_store, probe_store};
use crate::app::App;
use crate::config::AppConfig;
use crate::journal::{EventKind, Journal, JournalEvent};
use crate::store::StorageUrl;

/// Run the daemon until a shutdown signal; exit 0. `file` is the
/// configuration file it was loaded from, read again on SIGHUP.
pub async fn run(config: &AppConfig, file: Option<&Path>) -> anyhow::Result<ExitCode> {
    // Before anything opens a file: the connection caps are derived from
    // the limit in force when the app is built.
    let nofile = crate::http::fds::raise_nofile();
    tracing::debug!(nofile, "open-file limit");
    let store = open_store(config).await?;
    if let Err(e) = probe_store(&store).await {
        if probe_failure_is_fatal(&config.storage.url) {
            return Err(e);
        }
        tracing::warn!(error = %e, "the store takes no writes now; runs retry it, /readyz reports it");
    }
    if config.lease.enabled {
        // A store that ignores conditional writes cannot keep a second
        // writer out: refused at start, never run unsafely.
        crate::lease::Lease::new(store.lease_target(), &config.lease, "run")
            .check_store()
            .await
            .map_err(|e| crate::config::ConfigError::Unusable(format!("storage.url: {e}")))?;
    }
    drop(store);
    let app = App::build(config.clone()).await?;
    if app.web_addr().is_none() {
        tracing::info!("{}", dashboard_off_hint(config));
    }
    let shutdown = CancellationToken::new();
    let signals = tokio::spawn(forward_signals(shutdown.clone()));
    // The app's configuration is a clone of `config`: they share the lists.
    let reloads = tokio::spawn(reload_on_hangup(
        config.clone(),
        file.map(Path::to_path_buf),
        app.journal().clone(),
    ));
    app.run_until_stopped(shutdown).await?;
    signals.abort();
    reloads.abort();
    Ok(ExitCode::SUCCESS)
}

/// Whether a store that takes no writes at start stops the daemon. A local
/// directory that cannot be written is a path or permission problem no
/// retry fixes: exit 2 (which systemd does not restart), as `collect` does,
/// instead of failing every scheduled run. An S3 store may only be out of
/// reach for now (the network at boot): the daemon starts, and its runs
/// retry and report it, as they always did.
fn probe_failure_is_fatal(storage: &StorageUrl) -> bool {
    matches!(storage, StorageUrl::Local(_))
}

/// Why the dashboard is off and how to turn it on: users sign in through
/// the Telegram bot, so without one it is served only in anonymous loopback
/// mode.
fn dashboard_off_hint(config: &AppConfig) -> String {
    let bot = if config.secrets.telegram_token.is_none() {
        "there is no bot token: set TELOXIDE_TOKEN (or TELOXIDE_TOKEN_FILE)"
    } else {
        "the bot is disabled: set telegram.enabled = true"
    };
    format!(
        "dashboard off: users sign in through the Telegram bot and {bot} to turn it on, \
         or set web.anonymous_loopback = true to serve read-only pages to this machine's \
         loopback on {}",
        config.web.listen
    )
}

/// On each SIGHUP, load the configuration again (the same file and the
/// process's environment) and replace the allow-lists the bot, the
/// dashboard and the alerts check, so a chat taken off them loses access
/// with its next request. A configuration that no longer loads changes
/// nothing and says why. Each reload is journalled (`access_reload`, by
/// `daemon`, with the counts or why it changed nothing).
async fn reload_on_hangup(config: AppConfig, file: Option<PathBuf>, journal: Journal) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: the allow-lists reload only on restart");
            return;
        };
        while hangups.recv().await.is_some() {
            let event = JournalEvent::command(EventKind::AccessReload, "daemon");
            let event = match AppConfig::load(file.as_deref()) {
                Ok(fresh) => {
                    config.access.replace_with(&fresh.access);
                    let (readers, admins) = config.access.counts();
                    let vars: Vec<String> = std::env::vars_os()
                        .filter_map(|(k, _)| k.into_string().ok())
                        .collect();
                    let fixed = crate::access::lists_fixed_by_env(vars.iter().map(String::as_str));
                    if fixed.is_empty() {
                        tracing::info!(
                            readers,
                            admins,
                            "SIGHUP: allow-lists reloaded (other settings take effect at the next restart)"
                        );
                    } else {
                        // The reload reads the same environment again, so
                        // these lists cannot change without a restart: a
                        // revocation the operator meant did not happen.
                        tracing::warn!(
                            readers,
                            admins,
                            variables = %fixed.join(", "),
                            "SIGHUP: allow-lists set in the environment cannot change on a reload; \
                             they stay as they were: move them to the configuration file, or restart \
                             with the new environment, to revoke a chat"
                        );
                    }
                    let counts = format!("{readers} readers, {admins} admins");
                    match fixed.is_empty() {
                        true => event.status("ok").reason(counts),
                        false => event.status("partial").reason(format!(
                            "{counts}; fixed by the environment: {}",
                            fixed.join(", ")
                        )),
                    }
                }
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        "SIGHUP: the configuration does not load; the allow-lists are unchanged"
                    );
                    event.status("refused").reason(e)
                }
            };
            journal.audit(event).await;
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (config, file, journal);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_local_store_that_takes_no_writes_stops_the_daemon() {
        assert!(probe_failure_is_fatal(&StorageUrl::Local("./data".into())));
        assert!(!probe_failure_is_fatal(&StorageUrl::S3 {
            bucket: "b".into(),
            prefix: "p".into(),
        }));
    }
}
