//! What the correlation heatmap shows, from the risk view's own matrix
//! (pure: no statistics are computed here, so the picture never disagrees
//! with `/risk` or `dipwatch portfolio`): at most [`HEATMAP_MAX`]
//! positions, the largest weights, ordered cluster by cluster so each
//! group that is one bet sits in one block on the diagonal.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::NoChart;
use crate::domain::Symbol;
use crate::risk::RiskReport;

/// The most positions a heatmap shows: 20 rows of labels stay readable on
/// a phone; beyond that the largest weights are shown and the picture says
/// so.
pub const HEATMAP_MAX: usize = 20;

/// The correlation heatmap of a portfolio's measured positions.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationHeatmap {
    /// The positions snapshot's date.
    pub date: NaiveDate,
    /// Sessions of returns the correlations are taken over.
    pub lookback: usize,
    /// Row and column labels, cluster by cluster (largest cluster first,
    /// largest weight first within one).
    pub symbols: Vec<Symbol>,
    /// `matrix[i][j]`: the report's correlation of `symbols[i]` and
    /// `symbols[j]`.
    pub matrix: Vec<Vec<f64>>,
    /// Sizes of the consecutive cluster blocks along the diagonal (they
    /// sum to `symbols.len()`).
    pub blocks: Vec<usize>,
    /// Positions measured in the report (more than shown when over
    /// [`HEATMAP_MAX`]).
    pub measured: usize,
    /// `risk.cluster_correlation`: the correlation that makes one bet.
    pub cluster_correlation: f64,
    /// True when the prices are simulated (the picture says so).
    pub simulated: bool,
}

impl CorrelationHeatmap {
    /// True when some measured positions are left out.
    pub fn truncated(&self) -> bool {
        self.symbols.len() < self.measured
    }
}

