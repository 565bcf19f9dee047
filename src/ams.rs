//! Rare exits: P(leave the ball within K steps) by generalized adaptive multilevel splitting.
//!
//! Crude Monte Carlo sees an exit probability p only with about 100/p trajectories; where the
//! theorem's δ is informative, p can be 10⁻¹² or smaller. Adaptive multilevel splitting (AMS;
//! Cérou & Guyader 2007, and in the generalized form used here Bréhier, Gazeau, Goudenège,
//! Lelièvre & Rousset, Ann. Appl. Probab. 26(6), 2016) estimates it without bias at a cost that
//! grows like log(1/p).
//!
//! **The chain.** The Markov state is X_k = (θ_k, k): the step index belongs to it because η_k
//! (Robbins–Monro) and the horizon K depend on it. (Minibatches are drawn afresh at every step,
//! with or without replacement within the batch, so no epoch position is needed.)
//! With the Gaussian score a step is split into substeps, and the state also holds the substep
//! and the point it has reached.
//!
//! **The score** ranks the paths; the rare set is the exit (|θ − θ0| > r or a non-finite
//! iterate), exactly the runner's exit test ([`crate::runner::left_ball`]). A path's score Z is
//! the largest score along it, and +∞ once it has exited. Three scores ([`Score`], `--score`):
//! the distance |θ − θ0|/r, the quantity the event is defined by, and the default where the
//! noise has a known scale, the *tail score* ln Φ̄(z) + ln(K − k): the log of a normal-tail
//! chance that the next step exits, times the steps left ([`SgdChain`] derives it). The tail
//! score knows where the noise is large and how much time is left; under ml noise, where the
//! distance score sends every replica extinct (it rewards the paths that converge towards the
//! minimum, whose noise vanishes), it resolves 10⁻¹² in half a second (docs/tightness.md).
//! The third, the *Gaussian score* ([`Score::Gaussian`]), approximates the committor itself:
//! the log of the expected number of exits in the steps left for the dynamics linearised along
//! the exit direction. With it each step's Gaussian noise is split into [`GAUSSIAN_SUBSTEPS`]
//! independent parts, each a state of the chain (the sum has the step's law, so the estimator
//! is unchanged in law): under bounded noise one step can carry a path across several nats of
//! the committor, and levels cannot be placed inside a step otherwise.
//!
//! **One replica** (the last-particle variant, with the tie rule of Bréhier et al.):
//! 1. run N independent paths from θ0 (until exit or K); weight W = 1;
//! 2. level z = min_i Z_i; if z = +∞ every path has exited: stop with estimate W;
//! 3. kill every path with Z_i ≤ z — all ties, so K_q ≥ 1 paths; if K_q = N the replica is extinct
//!    and its estimate is 0 (counted and reported: it is part of the unbiased estimator);
//! 4. W ← W·(1 − K_q/N);
//! 5. each killed path is replaced by a copy of a survivor (chosen uniformly) up to that
//!    survivor's first state with ξ > z, continued from there with fresh randomness;
//! 6. go to 2.
//!
//! A factor (1 − 1/N) per killed path instead of (1 − K_q/N) would be biased whenever ties occur
//! (Rademacher noise, minibatch indices), and the bias does not shrink with N; the gambler's-ruin
//! test below checks the rule against the exact answer.
//!
//! A path stores only its *records*, the states at which its running maximum of ξ rose (a
//! branching point — the first state above a level — is always one), and drops those at or below
//! the current level, which no later level can use: memory is N·(records)·d numbers, not N·K·d.
//!
//! **Streams.** The first runs of replica m use stream (seed, m, 0, i) for path i; the path that
//! replaces path i at iteration q draws its survivor and its continuation from stream
//! (seed, m, q, i) ([`splitting_stream`]). A replica is therefore a pure function of (seed, m),
//! whatever thread runs it: results are identical for any thread count and any split of the
//! replicas into shards. As with crude Monte Carlo the streams do not depend on the sweep point
//! (common random numbers across a sweep).
//!
//! **The interval** comes from M independent replicas, each unbiased: the mean p̄ and the sample
//! standard deviation s give the Student-t interval p̄ ± t_{M−1}·s/√M, clipped to [0, 1]
//! (`ci_method` `ams-t`). The sums over replicas (Σ p̂_m, Σ p̂_m²) are exact ([`ExactSum`]), so
//! shards merge exactly.
//!
//! **Limits** (measured, docs/tightness.md). The estimator is unbiased for any score, but its
//! variance depends on the score. Under bounded noise the exit is the sum of many steps' noise,
//! which the one-step tail does not see: the replicas' estimates are heavy-tailed at 10⁻¹², and
//! 40 replicas of 100 paths give wide intervals that often miss. The replicas' log-variance
//! falls like 1/N; the Gaussian score with substeps brings it near the ideal ln(1/p)/N, at a cost
//! per path that, in one dimension, outweighs the gain. The summary warns when the replicas' relative
//! spread exceeds [`HEAVY_TAIL_SPREAD`]. Where the noise vanishes before any path can exit, every
//! replica goes extinct and the probability is not resolved. Read the interval with its
//! extinctions, relative half-width and spread, and check the coverage on a case with a known
//! answer before relying on it at a new setting.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use rand::Rng;
use rand::SeedableRng;
use rayon::prelude::*;
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::engine::{Cancelled, Control};
use crate::estimate::exact_sum::ExactSum;
use crate::noise::{NoiseDist, NoiseKind, index_below};
use crate::rng::{TrajectoryRng, splitmix64_mix};
use crate::runner::{Dynamics, Workspace, left_ball};

/// Paths per replica, N, unless `--particles` says otherwise.
pub const DEFAULT_PARTICLES: u64 = 100;
/// Independent replicas, M, unless `--replicas` says otherwise.
pub const DEFAULT_REPLICAS: u64 = 40;
/// The most substeps a step of Gaussian noise is split into under the Gaussian score
/// ([`SgdChain::with_substeps`]). Measured on the bounded-noise case at 10⁻⁶
/// (examples/ams_coverage.rs), the tail score's replicas' log-variance fell fourfold from 1 to 8
/// substeps per step and not further at 32.
pub const GAUSSIAN_SUBSTEPS: u32 = 16;
/// The `ci_method` of the replicas' Student-t interval.
pub const CI_METHOD: &str = "ams-t";

/// A Markov chain with a score, as splitting needs it.
pub trait Chain: Sync {
    /// The whole state (a copy of it restarts the chain from there).
    type State: Clone + Send;
    /// Scratch memory for [`Chain::step`], made once per replica.
    type Scratch;
    /// The start and its score.
    fn start(&self) -> (Self::State, f64);
    fn scratch(&self) -> Self::Scratch;
    /// Whether no further step is taken from `state` (the horizon, or an absorbing state).
    fn at_horizon(&self, state: &Self::State) -> bool;
    /// One step of `state`; the new state's score, or `None` if it lies in the rare set.
    fn step(
        &self,
        state: &mut Self::State,
        rng: &mut TrajectoryRng,
        scratch: &mut Self::Scratch,
    ) -> Option<f64>;
}

