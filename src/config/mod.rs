//! Settings: `config/default.toml` (compiled in), then an optional
//! `--config FILE`, then `DIPWATCH__SECTION__KEY` environment variables
//! (`layers.rs`). Secrets never come from TOML: only from the environment,
//! `NAME_FILE`, or systemd's `$CREDENTIALS_DIRECTORY` (`secrets.rs`).
//!
//! One file per `[section]`, each holding the section as written (serde),
//! the typed settings its consumer takes, and the check that turns one
//! into the other with errors naming the key. `AppConfig::from_settings`
//! assembles them; below the app's assembly (`app.rs`, `cli/`) modules
//! take the section(s) they use, not the whole [`AppConfig`] (the bot and
//! the backtest job are the two that still do).

mod alerts;
mod backtest;
mod error;
mod history;
mod http;
mod layers;
mod lease;
mod log;
mod market;
mod portfolio;
mod risk;
mod schedule;
mod screen;
mod secrets;
mod storage;
mod telegram;
mod trading;
mod universe;
mod web;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use self::alerts::AlertsSettings;
pub use self::backtest::BacktestSettings;
pub(crate) use self::backtest::UNIVERSE_BENCHMARK;
pub use self::error::{ConfigError, ConfigWarning};
pub use self::history::HistorySettings;
pub use self::http::Http;
use self::http::HttpSettings;
pub use self::lease::LeaseSettings;
pub use self::log::{LogFormat, LogSettings};
pub use self::market::{MarketSettings, Provider};
pub use self::portfolio::PortfolioSettings;
pub use self::risk::RiskSettings;
use self::schedule::ScheduleSettings;
pub use self::schedule::{Schedule, parse_cron};
pub use self::screen::Screen;
use self::screen::ScreenSettings;
pub use self::secrets::{Secret, SecretSource, Secrets};
pub use self::storage::Storage;
use self::storage::StorageSettings;
pub use self::telegram::TelegramSettings;
pub(crate) use self::telegram::is_telegram_chat_id;
pub use self::trading::{LIVE_TRADING_URL, TradingMode, TradingSettings};
pub use self::web::Web;
use self::web::WebSettings;
use crate::domain::Symbol;

/// Every section as layered from the sources (before checking): what
/// `check-config` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    /// `[storage]`.
    pub storage: StorageSettings,
    /// `[market]`.
    pub market: MarketSettings,
    /// `[screen]`.
    pub screen: ScreenSettings,
    /// `[portfolio]`.
    pub portfolio: PortfolioSettings,
    /// `[schedule]`.
    pub schedule: ScheduleSettings,
    /// `[telegram]`.
    pub telegram: TelegramSettings,
    /// `[alerts]`.
    pub alerts: AlertsSettings,
    /// `[web]`.
    pub web: WebSettings,
    /// `[history]`.
    pub history: HistorySettings,
    /// `[backtest]`.
    pub backtest: BacktestSettings,
    /// `[risk]`.
    pub risk: RiskSettings,
    /// `[trading]`: orders and their guards.
    pub trading: TradingSettings,
    /// `[http]`.
    pub http: HttpSettings,
    /// `[log]`.
    pub log: LogSettings,
    /// `[lease]`: the store's writer lease.
    #[serde(default)]
    pub lease: LeaseSettings,
    // A new section is a field here holding its settings as written,
    // checked in `AppConfig::from_settings` into a field of `AppConfig`;
    // its keys get defaults in config/default.toml.
}

/// The fully checked configuration the program runs on: one typed field
/// per section. The assembly (`App::build`, the commands in `cli/`) hands
/// each module the section(s) it uses.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// `[storage]`: where the data lake lives.
    pub storage: Storage,
    /// `[market]`: the provider and its client's settings.
    pub market: MarketSettings,
    /// `market.universe`, read: the symbols the screen ranks, the
    /// backtester buys from and the risk view averages.
    pub universe: Vec<Symbol>,
    /// `[screen]`: the drawdown engine's parameters and the default rows.
    pub screen: Screen,
    /// `[portfolio]`: the take-profit rule.
    pub portfolio: PortfolioSettings,
    /// `[schedule]`: the collection cron in its zone, the retries.
    pub schedule: Schedule,
    /// `[telegram]` as loaded (the lists the daemon reloads are in `access`).
    pub telegram: TelegramSettings,
    /// `[alerts]`: the default rules.
    pub alerts: AlertsSettings,
    /// `[web]`: the dashboard.
    pub web: Web,
    /// `[history]`: the bars held in memory.
    pub history: HistorySettings,
    /// `[backtest]`: the strategy and the benchmark.
    pub backtest: BacktestSettings,
    /// `[risk]`: the portfolio risk view.
    pub risk: RiskSettings,
    /// `[trading]`: orders and their guards (off by default).
    pub trading: TradingSettings,
    /// `[http]`: the health and metrics listener.
    pub http: Http,
    /// `[log]`.
    pub log: LogSettings,
    /// `[lease]`: one writer per store.
    pub lease: LeaseSettings,
    /// Secrets, redacted in `Debug`.
    pub secrets: Secrets,
    /// The allow-lists (`telegram.allowed_chat_ids`, `admin_chat_ids`) as
    /// the bot, the dashboard and the alerts check them: shared by every
    /// clone of this configuration and replaced when the daemon reloads
    /// them (SIGHUP), while `telegram` keeps the lists as loaded.
    pub access: crate::access::Access,
    /// Accepted settings that are probably mistakes.
    pub warnings: Vec<ConfigWarning>,
    /// The sections as given, for `check-config` to print.
    given: Settings,
}

