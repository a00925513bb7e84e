//! Settings: `config/default.toml` (compiled in), then an optional
//! `--config FILE`, then `DIPWATCH__SECTION__KEY` environment variables.
//! Secrets never come from TOML: only from the environment, `NAME_FILE`, or
//! systemd's `$CREDENTIALS_DIRECTORY` (see [`Secrets`]).
//!
//! [`AppConfig::load`] parses every value at the edge (cron, time zone,
//! storage URL, universe file, URLs, listen address) so the rest of the
//! program works with typed values, and every error names the key.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;

use chrono_tz::Tz;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::domain::{Symbol, parse_universe};
use crate::screen::{PeakBasis, ScreenParams};
use crate::store::StorageUrl;
use crate::strategy::{ExitRules, Fill, PortfolioRule, Rebalance, Sizing};

/// The defaults, compiled into the binary so it runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Prefix of the environment overrides (`DIPWATCH__MARKET__PROVIDER=sim`).
pub const ENV_PREFIX: &str = "DIPWATCH";

/// A configuration problem, naming the key (or file) at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value is present but not acceptable.
    #[error("{key}: {message}")]
    Invalid {
        /// Dotted key, e.g. `schedule.collect`.
        key: String,
        /// What is wrong and what would be right.
        message: String,
    },
    /// The layered sources could not be read or do not fit the schema
    /// (unknown key, wrong type); the message names the key.
    #[error("{0}")]
    Layers(String),
    /// A setting is well-formed but what it points at cannot be used: a
    /// store that cannot be created or written, an address already in use.
    /// The message names the key.
    #[error("{0}")]
    Unusable(String),
    /// A secret source exists but cannot be read.
    #[error("{name}: {message}")]
    Secret {
        /// Variable name, e.g. `APCA_API_KEY_ID_FILE`.
        name: String,
        /// What failed (never the secret itself).
        message: String,
    },
}

/// A setting that is accepted but probably not what the user wants
/// (`check-config` prints it; the other commands log it at start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// Dotted key, e.g. `http.listen`.
    pub key: String,
    /// What the setting does and what would be safer.
    pub message: String,
}

impl std::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

fn warning(key: &str, message: impl Into<String>) -> ConfigWarning {
    ConfigWarning {
        key: key.to_string(),
        message: message.into(),
    }
}

/// Deserialize one of a fixed set of names, saying which names exist when
/// it is none of them ("\"simulated\" is not one of alpaca | sim"), where
/// serde's own message would name a Rust enum instead.
fn one_of<'de, D, T: Copy>(d: D, choices: &[(&str, T)]) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let name = String::deserialize(d)?;
    choices
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            serde::de::Error::custom(format!("{name:?} is not one of {}", names.join(" | ")))
        })
}

fn provider<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Provider, D::Error> {
    one_of(d, &[("alpaca", Provider::Alpaca), ("sim", Provider::Sim)])
}

fn log_format<'de, D: serde::Deserializer<'de>>(d: D) -> Result<LogFormat, D::Error> {
    one_of(
        d,
        &[
            ("auto", LogFormat::Auto),
            ("json", LogFormat::Json),
            ("text", LogFormat::Text),
        ],
    )
}

fn peak_basis<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PeakBasis, D::Error> {
    one_of(d, &[("high", PeakBasis::High), ("close", PeakBasis::Close)])
}

fn rebalance<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Rebalance, D::Error> {
    one_of(
        d,
        &[
            ("daily", Rebalance::Daily),
            ("weekly", Rebalance::Weekly),
            ("monthly", Rebalance::Monthly),
        ],
    )
}

fn sizing<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Sizing, D::Error> {
    one_of(
        d,
        &[
            ("equal", Sizing::Equal),
            ("inverse_vol", Sizing::InverseVol),
        ],
    )
}

fn fill<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Fill, D::Error> {
    one_of(d, &[("next_open", Fill::NextOpen), ("close", Fill::Close)])
}

/// Write a decimal setting as a TOML number (`100.0`), not the string its
/// exact serde form would give.
fn decimal_number<S: serde::Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    use rust_decimal::prelude::ToPrimitive;
    s.serialize_f64(d.to_f64().unwrap_or(f64::NAN))
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        message: message.into(),
    }
}

/// Which market the collector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Alpaca's market-data and trading APIs (needs keys).
    Alpaca,
    /// The deterministic simulated market (no keys, prices not real).
    Sim,
}

impl Provider {
    /// Name as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alpaca => "alpaca",
            Self::Sim => "sim",
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// JSON when stderr is not a terminal, text otherwise.
    Auto,
    /// One JSON object a line.
    Json,
    /// Human-readable lines.
    Text,
}

/// `[storage]`. `Debug` redacts secret-looking options.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSettings {
    /// `./data`, `file:///var/lib/dipwatch`, `s3://bucket/prefix`.
    pub url: String,
    /// Extra object_store options for S3 (`endpoint`, `region`, `allow_http`, ...).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

impl StorageSettings {
    /// The options with secret-looking values replaced by `[redacted]`.
    pub fn redacted_options(&self) -> BTreeMap<String, String> {
        self.options
            .iter()
            .map(|(k, v)| {
                let v = if is_secret_option(k) {
                    "[redacted]".to_string()
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect()
    }
}

impl std::fmt::Debug for StorageSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageSettings")
            .field("url", &self.url)
            .field("options", &self.redacted_options())
            .finish()
    }
}

/// Whether a storage option carries a credential (by its name).
fn is_secret_option(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["secret", "key", "token", "password", "credential"]
        .iter()
        .any(|w| k.contains(w))
}

/// `[market]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketSettings {
    /// `alpaca` or `sim`.
    #[serde(deserialize_with = "provider")]
    pub provider: Provider,
    /// The universe: [`BUILTIN_UNIVERSE`] (compiled in) or a file with one
    /// ticker a line.
    pub universe: String,
    /// Alpaca market-data base URL.
    pub data_url: String,
    /// Alpaca trading base URL (paper or live).
    pub trading_url: String,
    /// Alpaca data feed (`iex`, `sip`, ...).
    pub feed: String,
    /// Price adjustment (`raw`, `split`, `dividend`, `all`).
    pub adjustment: String,
    /// Request budget shared by every Alpaca call.
    pub requests_per_minute: u32,
    /// Requests allowed at once before pacing.
    pub burst: u32,
    /// Per-request timeout, seconds.
    pub request_timeout_secs: u64,
    /// Retries after a failed attempt.
    pub max_retries: u32,
    /// First retry backoff, milliseconds.
    pub retry_base_ms: u64,
    /// Consecutive failures that open the circuit breaker.
    pub breaker_threshold: u32,
    /// How long the breaker stays open, seconds.
    pub breaker_cooldown_secs: u64,
    /// Attempts before a failed symbol leaves the retry queue.
    pub retry_failed_max_attempts: u32,
}

/// `[screen]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreenSettings {
    /// Window length in trading days.
    pub lookback_days: usize,
    /// Minimum bars in the window for a symbol to be ranked.
    pub min_history: usize,
    /// `high` or `close`.
    #[serde(deserialize_with = "peak_basis")]
    pub peak_basis: PeakBasis,
    /// Rows shown by default.
    pub top_n: usize,
}

/// `[portfolio]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioSettings {
    /// Take-profit threshold for the average return, in percent.
    #[serde(serialize_with = "decimal_number")]
    pub profit_target_pct: Decimal,
    /// How many of the best positions the average covers.
    pub top_positions: usize,
    /// Asset classes the profit rule considers (`us_equity`, `us_option`,
    /// `crypto`, `crypto_perp`); other positions, whatever their class,
    /// are stored and shown, never counted.
    pub asset_classes: Vec<crate::domain::AssetClass>,
}

impl PortfolioSettings {
    /// The profit-taking rule as the strategy's pure [`PortfolioRule`]: the
    /// one definition the backtester and the risk view's exits apply.
    pub fn rule(&self) -> PortfolioRule {
        use rust_decimal::prelude::ToPrimitive;
        PortfolioRule {
            top: self.top_positions,
            target_pct: self.profit_target_pct.to_f64().unwrap_or(f64::INFINITY),
        }
    }
}

/// `[schedule]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSettings {
    /// 6-field cron (sec min hour dom month dow) in `timezone`.
    pub collect: String,
    /// IANA zone the cron is read in.
    pub timezone: String,
    /// Seconds between "data not yet available" retries.
    pub retry_interval_secs: u64,
    /// Seconds after the first attempt to keep retrying.
    pub retry_window_secs: u64,
}

