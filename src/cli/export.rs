//! `dipwatch export`: one dataset over a date range as one CSV on stdout.

use std::io::Write;
use std::process::ExitCode;

use chrono::NaiveDate;

use super::{open_store_to_read, parse_date};
use crate::config::AppConfig;
use crate::store::{Dataset, rows_in_current_layout};

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
/// oldest first. Objects that fail verification are skipped and reported
/// on stderr; everything else is still exported.
pub async fn run(config: &AppConfig, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    if let (Some(from), Some(to)) = (args.from, args.to)
        && from > to
    {
        super::usage_error(format!(
            "--from {from} is after --to {to}: nothing could be exported"
        ));
    }
    let store = open_store_to_read(config).await?;
    let listing = store.published_dates().await?;
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
    let header = format!("{}\n", args.kind.columns().join(","));
    if !write(header.as_bytes())? {
        return Ok(ExitCode::SUCCESS);
    }
    let mut skipped = 0usize;
    let mut simulated = 0usize;
    let in_range =
        |d: &NaiveDate| args.from.is_none_or(|f| *d >= f) && args.to.is_none_or(|t| *d <= t);
    for date in listing.dates.iter().filter(|d| in_range(d)) {
        let bytes = match store.manifest(*date).await {
            Ok(Some(m)) => {
                simulated += usize::from(m.report.simulated);
                store.read_verified(&m, args.kind).await
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        let bytes = match bytes {
            Ok(Some(b)) => b,
            Ok(None) => continue,
            Err(e) => {
                eprintln!("warning: skipping {} {date}: {e}", args.kind.name());
                skipped += 1;
                continue;
            }
        };
        // Verified content starts with our own header line (this layout's
        // or the previous one's): the rows, in this layout's columns.
        let body = match rows_in_current_layout(args.kind, &bytes) {
            Ok(body) => body,
            Err(e) => {
                eprintln!("warning: skipping {} {date}: {e}", args.kind.name());
                skipped += 1;
                continue;
            }
        };
        if !write(&body)? {
            return Ok(ExitCode::SUCCESS);
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
