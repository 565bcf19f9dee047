//! One SGD trajectory, from θ0 until it leaves the ball or reaches the horizon K.
//!
//! The runner owns termination: [`crate::stepper`] only moves θ, and this module decides, after
//! every step, whether the trajectory has exited; at the horizon it decides convergence. Every
//! trajectory ends in exactly one [`Outcome`].

use crate::landscape::Landscape;
use crate::noise::{NoiseDist, NoiseModel, draw_batch};
use crate::rng::TrajectoryRng;
use crate::schedule::StepSchedule;
use crate::stepper::sgd_step;

/// How a trajectory ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// θ_step was outside the closed ball B(θ0, r), or not finite (step ∈ 1..=K).
    Exited { step: u64 },
    /// θ_1 … θ_K all in the ball and F(θ_K) ≤ ε.
    Converged,
    /// θ_1 … θ_K all in the ball, F(θ_K) > ε (or not finite).
    NotConverged,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Exited { step } => write!(f, "exited at step {step}"),
            Outcome::Converged => f.write_str("stayed and converged"),
            Outcome::NotConverged => f.write_str("stayed, not converged"),
        }
    }
}

/// Everything that defines the dynamics of a trajectory, shared by all trajectories of a run.
#[derive(Clone, Copy)]
pub struct Dynamics<'a> {
    pub landscape: &'a dyn Landscape,
    pub theta0: &'a [f64],
    pub noise: NoiseModel,
    pub noise_dist: NoiseDist,
    pub schedule: StepSchedule,
    pub radius: f64,
    pub steps: u64,
    pub eps: f64,
}

/// Scratch memory for one trajectory at a time, reused across trajectories so that the step loop
/// never allocates.
#[derive(Clone, Debug)]
pub struct Workspace {
    theta: Vec<f64>,
    grad: Vec<f64>,
    work: Vec<f64>,
    /// Minibatch row indices, and the index permutation sampling without replacement shuffles.
    /// Sized on first use (by [`Dynamics::run`]), not per step.
    batch: Vec<usize>,
    rows: Vec<usize>,
}