/// `[telegram]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramSettings {
    /// Start the bot when a token is present.
    pub enabled: bool,
    /// Chats that may read.
    #[serde(default, deserialize_with = "chat_ids")]
    pub allowed_chat_ids: Vec<i64>,
    /// Chats that may also trigger runs.
    #[serde(default, deserialize_with = "chat_ids")]
    pub admin_chat_ids: Vec<i64>,
    /// On an S3 store, `/download` answers with a presigned link instead of
    /// a document (no 50 MB limit, nothing through Telegram's servers).
    #[serde(default)]
    pub download_links: bool,
    /// How long such a link works, seconds (S3 allows at most 7 days).
    #[serde(default = "default_link_ttl")]
    pub download_link_ttl_secs: u64,
    /// After `/trigger` or the dashboard's "Run now" starts a collection,
    /// both refuse another for this long, seconds (0: no cooldown).
    #[serde(default = "default_trigger_cooldown")]
    pub trigger_cooldown_secs: u64,
}

fn default_trigger_cooldown() -> u64 {
    300
}

/// The longest `telegram.trigger_cooldown_secs`: a day.
const MAX_TRIGGER_COOLDOWN_SECS: u64 = 24 * 3600;

fn default_link_ttl() -> u64 {
    3600
}

/// `[alerts]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsSettings {
    /// Rules every allowed chat gets once, in `/alert` syntax.
    #[serde(default)]
    pub defaults: Vec<String>,
}

/// A list of chat ids as users write it: a TOML list, one number, or a
/// comma-separated string (`DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS=123` comes
/// through the environment as a single number, `=1,2` as a list).
/// Whether `id` is a chat id Telegram can have: a user (1 ..= 2^40 - 1), a
/// basic group (-1 ..= -999,999,999,999) or a supergroup or channel
/// (-1,000,000,000,000 ..= -1,997,852,516,352). teloxide panics
/// ("malformed chat id") when it classifies any other id.
pub fn is_telegram_chat_id(id: i64) -> bool {
    const MIN_CHANNEL: i64 = -1_997_852_516_352;
    const MAX_USER: i64 = (1 << 40) - 1;
    id != 0 && (MIN_CHANNEL..=MAX_USER).contains(&id)
}

fn chat_ids<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Num(i64),
        Text(String),
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Ids {
        One(Id),
        Many(Vec<Id>),
    }
    let ids = match Ids::deserialize(d)? {
        Ids::One(id) => vec![id],
        Ids::Many(ids) => ids,
    };
    let mut out = Vec::new();
    for id in ids {
        match id {
            Id::Num(n) => out.push(n),
            Id::Text(t) => {
                for part in t.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    out.push(part.parse().map_err(|_| {
                        serde::de::Error::custom(format!(
                            "{part:?} is not a chat id (a whole number)"
                        ))
                    })?);
                }
            }
        }
    }
    Ok(out)
}

/// `[backtest]`: the contrarian strategy the backtester simulates (see
/// [`crate::strategy`]), and the benchmark it and the risk view compare to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestSettings {
    /// A ticker collected alongside the universe and never ranked, or
    /// `universe` for the equal-weight universe.
    pub benchmark: String,
    /// `daily`, `weekly` or `monthly`.
    #[serde(deserialize_with = "rebalance")]
    pub rebalance: Rebalance,
    /// Entry threshold: drawdowns at or below this percentage (e.g. -30).
    pub entry_pct: f64,
    /// Positions held at most.
    pub max_positions: usize,
    /// `equal` or `inverse_vol`.
    #[serde(deserialize_with = "sizing")]
    pub sizing: Sizing,
    /// A position's own take-profit, percent; 0 turns it off.
    pub take_profit_pct: f64,
    /// A position's stop-loss, percent of its entry; 0 turns it off.
    pub stop_loss_pct: f64,
    /// Sessions a position is held at most; 0 turns it off.
    pub max_hold: u32,
    /// Also sell on `[portfolio]`'s rule (best `top_positions` averaging
    /// `profit_target_pct`).
    pub portfolio_rule: bool,
    /// `next_open` or `close` (optimistic).
    #[serde(deserialize_with = "fill")]
    pub fill: Fill,
    /// Commission per trade, in account currency.
    pub commission: f64,
    /// Slippage per fill, in basis points of the price.
    pub slippage_bps: f64,
    /// Starting equity.
    pub initial_capital: f64,
    /// Annual risk-free rate for Sharpe and Sortino, percent.
    pub risk_free_rate_pct: f64,
    /// Sessions in a row without a bar after which a held name is taken
    /// as delisted and sold (a shorter gap is a halt: held at its last
    /// close). At least 1.
    pub delist_after: usize,
    /// A delisted name is sold at its last close less this percentage
    /// (0 to 100): what a holder recovers is unknown, and often little.
    pub delist_haircut_pct: f64,
    /// Stored runs kept, newest first (0: no limit); older ones are
    /// deleted after each new run.
    #[serde(default = "default_keep_runs")]
    pub keep_runs: usize,
    /// Days a stored run is kept (0: no limit).
    #[serde(default = "default_keep_days")]
    pub keep_days: u32,
}

fn default_keep_runs() -> usize {
    200
}

fn default_keep_days() -> u32 {
    365
}

impl BacktestSettings {
    /// The benchmark ticker, or `None` for the equal-weight universe.
    /// Checked by [`AppConfig::from_settings`], so it parses there.
    pub fn benchmark_symbol(&self) -> Option<Symbol> {
        if self.benchmark.eq_ignore_ascii_case(UNIVERSE_BENCHMARK) {
            None
        } else {
            Symbol::parse(&self.benchmark).ok()
        }
    }

    /// A position's own exit rules (a 0 setting is off).
    pub fn exit_rules(&self) -> ExitRules {
        let on = |v: f64| (v > 0.0).then_some(v);
        ExitRules {
            take_profit_pct: on(self.take_profit_pct),
            stop_loss_pct: on(self.stop_loss_pct),
            max_hold: (self.max_hold > 0).then_some(self.max_hold),
        }
    }

    /// The portfolio rule from `[portfolio]`, when `portfolio_rule` is on.
    pub fn portfolio_rule(&self, portfolio: &PortfolioSettings) -> Option<PortfolioRule> {
        self.portfolio_rule.then(|| portfolio.rule())
    }

    /// Refuse values no backtest can run with, naming the key.
    pub fn check(&self) -> Result<(), ConfigError> {
        let finite = |key: &str, v: f64| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(invalid(key, format!("{v} is not a number")))
            }
        };
        if !self.benchmark.eq_ignore_ascii_case(UNIVERSE_BENCHMARK) {
            Symbol::parse(&self.benchmark).map_err(|e| {
                invalid(
                    "backtest.benchmark",
                    format!("{e} (a ticker such as SPY, or \"{UNIVERSE_BENCHMARK}\")"),
                )
            })?;
        }
        finite("backtest.entry_pct", self.entry_pct)?;
        if !(-100.0..0.0).contains(&self.entry_pct) {
            return Err(invalid(
                "backtest.entry_pct",
                format!(
                    "{} must be below 0 and above -100 (e.g. -30: down 30% or more)",
                    self.entry_pct
                ),
            ));
        }
        if self.max_positions == 0 {
            return Err(invalid("backtest.max_positions", "must be at least 1"));
        }
        for (key, v) in [
            ("backtest.take_profit_pct", self.take_profit_pct),
            ("backtest.stop_loss_pct", self.stop_loss_pct),
            ("backtest.commission", self.commission),
            ("backtest.slippage_bps", self.slippage_bps),
        ] {
            finite(key, v)?;
            if v < 0.0 {
                return Err(invalid(key, format!("{v} must be 0 (off) or more")));
            }
        }
        if self.stop_loss_pct >= 100.0 {
            return Err(invalid(
                "backtest.stop_loss_pct",
                format!(
                    "{} must be below 100 (a loss of 100% is everything)",
                    self.stop_loss_pct
                ),
            ));
        }
        finite("backtest.initial_capital", self.initial_capital)?;
        if self.initial_capital <= 0.0 {
            return Err(invalid("backtest.initial_capital", "must be above 0"));
        }
        if self.delist_after == 0 {
            return Err(invalid(
                "backtest.delist_after",
                "must be at least 1 session",
            ));
        }
        finite("backtest.delist_haircut_pct", self.delist_haircut_pct)?;
        if !(0.0..=100.0).contains(&self.delist_haircut_pct) {
            return Err(invalid(
                "backtest.delist_haircut_pct",
                format!(
                    "{} must be between 0 (the last close) and 100 (nothing back)",
                    self.delist_haircut_pct
                ),
            ));
        }
        finite("backtest.risk_free_rate_pct", self.risk_free_rate_pct)?;
        if !(-100.0..100.0).contains(&self.risk_free_rate_pct) {
            return Err(invalid(
                "backtest.risk_free_rate_pct",
                "must be a yearly percentage between -100 and 100",
            ));
        }
        Ok(())
    }
}

