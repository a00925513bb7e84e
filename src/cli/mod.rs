//! The command line: one file per command, each a thin shell over the
//! library. Exit codes: 0 success, 1 failure (for the trading commands: a
//! refusal or the broker's error, in plain words), 2 bad usage or
//! configuration (and an order not confirmed), 75 (EX_TEMPFAIL) the day's
//! data is not available yet, another dipwatch holds the store, or the
//! store cannot be used to journal an order.

mod backtest;
mod check_config;
mod collect;
mod export;
mod healthcheck;
mod history;
mod lease;
mod order;
mod orders;
mod portfolio;
mod run;
mod screen;
mod table;
mod trading;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use crate::app::{open_store, open_store_to_read};
use crate::config::AppConfig;

/// Exit code for "the day's data is not published by the source yet".
pub const EXIT_TEMPFAIL: u8 = 75;
/// Exit code for a configuration or usage error.
pub const EXIT_CONFIG: u8 = 2;

/// dipwatch: a self-hosted stock drawdown screener.
#[derive(Debug, Parser)]
#[command(name = "dipwatch", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file layered over the built-in defaults (default:
    /// $DIPWATCH_CONFIG when set).
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: catch up on the latest session, then keep running.
    Run,
    /// Collect market data, screen it and publish the result to the store.
    Collect(collect::CollectArgs),
    /// Print the ranked drawdown screen from the store.
    Screen(screen::ScreenArgs),
    /// Stream one dataset as a single CSV to stdout, oldest first.
    Export(export::ExportArgs),
    /// The latest portfolio's risk (weights, volatility, correlations,
    /// clusters), candidates sized against it, and the strategy's exits.
    Portfolio(portfolio::PortfolioArgs),
    /// Validate the configuration and print it with secrets redacted.
    CheckConfig,
    /// Replay the contrarian strategy over the stored history and compare
    /// it with a benchmark (see `--help` for the exact rules).
    Backtest(Box<backtest::BacktestArgs>),
    /// Views over every stored session: market breadth, or one symbol's
    /// drawdown and rank, as a table, CSV or JSON, and as a chart.
    History(history::HistoryArgs),
    /// Ask the running daemon's /healthz on the configured http.listen;
    /// exit 0 when it answers, 1 otherwise (a container's HEALTHCHECK).
    Healthcheck,
    /// Preview an order and place it when confirmed (`buy`, `sell`), or
    /// cancel one (`cancel`). Needs trading.enabled.
    Order(order::OrderArgs),
    /// Orders from Alpaca (open ones, and today's), joined with the
    /// journal's record of who placed them.
    Orders(orders::OrdersArgs),
    /// The kill switch: `halt` cancels open orders and refuses new ones
    /// until `resume`; `status` says where it stands.
    Trading(trading::TradingArgs),
}

impl Command {
    /// Whether the command opens the HTTP listeners (`http.listen`,
    /// `web.listen`): only then are warnings about them worth a line.
    fn listens(&self) -> bool {
        matches!(self, Command::Run)
    }

    /// The exit code for a configuration that does not load: 2, except for
    /// `healthcheck`, which answers Docker's protocol (0 healthy, 1
    /// unhealthy; 2 is reserved there).
    fn config_error_exit(&self) -> u8 {
        if matches!(self, Command::Healthcheck) {
            1
        } else {
            EXIT_CONFIG
        }
    }

    /// Whether the command logs the configuration's warnings at all:
    /// check-config prints them itself, and a health probe (every 30 s in
    /// a container) must not repeat them into the health log.
    fn logs_warnings(&self) -> bool {
        !matches!(self, Command::CheckConfig | Command::Healthcheck)
    }
}

/// Whether a warning about `key` concerns a listener.
fn is_listener_key(key: &str) -> bool {
    matches!(key, "http.listen" | "web.listen")
}

