//! Estimation to a target precision: look at the intervals after every batch and stop once both
//! half-widths are ≤ h, without losing coverage.
//!
//! Method (`<ci>-spent`, e.g. `wilson-spent`): α-spending over looks. Look j (j = 1, 2, …) uses the
//! ordinary interval at level 1 − α_j with α_j = α·6/(π²·j²), where 1 − α is `--confidence`.
//! Since Σ_j α_j = α, the union bound gives P(p lies in every look's interval) ≥ 1 − α, so the
//! interval at the (random) stopping look covers p with probability ≥ 1 − α, whatever the
//! stopping rule. Each proportion is covered at 1 − α on its own (no correction across the two).
//!
//! Batch boundaries are a function of the counts alone ([`Target::next_n`]), never of timing, so a
//! run gives the same result for any thread count.

use crate::error::ConfigError;
use crate::estimate::{CiMethod, Interval, binomial_interval};
use crate::special::normal_quantile;

/// The first look is at this many trajectories (or the cap, if smaller).
pub const FIRST_LOOK: u64 = 1024;
/// Later looks are rounded up to whole blocks of the engine.
const ALIGN: u64 = 64;

/// Appended to the interval method's name in `ci_method`.
pub const SPENT_SUFFIX: &str = "-spent";

/// The level of the interval at look `look` (1-based) under overall confidence `confidence`.
pub fn look_level(confidence: f64, look: u32) -> f64 {
    let j = f64::from(look);
    1.0 - (1.0 - confidence) * 6.0 / (std::f64::consts::PI * std::f64::consts::PI * j * j)
}

/// A sequential estimation plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    pub halfwidth: f64,
    /// Never run more than this many trajectories (`--trajectories`).
    pub cap: u64,
    pub confidence: f64,
    pub method: CiMethod,
}

/// Where a sequential run stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Stopped {
    /// Number of looks taken (the last one is the reported one).
    pub looks: u32,
    /// Trajectories used.
    pub n: u64,
    /// One interval per proportion, at level [`look_level`]`(confidence, looks)`.
    pub intervals: Vec<Interval>,
    /// Whether every half-width reached the target (false: the cap stopped the run).
    pub reached: bool,
}

impl Target {
    pub fn new(
        halfwidth: f64,
        cap: u64,
        confidence: f64,
        method: CiMethod,
    ) -> Result<Self, ConfigError> {
        if !(halfwidth > 0.0 && halfwidth <= 0.5) {
            return Err(ConfigError::new(
                "--target-halfwidth",
                format!("must be in (0, 0.5], e.g. 0.01 (got {halfwidth})"),
            ));
        }
        if !(confidence > 0.0 && confidence < 1.0) {
            return Err(ConfigError::new(
                "--confidence",
                format!("must be strictly between 0 and 1 (got {confidence})"),
            ));
        }
        if cap == 0 {
            return Err(ConfigError::new("--trajectories", "must be ≥ 1 (got 0)"));
        }
        Ok(Self {
            halfwidth,
            cap,
            confidence,
            method,
        })
    }

    /// The name written in `ci_method`.
    pub fn method_name(&self) -> String {
        format!("{}{SPENT_SUFFIX}", self.method.name())
    }

    /// The intervals of `counts` out of `n` at look `look`.
    pub fn intervals(&self, look: u32, n: u64, counts: &[u64]) -> Vec<Interval> {
        let level = look_level(self.confidence, look);
        counts
            .iter()
            .map(|&x| {
                binomial_interval(x, n, level, self.method)
                    .expect("look levels lie in (confidence, 1), checked in Target::new")
            })
            .collect()
    }

    fn reached(&self, intervals: &[Interval]) -> bool {
        intervals.iter().all(|i| i.halfwidth() <= self.halfwidth)
    }

    /// The sample size of look `look + 1`, after look `look` at `n` with `counts`: the normal
    /// approximation's n = z²·p̃(1 − p̃)/h² (p̃ = (x + 1)/(n + 2), z of the next look's level), kept
    /// within [1.25·n, 4·n], rounded up to a block and capped.
    pub fn next_n(&self, look: u32, n: u64, counts: &[u64]) -> u64 {
        let level = look_level(self.confidence, look + 1);
        let z = normal_quantile(0.5 + level / 2.0);
        let needed = counts
            .iter()
            .map(|&x| {
                let p = (x as f64 + 1.0) / (n as f64 + 2.0);
                z * z * p * (1.0 - p) / (self.halfwidth * self.halfwidth)
            })
            .fold(0.0, f64::max);
        // n ≥ 1, so ⌈1.25·n⌉ > n and ⌈1.25·n⌉ ≤ 4·n: every look adds trajectories.
        let next = needed.clamp((n as f64 * 1.25).ceil(), n as f64 * 4.0) as u64;
        next.div_ceil(ALIGN).saturating_mul(ALIGN).min(self.cap)
    }