/// `[web]`: the dashboard.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSettings {
    /// Listen address of the dashboard (separate from `http.listen`).
    pub listen: String,
    /// The address users reach the dashboard at (behind a proxy: its
    /// https URL); sign-in links point there. Empty: `http://{listen}`.
    pub public_url: String,
    /// How long a sign-in lasts, seconds.
    pub session_ttl_secs: u64,
    /// Without a bot token, serve read-only pages to loopback clients.
    pub anonymous_loopback: bool,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For`
    /// and `Forwarded` headers name the client; nobody else's are read.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Connections the dashboard serves at once (lowered to what the
    /// open-file limit leaves after the store's and the bot's share).
    #[serde(default = "default_web_connections")]
    pub max_connections: usize,
    /// Sessions a chat may hold at once; signing in again ends its oldest.
    #[serde(default = "default_sessions_per_chat")]
    pub sessions_per_chat: usize,
    /// Origins besides the dashboard's own that may show it in a frame:
    /// Telegram Web runs the Mini App in one.
    #[serde(default = "default_frame_ancestors")]
    pub frame_ancestors: Vec<String>,
}

fn default_frame_ancestors() -> Vec<String> {
    vec!["https://web.telegram.org".to_string()]
}

fn default_web_connections() -> usize {
    512
}

fn default_sessions_per_chat() -> usize {
    10
}

/// The most `web.sessions_per_chat` takes.
const MAX_SESSIONS_PER_CHAT: usize = 100;
/// The most `web.max_connections` takes.
const MAX_WEB_CONNECTIONS: usize = 100_000;

/// Check `[web]`'s proxy and limit settings: the trusted proxies parsed,
/// and warnings for anonymous mode where it would not be private.
fn check_web_access(
    web: &WebSettings,
    listen: SocketAddr,
) -> Result<(Vec<crate::cidr::Cidr>, Vec<ConfigWarning>), ConfigError> {
    let proxies = web
        .trusted_proxies
        .iter()
        .map(|p| p.parse().map_err(|e| invalid("web.trusted_proxies", e)))
        .collect::<Result<Vec<crate::cidr::Cidr>, _>>()?;
    if !(1..=MAX_SESSIONS_PER_CHAT).contains(&web.sessions_per_chat) {
        return Err(invalid(
            "web.sessions_per_chat",
            format!(
                "{} must be between 1 and {MAX_SESSIONS_PER_CHAT}",
                web.sessions_per_chat
            ),
        ));
    }
    if !(1..=MAX_WEB_CONNECTIONS).contains(&web.max_connections) {
        return Err(invalid(
            "web.max_connections",
            format!(
                "{} must be between 1 and {MAX_WEB_CONNECTIONS}",
                web.max_connections
            ),
        ));
    }
    for origin in &web.frame_ancestors {
        let ok = url::Url::parse(origin).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host().is_some()
                && u.path() == "/"
                && u.query().is_none()
                && !origin.ends_with('/')
        }) && !origin.contains([';', ',', ' ', '\'', '"']);
        if !ok {
            return Err(invalid(
                "web.frame_ancestors",
                format!("{origin:?} is not an origin like https://web.telegram.org"),
            ));
        }
    }
    let mut warnings = Vec::new();
    if web.anonymous_loopback && !listen.ip().is_loopback() {
        warnings.push(warning(
            "web.anonymous_loopback",
            format!(
                "the dashboard listens on {listen}, not a loopback address: anonymous pages \
                 are served only to loopback clients, but keep web.listen on 127.0.0.1"
            ),
        ));
    }
    if web.anonymous_loopback && !proxies.is_empty() {
        warnings.push(warning(
            "web.anonymous_loopback",
            "a proxy in front of an anonymous dashboard makes every remote client look local: \
             anonymous mode refuses every request that carries forwarding headers",
        ));
    }
    Ok((proxies, warnings))
}

/// `[history]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistorySettings {
    /// Calendar days of daily bars the daemon holds in memory, back from
    /// the newest published date; 0 holds none.
    pub memory_days: u32,
}

/// The most `history.memory_days` takes: 30 years.
const MAX_MEMORY_DAYS: u32 = 30 * 366;

/// `[risk]`: the portfolio risk view (`dipwatch portfolio`, `/risk`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskSettings {
    /// Sessions of daily returns the correlations, betas and clusters are
    /// measured over.
    pub lookback: usize,
    /// The fraction of equity a new position may risk: a suggested size is
    /// `budget * equity / annual volatility`, capped by cash.
    pub budget: f64,
    /// Positions whose returns correlate at least this much (on average
    /// between groups) are one cluster, one bet.
    pub cluster_correlation: f64,
    /// A candidate correlated at least this much with a holding duplicates it.
    pub duplicate_correlation: f64,
    /// Candidates taken from the top of the latest screen.
    pub candidates: usize,
}

/// Fewest `risk.lookback` sessions: fewer returns make a correlation noise.
pub const MIN_RISK_LOOKBACK: usize = 20;
/// Most `risk.lookback` sessions (ten years).
pub const MAX_RISK_LOOKBACK: usize = 2520;

impl RiskSettings {
    /// Refuse values the risk view cannot use, naming the key.
    fn check(&self) -> Result<(), ConfigError> {
        if !(MIN_RISK_LOOKBACK..=MAX_RISK_LOOKBACK).contains(&self.lookback) {
            return Err(invalid(
                "risk.lookback",
                format!(
                    "{} must be between {MIN_RISK_LOOKBACK} and {MAX_RISK_LOOKBACK} sessions",
                    self.lookback
                ),
            ));
        }
        if !(self.budget > 0.0 && self.budget <= 1.0) {
            return Err(invalid(
                "risk.budget",
                format!(
                    "{} must be a fraction of equity above 0 and at most 1 (0.02 = 2%)",
                    self.budget
                ),
            ));
        }
        for (key, v) in [
            ("risk.cluster_correlation", self.cluster_correlation),
            ("risk.duplicate_correlation", self.duplicate_correlation),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                return Err(invalid(
                    key,
                    format!("{v} must be a correlation above 0 and at most 1"),
                ));
            }
        }
        if self.candidates == 0 {
            return Err(invalid("risk.candidates", "must be at least 1"));
        }
        Ok(())
    }
}

/// `backtest.benchmark` value for the equal-weight universe.
pub const UNIVERSE_BENCHMARK: &str = "universe";

/// `[http]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Listen address for health and metrics.
    pub listen: String,
}

/// `[log]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `auto`, `json` or `text`.
    #[serde(deserialize_with = "log_format")]
    pub format: LogFormat,
    /// Filter in `RUST_LOG` syntax (`info`, `dipwatch=debug,info`).
    pub level: String,
}

/// Every setting, as layered from the sources (before parsing).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
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
    /// `[http]`.
    pub http: HttpSettings,
    /// `[log]`.
    pub log: LogSettings,
    /// `[lease]`: the store's writer lease.
    #[serde(default)]
    pub lease: crate::lease::LeaseSettings,
}

/// Where a secret came from (shown by `check-config` instead of the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSource {
    /// The variable itself.
    Env,
    /// The file named by `NAME_FILE`.
    File,
    /// `$CREDENTIALS_DIRECTORY/NAME` (systemd `LoadCredential=`).
    Credentials,
}

/// A secret and where it came from. `Debug` never shows the value.
#[derive(Debug, Clone)]
pub struct Secret {
    /// The value, redacted in `Debug`.
    pub value: SecretString,
    /// Its source.
    pub source: SecretSource,
}

/// The three secrets dipwatch uses, under the names their ecosystems use.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// `APCA_API_KEY_ID`.
    pub alpaca_key_id: Option<Secret>,
    /// `APCA_API_SECRET_KEY`.
    pub alpaca_secret_key: Option<Secret>,
    /// `TELOXIDE_TOKEN`.
    pub telegram_token: Option<Secret>,
}

