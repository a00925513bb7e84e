//! What the strategy is compared against: one symbol bought and held, or
//! the equal-weight universe rebalanced daily.

use crate::domain::Symbol;
use crate::query::{Field, PriceHistory};

/// The benchmark of a backtest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Benchmark {
    /// This symbol, bought at the first session's close and held.
    Symbol(Symbol),
    /// Every (non-excluded) symbol equally weighted, rebalanced daily.
    EqualWeight,
}

impl Benchmark {
    /// Short label for tables.
    pub fn label(&self) -> String {
        match self {
            Benchmark::Symbol(s) => s.to_string(),
            Benchmark::EqualWeight => "equal-weight universe".into(),
        }
    }
}

/// Why a benchmark cannot be drawn over the requested sessions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BenchmarkError {
    /// The symbol has no bars in the lake at all.
    #[error("the benchmark {0} has no bars in the lake")]
    NoBars(Symbol),
    /// The symbol's bars do not reach back to the first session.
    #[error("the benchmark {symbol} has no bar on {first} (its bars start {starts})")]
    Late {
        /// The benchmark.
        symbol: Symbol,
        /// The first session of the backtest.
        first: chrono::NaiveDate,
        /// Its first bar in the range, if any.
        starts: String,
    },
}

/// The benchmark's equity over sessions `start..=end`, from `capital`:
/// a symbol valued at its close (its last close through a gap), or the
/// equal-weight universe compounding each session's mean close-to-close
/// return over the symbols (not in `excluded`) with bars on both sessions.
pub fn equity(
    history: &PriceHistory,
    benchmark: &Benchmark,
    excluded: &[usize],
    start: usize,
    end: usize,
    capital: f64,
) -> Result<Vec<f64>, BenchmarkError> {
    match benchmark {
        Benchmark::Symbol(symbol) => {
            let s = history
                .symbol_index(symbol)
                .ok_or_else(|| BenchmarkError::NoBars(symbol.clone()))?;
            let close = history.series(s, Field::Close);
            let present = history.present(s);
            if !present[start] {
                let starts = (start..=end)
                    .find(|&d| present[d])
                    .map_or("after the range".to_string(), |d| {
                        history.dates()[d].to_string()
                    });
                return Err(BenchmarkError::Late {
                    symbol: symbol.clone(),
                    first: history.dates()[start],
                    starts,
                });
            }
            let base = close[start];
            let mut last = base;
            Ok((start..=end)
                .map(|d| {
                    if present[d] {
                        last = close[d];
                    }
                    capital * last / base
                })
                .collect())
        }
        Benchmark::EqualWeight => {
            let mut value = capital;
            let mut out = Vec::with_capacity(end + 1 - start);
            out.push(value);
            for d in start + 1..=end {
                let (mut sum, mut count) = (0.0, 0usize);
                for s in 0..history.symbols().len() {
                    let present = history.present(s);
                    if excluded.contains(&s) || !present[d] || !present[d - 1] {
                        continue;
                    }
                    let close = history.series(s, Field::Close);
                    sum += close[d] / close[d - 1] - 1.0;
                    count += 1;
                }
                if count > 0 {
                    value *= 1.0 + sum / count as f64;
                }
                out.push(value);
            }
            Ok(out)
        }
    }
}
