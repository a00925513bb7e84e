//! `dipwatch backtest`: replay the contrarian strategy over the lake's
//! history, store the result under `backtests/id=<id>/`, print it; `--show`
//! prints a stored one, `--sweep` runs a parameter grid on every core.

use std::process::ExitCode;

use anyhow::anyhow;
use chrono::NaiveDate;
use serde::Serialize;

use super::open_store_to_read;
use crate::backtest::Trade;
use crate::backtest::args::{self, Overrides};
use crate::backtest::job::{self, Outcome, Prepared};
use crate::backtest::report::{self, EquityRow, Summary};
use crate::backtest::stored;
use crate::backtest::sweep::{self, SortBy};
use crate::config::{AppConfig, BacktestSettings};
use crate::query::Lake;
use crate::store::Store;
use crate::strategy::{Fill, Rebalance, Sizing};

/// The strategy, exactly, for `--help`.
const STRATEGY: &str = "\
The strategy, exactly:
  Decisions on each rebalance session (daily; weekly = first session of the
  week; monthly = first of the month), from bars up to that session only,
  ranked by the screen's drawdown definition ([screen] lookback, peak basis,
  min history).
  Entries: the best-ranked names not held whose drawdown is at or below
  --entry, until --top are held; each buys equity/top (equal) or the new
  names share it by inverse 60-session volatility; never more than the cash.
  Exits on every close: take-profit, stop-loss, max hold, then the portfolio
  rule ([portfolio] top_positions averaging profit_target_pct: sell them).
  Fills at the next open (or at the decision close: optimistic, labelled);
  slippage in basis points and a commission per fill. A held name without a
  bar for backtest.delist_after sessions in a row is taken as delisted and
  sold at its last close less backtest.delist_haircut_pct, with a warning;
  a shorter gap is a halt, held at its last close. Nothing after a session
  is used on it.
  Benchmark: backtest.benchmark bought and held, or the equal-weight universe.
Every output states the period covered and that the universe is today's
list (survivorship bias: results are biased upward).";

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Notes, the figures side by side, monthly returns.
    Table,
    /// One JSON document: `metrics`, `equity`, `trades` and the rest.
    Json,
    /// The daily equity curve: date, equity, benchmark.
    Csv,
}

/// `backtest` options; each strategy option overrides `[backtest]`. The
/// values are read by [`crate::backtest::args`], as the bot reads them.
#[derive(Debug, clap::Args)]
#[command(after_long_help = STRATEGY)]
pub struct BacktestArgs {
    /// First session simulated (default: once the ranking has a full lookback).
    #[arg(long, value_parser = args::date)]
    pub from: Option<NaiveDate>,
    /// Last session simulated (default: the latest published).
    #[arg(long, value_parser = args::date)]
    pub to: Option<NaiveDate>,
    /// Positions held at most.
    #[arg(long, value_parser = args::whole)]
    pub top: Option<usize>,
    /// Entry threshold, percent (e.g. -30).
    #[arg(long, allow_hyphen_values = true, value_parser = args::number)]
    pub entry: Option<f64>,
    /// A position's take-profit, percent (0 = off).
    #[arg(long, value_parser = args::number)]
    pub take_profit: Option<f64>,
    /// A position's stop-loss, percent (0 = off).
    #[arg(long, value_parser = args::number)]
    pub stop_loss: Option<f64>,
    /// Sessions held at most (0 = off).
    #[arg(long, value_parser = args::sessions)]
    pub max_hold: Option<u32>,
    /// Decision sessions: daily, weekly or monthly.
    #[arg(long, value_parser = args::rebalance)]
    pub rebalance: Option<Rebalance>,
    /// Position sizing: equal or inverse-vol.
    #[arg(long, value_parser = args::sizing)]
    pub sizing: Option<Sizing>,
    /// Fill price: next-open, or close (optimistic).
    #[arg(long, value_parser = args::fill)]
    pub fill: Option<Fill>,
    /// Turn the portfolio rule on or off.
    #[arg(long, value_parser = args::switch)]
    pub portfolio_rule: Option<bool>,
    /// Commission per fill.
    #[arg(long, value_parser = args::number)]
    pub commission: Option<f64>,
    /// Slippage, basis points.
    #[arg(long, value_parser = args::number)]
    pub slippage_bps: Option<f64>,
    /// Starting capital.
    #[arg(long, value_parser = args::number)]
    pub capital: Option<f64>,
    /// Benchmark ticker, or `universe`.
    #[arg(long, value_parser = args::benchmark)]
    pub benchmark: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print a stored backtest instead of running one.
    #[arg(long, value_name = "ID", conflicts_with = "sweep")]
    pub show: Option<String>,
    /// Run a grid, e.g. `--sweep entry=-20,-30 top=5,10 take-profit=50,100`.
    #[arg(long, num_args = 1.., value_name = "NAME=V1,V2")]
    pub sweep: Vec<String>,
    /// The metric a sweep is sorted by.
    #[arg(long, value_enum, default_value_t = SortBy::Sharpe)]
    pub sort_by: SortBy,
    /// Take the store's writer lease (to store the run) even from a
    /// running dipwatch (two writers until it notices).
    #[arg(long)]
    pub force_lease: bool,
}