/// Environment names of the secrets.
pub const SECRET_NAMES: [&str; 3] = ["APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "TELOXIDE_TOKEN"];

impl Secrets {
    /// Read each secret from `NAME`, else the file at `NAME_FILE`, else
    /// `$CREDENTIALS_DIRECTORY/NAME`. Empty values count as unset; one
    /// trailing newline of a file is dropped.
    pub fn load(env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let one = |name: &str| -> Result<Option<Secret>, ConfigError> {
            if let Some(v) = env.get(name).filter(|v| !v.is_empty()) {
                return Ok(Some(Secret {
                    value: SecretString::from(v.clone()),
                    source: SecretSource::Env,
                }));
            }
            let file_var = format!("{name}_FILE");
            if let Some(path) = env.get(&file_var).filter(|v| !v.is_empty()) {
                return read_secret_file(Path::new(path), &file_var, SecretSource::File);
            }
            if let Some(dir) = env.get("CREDENTIALS_DIRECTORY").filter(|v| !v.is_empty()) {
                let path = Path::new(dir).join(name);
                if path.exists() {
                    return read_secret_file(&path, name, SecretSource::Credentials);
                }
            }
            Ok(None)
        };
        Ok(Self {
            alpaca_key_id: one(SECRET_NAMES[0])?,
            alpaca_secret_key: one(SECRET_NAMES[1])?,
            telegram_token: one(SECRET_NAMES[2])?,
        })
    }

    fn by_name(&self, name: &str) -> Option<&Secret> {
        match name {
            "APCA_API_KEY_ID" => self.alpaca_key_id.as_ref(),
            "APCA_API_SECRET_KEY" => self.alpaca_secret_key.as_ref(),
            _ => self.telegram_token.as_ref(),
        }
    }
}

fn read_secret_file(
    path: &Path,
    name: &str,
    source: SecretSource,
) -> Result<Option<Secret>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Secret {
        name: name.to_string(),
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    let value = text.strip_suffix('\n').unwrap_or(&text);
    let value = value.strip_suffix('\r').unwrap_or(value);
    if value.is_empty() {
        return Ok(None);
    }
    // A second line is a mistake (two keys in one file, a pasted comment);
    // taking it whole would send a value Alpaca or Telegram refuses, and
    // the error would then blame another setting.
    if value.contains(['\n', '\r']) {
        return Err(ConfigError::Secret {
            name: name.to_string(),
            message: format!(
                "{} holds more than one line; the file must hold only the value",
                path.display()
            ),
        });
    }
    Ok(Some(Secret {
        value: SecretString::from(value.to_string()),
        source,
    }))
}

/// The fully parsed configuration the program runs on.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The layered settings as given.
    pub settings: Settings,
    /// Where the data lake lives.
    pub storage: StorageUrl,
    /// The universe, parsed from `market.universe`.
    pub universe: Vec<Symbol>,
    /// Drawdown engine parameters.
    pub screen: ScreenParams,
    /// The collection cron, parsed.
    pub collect_cron: croner::Cron,
    /// The schedule's time zone.
    pub timezone: Tz,
    /// HTTP listen address.
    pub http_listen: SocketAddr,
    /// The dashboard's listen address.
    pub web_listen: SocketAddr,
    /// Where users reach the dashboard (`web.public_url`, or `http://{web.listen}`).
    pub web_public_url: url::Url,
    /// `web.trusted_proxies`, parsed.
    pub web_trusted_proxies: Vec<crate::cidr::Cidr>,
    /// Secrets, redacted in `Debug`.
    pub secrets: Secrets,
    /// The allow-lists (`telegram.allowed_chat_ids`, `admin_chat_ids`) as
    /// the bot, the dashboard and the alerts check them: shared by every
    /// clone of this configuration and replaced when the daemon reloads
    /// them (SIGHUP), while `settings.telegram` keeps the lists as loaded.
    pub access: crate::access::Access,
    /// Accepted settings that are probably mistakes.
    pub warnings: Vec<ConfigWarning>,
}

/// `market.universe` value that selects the universe compiled into the
/// binary (the default), so every command works from any directory.
pub const BUILTIN_UNIVERSE: &str = "builtin:russell1000";

/// The built-in universe: ~930 Russell 1000 names.
const RUSSELL1000: &str = include_str!("../config/universe/russell1000.txt");

/// The largest universe file read (a Russell 3000 list is ~20 KB): a
/// device or a wrong path to a huge file is refused instead of read whole.
const MAX_UNIVERSE_BYTES: u64 = 1 << 20;

/// Read `market.universe`: the built-in list or a regular file of at most
/// [`MAX_UNIVERSE_BYTES`].
fn read_universe(value: &str) -> Result<Vec<Symbol>, ConfigError> {
    use std::io::Read;
    const KEY: &str = "market.universe";
    if value == BUILTIN_UNIVERSE {
        return parse_universe(RUSSELL1000).map_err(|e| invalid(KEY, e));
    }
    if let Some(name) = value.strip_prefix("builtin:") {
        return Err(invalid(
            KEY,
            format!("no built-in universe {name:?}; the built-in one is {BUILTIN_UNIVERSE:?}"),
        ));
    }
    let path = Path::new(value);
    let cannot = |e: &dyn std::fmt::Display| {
        invalid(
            KEY,
            format!(
                "cannot read {}: {e} (relative paths are from the working directory; \
                 {BUILTIN_UNIVERSE:?} is the built-in list)",
                path.display()
            ),
        )
    };
    let meta = std::fs::metadata(path).map_err(|e| cannot(&e))?;
    if !meta.is_file() {
        return Err(invalid(
            KEY,
            format!("{} is not a regular file", path.display()),
        ));
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_UNIVERSE_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| cannot(&e))?;
    if text.len() as u64 > MAX_UNIVERSE_BYTES {
        return Err(invalid(
            KEY,
            format!(
                "{} is larger than {} KiB: not a universe file",
                path.display(),
                MAX_UNIVERSE_BYTES / 1024
            ),
        ));
    }
    parse_universe(&text).map_err(|e| invalid(KEY, format!("{}: {e}", path.display())))
}

/// Accepted `market.feed` values (Alpaca's stock feeds).
const FEEDS: [&str; 6] = ["iex", "sip", "delayed_sip", "boats", "overnight", "otc"];
/// Accepted `market.adjustment` values.
const ADJUSTMENTS: [&str; 4] = ["raw", "split", "dividend", "all"];

impl AppConfig {
    /// The symbols a collection run fetches: the universe, plus the
    /// backtest benchmark when it is a ticker outside it (stored with the
    /// bars, never ranked: see [`AppConfig::benchmark_only`]).
    pub fn collected_symbols(&self) -> Vec<Symbol> {
        let mut out = self.universe.clone();
        out.extend(self.benchmark_only());
        out
    }

    /// Which of `symbols` (a price history's, say) are in the universe:
    /// the one definition the screen ranks, the backtester buys from, and
    /// the "universe" benchmark (the backtester's and the risk view's)
    /// averages, whether `backtest.benchmark = "universe"` is set in the
    /// configuration or on the command line. It is `market.universe`, the
    /// list as it is today: a benchmark ticker collected beside it (SPY)
    /// is never in it, nor is a name the lake holds from an older list.
    pub fn universe_mask(&self, symbols: &[Symbol]) -> Vec<bool> {
        let members: std::collections::HashSet<&Symbol> = self.universe.iter().collect();
        symbols.iter().map(|s| members.contains(s)).collect()
    }

    /// The benchmark ticker when it is not in the universe: collected for
    /// the backtest, left out of the screen.
    pub fn benchmark_only(&self) -> Option<Symbol> {
        self.settings
            .backtest
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
        let settings = layered_settings(file, &env)?;
        let secrets = Secrets::load(&env)?;
        Self::from_settings(settings, secrets)
    }

