//! `dipwatch backtest`: replay the contrarian strategy over the lake's
//! history, store the result under `backtests/id=<id>/`, print it; `--show`
//! prints a stored one, `--sweep` runs a parameter grid on every core.

use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{Days, NaiveDate};
use serde::Serialize;

use super::{open_store_to_read, parse_date};
use crate::backtest::report::{self, DataUsed, EquityRow, Side, Summary};
use crate::backtest::sweep::{self, SortBy};
use crate::backtest::{self as bt, Benchmark, BenchmarkError, Params, Trade, metrics};
use crate::config::{AppConfig, BacktestSettings};
use crate::query::{HistoryLoad, Lake};
use crate::screen::DrawdownColumns;
use crate::store::Store;
use crate::strategy::{Fill, Rebalance, Sizing};

/// Sessions a backtest must cover at least.
pub const MIN_SESSIONS: usize = 20;

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
  slippage in basis points and a commission per fill. A name whose bars stop
  is sold at its last close, with a warning.
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

/// `backtest` options; each strategy option overrides `[backtest]`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = STRATEGY)]
pub struct BacktestArgs {
    /// First session simulated (default: once the ranking has a full lookback).
    #[arg(long, value_parser = parse_date)]
    pub from: Option<NaiveDate>,
    /// Last session simulated (default: the latest published).
    #[arg(long, value_parser = parse_date)]
    pub to: Option<NaiveDate>,
    /// Positions held at most.
    #[arg(long)]
    pub top: Option<usize>,
    /// Entry threshold, percent (e.g. -30).
    #[arg(long, allow_hyphen_values = true)]
    pub entry: Option<f64>,
    /// A position's take-profit, percent (0 = off).
    #[arg(long)]
    pub take_profit: Option<f64>,
    /// A position's stop-loss, percent (0 = off).
    #[arg(long)]
    pub stop_loss: Option<f64>,
    /// Sessions held at most (0 = off).
    #[arg(long)]
    pub max_hold: Option<u32>,
    /// Decision sessions.
    #[arg(long, value_enum)]
    pub rebalance: Option<RebalanceArg>,
    /// Position sizing.
    #[arg(long, value_enum)]
    pub sizing: Option<SizingArg>,
    /// Fill price.
    #[arg(long, value_enum)]
    pub fill: Option<FillArg>,
    /// Turn the portfolio rule on or off.
    #[arg(long)]
    pub portfolio_rule: Option<bool>,
    /// Commission per fill.
    #[arg(long)]
    pub commission: Option<f64>,
    /// Slippage, basis points.
    #[arg(long)]
    pub slippage_bps: Option<f64>,
    /// Starting capital.
    #[arg(long)]
    pub capital: Option<f64>,
    /// Benchmark ticker, or `universe`.
    #[arg(long)]
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
}

/// `--rebalance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RebalanceArg {
    /// Every session.
    Daily,
    /// First session of the week.
    Weekly,
    /// First session of the month.
    Monthly,
}

/// `--sizing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SizingArg {
    /// Equal weight.
    Equal,
    /// Inverse 60-session volatility.
    InverseVol,
}

/// `--fill`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FillArg {
    /// The next session's open.
    NextOpen,
    /// The decision close (optimistic).
    Close,
}

/// Run, show or sweep.
pub async fn run(config: &AppConfig, args: &BacktestArgs) -> anyhow::Result<ExitCode> {
    let store = open_store_to_read(config).await?;
    if let Some(id) = &args.show {
        return show(&store, id, args.format).await;
    }
    let settings = settings(config, args)?;
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
        single(config, &settings, &store, &prepared, args.format).await
    } else {
        run_sweep(&settings, &prepared, &axes, args.sort_by)
    }
}