/// The heatmap of `report`'s correlation matrix: its [`HEATMAP_MAX`]
/// largest measured positions by absolute weight, grouped by cluster.
/// [`NoChart::Empty`] under two measured positions (nothing correlates).
pub fn correlation_heatmap(report: &RiskReport) -> Result<CorrelationHeatmap, NoChart> {
    let c = &report.correlation;
    let measured = c.symbols.len();
    if measured < 2 || c.matrix.len() != measured {
        return Err(NoChart::Empty);
    }
    let at: HashMap<&Symbol, usize> = c.symbols.iter().enumerate().map(|(i, s)| (s, i)).collect();
    let weight: HashMap<&str, f64> = report
        .weights
        .iter()
        .filter_map(|w| Some((w.symbol.as_str(), w.weight_pct?.abs())))
        .collect();
    let weight_of = |i: usize| weight.get(c.symbols[i].as_str()).copied().unwrap_or(0.0);
    // The largest weights, ties by symbol so the choice is stable.
    let mut by_weight: Vec<usize> = (0..measured).collect();
    by_weight.sort_by(|&a, &b| {
        weight_of(b)
            .total_cmp(&weight_of(a))
            .then_with(|| c.symbols[a].cmp(&c.symbols[b]))
    });
    let mut shown = vec![false; measured];
    for &i in by_weight.iter().take(HEATMAP_MAX) {
        shown[i] = true;
    }
    // Cluster by cluster (the report's order: largest first), then any
    // measured symbol no cluster lists, each its own block.
    let mut order: Vec<usize> = Vec::new();
    let mut blocks = Vec::new();
    let mut placed = vec![false; measured];
    let clusters = report.clusters.iter().map(|cl| {
        cl.symbols
            .iter()
            .filter_map(|s| at.get(s).copied())
            .collect::<Vec<_>>()
    });
    let singles = (0..measured).map(|i| vec![i]);
    for group in clusters.chain(singles) {
        let mut members: Vec<usize> = group
            .into_iter()
            .filter(|&i| shown[i] && !placed[i])
            .collect();
        if members.is_empty() {
            continue;
        }
        members.sort_by(|&a, &b| weight_of(b).total_cmp(&weight_of(a)).then(a.cmp(&b)));
        for &i in &members {
            placed[i] = true;
        }
        blocks.push(members.len());
        order.extend(members);
    }
    Ok(CorrelationHeatmap {
        date: report.date,
        lookback: report.lookback,
        symbols: order.iter().map(|&i| c.symbols[i].clone()).collect(),
        matrix: order
            .iter()
            .map(|&i| order.iter().map(|&j| c.matrix[i][j]).collect())
            .collect(),
        blocks,
        measured,
        cluster_correlation: report.cluster_correlation,
        simulated: report.simulated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AssetClass, AssetSymbol};
    use crate::risk::{Cluster, Correlation, Weight};
    use crate::test_support::{d, sym};

    /// A report of `n` measured positions, weights falling with the index,
    /// correlations `1 / (1 + |i - j|)` (so each cell names its pair), and
    /// (from 4 positions) clusters of two: {0, 3}, {1, 2}, then singles.
    fn report(n: usize) -> RiskReport {
        let symbols: Vec<Symbol> = (0..n).map(|i| sym(&format!("S{i}"))).collect();
        let matrix = (0..n)
            .map(|i| (0..n).map(|j| 1.0 / (1.0 + i.abs_diff(j) as f64)).collect())
            .collect();
        let weights = (0..n)
            .map(|i| Weight {
                symbol: AssetSymbol::parse(&format!("S{i}")).unwrap(),
                asset_class: AssetClass::UsEquity,
                market_value: Some(1000.0 - i as f64),
                weight_pct: Some(10.0 - i as f64 * 0.1),
            })
            .collect();
        let pair = |a: usize, b: usize| Cluster {
            symbols: vec![symbols[a].clone(), symbols[b].clone()],
            weight_pct: 19.7,
        };
        let mut clusters = if n >= 4 {
            vec![pair(0, 3), pair(1, 2)]
        } else {
            Vec::new()
        };
        clusters.extend((4.min(n)..n).map(|i| Cluster {
            symbols: vec![symbols[i].clone()],
            weight_pct: 1.0,
        }));
        RiskReport {
            weights,
            correlation: Correlation { symbols, matrix },
            clusters,
            ..RiskReport::empty(d("2026-11-20"))
        }
    }

    /// Every cell of the heatmap is the report's cell of the same pair.
    fn assert_cells_match(h: &CorrelationHeatmap, r: &RiskReport) {
        let at = |s: &Symbol| r.correlation.symbols.iter().position(|x| x == s).unwrap();
        for (i, a) in h.symbols.iter().enumerate() {
            for (j, b) in h.symbols.iter().enumerate() {
                assert_eq!(
                    h.matrix[i][j],
                    r.correlation.matrix[at(a)][at(b)],
                    "{a}-{b}"
                );
            }
        }
    }

    #[test]
    fn the_matrix_is_the_reports_grouped_by_cluster() {
        let r = report(6);
        let h = correlation_heatmap(&r).unwrap();
        let names: Vec<&str> = h.symbols.iter().map(Symbol::as_str).collect();
        assert_eq!(names, ["S0", "S3", "S1", "S2", "S4", "S5"]);
        assert_eq!(h.blocks, [2, 2, 1, 1]);
        assert!(!h.truncated() && h.simulated);
        assert_cells_match(&h, &r);
        // In the report's own order the matrix is the report's exactly.
        let mut plain = r.clone();
        plain.clusters.clear();
        assert_eq!(
            correlation_heatmap(&plain).unwrap().matrix,
            r.correlation.matrix
        );
    }

    #[test]
    fn over_twenty_positions_the_largest_weights_are_shown() {
        let r = report(27);
        let h = correlation_heatmap(&r).unwrap();
        assert_eq!(h.symbols.len(), HEATMAP_MAX);
        assert_eq!((h.measured, h.truncated()), (27, true));
        // S0..S19 are the largest weights; S20..S26 are left out.
        let mut names: Vec<&str> = h.symbols.iter().map(Symbol::as_str).collect();
        names.sort_unstable_by_key(|s| s[1..].parse::<usize>().unwrap());
        let expected: Vec<String> = (0..20).map(|i| format!("S{i}")).collect();
        assert_eq!(names, expected);
        assert_eq!(h.blocks.iter().sum::<usize>(), HEATMAP_MAX);
        assert_cells_match(&h, &r);
    }

    #[test]
    fn under_two_measured_positions_there_is_nothing_to_draw() {
        let mut r = report(2);
        assert!(correlation_heatmap(&r).is_ok());
        r.correlation = Correlation {
            symbols: vec![sym("S0")],
            matrix: vec![vec![1.0]],
        };
        assert_eq!(correlation_heatmap(&r), Err(NoChart::Empty));
    }
}
