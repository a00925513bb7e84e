//! The standard performance figures of an equity curve and its trades.
//!
//! Definitions (the ones `empyrical` uses, so they can be checked against
//! it): daily returns `r_t = e_t / e_{t-1} - 1` with `e_{-1}` the initial
//! capital; 252 sessions a year; the daily risk-free rate is the yearly one
//! / 252. CAGR compounds over `sessions / 252` years; volatility is the
//! sample standard deviation times sqrt 252; Sharpe is the mean excess
//! return over its sample deviation times sqrt 252; Sortino the yearly mean
//! excess return over the yearly downside deviation (root mean square of
//! the negative excess returns); the max drawdown is measured from the
//! initial capital on; Calmar is CAGR over |max drawdown|; beta is the
//! covariance with the benchmark's returns over their variance, alpha the
//! yearly compounded mean of `r - rf - beta (b - rf)`. A figure that is not
//! defined (no trades, no volatility) is `None`.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::engine::{Run, Trade};

/// Sessions in a year.
pub const SESSIONS_PER_YEAR: f64 = 252.0;

/// The figures of one equity curve (the strategy's or the benchmark's;
/// trade figures are `None` for the benchmark). Percentages in `_pct` fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Metrics {
    /// First session.
    pub from: Option<NaiveDate>,
    /// Last session.
    pub to: Option<NaiveDate>,
    /// Sessions covered.
    pub sessions: usize,
    /// Final equity over the initial capital, minus 1.
    pub total_return_pct: f64,
    /// Compound annual growth rate.
    pub cagr_pct: Option<f64>,
    /// Annualised volatility of daily returns.
    pub annual_volatility_pct: Option<f64>,
    /// Sharpe ratio, annualised.
    pub sharpe: Option<f64>,
    /// Sortino ratio, annualised.
    pub sortino: Option<f64>,
    /// Deepest fall from a running peak (negative or 0).
    pub max_drawdown_pct: f64,
    /// The peak before the deepest fall (`None`: the initial capital).
    pub max_drawdown_peak: Option<NaiveDate>,
    /// The bottom of the deepest fall.
    pub max_drawdown_trough: Option<NaiveDate>,
    /// The first session back at the peak, `None` if never.
    pub max_drawdown_recovery: Option<NaiveDate>,
    /// Longest run of sessions below a previous peak.
    pub longest_drawdown_sessions: usize,
    /// CAGR over |max drawdown|.
    pub calmar: Option<f64>,
    /// Closed trades.
    pub trades: Option<usize>,
    /// Share of closed trades with a profit.
    pub win_rate_pct: Option<f64>,
    /// Gross profit over gross loss.
    pub profit_factor: Option<f64>,
    /// Average winning trade over average losing trade (magnitudes).
    pub payoff_ratio: Option<f64>,
    /// Average profit per trade, account currency.
    pub expectancy: Option<f64>,
    /// Average sessions a closed trade was held.
    pub avg_holding_sessions: Option<f64>,
    /// Time in market: the share of sessions ending with any position held.
    pub exposure_pct: Option<f64>,
    /// Capital deployed: the average over sessions of the share of equity
    /// in positions at the close.
    #[serde(default)]
    pub capital_deployed_pct: Option<f64>,
    /// Turnover a year: the value of every fill (purchases and sales,
    /// before costs) over 2, over the average equity, per 252 sessions.
    pub turnover_pct: Option<f64>,
    /// Best closed trade's return.
    pub best_trade_pct: Option<f64>,
    /// Worst closed trade's return.
    pub worst_trade_pct: Option<f64>,
    /// Beta to the benchmark's daily returns.
    pub beta: Option<f64>,
    /// Jensen's alpha, yearly.
    pub alpha_pct: Option<f64>,
    /// Correlation of daily returns with the benchmark's.
    pub correlation: Option<f64>,
}

/// One month's return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthlyReturn {
    /// Year.
    pub year: i32,
    /// Month, 1-12.
    pub month: u32,
    /// Last equity of the month over the last of the month before (the
    /// initial capital for the first), minus 1.
    pub return_pct: f64,
}