/// The generator of the path that takes slot `particle` at `iteration` of replica `replica`
/// (iteration 0: the first runs): a xoshiro256++ state of four SplitMix64 outputs of a key that
/// mixes the five numbers in turn, distinct from the crude Monte Carlo streams' construction.
pub fn splitting_stream(seed: u64, replica: u64, iteration: u64, particle: u64) -> TrajectoryRng {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
    // "AMS" in ASCII: a domain tag, so no key coincides with a crude Monte Carlo seed's words.
    let mut key = splitmix64_mix(seed ^ 0x0041_4D53);
    for x in [replica, iteration, particle] {
        key = splitmix64_mix(key.wrapping_add(x.wrapping_add(1).wrapping_mul(GAMMA)));
    }
    let mut bytes = [0u8; 32];
    for (j, chunk) in bytes.chunks_exact_mut(8).enumerate() {
        let word = splitmix64_mix(key.wrapping_add((j as u64 + 1).wrapping_mul(GAMMA)));
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    TrajectoryRng::from_seed(bytes)
}

/// A state at which a path's running maximum of the score rose (`score` = +∞: it exited there).
#[derive(Clone)]
struct Record<S> {
    score: f64,
    state: S,
}

/// Continues a path from `state` (its last record's state) until it exits or stops, appending
/// its records.
fn extend<C: Chain>(
    chain: &C,
    records: &mut Vec<Record<C::State>>,
    mut state: C::State,
    rng: &mut TrajectoryRng,
    scratch: &mut C::Scratch,
) {
    let mut best = records.last().map_or(f64::NEG_INFINITY, |r| r.score);
    while !chain.at_horizon(&state) {
        match chain.step(&mut state, rng, scratch) {
            None => {
                records.push(Record {
                    score: f64::INFINITY,
                    state,
                });
                return;
            }
            Some(score) if score > best => {
                best = score;
                records.push(Record {
                    score,
                    state: state.clone(),
                });
            }
            Some(_) => {}
        }
    }
}

/// What one replica found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Replica {
    /// Its unbiased estimate of P(exit): W when every path exited, 0 on extinction.
    pub estimate: f64,
    /// Levels it went through.
    pub iterations: u64,
    pub extinct: bool,
}

/// Runs replica `replica` of `particles` paths (≥ 2). `cancel` is polled once per iteration.
pub fn replica<C: Chain>(
    chain: &C,
    particles: usize,
    seed: u64,
    replica: u64,
    cancel: Option<&AtomicBool>,
) -> Result<Replica, Cancelled> {
    assert!(particles >= 2, "splitting needs at least 2 paths");
    let mut scratch = chain.scratch();
    let (start, start_score) = chain.start();
    let mut paths: Vec<Vec<Record<C::State>>> = (0..particles)
        .map(|i| {
            let mut rng = splitting_stream(seed, replica, 0, i as u64);
            let mut records = vec![Record {
                score: start_score,
                state: start.clone(),
            }];
            extend(chain, &mut records, start.clone(), &mut rng, &mut scratch);
            records
        })
        .collect();
    let score = |p: &Vec<Record<C::State>>| p.last().expect("a path has a record").score;
    let mut weight = 1.0;
    let mut iterations = 0;
    let mut killed = Vec::with_capacity(particles);
    let mut survivors = Vec::with_capacity(particles);
    loop {
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(Cancelled);
        }
        let level = paths.iter().map(score).fold(f64::INFINITY, f64::min);
        if level == f64::INFINITY {
            break;
        }
        killed.clear();
        survivors.clear();
        for (i, p) in paths.iter().enumerate() {
            if score(p) <= level {
                killed.push(i);
            } else {
                survivors.push(i);
            }
        }
        iterations += 1;
        if survivors.is_empty() {
            return Ok(Replica {
                estimate: 0.0,
                iterations,
                extinct: true,
            });
        }
        weight *= survivors.len() as f64 / particles as f64;
        for &i in &killed {
            let mut rng = splitting_stream(seed, replica, iterations, i as u64);
            let j = survivors[index_below(rng.next_u64(), survivors.len())];
            let branch = paths[j]
                .iter()
                .position(|r| r.score > level)
                .expect("a survivor's score is above the level");
            let mut records = vec![paths[j][branch].clone()];
            if records[0].score < f64::INFINITY {
                let state = records[0].state.clone();
                extend(chain, &mut records, state, &mut rng, &mut scratch);
            }
            paths[i] = records;
        }
        // Every later level is above this one: records at or below it cannot be branched from.
        for p in &mut paths {
            let keep_from = p
                .iter()
                .position(|r| r.score > level)
                .unwrap_or(p.len() - 1);
            p.drain(..keep_from);
        }
    }
    Ok(Replica {
        estimate: weight,
        iterations,
        extinct: false,
    })
}

/// Replicas reduced at once: exact sums, so that any split of the replicas merges exactly.
#[derive(Clone, Debug, PartialEq)]
pub struct SplittingTally {
    pub particles: u64,
    pub replicas: u64,
    /// Σ p̂_m.
    pub sum: ExactSum,
    /// Σ p̂_m².
    pub sum_sq: ExactSum,
    /// Σ of the replicas' iterations.
    pub iterations: u128,
    pub extinctions: u64,
}

impl SplittingTally {
    pub fn new(particles: u64) -> Self {
        Self {
            particles,
            replicas: 0,
            sum: ExactSum::new(),
            sum_sq: ExactSum::new(),
            iterations: 0,
            extinctions: 0,
        }
    }

    pub fn record(&mut self, r: &Replica) {
        self.replicas += 1;
        self.sum.add(r.estimate);
        self.sum_sq.add(r.estimate * r.estimate);
        self.iterations += u128::from(r.iterations);
        self.extinctions += u64::from(r.extinct);
    }

    pub fn merge(&mut self, other: &SplittingTally) {
        assert_eq!(self.particles, other.particles);
        self.replicas += other.replicas;
        self.sum.merge(&other.sum);
        self.sum_sq.merge(&other.sum_sq);
        self.iterations += other.iterations;
        self.extinctions += other.extinctions;
    }

    /// The mean of the replicas' estimates and its standard error s/√M (needs ≥ 2 replicas).
    pub fn mean_and_standard_error(&self) -> (f64, f64) {
        let m = self.replicas as f64;
        let mean = self.sum.value() / m;
        let var = ((self.sum_sq.value() - self.sum.value() * mean) / (m - 1.0)).max(0.0);
        (mean, (var / m).sqrt())
    }

    /// One replica's relative spread: the replicas' sample standard deviation over their mean
    /// (NaN while the mean is 0). With a score close to the committor it is about
    /// √(ln(1/p)/N) for N paths; far above that, a few replicas carry most of the sum
    /// ([`HEAVY_TAIL_SPREAD`]).
    pub fn relative_spread(&self) -> f64 {
        let (mean, se) = self.mean_and_standard_error();
        if mean > 0.0 {
            se * (self.replicas as f64).sqrt() / mean
        } else {
            f64::NAN
        }
    }

    /// Mean iterations per replica.
    pub fn mean_iterations(&self) -> f64 {
        self.iterations as f64 / self.replicas as f64
    }

    /// The estimate of P(exit) and its Student-t interval at `confidence` (needs ≥ 2 replicas).
    /// When no replica saw an exit (every one extinct) the estimate is 0 and the upper end
    /// unknown (NaN): the paths did not resolve the probability, and a zero-width interval would
    /// claim a certainty the data do not give.
    pub fn estimate(&self, confidence: f64) -> ExitEstimate {
        let m = self.replicas as f64;
        if self.sum.value() == 0.0 {
            return ExitEstimate {
                p: 0.0,
                lo: 0.0,
                hi: f64::NAN,
            };
        }
        let (mean, se) = self.mean_and_standard_error();
        let t = StudentsT::new(0.0, 1.0, m - 1.0)
            .expect("at least 2 replicas")
            .inverse_cdf(0.5 + confidence / 2.0);
        ExitEstimate {
            p: mean,
            lo: (mean - t * se).max(0.0),
            hi: (mean + t * se).min(1.0),
        }
    }
}

/// The relative spread ([`SplittingTally::relative_spread`]) above which the summary warns
/// that the replicas are heavy-tailed and the interval may undercover. Measured on the exact
/// cases of examples/ams_coverage.rs (40 replicas of 100 paths, 12 seeds each): where the 95 %
/// interval covered 88–96 % of seeds (ml noise down to 10⁻¹², bounded noise at 10⁻⁹) every seed's
/// spread was at most 2.4 and all but one at most 1.5; at bounded noise and 10⁻¹², where it
/// covered 32 %, every seed's spread was at least 2.25. A spread this large means that the sum
/// rests on a few replicas, and a Student-t interval on few effective replicas is unreliable.
pub const HEAVY_TAIL_SPREAD: f64 = 2.0;

