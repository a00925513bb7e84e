//! What the risk view reports: plain data, serialised as the JSON of
//! `dipwatch portfolio --format json` (percentages in fields ending `_pct`).

use chrono::NaiveDate;
use serde::Serialize;

use super::holding::Held;
use crate::domain::{AssetClass, AssetSymbol, Symbol};
use crate::strategy::ExitReason;

/// The whole analysis of one portfolio snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct RiskReport {
    /// The positions snapshot analysed.
    pub date: NaiveDate,
    /// The last session of bars the statistics use.
    pub prices_through: Option<NaiveDate>,
    /// True when the positions or any bar used are simulated: every output
    /// says so.
    pub simulated: bool,
    /// `backtest.benchmark`: a ticker or `universe`.
    pub benchmark: String,
    /// `risk.lookback`: sessions of returns for correlations and betas.
    pub lookback: usize,
    /// Account equity (or, when the broker sent none, the positions' value).
    pub equity: f64,
    /// Cash, when the broker sent it.
    pub cash: Option<f64>,
    /// Every position's weight, largest first.
    pub weights: Vec<Weight>,
    /// Largest weight and Herfindahl index of the weights shown.
    pub concentration: Concentration,
    /// Volatility, beta and share of risk of each measured position.
    pub volatility: Vec<PositionRisk>,
    /// The measured positions together.
    pub portfolio: Option<PortfolioRisk>,
    /// Pairwise correlation of daily returns of the measured positions.
    pub correlation: Correlation,
    /// The most correlated pairs, most correlated first.
    pub pairs: Vec<Pair>,
    /// Correlation clusters: groups of positions whose returns correlate at
    /// `cluster_correlation` or more (average linkage), largest first.
    pub clusters: Vec<Cluster>,
    /// Meucci's effective number of bets of the measured positions: the
    /// exponential of the entropy of their principal portfolios' shares of
    /// variance, from the covariance `D C D` of `volatility[].volatility_pct`
    /// and `correlation.matrix` (same window), weighted by `weights`.
    /// `None` with nothing measured.
    pub effective_bets: Option<f64>,
    /// `risk.cluster_correlation`.
    pub cluster_correlation: f64,
    /// The latest screen's top candidates against the holdings.
    pub suggestions: Vec<Suggestion>,
    /// Positions the strategy's exit rules would sell.
    pub exits: Vec<Exit>,
    /// The account's equity against the benchmark over the stored snapshots.
    pub equity_vs_benchmark: Option<EquityComparison>,
    /// Positions left out of the statistics, with why.
    pub excluded: Vec<Excluded>,
    /// What the reader should know (missing benchmark, thin data, ...).
    pub notes: Vec<String>,
}

impl RiskReport {
    /// True when the snapshot holds no position.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// The date this view is of: the later of the positions snapshot and
    /// the last session of bars (either moves the figures). Risk alerts
    /// evaluate a view once per such date.
    pub fn as_of(&self) -> NaiveDate {
        self.prices_through.map_or(self.date, |p| p.max(self.date))
    }

    /// The largest cluster's combined weight, percent (0 with none).
    pub fn largest_cluster_pct(&self) -> f64 {
        self.clusters.first().map_or(0.0, |c| c.weight_pct)
    }
}

// The fixture of the unit tests that need a risk view (alerts, charts): it
// lives here rather than in `test_support` so that module stays free of
// `risk` (no import cycle through the lake's tests).
#[cfg(test)]
impl RiskReport {
    /// The risk view of `date` with nothing in it: simulated, no
    /// positions, no measures, 100,000 of equity against the universe over
    /// 90 sessions; tests fill in what they are about with
    /// `RiskReport { .., ..RiskReport::empty(date) }`.
    pub(crate) fn empty(date: NaiveDate) -> Self {
        Self {
            date,
            prices_through: None,
            simulated: true,
            benchmark: "universe".into(),
            lookback: 90,
            equity: 100_000.0,
            cash: None,
            weights: Vec::new(),
            concentration: Concentration::default(),
            volatility: Vec::new(),
            portfolio: None,
            correlation: Correlation::default(),
            pairs: Vec::new(),
            effective_bets: None,
            clusters: Vec::new(),
            cluster_correlation: 0.7,
            suggestions: Vec::new(),
            exits: Vec::new(),
            equity_vs_benchmark: None,
            excluded: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// One position's share of equity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Weight {
    /// The instrument.
    pub symbol: AssetSymbol,
    /// Its asset class.
    pub asset_class: AssetClass,
    /// Market value (`None` when the broker sent none).
    pub market_value: Option<f64>,
    /// Market value over equity, percent (negative for a short).
    pub weight_pct: Option<f64>,
}

/// How concentrated the positions are.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Concentration {
    /// The largest position by absolute weight.
    pub largest: Option<AssetSymbol>,
    /// Its weight, percent of equity.
    pub largest_weight_pct: f64,
    /// Sum of the squared weights shown (`weights[].weight_pct / 100`,
    /// market value over equity; cash is not a position): 1 for all of
    /// equity in one position, less with cash.
    pub herfindahl: f64,
    /// Sum of the absolute weights shown, percent of equity.
    pub invested_pct: f64,
    /// `(invested_pct / 100)^2 / herfindahl`: as many equal positions
    /// investing the same total would be as concentrated.
    pub effective_positions: f64,
}

/// One measured position's risk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PositionRisk {
    /// The ticker.
    pub symbol: Symbol,
    /// Annualised volatility of its daily returns over `lookback` sessions
    /// (the correlations' window), percent.
    pub volatility_pct: f64,
    /// Beta to the benchmark over `lookback` sessions, when it has bars.
    pub beta: Option<f64>,
    /// Its share of the portfolio's variance, percent (the shares of the
    /// measured positions sum to 100).
    pub risk_share_pct: f64,
}

