//! `dipwatch backtest`: replay the contrarian strategy over the lake's
//! history, store the result under `backtests/id=<id>/`, print it; `--show`
//! prints a stored one, `--sweep` runs a parameter grid on every core.

use std::process::ExitCode;

use anyhow::anyhow;
use chrono::NaiveDate;
use serde::Serialize;

use super::open_store_to_read;
use crate::backtest::report::{self, EquityRow, Summary};
use crate::backtest::request::{self, Request};
use crate::backtest::stored;
use crate::backtest::sweep::{self, SortBy};
use crate::backtest::{BacktestError, Backtests, Outcome, Setup, Sweep, Trade};
use crate::config::AppConfig;
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
/// values are read by [`crate::backtest::request`]'s parsers, as the bot
/// reads them, into the same [`Request`].
#[derive(Debug, clap::Args)]
#[command(after_long_help = STRATEGY)]
pub struct BacktestArgs {
    /// First session simulated (default: once the ranking has a full lookback).
    #[arg(long, value_parser = request::date)]
    pub from: Option<NaiveDate>,
    /// Last session simulated (default: the latest published).
    #[arg(long, value_parser = request::date)]
    pub to: Option<NaiveDate>,
    /// Positions held at most.
    #[arg(long, value_parser = request::whole)]
    pub top: Option<usize>,
    /// Entry threshold, percent (e.g. -30).
    #[arg(long, allow_hyphen_values = true, value_parser = request::number)]
    pub entry: Option<f64>,
    /// A position's take-profit, percent (0 = off).
    #[arg(long, value_parser = request::number)]
    pub take_profit: Option<f64>,
    /// A position's stop-loss, percent (0 = off).
    #[arg(long, value_parser = request::number)]
    pub stop_loss: Option<f64>,
    /// Sessions held at most (0 = off).
    #[arg(long, value_parser = request::sessions)]
    pub max_hold: Option<u32>,
    /// Decision sessions: daily, weekly or monthly.
    #[arg(long, value_parser = request::rebalance)]
    pub rebalance: Option<Rebalance>,
    /// Position sizing: equal or inverse-vol.
    #[arg(long, value_parser = request::sizing)]
    pub sizing: Option<Sizing>,
    /// Fill price: next-open, or close (optimistic).
    #[arg(long, value_parser = request::fill)]
    pub fill: Option<Fill>,
    /// Turn the portfolio rule on or off.
    #[arg(long, value_parser = request::switch)]
    pub portfolio_rule: Option<bool>,
    /// Commission per fill.
    #[arg(long, value_parser = request::number)]
    pub commission: Option<f64>,
    /// Slippage, basis points.
    #[arg(long, value_parser = request::number)]
    pub slippage_bps: Option<f64>,
    /// Starting capital.
    #[arg(long, value_parser = request::number)]
    pub capital: Option<f64>,
    /// Benchmark ticker, or `universe`.
    #[arg(long, value_parser = request::benchmark)]
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
    /// The flags as the service's [`Request`].
    fn request(&self) -> Request {
        Request {
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
    let backtests = Backtests::new(Setup::of(config), store.clone());
    if let Some(id) = &args.show {
        return show(&backtests, id, args.format).await;
    }
    let request = args.request();
    let axes = args
        .sweep
        .iter()
        .map(|s| sweep::parse_axis(s))
        .collect::<Result<Vec<_>, String>>()
        .unwrap_or_else(|e| super::usage_error(format!("--sweep {e}")));
    if axes.is_empty() {
        // A run is stored: only under the writer lease (or refused, 75).
        let (store, writer) =
            match super::lease::take(config, store, "backtest", args.force_lease).await? {
                Ok(taken) => taken,
                Err(refused) => return Ok(refused),
            };
        let ran = Backtests::new(Setup::of(config), store).run(&request).await;
        writer.release().await;
        let ran = ran.map_err(failed)?;
        print(&ran.outcome, args.format)?;
        let id = &ran.outcome.summary.id;
        eprintln!("stored as backtests/id={id} (dipwatch backtest --show {id})");
    } else {
        let names = axes.iter().map(|a| a.knob.name()).collect::<Vec<_>>();
        let done = backtests.sweep(&request, axes, args.sort_by).await;
        print_sweep(&done.map_err(failed)?, &names, args.sort_by);
    }
    Ok(ExitCode::SUCCESS)
}

/// A backtest that did not run: refused options are a usage error (exit
/// 2, naming the setting), the rest a failure.
fn failed(e: BacktestError) -> anyhow::Error {
    match e {
        BacktestError::Options(message) => super::usage_error(message),
        e => anyhow!(e),
    }
}

/// `--show ID`.
async fn show(backtests: &Backtests, id: &str, format: Format) -> anyhow::Result<ExitCode> {
    if !stored::valid_id(id) {
        super::usage_error(format!(
            "--show {id:?}: an id is hex digits, as printed after a run"
        ));
    }
    let outcome = backtests.show(id).await.map_err(|e| match e {
        stored::ReadError::Missing(_) => anyhow!("{e} in {}", backtests.store_label()),
        e => e.into(),
    })?;
    print(&outcome, format)?;
    Ok(ExitCode::SUCCESS)
}

/// Print a result in `format` (skipped dates, warnings and, for CSV, the
/// notes on stderr).
fn print(outcome: &Outcome, format: Format) -> anyhow::Result<()> {
    let Outcome {
        summary,
        equity,
        trades,
    } = outcome;
    for w in &summary.data.skipped_dates {
        eprintln!("warning: skipping {w}");
    }
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
        Format::Json => println!("{}", json(summary, equity, trades)?),
    }
    Ok(())
}

/// `--format json`: the summary with the curves and the trades.
fn json(summary: &Summary, equity: &[EquityRow], trades: &[Trade]) -> serde_json::Result<String> {
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
    serde_json::to_string_pretty(&Doc {
        summary,
        equity: point(|r| r.equity),
        benchmark_equity: point(|r| r.benchmark),
        trades,
    })
}

/// `--sweep`: the grid's rows, best first, under the notes.
fn print_sweep(sweep: &Sweep, names: &[&str], by: SortBy) {
    for w in &sweep.skipped {
        eprintln!("warning: skipping {w}");
    }
    println!(
        "Sweep of {} combinations, sorted by {by:?}",
        sweep.combinations
    );
    for n in &sweep.notes {
        println!("  {n}");
    }
    for n in &sweep.leaves_out {
        println!("  leaves out: {n}");
    }
    let columns = |cells: Vec<String>| {
        cells
            .iter()
            .map(|c| format!("{c:>11}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!(
        "\n{}  {:>9}  {:>9}  {:>7}  {:>9}  {:>6}",
        columns(names.iter().map(|n| n.to_string()).collect()),
        "return",
        "CAGR",
        "Sharpe",
        "max dd",
        "trades"
    );
    for (i, point) in sweep.points.iter().enumerate() {
        let mut line = format!(
            "{}  {}",
            columns(point.values.iter().map(|v| v.to_string()).collect()),
            sweep_figures(&point.metrics)
        );
        if i == 0 {
            line.push_str(&format!(
                "  <- best of {} combinations tried: expect worse out of sample (overfitting)",
                sweep.combinations
            ));
        }
        println!("{line}");
    }
}

/// One sweep row's figures: return, CAGR, Sharpe, max drawdown, trades.
fn sweep_figures(m: &crate::backtest::Metrics) -> String {
    let pct = |v: Option<f64>| v.map_or("-".into(), crate::numbers::signed_pct);
    format!(
        "{:>9}  {:>9}  {:>7}  {:>9}  {:>6}",
        pct(Some(m.total_return_pct)),
        pct(m.cagr_pct),
        m.sharpe.map_or("-".into(), |v| format!("{v:.2}")),
        pct(Some(m.max_drawdown_pct)),
        m.trades.unwrap_or(0)
    )
}
