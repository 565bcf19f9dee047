//! Gradient-noise models: g = ∇F(θ) + s(θ)·Z.
//!
//! | model     | scale s(θ)   | E\|g − ∇F\|² |
//! |-----------|--------------|--------------|
//! | `ml`      | √(σ·F(θ))    | σ·F(θ)       |
//! | `bounded` | √σ           | σ            |
//! | `none`    | 0            | 0            |
//!
//! `ml` is the "machine-learning noise" of An & Lu: it vanishes at global minima. In both noisy
//! models σ is the noise variance per unit (of loss, for `ml`), since E Z = 0 and E|Z|² = 1.
//! Z has one of two distributions ([`NoiseDist`]):
//! - `gaussian`: Z ~ N(0, I/d) (each coordinate a standard normal scaled by 1/√d);
//! - `rademacher`: independent coordinates ±1/√d with probability ½ each.
//!
//! Random-number use is fixed by (model, distribution, d) only, never by the values of θ or F, so
//! trajectory i consumes its stream identically at every point of a sweep (common random numbers).

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// Which noise is added to the exact gradient.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NoiseModel {
    /// Gradient descent: g = ∇F.
    None,
    /// Machine-learning noise g = ∇F + √(σF)·Z.
    Ml { sigma: f64 },
    /// Bounded noise g = ∇F + √σ·Z.
    Bounded { sigma: f64 },
}

/// Command-line names of the noise models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum NoiseKind {
    /// g = ∇F + √(σ·F)·Z (An & Lu's machine-learning noise).
    Ml,
    /// g = ∇F + √σ·Z.
    Bounded,
    /// Plain gradient descent.
    None,
}

impl NoiseKind {
    pub fn name(self) -> &'static str {
        match self {
            NoiseKind::Ml => "ml",
            NoiseKind::Bounded => "bounded",
            NoiseKind::None => "none",
        }
    }
}

impl std::fmt::Display for NoiseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl NoiseModel {
    pub fn kind(&self) -> NoiseKind {
        match self {
            NoiseModel::None => NoiseKind::None,
            NoiseModel::Ml { .. } => NoiseKind::Ml,
            NoiseModel::Bounded { .. } => NoiseKind::Bounded,
        }
    }

    /// σ, or `None` for gradient descent.
    pub fn sigma(&self) -> Option<f64> {
        match *self {
            NoiseModel::None => None,
            NoiseModel::Ml { sigma } | NoiseModel::Bounded { sigma } => Some(sigma),
        }
    }

    /// The factor s(θ) multiplying Z, given F(θ).
    #[inline]
    pub fn scale(&self, loss: f64) -> f64 {
        match *self {
            NoiseModel::None => 0.0,
            // max(0) keeps a (theoretically impossible) negative F from producing NaN.
            NoiseModel::Ml { sigma } => (sigma * loss.max(0.0)).sqrt(),
            NoiseModel::Bounded { sigma } => sigma.sqrt(),
        }
    }

    /// Whether any random numbers are drawn.
    pub fn is_random(&self) -> bool {
        !matches!(self, NoiseModel::None)
    }
}

/// The law of Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum NoiseDist {
    /// Z ~ N(0, I/d).
    Gaussian,
    /// Independent ±1/√d coordinates.
    Rademacher,
}

impl NoiseDist {
    pub fn name(self) -> &'static str {
        match self {
            NoiseDist::Gaussian => "gaussian",
            NoiseDist::Rademacher => "rademacher",
        }
    }

    /// Adds `scale`·Z to `g`, drawing Z from `rng`.
    ///
    /// Gaussian coordinates come from the ziggurat sampler of `rand_distr` (`StandardNormal`);
    /// Rademacher signs take one bit each of ⌈d/64⌉ fresh 64-bit words, lowest bit first.
    #[inline]
    pub fn add_scaled<R: Rng + ?Sized>(self, g: &mut [f64], scale: f64, rng: &mut R) {
        let s = scale / (g.len() as f64).sqrt();
        match self {
            NoiseDist::Gaussian => {
                for gi in g.iter_mut() {
                    let z: f64 = StandardNormal.sample(rng);
                    *gi += s * z;
                }
            }
            NoiseDist::Rademacher => {
                for chunk in g.chunks_mut(64) {
                    let mut bits = rng.next_u64();
                    for gi in chunk {
                        *gi += if bits & 1 == 1 { s } else { -s };
                        bits >>= 1;
                    }
                }
            }
        }
    }
}

impl std::fmt::Display for NoiseDist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::trajectory_rng;

    /// E Z = 0 and E|Z|² = 1 for both laws. For the Gaussian, |Z|²·d ~ χ²_d, so the mean of n
    /// draws of |Z|² has standard deviation √(2/(d·n)); with d = 4, n = 200 000 that is 1.6e-3, and
    /// the 5e-3 tolerance is about 3 standard deviations (fixed seed). Rademacher |Z|² is exactly 1.
    #[test]
    fn noise_has_mean_zero_and_unit_second_moment() {
        let mut rng = trajectory_rng(1, 0);
        for dist in [NoiseDist::Gaussian, NoiseDist::Rademacher] {
            let n = 200_000;
            let (mut sum0, mut sq) = (0.0, 0.0);
            for _ in 0..n {
                let mut z = [0.0; 4];
                dist.add_scaled(&mut z, 1.0, &mut rng);
                sum0 += z[0];
                sq += z.iter().map(|x| x * x).sum::<f64>();
            }
            // Coordinate mean: sd √(1/(4n)) ≈ 1.1e-3; 5e-3 is > 4 sd.
            assert!(
                (sum0 / n as f64).abs() < 5e-3,
                "{dist}: mean {}",
                sum0 / n as f64
            );
            assert!(
                (sq / n as f64 - 1.0).abs() < 5e-3,
                "{dist}: E|Z|² {}",
                sq / n as f64
            );
        }
    }

    #[test]
    fn rademacher_uses_one_word_per_64_coordinates() {
        let mut a = trajectory_rng(3, 0);
        let mut z = vec![0.0; 65];
        NoiseDist::Rademacher.add_scaled(&mut z, 1.0, &mut a);
        let mut b = trajectory_rng(3, 0);
        b.next_u64();
        b.next_u64();
        assert_eq!(a.next_u64(), b.next_u64());
        let expected = 1.0 / 65f64.sqrt();
        assert!(z.iter().all(|&x| x.abs() == expected));
    }

    #[test]
    fn ml_noise_vanishes_at_zero_loss() {
        assert_eq!(NoiseModel::Ml { sigma: 3.0 }.scale(0.0), 0.0);
        assert_eq!(NoiseModel::Bounded { sigma: 4.0 }.scale(0.0), 2.0);
        assert_eq!(NoiseModel::Ml { sigma: 2.0 }.scale(8.0), 4.0);
    }
}
