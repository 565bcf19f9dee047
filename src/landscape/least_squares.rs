//! Linear least squares on a data set: f(x; θ) = θᵀx (+ θ_{p+1} with `--bias`),
//! F(θ) = 1/(2n)·Σ_i (f(x_i; θ) − y_i)² = |Aθ − y|²/(2n),
//! where A is the n × d design matrix (rows x_i, with a trailing 1 when there is a bias).
//!
//! ∇F = Aᵀ(Aθ − y)/n and the Hessian is AᵀA/n, constant. Exact constants, valid on all of ℝ^d (so
//! on any ball), from the eigenvalues λ_1 ≥ … of the n × n Gram matrix G = AAᵀ (which has the same
//! non-zero eigenvalues as AᵀA); docs/theory.md derives them:
//! - C_L = λ_max(G)/n, the Hessian's norm; |∇F|² ≤ 2·C_L·F holds globally because
//!   |Aᵀe|² ≤ λ_max|e|² for the residual e = Aθ − y.
//! - If y lies in the range of A (always so when A has full row rank n, which needs d ≥ n: the
//!   over-parameterised case), min F = 0 and the residual e stays in range(A), where
//!   |Aᵀe|² ≥ λ⁺_min|e|² with λ⁺_min the smallest positive eigenvalue of G. So α = 2·λ⁺_min(G)/n,
//!   which is 2·λ_min(AAᵀ)/n in the full-row-rank case.
//! - Otherwise (more rows than the rank, and y not fitted exactly) min F = F* > 0: the theorem's
//!   first assumption fails. Then α = 0, the only constant with which |∇F|² ≥ α·F holds at the
//!   minimiser; ρ ≥ 1 and `bound_status` is `not-applicable`.
//!
//! An eigenvalue counts as zero when it is below 1e-10·λ_max, and y counts as fitted when
//! F* ≤ 1e-12·|y|²/(2n).

use std::sync::Arc;

use super::{
    BallConstants, ConstantsSource, DataModel, Gradient, HessianVector, InitLayers, Landscape,
    NetworkShape, Objective, OutputBounds, Param, PerSampleGradient, ProblemSettings, Spec,
    needs_data,
};
use crate::data::Dataset;
use crate::error::ConfigError;
use crate::linalg::symmetric_eigen;

/// F(θ) = |Aθ − y|²/(2n) on a data set.
#[derive(Clone, Debug)]
pub struct LeastSquares {
    data: Arc<Dataset>,
    bias: bool,
    spectrum: Spectrum,
}

/// What the exact constants need of the Gram matrix.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spectrum {
    /// λ_max(AAᵀ).
    pub lambda_max: f64,
    /// Smallest eigenvalue of AAᵀ counted as positive.
    pub lambda_min_positive: f64,
    /// Rank of A.
    pub rank: usize,
    /// min F.
    pub min_loss: f64,
}

impl LeastSquares {
    pub fn new(data: Arc<Dataset>, bias: bool) -> Self {
        let spectrum = spectrum(&data, bias);
        Self {
            data,
            bias,
            spectrum,
        }
    }

    /// The spectrum of AAᵀ and min F.
    pub fn spectrum(&self) -> Spectrum {
        self.spectrum
    }

    /// f(x_i; θ) − y_i.
    #[inline]
    fn residual(&self, theta: &[f64], i: usize) -> f64 {
        let x = self.data.x(i);
        let mut f: f64 = x.iter().zip(theta).map(|(a, b)| a * b).sum();
        if self.bias {
            f += theta[x.len()];
        }
        f - self.data.y(i)[0]
    }

    /// Adds s·e_i·∇f(x_i) = s·e_i·(x_i, 1) to `grad`.
    #[inline]
    fn add_row(&self, grad: &mut [f64], i: usize, s: f64) {
        let x = self.data.x(i);
        for (g, &a) in grad.iter_mut().zip(x) {
            *g += s * a;
        }
        if self.bias {
            grad[x.len()] += s;
        }
    }
}

/// The design row (x_i, 1 if bias).
fn row(data: &Dataset, bias: bool, i: usize) -> impl Iterator<Item = f64> + '_ {
    data.x(i).iter().copied().chain(bias.then_some(1.0))
}

fn spectrum(data: &Dataset, bias: bool) -> Spectrum {
    let n = data.rows();
    let mut g = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let v: f64 = row(data, bias, i)
                .zip(row(data, bias, j))
                .map(|(a, b)| a * b)
                .sum();
            g[i * n + j] = v;
            g[j * n + i] = v;
        }
    }
    let (values, vectors) = symmetric_eigen(&g, n);
    let lambda_max = values[n - 1].max(0.0);
    let zero = 1e-10 * lambda_max;
    let mut lambda_min_positive = lambda_max;
    let (mut rank, mut min_loss) = (0, 0.0);
    for (lambda, u) in values.iter().zip(&vectors) {
        if *lambda > zero {
            rank += 1;
            lambda_min_positive = lambda_min_positive.min(*lambda);
        } else {
            // The part of y along the null space of AAᵀ (orthogonal to range(A)) cannot be fitted.
            let c: f64 = u.iter().zip(data.targets()).map(|(a, b)| a * b).sum();
            min_loss += c * c / (2.0 * n as f64);
        }
    }
    Spectrum {
        lambda_max,
        lambda_min_positive,
        rank,
        min_loss,
    }
}

