//! Separable quadratic F(θ) = ½ Σ_i a_i θ_i², a_i > 0.
//!
//! ∇F = (a_i θ_i)_i, Hessian diag(a). Exact constants, valid on all of ℝ^d (so on any ball):
//! - α = 2·min a_i, since |∇F|² = Σ a_i² θ_i² ≥ min a · Σ a_i θ_i² = 2·min a · F;
//! - C_L = max a_i, the Hessian's spectral norm; also |∇F|² ≤ max a · Σ a_i θ_i² = 2·C_L·F.
//!
//! With a common curvature a and machine-learning noise the expected loss contracts by exactly the
//! theory's ρ per step (docs/theory.md), which makes this landscape the sharpest check of the engine.

use std::sync::Arc;

use super::{
    BallConstants, ConstantsSource, Gradient, HessianVector, Landscape, LaneGradient, Objective,
    Param, ProblemSettings, Spec, broadcast,
};
use crate::data::Dataset;
use crate::error::{ConfigError, check};
use crate::lanes::{LANES, Lane, Level, multiversion};

/// F(θ) = ½ Σ a_i θ_i².
#[derive(Clone, Debug, PartialEq)]
pub struct Quadratic {
    curvature: Vec<f64>,
}

impl Quadratic {
    /// A quadratic with curvatures `a` (each finite and > 0; named `--curvature` in errors).
    pub fn new(curvature: Vec<f64>) -> Result<Self, ConfigError> {
        if curvature.is_empty() {
            return Err(ConfigError::new("--dim", "must be ≥ 1 (got 0)"));
        }
        for &a in &curvature {
            check::positive("--curvature", a)?;
        }
        Ok(Self { curvature })
    }

    pub fn curvature(&self) -> &[f64] {
        &self.curvature
    }
}

impl Objective for Quadratic {
    fn dim(&self) -> usize {
        self.curvature.len()
    }

    fn loss(&self, theta: &[f64], _work: &mut [f64]) -> f64 {
        0.5 * self
            .curvature
            .iter()
            .zip(theta)
            .map(|(a, t)| a * t * t)
            .sum::<f64>()
    }
}

impl Gradient for Quadratic {
    fn loss_and_gradient(&self, theta: &[f64], grad: &mut [f64], _work: &mut [f64]) -> f64 {
        let mut twice_f = 0.0;
        for ((g, &a), &t) in grad.iter_mut().zip(&self.curvature).zip(theta) {
            let at = a * t;
            *g = at;
            twice_f += at * t;
        }
        0.5 * twice_f
    }
}

#[inline(always)]
fn lanes_loss_impl(curvature: &[f64], theta: &[Lane]) -> Lane {
    // `Iterator::sum` of f64 starts from −0.0.
    let mut sum = Lane::splat(-0.0);
    for (&a, t) in curvature.iter().zip(theta) {
        for l in 0..LANES {
            sum.0[l] += a * t.0[l] * t.0[l];
        }
    }
    Lane(sum.0.map(|s| 0.5 * s))
}

#[inline(always)]
fn lanes_loss_and_gradient_impl(curvature: &[f64], theta: &[Lane], grad: &mut [Lane]) -> Lane {
    let mut twice_f = Lane::ZERO;
    for ((g, &a), t) in grad.iter_mut().zip(curvature).zip(theta) {
        for l in 0..LANES {
            let at = a * t.0[l];
            g.0[l] = at;
            twice_f.0[l] += at * t.0[l];
        }
    }
    Lane(twice_f.0.map(|s| 0.5 * s))
}

multiversion!(fn lanes_loss(curvature: &[f64], theta: &[Lane]) -> Lane => lanes_loss_impl);
multiversion!(fn lanes_loss_and_gradient(curvature: &[f64], theta: &[Lane], grad: &mut [Lane]) -> Lane
    => lanes_loss_and_gradient_impl);

impl LaneGradient for Quadratic {
    fn lane_workspace_len(&self, _batch: usize) -> usize {
        0
    }

