//! `dipwatch export`: one dataset over a date range as one CSV on stdout,
//! or the order and audit journal (`orders`).

use std::io::Write;
use std::process::ExitCode;

use chrono::NaiveDate;
use futures::StreamExt;

use super::{open_store_to_read, parse_date};
use crate::config::AppConfig;
use crate::journal::{Exported, Journal};
use crate::store::{Lake, PartRead};

/// `export` options.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Which dataset.
    #[arg(value_enum)]
    pub kind: Exported,
    /// First date (inclusive).
    #[arg(long, value_parser = parse_date)]
    pub from: Option<NaiveDate>,
    /// Last date (inclusive).
    #[arg(long, value_parser = parse_date)]
    pub to: Option<NaiveDate>,
}

/// Stream the dataset: the header once, then each published date's rows,
/// oldest first, as [`Lake::parts`] reads them. Objects that fail
/// verification are skipped and reported on stderr; everything else is
/// still exported.
pub async fn run(config: &AppConfig, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    if let (Some(from), Some(to)) = (args.from, args.to)
        && from > to
    {
        super::usage_error(format!(
            "--from {from} is after --to {to}: nothing could be exported"
        ));
    }
    let kind = match args.kind {
        Exported::Dataset(kind) => kind,
        Exported::Orders => return orders(config, args).await,
    };
    let lake = Lake::new(open_store_to_read(config).await?);
    let listing = lake.listing(args.from, args.to).await?;
    for w in listing.warnings() {
        eprintln!("warning: {w}");
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut write = |bytes: &[u8]| write_out(&mut out, bytes);
    if !write(kind.header().as_bytes())? {
        return Ok(ExitCode::SUCCESS);
    }
    let mut skipped = 0usize;
    let mut simulated = 0usize;
    let mut parts = std::pin::pin!(lake.parts(kind, listing.dates));
    while let Some(read) = parts.next().await {
        match read {
            PartRead::Part(part) => {
                simulated += usize::from(part.simulated);
                if !write(&part.body)? {
                    return Ok(ExitCode::SUCCESS);
                }
            }
            PartRead::Absent(_) => {}
            PartRead::Damaged(s) => {
                eprintln!("warning: skipping {} {}: {}", kind.name(), s.date, s.reason);
                skipped += 1;
            }
        }
    }
    flush(&mut out)?;
    // The CSV columns are the contract, so the marker goes to stderr.
    if simulated > 0 {
        eprintln!(
            "note: {simulated} exported date(s) hold simulated prices (market.provider = \"sim\"), not market data"
        );
    }
    if skipped > 0 {
        eprintln!("warning: {skipped} partition(s) skipped; the rest was exported");
    }
    Ok(ExitCode::SUCCESS)
}

/// Write `bytes`; `false` when the reader went away (`| head`), which ends
/// the export quietly.
fn write_out(out: &mut impl Write, bytes: &[u8]) -> anyhow::Result<bool> {
    match out.write_all(bytes) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Flush what is left (a closed pipe is not an error).
fn flush(out: &mut impl Write) -> anyhow::Result<()> {
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// The journal of `--from..=--to` (New York dates; every date without
/// them) as one CSV: its header, then every event in time order. An object
/// that cannot be read is skipped and named on stderr.
async fn orders(config: &AppConfig, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let journal = Journal::new(open_store_to_read(config).await?);
    let from = args.from.unwrap_or(NaiveDate::MIN);
    let to = args.to.unwrap_or(NaiveDate::MAX);
    let read = journal.range(from, to).await?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if write_out(&mut out, &crate::journal::encode(&read.events))? {
        flush(&mut out)?;
    }
    for s in &read.skipped {
        eprintln!("warning: skipping {}: {}", s.path, s.reason);
    }
    if !read.skipped.is_empty() {
        eprintln!(
            "warning: {} journal object(s) skipped; the rest was exported",
            read.skipped.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
