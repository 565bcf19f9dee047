//! Ring (Mexican hat) F(θ) = ¼ (|θ|² − 1)²: its global minima form the unit sphere, a non-isolated,
//! non-convex minimum set, the setting where a Łojasiewicz condition replaces strong convexity.
//!
//! With s = |θ|: ∇F = (s² − 1)·θ, so |∇F|² = (s² − 1)²·s² = 4 s²·F. The Hessian is
//! (s² − 1)·I + 2θθᵀ, with eigenvalue 3s² − 1 along θ and s² − 1 on its orthogonal complement
//! (absent when d = 1).
//!
//! Exact constants over the closed ball B(θ0, r): on it s ranges over [s₋, s₊] with
//! s₋ = max(0, |θ0| − r) and s₊ = |θ0| + r, and every such s is attained.
//! - α = 4 s₋², the minimum of |∇F|²/F = 4 s²; α = 0 when the ball contains the origin (the
//!   origin is a critical point with F = ¼ > 0, so no Łojasiewicz inequality holds there).
//! - C_L = max( max_{s∈[s₋,s₊]} ‖H‖, 2 s₊² ). The first term is the Lipschitz constant of ∇F on the
//!   (convex) ball; |3u − 1| and |u − 1| are convex in u = s², so their maxima sit at the ends.
//!   The second makes |∇F|² ≤ 2·C_L·F hold on the ball (|∇F|²/(2F) = 2s²): the global form of that
//!   inequality follows from Lipschitz continuity only when ∇F is Lipschitz everywhere, which a
//!   quartic is not, so we take the larger constant rather than assume it.

use std::sync::Arc;

use super::{
    BallConstants, ConstantsSource, Gradient, HessianVector, Landscape, Objective, ProblemSettings,
    Spec,
};
use crate::data::Dataset;
use crate::error::ConfigError;

/// F(θ) = ¼ (|θ|² − 1)² in dimension d.
#[derive(Clone, Debug, PartialEq)]
pub struct Ring {
    dim: usize,
}

impl Ring {
    pub fn new(dim: usize) -> Result<Self, ConfigError> {
        if dim == 0 {
            return Err(ConfigError::new("--dim", "must be ≥ 1 (got 0)"));
        }
        Ok(Self { dim })
    }

    /// Spectral norm of the Hessian at |θ|² = u.
    fn hessian_norm(&self, u: f64) -> f64 {
        let radial = (3.0 * u - 1.0).abs();
        if self.dim >= 2 {
            radial.max((u - 1.0).abs())
        } else {
            radial
        }
    }
}

impl Objective for Ring {
    fn dim(&self) -> usize {
        self.dim
    }

    fn loss(&self, theta: &[f64], _work: &mut [f64]) -> f64 {
        let u: f64 = theta.iter().map(|t| t * t).sum();
        0.25 * (u - 1.0) * (u - 1.0)
    }
}

impl Gradient for Ring {
    fn loss_and_gradient(&self, theta: &[f64], grad: &mut [f64], _work: &mut [f64]) -> f64 {
        let u: f64 = theta.iter().map(|t| t * t).sum();
        let c = u - 1.0;
        for (g, &t) in grad.iter_mut().zip(theta) {
            *g = c * t;
        }
        0.25 * c * c
    }
}

impl HessianVector for Ring {
    /// ∇²F = (|θ|² − 1)·I + 2θθᵀ.
    fn hessian_vector_product(&self, theta: &[f64], v: &[f64], out: &mut [f64]) {
        let u: f64 = theta.iter().map(|t| t * t).sum();
        let tv: f64 = theta.iter().zip(v).map(|(t, x)| t * x).sum();
        for ((o, t), x) in out.iter_mut().zip(theta).zip(v) {
            *o = (u - 1.0) * x + 2.0 * tv * t;
        }
    }
}

impl Landscape for Ring {
    fn hessian_vector(&self) -> Option<&dyn HessianVector> {
        Some(self)
    }

