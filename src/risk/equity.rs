//! The account's equity over the stored snapshots against the benchmark
//! over the same dates: return, volatility and max drawdown of each.

use chrono::NaiveDate;

use crate::query::{Field, PriceHistory};

use super::report::{CurveStats, EquityComparison};
use super::stats::{annual_volatility, max_drawdown, returns};
use super::{Benchmark, RiskInput, window};

pub(super) fn compare(
    input: &RiskInput<'_>,
    benchmark: &Benchmark,
    notes: &mut Vec<String>,
) -> Option<EquityComparison> {
    let equity: Vec<(NaiveDate, f64)> = input
        .equity
        .iter()
        .copied()
        .filter(|(_, e)| e.is_finite() && *e > 0.0)
        .collect();
    if equity.len() < 2 {
        notes.push(format!(
            "equity against the benchmark needs 2 or more account snapshots; {} stored",
            equity.len()
        ));
        return None;
    }
    let levels = benchmark_levels(input.history, benchmark);
    let both: Vec<(NaiveDate, f64, f64)> = equity
        .iter()
        .filter_map(|&(d, e)| {
            let i = input.history.date_index(d)?;
            Some((d, e, levels[i]?))
        })
        .collect();
    if both.len() >= 2 {
        let eq: Vec<f64> = both.iter().map(|x| x.1).collect();
        let bm: Vec<f64> = both.iter().map(|x| x.2).collect();
        if both.len() < equity.len() {
            notes.push(format!(
                "equity compared on the {} of {} snapshot dates the benchmark has bars on",
                both.len(),
                equity.len()
            ));
        }
        return Some(EquityComparison {
            from: both[0].0,
            to: both[both.len() - 1].0,
            points: both.len(),
            equity: curve(&eq),
            benchmark: Some(curve(&bm)),
        });
    }
    notes.push(format!(
        "benchmark {} has no bars on the account snapshots' dates: equity shown alone",
        benchmark.name()
    ));
    let eq: Vec<f64> = equity.iter().map(|x| x.1).collect();
    Some(EquityComparison {
        from: equity[0].0,
        to: equity[equity.len() - 1].0,
        points: equity.len(),
        equity: curve(&eq),
        benchmark: None,
    })
}

/// The benchmark's level on each date of the history: a ticker's close,
/// or the equal-weight universe compounded from 1.
fn benchmark_levels(history: &PriceHistory, benchmark: &Benchmark) -> Vec<Option<f64>> {
    match benchmark {
        Benchmark::Symbol(s) => match history.symbol_index(s) {
            Some(i) => history
                .series(i, Field::Close)
                .iter()
                .zip(history.present(i))
                .map(|(c, p)| (*p && *c > 0.0).then_some(*c))
                .collect(),
            None => vec![None; history.dates().len()],
        },
        Benchmark::Universe(members) => {
            let mut level = 1.0;
            window::universe_returns(history, members)
                .into_iter()
                .map(|r| {
                    level *= 1.0 + r.unwrap_or(0.0);
                    Some(level)
                })
                .collect()
        }
    }
}

fn curve(values: &[f64]) -> CurveStats {
    CurveStats {
        return_pct: (values[values.len() - 1] / values[0] - 1.0) * 100.0,
        volatility_pct: annual_volatility(&returns(values)) * 100.0,
        max_drawdown_pct: max_drawdown(values) * 100.0,
    }
}
