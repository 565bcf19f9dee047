//! Estimation to a target precision: check the intervals after every block of trajectories and
//! stop once both half-widths are ≤ h, without losing coverage.
//!
//! Method (`ci_method` `betting-cs`): a betting confidence sequence (Waudby-Smith & Ramdas,
//! "Estimating means of bounded random variables by betting", JRSS-B 86(1), 2024). For a
//! candidate mean m, two gamblers bet on the outcomes X_i ∈ {0, 1}, one that the mean is above m,
//! one that it is below:
//!
//! K⁺_n(m) = Π (1 + λ⁺(m)(X_i − m)),  K⁻_n(m) = Π (1 − λ⁻(m)(X_i − m)),
//!
//! with the bets λ⁺(m) = min(κh/(m(1 − m)), c/m) and λ⁻(m) = min(κh/(m(1 − m)), c/(1 − m)),
//! κ = 1.25, c = 1/2, h the target half-width. Untruncated, 1 + λ(X − m) is exactly the
//! likelihood ratio of Bernoulli(m ± κh) to Bernoulli(m): each gambler bets on the alternative
//! that the target must be able to tell from m. The bets do not depend on the data, so they are
//! predictable, and under mean m the hedged capital (K⁺ + K⁻)/2 is a non-negative martingale
//! starting at 1; by Ville's inequality it ever reaches 1/α with probability ≤ α. So
//!
//! C_n = {m : K⁺_n(m) < 2/α and K⁻_n(m) < 2/α}
//!
//! covers the true mean at every n at once with probability ≥ 1 − α. So does the running
//! intersection C_1 ∩ … ∩ C_n, which is what is reported, and its value at any stopping time
//! covers the mean with probability ≥ 1 − α: checking after every block costs no coverage.
//! K⁺ decreases and K⁻ increases in m (their logarithms' derivatives have one sign), so C_n is
//! an interval, a function of the count x and n alone. Each proportion is covered at 1 − α on
//! its own.
//!
//! Measured against α-spending Wilson intervals checked at geometrically spaced looks, on one
//! proportion at 95 %: about 0.6 times the trajectories, with coverage still ≥ 95 %; without
//! the intersection about 0.75 times (`scripts/bench/precision_targets.py`, docs/sweeps.md).
//!
//! The checks fall at block boundaries of the trajectory index ([`CHECK_EVERY`]), never at a
//! time, so a run gives the same result for any thread count.

use std::ops::Range;

use crate::error::ConfigError;
use crate::estimate::Interval;

/// The intervals are checked after every this many trajectories (the engine's block).
pub const CHECK_EVERY: u64 = crate::engine::BLOCK;
/// The first batch simulated, in trajectories (or the cap, if smaller).
pub const FIRST_BATCH: u64 = 1024;
/// Each later batch brings the sample to this multiple of its size (at least one more block):
/// the stopping check falls inside a batch, whose remainder is simulated and discarded, so at
/// most an eighth of the work is spent past the stop.
const BATCH_GROWTH: f64 = 1.125;
/// The bets aim at the alternatives m ± κh.
pub const KAPPA: f64 = 1.25;
/// The bets are truncated at c/m and c/(1 − m), keeping every factor ≥ 1 − c.
pub const TRUNCATION: f64 = 0.5;

/// The `ci_method` of a run to a target half-width.
pub const METHOD: &str = "betting-cs";

/// The level of the interval at look `look` (1-based) under overall confidence `confidence`,
/// when the confidence is spent over the looks as α_j = α·6/(π²·j²) (splitting's relative
/// target uses this; Σ_j α_j = α).
pub fn look_level(confidence: f64, look: u32) -> f64 {
    let j = f64::from(look);
    1.0 - (1.0 - confidence) * 6.0 / (std::f64::consts::PI * std::f64::consts::PI * j * j)
}

/// A sequential estimation plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    pub halfwidth: f64,
    /// Never run more than this many trajectories (`--max-trajectories`).
    pub cap: u64,
    pub confidence: f64,
}

/// Where a sequential run stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Stopped {
    /// Interval checks made (one per block of [`CHECK_EVERY`]; the last one is reported).
    pub looks: u32,
    /// Trajectories used: the first `n` of the range.
    pub n: u64,
    /// One interval per proportion: the confidence sequence's intervals intersected over the
    /// checks up to n.
    pub intervals: Vec<Interval>,
    /// Whether every half-width reached the target (false: the cap stopped the run).
    pub reached: bool,
}

