//! The statistics of the risk view on plain `f64` slices: daily returns,
//! sample volatility, covariance, correlation, beta, drawdown. Sample
//! statistics use `n - 1` (numpy's `ddof=1`, what `np.corrcoef` and
//! `np.cov` use), and a year is [`SESSIONS_PER_YEAR`] sessions.

/// Trading sessions in a year, for annualising daily figures.
pub const SESSIONS_PER_YEAR: f64 = 252.0;

/// Simple daily returns of `closes`: `c[t] / c[t-1] - 1`, one fewer than
/// the closes.
pub fn returns(closes: &[f64]) -> Vec<f64> {
    closes.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
}

/// The arithmetic mean (`NaN` when empty).
pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample covariance of two equally long series (`NaN` under 2 points).
pub fn covariance(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    if n < 2 {
        return f64::NAN;
    }
    let (mx, my) = (mean(&x[..n]), mean(&y[..n]));
    x[..n]
        .iter()
        .zip(&y[..n])
        .map(|(a, b)| (a - mx) * (b - my))
        .sum::<f64>()
        / (n - 1) as f64
}

/// Sample standard deviation (`NaN` under 2 points).
pub fn std_dev(x: &[f64]) -> f64 {
    covariance(x, x).sqrt()
}

/// Annualised volatility of daily returns: sample standard deviation times
/// the square root of [`SESSIONS_PER_YEAR`], as a fraction (0.25 = 25%).
pub fn annual_volatility(daily: &[f64]) -> f64 {
    std_dev(daily) * SESSIONS_PER_YEAR.sqrt()
}

/// Beta of `asset` to `benchmark`: their covariance over the benchmark's
/// variance (`NaN` when the benchmark does not move).
pub fn beta(asset: &[f64], benchmark: &[f64]) -> f64 {
    covariance(asset, benchmark) / covariance(benchmark, benchmark)
}

/// The sample covariance matrix of `series` (each the same length), row
/// major, `n x n`.
pub fn covariance_matrix(series: &[&[f64]]) -> Vec<f64> {
    let n = series.len();
    let centred: Vec<Vec<f64>> = series
        .iter()
        .map(|s| {
            let m = mean(s);
            s.iter().map(|v| v - m).collect()
        })
        .collect();
    let len = series.first().map_or(0, |s| s.len());
    let denom = len.saturating_sub(1) as f64;
    let mut out = vec![f64::NAN; n * n];
    for i in 0..n {
        for j in i..n {
            let c = dot(&centred[i], &centred[j]) / denom;
            out[i * n + j] = c;
            out[j * n + i] = c;
        }
    }
    out
}

/// The correlation matrix of `series` (each the same length), row major,
/// `n x n`, with an exact 1 on the diagonal; a series that never moves
/// correlates `NaN` with everything (callers leave such series out).
pub fn correlation_matrix(series: &[&[f64]]) -> Vec<f64> {
    let n = series.len();
    let mut out = covariance_matrix(series);
    let sd: Vec<f64> = (0..n).map(|i| out[i * n + i].sqrt()).collect();
    for i in 0..n {
        for j in 0..n {
            out[i * n + j] = if i == j && sd[i] > 0.0 {
                1.0
            } else {
                // Rounding can leave |r| a hair above 1.
                (out[i * n + j] / (sd[i] * sd[j])).clamp(-1.0, 1.0)
            };
        }
    }
    out
}

/// Pearson correlation of two equally long series.
pub fn correlation(x: &[f64], y: &[f64]) -> f64 {
    (covariance(x, y) / (std_dev(x) * std_dev(y))).clamp(-1.0, 1.0)
}

/// The largest fall from a running peak of `values` (a price or equity
/// curve), as a fraction `<= 0` (-0.25 = down 25% at worst); 0 when it
/// never fell or is empty.
pub fn max_drawdown(values: &[f64]) -> f64 {
    let mut peak = f64::NEG_INFINITY;
    let mut worst: f64 = 0.0;
    for &v in values {
        peak = peak.max(v);
        if peak > 0.0 {
            worst = worst.min(v / peak - 1.0);
        }
    }
    worst
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn returns_volatility_and_beta_by_hand() {
        let r = returns(&[100.0, 110.0, 99.0]);
        assert!(r.len() == 2 && close(r[0], 0.1) && close(r[1], -0.1));
        // 1, 2, 3: mean 2, sample variance 1.
        assert!(close(std_dev(&[1.0, 2.0, 3.0]), 1.0));
        assert!(close(annual_volatility(&[1.0, 2.0, 3.0]), 252f64.sqrt()));
        // Twice the benchmark's moves: beta 2; the benchmark against itself: 1.
        let b = [0.01, -0.02, 0.03, 0.0];
        let a: Vec<f64> = b.iter().map(|x| 2.0 * x).collect();
        assert!(close(beta(&a, &b), 2.0));
        assert!(close(beta(&b, &b), 1.0));
        assert!(std_dev(&[1.0]).is_nan(), "one point has no spread");
    }

    #[test]
    fn correlation_of_known_series() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let up = [2.0, 4.0, 6.0, 8.0];
        let down = [4.0, 3.0, 2.0, 1.0];
        // x against [1, 3, 2, 4]: cov 5/3 over var 5/3 = 0.8.
        let mixed = [1.0, 3.0, 2.0, 4.0];
        let m = correlation_matrix(&[&x, &up, &down, &mixed]);
        assert_eq!(m[0], 1.0);
        assert!(close(m[1], 1.0));
        assert!(close(m[2], -1.0));
        assert!(close(m[3], 0.8));
        assert!(close(m[3 * 4], 0.8), "symmetric");
        assert!(close(correlation(&x, &mixed), 0.8));
        let cov = covariance_matrix(&[&x, &mixed]);
        // Deviations (-1.5, -0.5, 0.5, 1.5) and (-1.5, 0.5, -0.5, 1.5): 4 / 3.
        assert!(close(cov[1], 4.0 / 3.0));
        assert!(close(cov[0], 5.0 / 3.0));
    }

    #[test]
    fn max_drawdown_is_the_worst_fall_from_a_running_peak() {
        assert_eq!(max_drawdown(&[]), 0.0);
        assert_eq!(max_drawdown(&[1.0, 2.0, 3.0]), 0.0);
        // Peak 120, trough 90: -25%; the later fall 110 -> 100 is smaller.
        assert!(close(
            max_drawdown(&[100.0, 120.0, 90.0, 110.0, 100.0]),
            -0.25
        ));
    }
}