/// An estimate of P(exit) with its interval (`hi` NaN: not resolved, see
/// [`SplittingTally::estimate`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExitEstimate {
    pub p: f64,
    pub lo: f64,
    pub hi: f64,
}

impl ExitEstimate {
    /// The interval's half-width relative to the estimate (∞ when the estimate is 0).
    pub fn relative_halfwidth(&self) -> f64 {
        (self.hi - self.lo) / (2.0 * self.p)
    }
}

/// The `ci_method` of a run to a relative precision: the Student-t interval at a look's spent
/// level ([`RelativeTarget`]).
pub const SPENT_CI_METHOD: &str = "ams-t-spent";

/// `--target-relative-error`: add replicas until the interval's half-width is at most `error`
/// times the estimate, or `max_replicas` are used.
///
/// Looking at the interval after every batch and stopping when it is narrow would lose coverage
/// (a run stops more readily when its spread happens to be small), so look j uses the Student-t
/// interval at level 1 − α·6/(π²·j²), 1 − α = `confidence`, as crude Monte Carlo's
/// `--target-halfwidth` does ([`crate::estimate::sequential::look_level`]): the levels' misses sum
/// to α, and the interval reported at the stopping look covers with probability ≥ 1 − α by the
/// union bound, whatever the stopping rule — as far as each look's t interval holds its level.
/// The batch sizes depend on the replicas' estimates only, never on timing, so a run gives the
/// same result for any thread count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RelativeTarget {
    pub error: f64,
    pub max_replicas: u64,
    pub confidence: f64,
}

/// Where a run to a [`RelativeTarget`] stopped.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TargetOutcome {
    /// The target, as asked.
    pub target: RelativeTarget,
    /// Looks taken (the last one is reported).
    pub looks: u32,
    /// The level of the reported interval.
    pub level: f64,
    /// Whether the relative half-width reached the target (false: `max_replicas` stopped it).
    pub reached: bool,
}

impl RelativeTarget {
    /// `--target-relative-error` and `--max-replicas` (at least `first`, the first look's
    /// replicas), checked.
    pub fn new(
        error: f64,
        max_replicas: u64,
        first: u64,
        confidence: f64,
    ) -> Result<Self, crate::error::ConfigError> {
        use crate::error::ConfigError;
        if !(error > 0.0 && error.is_finite()) {
            return Err(ConfigError::new(
                "--target-relative-error",
                format!("must be a positive relative half-width, e.g. 0.1 for 10 % (got {error})"),
            ));
        }
        if max_replicas < first {
            return Err(ConfigError::new(
                "--max-replicas",
                format!(
                    "must be at least --replicas, the first look ({first}; got {max_replicas})"
                ),
            ));
        }
        Ok(Self {
            error,
            max_replicas,
            confidence,
        })
    }

    /// Runs replicas 0..`first`, then more, through `extend` (which runs a range of replicas),
    /// until the target or the cap.
    pub fn run<E>(
        &self,
        first: u64,
        mut extend: impl FnMut(Range<u64>) -> Result<SplittingTally, E>,
    ) -> Result<(SplittingTally, ExitEstimate, TargetOutcome), E> {
        let mut m = first.clamp(2, self.max_replicas.max(2));
        let mut tally = extend(0..m)?;
        let mut looks = 1;
        loop {
            let level = crate::estimate::sequential::look_level(self.confidence, looks);
            let exit = tally.estimate(level);
            let relative = exit.relative_halfwidth();
            // NaN (nothing resolved) is never within the target.
            let reached = exit.p > 0.0 && relative <= self.error;
            if reached || m >= self.max_replicas {
                let outcome = TargetOutcome {
                    target: *self,
                    looks,
                    level,
                    reached,
                };
                return Ok((tally, exit, outcome));
            }
            let next = self.next_replicas(m, relative, looks);
            tally.merge(&extend(m..next)?);
            m = next;
            looks += 1;
        }
    }

    /// The half-width shrinks as 1/√M and grows with the next look's quantile, so
    /// M·(w/e)²·(z_{j+1}/z_j)² replicas would reach the target if the spread held. At least 1.5
    /// times as many (each look spends confidence) and at most 4 times (the spread of a few
    /// replicas is a rough guide, and heavy-tailed), never beyond the cap.
    fn next_replicas(&self, m: u64, relative: f64, look: u32) -> u64 {
        use crate::estimate::sequential::look_level;
        use crate::special::normal_quantile;
        let z = |j| normal_quantile(0.5 + look_level(self.confidence, j) / 2.0);
        let grow = if relative.is_finite() {
            ((relative / self.error) * (z(look + 1) / z(look)))
                .powi(2)
                .clamp(1.5, 4.0)
        } else {
            4.0
        };
        ((m as f64 * grow).ceil() as u64).min(self.max_replicas)
    }
}

/// Runs replicas `replicas` of `chain` with `particles` paths each, in parallel on the current
/// rayon pool, and reduces them in replica order. `control.progress` counts finished replicas.
pub fn simulate<C: Chain>(
    chain: &C,
    particles: u64,
    seed: u64,
    replicas: Range<u64>,
    control: Control<'_>,
) -> Result<SplittingTally, Cancelled> {
    let results: Vec<Result<Replica, Cancelled>> = replicas
        .into_par_iter()
        .map(|m| {
            let r = replica(chain, particles as usize, seed, m, control.cancel);
            if let Some(progress) = control.progress {
                progress(1);
            }
            r
        })
        .collect();
    let mut tally = SplittingTally::new(particles);
    for r in results {
        tally.record(&r?);
    }
    Ok(tally)
}

/// The score that ranks the splitting paths (`--score`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Score {
    /// ξ = |θ − θ0| / r: the distance the exit is defined by; needs nothing of the noise.
    Distance,
    /// ξ = ln Φ̄(z) + ln(K − k): the log of the chance that one step from here exits (a normal
    /// tail, z standard deviations of the step's noise between the drift's next point and the
    /// sphere) times the steps left. It aims where the noise can carry a path out, and
    /// discounts what a path reaches late.
    Tail,
    /// ξ = ln Σ_j Φ̄(z_j): the log of the expected number of the steps left that end outside
    /// the ball, for the dynamics linearised along the exit direction with Gaussian noise
    /// (the mean relaxes at the curvature there, the variance accumulates). A Gaussian
    /// approximation of the committor that sees exits built up over many steps, as under
    /// bounded noise. Gaussian steps are split into up to [`GAUSSIAN_SUBSTEPS`] substeps where
    /// one step moves the score by more than a unit ([`SgdChain`]); it costs a Hessian-vector
    /// product and two sums over the steps left per step.
    Gaussian,
}

impl Score {
    pub fn name(self) -> &'static str {
        match self {
            Score::Distance => "distance",
            Score::Tail => "tail",
            Score::Gaussian => "gaussian",
        }
    }

    /// The score used when `--score` is not given: the Gaussian score under bounded noise
    /// (where the tail score's replicas are too heavy-tailed for the interval to cover at
    /// 10⁻¹²), the tail score under ml noise (which covers there at a fraction of the cost),
    /// the distance otherwise (minibatch, none).
    pub fn default_for(noise: NoiseKind) -> Score {
        match noise {
            NoiseKind::Bounded => Score::Gaussian,
            NoiseKind::Ml => Score::Tail,
            _ => Score::Distance,
        }
    }

    /// Whether the score can rank paths under `noise`: the tail score needs the noise's scale.
    pub fn applies_to(self, noise: NoiseKind) -> bool {
        self == Score::Distance || matches!(noise, NoiseKind::Ml | NoiseKind::Bounded)
    }
}