impl Target {
    pub fn new(halfwidth: f64, cap: u64, confidence: f64) -> Result<Self, ConfigError> {
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
        })
    }

    /// The confidence sequence's interval for `x` successes in `n` trials (n ≥ 1).
    pub fn interval(&self, x: u64, n: u64) -> Interval {
        assert!(n >= 1 && x <= n, "interval of {x} in {n}");
        let threshold = (2.0 / (1.0 - self.confidence)).ln();
        let (x, n) = (x as f64, n as f64);
        let mean = x / n;
        let alt = KAPPA * self.halfwidth;
        // ln K⁺ decreases in m from +∞ (x > 0) to ≤ 0 at the mean, where no bet wins on
        // average; ln K⁻ increases from ≤ 0 at the mean. Bisection keeps the excluded end, so the
        // interval errs on the wide side by at most an ulp.
        let log_up = |m: f64| {
            let bet = (alt / (m * (1.0 - m))).min(TRUNCATION / m);
            x * (bet * (1.0 - m)).ln_1p() + (n - x) * (-bet * m).ln_1p()
        };
        let log_down = |m: f64| {
            let bet = (alt / (m * (1.0 - m))).min(TRUNCATION / (1.0 - m));
            x * (-bet * (1.0 - m)).ln_1p() + (n - x) * (bet * m).ln_1p()
        };
        let lo = if x == 0.0 {
            0.0
        } else {
            boundary(0.0, mean, |m| log_up(m) >= threshold)
        };
        let hi = if x == n {
            1.0
        } else {
            boundary(1.0, mean, |m| log_down(m) >= threshold)
        };
        Interval { lo, hi }
    }

    fn intervals(&self, counts: &[u64], n: u64) -> Vec<Interval> {
        counts.iter().map(|&x| self.interval(x, n)).collect()
    }

    fn reached(&self, intervals: &[Interval]) -> bool {
        intervals.iter().all(|i| i.halfwidth() <= self.halfwidth)
    }

    /// The sample size after the batch that follows `n` trajectories: ⌈1.125·n⌉ rounded up to a
    /// whole block (at least one block more), capped.
    pub fn next_batch_end(&self, n: u64) -> u64 {
        let grown = ((n as f64 * BATCH_GROWTH).ceil() as u64).max(n + 1);
        grown
            .div_ceil(CHECK_EVERY)
            .saturating_mul(CHECK_EVERY)
            .min(self.cap)
    }

    /// Runs batches until the target or the cap. `extend(from..to)` must simulate trajectories
    /// `from..to` and return their counts block by block, in order: one `Vec` (one count per
    /// proportion) per [`CHECK_EVERY`] trajectories, the last block possibly shorter at `to`.
    /// The run stops at the first block boundary where every intersected interval's half-width
    /// is ≤ h; the caller keeps the first [`Stopped::n`] trajectories and drops the rest of the
    /// last batch.
    pub fn run<E>(
        &self,
        mut extend: impl FnMut(Range<u64>) -> Result<Vec<Vec<u64>>, E>,
    ) -> Result<Stopped, E> {
        let mut n = 0;
        let mut counts: Vec<u64> = Vec::new();
        let mut running: Vec<Interval> = Vec::new();
        let mut looks = 0;
        loop {
            let end = if n == 0 {
                FIRST_BATCH.min(self.cap)
            } else {
                self.next_batch_end(n)
            };
            let blocks = extend(n..end)?;
            for block in blocks {
                if counts.is_empty() {
                    counts = vec![0; block.len()];
                }
                for (c, b) in counts.iter_mut().zip(&block) {
                    *c += b;
                }
                n = (n + CHECK_EVERY).min(end);
                looks += 1;
                let now = self.intervals(&counts, n);
                if running.is_empty() {
                    running = now;
                } else {
                    for (r, i) in running.iter_mut().zip(now) {
                        *r = Interval {
                            lo: r.lo.max(i.lo),
                            hi: r.hi.min(i.hi),
                        };
                    }
                }
                let intervals = running.clone();
                let reached = self.reached(&intervals);
                if reached || n >= self.cap {
                    return Ok(Stopped {
                        looks,
                        n,
                        intervals,
                        reached,
                    });
                }
            }
            assert_eq!(n, end, "extend({end}) returned too few blocks");
        }
    }
}

