//! The theoretical guarantees of An & Lu (arXiv 2304.09221) as computable numbers.
//!
//! Assumptions (docs/theory.md has the derivation): F ≥ 0; ∇F is C_L-Lipschitz on the ball and
//! |∇F|² ≤ 2·C_L·F there; |∇F|² ≥ α·F on the ball B(θ0, r); machine-learning noise
//! g = ∇F + √(σF)·Z with E Z = 0, E|Z|² ≤ 1; a constant step η. Then, with
//!
//! - ρ = 1 − ηα + (η²/2)·C_L·(2C_L + σ), the contraction factor (ρ < 1 iff η < 2α/(C_L(2C_L + σ))),
//! - E[F(θ_k)·1{stayed through k}] ≤ ρ^k·F(θ0),
//! - δ = η·√((2C_L + σ)·F(θ0)) / (r·(1 − √ρ)), from Markov's inequality on the path length,
//!
//! P(stay in the ball forever) ≥ 1 − δ and P(stay and F(θ_K) ≤ ε) ≥ 1 − δ − ρ^K·F(θ0)/ε.
//! Chatterjee's deterministic criterion is 4·F(θ0) < r²·α.
//!
//! `--noise none` is machine-learning noise with σ = 0, so the bound applies to it too. It does not
//! apply to bounded noise or to Robbins–Monro steps: the paper's argument fails there.

use crate::noise::NoiseModel;
use crate::schedule::StepSchedule;

/// Everything the bound depends on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoundInputs {
    pub alpha: f64,
    pub c_l: f64,
    pub noise: NoiseModel,
    pub schedule: StepSchedule,
    pub radius: f64,
    pub f0: f64,
    pub steps: u64,
    pub eps: f64,
}

/// Why the theorem says nothing about a configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotApplicable {
    /// Bounded noise: the noise does not vanish at the minima.
    BoundedNoise,
    /// A decreasing step: the theorem is for a constant step.
    Schedule,
    /// ρ ≥ 1: no contraction (for instance α = 0 because the ball holds a critical point).
    NoContraction,
    /// The landscape breaks an assumption everywhere (a non-smooth activation).
    OutsideTheory,
}

impl std::fmt::Display for NotApplicable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NotApplicable::BoundedNoise => "bounded noise does not vanish at the minima",
            NotApplicable::Schedule => "the theorem assumes a constant step",
            NotApplicable::NoContraction => "ρ ≥ 1: the step is too large for this α and C_L",
            NotApplicable::OutsideTheory => {
                "the landscape is not smooth (relu), so its gradient is not Lipschitz"
            }
        })
    }
}

/// The bound's numbers. Fields that do not apply are `None`; vacuous values (≤ 0) are kept as they
/// are, never clipped.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bound {
    pub rho: Option<f64>,
    pub delta: Option<f64>,
    /// 1 − δ.
    pub stay_bound: Option<f64>,
    /// 1 − δ − ρ^K·F(θ0)/ε.
    pub converge_bound: Option<f64>,
    /// 4·F(θ0) < r²·α.
    pub chatterjee: bool,
    pub not_applicable: Option<NotApplicable>,
}

/// The largest constant step with ρ < 1, 2α/(C_L(2C_L + σ)): ρ = 1 − ηα + η²C_L(2C_L + σ)/2
/// is below 1 exactly for 0 < η below it.
pub fn largest_step(alpha: f64, c_l: f64, sigma: f64) -> f64 {
    2.0 * alpha / (c_l * (2.0 * c_l + sigma))
}