/// `[backtest]` with the command line's overrides, checked.
fn settings(config: &AppConfig, args: &BacktestArgs) -> anyhow::Result<BacktestSettings> {
    let mut s = config.settings.backtest.clone();
    if let Some(v) = args.top {
        s.max_positions = v;
    }
    if let Some(v) = args.entry {
        s.entry_pct = v;
    }
    if let Some(v) = args.take_profit {
        s.take_profit_pct = v;
    }
    if let Some(v) = args.stop_loss {
        s.stop_loss_pct = v;
    }
    if let Some(v) = args.max_hold {
        s.max_hold = v;
    }
    if let Some(v) = args.rebalance {
        s.rebalance = match v {
            RebalanceArg::Daily => Rebalance::Daily,
            RebalanceArg::Weekly => Rebalance::Weekly,
            RebalanceArg::Monthly => Rebalance::Monthly,
        };
    }
    if let Some(v) = args.sizing {
        s.sizing = match v {
            SizingArg::Equal => Sizing::Equal,
            SizingArg::InverseVol => Sizing::InverseVol,
        };
    }
    if let Some(v) = args.fill {
        s.fill = match v {
            FillArg::NextOpen => Fill::NextOpen,
            FillArg::Close => Fill::Close,
        };
    }
    if let Some(v) = args.portfolio_rule {
        s.portfolio_rule = v;
    }
    if let Some(v) = args.commission {
        s.commission = v;
    }
    if let Some(v) = args.slippage_bps {
        s.slippage_bps = v;
    }
    if let Some(v) = args.capital {
        s.initial_capital = v;
    }
    if let Some(v) = &args.benchmark {
        s.benchmark = v.clone();
    }
    // Same checks as the config file's, naming the key.
    if let Err(e) = s.check() {
        super::usage_error(e);
    }
    Ok(s)
}

/// The strategy's parameters from settings.
fn params(config: &AppConfig, s: &BacktestSettings) -> Params {
    Params {
        rebalance: s.rebalance,
        entry_pct: s.entry_pct,
        max_positions: s.max_positions,
        sizing: s.sizing,
        exits: s.exit_rules(),
        portfolio_rule: s.portfolio_rule(&config.settings.portfolio),
        fill: s.fill,
        commission: s.commission,
        slippage_bps: s.slippage_bps,
        initial_capital: s.initial_capital,
    }
}

/// History loaded, ranked and checked: what a run or a sweep needs.
struct Prepared {
    load: HistoryLoad,
    ranks: DrawdownColumns,
    params: Params,
    start: usize,
    end: usize,
    benchmark: Benchmark,
    excluded: Vec<usize>,
    benchmark_equity: Vec<f64>,
    skipped: Vec<String>,
}