impl Objective for LeastSquares {
    fn dim(&self) -> usize {
        self.data.features() + usize::from(self.bias)
    }

    fn loss(&self, theta: &[f64], _work: &mut [f64]) -> f64 {
        let n = self.data.rows();
        (0..n).map(|i| self.residual(theta, i).powi(2)).sum::<f64>() / (2.0 * n as f64)
    }
}

impl Gradient for LeastSquares {
    fn loss_and_gradient(&self, theta: &[f64], grad: &mut [f64], work: &mut [f64]) -> f64 {
        let n = self.data.rows();
        grad.fill(0.0);
        let mut sum = 0.0;
        for i in 0..n {
            let e = self.residual(theta, i);
            sum += e * e;
            self.add_row(grad, i, e / n as f64);
        }
        let _ = work;
        sum / (2.0 * n as f64)
    }
}

impl PerSampleGradient for LeastSquares {
    fn samples(&self) -> usize {
        self.data.rows()
    }

    fn residual_and_output_gradient(
        &self,
        theta: &[f64],
        i: usize,
        grad: &mut [f64],
        _work: &mut [f64],
    ) -> f64 {
        grad.fill(0.0);
        self.add_row(grad, i, 1.0);
        self.residual(theta, i)
    }

    fn batch_loss_and_gradient(
        &self,
        theta: &[f64],
        batch: &[usize],
        grad: &mut [f64],
        _work: &mut [f64],
    ) -> f64 {
        grad.fill(0.0);
        let b = batch.len() as f64;
        let mut sum = 0.0;
        for &i in batch {
            let e = self.residual(theta, i);
            sum += e * e;
            self.add_row(grad, i, e / b);
        }
        sum / (2.0 * b)
    }
}

impl Landscape for LeastSquares {
    fn exact_constants(&self, _theta0: &[f64], _radius: f64) -> Option<BallConstants> {
        let s = self.spectrum;
        let n = self.data.rows() as f64;
        let y2: f64 = self.data.targets().iter().map(|y| y * y).sum();
        let fitted = s.min_loss <= 1e-12 * y2 / (2.0 * n);
        Some(BallConstants {
            alpha: if fitted {
                2.0 * s.lambda_min_positive / n
            } else {
                0.0
            },
            c_l: s.lambda_max / n,
            source: ConstantsSource::Exact,
        })
    }

    fn per_sample(&self) -> Option<&dyn PerSampleGradient> {
        Some(self)
    }

    fn hessian_vector(&self) -> Option<&dyn HessianVector> {
        Some(self)
    }

    /// The Jacobian is A, constant (L_J = 0), and the Hessian AᵀA/n has norm λ_max(AAᵀ)/n,
    /// rounded up by 1e-12·n relative for the eigen-solver's rounding.
    fn output_bounds(&self, _theta0: &[f64], _radius: f64) -> Option<OutputBounds> {
        let n = self.data.rows() as f64;
        Some(OutputBounds {
            jacobian_lipschitz: 0.0,
            c_l: self.spectrum.lambda_max / n * (1.0 + 1e-12 * n),
        })
    }
}

impl HessianVector for LeastSquares {
    /// ∇²F·v = Aᵀ(Av)/n.
    fn hessian_vector_product(&self, _theta: &[f64], v: &[f64], out: &mut [f64]) {
        let n = self.data.rows();
        out.fill(0.0);
        for i in 0..n {
            let av: f64 = row(&self.data, self.bias, i)
                .zip(v)
                .map(|(a, b)| a * b)
                .sum();
            self.add_row(out, i, av / n as f64);
        }
    }
}

/// `--problem least-squares`: built on `--data`, with an intercept for `--bias`.
pub(super) struct LeastSquaresSpec;