    /// Runs looks until the target or the cap: `extend(n)` must bring the sample to its first `n`
    /// trajectories and return the counts (one per proportion).
    pub fn run<E>(&self, mut extend: impl FnMut(u64) -> Result<Vec<u64>, E>) -> Result<Stopped, E> {
        let mut n = FIRST_LOOK.min(self.cap);
        let mut look = 1;
        loop {
            let counts = extend(n)?;
            let intervals = self.intervals(look, n, &counts);
            let reached = self.reached(&intervals);
            if reached || n >= self.cap {
                return Ok(Stopped {
                    looks: look,
                    n,
                    intervals,
                    reached,
                });
            }
            n = self.next_n(look, n, &counts);
            look += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Binomial, Distribution};
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn spent_levels_sum_to_the_overall_error() {
        assert!(
            (look_level(0.95, 1) - (1.0 - 0.05 * 6.0 / std::f64::consts::PI.powi(2))).abs() < 1e-15
        );
        let spent: f64 = (1..200_000).map(|j| 1.0 - look_level(0.9, j)).sum();
        // The tail beyond J is < 0.1·6/(π²·(J − 1)).
        assert!(
            spent < 0.1 && spent > 0.1 - 0.1 * 6.0 / (std::f64::consts::PI.powi(2) * 199_998.0)
        );
    }

    /// Bernoulli(p) samples drawn batch by batch (binomial increments, no SGD): at overall
    /// confidence 0.9 the interval at the stopping look must miss p in at most 10% of R = 1000
    /// replicates, up to sampling error: a valid method has misses ~ Bin(R, ≤ 0.1), so the
    /// one-sided 99.9% limit is 100 + 3.09·√(1000·0.1·0.9) ≈ 129. Fixed seed.
    #[test]
    fn stopping_at_the_target_keeps_the_stated_coverage() {
        let replicates = 1000;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(20230418);
        for p in [0.3, 0.03] {
            let t = Target::new(0.02, 1_000_000, 0.9, CiMethod::Wilson).unwrap();
            let mut misses = 0;
            for _ in 0..replicates {
                let (mut n, mut x) = (0u64, 0u64);
                let stopped = t
                    .run(|to| -> Result<Vec<u64>, ()> {
                        x += Binomial::new(to - n, p).unwrap().sample(&mut rng);
                        n = to;
                        Ok(vec![x])
                    })
                    .unwrap();
                assert!(stopped.reached);
                assert_eq!(stopped.n, n);
                let i = stopped.intervals[0];
                assert!((i.hi - i.lo) / 2.0 <= 0.02);
                if !(i.lo <= p && p <= i.hi) {
                    misses += 1;
                }
            }
            assert!(misses <= 129, "p = {p}: {misses} misses in {replicates}");
        }
    }

    #[test]
    fn the_cap_stops_a_run_that_cannot_reach_the_target() {
        let t = Target::new(0.001, 5000, 0.95, CiMethod::Wilson).unwrap();
        let mut sizes = Vec::new();
        let s = t
            .run(|n| -> Result<Vec<u64>, ()> {
                sizes.push(n);
                Ok(vec![n / 2, n / 3])
            })
            .unwrap();
        assert!(!s.reached);
        assert_eq!(s.n, 5000);
        assert_eq!(*sizes.last().unwrap(), 5000);
        assert!(sizes.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sizes[0], FIRST_LOOK);
        assert_eq!(s.looks as usize, sizes.len());
    }

    #[test]
    fn bad_targets_name_the_flag() {
        let e = Target::new(0.0, 10, 0.95, CiMethod::Wilson).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--target-halfwidth must be in (0, 0.5], e.g. 0.01 (got 0)"
        );
        assert!(Target::new(0.6, 10, 0.95, CiMethod::Wilson).is_err());
        assert!(Target::new(f64::NAN, 10, 0.95, CiMethod::Wilson).is_err());
    }
}