/// Load the history (with the ranking's warm-up), check the window and the
/// benchmark, rank every cell.
async fn prepare(
    config: &AppConfig,
    settings: &BacktestSettings,
    store: &Store,
    args: &BacktestArgs,
) -> anyhow::Result<Prepared> {
    let screen = config.screen;
    // Sessions are ~5 in 7 days; a margin for holidays.
    let warmup_days = (screen.lookback_days as u64 * 7).div_ceil(5) + 14;
    let load_from = args
        .from
        .and_then(|f| f.checked_sub_days(Days::new(warmup_days)));
    // Loaded to the latest date, so a name's bars "stop" only where the
    // lake's do, whatever --to says.
    let load = Lake::new(store.clone())
        .price_history(load_from, None)
        .await?;
    let history = &load.history;
    let dates = history.dates();
    let backfill = |from: NaiveDate| {
        format!(
            "backfill with `dipwatch collect --from {}`",
            from.checked_sub_days(Days::new(warmup_days))
                .unwrap_or(from)
        )
    };
    if dates.is_empty() {
        bail!(
            "no bars published in {} for this window: {}",
            store.url(),
            args.from.map_or(
                "run `dipwatch collect --from YYYY-MM-DD` to backfill history".to_string(),
                backfill
            )
        );
    }
    let need = screen.min_history.max(1) - 1;
    let end = match args.to {
        Some(t) => match dates.iter().rposition(|d| *d <= t) {
            Some(e) => e,
            None => bail!("no published session on or before {t}: {}", backfill(t)),
        },
        None => dates.len() - 1,
    };
    let start = match args.from {
        Some(f) => dates.partition_point(|d| *d < f),
        None => (screen.lookback_days.max(1) - 1)
            .min(end.saturating_sub(MIN_SESSIONS - 1))
            .max(need),
    };
    let from_label = args.from.unwrap_or(dates[start.min(dates.len() - 1)]);
    if start < need {
        bail!(
            "too little history before {from_label}: the lake holds {start} session(s) before it, the ranking needs {need} ([screen] min_history = {}): {}",
            screen.min_history,
            backfill(from_label)
        );
    }
    if start > end || end + 1 - start < MIN_SESSIONS {
        bail!(
            "too few sessions to backtest: {} published from {from_label} to {} (at least {MIN_SESSIONS}): {}",
            (end + 1).saturating_sub(start),
            dates[end],
            backfill(dates[0])
        );
    }
    let benchmark = settings
        .benchmark_symbol()
        .map_or(Benchmark::EqualWeight, Benchmark::Symbol);
    // The configured benchmark ticker is never ranked, even when the
    // comparison is to the universe.
    let excluded: Vec<usize> = config
        .settings
        .backtest
        .benchmark_symbol()
        .into_iter()
        .chain(settings.benchmark_symbol())
        .filter_map(|s| history.symbol_index(&s))
        .collect();
    let params = params(config, settings);
    let benchmark_equity = bt::benchmark::equity(
        history,
        &benchmark,
        &excluded,
        start,
        end,
        params.initial_capital,
    )
    .map_err(|e| {
        let how = match &e {
            BenchmarkError::NoBars(_) => {
                "it is collected alongside the universe from now on; to backfill it, run `dipwatch collect --from` the first date you want to test, or use --benchmark universe".to_string()
            }
            BenchmarkError::Late { .. } => backfill(dates[start]),
        };
        anyhow::anyhow!("{e}: {how}")
    })?;
    // A one-shot command: ranking on this thread blocks nothing else.
    let ranks = DrawdownColumns::new(history, &screen);
    let skipped = load
        .skipped
        .iter()
        .map(|s| format!("{}: {}", s.date, s.reason))
        .collect();
    Ok(Prepared {
        load,
        ranks,
        params,
        start,
        end,
        benchmark,
        excluded,
        benchmark_equity,
        skipped,
    })
}

/// One backtest: run, store, print.
async fn single(
    config: &AppConfig,
    settings: &BacktestSettings,
    store: &Store,
    p: &Prepared,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let history = &p.load.history;
    let run = bt::run(history, &p.ranks, &p.params, &p.excluded, p.start, p.end);
    let rf = settings.risk_free_rate_pct;
    let ours = metrics::of_run(
        &run,
        p.params.initial_capital,
        rf,
        Some(&p.benchmark_equity),
    );
    let theirs = metrics::curve(
        &run.dates,
        &p.benchmark_equity,
        p.params.initial_capital,
        rf,
        None,
    );
    let checksums: Vec<_> = p.load.checksums.clone();
    let data = DataUsed {
        from: history.dates()[p.start],
        to: history.dates()[p.end],
        sessions: run.dates.len(),
        loaded_from: history.dates()[0],
        symbols: history.symbols().len(),
        simulated: history.any_simulated(),
        fingerprint: report::fingerprint(&checksums),
        skipped_dates: p.skipped.clone(),
    };
    let parameters = serde_json::json!({
        "strategy": p.params,
        "screen": {
            "lookback_days": config.screen.lookback_days,
            "min_history": config.screen.min_history,
            "peak_basis": config.screen.peak_basis,
        },
        "benchmark": settings.benchmark,
        "risk_free_rate_pct": rf,
        "from": data.from,
        "to": data.to,
    });
    let summary = Summary {
        id: report::id(&parameters, &data.fingerprint),
        notes: report::notes(&data, p.params.fill == Fill::Close),
        parameters,
        data,
        benchmark: p.benchmark.label(),
        metrics: Side {
            strategy: ours,
            benchmark: theirs,
        },
        monthly: Side {
            strategy: metrics::monthly(&run.dates, &run.equity, p.params.initial_capital),
            benchmark: metrics::monthly(&run.dates, &p.benchmark_equity, p.params.initial_capital),
        },
        open_positions: run.open.len(),
        warnings: run.warnings.clone(),
    };
    let equity: Vec<EquityRow> = run
        .dates
        .iter()
        .zip(&run.equity)
        .zip(&p.benchmark_equity)
        .map(|((date, equity), benchmark)| EquityRow {
            date: *date,
            equity: *equity,
            benchmark: *benchmark,
        })
        .collect();
    save(store, &summary, &equity, &run.trades).await?;
    print(&summary, &equity, &run.trades, format)?;
    eprintln!(
        "stored as backtests/id={} (dipwatch backtest --show {})",
        summary.id, summary.id
    );
    Ok(ExitCode::SUCCESS)
}

