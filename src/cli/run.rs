//! `dipwatch run`: the daemon. HTTP health and metrics come up first, the
//! state is loaded from the store, systemd is told READY (and petted if it
//! set a watchdog), then the schedule (catch-up first) and the Telegram bot
//! run until SIGINT or SIGTERM. Shutdown cancels one token: the schedule
//! stops, a run in progress gets a bounded grace period (nothing partial is
//! ever published), the bot stops polling, HTTP closes, exit 0.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::open_store;
use crate::config::AppConfig;
use crate::metrics::Metrics;
use crate::runner::{Runner, RunnerParts};
use crate::schedule::ScheduleSettings;
use crate::state::{AppState, Snapshot};

/// How long a run in progress may finish after a shutdown signal.
const RUN_GRACE: Duration = Duration::from_secs(5);
/// How long the whole stop may take from the signal (the README promises
/// exit within 10 s); the bot answers what it fetched inside it.
const STOP_BUDGET: Duration = Duration::from_secs(9);

/// Run the daemon until a shutdown signal; exit 0.
pub async fn run(config: &AppConfig) -> anyhow::Result<ExitCode> {
    let config = Arc::new(config.clone());
    let connected = crate::market::connect(&config)?;
    let store = open_store(&config).await?;
    store.sweep_staging(Duration::from_secs(600));
    let metrics = Arc::new(Metrics::new());
    let state = AppState::new(Snapshot {
        provider: connected.market.provider().to_string(),
        simulated: connected.market.is_simulated(),
        ..Snapshot::default()
    });
    let runner = Runner::new(RunnerParts {
        config: config.clone(),
        market: connected.market.clone(),
        broker: connected.broker.clone(),
        store: store.clone(),
        state,
        metrics: metrics.clone(),
    });
    let shutdown = CancellationToken::new();
    let signals = tokio::spawn(forward_signals(shutdown.clone()));

    let listener = tokio::net::TcpListener::bind(config.http_listen)
        .await
        .map_err(|e| {
            crate::config::ConfigError::Unusable(format!(
                "http.listen: cannot listen on {}: {e}",
                config.http_listen
            ))
        })?;
    let health = crate::health::Health::default();
    let http_ctx = crate::http::HttpContext {
        runner: runner.clone(),
        metrics: metrics.clone(),
        health: health.clone(),
    };
    let http = tokio::spawn(crate::http::serve(listener, http_ctx, shutdown.clone()));
    tracing::info!(
        provider = connected.market.provider(),
        simulated = connected.market.is_simulated(),
        store = store.url(),
        symbols = config.universe.len(),
        http = %config.http_listen,
        "dipwatch starting"
    );

    if let Err(e) = runner.reload_state().await {
        tracing::error!(error = %e, "could not read the store at start; /readyz reports it");
    }
    notify_systemd_ready();
    let watchdog = tokio::spawn(pet_watchdog(shutdown.clone()));

    // The bot (and its alerts) before the schedule: the alert rules take
    // the stored screen as their baseline first, so the catch-up run's
    // screen is evaluated against it, never missed.
    let bot_tasks = start_bot(
        &config,
        &runner,
        connected.broker.clone(),
        &metrics,
        &store,
        &health,
        &shutdown,
    )
    .await?;

    let schedule = tokio::spawn(crate::schedule::run(
        runner.clone(),
        connected.market.clone(),
        ScheduleSettings {
            cron: config.collect_cron.clone(),
            tz: config.timezone,
            retry_interval: Duration::from_secs(config.settings.schedule.retry_interval_secs),
            retry_window: Duration::from_secs(config.settings.schedule.retry_window_secs),
        },
        shutdown.clone(),
    ));

    shutdown.cancelled().await;
    tracing::info!("shutting down");
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    let stop_by = tokio::time::Instant::now() + STOP_BUDGET;
    let finished = runner.shutdown(RUN_GRACE).await;
    let stopped = tokio::time::timeout_at(stop_by, async {
        let _ = schedule.await;
        let _ = watchdog.await;
        for task in bot_tasks {
            let _ = task.await;
        }
        match http.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "http server"),
            Err(e) => tracing::warn!(error = %e, "http task"),
            Ok(Ok(())) => {}
        }
    })
    .await;
    if stopped.is_err() {
        tracing::warn!("some tasks did not stop in time");
    }
    signals.abort();
    tracing::info!(run_finished = finished, "stopped");
    Ok(ExitCode::SUCCESS)
}

/// Start the Telegram bot and the alert runtime it delivers (its tasks)
/// when `telegram.enabled` is true and `TELOXIDE_TOKEN` is set.
async fn start_bot(
    config: &Arc<AppConfig>,
    runner: &Runner,
    broker: Option<Arc<dyn crate::market::Broker>>,
    metrics: &Arc<Metrics>,
    store: &crate::store::Store,
    health: &crate::health::Health,
    shutdown: &CancellationToken,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    if !config.settings.telegram.enabled {
        tracing::info!("Telegram bot disabled (telegram.enabled = false)");
        return Ok(Vec::new());
    }
    let Some(token) = &config.secrets.telegram_token else {
        tracing::info!(
            "Telegram bot not started: TELOXIDE_TOKEN is not set (env, TELOXIDE_TOKEN_FILE or $CREDENTIALS_DIRECTORY)"
        );
        return Ok(Vec::new());
    };
    let api_url = crate::bot::api_url_from_env().map_err(anyhow::Error::msg)?;
    let alerts = crate::alerts::AlertService::open(
        store.clone(),
        crate::bot::alerts::render(),
        &crate::alerts::AlertSettings::from_config(config),
        &runner.state().snapshot(),
    )
    .await;
    // A book that cannot be read turns alerts off: /readyz says so.
    let probe = alerts.clone();
    health.register(
        "alerts",
        Arc::new(move || probe.problem().map(str::to_string)),
    );
    let alerts_task = alerts.spawn(runner.state().clone(), shutdown.clone());
    let ctx = crate::bot::BotContext {
        config: config.clone(),
        runner: runner.clone(),
        broker,
        metrics: metrics.clone(),
        alerts: Some(alerts),
    };
    let bot = tokio::spawn(crate::bot::run(
        ctx,
        token.value.clone(),
        api_url,
        shutdown.clone(),
    ));
    Ok(vec![bot, alerts_task])
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

/// Tell systemd (Type=notify) we are up; a no-op elsewhere.
fn notify_systemd_ready() {
    if let Err(e) = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]) {
        tracing::warn!(error = %e, "sd_notify READY failed");
    }
}

/// Pet systemd's watchdog at half its interval, from the runtime itself, so
/// a wedged runtime gets restarted.
async fn pet_watchdog(shutdown: CancellationToken) {
    let mut usec = 0u64;
    if !sd_notify::watchdog_enabled(false, &mut usec) || usec == 0 {
        return;
    }
    let every = Duration::from_micros(usec / 2);
    tracing::info!(
        every_secs = every.as_secs_f64(),
        "petting the systemd watchdog"
    );
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {
                let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
            }
            () = shutdown.cancelled() => return,
        }
    }
}
