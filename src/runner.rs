//! One SGD trajectory, from θ0 until it leaves the ball or reaches the horizon K.
//!
//! The runner owns termination: [`crate::stepper`] only moves θ, and this module decides, after
//! every step, whether the trajectory has exited; at the horizon it decides convergence. Every
//! trajectory ends in exactly one [`Outcome`].

use crate::landscape::{Landscape, LaneGradient, PerSampleGradient};
use crate::lanes::{LANES, Lane, LaneRngs, Level, noisy_step};
use crate::noise::{BatchMode, NoiseDist, NoiseModel, draw_batch, index_below};
use crate::rng::{TrajectoryRng, trajectory_state};
use crate::schedule::StepSchedule;
use crate::stepper::{sgd_step, sgd_step_lanes};

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

/// Whether an iterate at squared distance `dist2` from θ0 has left the closed ball of squared
/// radius `r2`. A non-finite iterate makes `dist2` NaN or +∞: both count as leaving, even for a
/// radius so large that r² overflows.
#[inline(always)]
pub fn left_ball(dist2: f64, r2: f64) -> bool {
    dist2.is_nan() || dist2 > r2 || dist2.is_infinite()
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

    /// The landscape's scratch memory, for a caller that evaluates F or ∇F between steps.
    pub fn work_mut(&mut self) -> &mut [f64] {
        &mut self.work
    }

    /// θ at the end of the last trajectory run in this workspace.
    pub fn theta(&self) -> &[f64] {
        &self.theta
    }
}

/// At which grid steps the runner reports F(θ_k).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GridLosses {
    /// At every grid step.
    All,
    /// Where the step computes F anyway: at every grid step, except with minibatch noise, whose
    /// steps compute only the batch loss; there only at k = K (about a third of a minibatch run's
    /// work on a 48-row data set is the full losses at the ~120 grid steps of K = 1000).
    #[default]
    Free,
}

/// Where [`Dynamics::run_lanes`] reports (a [`crate::tally::Tally`]).
pub trait LaneSink {
    /// F(θ_k) at grid index j of a trajectory still in the ball.
    fn loss(&mut self, j: usize, f: f64);
    /// How a trajectory ended.
    fn outcome(&mut self, outcome: Outcome);
}

/// Scratch memory for one lane group ([`Dynamics::run_lanes`]), reused like [`Workspace`].
#[derive(Clone, Debug)]
pub struct LaneWorkspace {
    theta: Vec<Lane>,
    grad: Vec<Lane>,
    work: Vec<Lane>,
    batch: Vec<[usize; LANES]>,
}

impl LaneWorkspace {
    pub fn new(dynamics: &Dynamics<'_>) -> Self {
        let d = dynamics.landscape.dim();
        let batch = match dynamics.noise {
            NoiseModel::Minibatch { batch, .. } => batch,
            _ => 0,
        };
        let work = dynamics
            .landscape
            .lanes()
            .map_or(0, |lg| lg.lane_workspace_len(batch));
        Self {
            theta: vec![Lane::ZERO; d],
            grad: vec![Lane::ZERO; d],
            work: vec![Lane::ZERO; work],
            batch: vec![[0; LANES]; batch],
        }
    }
}

/// Minibatch noise runs on lanes only up to this many parameters. Eight lanes draw eight
/// different batches, so every row is gathered lane by lane; on a 64 → 128 → 128 → 10 network
/// (d = 26 122, B = 32) the one-trajectory path took 1.60–1.62 s against 2.25–2.26 s on lanes
/// (two alternating pairs, 256 trajectories × 50 steps, 2 threads), while on 4 → 32 → 32 → 1
/// (d = 1 249, B = 4) lanes are several times faster (docs/performance.md). The limit lies
/// between the two measured sizes: where 8 lanes of θ and ∇F (128·d bytes) fill 1 MiB. Both
/// paths give the same bits, so the choice moves no result.
pub const LANE_MINIBATCH_MAX_DIM: usize = 8192;

