//! The daemon, assembled from its configuration in one place.
//!
//! [`App::build`] is what `dipwatch run` starts, and what the integration
//! tests and benchmarks start too (with [`App::build_with`] when they bring
//! their own market), so they exercise the daemon's real wiring rather than
//! a copy of it: the store, the metrics, the runner and its state, the HTTP
//! listener and the alert runtime. Front ends (the bot today, a dashboard
//! next) are handed parts of the built app; none builds its own.
//!
//! Building does no slow work and sends nothing: it opens the store, binds
//! the listener (so an address in use fails before anything runs) and reads
//! the alert book. [`App::run_until_stopped`] then serves health first,
//! loads the state, and runs the schedule and the bot until shutdown.

mod systemd;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::alerts::{AlertService, AlertSettings};
use crate::alpaca::AlpacaClient;
use crate::bot::BotContext;
use crate::config::{AppConfig, ConfigError};
use crate::health::Health;
use crate::lease::{Lease, Role, Status};
use crate::market::{Broker, MarketData};
use crate::metrics::Metrics;
use crate::runner::{Runner, RunnerParts};
use crate::state::{AppState, Snapshot};
use crate::store::{Store, StoreError};

/// How long a run in progress may finish after a shutdown signal.
const RUN_GRACE: Duration = Duration::from_secs(5);
/// How long the whole stop may take from the signal (the README promises
/// exit within 10 s); the bot answers what it fetched inside it.
const STOP_BUDGET: Duration = Duration::from_secs(9);
/// How often a standby looks for newly published dates, at most.
const STANDBY_POLL: Duration = Duration::from_secs(30);
/// Staging files older than this are a killed writer's leftovers.
const STAGING_MAX_AGE: Duration = Duration::from_secs(600);

/// Where prices and the account come from.
#[derive(Clone)]
pub struct Sources {
    /// Daily bars, the calendar and the clock.
    pub market: Arc<dyn MarketData>,
    /// The account and positions (`None`: no account side).
    pub broker: Option<Arc<dyn Broker>>,
}

impl Sources {
    /// The sources `market.provider` selects (Alpaca or the simulation).
    pub fn connect(config: &AppConfig) -> anyhow::Result<Self> {
        Ok(Self::connected(config)?.0)
    }

    /// [`Sources::connect`] and Alpaca's client (no trading on the simulation).
    fn connected(config: &AppConfig) -> anyhow::Result<(Self, Option<Arc<AlpacaClient>>)> {
        crate::trading::build::refuse_sim(config)?;
        let c = crate::provider::connect(&config.market, &config.universe, &config.secrets)?;
        let (market, broker) = (c.market, c.broker);
        Ok((Self { market, broker }, c.alpaca))
    }
}

/// The assembled daemon. Cheap handles to its parts are public so that
/// front ends and tests reach the same runner, state and alert runtime.
pub struct App {
    config: Arc<AppConfig>,
    sources: Sources,
    store: Store,
    metrics: Arc<Metrics>,
    health: Health,
    runner: Runner,
    alerts: Option<AlertService>,
    /// Taken by [`App::run_until_stopped`].
    listener: Option<TcpListener>,
    /// Sign-in state, shared by the bot (`/web` issues links) and the dashboard.
    web_auth: Arc<crate::access::WebAuth>,
    /// The dashboard's listener, when the dashboard is on; taken by
    /// [`App::spawn_web`].
    web_listener: Option<TcpListener>,
    /// The alert runtime as the dashboard sees it: set once
    /// [`App::load_state`] opens it, which may be after the dashboard
    /// started serving (it answers while the state loads).
    web_alerts: Arc<std::sync::OnceLock<AlertService>>,
    /// Manual runs' cooldown: one for the bot's `/trigger` and the
    /// dashboard's "Run now", so neither can be used to bypass the other.
    trigger_cooldown: Arc<crate::trigger::Cooldown>,
    /// The dashboard's figures drawn once per snapshot (kept here so every
    /// `web_context` shares them).
    web_figures: Arc<crate::web::SnapshotFigures>,
    /// Connections served at once: the dashboard's, health and metrics'
    /// (from the open-file limit in force when built, see `http::fds`).
    connection_caps: (usize, usize),
    /// The store's writer lease (`None` with `lease.enabled = false`):
    /// its fence guards every write of `store`, armed by
    /// [`App::run_until_stopped`].
    lease: Option<Arc<Lease>>,
    /// Orders, when `trading.enabled` and the provider trades (Alpaca).
    trading: Option<crate::trading::Trading>,
    /// The audit journal in the store.
    journal: crate::journal::Journal,
}

