//! Parameter sweeps: a grid of strategy parameters, run on every core
//! (std threads over one shared history and ranking), ranked by a metric.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use super::engine::{Params, run};
use super::metrics::{Metrics, of_run};
use crate::query::PriceHistory;
use crate::screen::DrawdownColumns;

/// A parameter a sweep can vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Knob {
    /// `entry`: the entry threshold, percent.
    Entry,
    /// `top`: max positions.
    Top,
    /// `take-profit`: percent, 0 = off.
    TakeProfit,
    /// `stop-loss`: percent, 0 = off.
    StopLoss,
    /// `max-hold`: sessions, 0 = off.
    MaxHold,
}

impl Knob {
    /// The names a sweep accepts.
    pub const NAMES: &str = "entry, top, take-profit, stop-loss, max-hold";

    const ALL: [Knob; 5] = [
        Knob::Entry,
        Knob::Top,
        Knob::TakeProfit,
        Knob::StopLoss,
        Knob::MaxHold,
    ];

    /// Its name on the command line (`take-profit`).
    pub fn name(self) -> &'static str {
        match self {
            Knob::Entry => "entry",
            Knob::Top => "top",
            Knob::TakeProfit => "take-profit",
            Knob::StopLoss => "stop-loss",
            Knob::MaxHold => "max-hold",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Set this knob of `p` to `v` (checked by [`parse_axis`]).
    fn apply(self, p: &mut Params, v: f64) {
        let on = |v: f64| (v > 0.0).then_some(v);
        match self {
            Knob::Entry => p.entry_pct = v,
            Knob::Top => p.max_positions = v as usize,
            Knob::TakeProfit => p.exits.take_profit_pct = on(v),
            Knob::StopLoss => p.exits.stop_loss_pct = on(v),
            Knob::MaxHold => p.exits.max_hold = (v > 0.0).then_some(v as u32),
        }
    }
}

/// One axis of the grid: `name=v1,v2,...`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Axis {
    /// The parameter.
    pub knob: Knob,
    /// Its values.
    pub values: Vec<f64>,
}

/// Parse `entry=-20,-30` and the like, refusing values no backtest runs with.
pub fn parse_axis(spec: &str) -> Result<Axis, String> {
    let (name, list) = spec.split_once('=').ok_or_else(|| {
        format!(
            "{spec:?}: expected NAME=V1,V2,... with NAME one of {}",
            Knob::NAMES
        )
    })?;
    let knob = Knob::parse(name.trim())
        .ok_or_else(|| format!("{name:?} cannot be swept: one of {}", Knob::NAMES))?;
    let values = list
        .split(',')
        .map(|v| {
            let x: f64 = v
                .trim()
                .parse()
                .map_err(|_| format!("{name}: {v:?} is not a number"))?;
            let ok = match knob {
                Knob::Entry => x > -100.0 && x < 0.0,
                Knob::Top => x >= 1.0 && x.fract() == 0.0,
                Knob::TakeProfit => x >= 0.0 && x.is_finite(),
                Knob::StopLoss => (0.0..100.0).contains(&x),
                Knob::MaxHold => x >= 0.0 && x.fract() == 0.0 && x <= u32::MAX as f64,
            };
            if ok {
                Ok(x)
            } else {
                Err(format!("{name}: {v:?} is out of range"))
            }
        })
        .collect::<Result<Vec<f64>, String>>()?;
    Ok(Axis { knob, values })
}

/// One combination and its figures.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// The value of each axis, in the axes' order.
    pub values: Vec<f64>,
    /// The strategy's figures.
    pub metrics: Metrics,
}

/// Every combination of `axes` over `base`.
pub fn grid(base: &Params, axes: &[Axis]) -> Vec<(Vec<f64>, Params)> {
    let mut out = vec![(Vec::new(), base.clone())];
    for axis in axes {
        out = out
            .into_iter()
            .flat_map(|(vals, p)| {
                axis.values.iter().map(move |v| {
                    let mut p = p.clone();
                    axis.knob.apply(&mut p, *v);
                    let mut vals = vals.clone();
                    vals.push(*v);
                    (vals, p)
                })
            })
            .collect();
    }
    out
}

/// Run every combination over sessions `start..=end` on `threads` threads,
/// in the grid's order.
#[allow(clippy::too_many_arguments)]
pub fn run_grid(
    history: &PriceHistory,
    ranks: &DrawdownColumns,
    combos: &[(Vec<f64>, Params)],
    excluded: &[usize],
    start: usize,
    end: usize,
    benchmark: Option<&[f64]>,
    rf_pct: f64,
    threads: usize,
) -> Vec<Point> {
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<Point>> = vec![None; combos.len()];
    let chunks: Vec<Vec<(usize, Point)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((values, p)) = combos.get(i) else {
                            break;
                        };
                        let r = run(history, ranks, p, excluded, start, end);
                        let metrics = of_run(&r, p.initial_capital, rf_pct, benchmark);
                        mine.push((
                            i,
                            Point {
                                values: values.clone(),
                                metrics,
                            },
                        ));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    });
    for (i, p) in chunks.into_iter().flatten() {
        results[i] = Some(p);
    }
    results.into_iter().flatten().collect()
}

/// The metric a sweep is sorted by (best first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SortBy {
    /// Sharpe ratio, highest first.
    Sharpe,
    /// Sortino ratio.
    Sortino,
    /// CAGR.
    Cagr,
    /// Total return.
    TotalReturn,
    /// Calmar ratio.
    Calmar,
    /// Max drawdown, shallowest first.
    MaxDrawdown,
}

impl SortBy {
    /// The figure of `m` (higher is better; undefined sorts last).
    pub fn key(self, m: &Metrics) -> f64 {
        let v = match self {
            SortBy::Sharpe => m.sharpe,
            SortBy::Sortino => m.sortino,
            SortBy::Cagr => m.cagr_pct,
            SortBy::TotalReturn => Some(m.total_return_pct),
            SortBy::Calmar => m.calmar,
            SortBy::MaxDrawdown => Some(m.max_drawdown_pct),
        };
        v.unwrap_or(f64::NEG_INFINITY)
    }
}

/// Sort `points` best first by `by` (ties keep the grid's order).
pub fn sort(points: &mut [Point], by: SortBy) {
    points.sort_by(|a, b| by.key(&b.metrics).total_cmp(&by.key(&a.metrics)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_parse_and_refuse_with_the_reason() {
        let a = parse_axis("entry=-20,-30,-40").unwrap();
        assert_eq!((a.knob, a.values), (Knob::Entry, vec![-20.0, -30.0, -40.0]));
        assert_eq!(
            parse_axis("take-profit=50,100").unwrap().knob,
            Knob::TakeProfit
        );
        assert!(parse_axis("entry=20").unwrap_err().contains("out of range"));
        assert!(parse_axis("top=2.5").unwrap_err().contains("out of range"));
        assert!(
            parse_axis("size=1")
                .unwrap_err()
                .contains("cannot be swept")
        );
        assert!(parse_axis("top").unwrap_err().contains("NAME=V1"));
        assert!(parse_axis("top=x").unwrap_err().contains("not a number"));
    }
}