impl BacktestArgs {
    /// The request's options, as [`args::Overrides`].
    fn overrides(&self) -> Overrides {
        Overrides {
            from: self.from,
            to: self.to,
            top: self.top,
            entry: self.entry,
            take_profit: self.take_profit,
            stop_loss: self.stop_loss,
            max_hold: self.max_hold,
            rebalance: self.rebalance,
            sizing: self.sizing,
            fill: self.fill,
            portfolio_rule: self.portfolio_rule,
            commission: self.commission,
            slippage_bps: self.slippage_bps,
            capital: self.capital,
            benchmark: self.benchmark.clone(),
        }
    }
}

/// Run, show or sweep.
pub async fn run(config: &AppConfig, args: &BacktestArgs) -> anyhow::Result<ExitCode> {
    let store = open_store_to_read(config).await?;
    if let Some(id) = &args.show {
        return show(&store, id, args.format).await;
    }
    let settings = settings(config, args);
    let axes = args
        .sweep
        .iter()
        .map(|s| sweep::parse_axis(s))
        .collect::<Result<Vec<_>, String>>()
        .unwrap_or_else(|e| super::usage_error(format!("--sweep {e}")));
    let prepared = prepare(config, &settings, &store, args).await?;
    for w in &prepared.skipped {
        eprintln!("warning: skipping {w}");
    }
    if axes.is_empty() {
        single(config, &settings, &store, &prepared, args).await
    } else {
        run_sweep(&settings, &prepared, &axes, args.sort_by)
    }
}

/// `[backtest]` with the command line's overrides, checked (a usage
/// error names the setting).
fn settings(config: &AppConfig, args: &BacktestArgs) -> BacktestSettings {
    args.overrides()
        .apply(&config.settings.backtest)
        .unwrap_or_else(|e| super::usage_error(e))
}

/// Load the history from the lake (with the ranking's warm-up), check the
/// window and the benchmark, rank every cell.
async fn prepare(
    config: &AppConfig,
    settings: &BacktestSettings,
    store: &Store,
    args: &BacktestArgs,
) -> anyhow::Result<Prepared> {
    let load = Lake::new(store.clone())
        .price_history(job::load_from(&config.screen, args.from), None)
        .await?;
    // A one-shot command: ranking on this thread blocks nothing else.
    job::prepare(config, settings, args.from, args.to, load, store.url()).map_err(|e| anyhow!(e))
}

/// One backtest: run, store, print.
async fn single(
    config: &AppConfig,
    settings: &BacktestSettings,
    store: &Store,
    p: &Prepared,
    args: &BacktestArgs,
) -> anyhow::Result<ExitCode> {
    let format = args.format;
    let outcome = job::single(config, settings, p);
    let (store, writer) =
        match super::lease::take(config, store.clone(), "backtest", args.force_lease).await? {
            Ok(taken) => taken,
            Err(refused) => {
                print(&outcome, format)?;
                eprintln!("not stored: the store's writer lease is held (above)");
                return Ok(refused);
            }
        };
    let saved = stored::save(&store, &outcome).await;
    let pruned = stored::prune(&store, stored::Retention::of(&config.settings.backtest)).await;
    writer.release().await;
    saved?;
    pruned?;
    print(&outcome, format)?;
    let id = &outcome.summary.id;
    eprintln!("stored as backtests/id={id} (dipwatch backtest --show {id})");
    Ok(ExitCode::SUCCESS)
}