impl Dynamics<'_> {
    /// The lane kernel, if these dynamics can run lane-batched: the landscape has one, Z is
    /// Gaussian (or absent), and minibatches are drawn with replacement from a landscape with
    /// per-sample lane gradients. Otherwise the engine runs one trajectory at a time.
    pub fn lane_kernel(&self) -> Option<&dyn LaneGradient> {
        let lg = self.landscape.lanes()?;
        let ok = match self.noise {
            NoiseModel::Minibatch { mode, .. } => {
                mode == BatchMode::WithReplacement
                    && lg.lanes_per_sample()
                    && self.landscape.dim() <= LANE_MINIBATCH_MAX_DIM
            }
            NoiseModel::Ml { .. } | NoiseModel::Bounded { .. } => {
                self.noise_dist == NoiseDist::Gaussian
            }
            NoiseModel::None => true,
        };
        ok.then_some(lg)
    }

    /// Runs trajectories `first … first + count − 1` (count ≤ [`LANES`]) of master seed `seed` in
    /// lockstep, one per lane, with the lane kernel ([`Dynamics::lane_kernel`], which must exist)
    /// at instruction-set level `simd` (runs pass [`crate::lanes::level`]; the results do not
    /// depend on it). Per
    /// trajectory the calls and their values are those of [`Dynamics::run`]: `sink.loss(j, F(θ_k))`
    /// for each grid step k = `grid[j]` (as `losses` asks) while it is in the ball, then
    /// `sink.outcome` once. A lane that has exited idles (its values are ignored) until every lane
    /// has finished.
    #[allow(clippy::too_many_arguments)]
    pub fn run_lanes(
        &self,
        simd: Level,
        seed: u64,
        first: u64,
        count: usize,
        ws: &mut LaneWorkspace,
        grid: &[u64],
        losses: GridLosses,
        sink: &mut impl LaneSink,
    ) {
        assert!((1..=LANES).contains(&count));
        let lg = self
            .lane_kernel()
            .expect("run_lanes needs dynamics with a lane kernel");
        // Unused lanes repeat the first trajectory and are never reported.
        let mut rngs = LaneRngs::new(std::array::from_fn(|l| {
            trajectory_state(seed, first + if l < count { l as u64 } else { 0 })
        }));
        let mut alive: [bool; LANES] = std::array::from_fn(|l| l < count);
        let LaneWorkspace {
            theta,
            grad,
            work,
            batch,
        } = ws;
        for (t, &t0) in theta.iter_mut().zip(self.theta0) {
            *t = Lane::splat(t0);
        }
        let n_rows = self.landscape.per_sample().map_or(0, |ps| ps.samples());
        let r2 = self.radius * self.radius;
        let sqrt_d = (theta.len() as f64).sqrt();
        let mut next = 0;
        for k in 0..self.steps {
            let eta = Lane::splat(self.schedule.eta(k));
            let dist2 = if let NoiseModel::Minibatch { .. } = self.noise {
                if grid[next] == k {
                    if losses == GridLosses::All {
                        let loss = lg.lanes_loss(simd, theta, work);
                        for l in (0..LANES).filter(|&l| alive[l]) {
                            sink.loss(next, loss.0[l]);
                        }
                    }
                    next += 1;
                }
                for b in batch.iter_mut() {
                    let words = rngs.next_u64();
                    for l in 0..LANES {
                        b[l] = index_below(words[l], n_rows);
                    }
                }
                lg.lanes_batch_loss_and_gradient(simd, theta, batch, grad, work);
                sgd_step_lanes(simd, theta, self.theta0, grad, &eta)
            } else {
                let loss = lg.lanes_loss_and_gradient(simd, theta, grad, work);
                if grid[next] == k {
                    for l in (0..LANES).filter(|&l| alive[l]) {
                        sink.loss(next, loss.0[l]);
                    }
                    next += 1;
                }
                if self.noise.is_random() {
                    // As in `NoiseDist::add_scaled`: s = scale / √d; the noise and the update in
                    // one pass (the same bits as adding the noise to grad, then stepping).
                    let s = Lane(loss.0.map(|f| self.noise.scale(f) / sqrt_d));
                    noisy_step(simd, &mut rngs, theta, self.theta0, grad, &s, &eta)
                } else {
                    sgd_step_lanes(simd, theta, self.theta0, grad, &eta)
                }
            };
            for (l, &d2) in dist2.0.iter().enumerate() {
                if alive[l] && left_ball(d2, r2) {
                    alive[l] = false;
                    sink.outcome(Outcome::Exited { step: k + 1 });
                }
            }
            if !alive.contains(&true) {
                return;
            }
        }
        let loss = lg.lanes_loss(simd, theta, work);
        for l in (0..LANES).filter(|&l| alive[l]) {
            let f = loss.0[l];
            sink.loss(next, f);
            sink.outcome(if f <= self.eps {
                Outcome::Converged
            } else {
                Outcome::NotConverged
            });
        }
    }

    /// The minibatch sampler of these dynamics (with `ws` sized for it), or `None` for noise
    /// that is not a minibatch.
    fn minibatch(&self, ws: &mut Workspace) -> Option<(&dyn PerSampleGradient, BatchMode)> {
        match self.noise {
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
        }
    }

    /// One step θ_k → θ_{k+1} of these dynamics, drawing its noise from `rng`; returns
    /// |θ_{k+1} − θ0|². `on_loss(F(θ_k), θ_k)` is called before the update when the step computes
    /// F(θ_k) (every noise but minibatch, whose step computes only its batch's loss). The one
    /// definition of a step, shared by [`Dynamics::run`] and [`Dynamics::step`].
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn step_parts(
        &self,
        k: u64,
        theta: &mut [f64],
        grad: &mut [f64],
        work: &mut [f64],
        batch: &mut [usize],
        rows: &mut [usize],
        minibatch: Option<(&dyn PerSampleGradient, BatchMode)>,
        rng: &mut TrajectoryRng,
        on_loss: impl FnOnce(f64, &[f64]),
    ) -> f64 {
        if let Some((ps, mode)) = minibatch {
            draw_batch(rng, rows.len(), mode, batch, rows);
            ps.batch_loss_and_gradient(theta, batch, grad, work);
        } else {
            let loss = self.landscape.loss_and_gradient(theta, grad, work);
            on_loss(loss, theta);
            return self.step_from_gradient(k, theta, grad, loss, rng);
        }
        sgd_step(theta, self.theta0, grad, self.schedule.eta(k))
    }

    /// The rest of a step of noise other than minibatch, from `grad` = ∇F(θ_k) and `loss` =
    /// F(θ_k) already computed: adds the noise to `grad` (overwriting it) and moves θ_k
    /// (`theta`) to θ_{k+1}; returns |θ_{k+1} − θ0|². [`Dynamics::step`] is the gradient
    /// followed by this; a caller that keeps ∇F of its current iterate (splitting, whose score
    /// needs it) saves the second evaluation.
    #[inline(always)]
    pub fn step_from_gradient(
        &self,
        k: u64,
        theta: &mut [f64],
        grad: &mut [f64],
        loss: f64,
        rng: &mut TrajectoryRng,
    ) -> f64 {
        if self.noise.is_random() {
            self.noise_dist
                .add_scaled(grad, self.noise.scale(loss), rng);
        }
        sgd_step(theta, self.theta0, grad, self.schedule.eta(k))
    }

    /// One step from θ_k (`theta`, updated in place to θ_{k+1}) with the noise drawn from `rng`,
    /// exactly as [`Dynamics::run`] takes it; returns |θ_{k+1} − θ0|².
    pub fn step(
        &self,
        k: u64,
        theta: &mut [f64],
        ws: &mut Workspace,
        rng: &mut TrajectoryRng,
    ) -> f64 {
        let minibatch = self.minibatch(ws);
        let Workspace {
            grad,
            work,
            batch,
            rows,
            ..
        } = ws;
        self.step_parts(k, theta, grad, work, batch, rows, minibatch, rng, |_, _| {})
    }

    /// Runs one trajectory. `on_grid(j, F(θ_k), θ_k)` is called for each k = `grid[j]` the
    /// trajectory is still in the ball at (k = 0 included; k = K only if it stayed throughout),
    /// as `losses` asks. After an exit, [`Workspace::theta`] holds the first iterate outside the
    /// ball.
    ///
    /// With minibatch noise the step needs only the batch gradient, so the full F is computed
    /// only at grid steps (with [`GridLosses::All`]) and at the end.
    ///
    /// # Panics
    /// With minibatch noise on a landscape without per-sample gradients (the configuration
    /// rejects that, naming `--noise`).
    pub fn run(
        &self,
        rng: &mut TrajectoryRng,
        ws: &mut Workspace,
        grid: &[u64],
        losses: GridLosses,
        mut on_grid: impl FnMut(usize, f64, &[f64]),
    ) -> Outcome {
        let minibatch = self.minibatch(ws);
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
            if minibatch.is_some() && grid[next] == k {
                if losses == GridLosses::All {
                    on_grid(next, self.landscape.loss(theta, work), theta);
                }
                next += 1;
            }
            let dist2 = self.step_parts(
                k,
                theta,
                grad,
                work,
                batch,
                rows,
                minibatch,
                rng,
                |loss, theta| {
                    if grid[next] == k {
                        on_grid(next, loss, theta);
                        next += 1;
                    }
                },
            );
            if left_ball(dist2, r2) {
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
pub(crate) mod tests {
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
        let outcome = dynamics.run(
            &mut trajectory_rng(7, 0),
            &mut ws,
            &grid,
            GridLosses::All,
            |j, f, _| losses.push((j, f)),
        );
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
        let outcome = dynamics.run(
            &mut trajectory_rng(0, 0),
            &mut ws,
            &grid,
            GridLosses::All,
            |_, _, _| seen += 1,
        );
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
            GridLosses::All,
            |_, _, _| {},
        );
        assert_eq!(outcome, Outcome::Exited { step: 1 });
    }

    /// Records everything a trajectory reports, in order, to compare the two paths.
    #[derive(Default)]
    struct Log(Vec<(usize, u64)>, Vec<Outcome>);
    impl LaneSink for Log {
        fn loss(&mut self, j: usize, f: f64) {
            self.0.push((j, f.to_bits()));
        }
        fn outcome(&mut self, outcome: Outcome) {
            self.1.push(outcome);
        }
    }

    /// The lane-batched path reports, trajectory by trajectory, exactly what the one-trajectory
    /// path reports: the same F(θ_k) bits at every grid step and the same outcome. Groups of 8, 3
    /// and 1 lanes, at every instruction-set level this CPU has (passed to each run, so tests in
    /// parallel share no setting), with either [`GridLosses`].
    pub(crate) fn assert_lanes_match_scalar(dynamics: &Dynamics<'_>, seed: u64, n: u64) {
        assert!(dynamics.lane_kernel().is_some());
        let grid = crate::tally::curve_grid(dynamics.steps);
        let mut ws = Workspace::new(dynamics.landscape);
        let mut lws = LaneWorkspace::new(dynamics);
        let levels = Level::ALL.into_iter().filter(|&l| l <= Level::cpu());
        for (level, losses) in levels.flat_map(|l| [(l, GridLosses::All), (l, GridLosses::Free)]) {
            let mut first = 0;
            for count in [8, 3, 1].into_iter().cycle() {
                if first >= n {
                    break;
                }
                let count = count.min((n - first) as usize);
                let mut want = Log::default();
                for i in first..first + count as u64 {
                    let mut one = Log::default();
                    let o = dynamics.run(
                        &mut trajectory_rng(seed, i),
                        &mut ws,
                        &grid,
                        losses,
                        |j, f, _| one.loss(j, f),
                    );
                    want.0.extend(one.0);
                    want.1.push(o);
                }
                let mut got = Log::default();
                dynamics.run_lanes(level, seed, first, count, &mut lws, &grid, losses, &mut got);
                want.0.sort_unstable();
                got.0.sort_unstable();
                assert_eq!(
                    got.0, want.0,
                    "losses of {first}..+{count}, {level:?}, {losses:?}"
                );
                let key = |o: &Outcome| format!("{o:?}");
                want.1.sort_by_key(key);
                got.1.sort_by_key(key);
                assert_eq!(
                    got.1, want.1,
                    "outcomes of {first}..+{count}, {level:?}, {losses:?}"
                );
                first += count as u64;
            }
        }
    }

    #[test]
    fn lanes_match_one_trajectory_runs_on_a_quadratic() {
        let q = Quadratic::new(vec![0.5, 1.0, 2.0, 4.0]).unwrap();
        for (noise, radius) in [
            (NoiseModel::Ml { sigma: 8.0 }, 0.3),
            (NoiseModel::Bounded { sigma: 0.01 }, 0.3),
            (NoiseModel::None, 1.0),
        ] {
            let dynamics = Dynamics {
                landscape: &q,
                theta0: &[0.1, -0.05, 0.02, 0.01],
                noise,
                noise_dist: NoiseDist::Gaussian,
                schedule: StepSchedule::Constant { eta: 0.3 },
                radius,
                steps: 150,
                eps: 1e-6,
            };
            assert_lanes_match_scalar(&dynamics, 3, 40);
        }
    }
}
