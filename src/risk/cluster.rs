//! Groups of positions that move together: agglomerative (hierarchical)
//! clustering with average linkage on the distance `1 - correlation`,
//! stopped when the closest two groups are less correlated than the
//! threshold. The groups are correlation clusters: names that move
//! together, listed as such (how many bets the risk is spread over is
//! [`super::bets`]' effective number, which weighs size and volatility).

/// Cluster `n` series given their correlation matrix (`n x n`, row major).
/// Two groups merge while their average pairwise correlation is at least
/// `min_correlation`, closest first. Groups come back largest first, each
/// sorted by index, ties by their first index, so the answer does not
/// depend on the order of merges among equals.
pub fn clusters(corr: &[f64], n: usize, min_correlation: f64) -> Vec<Vec<usize>> {
    let max_distance = 1.0 - min_correlation;
    let mut groups: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    // Average-linkage distances between current groups, kept up to date
    // with the Lance-Williams update (sizes weight the average).
    let mut dist: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| 1.0 - corr[i * n + j]).collect())
        .collect();
    loop {
        let mut best: Option<(usize, usize, f64)> = None;
        for (a, row) in dist.iter().enumerate() {
            for (b, &d) in row.iter().enumerate().skip(a + 1) {
                if !d.is_nan() && best.is_none_or(|(_, _, bd)| d < bd) {
                    best = Some((a, b, d));
                }
            }
        }
        // A hair of tolerance: 1 - 0.7 is not exactly 0.3 in binary.
        let Some((a, b, _)) = best.filter(|(_, _, d)| *d <= max_distance + 1e-12) else {
            break;
        };
        let (na, nb) = (groups[a].len() as f64, groups[b].len() as f64);
        for (k, row) in dist.iter_mut().enumerate() {
            if k != a && k != b {
                row[a] = (na * row[a] + nb * row[b]) / (na + nb);
            }
        }
        let column: Vec<f64> = dist.iter().map(|row| row[a]).collect();
        for (k, v) in column.into_iter().enumerate() {
            if k != a && k != b {
                dist[a][k] = v;
            }
        }
        let merged = groups.remove(b);
        groups[a].extend(merged);
        dist.remove(b);
        for row in &mut dist {
            row.remove(b);
        }
    }
    for g in &mut groups {
        g.sort_unstable();
    }
    groups.sort_by(|x, y| y.len().cmp(&x.len()).then(x[0].cmp(&y[0])));
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::stats::correlation_matrix;

    /// Deterministic noise in [-0.5, 0.5): a small LCG, enough for tests.
    fn noise(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    /// `groups` of series, each series its group's common factor plus a
    /// little of its own noise: within a group they correlate ~0.97,
    /// across groups ~0.
    fn constructed(groups: &[usize], len: usize) -> Vec<Vec<f64>> {
        let mut seed = 7;
        let mut out = Vec::new();
        for &size in groups {
            let factor: Vec<f64> = (0..len).map(|_| noise(&mut seed)).collect();
            for _ in 0..size {
                out.push(factor.iter().map(|f| f + 0.25 * noise(&mut seed)).collect());
            }
        }
        out
    }

    #[test]
    fn constructed_groups_are_found_whole() {
        let series = constructed(&[3, 2, 1], 250);
        let refs: Vec<&[f64]> = series.iter().map(Vec::as_slice).collect();
        let corr = correlation_matrix(&refs);
        let found = clusters(&corr, refs.len(), 0.7);
        assert_eq!(found, vec![vec![0, 1, 2], vec![3, 4], vec![5]]);
        // At a threshold no pair reaches, every series is its own bet.
        assert_eq!(clusters(&corr, refs.len(), 0.999).len(), 6);
    }

    #[test]
    fn average_linkage_by_hand() {
        // A-B 0.9, C joins only if its average with {A, B} reaches the
        // threshold: (0.8 + 0.6) / 2 = 0.7.
        #[rustfmt::skip]
        let corr = [
            1.0, 0.9, 0.8,
            0.9, 1.0, 0.6,
            0.8, 0.6, 1.0,
        ];
        assert_eq!(clusters(&corr, 3, 0.7), vec![vec![0, 1, 2]]);
        assert_eq!(clusters(&corr, 3, 0.75), vec![vec![0, 1], vec![2]]);
        assert_eq!(clusters(&corr, 3, 0.95).len(), 3);
        assert!(clusters(&[], 0, 0.7).is_empty());
    }
}
