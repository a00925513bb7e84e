//! `dipwatch export`: one dataset over a date range as one CSV on stdout.

use std::io::Write;
use std::process::ExitCode;

use chrono::NaiveDate;
use futures::StreamExt;

use super::{open_store_to_read, parse_date};
use crate::config::AppConfig;
use crate::store::{Dataset, Lake, PartRead};

/// `export` options.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Which dataset.
    #[arg(value_enum)]
    pub kind: Dataset,
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
    let lake = Lake::new(open_store_to_read(config).await?);
    let listing = lake.listing(args.from, args.to).await?;
    for w in listing.warnings() {
        eprintln!("warning: {w}");
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut write = |bytes: &[u8]| -> anyhow::Result<bool> {
        match out.write_all(bytes) {
            Ok(()) => Ok(true),
            // A closed pipe (`| head`) ends the export quietly.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err(e.into()),
        }
    };
    if !write(args.kind.header().as_bytes())? {
        return Ok(ExitCode::SUCCESS);
    }
    let mut skipped = 0usize;
    let mut simulated = 0usize;
    let mut parts = std::pin::pin!(lake.parts(args.kind, listing.dates));
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
                eprintln!(
                    "warning: skipping {} {}: {}",
                    args.kind.name(),
                    s.date,
                    s.reason
                );
                skipped += 1;
            }
        }
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
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
