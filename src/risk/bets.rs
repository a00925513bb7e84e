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

/// Eigenvalues and eigenvectors of a symmetric `n x n` matrix (row major):
/// eigenvector `k` is column `k` of the returned row-major matrix.
/// Householder reduction to tridiagonal form, then the implicit QL method
/// (EISPACK's `tred2` and `tql2`, as JAMA ports them): about `4 n^3`
/// operations, a fraction of a millisecond for a portfolio of 50 (cyclic
/// Jacobi took 3 ms there, three times the rest of the analysis), and no
/// linear algebra crate.
#[allow(clippy::many_single_char_names)] // the published algorithm's names
pub fn symmetric_eigen(matrix: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    if n == 0 {
        return (Vec::new(), Vec::new());
    }
    let mut v = matrix.to_vec();
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n];
    tridiagonalize(&mut v, &mut d, &mut e, n);
    diagonalize(&mut v, &mut d, &mut e, n);
    (d, v)
}

/// `tred2`: Householder reduction of `v` (the matrix, overwritten by the
/// accumulated transformations) to a tridiagonal matrix with diagonal `d`
/// and subdiagonal `e[1..]`.
#[allow(clippy::many_single_char_names)]
fn tridiagonalize(v: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) {
    for j in 0..n {
        d[j] = v[(n - 1) * n + j];
    }
    for i in (1..n).rev() {
        // Scale to avoid under- and overflow.
        let scale: f64 = d[..i].iter().map(|x| x.abs()).sum();
        let mut h = 0.0;
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[(i - 1) * n + j];
                v[i * n + j] = 0.0;
                v[j * n + i] = 0.0;
            }
        } else {
            // The Householder vector.
            for x in &mut d[..i] {
                *x /= scale;
                h += *x * *x;
            }
            let mut f = d[i - 1];
            let mut g = if f > 0.0 { -h.sqrt() } else { h.sqrt() };
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            for x in &mut e[..i] {
                *x = 0.0;
            }
            // Apply the similarity transformation to the remaining columns.
            for j in 0..i {
                f = d[j];
                v[j * n + i] = f;
                g = e[j] + v[j * n + j] * f;
                for k in j + 1..i {
                    g += v[k * n + j] * d[k];
                    e[k] += v[k * n + j] * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                f = d[j];
                g = e[j];
                for k in j..i {
                    v[k * n + j] -= f * e[k] + g * d[k];
                }
                d[j] = v[(i - 1) * n + j];
                v[i * n + j] = 0.0;
            }
        }
        d[i] = h;
    }
    accumulate(v, d, n);
    e[0] = 0.0;
}

/// The end of `tred2`: accumulate the Householder transformations stored
/// in `v` into the orthogonal matrix, `d` ending as the diagonal.
#[allow(clippy::many_single_char_names)]
fn accumulate(v: &mut [f64], d: &mut [f64], n: usize) {
    for i in 0..n - 1 {
        v[(n - 1) * n + i] = v[i * n + i];
        v[i * n + i] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[k * n + i + 1] / h;
            }
            for j in 0..=i {
                let g: f64 = (0..=i).map(|k| v[k * n + i + 1] * v[k * n + j]).sum();
                for k in 0..=i {
                    v[k * n + j] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            v[k * n + i + 1] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[(n - 1) * n + j];
        v[(n - 1) * n + j] = 0.0;
    }
    v[(n - 1) * n + (n - 1)] = 1.0;
}

/// `tql2`: the implicit QL method on the tridiagonal `d`, `e`, rotating the
/// columns of `v` along; `d` ends as the eigenvalues.
#[allow(clippy::many_single_char_names)]
fn diagonalize(v: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) {
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0;
    let mut tst1: f64 = 0.0;
    let eps = f64::EPSILON;
    for l in 0..n {
        // Find a small subdiagonal element.
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n - 1 && e[m].abs() > eps * tst1 {
            m += 1;
        }
        // d[l] is an eigenvalue when m == l; otherwise iterate (QL
        // converges in two or three; the cap only guards a shared path
        // against a matrix that is not what it should be).
        if m > l {
            for _ in 0..64 {
                // The implicit shift.
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for x in &mut d[l + 2..] {
                    *x -= h;
                }
                f += h;
                // The implicit QL transformation.
                p = d[m];
                let (mut c, mut c2, mut c3) = (1.0, 1.0, 1.0);
                let el1 = e[l + 1];
                let (mut s, mut s2) = (0.0, 0.0);
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    for k in 0..n {
                        let vk = &mut v[k * n..(k + 1) * n];
                        h = vk[i + 1];
                        vk[i + 1] = s * vk[i] + c * h;
                        vk[i] = c * vk[i] - s * h;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= eps * tst1 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-10
    }

    #[test]
    fn eigen_decomposition_rebuilds_the_matrix() {
        let (one, v) = symmetric_eigen(&[2.5], 1);
        assert_eq!((one, v), (vec![2.5], vec![1.0]));
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
        // Orthonormal eigenvectors.
        for a in 0..3 {
            for b in 0..3 {
                let dot: f64 = (0..3)
                    .map(|i| vectors[i * 3 + a] * vectors[i * 3 + b])
                    .sum();
                assert!(
                    close(dot, if a == b { 1.0 } else { 0.0 }),
                    "{a}.{b} = {dot}"
                );
            }
        }
        // A larger, nearly singular one (a factor shared by 30 series).
        let n = 30;
        let mut seed = 5u64;
        let mut rnd = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let loads: Vec<f64> = (0..n).map(|_| 1.0 + rnd()).collect();
        let own: Vec<f64> = (0..n).map(|_| 0.01 + 0.1 * rnd().abs()).collect();
        let m: Vec<f64> = (0..n * n)
            .map(|k| {
                let (i, j) = (k / n, k % n);
                loads[i] * loads[j] + if i == j { own[i] } else { 0.0 }
            })
            .collect();
        let (values, vectors) = symmetric_eigen(&m, n);
        for i in 0..n {
            for j in 0..n {
                let rebuilt: f64 = (0..n)
                    .map(|k| vectors[i * n + k] * values[k] * vectors[j * n + k])
                    .sum();
                assert!((rebuilt - m[i * n + j]).abs() < 1e-12, "[{i}][{j}]");
            }
        }
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
