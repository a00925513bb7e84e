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
//! clustering in [`cluster`], the effective number of bets in [`bets`],
//! holding periods in [`holding`].

pub mod bets;
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

use crate::config::{BacktestSettings, PortfolioSettings, RiskSettings};
use crate::domain::{Account, AssetClass, AssetSymbol, DrawdownRow, Position, Symbol};
use crate::query::PriceHistory;
use crate::strategy::{ExitRules, PortfolioRule};

pub use holding::{Held, holding_periods};
pub use load::{BarsSource, RiskData, load_data};
pub use report::*;
pub use window::{VOL_SESSIONS, Window};

/// What the returns are compared against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Benchmark {
    /// A ticker's bars in the lake.
    Symbol(Symbol),
    /// The equal-weight universe of these members
    /// ([`crate::config::AppConfig::universe_mask`]'s definition: `market.universe`).
    Universe(Vec<Symbol>),
}

impl Benchmark {
    /// The name as configured.
    pub fn name(&self) -> String {
        match self {
            Self::Symbol(s) => s.to_string(),
            Self::Universe(_) => crate::config::UNIVERSE_BENCHMARK.to_string(),
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
    /// From `[risk]`, the benchmark and exits of `[backtest]`, the rule of
    /// `[portfolio]`, and the universe (the "universe" benchmark's members).
    pub fn new(
        risk: &RiskSettings,
        backtest: &BacktestSettings,
        portfolio: &PortfolioSettings,
        universe: &[Symbol],
    ) -> Self {
        Self {
            lookback: risk.lookback,
            budget: risk.budget,
            cluster_correlation: risk.cluster_correlation,
            duplicate_correlation: risk.duplicate_correlation,
            candidates: risk.candidates,
            benchmark: backtest
                .benchmark_symbol()
                .map_or_else(|| Benchmark::Universe(universe.to_vec()), Benchmark::Symbol),
            exit_rules: backtest.exit_rules(),
            portfolio_rule: portfolio.rule(),
            classes: portfolio.asset_classes.clone(),
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
    let held = positions::analyze(
        input,
        params,
        window.as_ref().map_err(String::as_str),
        bench.as_deref(),
    );
    if let Err(why) = &window
        && !input.positions.is_empty()
    {
        notes.push(format!("no position can be measured: {why}"));
    }
    let suggestions = suggest::suggestions(
        input,
        params,
        &held,
        window.as_ref().map_err(String::as_str),
    );
    let (exits, exit_notes) = exits::exits(input, params);
    notes.extend(exit_notes);
    let equity_vs_benchmark = equity::compare(input, &params.benchmark, &mut notes);
    RiskReport {
        date: input.date,
        prices_through: input.history.dates().last().copied(),
        simulated,
        benchmark: params.benchmark.name(),
        lookback: params.lookback,
        equity: held.equity,
        cash: input.account.cash.map(f),
        weights: held.weights,
        concentration: held.concentration,
        volatility: held.risks,
        portfolio: held.portfolio,
        correlation: held.correlation,
        pairs: held.pairs,
        effective_bets: held.effective_bets,
        clusters: held.clusters,
        cluster_correlation: params.cluster_correlation,
        suggestions,
        exits,
        equity_vs_benchmark,
        excluded: held.excluded,
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
        Benchmark::Universe(members) => window::complete(&w.universe_returns(history, members))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Side;
    use crate::query::DayBars;
    use crate::strategy::ExitReason;
    use crate::test_support::sym;
    use rust_decimal::Decimal;

    const DAYS: usize = 61;

    /// Closes from daily returns, starting at 100.
    fn path(returns: &[f64]) -> Vec<f64> {
        let mut p = 100.0;
        std::iter::once(p)
            .chain(returns.iter().map(|r| {
                p *= 1.0 + r;
                p
            }))
            .collect()
    }

    /// A moves at random, B twice A's moves (correlation 1, beta 2 to A),
    /// C its own way; DUP is A again (a candidate duplicating A); SPY is A.
    fn market() -> PriceHistory {
        let mut seed = 3u64;
        let mut noise = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.04
        };
        let a: Vec<f64> = (0..DAYS - 1).map(|_| noise()).collect();
        let b: Vec<f64> = a.iter().map(|r| 2.0 * r).collect();
        let c: Vec<f64> = (0..DAYS - 1).map(|_| noise()).collect();
        let series = [
            ("A", path(&a)),
            ("B", path(&b)),
            ("C", path(&c)),
            ("DUP", path(&a)),
            ("SPY", path(&a)),
        ];
        let start: NaiveDate = "2026-08-03".parse().unwrap();
        let dates = crate::market::calendar::trading_days(start, "2026-12-31".parse().unwrap());
        PriceHistory::from_days(
            (0..DAYS)
                .map(|t| {
                    let mut day = DayBars::new(dates[t], false);
                    for (s, closes) in &series {
                        let c = closes[t];
                        day.push(&sym(s), [c, c, c, c, 1.0]);
                    }
                    day
                })
                .collect(),
        )
    }

    fn position(symbol: &str, class: AssetClass, value: i64, return_pct: i64) -> Position {
        Position {
            symbol: AssetSymbol::parse(symbol).unwrap(),
            asset_class: class,
            side: Side::Long,
            quantity: Decimal::ONE,
            avg_entry_price: Decimal::from(value),
            current_price: Some(Decimal::from(value)),
            unrealized_return_pct: Some(Decimal::from(return_pct)),
            market_value: Some(Decimal::from(value)),
            unrealized_pl: None,
        }
    }

    fn account(equity: i64, cash: i64) -> Account {
        Account::with_equity_and_cash(Some(Decimal::from(equity)), Some(Decimal::from(cash)))
    }

    fn params() -> RiskParams {
        RiskParams {
            lookback: 20,
            budget: 0.02,
            cluster_correlation: 0.7,
            duplicate_correlation: 0.8,
            candidates: 5,
            benchmark: Benchmark::Symbol(sym("SPY")),
            exit_rules: ExitRules {
                take_profit_pct: Some(75.0),
                stop_loss_pct: None,
                max_hold: None,
            },
            portfolio_rule: PortfolioRule {
                top: 2,
                target_pct: 50.0,
            },
            classes: vec![AssetClass::UsEquity],
        }
    }

    fn row(symbol: &str, rank: u32, price: f64) -> DrawdownRow {
        DrawdownRow {
            date: "2026-10-26".parse().unwrap(),
            symbol: sym(symbol),
            current_price: price,
            peak_price: price * 2.0,
            peak_date: "2026-09-01".parse().unwrap(),
            drawdown_pct: -50.0,
            days_since_peak: 10,
            volume: 1,
            rank,
        }
    }

    fn run(positions: &[Position], account: &Account, screen: &[DrawdownRow]) -> RiskReport {
        let history = market();
        let held = HashMap::new();
        analyze(
            &RiskInput {
                date: *history.dates().last().unwrap(),
                positions,
                account,
                held: &held,
                history: &history,
                screen,
                equity: &[],
                simulated: false,
            },
            &params(),
        )
    }

    #[test]
    fn weights_concentration_clusters_and_exits_by_hand() {
        let positions = [
            position("A", AssetClass::UsEquity, 500, 80),
            position("B", AssetClass::UsEquity, 300, 30),
            position("C", AssetClass::UsEquity, 200, 10),
            position("AAPL261218C00200000", AssetClass::UsOption, 100, 900),
        ];
        let r = run(&positions, &account(2000, 900), &[]);
        let weights: Vec<(&str, f64)> = r
            .weights
            .iter()
            .map(|w| (w.symbol.as_str(), w.weight_pct.unwrap()))
            .collect();
        assert_eq!(
            weights,
            [
                ("A", 25.0),
                ("B", 15.0),
                ("C", 10.0),
                ("AAPL261218C00200000", 5.0)
            ]
        );
        assert_eq!(r.concentration.largest_weight_pct, 25.0);
        // Over the weights shown: 0.25² + 0.15² + 0.10² + 0.05²; as
        // concentrated as 0.55² / that equal positions (1100² / (500² +
        // 300² + 200² + 100²) of the invested value).
        let hhi = 0.0975;
        assert!((r.concentration.herfindahl - hhi).abs() < 1e-12);
        assert!((r.concentration.invested_pct - 55.0).abs() < 1e-12);
        let equal = 1_210_000.0 / 390_000.0;
        assert!((r.concentration.effective_positions - equal).abs() < 1e-12);
        // The option is listed, not measured.
        assert_eq!(r.excluded.len(), 1);
        assert!(
            r.excluded[0].reason.contains("an option"),
            "{:?}",
            r.excluded
        );
        // A and B are one bet; C another.
        let groups: Vec<Vec<&str>> = r
            .clusters
            .iter()
            .map(|c| c.symbols.iter().map(|s| s.as_str()).collect())
            .collect();
        assert_eq!(groups, [vec!["A", "B"], vec!["C"]]);
        // A and B are one bet (correlation 1): at most two, more than one.
        let bets = r.effective_bets.unwrap();
        assert!(bets > 1.0 && bets < 2.0 + 1e-9, "{bets}");
        assert!((r.clusters[0].weight_pct - 40.0).abs() < 1e-9);
        assert_eq!((r.pairs[0].a.as_str(), r.pairs[0].b.as_str()), ("A", "B"));
        assert!((r.pairs[0].correlation - 1.0).abs() < 1e-9);
        // SPY is A: beta 1 for A, 2 for B; B's volatility twice A's.
        let risk = |s: &str| {
            r.volatility
                .iter()
                .find(|v| v.symbol.as_str() == s)
                .unwrap()
        };
        assert!((risk("A").beta.unwrap() - 1.0).abs() < 1e-9);
        assert!((risk("B").beta.unwrap() - 2.0).abs() < 1e-9);
        assert!((risk("B").volatility_pct - 2.0 * risk("A").volatility_pct).abs() < 1e-9);
        let shares: f64 = r.volatility.iter().map(|v| v.risk_share_pct).sum();
        assert!((shares - 100.0).abs() < 1e-9);
        // The best two stocks (80, 30) average 55 >= 50: both sold by the
        // portfolio rule (the option's 900 is not counted); A is also past
        // its own take-profit of 75.
        let exits: Vec<(&str, &[ExitReason])> = r
            .exits
            .iter()
            .map(|e| (e.symbol.as_str(), e.reasons.as_slice()))
            .collect();
        assert_eq!(
            exits,
            [
                (
                    "A",
                    &[ExitReason::TakeProfit, ExitReason::PortfolioRule][..]
                ),
                ("B", &[ExitReason::PortfolioRule][..]),
                ("AAPL261218C00200000", &[ExitReason::TakeProfit][..]),
            ]
        );
    }

    #[test]
    fn candidates_are_sized_by_inverse_volatility_capped_by_cash_and_duplicates_flagged() {
        let positions = [
            position("A", AssetClass::UsEquity, 500, 0),
            position("C", AssetClass::UsEquity, 200, 0),
        ];
        let screen = [row("A", 1, 10.0), row("DUP", 2, 10.0), row("B", 3, 7.0)];
        let r = run(&positions, &account(100_000, 1_000), &screen);
        let names: Vec<&str> = r.suggestions.iter().map(|s| s.symbol.as_str()).collect();
        assert_eq!(names, ["DUP", "B"], "a holding is not a candidate");
        let dup = &r.suggestions[0];
        assert!(dup.duplicates);
        assert_eq!(dup.closest.as_ref().unwrap().b.as_str(), "A");
        // 2% of 100,000 over a volatility of a few tens of percent is
        // thousands: cash (1,000) caps it.
        assert!(dup.capped_by_cash);
        assert_eq!(dup.value, Some(1_000.0));
        assert_eq!(dup.shares, Some(100));

        // Plenty of cash: budget * equity / volatility exactly.
        let r = run(&positions, &account(100_000, 90_000), &screen);
        let b = &r.suggestions[1];
        let vol = b.volatility_pct.unwrap() / 100.0;
        assert!((b.value.unwrap() - 0.02 * 100_000.0 / vol).abs() < 1e-6);
        assert_eq!(b.shares, Some((b.value.unwrap() / 7.0).floor() as u64));
        assert!(!b.capped_by_cash);
    }

    #[test]
    fn an_empty_portfolio_still_gets_sized_candidates() {
        let r = run(&[], &account(10_000, 10_000), &[row("C", 1, 5.0)]);
        assert!(r.is_empty());
        assert!(r.exits.is_empty() && r.clusters.is_empty() && r.excluded.is_empty());
        assert_eq!(r.effective_bets, None);
        let c = &r.suggestions[0];
        assert!(c.closest.is_none() && !c.duplicates);
        assert!(c.value.is_some());
    }

    #[test]
    fn a_missing_benchmark_is_noted_and_betas_left_out() {
        let mut p = params();
        p.benchmark = Benchmark::Symbol(sym("QQQ"));
        let history = market();
        let held = HashMap::new();
        let positions = [position("A", AssetClass::UsEquity, 500, 0)];
        let account = account(1000, 500);
        let r = analyze(
            &RiskInput {
                date: *history.dates().last().unwrap(),
                positions: &positions,
                account: &account,
                held: &held,
                history: &history,
                screen: &[],
                equity: &[],
                simulated: true,
            },
            &p,
        );
        assert!(r.simulated);
        assert!(r.volatility[0].beta.is_none());
        assert!(r.portfolio.as_ref().unwrap().beta.is_none());
        assert!(
            r.notes.iter().any(|n| n.contains("benchmark QQQ: no bars")),
            "{:?}",
            r.notes
        );
        assert!(r.notes.iter().any(|n| n.contains("SIMULATED")));
    }
}
