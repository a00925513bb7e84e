//! What the backtest figures show, from a stored run's summary and equity
//! curve: the strategy's equity against its benchmark's, and how far each
//! stands below its running peak (the drawdown curve, the same definition
//! as the max drawdown in the summary). Pure.

use chrono::NaiveDate;

use super::NoChart;
use crate::backtest::metrics::underwater;
use crate::backtest::report::{EquityRow, Summary};

/// A backtest's two curves, one point per session simulated.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestCurves {
    /// The run's id.
    pub id: String,
    /// What the benchmark is (`SPY`, `equal-weight universe`).
    pub benchmark: String,
    /// Sessions, oldest first.
    pub dates: Vec<NaiveDate>,
    /// The strategy's values (equity, or percent below its peak).
    pub strategy: Vec<f64>,
    /// The benchmark's, on the same sessions.
    pub benchmark_values: Vec<f64>,
    /// Fills at the decision close: the picture says OPTIMISTIC.
    pub optimistic: bool,
    /// Simulated prices: the picture says so.
    pub simulated: bool,
}

fn curves(
    summary: &Summary,
    rows: &[EquityRow],
    strategy: Vec<f64>,
    benchmark: Vec<f64>,
) -> BacktestCurves {
    BacktestCurves {
        id: summary.id.clone(),
        benchmark: summary.benchmark.clone(),
        dates: rows.iter().map(|r| r.date).collect(),
        strategy,
        benchmark_values: benchmark,
        optimistic: summary.parameters.optimistic(),
        simulated: summary.data.simulated,
    }
}

/// Equity of the strategy and of the benchmark.
pub fn equity(summary: &Summary, rows: &[EquityRow]) -> Result<BacktestCurves, NoChart> {
    if rows.is_empty() {
        return Err(NoChart::Empty);
    }
    Ok(curves(
        summary,
        rows,
        rows.iter().map(|r| r.equity).collect(),
        rows.iter().map(|r| r.benchmark).collect(),
    ))
}

/// Percent below the running peak, strategy and benchmark, both peaks
/// starting at the initial capital (as the summary's max drawdown).
pub fn drawdown(summary: &Summary, rows: &[EquityRow]) -> Result<BacktestCurves, NoChart> {
    if rows.is_empty() {
        return Err(NoChart::Empty);
    }
    let start = summary.parameters.strategy.initial_capital;
    let ours: Vec<f64> = rows.iter().map(|r| r.equity).collect();
    let theirs: Vec<f64> = rows.iter().map(|r| r.benchmark).collect();
    Ok(curves(
        summary,
        rows,
        underwater(start, &ours),
        underwater(start, &theirs),
    ))
}
