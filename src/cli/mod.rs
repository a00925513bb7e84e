//! The command line: one file per command, each a thin shell over the
//! library. Exit codes: 0 success, 1 failure, 2 bad usage or configuration,
//! 75 (EX_TEMPFAIL) the day's data is not available yet.

mod backtest;
mod check_config;
mod collect;
mod export;
mod history;
mod portfolio;
mod run;
mod screen;

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
    /// Configuration file layered over the built-in defaults.
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
}

/// Parse arguments, run the command, map the outcome to an exit code.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match AppConfig::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: configuration: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    crate::telemetry::init(&config.settings.log);
    // check-config prints them itself; every other command logs them once.
    if !matches!(cli.command, Command::CheckConfig) {
        for w in &config.warnings {
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
