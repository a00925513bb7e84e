//! `dipwatch history`: the screen over every stored session. `breadth`
//! prints names ranked, down 20% and 30% or more, and the median drawdown
//! per session; `drawdown TICKER` one symbol's close, drawdown and rank per
//! session. Both read the screens as published ([`crate::screen_history`]),
//! so every session is the screen the bot and the alerts saw, and can be
//! drawn over the span as PNG or SVG.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;
use serde::Serialize;

use super::{open_store_to_read, parse_date};
use crate::chart::{self, Breadth, Figure, RankHistory, Style};
use crate::config::AppConfig;
use crate::numbers::{price, signed_pct, thousands};
use crate::screen_history;
use crate::store::Lake;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned table for people.
    Table,
    /// CSV with a header line.
    Csv,
    /// A JSON array, one object per session.
    Json,
}

/// `history` options.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Which view.
    #[command(subcommand)]
    pub view: View,
}

/// The views.
#[derive(Debug, clap::Subcommand)]
pub enum View {
    /// Market breadth per session: names ranked, down 20%+ and 30%+, median drawdown.
    Breadth(Span),
    /// One symbol's close, drawdown and rank per session.
    Drawdown {
        /// The symbol.
        ticker: String,
        /// The period and the outputs.
        #[command(flatten)]
        span: Span,
    },
}

/// The period and the outputs of a view.
#[derive(Debug, clap::Args)]
pub struct Span {
    /// First session (default: the first stored).
    #[arg(long, value_parser = parse_date)]
    pub from: Option<NaiveDate>,
    /// Last session (default: the latest published).
    #[arg(long, value_parser = parse_date)]
    pub to: Option<NaiveDate>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also draw the view over the period as a PNG (1200 x 800).
    #[arg(long, value_name = "FILE")]
    pub png: Option<PathBuf>,
    /// Also draw it as an SVG.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

/// Report the dates passed over and simulated prices on stderr; returns
/// `simulated`.
fn warn(skipped: &[crate::store::Skipped], simulated: bool) -> bool {
    for s in skipped {
        eprintln!("warning: skipping {}: {}", s.date, s.reason);
    }
    if simulated {
        eprintln!("note: simulated prices (market.provider = \"sim\"), not market data");
    }
    simulated
}

/// Print a view (and draw it when asked).
pub async fn run(config: &AppConfig, args: &HistoryArgs) -> anyhow::Result<ExitCode> {
    let (span, ticker) = match &args.view {
        View::Breadth(span) => (span, None),
        View::Drawdown { ticker, span } => {
            let symbol = crate::domain::Symbol::parse(ticker.trim_start_matches('$'))
                .unwrap_or_else(|e| super::usage_error(format!("{ticker:?}: {e}")));
            (span, Some(symbol))
        }
    };
    if let (Some(f), Some(t)) = (span.from, span.to)
        && f > t
    {
        super::usage_error(format!("--from {f} is after --to {t}"));
    }
    let store = open_store_to_read(config).await?;
    let lake = Lake::new(store.clone());
    let nothing = || {
        anyhow::anyhow!(
            "no screens published in {} for this period: backfill with `dipwatch collect --from YYYY-MM-DD`",
            store.url()
        )
    };
    let (out, figure) = match ticker {
        None => {
            let read = lake
                .screens(span.from, span.to, |m, rows| {
                    screen_history::breadth(m.date, rows)
                })
                .await?;
            let simulated = warn(&read.skipped, read.simulated);
            if read.screens.is_empty() {
                return Err(nothing());
            }
            let points: Vec<_> = read.screens.into_iter().flatten().collect();
            let out = render(&points, span.format, breadth_table)?;
            let figure = Figure::Breadth(Breadth { points, simulated });
            (out, figure)
        }
        Some(symbol) => {
            let read = lake
                .screens(span.from, span.to, |m, rows| {
                    screen_history::symbol(m.date, rows, &symbol)
                })
                .await?;
            let simulated = warn(&read.skipped, read.simulated);
            if read.screens.is_empty() {
                return Err(nothing());
            }
            let points: Vec<_> = read.screens.into_iter().flatten().collect();
            if points.is_empty() {
                return Err(never_ranked(config, &symbol));
            }
            let out = render(&points, span.format, symbol_table)?;
            let figure = Figure::RankHistory(RankHistory {
                symbol,
                points: points.iter().map(Into::into).collect(),
                simulated,
            });
            (out, figure)
        }
    };
    print!("{out}");
    draw(&figure, span)?;
    Ok(ExitCode::SUCCESS)
}

/// Why `symbol` has no row in any screen of the period: outside the
/// universe (perhaps the benchmark), or never enough history.
fn never_ranked(config: &AppConfig, symbol: &crate::domain::Symbol) -> anyhow::Error {
    if !config.universe.contains(symbol) {
        return anyhow::anyhow!(
            "{symbol} is not in the universe (market.universe): it is never ranked{}",
            if config.backtest.benchmark_symbol().as_ref() == Some(symbol) {
                " (it is the benchmark, collected beside the universe)"
            } else {
                ""
            }
        );
    }
    anyhow::anyhow!(
        "{symbol} is never ranked in this period's published screens (fewer than [screen] min_history = {} bars in its window, or no bar on the date)",
        config.screen.params.min_history
    )
}

/// Write the figure to the files `--png` and `--svg` name.
fn draw(figure: &Figure, span: &Span) -> anyhow::Result<()> {
    if let Some(path) = &span.png {
        let png = chart::png(figure, &Style::PHOTO)?;
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &span.svg {
        let svg = chart::svg(figure, &Style::PHOTO)?;
        std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// `points` in `format` (`table` by `table`).
fn render<T: Serialize>(
    points: &[T],
    format: Format,
    table: fn(&[T]) -> String,
) -> anyhow::Result<String> {
    Ok(match format {
        Format::Table => table(points),
        Format::Json => serde_json::to_string_pretty(points)? + "\n",
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            for p in points {
                w.serialize(p)?;
            }
            String::from_utf8(w.into_inner().map_err(|e| e.into_error())?)?
        }
    })
}

fn breadth_table(points: &[chart::BreadthPoint]) -> String {
    let mut out = format!(
        "{:<10}  {:>7}  {:>9}  {:>9}  {:>9}\n",
        "date", "ranked", "down 20%+", "down 30%+", "median"
    );
    for p in points {
        let _ = writeln!(
            out,
            "{:<10}  {:>7}  {:>9}  {:>9}  {:>9}",
            p.date,
            thousands(p.ranked as u64),
            thousands(p.down_20 as u64),
            thousands(p.down_30 as u64),
            signed_pct(p.median_pct)
        );
    }
    out
}

fn symbol_table(points: &[screen_history::SymbolSession]) -> String {
    let mut out = format!(
        "{:<10}  {:>10}  {:>9}  {:>11}\n",
        "date", "close", "drawdown", "rank"
    );
    for p in points {
        let _ = writeln!(
            out,
            "{:<10}  {:>10}  {:>9}  {:>11}",
            p.date,
            price(p.close),
            signed_pct(p.drawdown_pct),
            format!("{} of {}", p.rank, p.ranked)
        );
    }
    out
}