impl Workspace {
    pub fn new(landscape: &dyn Landscape) -> Self {
        Self {
            theta: vec![0.0; landscape.dim()],
            grad: vec![0.0; landscape.dim()],
            work: vec![0.0; landscape.workspace_len()],
            batch: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// θ at the end of the last trajectory run in this workspace.
    pub fn theta(&self) -> &[f64] {
        &self.theta
    }
}

impl Dynamics<'_> {
    /// Runs one trajectory. `on_grid(j, F(θ_k), θ_k)` is called for each k = `grid[j]` the
    /// trajectory is still in the ball at (k = 0 included; k = K only if it stayed throughout).
    /// After an exit, [`Workspace::theta`] holds the first iterate outside the ball.
    ///
    /// With minibatch noise the step needs only the batch gradient, so the full F is computed
    /// only at grid steps and at the end.
    ///
    /// # Panics
    /// With minibatch noise on a landscape without per-sample gradients (the configuration
    /// rejects that, naming `--noise`).
    pub fn run(
        &self,
        rng: &mut TrajectoryRng,
        ws: &mut Workspace,
        grid: &[u64],
        mut on_grid: impl FnMut(usize, f64, &[f64]),
    ) -> Outcome {
        let minibatch = match self.noise {
            NoiseModel::Minibatch { batch, mode, .. } => {
                let ps = self
                    .landscape
                    .per_sample()
                    .expect("minibatch noise needs a landscape with per-sample gradients");
                ws.batch.resize(batch, 0);
                ws.rows.resize(ps.samples(), 0);
                Some((ps, mode))
            }
            _ => None,
        };
        let Workspace {
            theta,
            grad,
            work,
            batch,
            rows,
        } = ws;
        theta.copy_from_slice(self.theta0);
        let r2 = self.radius * self.radius;
        let mut next = 0;
        for k in 0..self.steps {
            if let Some((ps, mode)) = minibatch {
                if grid[next] == k {
                    on_grid(next, self.landscape.loss(theta, work), theta);
                    next += 1;
                }
                draw_batch(rng, rows.len(), mode, batch, rows);
                ps.batch_loss_and_gradient(theta, batch, grad, work);
            } else {
                let loss = self.landscape.loss_and_gradient(theta, grad, work);
                if grid[next] == k {
                    on_grid(next, loss, theta);
                    next += 1;
                }
                if self.noise.is_random() {
                    self.noise_dist
                        .add_scaled(grad, self.noise.scale(loss), rng);
                }
            }
            let dist2 = sgd_step(theta, self.theta0, grad, self.schedule.eta(k));
            // A non-finite iterate makes dist2 NaN or +inf: both count as leaving the ball, even
            // for a radius so large that r² overflows.
            if dist2.is_nan() || dist2 > r2 || dist2.is_infinite() {
                return Outcome::Exited { step: k + 1 };
            }
        }
        let loss = self.landscape.loss(theta, work);
        on_grid(next, loss, theta);
        if loss <= self.eps {
            Outcome::Converged
        } else {
            Outcome::NotConverged
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landscape::Quadratic;
    use crate::rng::trajectory_rng;

    fn one_d(noise: NoiseModel, radius: f64, steps: u64) -> (Quadratic, f64, NoiseModel, u64) {
        (Quadratic::new(vec![1.0]).unwrap(), radius, noise, steps)
    }

    /// Known answer, end to end: trajectory 0 of seed 7 on F = θ²/2 with ML Rademacher noise,
    /// replayed in Python with the same floating-point operations
    /// (scripts/reference/rng_reference.py): θ_6 = 0.0003006637680879852, bit for bit.
    #[test]
    fn trajectory_zero_reproduces_the_reference_path() {
        let (q, radius, noise, steps) = one_d(NoiseModel::Ml { sigma: 10.0 }, 1.0, 6);
        let dynamics = Dynamics {
            landscape: &q,
            theta0: &[0.1],
            noise,
            noise_dist: NoiseDist::Rademacher,
            schedule: StepSchedule::Constant { eta: 0.3 },
            radius,
            steps,
            eps: 1e-6,
        };
        let mut ws = Workspace::new(&q);
        let grid: Vec<u64> = (0..=6).collect();
        let mut losses = Vec::new();
        let outcome = dynamics.run(&mut trajectory_rng(7, 0), &mut ws, &grid, |j, f, _| {
            losses.push((j, f))
        });
        assert_eq!(ws.theta(), &[0.0003006637680879852]);
        // F(θ_6) ≈ 4.5e-8 ≤ ε = 1e-6.
        assert_eq!(outcome, Outcome::Converged);
        assert_eq!(losses.len(), 7);
        assert_eq!(losses[6].1, 0.5 * 0.0003006637680879852f64.powi(2));
    }

    #[test]
    fn leaving_the_ball_ends_the_trajectory_at_that_step() {
        // Gradient descent on θ²/2 with η = 3 maps θ to −2θ: |θ_1 − θ0| = 3θ0 > r.
        let q = Quadratic::new(vec![1.0]).unwrap();
        let dynamics = Dynamics {
            landscape: &q,
            theta0: &[0.1],
            noise: NoiseModel::None,
            noise_dist: NoiseDist::Gaussian,
            schedule: StepSchedule::Constant { eta: 3.0 },
            radius: 0.25,
            steps: 10,
            eps: 1e-6,
        };
        let mut ws = Workspace::new(&q);
        let grid: Vec<u64> = (0..=10).collect();
        let mut seen = 0;
        let outcome = dynamics.run(&mut trajectory_rng(0, 0), &mut ws, &grid, |_, _, _| {
            seen += 1
        });
        assert_eq!(outcome, Outcome::Exited { step: 1 });
        assert_eq!(outcome.to_string(), "exited at step 1");
        assert_eq!(seen, 1, "only F(θ0) is recorded before the exit");
    }

    #[test]
    fn a_non_finite_iterate_counts_as_an_exit() {
        let q = Quadratic::new(vec![1.0]).unwrap();
        let dynamics = Dynamics {
            landscape: &q,
            theta0: &[1e300],
            noise: NoiseModel::None,
            noise_dist: NoiseDist::Gaussian,
            schedule: StepSchedule::Constant { eta: -1e300 },
            radius: f64::MAX,
            steps: 3,
            eps: 1e-6,
        };
        let mut ws = Workspace::new(&q);
        let outcome = dynamics.run(
            &mut trajectory_rng(0, 0),
            &mut ws,
            &[0, 1, 2, 3],
            |_, _, _| {},
        );
        assert_eq!(outcome, Outcome::Exited { step: 1 });
    }
}
