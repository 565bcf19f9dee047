//! The little dense linear algebra lojasim needs: eigenvalues of small symmetric matrices (the Gram
//! matrices AAᵀ of least squares and J Jᵀ of the empirical NTK, a few dozen rows).
//!
//! Cyclic Jacobi rotations: slow (O(n³) per sweep, ~10 sweeps) but simple, unconditionally stable,
//! and accurate to a few ulps of ‖A‖ for every eigenvalue, including the smallest ones the
//! Łojasiewicz constants depend on. At n ≤ 100 it takes milliseconds, so a dependency (ndarray +
//! LAPACK) would buy nothing here.

/// Eigenvalues (ascending) and orthonormal eigenvectors of the symmetric n × n matrix `a`
/// (row-major; only symmetry up to rounding is assumed, the average of a and aᵀ is used).
/// `vectors[k]` is the unit eigenvector of `values[k]`.
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    let (values, vectors) = jacobi(a, n, true);
    (values, vectors.expect("asked for"))
}

/// The eigenvalues of [`symmetric_eigen`] alone, bit for bit the same (the rotations do not
/// depend on the eigenvectors), in about two thirds of the time.
pub fn symmetric_eigenvalues(a: &[f64], n: usize) -> Vec<f64> {
    jacobi(a, n, false).0
}

/// Cyclic Jacobi on the symmetrised `a`; accumulates the eigenvectors only if `vectors`.
fn jacobi(a: &[f64], n: usize, vectors: bool) -> (Vec<f64>, Option<Vec<Vec<f64>>>) {
    assert_eq!(a.len(), n * n, "symmetric_eigen: a must be n × n");
    let mut m: Vec<f64> = (0..n * n)
        .map(|k| 0.5 * (a[k] + a[(k % n) * n + k / n]))
        .collect();
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let norm2: f64 = m.iter().map(|x| x * x).sum();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * n + j].powi(2))
            .sum();
        if off <= 1e-30 * norm2 || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                // Rotation that zeroes m[p][q] (Golub & Van Loan, Algorithm 8.5.1).
                let theta = (m[q * n + q] - m[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (mkp, mkq) = (m[k * n + p], m[k * n + q]);
                    m[k * n + p] = c * mkp - s * mkq;
                    m[k * n + q] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let (mpk, mqk) = (m[p * n + k], m[q * n + k]);
                    m[p * n + k] = c * mpk - s * mqk;
                    m[q * n + k] = s * mpk + c * mqk;
                }
                if vectors {
                    for k in 0..n {
                        let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                        v[k * n + p] = c * vkp - s * vkq;
                        v[k * n + q] = s * vkp + c * vkq;
                    }
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| m[i * n + i].total_cmp(&m[j * n + j]));
    let values = order.iter().map(|&i| m[i * n + i]).collect();
    let vectors = vectors.then(|| {
        order
            .iter()
            .map(|&i| (0..n).map(|k| v[k * n + i]).collect())
            .collect()
    });
    (values, vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_two_by_two_matrix_has_its_closed_form_eigenvalues() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3 with eigenvectors (1, ∓1)/√2.
        let (vals, vecs) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!((vals[0] - 1.0).abs() < 1e-15 && (vals[1] - 3.0).abs() < 1e-15);
        assert!((vecs[0][0] + vecs[0][1]).abs() < 1e-15);
    }

    /// A = Q diag(λ) Qᵀ with Q a product of known rotations: the eigenvalues must come back.
    #[test]
    fn recovers_the_spectrum_of_a_rotated_diagonal_matrix() {
        let n = 6;
        let lambda = [1e-6, 0.5, 1.0, 2.0, 2.0, 40.0];
        let mut q = vec![0.0; n * n];
        for i in 0..n {
            q[i * n + i] = 1.0;
        }
        for (p, r, angle) in [(0, 3, 0.7), (1, 5, -1.1), (2, 4, 0.3), (0, 5, 2.0)] {
            let (c, s) = (f64::cos(angle), f64::sin(angle));
            for k in 0..n {
                let (a, b) = (q[k * n + p], q[k * n + r]);
                q[k * n + p] = c * a - s * b;
                q[k * n + r] = s * a + c * b;
            }
        }
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n)
                    .map(|k| q[i * n + k] * lambda[k] * q[j * n + k])
                    .sum();
            }
        }
        let (vals, vecs) = symmetric_eigen(&a, n);
        assert_eq!(symmetric_eigenvalues(&a, n), vals);
        for (got, want) in vals.iter().zip(lambda) {
            assert!((got - want).abs() < 1e-13 * 40.0, "{got} vs {want}");
        }
        // A v = λ v for the smallest pair.
        for i in 0..n {
            let av: f64 = (0..n).map(|j| a[i * n + j] * vecs[0][j]).sum();
            assert!((av - vals[0] * vecs[0][i]).abs() < 1e-13);
        }
    }
}