/// The point between `excluded` and `included` (m = `included` satisfies `!excluded_at`) where
/// `excluded_at` switches, by 64 halvings, returned from the excluded side.
fn boundary(excluded: f64, included: f64, excluded_at: impl Fn(f64) -> bool) -> f64 {
    let (mut out, mut inside) = (excluded, included);
    for _ in 0..64 {
        let mid = 0.5 * (out + inside);
        if mid == out || mid == inside {
            break;
        }
        if excluded_at(mid) {
            out = mid;
        } else {
            inside = mid;
        }
    }
    out
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

    /// The capital of a gambler, bet by bet over an explicit 0/1 sequence (the definition, not
    /// the closed form in (x, n) the interval uses).
    fn log_capital(t: &Target, outcomes: &[u8], m: f64, up: bool) -> f64 {
        let alt = KAPPA * t.halfwidth;
        let cap = if up {
            TRUNCATION / m
        } else {
            TRUNCATION / (1.0 - m)
        };
        let bet = (alt / (m * (1.0 - m))).min(cap);
        let sign = if up { 1.0 } else { -1.0 };
        outcomes
            .iter()
            .map(|&x| (1.0 + sign * bet * (f64::from(x) - m)).ln())
            .sum()
    }

    #[test]
    fn the_interval_ends_where_a_gamblers_capital_reaches_two_over_alpha() {
        let t = Target::new(0.01, 1_000_000, 0.95).unwrap();
        let threshold = (2.0f64 / 0.05).ln();
        // 37 successes in 500, in some order (the capital does not depend on it).
        let outcomes: Vec<u8> = (0..500).map(|i| u8::from(i % 27 == 3 || i < 19)).collect();
        let x = outcomes.iter().map(|&o| u64::from(o)).sum::<u64>();
        let i = t.interval(x, 500);
        assert!(i.lo < x as f64 / 500.0 && x as f64 / 500.0 < i.hi);
        // A step of 1e-9 moves ln K by ~1e-5 here, far above the rounding of either sum.
        let step = 1e-9;
        assert!(log_capital(&t, &outcomes, i.lo - step, true) >= threshold);
        assert!(log_capital(&t, &outcomes, i.lo + step, true) < threshold);
        assert!(log_capital(&t, &outcomes, i.hi + step, false) >= threshold);
        assert!(log_capital(&t, &outcomes, i.hi - step, false) < threshold);
        // Inside, neither gambler has won.
        for k in 1..100 {
            let m = i.lo + (i.hi - i.lo) * f64::from(k) / 100.0;
            assert!(log_capital(&t, &outcomes, m, true) < threshold);
            assert!(log_capital(&t, &outcomes, m, false) < threshold);
        }
    }

    /// Endpoints from scripts/reference/betting_cs_reference.py: the same definition solved by
    /// 200 halvings in 30-digit arithmetic (mpmath), printed to 17 digits.
    #[test]
    #[allow(clippy::excessive_precision)]
    fn the_interval_matches_a_high_precision_reference() {
        for (x, n, h, lo, hi) in [
            (4800, 9600, 0.01, 0.48606784982924274, 0.51393215017075726),
            (37, 500, 0.01, 0.041383136230889238, 0.1550348300937253),
            (9990, 10000, 0.002, 0.99787718888662583, 0.99984971538196363),
            (
                3,
                20000,
                0.001,
                8.7514253244547839e-8,
                0.00057666911500628808,
            ),
        ] {
            let i = Target::new(h, 1_000_000, 0.95).unwrap().interval(x, n);
            for (got, want) in [(i.lo, lo), (i.hi, hi)] {
                assert!(
                    ((got - want) / want).abs() < 1e-10,
                    "{x} of {n}, h = {h}: {got} against {want}"
                );
            }
        }
    }

    #[test]
    fn all_or_no_successes_reach_the_end_of_the_unit_interval() {
        let t = Target::new(0.01, 1_000_000, 0.95).unwrap();
        let none = t.interval(0, 2000);
        assert_eq!(none.lo, 0.0);
        assert!(none.hi > 0.0 && none.hi < 0.01);
        let all = t.interval(2000, 2000);
        assert_eq!(all.hi, 1.0);
        assert!(
            (1.0 - all.lo - none.hi).abs() < 1e-12,
            "symmetric: {all:?} {none:?}"
        );
    }

    /// Bernoulli(p) samples drawn block by block (binomial counts, no SGD): at overall
    /// confidence 0.9 the interval at the stopping check must miss p in at most 10% of R = 1000
    /// replicates, up to sampling error: a valid method has misses ~ Bin(R, ≤ 0.1), so the
    /// one-sided 99.9% limit is 100 + 3.09·√(1000·0.1·0.9) ≈ 129. Fixed seed.
    #[test]
    fn stopping_at_the_target_keeps_the_stated_coverage() {
        let replicates = 1000;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(20230418);
        for p in [0.3, 0.03] {
            let t = Target::new(0.02, 1_000_000, 0.9).unwrap();
            let mut misses = 0;
            for _ in 0..replicates {
                let mut simulated = 0;
                let stopped = t
                    .run(|range| -> Result<Vec<Vec<u64>>, ()> {
                        assert_eq!(range.start, simulated);
                        simulated = range.end;
                        Ok(range
                            .step_by(CHECK_EVERY as usize)
                            .map(|_| vec![Binomial::new(CHECK_EVERY, p).unwrap().sample(&mut rng)])
                            .collect())
                    })
                    .unwrap();
                assert!(stopped.reached);
                assert!(stopped.n <= simulated && stopped.n.is_multiple_of(CHECK_EVERY));
                assert_eq!(u64::from(stopped.looks), stopped.n / CHECK_EVERY);
                let i = stopped.intervals[0];
                assert!((i.hi - i.lo) / 2.0 <= 0.02);
                if !(i.lo <= p && p <= i.hi) {
                    misses += 1;
                }
            }
            assert!(misses <= 129, "p = {p}: {misses} misses in {replicates}");
        }
    }

    /// The stop is the first block at which both intersected intervals are narrow enough,
    /// whatever the batches, and the intersections are what is reported.
    #[test]
    fn the_run_stops_at_the_first_narrow_enough_block() {
        let t = Target::new(0.01, 10_000_000, 0.95).unwrap();
        let counts = |block: u64| vec![32 + block % 3, 60 + block % 2];
        let stopped = t
            .run(|range| -> Result<Vec<Vec<u64>>, ()> {
                Ok((range.start / CHECK_EVERY..range.end.div_ceil(CHECK_EVERY))
                    .map(counts)
                    .collect())
            })
            .unwrap();
        let (mut x, mut first) = (vec![0, 0], None);
        let mut bounds = vec![(0.0f64, 1.0f64); 2];
        for block in 0.. {
            for (c, b) in x.iter_mut().zip(counts(block)) {
                *c += b;
            }
            let n = (block + 1) * CHECK_EVERY;
            for (b, &c) in bounds.iter_mut().zip(&x) {
                let i = t.interval(c, n);
                *b = (b.0.max(i.lo), b.1.min(i.hi));
            }
            if bounds.iter().all(|b| (b.1 - b.0) / 2.0 <= 0.01) {
                first = Some(n);
                break;
            }
        }
        assert_eq!(Some(stopped.n), first);
        let reported: Vec<(f64, f64)> = stopped.intervals.iter().map(|i| (i.lo, i.hi)).collect();
        assert_eq!(reported, bounds);
        assert!(stopped.reached);
    }

    #[test]
    fn the_cap_stops_a_run_that_cannot_reach_the_target() {
        let t = Target::new(0.001, 5000, 0.95).unwrap();
        let mut batches = Vec::new();
        let s = t
            .run(|range| -> Result<Vec<Vec<u64>>, ()> {
                batches.push(range.clone());
                Ok(range
                    .clone()
                    .step_by(CHECK_EVERY as usize)
                    .map(|start| {
                        let n = (range.end - start).min(CHECK_EVERY);
                        vec![n / 2, n / 3]
                    })
                    .collect())
            })
            .unwrap();
        assert!(!s.reached);
        assert_eq!(s.n, 5000);
        assert_eq!(batches[0], 0..FIRST_BATCH);
        assert_eq!(batches.last().unwrap().end, 5000);
        assert!(batches.windows(2).all(|w| w[0].end == w[1].start));
        assert_eq!(u64::from(s.looks), 5000u64.div_ceil(CHECK_EVERY));
    }

    #[test]
    fn bad_targets_name_the_flag() {
        let e = Target::new(0.0, 10, 0.95).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--target-halfwidth must be in (0, 0.5], e.g. 0.01 (got 0)"
        );
        assert!(Target::new(0.6, 10, 0.95).is_err());
        assert!(Target::new(f64::NAN, 10, 0.95).is_err());
    }
}
