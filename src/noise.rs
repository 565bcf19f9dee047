//! Gradient-noise models: g = ∇F(θ) + s(θ)·Z.
//!
//! | model     | scale s(θ)   | E\|g − ∇F\|² |
//! |-----------|--------------|--------------|
//! | `ml`      | √(σ·F(θ))    | σ·F(θ)       |
//! | `bounded` | √σ           | σ            |
//! | `none`    | 0            | 0            |
//!
//! `minibatch` is different in kind: g is the gradient of the mean per-sample loss over B row
//! indices I_1 … I_B drawn from the trajectory's own stream, g = (1/B)·Σ_b ∇f_{I_b}(θ), which is
//! unbiased. Its variance is not an input: E|g − ∇F|² = (1/B)·(mean_i |∇f_i|² − |∇F|²) with
//! replacement, (n − B)/(B(n − 1)) times the same with `--batch-mode without-replacement`
//! (docs/theory.md); the bound uses the largest ratio of it to F over the ball, σ̂
//! ([`crate::constants`]).
//!
//! `ml` is the "machine-learning noise" of An & Lu: it vanishes at global minima. In both noisy
//! models σ is the noise variance per unit (of loss, for `ml`), since E Z = 0 and E|Z|² = 1.
//! Z has one of two distributions ([`NoiseDist`]):
//! - `gaussian`: Z ~ N(0, I/d) (each coordinate a standard normal scaled by 1/√d);
//! - `rademacher`: independent coordinates ±1/√d with probability ½ each.
//!
//! Random-number use is fixed by (model, distribution, d) only, never by the values of θ or F, so
//! trajectory i consumes its stream identically at every point of a sweep (common random numbers).
//! A minibatch step uses exactly B 64-bit words, one per index ([`draw_batch`]), whatever n, θ
//! and F.

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
    /// g = gradient of the mean per-sample loss over `batch` indices drawn with `mode`. `sigma` is
    /// not used by the dynamics: it is the σ the bound uses (σ̂, or `--sigma`).
    Minibatch {
        batch: usize,
        mode: BatchMode,
        sigma: f64,
    },
}

/// How the B indices of a minibatch are drawn from the n rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum BatchMode {
    /// B independent uniform indices (repeats possible).
    WithReplacement,
    /// A uniform B-subset of distinct indices (B ≤ n).
    WithoutReplacement,
}

impl BatchMode {
    pub fn name(self) -> &'static str {
        match self {
            BatchMode::WithReplacement => "with-replacement",
            BatchMode::WithoutReplacement => "without-replacement",
        }
    }

    /// E|g − ∇F|² for a batch of b of n rows, given s2 = mean_i |∇f_i|² − |∇F|² (the population
    /// variance of the per-sample gradients): s2/b with replacement, and with the finite-population
    /// correction (n − b)/(n − 1) without.
    pub fn gradient_variance(self, s2: f64, n: usize, b: usize) -> f64 {
        match self {
            BatchMode::WithReplacement => s2 / b as f64,
            BatchMode::WithoutReplacement if n <= 1 => 0.0,
            BatchMode::WithoutReplacement => s2 * (n - b) as f64 / ((n - 1) as f64 * b as f64),
        }
    }
}

impl std::fmt::Display for BatchMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A uniform index in 0..m from one 64-bit word, by the widening multiply ⌊w·m / 2^64⌋. Its bias
/// (at most m/2^64 in probability) is far below anything a simulation can detect, and it keeps the
/// consumption at exactly one word per index.
#[inline]
fn index_below_rng<R: Rng + ?Sized>(rng: &mut R, m: usize) -> usize {
    index_below(rng.next_u64(), m)
}

/// ⌊w·m / 2^64⌋: the index in 0..m that the word w selects.
#[inline(always)]
pub fn index_below(w: u64, m: usize) -> usize {
    ((u128::from(w) * m as u128) >> 64) as usize
}

/// Fills `batch` with B = `batch.len()` row indices in 0..n, drawing exactly B words from `rng`.
/// Without replacement it runs a partial Fisher–Yates shuffle on `scratch` (length n), reset to
/// the identity first, so the result depends only on the words drawn.
#[inline]
pub fn draw_batch<R: Rng + ?Sized>(
    rng: &mut R,
    n: usize,
    mode: BatchMode,
    batch: &mut [usize],
    scratch: &mut [usize],
) {
    match mode {
        BatchMode::WithReplacement => {
            for b in batch.iter_mut() {
                *b = index_below_rng(rng, n);
            }
        }
        BatchMode::WithoutReplacement => {
            for (i, s) in scratch.iter_mut().enumerate() {
                *s = i;
            }
            for (j, b) in batch.iter_mut().enumerate() {
                let k = j + index_below_rng(rng, n - j);
                scratch.swap(j, k);
                *b = scratch[j];
            }
        }
    }
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
    /// The gradient of a random minibatch of rows (`--batch`, `--batch-mode`).
    Minibatch,
}