impl std::fmt::Display for Score {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// SGD as a chain for splitting: the state (θ_k, k), the rare set the exit from the ball, the
/// horizon K, and the score of [`Score`].
///
/// **Distance score:** each step is [`Dynamics::step`] and ξ = |θ_k − θ0|/r.
///
/// **Tail score.** For the noises ml and bounded, a step from θ_k moves to
/// μ_k = θ_k − η_k∇F(θ_k) plus η_k·s(F(θ_k))·Z with Z of unit norm in law (each coordinate of
/// standard deviation 1/√d). Along the direction from θ0 to μ_k the step exits when its noise
/// exceeds the gap g_k = r − |μ_k − θ0|, so a normal tail puts the chance that the next step exits
/// near Φ̄(z_k) with z_k = g_k √d / (η_k s(F(θ_k))), and the chance of an exit in the K − k steps
/// left near (K − k)·Φ̄(z_k) while it is small. The score is its logarithm,
/// ξ = ln Φ̄(z_k) + ln(K − k) ([`crate::special::ln_normal_tail`]), −∞ at the horizon and where
/// the noise vanishes short of the sphere. Unlike the distance it knows where the noise is large
/// (under ml noise, near the minimum it is not, so converging paths rank low) and how much time
/// is left. It is a heuristic for the committor, the exact exit probability from (θ, k); the
/// estimator is unbiased for any score, and a better one only lowers the variance.
///
/// The state then also keeps F(θ_k) and ∇F(θ_k), which the score needs and the next step reuses
/// ([`Dynamics::step_from_gradient`]): one gradient per step, as for crude Monte Carlo.
///
/// Where the noise fades as the paths converge (ml noise), the tail score falls along a typical
/// path, and a score at θ0 would be every path's maximum: all would tie there and the replica
/// would die at its first level. So the start is given the score −∞ and a path's score is its
/// maximum over k ≥ 1. This is splitting of the same chain started from the law of θ_1 (each
/// path draws its own θ_1; an exit at step 1 has score +∞), which keeps the estimator unbiased.
pub struct SgdChain<'a> {
    dynamics: Dynamics<'a>,
    score: Score,
    substeps: u32,
    start: SgdState,
    start_score: f64,
}

impl<'a> SgdChain<'a> {
    /// # Panics
    /// If `score` does not apply to the dynamics' noise ([`Score::applies_to`]; the
    /// configuration refuses it, naming `--score`).
    pub fn new(dynamics: Dynamics<'a>, score: Score) -> Self {
        assert!(
            score.applies_to(dynamics.noise.kind()),
            "the {score} score needs ml or bounded noise"
        );
        let mut start = SgdState {
            theta: dynamics.theta0.to_vec(),
            k: 0,
            loss: 0.0,
            grad: Vec::new(),
            sub: 0,
            substeps: 1,
            next: Vec::new(),
            curvature: 0.0,
        };
        let start_score = match score {
            Score::Distance => 0.0,
            Score::Tail | Score::Gaussian => {
                let mut ws = Workspace::new(dynamics.landscape);
                start.grad = vec![0.0; start.theta.len()];
                start.loss = dynamics.landscape.loss_and_gradient(
                    &start.theta,
                    &mut start.grad,
                    ws.work_mut(),
                );
                // The start counts as below every level: a path's score is its maximum over
                // k ≥ 1 (see the type's doc).
                f64::NEG_INFINITY
            }
        };
        Self {
            dynamics,
            score,
            substeps: 1,
            start,
            start_score,
        }
        .with_substeps(if score == Score::Gaussian {
            GAUSSIAN_SUBSTEPS
        } else {
            1
        })
    }

    /// Splits each step's Gaussian noise into independent parts, each a state of the chain with
    /// its own score: `substeps` parts under the tail score; under the Gaussian score ⌈Δ²⌉ of
    /// them, at most `substeps` ([`GAUSSIAN_SUBSTEPS`] unless set here), Δ the change of the
    /// score over one standard deviation of the step's noise. The parts' noises sum to the
    /// step's noise, so the chain's steps keep their law. Applies with Gaussian noise; elsewhere
    /// (Rademacher noise, the distance score) it is ignored.
    ///
    /// # Panics
    /// If `substeps` is 0.
    pub fn with_substeps(mut self, substeps: u32) -> Self {
        assert!(substeps >= 1, "at least one substep");
        let splits = self.score != Score::Distance
            && self.dynamics.noise_dist == NoiseDist::Gaussian
            && self.dynamics.noise.is_random();
        self.substeps = if splits { substeps } else { 1 };
        if self.substeps > 1 || self.score == Score::Gaussian {
            let mut scratch = self.scratch();
            let (d, s) = (&self.dynamics, &mut self.start);
            prepare_step(d, self.score, s, &mut scratch);
            let xi = split_score(d, self.score, 1, s);
            s.substeps = substeps_for(d, self.score, self.substeps, s, xi, &mut scratch);
        }
        self
    }
}

/// θ_k and k; with the tail and Gaussian scores also F(θ_k) and ∇F(θ_k) (`grad` is empty
/// otherwise), and, when the step is split or the score is Gaussian, the substep `sub` of the
/// step from θ_k, the point `next` it has reached (the drift's point μ_k plus the noise of the
/// substeps taken) and the curvature of F along the exit direction at θ_k.
#[derive(Clone, Debug)]
pub struct SgdState {
    theta: Vec<f64>,
    k: u64,
    loss: f64,
    grad: Vec<f64>,
    sub: u32,
    substeps: u32,
    next: Vec<f64>,
    curvature: f64,
}

/// The tail score of `s` (see [`SgdChain`]).
fn tail_score(d: &Dynamics<'_>, s: &SgdState) -> f64 {
    if s.k >= d.steps {
        return f64::NEG_INFINITY;
    }
    let eta = d.schedule.eta(s.k);
    let (mut next2, mut size2, mut centre2) = (0.0, 0.0, 0.0);
    for ((&t, &t0), &g) in s.theta.iter().zip(d.theta0).zip(&s.grad) {
        let mu = t - eta * g;
        next2 += (mu - t0) * (mu - t0);
        size2 += mu * mu;
        centre2 += t0 * t0;
    }
    let gap = d.radius - next2.sqrt();
    let spread = eta * d.noise.scale(s.loss) / (s.theta.len() as f64).sqrt();
    // The gap is known to a few rounding errors of the coordinates; noise below that cannot be
    // told from rounding (a path frozen at a minimum on the sphere would otherwise get z ≈ 0,
    // the top score, from a gap that is all rounding).
    let resolution = 4.0 * f64::EPSILON * (size2.sqrt() + centre2.sqrt() + d.radius);
    let z = if spread > resolution {
        gap / spread
    } else if gap < -resolution {
        f64::NEG_INFINITY
    } else {
        f64::INFINITY
    };
    let xi = crate::special::ln_normal_tail(z) + ((d.steps - s.k) as f64).ln();
    // A non-finite F or ∇F inside the ball (overflow) ranks lowest rather than poisoning the
    // comparisons with NaN.
    if xi.is_nan() { f64::NEG_INFINITY } else { xi }
}

