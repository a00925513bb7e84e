//! Meucci's effective number of bets: how many uncorrelated bets a
//! portfolio's risk is really spread over.
//!
//! The covariance matrix `S` is decomposed into its principal portfolios
//! (`S = E diag(lambda) E'`, eigenvectors `E`, uncorrelated by
//! construction). The portfolio's exposure to principal portfolio `k` is
//! `(E' w)_k`, its variance contribution `v_k = (E' w)_k^2 lambda_k`, and
//! with `p_k = v_k / sum(v)` the effective number of bets is the exponential
//! of their entropy, `exp(-sum p_k ln p_k)`: 1 when all the risk is one
//! principal bet, `n` when it is spread evenly over all `n`. Unlike a count
//! of correlation clusters it weighs positions by size and volatility.
//! (A. Meucci, "Managing Diversification", Risk, 2009.)

/// The covariance `D C D` implied by volatilities `vol` and a correlation
/// matrix `corr` (`n x n`, row major): what a reader of the report can
/// rebuild from its `volatility_pct` and `correlation.matrix`.
pub fn covariance_from(vol: &[f64], corr: &[f64]) -> Vec<f64> {
    let n = vol.len();
    (0..n * n)
        .map(|k| vol[k / n] * corr[k] * vol[k % n])
        .collect()
}

/// The effective number of bets of `weights` under covariance `cov`
/// (`n x n`, row major, symmetric). `None` with no position or when the
/// portfolio carries no variance (nothing to spread).
pub fn effective_bets(cov: &[f64], weights: &[f64]) -> Option<f64> {
    let n = weights.len();
    if n == 0 || cov.len() != n * n || cov.iter().any(|c| !c.is_finite()) {
        return None;
    }
    let (values, vectors) = symmetric_eigen(cov, n);
    // Exposure to each principal portfolio, times its variance. A tiny
    // negative eigenvalue is rounding of a singular matrix: no variance.
    let contributions: Vec<f64> = (0..n)
        .map(|k| {
            let exposure: f64 = (0..n).map(|i| vectors[i * n + k] * weights[i]).sum();
            exposure * exposure * values[k].max(0.0)
        })
        .collect();
    let total: f64 = contributions.iter().sum();
    if !(total > 0.0 && total.is_finite()) {
        return None;
    }
    let entropy: f64 = contributions
        .iter()
        .map(|v| v / total)
        .filter(|p| *p > 0.0)
        .map(|p| -p * p.ln())
        .sum();
    Some(entropy.exp())
}

/// Eigenvalues and eigenvectors of a symmetric `n x n` matrix (row major)
/// by cyclic Jacobi rotations: eigenvector `k` is column `k` of the
/// returned row-major matrix. Jacobi is accurate to the matrix's rounding
/// for the small matrices of a portfolio (tens of positions) and needs no
/// linear algebra crate.
pub fn symmetric_eigen(matrix: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = matrix.to_vec();
    let mut v: Vec<f64> = (0..n * n)
        .map(|k| if k / n == k % n { 1.0 } else { 0.0 })
        .collect();
    let scale: f64 = a.iter().map(|x| x * x).sum();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |j| *j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum();
        if off <= scale * 1e-30 || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                // The rotation that zeroes a[p][q] (Numerical Recipes'
                // stable form: the smaller angle).
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-10
    }

    #[test]
    fn eigen_decomposition_rebuilds_the_matrix() {
        #[rustfmt::skip]
        let m = [
            4.0, 1.0, 0.5,
            1.0, 3.0, 0.2,
            0.5, 0.2, 2.0,
        ];
        let (values, vectors) = symmetric_eigen(&m, 3);
        for i in 0..3 {
            for j in 0..3 {
                let rebuilt: f64 = (0..3)
                    .map(|k| vectors[i * 3 + k] * values[k] * vectors[j * 3 + k])
                    .sum();
                assert!(close(rebuilt, m[i * 3 + j]), "[{i}][{j}] {rebuilt}");
            }
        }
        assert!(close(values.iter().sum(), 9.0), "the trace");
    }

    #[test]
    fn bets_of_known_portfolios() {
        // Uncorrelated, equal risk: n bets.
        let identity = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        assert!(close(
            effective_bets(&identity, &[1.0, 1.0, 1.0]).unwrap(),
            3.0
        ));
        // The scale of the weights does not matter.
        assert!(close(
            effective_bets(&identity, &[0.2, 0.2, 0.2]).unwrap(),
            3.0
        ));
        // One position carries everything: one bet.
        assert!(close(
            effective_bets(&identity, &[1.0, 0.0, 0.0]).unwrap(),
            1.0
        ));
        // Two perfectly correlated names: one bet, whatever the weights.
        let same = [1.0, 1.0, 1.0, 1.0];
        assert!(close(effective_bets(&same, &[0.3, 0.7]).unwrap(), 1.0));
        // Uncorrelated, risk shares 0.8 and 0.2: exp(entropy).
        let diag = covariance_from(&[2.0, 1.0], &[1.0, 0.0, 0.0, 1.0]);
        let (a, b) = (0.8f64, 0.2f64);
        let expected = (-(a * a.ln() + b * b.ln())).exp();
        // Weights 1 and 1: variances 4 and 1 -> shares 0.8, 0.2.
        assert!(close(effective_bets(&diag, &[1.0, 1.0]).unwrap(), expected));
        assert_eq!(effective_bets(&[], &[]), None);
        assert_eq!(effective_bets(&identity, &[0.0, 0.0, 0.0]), None);
    }

    #[test]
    fn covariance_from_volatilities_and_correlations() {
        let cov = covariance_from(&[0.2, 0.3], &[1.0, 0.5, 0.5, 1.0]);
        assert!(close(cov[0], 0.04) && close(cov[3], 0.09));
        assert!(close(cov[1], 0.03) && close(cov[2], 0.03));
    }
}