/// The measured positions as one portfolio.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortfolioRisk {
    /// Annualised volatility of the weighted returns, percent of equity.
    pub volatility_pct: f64,
    /// Weighted beta to the benchmark, when it has bars.
    pub beta: Option<f64>,
}

/// A correlation matrix with its labels.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Correlation {
    /// Row and column labels.
    pub symbols: Vec<Symbol>,
    /// `matrix[i][j]`: correlation of `symbols[i]` with `symbols[j]`.
    pub matrix: Vec<Vec<f64>>,
}

/// Two positions and how much they move together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pair {
    /// One.
    pub a: Symbol,
    /// The other.
    pub b: Symbol,
    /// Their correlation.
    pub correlation: f64,
}

/// A correlation cluster: positions that move together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    /// Its positions.
    pub symbols: Vec<Symbol>,
    /// Their combined weight, percent of equity.
    pub weight_pct: f64,
}

/// A candidate of the latest screen against the holdings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// The ticker.
    pub symbol: Symbol,
    /// Its rank on the screen.
    pub rank: u32,
    /// Its drawdown, percent.
    pub drawdown_pct: f64,
    /// Its last close.
    pub price: f64,
    /// Annualised 60-session volatility, percent (`None`: not measured).
    pub volatility_pct: Option<f64>,
    /// The holding it correlates with most, and how much.
    pub closest: Option<Pair>,
    /// Mean correlation with the measured holdings.
    pub mean_correlation: Option<f64>,
    /// True when `closest` reaches `risk.duplicate_correlation`.
    pub duplicates: bool,
    /// `budget * equity / volatility`, capped by cash.
    pub value: Option<f64>,
    /// Whole shares that value buys at `price`.
    pub shares: Option<u64>,
    /// True when cash, not the budget, set the size.
    pub capped_by_cash: bool,
    /// Why it could not be measured or sized, if so.
    pub reason: Option<String>,
}

/// A position an exit rule would sell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exit {
    /// The instrument.
    pub symbol: AssetSymbol,
    /// Every rule that sells it, in the order decided (its own rule, then
    /// the portfolio rule: [`crate::strategy::decide_exits`]).
    pub reasons: Vec<ExitReason>,
    /// Its unrealised return, percent.
    pub return_pct: f64,
    /// How long it has been held, as far as the snapshots show.
    pub held: Option<Held>,
}

/// Return, volatility and drawdown of one curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurveStats {
    /// First to last, percent.
    pub return_pct: f64,
    /// Annualised volatility of its point-to-point returns, percent.
    pub volatility_pct: f64,
    /// Worst fall from a running peak, percent (`<= 0`).
    pub max_drawdown_pct: f64,
}

/// The account's equity against the benchmark over the same dates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EquityComparison {
    /// First date compared.
    pub from: NaiveDate,
    /// Last date compared.
    pub to: NaiveDate,
    /// Snapshots compared.
    pub points: usize,
    /// The account's equity (deposits and withdrawals count as returns).
    pub equity: CurveStats,
    /// The benchmark over the same dates, when it has bars on them.
    pub benchmark: Option<CurveStats>,
}

/// A position or candidate left out of the statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Excluded {
    /// The instrument.
    pub symbol: AssetSymbol,
    /// Why.
    pub reason: String,
}