    /// Parse every setting into its typed form; errors name the key.
    pub fn from_settings(settings: Settings, secrets: Secrets) -> Result<Self, ConfigError> {
        let storage =
            StorageUrl::parse(&settings.storage.url).map_err(|e| invalid("storage.url", e))?;
        for key in settings.storage.options.keys() {
            let known = match storage {
                StorageUrl::S3 { .. } => {
                    key.parse::<object_store::aws::AmazonS3ConfigKey>().is_ok()
                }
                StorageUrl::Local(_) => {
                    return Err(invalid(
                        &format!("storage.options.{key}"),
                        "only an s3:// storage.url takes options",
                    ));
                }
            };
            if !known {
                return Err(invalid(
                    &format!("storage.options.{key}"),
                    "not an S3 option object_store knows (e.g. endpoint, region, allow_http)",
                ));
            }
        }

        if let Some((key, message)) = settings.lease.problem() {
            return Err(invalid(key, message));
        }
        let m = &settings.market;
        let universe = read_universe(&m.universe)?;
        let mut warnings = Vec::new();
        if !settings.lease.enabled {
            warnings.push(warning(
                "lease.enabled",
                "false: no writer lease is taken, so nothing keeps a second dipwatch from writing \
                 this store at the same time; run only one writer",
            ));
        }
        for (key, value) in [
            ("market.data_url", &m.data_url),
            ("market.trading_url", &m.trading_url),
        ] {
            let parsed = url::Url::parse(value)
                .map_err(|e| invalid(key, format!("{value:?} is not a URL: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(invalid(
                    key,
                    format!("{value:?} must be http:// or https://"),
                ));
            }
        }
        if !FEEDS.contains(&m.feed.as_str()) {
            return Err(invalid(
                "market.feed",
                format!("{:?} is not one of {}", m.feed, FEEDS.join(", ")),
            ));
        }
        if !ADJUSTMENTS.contains(&m.adjustment.as_str()) {
            return Err(invalid(
                "market.adjustment",
                format!(
                    "{:?} is not one of {}",
                    m.adjustment,
                    ADJUSTMENTS.join(", ")
                ),
            ));
        }
        if m.requests_per_minute < 2 {
            return Err(invalid("market.requests_per_minute", "must be at least 2"));
        }
        if m.burst == 0 || m.burst >= m.requests_per_minute {
            return Err(invalid(
                "market.burst",
                format!(
                    "must be between 1 and market.requests_per_minute - 1 ({})",
                    m.requests_per_minute - 1
                ),
            ));
        }
        if m.request_timeout_secs == 0 {
            return Err(invalid("market.request_timeout_secs", "must be at least 1"));
        }
        if m.breaker_threshold == 0 {
            return Err(invalid("market.breaker_threshold", "must be at least 1"));
        }
        if m.retry_failed_max_attempts == 0 {
            return Err(invalid(
                "market.retry_failed_max_attempts",
                "must be at least 1",
            ));
        }

        let s = &settings.screen;
        if s.lookback_days < 2 {
            return Err(invalid("screen.lookback_days", "must be at least 2"));
        }
        if s.min_history == 0 || s.min_history > s.lookback_days {
            return Err(invalid(
                "screen.min_history",
                format!(
                    "must be between 1 and screen.lookback_days ({})",
                    s.lookback_days
                ),
            ));
        }
        if s.top_n == 0 {
            return Err(invalid("screen.top_n", "must be at least 1"));
        }
        if settings.portfolio.top_positions == 0 {
            return Err(invalid("portfolio.top_positions", "must be at least 1"));
        }
        let target = settings.portfolio.profit_target_pct;
        if target <= Decimal::ZERO || target > Decimal::ONE_THOUSAND {
            return Err(invalid(
                "portfolio.profit_target_pct",
                format!(
                    "{target} must be above 0 and at most 1000 (percent: 100 = the best positions doubled)"
                ),
            ));
        }
        check_asset_classes(&settings.portfolio.asset_classes)?;

        for (key, ids) in [
            (
                "telegram.allowed_chat_ids",
                &settings.telegram.allowed_chat_ids,
            ),
            ("telegram.admin_chat_ids", &settings.telegram.admin_chat_ids),
        ] {
            if let Some(id) = ids.iter().find(|id| !is_telegram_chat_id(**id)) {
                return Err(invalid(
                    key,
                    format!(
                        "{id} is not a Telegram chat id (users are 1 to 1099511627775, \
                         groups -1 to -1997852516352; the bot's refusal shows yours)"
                    ),
                ));
            }
        }
        let ttl = settings.telegram.download_link_ttl_secs;
        if !(60..=7 * 24 * 3600).contains(&ttl) {
            return Err(invalid(
                "telegram.download_link_ttl_secs",
                format!("{ttl} must be between 60 and 604800 (7 days, S3's limit)"),
            ));
        }
        let cooldown = settings.telegram.trigger_cooldown_secs;
        if cooldown > MAX_TRIGGER_COOLDOWN_SECS {
            return Err(invalid(
                "telegram.trigger_cooldown_secs",
                format!(
                    "{cooldown} must be between 0 (no cooldown) and {MAX_TRIGGER_COOLDOWN_SECS} (a day)"
                ),
            ));
        }
        for spec in &settings.alerts.defaults {
            crate::alert_rules::parse_alert(spec)
                .map_err(|e| invalid("alerts.defaults", format!("{spec:?}: {}", e.0)))?;
        }
        settings.backtest.check()?;
        if settings.history.memory_days > MAX_MEMORY_DAYS {
            return Err(invalid(
                "history.memory_days",
                format!(
                    "{} must be at most {MAX_MEMORY_DAYS} (30 years; a year of 1,000 symbols is about 10 MB)",
                    settings.history.memory_days
                ),
            ));
        }
        settings.risk.check()?;
        let collect_cron =
            parse_cron(&settings.schedule.collect).map_err(|e| invalid("schedule.collect", e))?;
        let timezone: Tz = settings.schedule.timezone.parse().map_err(|_| {
            invalid(
                "schedule.timezone",
                format!(
                    "{:?} is not an IANA time zone (e.g. America/New_York)",
                    settings.schedule.timezone
                ),
            )
        })?;
        warnings.extend(check_schedule(&settings.schedule, &collect_cron, timezone)?);
        let http_listen: SocketAddr = settings.http.listen.parse().map_err(|_| {
            invalid(
                "http.listen",
                format!(
                    "{:?} is not an address:port (e.g. 127.0.0.1:9184)",
                    settings.http.listen
                ),
            )
        })?;
        if !http_listen.ip().is_loopback() {
            warnings.push(warning(
                "http.listen",
                format!(
                    "{http_listen} is reachable from other hosts: /metrics and /readyz \
                     (run state, portfolio equity) have no authentication; keep 127.0.0.1 \
                     unless a firewall or proxy guards the port"
                ),
            ));
        }
        let web = &settings.web;
        let web_listen: SocketAddr = web.listen.parse().map_err(|_| {
            invalid(
                "web.listen",
                format!(
                    "{:?} is not an address:port (e.g. 127.0.0.1:9185)",
                    web.listen
                ),
            )
        })?;
        if web_listen == http_listen && web_listen.port() != 0 {
            return Err(invalid(
                "web.listen",
                "must differ from http.listen: exposing the dashboard must never expose /metrics",
            ));
        }
        let public = if web.public_url.trim().is_empty() {
            format!("http://{web_listen}")
        } else {
            web.public_url.trim().to_string()
        };
        let web_public_url = url::Url::parse(&public)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                invalid(
                    "web.public_url",
                    format!("{public:?} is not an http:// or https:// URL"),
                )
            })?;
        let (web_trusted_proxies, web_warnings) = check_web_access(web, web_listen)?;
        warnings.extend(web_warnings);
        if !(60..=366 * 24 * 3600).contains(&web.session_ttl_secs) {
            return Err(invalid(
                "web.session_ttl_secs",
                format!(
                    "{} must be between 60 and 31622400 (a year)",
                    web.session_ttl_secs
                ),
            ));
        }
        tracing_subscriber::EnvFilter::try_new(&settings.log.level)
            .map_err(|e| invalid("log.level", format!("{:?}: {e}", settings.log.level)))?;

        let screen = ScreenParams {
            lookback_days: s.lookback_days,
            min_history: s.min_history,
            peak_basis: s.peak_basis,
        };
        Ok(Self {
            storage,
            universe,
            screen,
            collect_cron,
            timezone,
            http_listen,
            web_listen,
            web_public_url,
            web_trusted_proxies,
            secrets,
            access: crate::access::Access::new(
                &settings.telegram.allowed_chat_ids,
                &settings.telegram.admin_chat_ids,
            ),
            settings,
            warnings,
        })
    }

    /// The Alpaca key pair, or the message that tells the user what to set
    /// (and how to try dipwatch without an Alpaca account).
    pub fn alpaca_credentials(&self) -> Result<(&SecretString, &SecretString), ConfigError> {
        match (&self.secrets.alpaca_key_id, &self.secrets.alpaca_secret_key) {
            (Some(id), Some(secret)) => {
                check_alpaca_key_length(SECRET_NAMES[0], &id.value, ALPACA_KEY_ID_LEN)?;
                check_alpaca_key_length(SECRET_NAMES[1], &secret.value, ALPACA_SECRET_KEY_LEN)?;
                Ok((&id.value, &secret.value))
            }
            _ => Err(invalid(
                "market.provider",
                "\"alpaca\" needs APCA_API_KEY_ID and APCA_API_SECRET_KEY (from the environment, \
                 APCA_API_KEY_ID_FILE / APCA_API_SECRET_KEY_FILE, or $CREDENTIALS_DIRECTORY); \
                 to try dipwatch on simulated prices instead, use --config config/demo.toml",
            )),
        }
    }

    /// The effective configuration as TOML, secrets shown only as
    /// "set (source)" or "not set", and secret-looking storage options
    /// redacted.
    pub fn redacted_toml(&self) -> String {
        let mut settings = self.settings.clone();
        settings.storage.options = settings.storage.redacted_options();
        let mut out = toml::to_string(&settings)
            .unwrap_or_else(|e| format!("# cannot render settings: {e}\n"));
        out.push_str("\n# secrets (values never shown)\n[secrets]\n");
        for name in SECRET_NAMES {
            let state = match self.secrets.by_name(name).map(|s| s.source) {
                None => "not set",
                Some(SecretSource::Env) => "set (environment)",
                Some(SecretSource::File) => "set (file from _FILE)",
                Some(SecretSource::Credentials) => "set ($CREDENTIALS_DIRECTORY)",
            };
            out.push_str(&format!("{name} = {state:?}\n"));
        }
        out
    }
}