    fn lanes_loss(&self, simd: Level, theta: &[Lane], _work: &mut [Lane]) -> Lane {
        lanes_loss(simd, &self.curvature, theta)
    }

    fn lanes_loss_and_gradient(
        &self,
        simd: Level,
        theta: &[Lane],
        grad: &mut [Lane],
        _work: &mut [Lane],
    ) -> Lane {
        lanes_loss_and_gradient(simd, &self.curvature, theta, grad)
    }
}

impl HessianVector for Quadratic {
    /// ∇²F = diag(a).
    fn hessian_vector_product(&self, _theta: &[f64], v: &[f64], out: &mut [f64]) {
        for ((o, a), x) in out.iter_mut().zip(&self.curvature).zip(v) {
            *o = a * x;
        }
    }
}

impl Landscape for Quadratic {
    fn lanes(&self) -> Option<&dyn LaneGradient> {
        Some(self)
    }

    fn hessian_vector(&self) -> Option<&dyn HessianVector> {
        Some(self)
    }

    fn exact_constants(&self, _theta0: &[f64], _radius: f64) -> Option<BallConstants> {
        let min = self.curvature.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.curvature.iter().copied().fold(0.0, f64::max);
        Some(BallConstants {
            alpha: 2.0 * min,
            c_l: max,
            source: ConstantsSource::Exact,
        })
    }
}

/// `--problem quadratic`: built in `--dim` from `--curvature`.
pub(super) struct QuadraticSpec;

impl Spec for QuadraticSpec {
    fn name(&self) -> &'static str {
        "quadratic"
    }

    fn flags(&self) -> &'static [&'static str] {
        &["--dim", "--curvature"]
    }

    fn build(
        &self,
        settings: &ProblemSettings,
        dim: usize,
        _data: Option<&Arc<Dataset>>,
    ) -> Result<Box<dyn Landscape>, ConfigError> {
        let curvature = broadcast("--curvature", &settings.curvature, dim)?;
        Ok(Box::new(Quadratic::new(curvature)?))
    }

    fn csv_cells<'s>(&self, settings: &'s ProblemSettings) -> Vec<(&'static str, Param<'s>)> {
        vec![("curvature", Param::Numbers(&settings.curvature))]
    }

    fn config_id_lines<'s>(&self, settings: &'s ProblemSettings) -> Vec<(&'static str, Param<'s>)> {
        vec![("curvature", Param::Numbers(&settings.curvature))]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landscape::testing::assert_gradient_matches_finite_differences;

    #[test]
    fn gradient_matches_finite_differences() {
        let q = Quadratic::new(vec![0.5, 1.0, 3.0]).unwrap();
        assert_gradient_matches_finite_differences(&q, &[0.3, -1.2, 0.7]);
    }

    #[test]
    fn constants_bracket_the_gradient_to_loss_ratio() {
        let q = Quadratic::new(vec![0.5, 1.0, 3.0]).unwrap();
        let c = q.exact_constants(&[0.0; 3], 1.0).unwrap();
        assert_eq!((c.alpha, c.c_l), (1.0, 3.0));
        // Along each axis the ratio |∇F|²/F = 2 a_i is attained: α and 2 C_L are tight.
        let mut g = [0.0; 3];
        for (i, &a) in q.curvature().iter().enumerate() {
            let mut t = [0.0; 3];
            t[i] = 0.7;
            let f = q.loss_and_gradient(&t, &mut g, &mut []);
            let ratio = g.iter().map(|x| x * x).sum::<f64>() / f;
            assert!((ratio - 2.0 * a).abs() < 1e-12);
            assert!(ratio >= c.alpha - 1e-12 && ratio <= 2.0 * c.c_l + 1e-12);
        }
    }

    #[test]
    fn rejects_non_positive_curvature() {
        let e = Quadratic::new(vec![1.0, -1.0]).unwrap_err();
        assert_eq!(e.to_string(), "--curvature must be > 0 (got -1)");
    }
}
