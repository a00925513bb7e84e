//! The current positions: weights, concentration, volatility, beta, share
//! of risk, correlations, clusters and the effective number of bets, all
//! over the same `risk.lookback` sessions of returns.

use crate::domain::{AssetClass, Symbol};
use crate::query::PriceHistory;

use super::report::{
    Cluster, Concentration, Correlation, Excluded, Pair, PortfolioRisk, PositionRisk, Weight,
};
use super::stats::{self, SESSIONS_PER_YEAR};
use super::{RiskInput, RiskParams, Window, bets, cluster, f};

/// Most correlated pairs named.
pub const PAIRS_SHOWN: usize = 5;

/// The positions' side of the report: their weights and, for those with
/// enough history, their risk figures over the same window.
#[derive(Debug, Clone, Default)]
pub(super) struct PositionsRisk {
    pub equity: f64,
    pub weights: Vec<Weight>,
    pub concentration: Concentration,
    pub risks: Vec<PositionRisk>,
    pub portfolio: Option<PortfolioRisk>,
    pub correlation: Correlation,
    pub pairs: Vec<Pair>,
    pub clusters: Vec<Cluster>,
    pub effective_bets: Option<f64>,
    pub excluded: Vec<Excluded>,
    /// The measured positions' returns over `lookback`, for candidates.
    pub measured: Vec<(Symbol, Vec<f64>)>,
}

/// A measured position: its ticker, weight (fraction) and window returns.
struct Measured {
    symbol: Symbol,
    weight: f64,
    returns: Vec<f64>,
}

/// The positions' weights, then the risk figures of those that can be
/// measured over `window` (`bench`: the benchmark's returns, for beta).
pub(super) fn analyze(
    input: &RiskInput<'_>,
    params: &RiskParams,
    window: Result<&Window, &str>,
    bench: Option<&[f64]>,
) -> PositionsRisk {
    let (equity, weights) = weights(input);
    let concentration = concentration(&weights);
    let mut excluded = Vec::new();
    let mut measured = Vec::new();
    for w in &weights {
        match measurable(w, input.history, window) {
            Ok(m) => measured.push(m),
            Err(reason) => excluded.push(Excluded {
                symbol: w.symbol.clone(),
                reason,
            }),
        }
    }
    let mut held = PositionsRisk {
        equity,
        weights,
        concentration,
        excluded,
        ..PositionsRisk::default()
    };
    if !measured.is_empty() {
        measure(&mut held, &measured, params, bench);
    }
    held
}

/// Equity (the account's, else the gross market value) and each
/// position's weight of it, largest absolute weight first.
fn weights(input: &RiskInput<'_>) -> (f64, Vec<Weight>) {
    let values: Vec<Option<f64>> = input
        .positions
        .iter()
        .map(|p| p.market_value.map(f).filter(|v| v.is_finite()))
        .collect();
    let gross: f64 = values.iter().flatten().map(|v| v.abs()).sum();
    let equity = input
        .account
        .equity
        .map(f)
        .filter(|e| e.is_finite() && *e > 0.0)
        .unwrap_or(gross);
    let mut weights: Vec<Weight> = input
        .positions
        .iter()
        .zip(&values)
        .map(|(p, v)| Weight {
            symbol: p.symbol.clone(),
            asset_class: p.asset_class.clone(),
            market_value: *v,
            weight_pct: v.filter(|_| equity > 0.0).map(|v| v / equity * 100.0),
        })
        .collect();
    weights.sort_by(|a, b| {
        let w = |x: &Weight| x.weight_pct.map_or(f64::NEG_INFINITY, f64::abs);
        w(b).total_cmp(&w(a)).then_with(|| a.symbol.cmp(&b.symbol))
    });
    (equity, weights)
}