impl Bound {
    pub fn compute(input: &BoundInputs) -> Bound {
        let chatterjee = 4.0 * input.f0 < input.radius * input.radius * input.alpha;
        let na = |reason, rho| Bound {
            rho,
            delta: None,
            stay_bound: None,
            converge_bound: None,
            chatterjee,
            not_applicable: Some(reason),
        };
        let sigma = match input.noise {
            NoiseModel::None => 0.0,
            // Minibatch noise satisfies E|g − ∇F|² ≤ σF with σ = σ̂ (or --sigma), which is all the
            // argument uses of machine-learning noise.
            NoiseModel::Ml { sigma } | NoiseModel::Minibatch { sigma, .. } => sigma,
            NoiseModel::Bounded { .. } => return na(NotApplicable::BoundedNoise, None),
        };
        let Some(eta) = input.schedule.constant_eta() else {
            return na(NotApplicable::Schedule, None);
        };
        let BoundInputs { alpha, c_l, .. } = *input;
        let rho = 1.0 - eta * alpha + 0.5 * eta * eta * c_l * (2.0 * c_l + sigma);
        // NaN (from non-finite constants) also means no contraction.
        if rho.is_nan() || rho >= 1.0 {
            return na(NotApplicable::NoContraction, Some(rho));
        }
        // ρ ≥ 0 whenever α ≤ 2·C_L, which the configuration enforces.
        let delta = eta * ((2.0 * c_l + sigma) * input.f0).sqrt()
            / (input.radius * (1.0 - rho.max(0.0).sqrt()));
        let stay = 1.0 - delta;
        let converge = stay - rho.powf(input.steps as f64) * input.f0 / input.eps;
        Bound {
            rho: Some(rho),
            delta: Some(delta),
            stay_bound: Some(stay),
            converge_bound: Some(converge),
            chatterjee,
            not_applicable: None,
        }
    }

    /// The same bound declared not applicable for `reason` (ρ and Chatterjee's criterion kept).
    pub fn without_guarantee(self, reason: NotApplicable) -> Bound {
        Bound {
            delta: None,
            stay_bound: None,
            converge_bound: None,
            not_applicable: Some(reason),
            ..self
        }
    }

    /// ρ^k·F(θ0), the bound on E[F(θ_k)·1{stayed through k}], where it applies.
    pub fn expected_loss_bound(&self, k: u64, f0: f64) -> Option<f64> {
        self.rho
            .filter(|_| self.not_applicable.is_none())
            .map(|rho| rho.powf(k as f64) * f0)
    }

    /// Compares the bound with the upper ends of the confidence intervals of the estimates.
    pub fn status(&self, stay_hi: f64, converge_hi: f64) -> BoundStatus {
        BoundStatus::of(self.stay_bound, self.converge_bound, stay_hi, converge_hi)
    }
}

impl BoundStatus {
    /// The status from the bounds alone (as a CSV row holds them), so that `merge` can recompute
    /// it from summed counts.
    pub fn of(
        stay_bound: Option<f64>,
        converge_bound: Option<f64>,
        stay_hi: f64,
        converge_hi: f64,
    ) -> BoundStatus {
        let (Some(stay), Some(converge)) = (stay_bound, converge_bound) else {
            return BoundStatus::NotApplicable;
        };
        if stay_hi < stay || converge_hi < converge {
            BoundStatus::Violated
        } else if stay <= 0.0 {
            BoundStatus::Vacuous
        } else {
            BoundStatus::Consistent
        }
    }
}

/// How an estimate relates to the theorem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoundStatus {
    /// Bounded noise, a decreasing step, or ρ ≥ 1.
    NotApplicable,
    /// 1 − δ ≤ 0: the theorem says nothing at this setting.
    Vacuous,
    /// An interval lies entirely below its bound: a bug or a broken assumption.
    Violated,
    /// Every interval reaches its bound.
    Consistent,
}

impl BoundStatus {
    pub fn name(self) -> &'static str {
        match self {
            BoundStatus::NotApplicable => "not-applicable",
            BoundStatus::Vacuous => "vacuous",
            BoundStatus::Violated => "violated",
            BoundStatus::Consistent => "consistent",
        }
    }
}