impl AppConfig {
    /// Which of `symbols` (a price history's, say) are in the universe:
    /// the one definition the screen ranks, the backtester buys from, and
    /// the "universe" benchmark (the backtester's and the risk view's)
    /// averages, whether `backtest.benchmark = "universe"` is set in the
    /// configuration or on the command line. It is `market.universe`, the
    /// list as it is today: a benchmark ticker collected beside it (SPY)
    /// is never in it, nor is a name the lake holds from an older list.
    pub fn universe_mask(&self, symbols: &[Symbol]) -> Vec<bool> {
        let members: HashSet<&Symbol> = self.universe.iter().collect();
        symbols.iter().map(|s| members.contains(s)).collect()
    }

    /// The benchmark ticker when it is not in the universe: collected for
    /// the backtest (stored with the bars), left out of the screen.
    pub fn benchmark_only(&self) -> Option<Symbol> {
        self.backtest
            .benchmark_symbol()
            .filter(|b| !self.universe.contains(b))
    }

    /// Load from the process: defaults, `file`, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(file, std::env::vars().collect())
    }

    /// Load with an explicit environment (tests pass their own).
    pub fn load_with_env(
        file: Option<&Path>,
        env: HashMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let settings = layers::layered_settings(file, &env)?;
        let secrets = Secrets::load(&env)?;
        Self::from_settings(settings, secrets)
    }

    /// Check every section into its typed settings, in the order of
    /// config/default.toml's documentation; the first error names its key.
    fn from_settings(settings: Settings, secrets: Secrets) -> Result<Self, ConfigError> {
        let storage = settings.storage.parse()?;
        let universe = universe::read_universe(&settings.market.universe)?;
        settings.market.check()?;
        let screen = settings.screen.parse()?;
        settings.portfolio.check()?;
        settings.telegram.check()?;
        settings.alerts.check()?;
        settings.backtest.check()?;
        settings.history.check()?;
        settings.risk.check()?;
        settings.trading.check(&settings.market.trading_url)?;
        let (schedule, mut warnings) = settings.schedule.parse()?;
        let (http, http_warnings) = settings.http.parse()?;
        warnings.extend(http_warnings);
        let (web, web_warnings) = settings.web.parse(http.listen)?;
        warnings.extend(web_warnings);
        settings.log.check()?;
        warnings.extend(lease::check(&settings.lease)?);
        Ok(Self {
            storage,
            market: settings.market.clone(),
            universe,
            screen,
            portfolio: settings.portfolio.clone(),
            schedule,
            access: crate::access::Access::new(
                &settings.telegram.allowed_chat_ids,
                &settings.telegram.admin_chat_ids,
            ),
            telegram: settings.telegram.clone(),
            alerts: settings.alerts.clone(),
            web,
            history: settings.history.clone(),
            backtest: settings.backtest.clone(),
            risk: settings.risk.clone(),
            trading: settings.trading.clone(),
            http,
            log: settings.log.clone(),
            lease: settings.lease.clone(),
            secrets,
            warnings,
            given: settings,
        })
    }

    /// The effective configuration as TOML, every section as given,
    /// secrets shown only as "set (source)" or "not set", and
    /// secret-looking storage options redacted.
    pub fn redacted_toml(&self) -> String {
        let mut settings = self.given.clone();
        settings.storage.options = settings.storage.redacted_options();
        let mut out = toml::to_string(&settings)
            .unwrap_or_else(|e| format!("# cannot render settings: {e}\n"));
        out.push_str(&self.secrets.redacted_toml());
        out
    }
}
