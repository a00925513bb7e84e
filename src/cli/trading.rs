//! `dipwatch trading halt|resume|status`: the kill switch kept in the store,
//! shared with the daemon (halting cancels the open orders placed through
//! dipwatch and refuses new ones until resumed). Also what every trading
//! command shares: the service from the configuration and one mapping of
//! its refusals to exit codes.

use std::process::ExitCode;

use anyhow::Context as _;

use super::{EXIT_TEMPFAIL, open_store};
use crate::config::{AppConfig, ConfigError};
use crate::numbers::qty;
use crate::trading::{Actor, Refusal, Trading};

/// `trading` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum TradingCommand {
    /// Turn the kill switch on: cancel the open orders placed through
    /// dipwatch and refuse new ones (here, in the bot and on the
    /// dashboard) until `trading resume`.
    Halt,
    /// Turn the kill switch off: orders may be placed again.
    Resume,
    /// Say whether trading is halted, since when and by whom.
    Status,
}

/// `trading` options.
#[derive(Debug, clap::Args)]
pub struct TradingArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TradingCommand,
}

/// The trading service the configuration describes, or the exit code of
/// why there is none (said on stderr): trading off is a refusal (1), a
/// store that cannot be opened is 75.
pub(super) async fn service(config: &AppConfig) -> anyhow::Result<Result<Trading, ExitCode>> {
    if !config.trading.enabled {
        return Ok(Err(refused(&Refusal::Disabled)));
    }
    // The simulated market cannot trade: the configuration's error (exit 2).
    crate::trading::build::refuse_sim(config).map_err(|e| ConfigError::Unusable(e.to_string()))?;
    let store = match open_store(config).await {
        Ok(s) => s,
        // A setting the store refuses is the configuration's error (exit 2).
        Err(e) if e.downcast_ref::<ConfigError>().is_some() => return Err(e),
        Err(e) => {
            eprintln!("error: the store cannot be used: {e:#}");
            return Ok(Err(ExitCode::from(EXIT_TEMPFAIL)));
        }
    };
    let trading = crate::trading::build(config, store)
        .await
        .context("trading")?
        .ok_or_else(|| anyhow::anyhow!("{}", Refusal::Disabled))?;
    Ok(Ok(trading))
}

/// The exit code of a refusal: 75 when the store (the journal, the kill
/// switch) cannot be used, 1 otherwise. Nothing was sent unless the
/// refusal says so.
pub(super) fn exit_code(refusal: &Refusal) -> ExitCode {
    match refusal {
        Refusal::Journal(_) | Refusal::Store(_) => ExitCode::from(EXIT_TEMPFAIL),
        _ => ExitCode::FAILURE,
    }
}

/// Say `refusal` in its words on stderr; its exit code.
pub(super) fn refused(refusal: &Refusal) -> ExitCode {
    eprintln!("error: {refusal}");
    exit_code(refusal)
}

/// Halt, resume, or say where the kill switch stands.
pub async fn run(config: &AppConfig, args: &TradingArgs) -> anyhow::Result<ExitCode> {
    let trading = match service(config).await? {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    let actor = Actor::cli();
    let outcome = match args.command {
        TradingCommand::Halt => trading.halt(&actor).await.map(|canceled| {
            println!("Trading halted: new orders are refused until `dipwatch trading resume`.");
            if canceled.is_empty() {
                println!("No open order placed through dipwatch to cancel.");
            }
            for o in &canceled {
                println!(
                    "Asked to cancel {} {} {} {} ({}, was {})",
                    o.id,
                    o.side,
                    o.qty.map_or_else(|| "-".into(), qty),
                    o.symbol,
                    o.client_order_id,
                    o.status
                );
            }
        }),
        TradingCommand::Resume => trading
            .resume(&actor)
            .await
            .map(|()| println!("Trading resumed: orders may be placed again.")),
        TradingCommand::Status => trading.halted().await.map(|halt| match halt {
            Some(h) => println!(
                "Halted since {} UTC by {}.",
                h.since.format("%Y-%m-%d %H:%M:%S"),
                h.by
            ),
            None => println!(
                "Not halted: orders may be placed ({}).",
                trading.mode().as_str()
            ),
        }),
    };
    Ok(match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(r) => refused(&r),
    })
}