/// At a step's start (substep 0, F and ∇F of θ_k known): sets `next` to the drift's point
/// μ_k = θ_k − η_k∇F(θ_k) and, for the Gaussian score, `curvature` to u·H(θ_k)·u along the
/// unit vector u from θ0 towards μ_k (exact where the landscape has a Hessian-vector product,
/// else a forward difference of the gradient: one more gradient per step).
fn prepare_step(d: &Dynamics<'_>, score: Score, s: &mut SgdState, scratch: &mut SplitScratch) {
    if s.k >= d.steps {
        return;
    }
    let eta = d.schedule.eta(s.k);
    s.next.resize(s.theta.len(), 0.0);
    for ((n, &t), &g) in s.next.iter_mut().zip(&s.theta).zip(&s.grad) {
        *n = t - eta * g;
    }
    if score != Score::Gaussian {
        return;
    }
    let SplitScratch {
        ws,
        direction: u,
        hv,
        shifted,
    } = scratch;
    let mut y2 = 0.0;
    for ((u, &n), &t0) in u.iter_mut().zip(&s.next).zip(d.theta0) {
        *u = n - t0;
        y2 += *u * *u;
    }
    let y = y2.sqrt();
    if !(y > 0.0 && y.is_finite()) {
        s.curvature = 0.0;
        return;
    }
    u.iter_mut().for_each(|x| *x /= y);
    match d.landscape.hessian_vector() {
        Some(h) => h.hessian_vector_product(&s.theta, u, hv),
        None => {
            let norm: f64 = s.theta.iter().map(|t| t * t).sum::<f64>().sqrt();
            let eps = 1e-6 * (1.0 + norm);
            for ((x, &t), &u) in shifted.iter_mut().zip(&s.theta).zip(u.iter()) {
                *x = t + eps * u;
            }
            d.landscape.loss_and_gradient(shifted, hv, ws.work_mut());
            for (h, &g) in hv.iter_mut().zip(&s.grad) {
                *h = (*h - g) / eps;
            }
        }
    }
    let c: f64 = u.iter().zip(hv.iter()).map(|(u, h)| u * h).sum();
    s.curvature = if c.is_finite() { c } else { 0.0 };
}