impl Spec for LeastSquaresSpec {
    fn name(&self) -> &'static str {
        "least-squares"
    }

    fn flags(&self) -> &'static [&'static str] {
        &[
            "--data",
            "--target",
            "--rows",
            "--standardize",
            "--bias",
            "--init-seed",
            "--init-steps",
            "--init-eta",
            "--init-loss",
            "--theta0-file",
        ]
    }

    fn build(
        &self,
        settings: &ProblemSettings,
        _dim: usize,
        data: Option<&Arc<Dataset>>,
    ) -> Result<Box<dyn Landscape>, ConfigError> {
        let data = needs_data(data)?;
        if data.outputs() > 1 {
            return Err(ConfigError::new(
                "--target",
                format!(
                    "least squares fits one target, got {} ({}); name one column, or use --problem mlp for several outputs",
                    data.outputs(),
                    data.target_label()
                ),
            ));
        }
        Ok(Box::new(LeastSquares::new(data, settings.network.bias)))
    }

    fn data(&self) -> Option<&dyn DataModel> {
        Some(self)
    }

    fn memory_flag(&self) -> (&'static str, &'static str) {
        ("--data", "use data with fewer columns")
    }

    fn config_id_lines<'s>(&self, settings: &'s ProblemSettings) -> Vec<(&'static str, Param<'s>)> {
        vec![("bias", Param::Switch(settings.network.bias))]
    }
}

impl DataModel for LeastSquaresSpec {
    fn dim(&self, shape: &NetworkShape, data: &Dataset) -> usize {
        data.features() + usize::from(shape.bias)
    }

    /// One layer of weights; the intercept, if any, is the last weight, not a bias vector.
    fn init_layers(&self, shape: &NetworkShape, data: &Dataset) -> InitLayers {
        InitLayers {
            layers: vec![(self.dim(shape, data), 1)],
            biases: false,
        }
    }

    fn describe(&self, shape: &NetworkShape, _data: &Dataset) -> String {
        format!("linear model{}", if shape.bias { " with bias" } else { "" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landscape::testing::{
        assert_batch_gradient_is_consistent, assert_gradient_matches_finite_differences,
    };

    fn data(text: &str) -> Arc<Dataset> {
        Arc::new(Dataset::parse("t", text, None).unwrap())
    }

    /// 2 rows, 3 features: over-parameterised. A = [[1,0,1],[0,2,0]], AAᵀ = diag(2, 4) by hand,
    /// so α = 2·2/2 = 2 and C_L = 4/2 = 2.
    #[test]
    fn over_parameterised_constants_match_the_hand_computed_gram_matrix() {
        let ls = LeastSquares::new(data("a,b,c,y\n1,0,1,3\n0,2,0,-1\n"), false);
        let c = ls.exact_constants(&[0.0; 3], 1.0).unwrap();
        assert!((c.alpha - 2.0).abs() < 1e-14 && (c.c_l - 2.0).abs() < 1e-14);
        assert_eq!(ls.spectrum().rank, 2);
        assert_gradient_matches_finite_differences(&ls, &[0.3, -0.2, 1.1]);
        assert_batch_gradient_is_consistent(&ls, &[0.3, -0.2, 1.1]);
    }

    /// Three rows on a line y = 2x + 1 with a bias: rank 2 < n = 3 but y is fitted exactly, so
    /// α uses the smallest positive eigenvalue. Rows (0,1), (1,1), (2,1): AAᵀ = [[1,1,1],[1,2,3],
    /// [1,3,5]], with characteristic polynomial λ³ − 8λ² + 6λ, so λ = 4 ± √10 and 0.
    #[test]
    fn a_consistent_rank_deficient_system_uses_the_smallest_positive_eigenvalue() {
        let ls = LeastSquares::new(data("x,y\n0,1\n1,3\n2,5\n"), true);
        let s = ls.spectrum();
        assert_eq!(s.rank, 2);
        assert!(s.min_loss < 1e-20);
        let c = ls.exact_constants(&[0.0, 0.0], 1.0).unwrap();
        assert!((c.alpha - 2.0 * (4.0 - 10f64.sqrt()) / 3.0).abs() < 1e-13);
        assert!((c.c_l - (4.0 + 10f64.sqrt()) / 3.0).abs() < 1e-13);
        assert_gradient_matches_finite_differences(&ls, &[0.7, -0.4]);
    }

    /// y = (1, 3, 4) on x = (0, 1, 2) with a bias is not on a line: by hand the least-squares fit is
    /// ŷ = 1.5x + 7/6, with residuals (−1/6, 1/3, −1/6), so F* = (1/36 + 1/9 + 1/36)/6 = 1/36, and
    /// α = 0.
    #[test]
    fn an_inconsistent_system_has_positive_minimum_and_alpha_zero() {
        let ls = LeastSquares::new(data("x,y\n0,1\n1,3\n2,4\n"), true);
        assert!((ls.spectrum().min_loss - 1.0 / 36.0).abs() < 1e-14);
        assert_eq!(ls.exact_constants(&[0.0, 0.0], 1.0).unwrap().alpha, 0.0);
        // F at the fitted line (slope 1.5, intercept 7/6) is that minimum.
        assert!((ls.loss(&[1.5, 7.0 / 6.0], &mut []) - 1.0 / 36.0).abs() < 1e-15);
    }
}