/// Daily returns of `equity` from `initial`.
pub fn returns(initial: f64, equity: &[f64]) -> Vec<f64> {
    std::iter::once(initial)
        .chain(equity.iter().copied())
        .collect::<Vec<_>>()
        .windows(2)
        .map(|w| w[1] / w[0] - 1.0)
        .collect()
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample standard deviation; `None` below two values.
fn std_dev(x: &[f64]) -> Option<f64> {
    (x.len() >= 2).then(|| {
        let m = mean(x);
        (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
    })
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// How far below its running peak `equity` stands on each session,
/// percent (0 at a new high, negative below it), the peak starting at
/// `initial`: the curve whose lowest point is the max drawdown.
pub fn underwater(initial: f64, equity: &[f64]) -> Vec<f64> {
    let mut peak = initial;
    equity
        .iter()
        .map(|&e| {
            peak = peak.max(e);
            (e / peak - 1.0) * 100.0 + 0.0
        })
        .collect()
}

/// The curve-only figures of `dates`/`equity` from `initial`, with the
/// yearly risk-free rate `rf_pct`, against `benchmark` equity when given.
pub fn curve(
    dates: &[NaiveDate],
    equity: &[f64],
    initial: f64,
    rf_pct: f64,
    benchmark: Option<&[f64]>,
) -> Metrics {
    let mut m = Metrics {
        from: dates.first().copied(),
        to: dates.last().copied(),
        sessions: equity.len(),
        ..Metrics::default()
    };
    let Some(&last) = equity.last() else {
        return m;
    };
    let r = returns(initial, equity);
    let rf = rf_pct / 100.0 / SESSIONS_PER_YEAR;
    let growth = last / initial;
    m.total_return_pct = (growth - 1.0) * 100.0;
    let years = r.len() as f64 / SESSIONS_PER_YEAR;
    m.cagr_pct = finite((growth.powf(1.0 / years) - 1.0) * 100.0);
    m.annual_volatility_pct = std_dev(&r)
        .map(|s| s * SESSIONS_PER_YEAR.sqrt() * 100.0)
        .and_then(finite);
    let excess: Vec<f64> = r.iter().map(|v| v - rf).collect();
    m.sharpe = std_dev(&excess)
        .map(|s| mean(&excess) / s * SESSIONS_PER_YEAR.sqrt())
        .and_then(finite);
    let downside =
        (excess.iter().map(|v| v.min(0.0).powi(2)).sum::<f64>() / excess.len() as f64).sqrt();
    m.sortino = finite(mean(&excess) * SESSIONS_PER_YEAR / (downside * SESSIONS_PER_YEAR.sqrt()));
    drawdowns(&mut m, dates, equity, initial);
    if let Some(b) = benchmark.filter(|b| b.len() == equity.len()) {
        versus(&mut m, &r, b, rf);
    }
    m
}

/// The max drawdown (from the initial capital on: depth, peak, trough,
/// recovery), the longest drawdown and Calmar.
fn drawdowns(m: &mut Metrics, dates: &[NaiveDate], equity: &[f64], initial: f64) {
    let (mut peak, mut peak_at): (f64, Option<usize>) = (initial, None);
    let (mut worst, mut worst_peak, mut worst_trough) = (0.0_f64, None, None);
    let mut run_start: Option<usize> = None;
    for (i, &e) in equity.iter().enumerate() {
        if e >= peak {
            peak = e;
            peak_at = Some(i);
            if let Some(s) = run_start.take() {
                m.longest_drawdown_sessions = m.longest_drawdown_sessions.max(i - s);
            }
        } else {
            run_start.get_or_insert(i);
            let dd = e / peak - 1.0;
            if dd < worst {
                worst = dd;
                worst_peak = peak_at;
                worst_trough = Some(i);
            }
        }
    }
    if let Some(s) = run_start {
        m.longest_drawdown_sessions = m.longest_drawdown_sessions.max(equity.len() - s);
    }
    m.max_drawdown_pct = worst * 100.0 + 0.0;
    if let Some(t) = worst_trough {
        let level = worst_peak.map_or(initial, |p| equity[p]);
        m.max_drawdown_peak = worst_peak.map(|p| dates[p]);
        m.max_drawdown_trough = Some(dates[t]);
        m.max_drawdown_recovery = (t..equity.len())
            .find(|&i| equity[i] >= level)
            .map(|i| dates[i]);
        m.calmar = m.cagr_pct.and_then(|c| finite(c / 100.0 / worst.abs()));
    }
}

/// Beta, correlation and alpha of daily returns `r` against the
/// benchmark's equity `b` (same sessions), with the daily risk-free `rf`.
fn versus(m: &mut Metrics, r: &[f64], b: &[f64], rf: f64) {
    let rb = returns(b[0], b);
    // The benchmark starts at its first value: its first return is 0, as
    // is ours when nothing was bought on the first session.
    let (xb, xr): (Vec<f64>, Vec<f64>) = rb.iter().zip(r).map(|(b, r)| (b - rf, r - rf)).unzip();
    let (mb, mr) = (mean(&xb), mean(&xr));
    let cov = xb
        .iter()
        .zip(&xr)
        .map(|(b, r)| (b - mb) * (r - mr))
        .sum::<f64>();
    let var_b = xb.iter().map(|b| (b - mb).powi(2)).sum::<f64>();
    let var_r = xr.iter().map(|r| (r - mr).powi(2)).sum::<f64>();
    m.beta = finite(cov / var_b);
    m.correlation = finite(cov / (var_b * var_r).sqrt());
    m.alpha_pct = m.beta.and_then(|beta| {
        let a: Vec<f64> = xr.iter().zip(&xb).map(|(r, b)| r - beta * b).collect();
        finite(((1.0 + mean(&a)).powf(SESSIONS_PER_YEAR) - 1.0) * 100.0)
    });
}

/// Every figure of a backtest `run` from `initial`, against `benchmark`.
pub fn of_run(run: &Run, initial: f64, rf_pct: f64, benchmark: Option<&[f64]>) -> Metrics {
    let mut m = curve(&run.dates, &run.equity, initial, rf_pct, benchmark);
    trade_figures(&mut m, &run.trades);
    if !run.equity.is_empty() {
        let sessions = run.equity.len() as f64;
        let held = run.invested.iter().filter(|i| **i).count() as f64;
        m.exposure_pct = Some(held / sessions * 100.0);
        m.capital_deployed_pct = finite(mean(&run.deployed) * 100.0);
        let average = mean(&run.equity);
        m.turnover_pct =
            finite(run.traded_value / 2.0 / average / (sessions / SESSIONS_PER_YEAR) * 100.0);
    }
    m
}

/// The figures of closed `trades`.
fn trade_figures(m: &mut Metrics, trades: &[Trade]) {
    m.trades = Some(trades.len());
    if trades.is_empty() {
        return;
    }
    let n = trades.len() as f64;
    let wins: Vec<f64> = trades.iter().map(|t| t.pnl).filter(|p| *p > 0.0).collect();
    let losses: Vec<f64> = trades.iter().map(|t| t.pnl).filter(|p| *p < 0.0).collect();
    let (gain, loss) = (wins.iter().sum::<f64>(), -losses.iter().sum::<f64>());
    m.win_rate_pct = Some(wins.len() as f64 / n * 100.0);
    m.profit_factor = finite(gain / loss);
    m.payoff_ratio = (!wins.is_empty() && !losses.is_empty())
        .then(|| mean(&wins) / (loss / losses.len() as f64))
        .and_then(finite);
    m.expectancy = Some(trades.iter().map(|t| t.pnl).sum::<f64>() / n);
    m.avg_holding_sessions = Some(trades.iter().map(|t| t.sessions as f64).sum::<f64>() / n);
    let returns = trades.iter().map(|t| t.return_pct);
    m.best_trade_pct = returns.clone().reduce(f64::max);
    m.worst_trade_pct = returns.reduce(f64::min);
}

/// Each calendar month's return of `dates`/`equity` from `initial`.
pub fn monthly(dates: &[NaiveDate], equity: &[f64], initial: f64) -> Vec<MonthlyReturn> {
    let mut out: Vec<MonthlyReturn> = Vec::new();
    let mut base = initial;
    for (i, (d, e)) in dates.iter().zip(equity).enumerate() {
        let month_ends = dates
            .get(i + 1)
            .is_none_or(|n| (n.year(), n.month()) != (d.year(), d.month()));
        if month_ends {
            out.push(MonthlyReturn {
                year: d.year(),
                month: d.month(),
                return_pct: (e / base - 1.0) * 100.0,
            });
            base = *e;
        }
    }
    out
}
