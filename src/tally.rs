//! What a set of trajectories reduces to: integer counts and exact sums, so merging tallies of any
//! split of the trajectories (threads, blocks, shards) gives identical results.

use crate::estimate::exact_sum::ExactSum;
use crate::runner::Outcome;

/// The steps k at which curves are recorded: every step up to 100, then 20 log-spaced steps per
/// decade, then K. Built by index (k_j = round(100·10^(j/20))), never by accumulating a float step.
pub fn curve_grid(steps: u64) -> Vec<u64> {
    let mut grid: Vec<u64> = (0..=steps.min(100)).collect();
    for j in 1.. {
        let k = (100.0 * 10f64.powf(j as f64 / 20.0)).round() as u64;
        if k >= steps {
            break;
        }
        if k > *grid.last().unwrap() {
            grid.push(k);
        }
    }
    if *grid.last().unwrap() != steps {
        grid.push(steps);
    }
    grid
}

/// Sums over the trajectories still in the ball at one grid step k.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CurveSums {
    /// Σ F(θ_k)·1{stayed through k}.
    pub loss: ExactSum,
    /// Σ F(θ_k)²·1{stayed through k}, for standard errors.
    pub loss_sq: ExactSum,
}

/// Counts and sums over a set of trajectories.
#[derive(Clone, Debug, PartialEq)]
pub struct Tally {
    pub grid: Vec<u64>,
    pub trajectories: u64,
    /// Stayed in the ball through step K.
    pub stayed: u64,
    /// Stayed and F(θ_K) ≤ ε.
    pub converged: u64,
    /// `exits[j]`: trajectories whose exit step k lies in `(grid[j−1], grid[j]]`; `exits[0]` is
    /// always 0 since the earliest exit is at step 1.
    pub exits: Vec<u64>,
    /// Σ of exit steps over exited trajectories.
    pub exit_step_sum: u128,
    /// Per grid step, sums over the trajectories that stayed through it.
    pub curve: Vec<CurveSums>,
    /// Whether `curve` holds F at every grid step; if not (a minibatch run under
    /// [`GridLosses::Free`](crate::runner::GridLosses)), only at the last one, k = K.
    pub curve_complete: bool,
}

impl Tally {
    pub fn new(grid: Vec<u64>) -> Self {
        let n = grid.len();
        Self {
            grid,
            trajectories: 0,
            stayed: 0,
            converged: 0,
            exits: vec![0; n],
            exit_step_sum: 0,
            curve: vec![CurveSums::default(); n],
            curve_complete: true,
        }
    }

    /// Records F(θ_k) at grid index `j` for a trajectory still in the ball.
    #[inline]
    pub fn record_loss(&mut self, j: usize, loss: f64) {
        let c = &mut self.curve[j];
        c.loss.add(loss);
        c.loss_sq.add(loss * loss);
    }

    /// Records how a trajectory ended.
    pub fn record_outcome(&mut self, outcome: Outcome) {
        self.trajectories += 1;
        match outcome {
            Outcome::Exited { step } => {
                let j = self.grid.partition_point(|&k| k < step);
                self.exits[j] += 1;
                self.exit_step_sum += step as u128;
            }
            Outcome::Converged => {
                self.stayed += 1;
                self.converged += 1;
            }
            Outcome::NotConverged => self.stayed += 1,
        }
    }

    /// Adds another tally over disjoint trajectories (exact: integers and exact sums).
    pub fn merge(&mut self, other: &Tally) {
        assert_eq!(self.grid, other.grid, "tallies of different runs");
        self.trajectories += other.trajectories;
        self.stayed += other.stayed;
        self.converged += other.converged;
        self.exit_step_sum += other.exit_step_sum;
        for (a, b) in self.exits.iter_mut().zip(&other.exits) {
            *a += b;
        }
        for (a, b) in self.curve.iter_mut().zip(&other.curve) {
            a.loss.merge(&b.loss);
            a.loss_sq.merge(&b.loss_sq);
        }
        self.curve_complete &= other.curve_complete;
    }

    pub fn exited(&self) -> u64 {
        self.trajectories - self.stayed
    }

    /// Trajectories still in the ball after grid step `grid[j]`.
    pub fn stayed_through(&self, j: usize) -> u64 {
        self.trajectories - self.exits[..=j].iter().sum::<u64>()
    }

    /// Mean exit step of the trajectories that left, if any did.
    pub fn mean_exit_step(&self) -> Option<f64> {
        let exited = self.exited();
        (exited > 0).then(|| self.exit_step_sum as f64 / exited as f64)
    }

    /// E[F(θ_k)·1{stayed through k}] at grid index `j`, estimated over all trajectories, with its
    /// standard error; None where F was not recorded (see [`Tally::curve_complete`]).
    pub fn mean_loss(&self, j: usize) -> Option<(f64, f64)> {
        if !self.curve_complete && j + 1 != self.curve.len() {
            return None;
        }
        Some(mean_and_se(&self.curve[j], self.trajectories))
    }
}

/// The mean over `n` trajectories of F(θ_k)·1{stayed through k} and its standard error, from the
/// exact sums (the one formula of a tally and of merged curves files).
pub fn mean_and_se(sums: &CurveSums, n: u64) -> (f64, f64) {
    let n = n as f64;
    let mean = sums.loss.value() / n;
    let second = sums.loss_sq.value() / n;
    // E[F²] − E[F]² carries a rounding error of a few ulp of E[F²]; a difference below that is
    // indistinguishable from zero (e.g. at k = 0, where every trajectory has F(θ0)).
    let raw = second - mean * mean;
    let var = if raw <= 8.0 * f64::EPSILON * second {
        0.0
    } else {
        raw * n / (n - 1.0).max(1.0)
    };
    (mean, (var / n).sqrt())
}

impl crate::runner::LaneSink for Tally {
    fn loss(&mut self, j: usize, f: f64) {
        self.record_loss(j, f);
    }

    fn outcome(&mut self, outcome: Outcome) {
        self.record_outcome(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_every_step_to_100_then_log_spaced_then_k() {
        let g = curve_grid(1000);
        assert_eq!(&g[..101], &(0..=100).collect::<Vec<_>>()[..]);
        assert_eq!(
            &g[101..],
            &[
                112, 126, 141, 158, 178, 200, 224, 251, 282, 316, 355, 398, 447, 501, 562, 631,
                708, 794, 891, 1000
            ]
        );
        assert_eq!(curve_grid(5), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(curve_grid(0), vec![0]);
        assert!(curve_grid(10_000_000).windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn exits_land_in_their_grid_bins_and_survival_follows() {
        let mut t = Tally::new(vec![0, 1, 2, 10, 20]);
        for step in [1, 2, 3, 10, 11] {
            t.record_outcome(Outcome::Exited { step });
        }
        t.record_outcome(Outcome::Converged);
        t.record_outcome(Outcome::NotConverged);
        assert_eq!(t.exits, vec![0, 1, 1, 2, 1]);
        assert_eq!(
            (0..5).map(|j| t.stayed_through(j)).collect::<Vec<_>>(),
            vec![7, 6, 5, 3, 2]
        );
        assert_eq!((t.stayed, t.converged, t.exited()), (2, 1, 5));
        assert_eq!(t.mean_exit_step(), Some(27.0 / 5.0));
    }
}