impl std::fmt::Display for BoundStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ρ(η) = 1 exactly at the largest step (to rounding), below it just under, above it just over.
    #[test]
    fn the_largest_step_is_where_rho_reaches_one() {
        for (alpha, c_l, sigma) in [(2.07, 4.23, 1.0), (0.0037, 12.3, 0.0), (1.0, 1.0, 30.0)] {
            let rho = |eta: f64| 1.0 - eta * alpha + 0.5 * eta * eta * c_l * (2.0 * c_l + sigma);
            let h = largest_step(alpha, c_l, sigma);
            assert!((rho(h) - 1.0).abs() < 1e-12, "{}", rho(h));
            assert!(rho(0.99 * h) < 1.0 && rho(1.01 * h) > 1.0);
        }
    }

    fn inputs(noise: NoiseModel, eta: f64) -> BoundInputs {
        BoundInputs {
            alpha: 2.0,
            c_l: 1.0,
            noise,
            schedule: StepSchedule::Constant { eta },
            radius: 1.0,
            f0: 0.02,
            steps: 100,
            eps: 1e-6,
        }
    }

    /// Hand computation: α = 2, C_L = 1, σ = 1, η = 2/3 gives ρ = 1 − 4/3 + (2/9)·3 = 1/3, and
    /// δ = (2/3)·√(3·0.02) / (1 − 1/√3).
    #[test]
    fn matches_a_hand_computed_case() {
        let b = Bound::compute(&inputs(NoiseModel::Ml { sigma: 1.0 }, 2.0 / 3.0));
        let rho = b.rho.unwrap();
        assert!((rho - 1.0 / 3.0).abs() < 1e-15);
        let delta = (2.0 / 3.0) * (0.06f64).sqrt() / (1.0 - (1.0f64 / 3.0).sqrt());
        assert!((b.delta.unwrap() - delta).abs() < 1e-15);
        let conv = 1.0 - delta - (1.0f64 / 3.0).powi(100) * 0.02 / 1e-6;
        assert!((b.converge_bound.unwrap() - conv).abs() < 1e-15);
        assert!(b.chatterjee); // 4·0.02 < 1·2
    }

    #[test]
    fn rho_crosses_one_exactly_at_the_critical_step() {
        // η* = 2α/(C_L(2C_L + σ)) = 4/3 for σ = 1.
        let below = Bound::compute(&inputs(NoiseModel::Ml { sigma: 1.0 }, 4.0 / 3.0 - 1e-9));
        let above = Bound::compute(&inputs(NoiseModel::Ml { sigma: 1.0 }, 4.0 / 3.0 + 1e-9));
        assert!(below.not_applicable.is_none());
        assert_eq!(above.not_applicable, Some(NotApplicable::NoContraction));
        assert_eq!(above.status(1.0, 1.0), BoundStatus::NotApplicable);
    }

    #[test]
    fn bounded_noise_and_decreasing_steps_are_not_covered() {
        let b = Bound::compute(&inputs(NoiseModel::Bounded { sigma: 1.0 }, 0.1));
        assert_eq!(b.not_applicable, Some(NotApplicable::BoundedNoise));
        let mut rm = inputs(NoiseModel::Ml { sigma: 1.0 }, 0.1);
        rm.schedule = StepSchedule::RobbinsMonro {
            gamma: 0.1,
            n0: 1.0,
            q: 0.75,
        };
        assert_eq!(
            Bound::compute(&rm).not_applicable,
            Some(NotApplicable::Schedule)
        );
        // Gradient descent is machine-learning noise with σ = 0.
        let gd = Bound::compute(&inputs(NoiseModel::None, 0.1));
        assert!((gd.rho.unwrap() - (1.0 - 0.2 + 0.005 * 2.0)).abs() < 1e-15);
    }

    #[test]
    fn status_flags_vacuous_and_violated_bounds() {
        let mut far = inputs(NoiseModel::Ml { sigma: 1.0 }, 0.5);
        far.f0 = 10.0;
        let b = Bound::compute(&far);
        assert!(b.stay_bound.unwrap() <= 0.0);
        assert_eq!(b.status(0.5, 0.5), BoundStatus::Vacuous);
        let near = Bound::compute(&inputs(NoiseModel::Ml { sigma: 1.0 }, 0.5));
        let stay = near.stay_bound.unwrap();
        assert!(stay > 0.0);
        assert_eq!(near.status(stay, 1.0), BoundStatus::Consistent);
        assert_eq!(near.status(stay - 1e-9, 1.0), BoundStatus::Violated);
    }
}