impl NoiseKind {
    pub fn name(self) -> &'static str {
        match self {
            NoiseKind::Ml => "ml",
            NoiseKind::Bounded => "bounded",
            NoiseKind::None => "none",
            NoiseKind::Minibatch => "minibatch",
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
            NoiseModel::Minibatch { .. } => NoiseKind::Minibatch,
        }
    }

    /// σ, or `None` for gradient descent. For minibatch noise, the σ the bound uses.
    pub fn sigma(&self) -> Option<f64> {
        match *self {
            NoiseModel::None => None,
            NoiseModel::Ml { sigma }
            | NoiseModel::Bounded { sigma }
            | NoiseModel::Minibatch { sigma, .. } => Some(sigma),
        }
    }

    /// The factor s(θ) multiplying Z, given F(θ) (0 for minibatch noise, which adds no Z).
    #[inline]
    pub fn scale(&self, loss: f64) -> f64 {
        match *self {
            NoiseModel::None | NoiseModel::Minibatch { .. } => 0.0,
            // max(0) keeps a (theoretically impossible) negative F from producing NaN.
            NoiseModel::Ml { sigma } => (sigma * loss.max(0.0)).sqrt(),
            NoiseModel::Bounded { sigma } => sigma.sqrt(),
        }
    }

    /// Whether a Z is drawn and added (ml, bounded).
    pub fn is_random(&self) -> bool {
        matches!(self, NoiseModel::Ml { .. } | NoiseModel::Bounded { .. })
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

    /// Without replacement every B-subset must be equally likely: with n = 4, B = 2 each of the 6
    /// subsets has probability 1/6. Over 60 000 draws a count has sd √(60000·(1/6)(5/6)) ≈ 91;
    /// 5 sd (two-sided ≈ 6e-7 per subset) is the tolerance. Distinctness is checked every time.
    #[test]
    fn batches_without_replacement_are_uniform_subsets() {
        let mut rng = trajectory_rng(4, 0);
        let (mut batch, mut scratch) = ([0usize; 2], [0usize; 4]);
        let mut counts = [[0u32; 4]; 4];
        for _ in 0..60_000 {
            draw_batch(
                &mut rng,
                4,
                BatchMode::WithoutReplacement,
                &mut batch,
                &mut scratch,
            );
            assert_ne!(batch[0], batch[1]);
            let (a, b) = (batch[0].min(batch[1]), batch[0].max(batch[1]));
            counts[a][b] += 1;
        }
        for a in 0..4 {
            for b in a + 1..4 {
                assert!(
                    (f64::from(counts[a][b]) - 10_000.0).abs() < 5.0 * 91.3,
                    "{counts:?}"
                );
            }
        }
    }

    #[test]
    fn a_batch_uses_exactly_one_word_per_index() {
        for mode in [BatchMode::WithReplacement, BatchMode::WithoutReplacement] {
            let mut a = trajectory_rng(3, 0);
            let (mut batch, mut scratch) = ([0usize; 5], [0usize; 7]);
            draw_batch(&mut a, 7, mode, &mut batch, &mut scratch);
            let mut b = trajectory_rng(3, 0);
            for _ in 0..5 {
                b.next_u64();
            }
            assert_eq!(a.next_u64(), b.next_u64(), "{mode}");
        }
    }

    /// B = n without replacement is the full gradient: no variance.
    #[test]
    fn the_finite_population_correction_vanishes_for_the_full_batch() {
        assert_eq!(
            BatchMode::WithoutReplacement.gradient_variance(2.0, 5, 5),
            0.0
        );
        assert_eq!(
            BatchMode::WithoutReplacement.gradient_variance(2.0, 5, 1),
            2.0
        );
        assert_eq!(BatchMode::WithReplacement.gradient_variance(2.0, 5, 4), 0.5);
    }

    #[test]
    fn ml_noise_vanishes_at_zero_loss() {
        assert_eq!(NoiseModel::Ml { sigma: 3.0 }.scale(0.0), 0.0);
        assert_eq!(NoiseModel::Bounded { sigma: 4.0 }.scale(0.0), 2.0);
        assert_eq!(NoiseModel::Ml { sigma: 2.0 }.scale(8.0), 4.0);
    }
}