/// The score of a state whose step is prepared ([`prepare_step`]) and has taken `s.sub` of
/// `substeps` substeps: the tail or Gaussian score of the point `next` with the noise still to
/// come in this step, a fraction (substeps − sub)/substeps of a step's variance.
fn split_score(d: &Dynamics<'_>, score: Score, substeps: u32, s: &SgdState) -> f64 {
    if s.k >= d.steps {
        return f64::NEG_INFINITY;
    }
    let eta = d.schedule.eta(s.k);
    let dim = s.theta.len();
    let (mut y2, mut size2, mut centre2) = (0.0, 0.0, 0.0);
    for (&n, &t0) in s.next.iter().zip(d.theta0) {
        y2 += (n - t0) * (n - t0);
        size2 += n * n;
        centre2 += t0 * t0;
    }
    let y = y2.sqrt();
    let frac = f64::from(substeps - s.sub) / f64::from(substeps);
    let sd = eta * d.noise.scale(s.loss) / (dim as f64).sqrt();
    let sd1 = sd * frac.sqrt();
    let resolution = 4.0 * f64::EPSILON * (size2.sqrt() + centre2.sqrt() + d.radius);
    let left = d.steps - s.k;
    let gap = d.radius - y;
    if sd1 <= resolution || score == Score::Tail || y == 0.0 {
        let z = if sd1 > resolution {
            gap / sd1
        } else if gap < -resolution {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        let xi = crate::special::ln_normal_tail(z) + (left as f64).ln();
        return if xi.is_nan() { f64::NEG_INFINITY } else { xi };
    }
    // The coordinate along u = (next − θ0)/y in the dynamics linearised at θ_k: the gradient
    // along u at a point c is G(c) = slope + curvature·(c − ⟨θ_k − θ0, u⟩) (slope and curvature
    // of F along u at θ_k). A step with step size η maps the mean m, the gradient there G(m)
    // and the variance v to m − ηG, ρG and ρ²v + (η·scale)²/d, ρ = 1 − η·curvature: L steps
    // at one η to m − ηG·T_L, ρ^L·G, ρ^{2L}v + (η·scale)²/d·S_L, with T_L = Σ_{i<L} ρ^i and
    // S_L = Σ_{i<L} ρ^{2i}. The noise scale is frozen at its value at θ_k.
    let (mut slope, mut y_theta) = (0.0, 0.0);
    for (((&n, &t0), &t), &g) in s.next.iter().zip(d.theta0).zip(&s.theta).zip(&s.grad) {
        let u = (n - t0) / y;
        slope += u * g;
        y_theta += u * (t - t0);
    }
    let h = s.curvature;
    if let crate::schedule::StepSchedule::Constant { .. } = d.schedule {
        return constant_step_sum(d, h, slope + h * (y - y_theta), y, sd, frac, left);
    }
    let scale2 = (d.noise.scale(s.loss) / (dim as f64).sqrt()).powi(2);
    // After n more steps (n = 0: the end of this step, a fraction `frac` of its noise to come).
    let (mut mean, mut grad, mut var) = (y, slope + h * (y - y_theta), sd1 * sd1);
    // L steps from step index `first` on, at η_first (exact for a constant step; for a
    // decaying one it overstates the noise of the later steps in the block a little).
    let advance = |first: u64, len: u64, mean: &mut f64, grad: &mut f64, var: &mut f64| {
        let eta = d.schedule.eta(first);
        let rho = 1.0 - eta * h;
        let l = len as f64;
        let p = rho.powf(l);
        *mean -= eta * *grad * geometric(rho, p, l);
        *grad *= p;
        *var = p * p * *var + eta * eta * scale2 * geometric(rho * rho, p * p, l);
    };
    let term = |mean: f64, var: f64| {
        let t = crate::special::ln_normal_tail((d.radius - mean.abs()) / var.sqrt());
        // Beyond the range of f64 (a direction that does not contract): an even chance.
        if t.is_nan() {
            -std::f64::consts::LN_2
        } else {
            t
        }
    };
    // ln Σ_{n=0}^{left−1} Φ̄: blocks [0, 1), [1, 2), [2, 4), [4, 8), …, each counted at the larger
    // of its two ends.
    let last = left - 1;
    let mut n = 0u64;
    let mut at_n = term(mean, var);
    let mut sum = f64::NEG_INFINITY;
    loop {
        if n == last {
            sum = log_add_exp(sum, at_n);
            break;
        }
        let end = if n == 0 { 1 } else { (2 * n).min(last) };
        advance(s.k + n + 1, end - n, &mut mean, &mut grad, &mut var);
        let at_end = term(mean, var);
        if end == last {
            sum = log_add_exp(sum, at_n.max(at_end) + ((end - n + 1) as f64).ln());
            break;
        }
        sum = log_add_exp(sum, at_n.max(at_end) + ((end - n) as f64).ln());
        (n, at_n) = (end, at_end);
    }
    if sum.is_nan() { f64::NEG_INFINITY } else { sum }
}

/// ln(eᵃ + eᵇ) without overflow; −∞ is the empty sum.
fn log_add_exp(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY {
        hi
    } else {
        hi + (lo - hi).exp().ln_1p()
    }
}

/// Σ_{i<n} qⁱ from `power` = qⁿ (n itself where q is 1 to within 10⁻⁹).
fn geometric(q: f64, power: f64, n: f64) -> f64 {
    if (1.0 - q).abs() < 1e-9 {
        n
    } else {
        (1.0 - power) / (1.0 - q)
    }
}

/// [`split_score`]'s sum under a constant step η, in closed form: after n more steps the mean
/// is y − η·drift·T_n and the variance sd²·(frac·ρ^{2n} + S_n), with T_n = Σ_{i<n} ρ^i,
/// S_n = Σ_{i<n} ρ^{2i}, ρ = 1 − η·curvature and drift the gradient along u at the next point.
fn constant_step_sum(
    d: &Dynamics<'_>,
    h: f64,
    drift: f64,
    y: f64,
    sd: f64,
    frac: f64,
    left: u64,
) -> f64 {
    let eta = d.schedule.eta(0);
    let rho = 1.0 - eta * h;
    let rho2 = rho * rho;
    // ln Φ̄ of the gap after n more steps, from P = ρⁿ.
    let term = |n: u64, p: f64| {
        let mean = y - eta * drift * geometric(rho, p, n as f64);
        let var = sd * sd * (frac * p * p + geometric(rho2, p * p, n as f64));
        let t = crate::special::ln_normal_tail((d.radius - mean.abs()) / var.sqrt());
        // Beyond the range of f64 (a direction that does not contract): an even chance.
        if t.is_nan() {
            -std::f64::consts::LN_2
        } else {
            t
        }
    };
    // ln Σ_{n=0}^{left−1} Φ̄: blocks [0, 1), [1, 2), [2, 4), [4, 8), …, each counted at the larger
    // of its two ends; once the transient has died out (ρ^{2n} < 10⁻⁶) the rest is one block.
    let last = left - 1;
    let (mut n, mut p) = (0u64, 1.0f64);
    let mut at_n = term(0, 1.0);
    let mut sum = f64::NEG_INFINITY;
    loop {
        if n == last {
            sum = log_add_exp(sum, at_n);
            break;
        }
        let settled = rho2 < 1.0 && p * p < 1e-6;
        let end = if n == 0 { 1 } else { 2 * n };
        if settled || end >= last {
            let at_last = term(last, rho.powf(last as f64));
            sum = log_add_exp(sum, at_n.max(at_last) + ((last - n + 1) as f64).ln());
            break;
        }
        let p_end = if n == 0 { rho } else { p * p };
        let at_end = term(end, p_end);
        sum = log_add_exp(sum, at_n.max(at_end) + ((end - n) as f64).ln());
        (n, p, at_n) = (end, p_end, at_end);
    }
    if sum.is_nan() { f64::NEG_INFINITY } else { sum }
}

/// The substeps of the step from a prepared state `s` of score `xi` (at substep 0): `cap` for
/// the tail score; for the Gaussian score as many, up to `cap`, as keep each substep's noise
/// from moving the score by more than about one unit: ⌈Δ²⌉, Δ the change of the score when the
/// next point moves one standard deviation of the step's noise outwards. Where the committor
/// is flat (a path fluctuating near the minimum, far from the sphere) a step stays whole; near
/// the sphere it is split finely. A function of the state at the step's start, so the step's
/// law is unchanged.
fn substeps_for(
    d: &Dynamics<'_>,
    score: Score,
    cap: u32,
    s: &mut SgdState,
    xi: f64,
    scratch: &mut SplitScratch,
) -> u32 {
    if score != Score::Gaussian || cap == 1 || !xi.is_finite() {
        return if score == Score::Gaussian { 1 } else { cap };
    }
    let eta = d.schedule.eta(s.k);
    let sd = eta * d.noise.scale(s.loss) / (s.theta.len() as f64).sqrt();
    let y: f64 = s
        .next
        .iter()
        .zip(d.theta0)
        .map(|(n, t0)| (n - t0) * (n - t0))
        .sum::<f64>()
        .sqrt();
    if !(y > 0.0 && sd > 0.0) {
        return cap;
    }
    let saved = &mut scratch.shifted;
    saved.copy_from_slice(&s.next);
    for (n, &t0) in s.next.iter_mut().zip(d.theta0) {
        *n += sd * (*n - t0) / y;
    }
    let moved = split_score(d, score, 1, s);
    s.next.copy_from_slice(saved);
    let jump = (moved - xi).abs();
    if jump.is_finite() {
        (jump * jump).ceil().clamp(1.0, f64::from(cap)) as u32
    } else {
        cap
    }
}

/// Scratch for one replica: the trajectory workspace and, for the Gaussian score, the exit
/// direction, H·u and a shifted point.
pub struct SplitScratch {
    ws: Workspace,
    direction: Vec<f64>,
    hv: Vec<f64>,
    shifted: Vec<f64>,
}

impl Chain for SgdChain<'_> {
    type State = SgdState;
    type Scratch = SplitScratch;

    fn start(&self) -> (SgdState, f64) {
        (self.start.clone(), self.start_score)
    }

    fn scratch(&self) -> SplitScratch {
        let n = if self.score == Score::Gaussian {
            self.dynamics.theta0.len()
        } else {
            0
        };
        SplitScratch {
            ws: Workspace::new(self.dynamics.landscape),
            direction: vec![0.0; n],
            hv: vec![0.0; n],
            shifted: vec![0.0; n],
        }
    }

    fn at_horizon(&self, state: &SgdState) -> bool {
        state.k >= self.dynamics.steps
    }

    fn step(
        &self,
        s: &mut SgdState,
        rng: &mut TrajectoryRng,
        scratch: &mut SplitScratch,
    ) -> Option<f64> {
        let d = &self.dynamics;
        let r2 = d.radius * d.radius;
        match self.score {
            Score::Distance => {
                let dist2 = d.step(s.k, &mut s.theta, &mut scratch.ws, rng);
                s.k += 1;
                (!left_ball(dist2, r2)).then(|| dist2.sqrt() / d.radius)
            }
            Score::Tail if self.substeps == 1 => {
                let dist2 = d.step_from_gradient(s.k, &mut s.theta, &mut s.grad, s.loss, rng);
                s.k += 1;
                if left_ball(dist2, r2) {
                    return None;
                }
                s.loss =
                    d.landscape
                        .loss_and_gradient(&s.theta, &mut s.grad, scratch.ws.work_mut());
                Some(tail_score(d, s))
            }
            Score::Tail | Score::Gaussian => {
                // One substep: a 1/m share of the step's noise variance (m = substeps).
                let m = s.substeps;
                let eta = d.schedule.eta(s.k);
                if d.noise.is_random() {
                    let share = eta * d.noise.scale(s.loss) / f64::from(m).sqrt();
                    d.noise_dist.add_scaled(&mut s.next, share, rng);
                }
                s.sub += 1;
                if s.sub < m {
                    return Some(split_score(d, self.score, m, s));
                }
                std::mem::swap(&mut s.theta, &mut s.next);
                s.sub = 0;
                s.k += 1;
                let dist2: f64 = s
                    .theta
                    .iter()
                    .zip(d.theta0)
                    .map(|(t, t0)| (t - t0) * (t - t0))
                    .sum();
                if left_ball(dist2, r2) {
                    return None;
                }
                s.loss =
                    d.landscape
                        .loss_and_gradient(&s.theta, &mut s.grad, scratch.ws.work_mut());
                prepare_step(d, self.score, s, scratch);
                let xi = split_score(d, self.score, 1, s);
                s.substeps = substeps_for(d, self.score, self.substeps, s, xi, scratch);
                Some(xi)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replicas m..n with estimates (1, 2, 3, 1, 2, 3, …)·10⁻⁹ (relative standard deviation 0.41).
    fn cyclic(range: Range<u64>) -> Result<SplittingTally, Cancelled> {
        let mut t = SplittingTally::new(10);
        for m in range {
            t.record(&Replica {
                estimate: (1 + m % 3) as f64 * 1e-9,
                iterations: 1,
                extinct: false,
            });
        }
        Ok(t)
    }

    #[test]
    fn the_relative_spread_is_one_replicas_standard_deviation_over_the_mean() {
        // Estimates (1, 2, 3)·10⁻⁹ repeated: mean 2, sample variance over 3k replicas
        // 2k/(3k − 1), so the spread is √(2k/(3k − 1))/2; at k = 10, √(20/29)/2.
        let tally = cyclic(0..30).expect("not cancelled");
        let want = (20.0_f64 / 29.0).sqrt() / 2.0;
        assert!((tally.relative_spread() - want).abs() < 1e-12 * want);
        assert!(SplittingTally::new(10).relative_spread().is_nan());
    }

    #[test]
    fn a_relative_target_adds_replicas_until_the_spent_interval_is_narrow_enough() {
        let target = RelativeTarget {
            error: 0.05,
            max_replicas: 100_000,
            confidence: 0.95,
        };
        let mut ranges = Vec::new();
        let (tally, exit, outcome) = target
            .run(40, |r| {
                ranges.push(r.clone());
                cyclic(r)
            })
            .unwrap();
        assert!(outcome.reached);
        assert!(exit.relative_halfwidth() <= 0.05);
        assert_eq!(outcome.looks as usize, ranges.len());
        assert_eq!(
            outcome.level,
            crate::estimate::sequential::look_level(0.95, outcome.looks)
        );
        // Contiguous batches from 0, each at least 1.5 and at most 4 times the replicas so far.
        assert_eq!(ranges[0], 0..40);
        for w in ranges.windows(2) {
            assert_eq!(w[0].end, w[1].start);
            let ratio = w[1].end as f64 / w[0].end as f64;
            assert!((1.5..=4.0).contains(&ratio), "{ranges:?}");
        }
        assert_eq!(tally.replicas, ranges.last().unwrap().end);
        // The look before the last did not meet the target at its own level.
        let before = cyclic(0..ranges[ranges.len() - 2].end).unwrap();
        let level = crate::estimate::sequential::look_level(0.95, outcome.looks - 1);
        assert!(before.estimate(level).relative_halfwidth() > 0.05);
    }

    #[test]
    fn a_relative_target_stops_at_the_cap_and_says_it_was_not_met() {
        let target = RelativeTarget {
            error: 0.001,
            max_replicas: 100,
            confidence: 0.95,
        };
        let (tally, exit, outcome) = target.run(40, cyclic).unwrap();
        assert!(!outcome.reached);
        assert_eq!(tally.replicas, 100);
        assert!(exit.relative_halfwidth() > 0.001);
    }

    /// A walk on the integers from 0, +1 with probability `up`, absorbed at −`down` or after
    /// `horizon` steps; the rare set is reaching +`target`. Its scores are integers, so every
    /// level is a tie of many paths.
    struct Ruin {
        up: f64,
        down: i64,
        target: i64,
        horizon: u64,
    }

    impl Chain for Ruin {
        type State = (i64, u64);
        type Scratch = ();
        fn start(&self) -> ((i64, u64), f64) {
            ((0, 0), 0.0)
        }
        fn scratch(&self) {}
        fn at_horizon(&self, &(x, k): &(i64, u64)) -> bool {
            x == -self.down || k >= self.horizon
        }
        fn step(&self, s: &mut (i64, u64), rng: &mut TrajectoryRng, _: &mut ()) -> Option<f64> {
            // Uniform on [0, 1) from the top 53 bits.
            let u = (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
            s.0 += if u < self.up { 1 } else { -1 };
            s.1 += 1;
            (s.0 < self.target).then_some(s.0 as f64)
        }
    }

    /// The mean of `m` replicas and its standard error.
    fn mean_of(
        chain: &impl Chain,
        particles: u64,
        m: u64,
        seed: u64,
    ) -> (f64, f64, SplittingTally) {
        let t = simulate(chain, particles, seed, 0..m, Control::default()).unwrap();
        let (mean, se) = t.mean_and_standard_error();
        (mean, se, t)
    }

    /// Gambler's ruin, P(reach +n before −m) = (1 − ρ^m)/(1 − ρ^{m+n}), ρ = q/p
    /// (scripts/reference/rare_exit_reference.py prints the exact rationals). With ties at every
    /// level, the (1 − K_q/N) rule is unbiased: over 2000 replicas of N = 20 the mean lies within
    /// 4 standard errors of the exact value (fixed seed; a 4-σ two-sided miss has probability
    /// 6e-5). The biased per-path rule gives 0.174 against the exact 0.116 on a similar walk.
    #[test]
    fn ties_are_killed_together_and_the_estimate_is_unbiased() {
        for (up, down, target, exact) in [
            // p = 1/2, m = 1, n = 5: 1/6.
            (0.5, 1, 5, 1.0 / 6.0),
            // p = 0.4, m = 2, n = 10: ρ = 1.5.
            (0.4, 2, 10, (1.0 - 1.5f64.powi(2)) / (1.0 - 1.5f64.powi(12))),
        ] {
            let chain = Ruin {
                up,
                down,
                target,
                horizon: u64::MAX,
            };
            let (mean, se, t) = mean_of(&chain, 20, 2000, 11);
            assert!(
                (mean - exact).abs() < 4.0 * se,
                "p = {up}: {mean} ± {se} against {exact}"
            );
            assert!(t.iterations > 0);
        }
    }

    /// The same walk as a chain whose paths can all tie at the first level (every path steps
    /// down to −1 and stops): extinction gives 0, and it is counted.
    #[test]
    fn extinction_gives_zero_and_is_counted() {
        let chain = Ruin {
            up: 1e-9,
            down: 1,
            target: 3,
            horizon: u64::MAX,
        };
        let t = simulate(&chain, 4, 0, 0..10, Control::default()).unwrap();
        assert_eq!(t.extinctions, 10);
        assert_eq!(t.sum.value(), 0.0);
        assert_eq!(t.estimate(0.95).p, 0.0);
    }

    #[test]
    fn replicas_do_not_depend_on_the_thread_count_or_the_split() {
        let chain = Ruin {
            up: 0.45,
            down: 3,
            target: 12,
            horizon: 400,
        };
        let run = |threads: usize, ranges: &[Range<u64>]| {
            let pool = crate::engine::pool(threads).unwrap();
            pool.install(|| {
                let mut all = SplittingTally::new(16);
                for r in ranges {
                    all.merge(&simulate(&chain, 16, 5, r.clone(), Control::default()).unwrap());
                }
                all
            })
        };
        let all = 0..30;
        let one = run(1, std::slice::from_ref(&all));
        assert_eq!(one, run(2, std::slice::from_ref(&all)));
        assert_eq!(one, run(3, &[0..7, 7..8, 8..30]));
    }

    #[test]
    fn streams_differ_in_every_coordinate() {
        let first = |s, m, q, i| splitting_stream(s, m, q, i).next_u64();
        let base = first(1, 2, 3, 4);
        for other in [
            first(0, 2, 3, 4),
            first(1, 0, 3, 4),
            first(1, 2, 0, 4),
            first(1, 2, 3, 0),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(base, first(1, 2, 3, 4));
    }
}

#[cfg(test)]
mod exact_references {
    use super::*;
    use crate::landscape::Quadratic;
    use crate::noise::{NoiseDist, NoiseModel};
    use crate::schedule::StepSchedule;

    /// Runs replicas `0..replicas` of `particles` paths from `seed` and asserts that their mean
    /// lies within 4 of its standard errors of `exact` and that no replica went extinct.
    fn assert_agrees(
        chain: &impl Chain,
        particles: u64,
        seed: u64,
        replicas: u64,
        exact: f64,
        what: &str,
    ) {
        let t = simulate(chain, particles, seed, 0..replicas, Control::default()).unwrap();
        let (mean, se) = t.mean_and_standard_error();
        assert!(
            (mean - exact).abs() < 4.0 * se,
            "{what}{mean:e} ± {se:e} against {exact:e}"
        );
        assert_eq!(t.extinctions, 0, "{what}");
    }

    /// Splitting on F = t²/2 in 1-D from t0 = 0.3 with bounded Gaussian noise (a Gaussian AR(1)),
    /// against the exact exit probabilities of scripts/reference/rare_exit_values.txt (Nyström
    /// quadrature of the first-passage masses, relative error ~1e-14). Each estimate is the mean
    /// of 200 independent replicas of 100 paths; it must lie within 4 of its own standard errors
    /// of the exact value (fixed seed; if the estimator is unbiased a miss has probability about
    /// 6e-5 per case, from the near-normality of a 200-replica mean).
    #[test]
    fn splitting_agrees_with_the_exact_exit_probability_of_the_gaussian_ar1() {
        let q = Quadratic::new(vec![1.0]).unwrap();
        for (schedule, sigma, steps, exact) in [
            // bg-const-1e-4
            (
                StepSchedule::Constant { eta: 0.1 },
                0.029,
                1000,
                1.0949335383070511e-04,
            ),
            // bg-rm-1e-4
            (
                StepSchedule::RobbinsMonro {
                    gamma: 0.1,
                    n0: 1.0,
                    q: 0.75,
                },
                0.75,
                100,
                9.660736805044454e-5,
            ),
        ] {
            let dynamics = Dynamics {
                landscape: &q,
                theta0: &[0.3],
                noise: NoiseModel::Bounded { sigma },
                noise_dist: NoiseDist::Gaussian,
                schedule,
                radius: 0.5,
                steps,
                eps: 1e-6,
            };
            for score in [Score::Distance, Score::Tail] {
                let chain = SgdChain::new(dynamics, score);
                assert_agrees(
                    &chain,
                    100,
                    3,
                    200,
                    exact,
                    &format!("{schedule:?}, {score}: "),
                );
            }
        }
    }

    /// Machine-learning noise with Rademacher Z on F = t²/2 from t0 = 0.3, r = 0.3, η = 0.05,
    /// σ = 5.8, K = 200: the iterates live on a lattice and the exact exit probability is
    /// 1.0279216209651112e-06 (case ml-1e-6 of rare_exit_values.txt, a dynamic programme over it).
    /// The tail score's 100 replicas must lie within 4 standard errors of it (as above, a miss
    /// has probability about 6e-5 if the estimator is unbiased), with no extinction. The distance
    /// score ranks the paths that converge towards the minimum t = 0 (at distance r) highest,
    /// where the noise vanishes: most of its replicas die without an exit.
    #[test]
    fn the_tail_score_resolves_an_exact_ml_noise_exit_where_the_distance_score_dies() {
        let q = Quadratic::new(vec![1.0]).unwrap();
        let dynamics = Dynamics {
            landscape: &q,
            theta0: &[0.3],
            noise: NoiseModel::Ml { sigma: 5.8 },
            noise_dist: NoiseDist::Rademacher,
            schedule: StepSchedule::Constant { eta: 0.05 },
            radius: 0.3,
            steps: 200,
            eps: 1e-6,
        };
        let exact = 1.0279216209651112e-06;
        let tail = SgdChain::new(dynamics, Score::Tail);
        assert_agrees(&tail, 100, 5, 100, exact, "");
        let distance = SgdChain::new(dynamics, Score::Distance);
        let t = simulate(&distance, 100, 5, 0..40, Control::default()).unwrap();
        assert!(t.extinctions > 20, "{} of 40 extinct", t.extinctions);
    }

    fn ar1(noise: NoiseModel, schedule: StepSchedule, steps: u64, q: &Quadratic) -> Dynamics<'_> {
        Dynamics {
            landscape: q,
            theta0: &[0.3],
            noise,
            noise_dist: NoiseDist::Gaussian,
            schedule,
            radius: 0.5,
            steps,
            eps: 1e-6,
        }
    }

    /// The Gaussian score on F = t²/2 in 1-D (η = 0.1, bounded noise σ = 0.0214, t0 = 0.3,
    /// r = 0.5), where the linearised dynamics is the exact AR(1) t_{n+1} = ρ t_n + N(0, s²),
    /// ρ = 0.9, s = η√σ. From the next point μ with a fraction f of a step's noise still to
    /// come, t after n more steps is N(ρⁿμ, s²(fρ^{2n} + Σ_{i<n} ρ^{2i})); summing the exit
    /// chance Φ̄((r − |mean − t0|)/sd) of every step left by that recursion must give the score
    /// to within a factor 2 (its blocks are counted at their larger end), and exactly the one
    /// term with one step left. A step is split where that sum is steep in the next point and
    /// not where it is flat.
    #[test]
    fn the_gaussian_score_sums_the_exit_chances_of_the_exact_ar1() {
        let q = Quadratic::new(vec![1.0]).unwrap();
        let d = ar1(
            NoiseModel::Bounded { sigma: 0.0214 },
            StepSchedule::Constant { eta: 0.1 },
            1000,
            &q,
        );
        let chain = SgdChain::new(d, Score::Gaussian);
        let m = GAUSSIAN_SUBSTEPS;
        let s_step = 0.1 * 0.0214_f64.sqrt();
        let (mut flat, mut steep) = (0, 0);
        for (t, k, sub, noise_so_far) in [
            (0.0, 500, 0, 0.0),
            (-0.1, 100, 0, 0.0),
            (-0.15, 990, 3, -0.004),
            (0.3, 1, 5, 0.01),
            (-0.12, 999, 0, 0.0),
            (-0.12, 999, 6, 0.002),
            (-0.17, 500, 0, 0.0),
        ] {
            let mut state = SgdState {
                theta: vec![t],
                k,
                loss: t * t / 2.0,
                grad: vec![t],
                sub: 0,
                substeps: 1,
                next: Vec::new(),
                curvature: 0.0,
            };
            prepare_step(&d, Score::Gaussian, &mut state, &mut chain.scratch());
            assert!((state.curvature - 1.0).abs() < 1e-12);
            state.sub = sub;
            state.next[0] += noise_so_far;
            let score = split_score(&d, Score::Gaussian, m, &state);
            let f = f64::from(m - sub) / f64::from(m);
            let brute = |next: f64, f: f64| {
                let (mut mean, mut var) = (next, s_step * s_step * f);
                let mut sum = 0.0;
                for _ in k..1000 {
                    let z = (0.5 - (mean - 0.3).abs()) / var.sqrt();
                    sum += crate::special::ln_normal_tail(z).exp();
                    mean *= 0.9;
                    var = 0.81 * var + s_step * s_step;
                }
                sum.ln()
            };
            let want = brute(state.next[0], f);
            let tol = if k == 999 {
                1e-12
            } else {
                std::f64::consts::LN_2
            };
            assert!(
                score >= want - 1e-12 && score <= want + tol,
                "t = {t}, k = {k}, sub = {sub}: score {score} against ln Σ = {want}"
            );
            if sub == 0 {
                // Substeps: one where one standard deviation of the step's noise outwards moves
                // the exact sum by less than half a unit, several where by more than two.
                let outwards = (state.next[0] - 0.3).signum() * s_step;
                let delta = (brute(state.next[0] + outwards, 1.0) - want).abs();
                let substeps = substeps_for(
                    &d,
                    Score::Gaussian,
                    m,
                    &mut state,
                    score,
                    &mut chain.scratch(),
                );
                if delta < 0.5 {
                    assert_eq!(substeps, 1, "t = {t}, k = {k}: Δ = {delta}");
                    flat += 1;
                } else if delta > 2.0 {
                    assert!(substeps >= 2, "t = {t}, k = {k}: Δ = {delta}, {substeps}");
                    steep += 1;
                }
            }
        }
        assert!(flat >= 1 && steep >= 2, "{flat} flat, {steep} steep states");
    }

    /// The Gaussian score (with its substeps) is unbiased like any other: on the Robbins–Monro
    /// case bg-rm-1e-4 of rare_exit_values.txt (η_k = 0.1/(k+1)^0.75, σ = 0.75, K = 100, exact
    /// 9.660736805044454e-5), the mean of 60 replicas of 100 paths lies within 4 of its standard
    /// errors of the exact value (fixed seed; a miss has probability about 6e-5 if unbiased).
    #[test]
    fn the_gaussian_score_agrees_with_the_exact_exit_probability() {
        let q = Quadratic::new(vec![1.0]).unwrap();
        let d = ar1(
            NoiseModel::Bounded { sigma: 0.75 },
            StepSchedule::RobbinsMonro {
                gamma: 0.1,
                n0: 1.0,
                q: 0.75,
            },
            100,
            &q,
        );
        let exact = 9.660736805044454e-5;
        let chain = SgdChain::new(d, Score::Gaussian);
        assert_agrees(&chain, 100, 11, 60, exact, "");
    }
}