/// Parse arguments, run the command, map the outcome to an exit code.
pub async fn main() -> ExitCode {
    let mut cli = Cli::parse();
    // A container's HEALTHCHECK runs `dipwatch healthcheck` with the
    // container's environment but not its arguments: DIPWATCH_CONFIG names
    // the file for every command alike.
    if cli.config.is_none() {
        cli.config = config_file_from_env(std::env::var_os(CONFIG_ENV));
    }
    let config = match AppConfig::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: configuration: {e}");
            return ExitCode::from(cli.command.config_error_exit());
        }
    };
    crate::telemetry::init(&config.log);
    // Logged once per command; a listener's only by the command that opens it.
    if cli.command.logs_warnings() {
        for w in &config.warnings {
            if is_listener_key(&w.key) && !cli.command.listens() {
                continue;
            }
            tracing::warn!(key = %w.key, "{}", w.message);
        }
    }
    let outcome = match &cli.command {
        Command::Run => run::run(&config, cli.config.as_deref()).await,
        Command::Collect(args) => collect::run(&config, args).await,
        Command::Screen(args) => screen::run(&config, args).await,
        Command::Export(args) => export::run(&config, args).await,
        Command::Portfolio(args) => portfolio::run(&config, args).await,
        Command::CheckConfig => check_config::run(&config).await,
        Command::Backtest(args) => backtest::run(&config, args).await,
        Command::History(args) => history::run(&config, args).await,
        Command::Healthcheck => healthcheck::run(&config).await,
        Command::Order(args) => order::run(&config, args).await,
        Command::Orders(args) => orders::run(&config, args).await,
        Command::Trading(args) => trading::run(&config, args).await,
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            // Not eprintln!: it panics when stderr is gone.
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            let config_error = e.downcast_ref::<crate::config::ConfigError>().is_some();
            ExitCode::from(if config_error { EXIT_CONFIG } else { 1 })
        }
    }
}

/// The environment variable naming the configuration file when `--config`
/// is not given.
pub const CONFIG_ENV: &str = "DIPWATCH_CONFIG";

/// The configuration file `DIPWATCH_CONFIG` names (unset or empty: none).
fn config_file_from_env(value: Option<std::ffi::OsString>) -> Option<PathBuf> {
    value.filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Stop with a usage error, as clap reports its own (exit 2, the usage
/// line): for argument combinations clap cannot check by itself.
fn usage_error(message: impl std::fmt::Display) -> ! {
    use clap::CommandFactory;
    Cli::command()
        .error(clap::error::ErrorKind::ValueValidation, message)
        .exit()
}

/// Parse `YYYY-MM-DD` for clap.
fn parse_date(s: &str) -> Result<NaiveDate, String> {
    s.parse()
        .map_err(|_| format!("{s:?} is not a date in YYYY-MM-DD form"))
}

/// Prove the store takes writes before spending anything on a run that
/// could not publish.
async fn probe_store(store: &crate::store::Store) -> anyhow::Result<()> {
    store.probe_write().await.map_err(|e| {
        crate::config::ConfigError::Unusable(format!(
            "storage.url: the store cannot be written: {e}"
        ))
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_non_empty_config_variable_names_a_file() {
        assert_eq!(config_file_from_env(None), None);
        assert_eq!(config_file_from_env(Some("".into())), None);
        assert_eq!(
            config_file_from_env(Some("/etc/dipwatch/dipwatch.toml".into())),
            Some(PathBuf::from("/etc/dipwatch/dipwatch.toml"))
        );
    }

    #[test]
    fn only_run_opens_listeners_and_logs_their_warnings() {
        assert!(Command::Run.listens());
        assert!(!Command::CheckConfig.listens());
        assert!(!Command::Healthcheck.listens());
        assert!(!Command::Healthcheck.logs_warnings());
        assert!(Command::Run.logs_warnings());
        assert!(is_listener_key("http.listen") && is_listener_key("web.listen"));
        assert!(!is_listener_key("schedule.collect"));
    }

    #[test]
    fn a_health_probe_never_exits_with_dockers_reserved_2() {
        assert_eq!(Command::Healthcheck.config_error_exit(), 1);
        assert_eq!(Command::Run.config_error_exit(), EXIT_CONFIG);
        assert_eq!(Command::CheckConfig.config_error_exit(), EXIT_CONFIG);
    }
}
