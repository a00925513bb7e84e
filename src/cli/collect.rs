//! `dipwatch collect`: one collection run from the configured provider.

use std::process::ExitCode;

use anyhow::Context;
use chrono::{NaiveDate, Utc};

use super::{EXIT_TEMPFAIL, open_store, parse_date, probe_store};
use crate::collect::{Collector, Dates};
use crate::config::AppConfig;
use crate::domain::{RunOutcome, RunReport};
use crate::market::calendar::exchange_date;

/// `collect` options.
#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// Collect this session (default: the latest closed session).
    #[arg(long, value_parser = parse_date, conflicts_with_all = ["from", "to"])]
    pub date: Option<NaiveDate>,
    /// Backfill every session from this date...
    #[arg(long, value_parser = parse_date)]
    pub from: Option<NaiveDate>,
    /// ...to this date (inclusive; default: the latest closed session).
    #[arg(long, value_parser = parse_date, requires = "from")]
    pub to: Option<NaiveDate>,
    /// Only re-collect the dates whose symbols failed before (the retry queue).
    #[arg(long, conflicts_with_all = ["date", "from", "to"])]
    pub retry_failed: bool,
    /// Take the store's writer lease even from a running dipwatch (two
    /// writers until it notices: see docs/OPERATIONS.md).
    #[arg(long)]
    pub force_lease: bool,
}

impl CollectArgs {
    /// The dates asked for, as of `today` (the exchange's date): `--from`
    /// alone runs to today, and the plan keeps only closed sessions, so the
    /// range ends at the latest closed one.
    fn dates(&self, today: NaiveDate) -> Dates {
        if self.retry_failed {
            return Dates::RetryFailed;
        }
        match (self.date, self.from, self.to) {
            (Some(d), _, _) => Dates::One(d),
            (None, Some(from), to) => Dates::Range {
                from,
                to: to.unwrap_or(today),
            },
            _ => Dates::Latest,
        }
    }
}

/// Run the collection and print one line per date.
pub async fn run(config: &AppConfig, args: &CollectArgs) -> anyhow::Result<ExitCode> {
    let connected = crate::provider::connect(&config.market, &config.universe, &config.secrets)?;
    let (store, writer) = match writable_store(config, args.force_lease).await? {
        Ok(taken) => taken,
        Err(refused) => return Ok(refused),
    };
    let settings = crate::app::collect_settings(config);
    let collector = Collector {
        settings: &settings,
        market: connected.market.as_ref(),
        broker: connected.broker.as_deref(),
        store: &store,
    };
    let now = Utc::now();
    let result = collector.run(args.dates(exchange_date(now)), now).await;
    writer.release().await;
    let reports = result.context("collection failed, nothing published for the requested date")?;
    if reports.is_empty() {
        println!("retry queue is empty: nothing to re-collect");
    }
    let mut not_available = false;
    let mut failed = false;
    for r in &reports {
        match r.outcome {
            RunOutcome::Published => print_published(r),
            RunOutcome::DataNotAvailable => {
                not_available = true;
                println!(
                    "{}  not published: {}",
                    r.date,
                    r.reason.as_deref().unwrap_or("unknown")
                );
            }
            RunOutcome::Failed => {
                failed = true;
                eprintln!(
                    "error: {}  not published (the dates above are): {}",
                    r.date,
                    r.reason.as_deref().unwrap_or("unknown")
                );
            }
        }
    }
    println!("store: {}", store.url());
    Ok(if failed {
        ExitCode::FAILURE
    } else if not_available {
        ExitCode::from(EXIT_TEMPFAIL)
    } else {
        ExitCode::SUCCESS
    })
}

/// The store, fenced by the writer lease this command now holds, probed
/// and swept; or the exit code of a refusal (another dipwatch writes it).
async fn writable_store(
    config: &AppConfig,
    force_lease: bool,
) -> anyhow::Result<Result<(crate::store::Store, super::lease::Writer), ExitCode>> {
    let store = open_store(config).await?;
    let taken = super::lease::take(config, store, "collect", force_lease).await?;
    if let Ok((store, _)) = &taken {
        probe_store(store).await?;
        store.sweep_staging(std::time::Duration::from_secs(600));
    }
    Ok(taken)
}

/// A published date's line, then its failed symbols (the first five) and
/// those the retry queue gave up on.
fn print_published(r: &RunReport) {
    let label = if r.simulated {
        "  [simulated prices]"
    } else {
        ""
    };
    println!(
        "{}  published  {} ranked, {} skipped, {} failed{label}",
        r.date, r.symbols.ok, r.symbols.skipped, r.symbols.failed
    );
    for f in r.failed.iter().take(5) {
        // A refused ticker will not get better by retrying:
        // say so where the user reads it.
        let fix = if r.refused.contains(&f.symbol) {
            " (not retried: fix the universe)"
        } else {
            ""
        };
        println!("    failed {}: {}{fix}", f.symbol, f.reason);
    }
    if r.failed.len() > 5 {
        println!(
            "    ... and {} more (see runs/date={}/run.json)",
            r.failed.len() - 5,
            r.date
        );
    }
    for g in &r.gave_up {
        println!("    gave up on {}: {}", g.symbol, g.reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::d;
    use clap::Parser;

    fn args(argv: &[&str]) -> CollectArgs {
        #[derive(Parser)]
        struct Wrap {
            #[command(flatten)]
            args: CollectArgs,
        }
        let mut full = vec!["collect"];
        full.extend_from_slice(argv);
        Wrap::try_parse_from(full).unwrap().args
    }

    #[test]
    fn from_alone_runs_to_the_exchange_date() {
        let today = d("2026-11-25");
        assert_eq!(
            args(&["--from", "2026-11-02"]).dates(today),
            Dates::Range {
                from: d("2026-11-02"),
                to: today
            }
        );
        assert_eq!(
            args(&["--from", "2026-11-02", "--to", "2026-11-10"]).dates(today),
            Dates::Range {
                from: d("2026-11-02"),
                to: d("2026-11-10")
            }
        );
        assert_eq!(args(&[]).dates(today), Dates::Latest);
        assert_eq!(
            args(&["--date", "2026-11-20"]).dates(today),
            Dates::One(d("2026-11-20"))
        );
    }

    #[test]
    fn to_alone_is_a_usage_error() {
        #[derive(Parser, Debug)]
        struct Wrap {
            #[command(flatten)]
            args: CollectArgs,
        }
        let e = Wrap::try_parse_from(["collect", "--to", "2026-11-10"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }
}