/// The measured positions' figures over the last `lookback` returns:
/// volatility, beta and share of risk each, the portfolio's, correlations,
/// the most correlated pairs, clusters and the effective number of bets.
fn measure(
    held: &mut PositionsRisk,
    measured: &[Measured],
    params: &RiskParams,
    bench: Option<&[f64]>,
) {
    let lookback = params.lookback;
    let tail = |r: &[f64], n: usize| r[r.len() - n..].to_vec();
    let corr_returns: Vec<Vec<f64>> = measured
        .iter()
        .map(|m| tail(&m.returns, lookback))
        .collect();
    let refs: Vec<&[f64]> = corr_returns.iter().map(Vec::as_slice).collect();
    let n = refs.len();
    let cov = stats::covariance_matrix(&refs);
    let corr = stats::correlation_matrix(&refs);
    let w: Vec<f64> = measured.iter().map(|m| m.weight).collect();
    let cov_w: Vec<f64> = (0..n)
        .map(|i| (0..n).map(|j| cov[i * n + j] * w[j]).sum())
        .collect();
    let variance: f64 = (0..n).map(|i| w[i] * cov_w[i]).sum();
    let bench = bench.map(|b| tail(b, lookback));
    held.risks = measured
        .iter()
        .enumerate()
        .map(|(i, m)| PositionRisk {
            symbol: m.symbol.clone(),
            // The correlations' window, so that volatility x correlation x
            // volatility is the covariance every other figure here uses.
            volatility_pct: stats::annual_volatility(&corr_returns[i]) * 100.0,
            beta: bench.as_deref().map(|b| stats::beta(&corr_returns[i], b)),
            risk_share_pct: if variance > 0.0 {
                w[i] * cov_w[i] / variance * 100.0
            } else {
                0.0
            },
        })
        .collect();
    held.portfolio = Some(PortfolioRisk {
        volatility_pct: (variance.max(0.0) * SESSIONS_PER_YEAR).sqrt() * 100.0,
        beta: bench.as_ref().map(|_| {
            held.risks
                .iter()
                .zip(&w)
                .filter_map(|(r, w)| Some(r.beta? * w))
                .sum()
        }),
    });
    let symbols: Vec<Symbol> = measured.iter().map(|m| m.symbol.clone()).collect();
    held.pairs = most_correlated(&symbols, &corr);
    held.clusters = cluster::clusters(&corr, n, params.cluster_correlation)
        .into_iter()
        .map(|g| Cluster {
            weight_pct: g.iter().map(|&i| w[i]).sum::<f64>() * 100.0,
            symbols: g.iter().map(|&i| symbols[i].clone()).collect(),
        })
        .collect();
    // From the report's own figures (D C D), so a reader recomputes it
    // from the JSON exactly.
    let vols: Vec<f64> = held.risks.iter().map(|r| r.volatility_pct).collect();
    held.effective_bets = bets::effective_bets(&bets::covariance_from(&vols, &corr), &w);
    held.correlation = Correlation {
        matrix: (0..n).map(|i| corr[i * n..(i + 1) * n].to_vec()).collect(),
        symbols: symbols.clone(),
    };
    held.measured = symbols.into_iter().zip(corr_returns).collect();
}

/// The [`PAIRS_SHOWN`] most correlated pairs of `symbols`, given their
/// correlation matrix (row-major, `n` x `n`).
fn most_correlated(symbols: &[Symbol], corr: &[f64]) -> Vec<Pair> {
    let n = symbols.len();
    let mut pairs: Vec<Pair> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .map(|(i, j)| Pair {
            a: symbols[i].clone(),
            b: symbols[j].clone(),
            correlation: corr[i * n + j],
        })
        .collect();
    pairs.sort_by(|x, y| y.correlation.total_cmp(&x.correlation));
    pairs.truncate(PAIRS_SHOWN);
    pairs
}

/// A position's window returns, or why it cannot be measured.
fn measurable(
    w: &Weight,
    history: &PriceHistory,
    window: Result<&Window, &str>,
) -> Result<Measured, String> {
    let kind = match &w.asset_class {
        AssetClass::UsEquity => None,
        AssetClass::UsOption => Some("an option".to_string()),
        AssetClass::Crypto => Some("crypto".to_string()),
        AssetClass::CryptoPerp => Some("a crypto perpetual".to_string()),
        // A class Alpaca added since: shown by its own name, not dropped.
        AssetClass::Other(name) => Some(format!("asset class {name}")),
    };
    if let Some(kind) = kind {
        return Err(format!("{kind}: the lake holds daily bars of stocks only"));
    }
    let Some(weight) = w.weight_pct.map(|p| p / 100.0) else {
        return Err("the broker sent no market value".into());
    };
    let symbol = Symbol::parse(w.symbol.as_str()).map_err(|e| e.to_string())?;
    // The window's own reason (how many sessions there are, how many are
    // needed) is what is true of every position.
    let window = window.map_err(str::to_string)?;
    let returns = window.returns_of(history, &symbol)?;
    Ok(Measured {
        symbol,
        weight,
        returns,
    })
}

/// Largest weight and the Herfindahl index of the weights shown (each
/// position's market value over equity; cash is not a position).
fn concentration(weights: &[Weight]) -> Concentration {
    let Some(largest) = weights.first().filter(|w| w.weight_pct.is_some()) else {
        return Concentration::default();
    };
    let shown: Vec<f64> = weights
        .iter()
        .filter_map(|w| w.weight_pct)
        .map(|p| p / 100.0)
        .collect();
    let herfindahl: f64 = shown.iter().map(|w| w * w).sum();
    let invested: f64 = shown.iter().map(|w| w.abs()).sum();
    Concentration {
        largest: Some(largest.symbol.clone()),
        largest_weight_pct: largest.weight_pct.unwrap_or(0.0),
        herfindahl,
        invested_pct: invested * 100.0,
        // (sum |w|)^2 / sum w^2: the number of equal positions with the
        // same invested total that would be as concentrated, so cash
        // neither adds nor removes positions.
        effective_positions: if herfindahl > 0.0 {
            invested * invested / herfindahl
        } else {
            0.0
        },
    }
}
