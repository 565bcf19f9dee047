//! The little dense linear algebra lojasim needs: eigenvalues of small symmetric matrices (the Gram
//! matrices AAᵀ of least squares and J Jᵀ of the empirical NTK, a few dozen rows).
//!
//! Cyclic Jacobi rotations: slow (O(n³) per sweep, ~10 sweeps) but simple, unconditionally stable,
//! and accurate to a few ulps of ‖A‖ for every eigenvalue, including the smallest ones the
//! Łojasiewicz constants depend on. At n ≤ 100 it takes milliseconds, so a dependency (ndarray +
//! LAPACK) would buy nothing here.
//!
//! The empirical NTK of a few hundred rows needs only its extreme eigenvalues, at many points:
//! [`symmetric_extreme_eigenvalues`] reduces the matrix to tridiagonal form by Householder
//! reflections (O(4n³/3), contiguous rows) and bisects Sturm sequences, ~50× faster than Jacobi at
//! n = 200. Both are backward stable: every eigenvalue is off by at most a small multiple of
//! n·ε·‖A‖.

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

/// Σ a_i·b_i with eight partial sums (combined in a fixed order), so that the compiler can
/// vectorise it; the same bits on every run.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    // Separate multiply and add, not mul_add: without FMA in the baseline target, mul_add is a
    // call into libm; this way every CPU computes the same bits at vector speed.
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// The smallest and the largest eigenvalue of the symmetric n × n matrix `a` (row-major; the
/// lower triangle is read), by Householder tridiagonalisation and bisection of Sturm counts to
/// the last bits.
pub fn symmetric_extreme_eigenvalues(a: &[f64], n: usize) -> (f64, f64) {
    assert_eq!(
        a.len(),
        n * n,
        "symmetric_extreme_eigenvalues: a must be n × n"
    );
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let (d, e) = tridiagonalise(a, n);
    tridiagonal_extreme_eigenvalues(&d, &e)
}

/// The smallest and the largest eigenvalue of the symmetric tridiagonal matrix with diagonal `d`
/// and off-diagonal `e` (one shorter), by bisection of Sturm counts.
pub fn tridiagonal_extreme_eigenvalues(d: &[f64], e: &[f64]) -> (f64, f64) {
    let n = d.len();
    assert!(n > 0 && e.len() + 1 == n);
    // Gershgorin interval of the tridiagonal matrix.
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for i in 0..n {
        let r = if i > 0 { e[i - 1].abs() } else { 0.0 } + if i + 1 < n { e[i].abs() } else { 0.0 };
        lo = lo.min(d[i] - r);
        hi = hi.max(d[i] + r);
    }
    let pad = 1e-300_f64.max(f64::EPSILON * lo.abs().max(hi.abs()));
    let (lo, hi) = (lo - pad, hi + pad);
    (bisect(d, e, lo, hi, 1), bisect(d, e, lo, hi, n))
}

/// Householder reduction of the lower triangle of `a` to a tridiagonal matrix: (diagonal,
/// off-diagonal).
fn tridiagonalise(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    // Full symmetric copy from the lower triangle.
    let mut m = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            m[i * n + j] = a[i * n + j];
            m[j * n + i] = a[i * n + j];
        }
    }
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n.saturating_sub(1)];
    let (mut v, mut p) = (vec![0.0; n], vec![0.0; n]);
    for k in 0..n.saturating_sub(1) {
        d[k] = m[k * n + k];
        let lead = k + 1;
        let len = n - lead;
        // x = column k below the diagonal (= row k right of it, by symmetry).
        let x = &m[k * n + lead..k * n + n];
        let xn = x.iter().map(|t| t * t).sum::<f64>().sqrt();
        if xn == 0.0 {
            e[k] = 0.0;
            continue;
        }
        let alpha = if x[0] > 0.0 { -xn } else { xn };
        let v = &mut v[..len];
        v.copy_from_slice(x);
        v[0] -= alpha;
        let vn = v.iter().map(|t| t * t).sum::<f64>().sqrt();
        e[k] = alpha;
        if vn == 0.0 {
            continue;
        }
        v.iter_mut().for_each(|t| *t /= vn);
        // B ← H B H with H = I − 2vvᵀ, p = Bv, w = p − (vᵀp)v: B − 2(v wᵀ + w vᵀ).
        let p = &mut p[..len];
        for (i, pi) in p.iter_mut().enumerate() {
            *pi = dot(&m[(lead + i) * n + lead..(lead + i) * n + n], v);
        }
        let c = dot(v, p);
        for (pi, vi) in p.iter_mut().zip(v.iter()) {
            *pi -= c * vi;
        }
        for i in 0..len {
            let row = &mut m[(lead + i) * n + lead..(lead + i) * n + n];
            let (vi, wi) = (v[i], p[i]);
            for (j, r) in row.iter_mut().enumerate() {
                *r -= 2.0 * (vi * p[j] + wi * v[j]);
            }
        }
    }
    d[n - 1] = m[(n - 1) * n + n - 1];
    (d, e)
}

/// How many eigenvalues of the tridiagonal (d, e) are < x (Sturm sequence of the LDLᵀ pivots).
fn count_below(d: &[f64], e: &[f64], x: f64) -> usize {
    let mut count = 0;
    let mut q = 1.0;
    for i in 0..d.len() {
        let off = if i > 0 { e[i - 1] * e[i - 1] / q } else { 0.0 };
        q = d[i] - x - off;
        if q == 0.0 {
            q = -f64::MIN_POSITIVE;
        }
        if q < 0.0 {
            count += 1;
        }
    }
    count
}

/// The k-th smallest eigenvalue (1-based) of the tridiagonal (d, e), inside [lo, hi].
fn bisect(d: &[f64], e: &[f64], mut lo: f64, mut hi: f64, k: usize) -> f64 {
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if count_below(d, e, mid) >= k {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    0.5 * (lo + hi)
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
        let (min, max) = symmetric_extreme_eigenvalues(&a, n);
        assert!((min - 1e-6).abs() < 1e-13 * 40.0 && (max - 40.0).abs() < 1e-13 * 40.0);
        // A v = λ v for the smallest pair.
        for i in 0..n {
            let av: f64 = (0..n).map(|j| a[i * n + j] * vecs[0][j]).sum();
            assert!((av - vals[0] * vecs[0][i]).abs() < 1e-13);
        }
    }

    /// The Householder + bisection extremes against Jacobi's on pseudo-random Gram matrices
    /// (rank-deficient ones too, whose λ_min is 0 to rounding): both are backward stable, so they
    /// agree to a small multiple of n·ε·‖A‖.
    #[test]
    fn extreme_eigenvalues_agree_with_jacobi() {
        let mut s = 7u64;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for (n, cols) in [(1, 3), (2, 5), (9, 20), (30, 40), (30, 12), (60, 100)] {
            let x: Vec<f64> = (0..n * cols).map(|_| next()).collect();
            let mut g = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    g[i * n + j] = dot(&x[i * cols..(i + 1) * cols], &x[j * cols..(j + 1) * cols]);
                }
            }
            let jac = symmetric_eigenvalues(&g, n);
            let (min, max) = symmetric_extreme_eigenvalues(&g, n);
            let tol = 1e-13 * n as f64 * jac[n - 1];
            assert!((min - jac[0]).abs() <= tol, "n = {n}: {min} vs {}", jac[0]);
            assert!(
                (max - jac[n - 1]).abs() <= tol,
                "n = {n}: {max} vs {}",
                jac[n - 1]
            );
        }
    }
}
