//! `dipwatch screen`: the ranked screen of a published date.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use serde::Serialize;

use super::{open_store_to_read, parse_date};
use crate::config::AppConfig;
use crate::domain::{DrawdownRow, RunReport};
use crate::numbers::{price, signed_pct, thousands};
use crate::store::Lake;
use crate::store::{Dataset, RunManifest, Store, encode};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned table for people.
    Table,
    /// The `drawdowns.csv` columns.
    Csv,
    /// One JSON document.
    Json,
}

/// `screen` options.
#[derive(Debug, clap::Args)]
pub struct ScreenArgs {
    /// Rows to show (default `screen.top_n`; 0 = all).
    #[arg(long)]
    pub top: Option<usize>,
    /// Screen date (default: the latest published).
    #[arg(long, value_parser = parse_date)]
    pub date: Option<NaiveDate>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Print the screen.
pub async fn run(config: &AppConfig, args: &ScreenArgs) -> anyhow::Result<ExitCode> {
    if let Some(d) = args.date
        && !crate::market::calendar::is_trading_day(d)
    {
        super::usage_error(format!(
            "{d} ({}) is not a trading session: the exchange was closed; screens exist only for sessions",
            d.format("%A")
        ));
    }
    let store = open_store_to_read(config).await?;
    let (manifest, rows) = load(&store, args.date).await?;
    let top = match args.top.unwrap_or(config.screen.top_n) {
        0 => rows.len(),
        n => n.min(rows.len()),
    };
    let shown = &rows[..top];
    let out = match args.format {
        Format::Table => render_table(&manifest.report, shown, rows.len()),
        Format::Csv => {
            if manifest.report.simulated {
                eprintln!("note: simulated prices (market.provider = \"sim\"), not market data");
            }
            String::from_utf8(encode(Dataset::Drawdowns, shown)?.0)?
        }
        Format::Json => render_json(&manifest.report, shown, rows.len())?,
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// The screen of `date`, or of the newest published date that reads
/// cleanly (a damaged newer date is reported and passed over), as the read
/// path gives it.
async fn load(
    store: &Store,
    date: Option<NaiveDate>,
) -> anyhow::Result<(RunManifest, Vec<DrawdownRow>)> {
    let lake = Lake::new(store.clone());
    if let Some(d) = date {
        let found = lake
            .screen_of(d)
            .await?
            .with_context(|| format!("no screen published for {d} in {}", store.url()))?;
        return Ok((found.manifest, found.rows));
    }
    let latest = lake.latest_screen().await?;
    for w in &latest.ignored {
        eprintln!("warning: {w}");
    }
    for s in &latest.skipped {
        eprintln!("warning: skipping {}: {}", s.date, s.reason);
    }
    let Some(found) = latest.screen else {
        bail!(
            "no screen published in {} yet: run `dipwatch collect` first",
            store.url()
        )
    };
    Ok((found.manifest, found.rows))
}

/// The aligned table, with the simulated-data marker when it applies.
pub fn render_table(report: &RunReport, rows: &[DrawdownRow], ranked: usize) -> String {
    let mut out = String::new();
    let _ = write!(out, "Drawdown screen for {}", report.date);
    if report.simulated {
        out.push_str("  [SIMULATED PRICES, not market data]");
    }
    out.push('\n');
    let header = [
        "rank",
        "symbol",
        "drawdown",
        "price",
        "peak",
        "peak date",
        "days",
        "volume",
    ];
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.rank.to_string(),
                r.symbol.to_string(),
                signed_pct(r.drawdown_pct),
                price(r.current_price),
                price(r.peak_price),
                r.peak_date.to_string(),
                r.days_since_peak.to_string(),
                thousands(r.volume),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cols: &[&str]| {
        let mut l = String::new();
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            // Text columns left-aligned, numbers right-aligned.
            if i == 1 || i == 5 {
                let _ = write!(l, "{c:<w$}");
            } else {
                let _ = write!(l, "{c:>w$}");
            }
        }
        l.truncate(l.trim_end().len());
        l.push('\n');
        l
    };
    out.push_str(&line(&header));
    for row in &cells {
        let refs: Vec<&str> = row.iter().map(String::as_str).collect();
        out.push_str(&line(&refs));
    }
    let _ = writeln!(
        out,
        "{} of {ranked} ranked; {} skipped, {} failed of {} requested ({})",
        rows.len(),
        report.symbols.skipped,
        report.symbols.failed,
        report.symbols.requested,
        report.provider
    );
    out
}

/// The JSON document.
fn render_json(report: &RunReport, rows: &[DrawdownRow], ranked: usize) -> anyhow::Result<String> {
    #[derive(Serialize)]
    struct Doc<'a> {
        date: NaiveDate,
        provider: &'a str,
        simulated: bool,
        ranked: usize,
        skipped: usize,
        rows: &'a [DrawdownRow],
    }
    let mut s = serde_json::to_string_pretty(&Doc {
        date: report.date,
        provider: &report.provider,
        simulated: report.simulated,
        ranked,
        skipped: report.symbols.skipped,
        rows,
    })?;
    s.push('\n');
    Ok(s)
}