/// `portfolio.asset_classes` names at least one class, each one dipwatch
/// knows (positions of any class are kept; the rule counts these).
fn check_asset_classes(classes: &[crate::domain::AssetClass]) -> Result<(), ConfigError> {
    let known = || {
        crate::domain::AssetClass::KNOWN
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if classes.is_empty() {
        return Err(invalid(
            "portfolio.asset_classes",
            format!("must name at least one of {}", known()),
        ));
    }
    match classes.iter().find(|c| !c.is_known()) {
        Some(c) => Err(invalid(
            "portfolio.asset_classes",
            format!("{:?} is not one of {}", c.as_str(), known()),
        )),
        None => Ok(()),
    }
}

/// Length of the key ids Alpaca issues.
const ALPACA_KEY_ID_LEN: usize = 20;
/// Length of the secret keys Alpaca issues.
const ALPACA_SECRET_KEY_LEN: usize = 40;

/// A key shorter than Alpaca issues is a truncated or mistyped value: it
/// would be refused anyway, and the client masks the key values in every
/// body it reads, so a short one could match (and mask) ordinary data.
/// The message names the variable and the lengths, never the value.
fn check_alpaca_key_length(
    name: &str,
    value: &SecretString,
    issued: usize,
) -> Result<(), ConfigError> {
    let len = value.expose_secret().chars().count();
    if len >= issued {
        return Ok(());
    }
    Err(ConfigError::Secret {
        name: name.to_string(),
        message: format!(
            "{len} characters long, but Alpaca issues these with {issued}: \
             check for a truncated or mistyped value"
        ),
    })
}

/// Bounds of the `[schedule]` numbers and the cron's frequency: refusals
/// for what cannot work, warnings for what spends Alpaca's budget or
/// misses sessions.
fn check_schedule(
    s: &ScheduleSettings,
    cron: &croner::Cron,
    tz: Tz,
) -> Result<Vec<ConfigWarning>, ConfigError> {
    let mut warnings = Vec::new();
    if s.retry_interval_secs == 0 {
        return Err(invalid(
            "schedule.retry_interval_secs",
            "must be at least 1 (0 would retry without pause, spending Alpaca's request budget)",
        ));
    }
    if s.retry_interval_secs < 60 {
        warnings.push(warning(
            "schedule.retry_interval_secs",
            format!(
                "{} s between retries: each retry is a collection run spending Alpaca requests; \
                 900 (the default) or at least 60 is gentler",
                s.retry_interval_secs
            ),
        ));
    }
    if s.retry_window_secs > 24 * 3600 {
        return Err(invalid(
            "schedule.retry_window_secs",
            format!(
                "{} must be at most 86400 (a day: the next session's run takes over)",
                s.retry_window_secs
            ),
        ));
    }
    // The next fire times from now, in the zone, show how often it fires.
    let mut at = chrono::Utc::now().with_timezone(&tz);
    let mut fires = Vec::new();
    for _ in 0..8 {
        match cron.find_next_occurrence(&at, false) {
            Ok(next) => {
                fires.push(next);
                at = next;
            }
            Err(_) => break,
        }
    }
    let Some(first) = fires.first() else {
        return Err(invalid(
            "schedule.collect",
            format!(
                "{:?} never fires (e.g. a day that does not exist)",
                s.collect
            ),
        ));
    };
    let now = chrono::Utc::now().with_timezone(&tz);
    if *first - now > chrono::Duration::days(8) {
        warnings.push(warning(
            "schedule.collect",
            format!(
                "{:?} next fires {}: sessions in between are not collected on time",
                s.collect,
                first.format("%Y-%m-%d %H:%M %Z")
            ),
        ));
    }
    let shortest = fires.windows(2).map(|w| w[1] - w[0]).min();
    if let Some(gap) = shortest.filter(|g| *g < chrono::Duration::hours(1)) {
        warnings.push(warning(
            "schedule.collect",
            format!(
                "{:?} fires every {} s: each fire is a collection run spending Alpaca requests \
                 (a day's bars are final once, after the close; e.g. \"0 30 18 * * MON-FRI\")",
                s.collect,
                gap.num_seconds()
            ),
        ));
    }
    Ok(warnings)
}

/// Parse a 6-field cron (seconds first), as tokio-cron-scheduler wants.
pub fn parse_cron(pattern: &str) -> Result<croner::Cron, String> {
    let fields = pattern.split_whitespace().count();
    if fields != 6 {
        return Err(format!(
            "{pattern:?} has {fields} fields; 6 are needed: sec min hour day-of-month month day-of-week \
             (e.g. \"0 30 18 * * MON-FRI\")"
        ));
    }
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .year(croner::parser::Year::Disallowed)
        .build()
        .parse(pattern)
        .map_err(|e| format!("{pattern:?} is not a valid cron: {e}"))
}

/// Layer defaults, the file and the environment into [`Settings`].
fn layered_settings(
    file: Option<&Path>,
    env: &HashMap<String, String>,
) -> Result<Settings, ConfigError> {
    use config::{Config, Environment, File, FileFormat};
    let mut builder = Config::builder().add_source(File::from_str(DEFAULT_TOML, FileFormat::Toml));
    if let Some(path) = file {
        if !path.is_file() {
            return Err(ConfigError::Layers(format!(
                "--config {}: no such file",
                path.display()
            )));
        }
        builder = builder.add_source(File::from(path).format(FileFormat::Toml));
    }
    // Only our prefix is handed over, so unrelated variables never matter.
    let ours: config::Map<String, String> = env
        .iter()
        .filter(|(k, _)| k.starts_with(&format!("{ENV_PREFIX}__")))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    builder = builder.add_source(
        Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .list_separator(",")
            .with_list_parse_key("telegram.allowed_chat_ids")
            .with_list_parse_key("telegram.admin_chat_ids")
            .with_list_parse_key("web.trusted_proxies")
            .with_list_parse_key("web.frame_ancestors")
            .with_list_parse_key("alerts.defaults")
            .with_list_parse_key("portfolio.asset_classes")
            .source(Some(ours)),
    );
    let layered = builder
        .build()
        .map_err(|e| ConfigError::Layers(e.to_string()))?;
    layered
        .try_deserialize::<Settings>()
        .map_err(|e| ConfigError::Layers(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn repo_env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        // No universe path: the built-in one works from any directory.
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load(pairs: &[(&str, &str)]) -> Result<AppConfig, ConfigError> {
        AppConfig::load_with_env(None, repo_env(pairs))
    }

    #[test]
    fn defaults_match_the_documented_values() {
        let c = load(&[]).unwrap();
        assert_eq!(c.settings.market.provider, Provider::Alpaca);
        assert_eq!(c.screen.lookback_days, 180);
        assert_eq!(c.screen.min_history, 30);
        assert_eq!(c.screen.peak_basis, PeakBasis::High);
        assert_eq!(c.settings.screen.top_n, 10);
        assert_eq!(c.settings.portfolio.profit_target_pct, Decimal::ONE_HUNDRED);
        assert_eq!(c.settings.portfolio.top_positions, 5);
        assert_eq!(c.timezone, chrono_tz::America::New_York);
        assert_eq!(c.storage, StorageUrl::Local("./data".into()));
        assert_eq!(c.http_listen.to_string(), "127.0.0.1:9184");
        assert!(c.universe.len() > 900);
        assert!(c.settings.telegram.allowed_chat_ids.is_empty());
    }

    #[test]
    fn file_then_env_override_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("my.toml");
        std::fs::write(
            &file,
            "[screen]\ntop_n = 25\nlookback_days = 90\n[market]\nprovider = \"sim\"\n",
        )
        .unwrap();
        let env = repo_env(&[
            ("DIPWATCH__SCREEN__TOP_N", "7"),
            ("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", "11,-22"),
            ("DIPWATCH__PORTFOLIO__PROFIT_TARGET_PCT", "62.5"),
        ]);
        let c = AppConfig::load_with_env(Some(&file), env).unwrap();
        assert_eq!(c.settings.screen.top_n, 7, "env beats file");
        assert_eq!(c.screen.lookback_days, 90, "file beats default");
        assert_eq!(c.settings.market.provider, Provider::Sim);
        assert_eq!(c.settings.telegram.allowed_chat_ids, vec![11, -22]);
        // One id alone, as the README shows it.
        let one = load(&[("DIPWATCH__TELEGRAM__ADMIN_CHAT_IDS", "123456789")]).unwrap();
        assert_eq!(one.settings.telegram.admin_chat_ids, vec![123456789]);
        let bad = load(&[("DIPWATCH__TELEGRAM__ADMIN_CHAT_IDS", "12,abc")])
            .unwrap_err()
            .to_string();
        assert!(
            bad.contains("admin_chat_ids") || bad.contains("not a chat id"),
            "{bad}"
        );
        assert_eq!(c.settings.portfolio.profit_target_pct, Decimal::new(625, 1));
    }

    /// A chat id outside Telegram's range (teloxide panics on such an id
    /// when it sends) is refused at load, naming the key.
    #[test]
    fn chat_ids_outside_telegrams_range_are_refused_by_key() {
        for (key, ids) in [
            ("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", "111,2000000000000"),
            ("DIPWATCH__TELEGRAM__ADMIN_CHAT_IDS", "-1997852516353"),
            ("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", "0"),
        ] {
            let e = error_of(&[(key, ids)]);
            let name = key
                .trim_start_matches("DIPWATCH__TELEGRAM__")
                .to_lowercase();
            assert!(e.starts_with(&format!("telegram.{name}:")), "{e}");
            assert!(e.contains("not a Telegram chat id"), "{e}");
        }
        // The extremes of each kind are fine: users, groups, supergroups.
        let ok = load(&[(
            "DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS",
            "1,1099511627775,-1,-999999999999,-1000000000000,-1997852516352",
        )])
        .unwrap();
        assert_eq!(ok.settings.telegram.allowed_chat_ids.len(), 6);
        assert!(!is_telegram_chat_id(1 << 40));
        assert!(is_telegram_chat_id((1 << 40) - 1));
    }

    fn error_of(pairs: &[(&str, &str)]) -> String {
        load(pairs).unwrap_err().to_string()
    }

    #[test]
    fn the_trigger_cooldown_defaults_to_five_minutes_and_is_bounded() {
        assert_eq!(
            load(&[]).unwrap().settings.telegram.trigger_cooldown_secs,
            300
        );
        let off = load(&[("DIPWATCH__TELEGRAM__TRIGGER_COOLDOWN_SECS", "0")]).unwrap();
        assert_eq!(off.settings.telegram.trigger_cooldown_secs, 0);
        let e = error_of(&[("DIPWATCH__TELEGRAM__TRIGGER_COOLDOWN_SECS", "86401")]);
        assert!(e.starts_with("telegram.trigger_cooldown_secs:"), "{e}");
    }

    #[test]
    fn every_bad_value_names_its_key() {
        assert!(error_of(&[("DIPWATCH__MARKET__PROVIDER", "yahoo")]).contains("market.provider"));
        assert!(
            error_of(&[("DIPWATCH__SCHEDULE__COLLECT", "30 18 * * *")])
                .starts_with("schedule.collect:")
        );
        assert!(
            error_of(&[("DIPWATCH__SCHEDULE__COLLECT", "0 99 18 * * *")])
                .starts_with("schedule.collect:")
        );
        assert!(
            error_of(&[("DIPWATCH__SCHEDULE__TIMEZONE", "Mars/Olympus")])
                .starts_with("schedule.timezone:")
        );
        assert!(
            error_of(&[("DIPWATCH__MARKET__UNIVERSE", "/nonexistent/u.txt")])
                .starts_with("market.universe:")
        );
        assert!(
            error_of(&[("DIPWATCH__STORAGE__URL", "ftp://host/x")]).starts_with("storage.url:")
        );
        assert!(
            error_of(&[
                ("DIPWATCH__STORAGE__URL", "s3://bucket/lake"),
                ("DIPWATCH__STORAGE__OPTIONS__ENDPIONT", "http://x"),
            ])
            .starts_with("storage.options.endpiont: not an S3 option"),
            "a typo in an S3 option is named"
        );
        assert!(
            error_of(&[("DIPWATCH__STORAGE__OPTIONS__REGION", "eu-west-1")])
                .starts_with("storage.options.region: only an s3://")
        );
        assert!(error_of(&[("DIPWATCH__MARKET__FEED", "nasdaq")]).starts_with("market.feed:"));
        assert!(
            error_of(&[("DIPWATCH__MARKET__DATA_URL", "not a url")])
                .starts_with("market.data_url:")
        );
        assert!(
            error_of(&[("DIPWATCH__SCREEN__MIN_HISTORY", "500")])
                .starts_with("screen.min_history:")
        );
        assert!(error_of(&[("DIPWATCH__HTTP__LISTEN", "localhost")]).starts_with("http.listen:"));
        assert!(error_of(&[("DIPWATCH__SCREEN__TOP_N", "many")]).contains("top_n"));
        assert!(
            error_of(&[("DIPWATCH__ALERTS__DEFAULTS", "top zero")]).starts_with("alerts.defaults:")
        );
    }

    #[test]
    fn harmful_values_are_refused_with_their_key_and_bounds() {
        for (key, value, named) in [
            (
                "DIPWATCH__SCHEDULE__RETRY_INTERVAL_SECS",
                "0",
                "schedule.retry_interval_secs:",
            ),
            (
                "DIPWATCH__SCHEDULE__RETRY_WINDOW_SECS",
                "999999",
                "schedule.retry_window_secs:",
            ),
            (
                "DIPWATCH__SCHEDULE__COLLECT",
                "0 0 12 30 2 *",
                "schedule.collect:",
            ),
            (
                "DIPWATCH__PORTFOLIO__PROFIT_TARGET_PCT",
                "-100",
                "portfolio.profit_target_pct:",
            ),
            (
                "DIPWATCH__PORTFOLIO__PROFIT_TARGET_PCT",
                "0",
                "portfolio.profit_target_pct:",
            ),
            (
                "DIPWATCH__MARKET__UNIVERSE",
                "/dev/zero",
                "market.universe:",
            ),
            (
                "DIPWATCH__MARKET__UNIVERSE",
                "builtin:sp500",
                "market.universe:",
            ),
            ("DIPWATCH__STORAGE__URL", "s3:/bucket", "storage.url:"),
        ] {
            let err = error_of(&[(key, value)]);
            assert!(err.starts_with(named), "{key}={value}: {err}");
        }
        assert!(
            error_of(&[("DIPWATCH__SCHEDULE__COLLECT", "0 0 12 30 2 *")]).contains("never fires")
        );
        // Named choices list what exists, not a Rust enum.
        let provider = error_of(&[("DIPWATCH__MARKET__PROVIDER", "simulated")]);
        assert!(provider.contains("alpaca | sim"), "{provider}");
        assert!(!provider.contains("enum"), "{provider}");
        assert!(error_of(&[("DIPWATCH__LOG__FORMAT", "xml")]).contains("auto | json | text"));
        assert!(error_of(&[("DIPWATCH__SCREEN__PEAK_BASIS", "low")]).contains("high | close"));
    }

    #[test]
    fn web_proxies_limits_and_frame_origins_are_parsed_or_refused_by_key() {
        let c = load(&[
            ("DIPWATCH__WEB__TRUSTED_PROXIES", "127.0.0.1,10.0.0.0/8,::1"),
            (
                "DIPWATCH__WEB__FRAME_ANCESTORS",
                "https://web.telegram.org,https://webk.telegram.org",
            ),
        ])
        .unwrap();
        assert_eq!(c.web_trusted_proxies.len(), 3);
        assert!(c.web_trusted_proxies[1].contains("10.9.8.7".parse().unwrap()));
        assert_eq!(c.settings.web.frame_ancestors.len(), 2);
        assert_eq!(c.settings.web.sessions_per_chat, 10);
        assert_eq!(c.settings.web.max_connections, 512);
        for (key, value) in [
            ("DIPWATCH__WEB__TRUSTED_PROXIES", "10.0.0.0/33"),
            ("DIPWATCH__WEB__TRUSTED_PROXIES", "proxy.example"),
            ("DIPWATCH__WEB__FRAME_ANCESTORS", "https://a.example/path"),
            ("DIPWATCH__WEB__FRAME_ANCESTORS", "*"),
            ("DIPWATCH__WEB__SESSIONS_PER_CHAT", "0"),
            ("DIPWATCH__WEB__MAX_CONNECTIONS", "0"),
        ] {
            let e = error_of(&[(key, value)]);
            let named = key
                .trim_start_matches("DIPWATCH__WEB__")
                .to_ascii_lowercase();
            assert!(e.contains(&format!("web.{named}")), "{value}: {e}");
        }
        // Anonymous pages on a listener others reach, or behind a proxy: a warning.
        let open = load(&[
            ("DIPWATCH__WEB__ANONYMOUS_LOOPBACK", "true"),
            ("DIPWATCH__WEB__LISTEN", "0.0.0.0:9185"),
            ("DIPWATCH__WEB__TRUSTED_PROXIES", "127.0.0.1"),
        ])
        .unwrap();
        let keys: Vec<&str> = open.warnings.iter().map(|w| w.key.as_str()).collect();
        assert_eq!(keys, ["web.anonymous_loopback", "web.anonymous_loopback"]);
    }

    #[test]
    fn risky_values_pass_with_a_warning_naming_the_key() {
        assert!(load(&[]).unwrap().warnings.is_empty(), "the defaults warn");
        let c = load(&[
            ("DIPWATCH__SCHEDULE__COLLECT", "* * * * * *"),
            ("DIPWATCH__SCHEDULE__RETRY_INTERVAL_SECS", "1"),
            ("DIPWATCH__HTTP__LISTEN", "0.0.0.0:9184"),
        ])
        .unwrap();
        let keys: Vec<&str> = c.warnings.iter().map(|w| w.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "schedule.retry_interval_secs",
                "schedule.collect",
                "http.listen"
            ]
        );
        assert!(
            c.warnings[1].message.contains("every 1 s"),
            "{}",
            c.warnings[1]
        );
        assert!(
            c.warnings[2].message.contains("/metrics"),
            "{}",
            c.warnings[2]
        );
        // Once a year: sessions in between would be missed.
        let rare = load(&[("DIPWATCH__SCHEDULE__COLLECT", "0 0 12 1 1 *")]).unwrap();
        assert_eq!(rare.warnings.len(), 1);
        assert!(rare.warnings[0].message.contains("next fires"));
    }

    #[test]
    fn the_universe_is_built_in_and_a_file_may_start_with_a_bom() {
        let builtin = load(&[]).unwrap();
        assert_eq!(builtin.settings.market.universe, BUILTIN_UNIVERSE);
        assert!(builtin.universe.len() > 900);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("u.txt");
        std::fs::write(&file, "\u{feff}AAPL\nMSFT\n").unwrap();
        let c = load(&[("DIPWATCH__MARKET__UNIVERSE", file.to_str().unwrap())]).unwrap();
        let names: Vec<&str> = c.universe.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["AAPL", "MSFT"]);
        // Over 1 MiB is not a universe file.
        std::fs::write(&file, "AAPL\n".repeat(300_000)).unwrap();
        let err = error_of(&[("DIPWATCH__MARKET__UNIVERSE", file.to_str().unwrap())]);
        assert!(err.contains("larger than 1024 KiB"), "{err}");
    }

    #[test]
    fn a_secret_file_with_two_lines_is_refused_naming_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "PKFIRSTLINE\nsecond-line-secret\n").unwrap();
        let err = error_of(&[("APCA_API_SECRET_KEY_FILE", file.to_str().unwrap())]);
        assert!(err.starts_with("APCA_API_SECRET_KEY_FILE:"), "{err}");
        assert!(err.contains("more than one line"), "{err}");
        assert!(!err.contains("second-line-secret") && !err.contains("PKFIRSTLINE"));
        // One trailing newline (CRLF too) is still fine.
        std::fs::write(&file, "value\r\n").unwrap();
        assert!(load(&[("APCA_API_SECRET_KEY_FILE", file.to_str().unwrap())]).is_ok());
        // A file holding only a newline is "not set": the systemd unit's
        // fallback for an absent bot token (SetCredential=TELOXIDE_TOKEN:\n).
        std::fs::write(&file, "\n").unwrap();
        let c = load(&[("TELOXIDE_TOKEN_FILE", file.to_str().unwrap())]).unwrap();
        assert!(c.secrets.telegram_token.is_none());
    }

    #[test]
    fn the_printed_config_shows_numbers_as_numbers() {
        let printed = load(&[]).unwrap().redacted_toml();
        assert!(printed.contains("profit_target_pct = 100.0\n"), "{printed}");
    }

    #[test]
    fn unknown_keys_in_a_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("typo.toml");
        std::fs::write(&file, "[screen]\nlookback_dayz = 90\n").unwrap();
        let err = AppConfig::load_with_env(Some(&file), repo_env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("lookback_dayz"), "{err}");
        let missing = AppConfig::load_with_env(Some(&dir.path().join("nope.toml")), repo_env(&[]))
            .unwrap_err();
        assert!(missing.to_string().contains("nope.toml"));
    }

    #[test]
    fn secrets_come_from_env_file_or_credentials_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key_id"), "file-key-id-20-chars\n").unwrap();
        std::fs::write(dir.path().join("TELOXIDE_TOKEN"), "123:cred-token").unwrap();
        let file = dir.path().join("key_id").display().to_string();
        let creds = dir.path().display().to_string();
        let c = load(&[
            ("APCA_API_KEY_ID_FILE", &file),
            (
                "APCA_API_SECRET_KEY",
                "env-secret-of-the-forty-characters-alpac",
            ),
            ("CREDENTIALS_DIRECTORY", &creds),
        ])
        .unwrap();
        let id = c.secrets.alpaca_key_id.as_ref().unwrap();
        assert_eq!(id.value.expose_secret(), "file-key-id-20-chars");
        assert_eq!(id.source, SecretSource::File);
        assert_eq!(
            c.secrets.alpaca_secret_key.as_ref().unwrap().source,
            SecretSource::Env
        );
        let tok = c.secrets.telegram_token.as_ref().unwrap();
        assert_eq!(tok.value.expose_secret(), "123:cred-token");
        assert_eq!(tok.source, SecretSource::Credentials);
        assert!(c.alpaca_credentials().is_ok());
    }

    #[test]
    fn alpaca_keys_shorter_than_issued_are_refused_naming_the_variable() {
        let id = "PKABCDEFGHIJKLMNOPQR";
        let secret = "s".repeat(40);
        assert!(
            load(&[("APCA_API_KEY_ID", id), ("APCA_API_SECRET_KEY", &secret)])
                .unwrap()
                .alpaca_credentials()
                .is_ok()
        );
        for (short_id, short_secret, name, len, issued) in [
            ("PKSHORT", secret.as_str(), "APCA_API_KEY_ID", 7, 20),
            (
                id,
                "s3cr3t-39-characters-long-xxxxxxxxxxxxx",
                "APCA_API_SECRET_KEY",
                39,
                40,
            ),
        ] {
            let err = load(&[
                ("APCA_API_KEY_ID", short_id),
                ("APCA_API_SECRET_KEY", short_secret),
            ])
            .unwrap()
            .alpaca_credentials()
            .unwrap_err()
            .to_string();
            assert!(
                err.starts_with(&format!("{name}: {len} characters")),
                "{err}"
            );
            assert!(err.contains(&format!("with {issued}")), "{err}");
            assert!(
                !err.contains(short_id) && !err.contains(short_secret),
                "{err}"
            );
        }
    }

    #[test]
    fn unreadable_secret_file_is_an_error_naming_the_variable() {
        let err = load(&[("TELOXIDE_TOKEN_FILE", "/nonexistent/token")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("TELOXIDE_TOKEN_FILE:"), "{err}");
    }

    #[test]
    fn secrets_never_show_in_debug_or_the_printed_config() {
        let c = load(&[
            ("APCA_API_KEY_ID", "PKSECRETKEYID123"),
            ("APCA_API_SECRET_KEY", "very-secret-value-456"),
            ("TELOXIDE_TOKEN", "999:bot-token-789"),
            ("DIPWATCH__STORAGE__URL", "s3://bucket/lake"),
            (
                "DIPWATCH__STORAGE__OPTIONS__SECRET_ACCESS_KEY",
                "aws-secret-000",
            ),
        ])
        .unwrap();
        let debug = format!("{c:?}");
        let printed = c.redacted_toml();
        for secret in [
            "PKSECRETKEYID123",
            "very-secret-value-456",
            "999:bot-token-789",
            "aws-secret-000",
        ] {
            assert!(!debug.contains(secret), "Debug leaks {secret}");
            assert!(!printed.contains(secret), "check-config leaks {secret}");
        }
        assert!(
            printed.contains("APCA_API_KEY_ID = \"set (environment)\""),
            "{printed}"
        );
        assert!(
            printed.contains("secret_access_key = \"[redacted]\""),
            "{printed}"
        );
    }

    #[test]
    fn alpaca_without_keys_names_the_keys_and_the_demo() {
        let c = load(&[]).unwrap();
        let err = c.alpaca_credentials().unwrap_err().to_string();
        for needle in ["APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "config/demo.toml"] {
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn shipped_config_files_parse() {
        let demo = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/demo.toml"));
        let c = AppConfig::load_with_env(Some(demo), repo_env(&[])).unwrap();
        assert_eq!(c.settings.market.provider, Provider::Sim);
    }

    #[test]
    fn risk_settings_have_defaults_and_bad_values_name_their_key() {
        let c = load(&[]).unwrap();
        let r = &c.settings.risk;
        assert_eq!(
            (
                r.lookback,
                r.budget,
                r.cluster_correlation,
                r.duplicate_correlation,
                r.candidates
            ),
            (90, 0.02, 0.7, 0.8, 10)
        );
        let ok = load(&[("DIPWATCH__RISK__LOOKBACK", "250")]).unwrap();
        assert_eq!(ok.settings.risk.lookback, 250);
        for (var, value, key) in [
            ("DIPWATCH__RISK__LOOKBACK", "5", "risk.lookback"),
            ("DIPWATCH__RISK__LOOKBACK", "3000", "risk.lookback"),
            ("DIPWATCH__RISK__BUDGET", "0", "risk.budget"),
            ("DIPWATCH__RISK__BUDGET", "1.5", "risk.budget"),
            (
                "DIPWATCH__RISK__CLUSTER_CORRELATION",
                "-0.2",
                "risk.cluster_correlation",
            ),
            (
                "DIPWATCH__RISK__DUPLICATE_CORRELATION",
                "1.01",
                "risk.duplicate_correlation",
            ),
            ("DIPWATCH__RISK__CANDIDATES", "0", "risk.candidates"),
        ] {
            let err = load(&[(var, value)]).unwrap_err().to_string();
            assert!(err.contains(key), "{var}={value}: {err}");
        }
    }
}