impl App {
    /// Build the daemon `config` describes, with the sources it selects.
    pub async fn build(config: AppConfig) -> anyhow::Result<Self> {
        let (sources, client) = Sources::connected(&config)?;
        let mut app = Self::build_with(config, sources).await?;
        app.trading = client.and_then(|c| crate::trading::with_client(&app.config, &app.store, c));
        Ok(app)
    }

    /// Trade through `trading` (tests bring a service over a fake broker).
    pub fn set_trading(&mut self, trading: Option<crate::trading::Trading>) {
        self.trading = trading;
    }

    /// Build with the given sources (tests bring a gated or failing market).
    pub async fn build_with(mut config: AppConfig, sources: Sources) -> anyhow::Result<Self> {
        let web_auth = Arc::new(crate::access::WebAuth::default());
        let web_listener = match web_served(&config) {
            true => Some(bind("web.listen", config.web.listen).await?),
            false => None,
        };
        // Without a public URL, links point at the address actually bound
        // (the port the system chose, when web.listen asked for port 0).
        if config.web.public_url_from_listen
            && let Some(addr) = web_listener.as_ref().and_then(|l| l.local_addr().ok())
            && let Ok(url) = url::Url::parse(&format!("http://{addr}"))
        {
            config.web.public_url = url;
        }
        let config = Arc::new(config);
        let store = open_store(&config).await?;
        let lease = config
            .lease
            .enabled
            .then(|| Lease::new(store.lease_target(), &config.lease, "run"));
        let store = match &lease {
            Some(l) => store.fenced(l.fence()),
            None => store,
        };
        store.sweep_staging(STAGING_MAX_AGE);
        let metrics = Arc::new(Metrics::new());
        let journal =
            crate::journal::Journal::new(store.clone()).counting(metrics.journal_audit_failures());
        if let Some(counters) = sources.market.request_stats() {
            metrics.declare_breakers(counters.breakers.keys());
        }
        let state = AppState::new(Snapshot {
            provider: sources.market.provider().to_string(),
            simulated: sources.market.is_simulated(),
            ..Snapshot::default()
        });
        let runner = Runner::new(RunnerParts {
            settings: Arc::new(run_settings(&config)),
            market: sources.market.clone(),
            broker: sources.broker.clone(),
            store: store.clone(),
            state,
            metrics: metrics.clone(),
        });
        let listener = bind("http.listen", config.http.listen).await?;
        let health = Health::default();
        let trigger_cooldown = Arc::new(crate::trigger::Cooldown::new(Duration::from_secs(
            config.telegram.trigger_cooldown_secs,
        )));
        let connection_caps = crate::http::fds::connection_caps(
            crate::http::fds::nofile_soft(),
            config.web.max_connections,
        );
        Ok(Self {
            config,
            sources,
            store,
            metrics,
            health,
            runner,
            alerts: None,
            listener: Some(listener),
            web_auth,
            web_listener,
            web_alerts: Arc::default(),
            trigger_cooldown,
            web_figures: Arc::default(),
            connection_caps,
            lease,
            trading: None,
            journal,
        })
    }

    /// The audit journal in the store.
    pub fn journal(&self) -> &crate::journal::Journal {
        &self.journal
    }