/// `--show ID`.
async fn show(store: &Store, id: &str, format: Format) -> anyhow::Result<ExitCode> {
    if !stored::valid_id(id) {
        super::usage_error(format!(
            "--show {id:?}: an id is hex digits, as printed after a run"
        ));
    }
    let outcome = stored::read(store, id).await.map_err(|e| match e {
        stored::ReadError::Missing(_) => anyhow!("{e} in {}", store.url()),
        e => e.into(),
    })?;
    print(&outcome, format)?;
    Ok(ExitCode::SUCCESS)
}

/// Print a result in `format` (warnings and, for CSV, the notes on stderr).
fn print(outcome: &Outcome, format: Format) -> anyhow::Result<()> {
    let Outcome {
        summary,
        equity,
        trades,
    } = outcome;
    for w in &summary.warnings {
        eprintln!("warning: {w}");
    }
    match format {
        Format::Table => print!("{}", report::table(summary)),
        Format::Csv => {
            for n in summary.notes.iter().chain(&summary.leaves_out) {
                eprintln!("note: {n}");
            }
            print!("{}", String::from_utf8(report::equity_csv(equity)?)?);
        }
        Format::Json => {
            #[derive(Serialize)]
            struct Point {
                date: NaiveDate,
                equity: f64,
            }
            #[derive(Serialize)]
            struct Doc<'a> {
                #[serde(flatten)]
                summary: &'a Summary,
                equity: Vec<Point>,
                benchmark_equity: Vec<Point>,
                trades: &'a [Trade],
            }
            let point = |f: fn(&EquityRow) -> f64| {
                equity
                    .iter()
                    .map(|r| Point {
                        date: r.date,
                        equity: f(r),
                    })
                    .collect()
            };
            let doc = Doc {
                summary,
                equity: point(|r| r.equity),
                benchmark_equity: point(|r| r.benchmark),
                trades,
            };
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
    }
    Ok(())
}

/// `--sweep`: every combination on every core, best first.
fn run_sweep(
    settings: &BacktestSettings,
    p: &Prepared,
    axes: &[sweep::Axis],
    by: SortBy,
) -> anyhow::Result<ExitCode> {
    let combos = sweep::grid(&p.params, axes);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut points = sweep::run_grid(
        &p.load.history,
        &p.ranks,
        &combos,
        &p.excluded,
        p.start,
        p.end,
        Some(&p.benchmark_equity),
        settings.risk_free_rate_pct,
        threads,
    );
    sweep::sort(&mut points, by);
    println!("Sweep of {} combinations, sorted by {by:?}", combos.len());
    for n in job::notes(p) {
        println!("  {n}");
    }
    for n in &p.leaves_out {
        println!("  leaves out: {n}");
    }
    let names: Vec<String> = axes
        .iter()
        .map(|a| {
            serde_json::to_value(a.knob)
                .map_or(String::new(), |v| v.as_str().unwrap_or("").to_string())
        })
        .collect();
    println!(
        "\n{}  {:>9}  {:>9}  {:>7}  {:>9}  {:>6}",
        names
            .iter()
            .map(|n| format!("{n:>11}"))
            .collect::<Vec<_>>()
            .join("  "),
        "return",
        "CAGR",
        "Sharpe",
        "max dd",
        "trades"
    );
    let total = combos.len();
    for (i, point) in points.iter().enumerate() {
        let m = &point.metrics;
        let f = |v: Option<f64>, pct: bool| {
            v.map_or("-".into(), |v| {
                if pct {
                    crate::numbers::signed_pct(v)
                } else {
                    format!("{v:.2}")
                }
            })
        };
        let mut line = format!(
            "{}  {:>9}  {:>9}  {:>7}  {:>9}  {:>6}",
            point
                .values
                .iter()
                .map(|v| format!("{v:>11}"))
                .collect::<Vec<_>>()
                .join("  "),
            f(Some(m.total_return_pct), true),
            f(m.cagr_pct, true),
            f(m.sharpe, false),
            f(Some(m.max_drawdown_pct), true),
            m.trades.unwrap_or(0)
        );
        if i == 0 {
            line.push_str(&format!(
                "  <- best of {total} combinations tried: expect worse out of sample (overfitting)"
            ));
        }
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