fn dir(id: &str) -> String {
    format!("backtests/id={id}")
}

/// Write `summary.json`, `equity.csv` and `trades.csv`; the summary last,
/// so a listed summary always has its curve and trades.
async fn save(
    store: &Store,
    summary: &Summary,
    equity: &[EquityRow],
    trades: &[Trade],
) -> anyhow::Result<()> {
    use object_store::path::Path;
    let d = dir(&summary.id);
    store
        .put(
            &Path::from(format!("{d}/equity.csv")),
            report::equity_csv(equity)?,
        )
        .await?;
    store
        .put(
            &Path::from(format!("{d}/trades.csv")),
            report::trades_csv(trades)?,
        )
        .await?;
    store
        .write_doc(&format!("{d}/summary.json"), summary)
        .await?;
    Ok(())
}

/// `--show ID`.
async fn show(store: &Store, id: &str, format: Format) -> anyhow::Result<ExitCode> {
    use object_store::path::Path;
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        super::usage_error(format!(
            "--show {id:?}: an id is hex digits, as printed after a run"
        ));
    }
    let d = dir(id);
    let summary: Summary = store
        .read_doc(&format!("{d}/summary.json"))
        .await?
        .with_context(|| format!("no backtest {id} stored in {}", store.url()))?;
    let read = |name: &'static str| {
        let path = Path::from(format!("{d}/{name}"));
        async move {
            store
                .get(&path)
                .await?
                .with_context(|| format!("{path} is missing"))
        }
    };
    let equity: Vec<EquityRow> = report::from_csv(&read("equity.csv").await?)
        .with_context(|| format!("{d}/equity.csv is unreadable"))?;
    let trades: Vec<Trade> = report::from_csv(&read("trades.csv").await?)
        .with_context(|| format!("{d}/trades.csv is unreadable"))?;
    print(&summary, &equity, &trades, format)?;
    Ok(ExitCode::SUCCESS)
}

/// Print a result in `format` (warnings and, for CSV, the notes on stderr).
fn print(
    summary: &Summary,
    equity: &[EquityRow],
    trades: &[Trade],
    format: Format,
) -> anyhow::Result<()> {
    for w in &summary.warnings {
        eprintln!("warning: {w}");
    }
    match format {
        Format::Table => print!("{}", report::table(summary)),
        Format::Csv => {
            for n in &summary.notes {
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
    let history = &p.load.history;
    let data = DataUsed {
        from: history.dates()[p.start],
        to: history.dates()[p.end],
        sessions: p.end + 1 - p.start,
        loaded_from: history.dates()[0],
        symbols: history.symbols().len(),
        simulated: history.any_simulated(),
        fingerprint: String::new(),
        skipped_dates: Vec::new(),
    };
    println!("Sweep of {} combinations, sorted by {by:?}", combos.len());
    for n in report::notes(&data, p.params.fill == Fill::Close) {
        println!("  {n}");
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