    /// The configuration the app was built from.
    pub fn config(&self) -> &Arc<AppConfig> {
        &self.config
    }

    /// The runner: single-flight runs, the state snapshot.
    pub fn runner(&self) -> &Runner {
        &self.runner
    }

    /// The data lake.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Where figures go.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The alert runtime, when the bot that delivers alerts is configured
    /// (opened by [`App::load_state`]).
    pub fn alerts(&self) -> Option<&AlertService> {
        self.alerts.as_ref()
    }

    /// The address health and metrics are served on (the bound port when
    /// `http.listen` asked for port 0).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.listener.as_ref()?.local_addr().ok()
    }

    /// The dashboard's sign-in state (the bot's `/web` issues links from it).
    pub fn web_auth(&self) -> &Arc<crate::access::WebAuth> {
        &self.web_auth
    }

    /// The address the dashboard is served on, when it is on.
    pub fn web_addr(&self) -> Option<SocketAddr> {
        self.web_listener.as_ref()?.local_addr().ok()
    }

    /// What the dashboard's handlers read.
    pub fn web_context(&self) -> crate::web::WebContext {
        let config = &self.config;
        crate::web::WebContext {
            config: Arc::new(crate::web::WebConfig {
                web: config.web.clone(),
                screen: config.screen,
                universe: config.universe.clone(),
                access: config.access.clone(),
                bot_token: config
                    .secrets
                    .telegram_token
                    .as_ref()
                    .map(|t| t.value.clone()),
                backtest: crate::backtest::Setup::of(config),
            }),
            runner: self.runner.clone(),
            auth: self.web_auth.clone(),
            bot_configured: bot_enabled(&self.config),
            alerts: self.web_alerts.clone(),
            trigger_cooldown: self.trigger_cooldown.clone(),
            figures: self.web_figures.clone(),
            metrics: self.metrics.clone(),
            trading: self.trading.clone(),
            journal: self.journal.clone(),
        }
    }

    /// Serve the dashboard until `shutdown`, when it is on (once).
    pub fn spawn_web(
        &mut self,
        shutdown: &CancellationToken,
    ) -> Option<tokio::task::JoinHandle<std::io::Result<()>>> {
        let listener = self.web_listener.take()?;
        tracing::info!(
            web = %self.config.web.listen,
            public_url = %self.config.web.public_url,
            max_connections = self.connection_caps.0,
            "dashboard on"
        );
        Some(tokio::spawn(crate::web::serve(
            listener,
            self.web_context(),
            self.connection_caps.0,
            shutdown.clone(),
        )))
    }

    /// What the bot is handed: the same runner, broker, metrics and alerts.
    pub fn bot_context(&self) -> BotContext {
        BotContext {
            config: Arc::new(bot_config(&self.config)),
            runner: self.runner.clone(),
            broker: self.sources.broker.clone(),
            metrics: self.metrics.clone(),
            alerts: self.alerts.clone(),
            web: web_served(&self.config).then(|| self.web_auth.clone()),
            trigger_cooldown: self.trigger_cooldown.clone(),
            trading: self.trading.clone(),
            journal: self.journal.clone(),
        }
    }

    /// Read the store into the state, then open the alert runtime on it
    /// (when the bot that delivers alerts is configured): the stored screen
    /// is the rules' baseline, so the next run's screen is evaluated against
    /// it, never missed. Failures are logged (and `/readyz` reports them): a
    /// daemon with an unreadable store still starts.
    pub async fn load_state(&mut self) {
        if let Err(e) = self.runner.reload_state().await {
            tracing::error!(error = %e, "could not read the store at start; /readyz reports it");
        }
        if self.alerts.is_none() && bot_enabled(&self.config) {
            let alerts = self.open_alerts().await;
            let _ = self.web_alerts.set(alerts.clone());
            self.alerts = Some(alerts);
        }
    }

    /// The alert runtime for every configured chat over the loaded state,
    /// its digests on the provider's trading days, registered with
    /// `/readyz` (a book that cannot be read turns alerts off, and says so).
    async fn open_alerts(&self) -> AlertService {
        let alerts = AlertService::open(
            self.store.clone(),
            crate::bot::alerts::render(),
            &AlertSettings::new(
                &self.config.telegram,
                &self.config.alerts,
                self.config.schedule.tz,
                &self.config.access,
            ),
            &self.runner.state().snapshot(),
        )
        .await;
        // Digests go out on the trading days the schedule collects on.
        alerts.use_calendar(crate::market::session_calendar::SessionCalendar::new(
            self.sources.market.clone(),
        ));
        let probe = alerts.clone();
        self.health.register(
            "alerts",
            Arc::new(move || probe.problem().map(str::to_string)),
        );
        alerts
    }

    /// Serve health and metrics and the dashboard, tell systemd READY, then
    /// take the store's writer lease: while another process holds it, stand
    /// by (serve what is stored, read-only); while this one holds it, run
    /// the schedule (catch-up first), the alerts and the bot, until
    /// `shutdown` is cancelled or the lease is lost (then stand by again).
    /// Stop in order within the stop budget: the duties (a run in progress
    /// gets a bounded grace; nothing partial is published), the lease
    /// (released), HTTP.
    pub async fn run_until_stopped(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let listener = self
            .listener
            .take()
            .ok_or_else(|| anyhow::anyhow!("the app was already run"))?;
        let http_addr = listener.local_addr().unwrap_or(self.config.http.listen);
        let http_ctx = crate::ops_server::OpsContext {
            runner: self.runner.clone(),
            metrics: self.metrics.clone(),
            health: self.health.clone(),
            hosts: Arc::new(crate::http::host::AllowedHosts::new(http_addr, None)),
            max_connections: self.connection_caps.1,
            lease: self.lease.as_ref().map(|l| l.subscribe()),
        };
        let http = tokio::spawn(crate::ops_server::serve(
            listener,
            http_ctx,
            shutdown.clone(),
        ));
        let market = &self.sources.market;
        tracing::info!(
            provider = market.provider(),
            simulated = market.is_simulated(),
            store = self.store.url(),
            symbols = self.config.universe.len(),
            http = %self.config.http.listen,
            "dipwatch starting"
        );
        let web = self.spawn_web(&shutdown);
        // Nothing is written until the lease is taken: arm the fence first.
        let keeper = self.lease.clone().map(|lease| {
            lease.fence().close();
            tokio::spawn(lease.keep(shutdown.clone()))
        });
        systemd::notify_systemd_ready();
        let watchdog = tokio::spawn(systemd::pet_watchdog(shutdown.clone()));
        let (finished, stop_by) = self.serve_roles(&shutdown).await?;
        let stopped = tokio::time::timeout_at(stop_by, async {
            let _ = watchdog.await;
            if let Some(k) = keeper {
                let _ = k.await;
            }
            if let Some(w) = web
                && let Ok(Err(e)) = w.await
            {
                tracing::warn!(error = %e, "dashboard server");
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
        tracing::info!(run_finished = finished, "stopped");
        Ok(())
    }

    /// Be primary or standby as the lease says, until `shutdown`; whether
    /// the last run in progress finished within its grace, and when the
    /// whole stop must be over (the stop budget from the signal).
    async fn serve_roles(
        &mut self,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<(bool, tokio::time::Instant)> {
        let Some(lease) = self.lease.clone() else {
            // No lease: the one writer, as before there was one.
            self.metrics.set_role(Role::Primary);
            self.load_state().await;
            let duties = self.start_duties(shutdown)?;
            shutdown.cancelled().await;
            let stop_by = stopping();
            return Ok((self.stop_duties(duties, stop_by).await, stop_by));
        };
        let mut status = lease.subscribe();
        let mut promoted_before = false;
        loop {
            if !self.stand_by(&mut status, shutdown).await {
                return Ok((true, stopping()));
            }
            self.metrics.set_role(Role::Primary);
            if promoted_before && let Some(alerts) = &self.alerts {
                // The other holder may have changed the book meanwhile.
                alerts.reread().await;
            }
            promoted_before = true;
            // Catch up: what the other holder published, then the schedule's
            // catch-up of what it did not.
            self.load_state().await;
            let duties_token = shutdown.child_token();
            let duties = self.start_duties(&duties_token)?;
            tokio::select! {
                () = shutdown.cancelled() => {}
                _ = status.wait_for(|s| s.role == Role::Standby) => {
                    // Said at once, as /readyz does: stopping the duties
                    // below may take a while, and this process no longer
                    // writes meanwhile (its fence is closed).
                    self.metrics.set_role(Role::Standby);
                }
            }
            duties_token.cancel();
            let stop_by = tokio::time::Instant::now() + STOP_BUDGET;
            let stop_by = if shutdown.is_cancelled() {
                stopping()
            } else {
                stop_by
            };
            let finished = self.stop_duties(duties, stop_by).await;
            if shutdown.is_cancelled() {
                return Ok((finished, stop_by));
            }
        }
    }

    /// Wait, serving the store read-only, until this process holds the
    /// lease (true) or `shutdown` (false). The state is read again whenever
    /// the published dates change (the holder published).
    async fn stand_by(
        &self,
        status: &mut watch::Receiver<Status>,
        shutdown: &CancellationToken,
    ) -> bool {
        if status.borrow().role == Role::Primary {
            return true;
        }
        self.metrics.set_role(Role::Standby);
        tracing::info!(
            "standby: waiting for the store's writer lease; serving the dashboard and health read-only, no collection, no bot"
        );
        let poll = self
            .lease
            .as_ref()
            .map_or(STANDBY_POLL, |l| l.settings().ttl().min(STANDBY_POLL));
        let mut published = None;
        loop {
            let lake = crate::store::Lake::new(self.store.clone());
            let dates = lake.dates(None, None).await.ok();
            if dates.is_some() && dates != published {
                if let Err(e) = self.runner.reload_state().await {
                    tracing::warn!(error = %e, "standby: could not read the store");
                }
                published = dates;
            }
            tokio::select! {
                () = shutdown.cancelled() => return false,
                r = status.wait_for(|s| s.role == Role::Primary) => return r.is_ok(),
                () = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// Start what only the lease holder runs: the alerts, the bot, the
    /// order follower, the schedule (catch-up first), until `token` is cancelled.
    fn start_duties(&self, token: &CancellationToken) -> anyhow::Result<Duties> {
        Ok(Duties {
            alerts: self
                .alerts
                .as_ref()
                .map(|a| a.spawn(self.runner.state().clone(), token.clone())),
            bot: self.start_bot(token)?,
            follower: self
                .trading
                .as_ref()
                .map(|t| t.spawn_follower(token.clone())),
            schedule: tokio::spawn(crate::schedule::run(
                self.runner.clone(),
                self.sources.market.clone(),
                self.config.schedule.clone(),
                token.clone(),
            )),
        })
    }

    /// Stop the duties (their token is cancelled): a run in progress gets
    /// its grace, the rest the stop budget. Whether the run finished.
    async fn stop_duties(&self, duties: Duties, stop_by: tokio::time::Instant) -> bool {
        let finished = self.runner.shutdown(RUN_GRACE).await;
        let stopped = tokio::time::timeout_at(stop_by, async {
            let _ = duties.schedule.await;
            let tasks = [duties.bot, duties.alerts, duties.follower];
            for task in tasks.into_iter().flatten() {
                let _ = task.await;
            }
        })
        .await;
        if stopped.is_err() {
            tracing::warn!("the schedule, the bot or the alerts did not stop in time");
        }
        finished
    }

    /// Start the Telegram bot (which also delivers the alerts) when it is
    /// configured.
    fn start_bot(
        &self,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
        if !self.config.telegram.enabled {
            tracing::info!("Telegram bot disabled (telegram.enabled = false)");
            return Ok(None);
        }
        let Some(token) = &self.config.secrets.telegram_token else {
            tracing::info!(
                "Telegram bot not started: TELOXIDE_TOKEN is not set (env, TELOXIDE_TOKEN_FILE or $CREDENTIALS_DIRECTORY)"
            );
            return Ok(None);
        };
        let api_url = crate::bot::api_url_from_env().map_err(anyhow::Error::msg)?;
        Ok(Some(tokio::spawn(crate::bot::run(
            self.bot_context(),
            token.value.clone(),
            api_url,
            shutdown.clone(),
        ))))
    }
}

/// Say the daemon is stopping (log, systemd); when the stop must be over.
fn stopping() -> tokio::time::Instant {
    tracing::info!("shutting down");
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    tokio::time::Instant::now() + STOP_BUDGET
}

/// The tasks only the lease holder runs.
struct Duties {
    alerts: Option<tokio::task::JoinHandle<()>>,
    bot: Option<tokio::task::JoinHandle<()>>,
    follower: Option<tokio::task::JoinHandle<()>>,
    schedule: tokio::task::JoinHandle<()>,
}

/// Whether the dashboard is served: with a bot to sign in through, or in
/// anonymous loopback mode.
fn web_served(config: &AppConfig) -> bool {
    bot_enabled(config) || config.web.anonymous_loopback
}

/// Listen on `addr`; an address that cannot be had is a configuration
/// error naming `key` (exit 2, no restart loop under systemd).
async fn bind(key: &str, addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| ConfigError::Unusable(format!("{key}: cannot listen on {addr}: {e}")).into())
}

/// Whether the bot (and so the alerts it delivers) runs.
fn bot_enabled(config: &AppConfig) -> bool {
    config.telegram.enabled && config.secrets.telegram_token.is_some()
}

/// What a collection run takes from `config`.
pub fn collect_settings(config: &AppConfig) -> crate::collect::CollectSettings {
    crate::collect::CollectSettings::new(
        &config.universe,
        config.benchmark_only(),
        &config.screen,
        &config.portfolio,
        &config.market,
    )
}

/// What the bot takes from `config`: its sections, the universe, where
/// `/web` links point, the allow-lists and the backtest's pieces.
pub fn bot_config(config: &AppConfig) -> crate::bot::BotConfig {
    crate::bot::BotConfig {
        telegram: config.telegram.clone(),
        screen: config.screen,
        portfolio: config.portfolio.clone(),
        universe: config.universe.clone(),
        web_public_url: config.web.public_url.clone(),
        access: config.access.clone(),
        backtest: crate::backtest::Setup::of(config),
    }
}

/// What the runner takes from `config`: a collection's settings, the
/// history held in memory, the risk view's parameters.
pub fn run_settings(config: &AppConfig) -> crate::runner::RunSettings {
    crate::runner::RunSettings {
        collect: collect_settings(config),
        history: config.history.clone(),
        risk: crate::risk::RiskParams::new(
            &config.risk,
            &config.backtest,
            &config.portfolio,
            &config.universe,
        ),
    }
}

/// Open the configured store (a local directory is created). A store that
/// cannot be opened is a configuration error (exit 2), naming `storage.url`.
pub async fn open_store(config: &AppConfig) -> anyhow::Result<Store> {
    Store::open(&config.storage.url, &config.storage.options)
        .await
        .map_err(store_error)
}

/// Open the configured store only to read it: a local directory that does
/// not exist is an error, never created empty.
pub async fn open_store_to_read(config: &AppConfig) -> anyhow::Result<Store> {
    Store::open_existing(&config.storage.url, &config.storage.options)
        .await
        .map_err(store_error)
}

/// Settings the store refuses are configuration errors; anything else
/// (an unreachable backend, a corrupt schema) stays a failure.
fn store_error(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::Config(m) => ConfigError::Unusable(m).into(),
        other => other.into(),
    }
}