    fn exact_constants(&self, theta0: &[f64], radius: f64) -> Option<BallConstants> {
        let centre = theta0.iter().map(|t| t * t).sum::<f64>().sqrt();
        let s_lo = (centre - radius).max(0.0);
        let s_hi = centre + radius;
        let (u_lo, u_hi) = (s_lo * s_lo, s_hi * s_hi);
        let lipschitz = self.hessian_norm(u_lo).max(self.hessian_norm(u_hi));
        Some(BallConstants {
            alpha: 4.0 * u_lo,
            c_l: lipschitz.max(2.0 * u_hi),
            source: ConstantsSource::Exact,
        })
    }
}

/// `--problem ring`: built in `--dim`.
pub(super) struct RingSpec;

impl Spec for RingSpec {
    fn name(&self) -> &'static str {
        "ring"
    }

    fn flags(&self) -> &'static [&'static str] {
        &["--dim"]
    }

    fn build(
        &self,
        _settings: &ProblemSettings,
        dim: usize,
        _data: Option<&Arc<Dataset>>,
    ) -> Result<Box<dyn Landscape>, ConfigError> {
        Ok(Box::new(Ring::new(dim)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landscape::testing::assert_gradient_matches_finite_differences;
    use rand::{RngExt, SeedableRng};

    #[test]
    fn gradient_matches_finite_differences() {
        for theta in [vec![0.3], vec![1.4, -0.2, 0.5], vec![0.0, 0.9]] {
            let ring = Ring::new(theta.len()).unwrap();
            assert_gradient_matches_finite_differences(&ring, &theta);
        }
    }

    #[test]
    fn alpha_is_zero_when_the_ball_contains_the_origin() {
        let ring = Ring::new(2).unwrap();
        let c = ring.exact_constants(&[0.3, 0.4], 0.6).unwrap();
        assert_eq!(c.alpha, 0.0);
    }

    /// The constants are checked against brute force: the extreme values of |∇F|²/F and of the
    /// Hessian norm (by its eigenvalues, computed independently from the explicit matrix via the
    /// Rayleigh quotient on random directions) over random points of the ball.
    #[test]
    fn constants_bound_sampled_points_of_the_ball_tightly() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
        let theta0 = [0.8, 0.5, -0.1];
        let r = 0.4;
        let ring = Ring::new(3).unwrap();
        let c = ring.exact_constants(&theta0, r).unwrap();
        let (mut min_ratio, mut max_ratio, mut max_rayleigh) = (f64::INFINITY, 0.0f64, 0.0f64);
        let mut g = [0.0; 3];
        for _ in 0..20_000 {
            // A point in the ball: uniform direction, radius biased to the surface where extremes sit.
            let mut v = [0.0; 3];
            for x in v.iter_mut() {
                *x = rng.random::<f64>() * 2.0 - 1.0;
            }
            let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            let rad = r * rng.random::<f64>().powf(0.2);
            let th: Vec<f64> = (0..3).map(|i| theta0[i] + rad * v[i] / n).collect();
            let f = ring.loss_and_gradient(&th, &mut g, &mut []);
            let ratio = g.iter().map(|x| x * x).sum::<f64>() / f;
            min_ratio = min_ratio.min(ratio);
            max_ratio = max_ratio.max(ratio);
            // Rayleigh quotient of H = (u−1)I + 2θθᵀ along a random unit vector w.
            let mut w = [0.0; 3];
            for x in w.iter_mut() {
                *x = rng.random::<f64>() * 2.0 - 1.0;
            }
            let wn = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            let u: f64 = th.iter().map(|t| t * t).sum();
            let dot: f64 = th.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() / wn;
            max_rayleigh = max_rayleigh.max(((u - 1.0) + 2.0 * dot * dot).abs());
        }
        assert!(min_ratio >= c.alpha - 1e-9 && min_ratio <= c.alpha * 1.02);
        assert!(max_ratio <= 2.0 * c.c_l + 1e-9);
        assert!(max_rayleigh <= c.c_l + 1e-9 && max_rayleigh >= 0.95 * c.c_l);
    }
}
