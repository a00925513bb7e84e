//! Portfolio risk and what to do next, as suggestions (dipwatch never
//! places orders): each position's weight, volatility, beta and share of
//! risk; concentration; correlations and the clusters that make several
//! tickers one bet; the latest screen's candidates against the holdings,
//! sized by inverse volatility; the strategy's exits; the account's equity
//! against the benchmark.
//!
//! [`analyze`] is pure: a positions snapshot, the price history, the screen
//! and the equity curve in, a [`RiskReport`] out. [`load`] is the I/O edge
//! that reads them from the lake. The statistics are in [`stats`], the
//! clustering in [`cluster`], holding periods in [`holding`].

pub mod cluster;
mod equity;
mod exits;
pub mod holding;
pub mod load;
mod positions;
pub mod report;
pub mod stats;
mod suggest;
pub mod window;

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;

use crate::config::AppConfig;
use crate::domain::{Account, AssetClass, AssetSymbol, DrawdownRow, Position, Symbol};
use crate::query::PriceHistory;
use crate::strategy::{ExitRules, PortfolioRule};

pub use holding::{Held, holding_periods};
pub use load::{RiskData, load_data};
pub use report::*;
pub use window::{VOL_SESSIONS, Window};

/// What the returns are compared against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Benchmark {
    /// A ticker's bars in the lake.
    Symbol(Symbol),
    /// The equal-weight universe.
    Universe,
}

impl Benchmark {
    /// The name as configured.
    pub fn name(&self) -> String {
        match self {
            Self::Symbol(s) => s.to_string(),
            Self::Universe => crate::config::UNIVERSE_BENCHMARK.to_string(),
        }
    }
}

/// The settings the analysis runs with (`[risk]`, `[backtest]`,
/// `[portfolio]`).
#[derive(Debug, Clone, PartialEq)]
pub struct RiskParams {
    /// `risk.lookback`.
    pub lookback: usize,
    /// `risk.budget`.
    pub budget: f64,
    /// `risk.cluster_correlation`.
    pub cluster_correlation: f64,
    /// `risk.duplicate_correlation`.
    pub duplicate_correlation: f64,
    /// `risk.candidates`.
    pub candidates: usize,
    /// `backtest.benchmark`.
    pub benchmark: Benchmark,
    /// `backtest`'s own exits (take-profit, stop-loss, max hold).
    pub exit_rules: ExitRules,
    /// `[portfolio]`'s profit rule.
    pub portfolio_rule: PortfolioRule,
    /// `portfolio.asset_classes`: what the profit rule counts.
    pub classes: Vec<AssetClass>,
}

impl RiskParams {
    /// From the configuration.
    pub fn from_config(config: &AppConfig) -> Self {
        let s = &config.settings;
        Self {
            lookback: s.risk.lookback,
            budget: s.risk.budget,
            cluster_correlation: s.risk.cluster_correlation,
            duplicate_correlation: s.risk.duplicate_correlation,
            candidates: s.risk.candidates,
            benchmark: s
                .backtest
                .benchmark_symbol()
                .map_or(Benchmark::Universe, Benchmark::Symbol),
            exit_rules: s.backtest.exit_rules(),
            portfolio_rule: s.portfolio.rule(),
            classes: s.portfolio.asset_classes.clone(),
        }
    }

    /// Returns a symbol needs: the correlation window or the volatility
    /// window, whichever is longer.
    pub fn window_returns(&self) -> usize {
        self.lookback.max(VOL_SESSIONS)
    }
}

/// Everything the analysis reads.
#[derive(Debug, Clone, Copy)]
pub struct RiskInput<'a> {
    /// The positions snapshot's date.
    pub date: NaiveDate,
    /// Its positions.
    pub positions: &'a [Position],
    /// Its account.
    pub account: &'a Account,
    /// How long each position has been held (see [`holding_periods`]).
    pub held: &'a HashMap<AssetSymbol, Held>,
    /// Daily bars ending at (or near) the snapshot.
    pub history: &'a PriceHistory,
    /// The latest screen, rank 1 first.
    pub screen: &'a [DrawdownRow],
    /// The account's equity on each stored snapshot, oldest first.
    pub equity: &'a [(NaiveDate, f64)],
    /// Whether the snapshot or the screen came from simulated prices.
    pub simulated: bool,
}

/// Money as `f64` for statistics (exact decimals stay in the snapshot).
pub(crate) fn f(d: rust_decimal::Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

/// The whole analysis. Pure; every position and candidate that cannot be
/// measured is listed with the reason rather than guessed at.
pub fn analyze(input: &RiskInput<'_>, params: &RiskParams) -> RiskReport {
    let mut notes = Vec::new();
    let simulated = input.simulated || input.history.any_simulated();
    if simulated {
        notes.push("SIMULATED PRICES: not market data".to_string());
    }
    let window = Window::last(input.history, params.window_returns());
    let bench = benchmark_returns(input.history, &window, params, &mut notes);
    let book = positions::analyze(input, params, window.as_ref().ok(), bench.as_deref());
    if let Err(why) = &window
        && !input.positions.is_empty()
    {
        notes.push(format!("no position can be measured: {why}"));
    }
    let suggestions = suggest::suggestions(input, params, &book, window.as_ref().ok());
    let (exits, exit_notes) = exits::exits(input, params);
    notes.extend(exit_notes);
    let equity_vs_benchmark = equity::compare(input, &params.benchmark, &mut notes);
    RiskReport {
        date: input.date,
        prices_through: input.history.dates().last().copied(),
        simulated,
        benchmark: params.benchmark.name(),
        lookback: params.lookback,
        equity: book.equity,
        cash: input.account.cash.map(f),
        weights: book.weights,
        concentration: book.concentration,
        volatility: book.risks,
        portfolio: book.portfolio,
        correlation: book.correlation,
        pairs: book.pairs,
        independent_bets: book.clusters.len(),
        clusters: book.clusters,
        cluster_correlation: params.cluster_correlation,
        suggestions,
        exits,
        equity_vs_benchmark,
        excluded: book.excluded,
        notes,
    }
}

/// The benchmark's returns over the window, or `None` with a note saying
/// why beta and the comparison are left out.
fn benchmark_returns(
    history: &PriceHistory,
    window: &Result<Window, String>,
    params: &RiskParams,
    notes: &mut Vec<String>,
) -> Option<Vec<f64>> {
    let w = window.as_ref().ok()?;
    let found = match &params.benchmark {
        Benchmark::Symbol(s) => w.returns_of(history, s),
        Benchmark::Universe => window::complete(&w.universe_returns(history))
            .ok_or_else(|| "a session without any symbol's return".to_string()),
    };
    match found {
        Ok(r) => Some(r),
        Err(why) => {
            notes.push(format!(
                "benchmark {}: {why}: betas are left out (collect the benchmark's bars, \
                 or set backtest.benchmark = \"universe\")",
                params.benchmark.name()
            ));
            None
        }
    }
}
