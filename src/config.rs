//! From settings as a user gives them ([`Settings`], one field per flag) to a checked, runnable
//! [`Experiment`]. Every check names the flag it concerns and says how to fix it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::ams::Score;
use crate::constants::{self, Estimates, EstimatorConfig, Progress};
use crate::data::{DataSource, DataSpec, Dataset};
use crate::engine::{self, Cancelled, Control};
use crate::error::{ConfigError, check};
use crate::estimate::CiMethod;
use crate::init;
use crate::landscape::{
    self, Activation, BallConstants, ConstantsSource, Landscape, NetworkShape, ProblemKind,
    ProblemSettings,
};
use crate::memory;
use crate::noise::{BatchMode, NoiseDist, NoiseKind, NoiseModel};
use crate::runner::Dynamics;
use crate::schedule::{ScheduleKind, StepSchedule};
use crate::tally::Tally;
use crate::theory::{Bound, BoundInputs, NotApplicable};

/// Trajectories when `--trajectories` is not given: 10 000 on the analytic landscapes, 1 000 on
/// the data landscapes, whose steps cost a forward and backward pass over the data.
pub fn default_trajectories(problem: ProblemKind) -> u64 {
    if problem.uses_data() { 1_000 } else { 10_000 }
}

/// The estimator of `s` and its units of work (trajectories or replicas), checked: the flags of
/// one estimator are refused with the other.
fn estimator(s: &Settings) -> Result<(Estimator, u64), ConfigError> {
    match s.estimator {
        EstimatorKind::Mc => {
            for (flag, given) in [
                ("--particles", s.particles.is_some()),
                ("--replicas", s.replicas.is_some()),
                ("--score", s.score.is_some()),
            ] {
                if given {
                    return Err(ConfigError::new(
                        flag,
                        "applies only to --estimator ams (crude Monte Carlo counts --trajectories)",
                    ));
                }
            }
            let n = s.trajectories.unwrap_or(default_trajectories(s.problem));
            if n == 0 {
                return Err(ConfigError::new("--trajectories", "must be ≥ 1 (got 0)"));
            }
            Ok((Estimator::Mc, n))
        }
        EstimatorKind::Ams => {
            if s.trajectories.is_some() {
                return Err(ConfigError::new(
                    "--trajectories",
                    "does not apply to --estimator ams; its effort is --particles per replica \
                     times --replicas",
                ));
            }
            let noise = s.noise;
            let score = s.score.unwrap_or(Score::default_for(noise));
            if !score.applies_to(noise) {
                return Err(ConfigError::new(
                    "--score",
                    format!(
                        "{score} needs noise with a known scale (ml or bounded), not {}; use \
                         --score distance",
                        noise
                    ),
                ));
            }
            let particles = s.particles.unwrap_or(crate::ams::DEFAULT_PARTICLES);
            let replicas = s.replicas.unwrap_or(crate::ams::DEFAULT_REPLICAS);
            for (flag, v) in [("--particles", particles), ("--replicas", replicas)] {
                if v < 2 {
                    return Err(ConfigError::new(flag, format!("must be ≥ 2 (got {v})")));
                }
            }
            Ok((Estimator::Splitting { particles, score }, replicas))
        }
    }
}

/// Dimension used when neither `--dim` nor a list-valued flag fixes it.
pub const DEFAULT_DIM: usize = 10;
/// θ0 of the analytic landscapes (every coordinate) when `--theta0` is not given.
pub const DEFAULT_THETA0: f64 = 0.3225;
/// Minibatch size when `--noise minibatch` is chosen without `--batch`.
pub const DEFAULT_BATCH: usize = 8;
/// Longest sample path the constants estimator follows (fewer if `--steps` is smaller).
pub const ESTIMATOR_PATH_STEPS: u64 = 200;
/// Robbins–Monro defaults: η_k = 0.1/(k + 1)^0.75 unless `--gamma`, `--n0`, `--q` say otherwise.
pub const DEFAULT_GAMMA: f64 = 0.1;
pub const DEFAULT_N0: f64 = 1.0;
pub const DEFAULT_Q: f64 = 0.75;
/// σ when a noisy model is chosen without `--sigma`.
pub const DEFAULT_SIGMA: f64 = 1.0;
/// η when a constant step is chosen without `--eta` on an analytic landscape (a data landscape
/// uses 1/Ĉ_L instead, see [`Experiment::new`]).
pub const DEFAULT_ETA: f64 = 0.05;
/// Pre-training's loss target F* when neither `--init-steps` nor `--init-loss` is given: far
/// enough above the default ε = 1e-6 that the run starts unconverged, close enough to the
/// minimum set that the ball of radius 0.3 is a neighbourhood of it.
pub const DEFAULT_INIT_LOSS: f64 = 1e-4;

/// Raw settings, one field per command-line flag. `Option` fields are those whose absence means
/// something ("not given": use a default or infer) rather than a value.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub problem: ProblemKind,
    pub dim: Option<usize>,
    pub curvature: Vec<f64>,
    pub theta0: Vec<f64>,
    pub noise: NoiseKind,
    pub noise_dist: NoiseDist,
    pub sigma: Option<f64>,
    pub schedule: ScheduleKind,
    pub eta: Option<f64>,
    pub gamma: Option<f64>,
    pub n0: Option<f64>,
    pub q: Option<f64>,
    pub radius: f64,
    pub steps: u64,
    pub eps: f64,
    /// `--trajectories`; `None` is [`default_trajectories`] of the problem.
    pub trajectories: Option<u64>,
    pub seed: u64,
    pub ci: CiMethod,
    pub confidence: f64,
    pub alpha: Option<f64>,
    pub c_l: Option<f64>,
    /// The data landscapes, their starting point, minibatch noise and the constants estimator.
    pub network: NetworkSettings,
    /// `--estimator`.
    pub estimator: EstimatorKind,
    /// `--particles` (splitting); `None` is [`crate::ams::DEFAULT_PARTICLES`].
    pub particles: Option<u64>,
    /// `--replicas` (splitting); `None` is [`crate::ams::DEFAULT_REPLICAS`].
    pub replicas: Option<u64>,
    /// `--score` (splitting); `None` is [`Score::default_for`] the noise.
    pub score: Option<Score>,
}

/// How P(stay) — or P(exit) = 1 − P(stay) — is estimated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum EstimatorKind {
    /// Crude Monte Carlo: independent trajectories, binomial intervals.
    #[default]
    Mc,
    /// Adaptive multilevel splitting for rare exits (`--particles`, `--replicas`).
    Ams,
}

impl EstimatorKind {
    pub fn name(self) -> &'static str {
        match self {
            EstimatorKind::Mc => "mc",
            EstimatorKind::Ams => "ams",
        }
    }
}

/// The estimator of a checked experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Estimator {
    /// [`Experiment::trajectories`] independent trajectories.
    Mc,
    /// [`Experiment::trajectories`] independent splitting replicas of `particles` paths each.
    Splitting { particles: u64, score: Score },
}

/// The settings of the data landscapes (`least-squares`, `mlp`), of minibatch noise and of the
/// constants estimator, one field per flag.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkSettings {
    /// `--data`; `None` is the shipped diabetes set, compiled in.
    pub data: Option<PathBuf>,
    /// `--target`, comma-separated; `None` is the last column.
    pub target: Option<String>,
    /// `--one-hot`: the target column's class labels become one 0/1 output each.
    pub one_hot: bool,
    /// `--rows`: only the first N rows of the data.
    pub rows: Option<usize>,
    /// `--standardize`: z-score features and target.
    pub standardize: bool,
    /// `--bias` (least squares).
    pub bias: bool,
    /// `--hidden`: hidden-layer widths of the MLP.
    pub hidden: Vec<usize>,
    /// `--activation` of the MLP.
    pub activation: Activation,
    /// `--init-seed`: LeCun-normal initialisation (see [`crate::init`]).
    pub init_seed: u64,
    /// `--init-steps`: gradient-descent steps from the initialisation to θ0.
    pub init_steps: u64,
    /// `--init-eta`: their step size.
    pub init_eta: f64,
    /// `--init-loss`: pre-train until F(θ) ≤ this (`init_steps` is then the cap).
    pub init_loss: Option<f64>,
    /// `--theta0-file`: θ0 from a file instead.
    pub theta0_file: Option<PathBuf>,
    /// `--batch`: minibatch size B [default: [`DEFAULT_BATCH`]].
    pub batch: Option<usize>,
    /// `--batch-mode`.
    pub batch_mode: BatchMode,
    /// `--constant-samples`: points the estimator samples in the ball and as many on its surface.
    pub constant_samples: usize,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            data: None,
            target: None,
            one_hot: false,
            rows: None,
            standardize: true,
            bias: false,
            hidden: vec![16],
            activation: Activation::Tanh,
            init_seed: 0,
            init_steps: 50_000,
            init_eta: 0.12,
            init_loss: Some(DEFAULT_INIT_LOSS),
            theta0_file: None,
            batch: None,
            batch_mode: BatchMode::WithReplacement,
            constant_samples: 64,
        }
    }
}

impl Default for Settings {
    /// The built-in default experiment (`lojasim run` with no flags): an MLP (4 → 16 → 1, tanh) on
    /// the shipped diabetes data (48 rows, standardised), pre-trained by gradient descent
    /// (η = 0.12) from a LeCun-normal initialisation until F(θ0) ≤ 1e-4, above ε = 1e-6; SGD
    /// with machine-learning noise (σ = 1) at the descent-lemma step η = 1/Ĉ_L, in a ball of
    /// radius 0.3; the constants are estimated over the ball. At that step SGD moves but ρ ≥ 1:
    /// the summary says which step the theorem would need (docs/networks.md discusses it).
    fn default() -> Self {
        Settings {
            problem: ProblemKind::Mlp,
            dim: None,
            curvature: vec![1.0],
            theta0: Vec::new(),
            noise: NoiseKind::Ml,
            noise_dist: NoiseDist::Gaussian,
            sigma: None,
            schedule: ScheduleKind::Constant,
            eta: None,
            gamma: None,
            n0: None,
            q: None,
            radius: 0.3,
            steps: 1000,
            eps: 1e-6,
            trajectories: None,
            seed: 0,
            ci: CiMethod::Wilson,
            confidence: 0.95,
            alpha: None,
            c_l: None,
            network: NetworkSettings::default(),
            estimator: EstimatorKind::Mc,
            particles: None,
            replicas: None,
            score: None,
        }
    }
}

/// A seeded, pre-trained start of a data landscape (`--init-seed`, `--init-steps`, `--init-eta`,
/// `--init-loss`), with how far pre-training went.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InitStart {
    pub seed: u64,
    /// `--init-steps`: the steps, or with `--init-loss` their cap.
    pub steps: u64,
    pub eta: f64,
    /// `--init-loss`: pre-train until F(θ) ≤ this.
    pub target: Option<f64>,
    pub outcome: init::Pretrained,
    /// Seconds the pre-training took (when this process computed it; a start shared by
    /// several points of a sweep is computed once).
    pub elapsed_s: f64,
}

/// Called during the start-up of an experiment with (steps done, steps in all) of pre-training.
pub type StartupProgress<'a> = Option<&'a (dyn Fn(u64, u64) + Sync)>;

/// A landscape with its starting point: everything `lojasim init` needs.
pub struct Problem {
    pub settings: ProblemSettings,
    pub landscape: Box<dyn Landscape>,
    pub theta0: Vec<f64>,
    /// The data set of a data landscape, loaded once.
    pub data: Option<Arc<Dataset>>,
    /// When θ0 is a network's seeded, pre-trained start: its settings and how far it went.
    pub init: Option<InitStart>,
    /// F(θ0). A start the user gave may have a non-finite loss here ([`Experiment::new`] refuses
    /// it); a pre-trained start with one is refused at once.
    pub f0: f64,
}

/// F(θ0) on `landscape`.
fn loss_at(landscape: &dyn Landscape, theta0: &[f64]) -> f64 {
    landscape.loss(theta0, &mut vec![0.0; landscape.workspace_len()])
}

impl Problem {
    /// Checks the landscape flags of `s`, loads the data (if any) and computes θ0.
    pub fn new(s: &Settings) -> Result<Self, ConfigError> {
        Self::with_progress(s, None)
    }

    /// [`Problem::new`], reporting the progress of pre-training.
    pub fn with_progress(s: &Settings, progress: StartupProgress<'_>) -> Result<Self, ConfigError> {
        let net = &s.network;
        for &t in &s.theta0 {
            check::finite("--theta0", t)?;
        }
        let settings = ProblemSettings {
            kind: s.problem,
            dim: s.dim,
            curvature: s.curvature.clone(),
            network: NetworkShape {
                bias: net.bias,
                hidden: net.hidden.clone(),
                activation: net.activation,
            },
        };
        for (flag, given) in [
            ("--data", net.data.is_some()),
            ("--target", net.target.is_some()),
            ("--one-hot", net.one_hot),
            ("--rows", net.rows.is_some()),
            ("--theta0-file", net.theta0_file.is_some()),
        ] {
            if given && !s.problem.takes(flag) {
                return Err(ConfigError::new(
                    flag,
                    format!(
                        "applies only to --problem {}",
                        ProblemKind::names_taking(flag)
                    ),
                ));
            }
        }
        let kind = s.problem.spec();
        let (memory_flag, memory_fix) = kind.memory_flag();
        let Some(model) = kind.data() else {
            let dim = resolve_dim(s)?;
            check_simulation_memory(dim, memory_flag, memory_fix)?;
            let theta0 = if s.theta0.is_empty() {
                vec![DEFAULT_THETA0; dim]
            } else {
                landscape::broadcast("--theta0", &s.theta0, dim)?
            };
            let landscape = landscape::build(&settings, dim, None)?;
            let f0 = loss_at(landscape.as_ref(), &theta0);
            return Ok(Problem {
                settings,
                landscape,
                theta0,
                data: None,
                init: None,
                f0,
            });
        };
        let spec = DataSpec {
            source: net
                .data
                .clone()
                .map_or(DataSource::BuiltinDiabetes, DataSource::File),
            target: net.target.clone(),
            one_hot: net.one_hot,
            rows: match net.rows {
                Some(0) => {
                    return Err(ConfigError::new(
                        "--rows",
                        "must be at least 1 (omit it to use every row)",
                    ));
                }
                rows => rows,
            },
            standardize: net.standardize,
        };
        let data =
            Arc::new(Dataset::load(&spec).map_err(|e| ConfigError::new("--data", e.to_string()))?);
        let dim = landscape::data_dim(&settings, &data);
        if let Some(d) = s.dim
            && d != dim
        {
            return Err(ConfigError::new(
                "--dim",
                format!(
                    "is {d} but --problem {} on this data has d = {dim} parameters (implied by \
                     the data and the architecture); drop --dim",
                    s.problem
                ),
            ));
        }
        check_simulation_memory(dim, memory_flag, memory_fix)?;
        let landscape = landscape::build(&settings, dim, Some(&data))?;
        let mut init = None;
        let theta0 = if let Some(path) = &net.theta0_file {
            if !s.theta0.is_empty() {
                return Err(ConfigError::new(
                    "--theta0",
                    "cannot be combined with --theta0-file: give one of them",
                ));
            }
            let layers = model.init_layers(&settings.network, &data);
            init::read_theta0_file(path, dim, Some((&layers.layers, layers.biases)))
                .map_err(|e| ConfigError::new("--theta0-file", e.to_string()))?
        } else if !s.theta0.is_empty() {
            landscape::broadcast("--theta0", &s.theta0, dim)?
        } else {
            let layers = model.init_layers(&settings.network, &data);
            let eta = check::positive("--init-eta", net.init_eta)?;
            if let Some(t) = net.init_loss {
                check::positive("--init-loss", t)?;
            }
            let key = format!(
                "{settings:?} data {:016x} seed {} steps {} eta {:016x} target {:?}",
                data.fingerprint(),
                net.init_seed,
                net.init_steps,
                eta.to_bits(),
                net.init_loss.map(f64::to_bits)
            );
            let (theta, outcome, elapsed_s) = pretrained_start(key, || {
                let start = std::time::Instant::now();
                let mut theta = init::lecun_normal(&layers.layers, layers.biases, net.init_seed);
                let outcome = init::pretrain_until(
                    landscape.as_ref(),
                    &mut theta,
                    net.init_steps,
                    eta,
                    net.init_loss,
                    &mut |done| {
                        if let Some(p) = progress {
                            p(done, net.init_steps);
                        }
                    },
                );
                (theta, outcome, start.elapsed().as_secs_f64())
            });
            init = Some(InitStart {
                seed: net.init_seed,
                steps: net.init_steps,
                eta,
                target: net.init_loss,
                outcome,
                elapsed_s,
            });
            theta
        };
        let f0 = loss_at(landscape.as_ref(), &theta0);
        if init.is_some() && (!f0.is_finite() || theta0.iter().any(|v| !v.is_finite())) {
            return Err(ConfigError::new(
                "--init-eta",
                format!(
                    "pre-training diverged (--init-steps {} at --init-eta {:?} end at F = {f0}); \
                     lower --init-eta",
                    net.init_steps, net.init_eta
                ),
            ));
        }
        Ok(Problem {
            settings,
            landscape,
            theta0,
            data: Some(data),
            init,
            f0,
        })
    }
}

/// A checked configuration, ready to simulate.
pub struct Experiment {
    pub problem: ProblemSettings,
    pub landscape: Box<dyn Landscape>,
    pub theta0: Vec<f64>,
    /// The data set of a data landscape.
    pub data: Option<Arc<Dataset>>,
    /// When θ0 is a network's seeded, pre-trained start: its settings and how far it went.
    pub init: Option<InitStart>,
    /// F(θ0).
    pub f0: f64,
    pub noise: NoiseModel,
    pub noise_dist: NoiseDist,
    pub schedule: StepSchedule,
    pub radius: f64,
    pub steps: u64,
    pub eps: f64,
    /// The units of work, which shards split: trajectories (crude Monte Carlo) or replicas
    /// (splitting).
    pub trajectories: u64,
    pub estimator: Estimator,
    pub seed: u64,
    pub ci: CiMethod,
    pub confidence: f64,
    pub constants: BallConstants,
    /// The estimates, when some constant had to be estimated.
    pub estimates: Option<Estimates>,
    /// `--constant-samples`, kept for [`Experiment::estimate_constants`].
    pub constant_samples: usize,
    /// Seconds spent estimating the constants (0 when none was estimated).
    pub constants_s: f64,
}

impl Experiment {
    /// Checks `s`, builds the landscape and, where no exact or user constant is available,
    /// estimates the constants over the ball.
    pub fn new(s: &Settings) -> Result<Self, ConfigError> {
        Self::with_progress(s, None, &|_, _| {})
    }

    /// [`Experiment::new`], reporting the progress of pre-training (steps done, in all) and of
    /// the constants estimator (units done, in all), if they run.
    pub fn with_progress(
        s: &Settings,
        pretraining: StartupProgress<'_>,
        progress: Progress<'_>,
    ) -> Result<Self, ConfigError> {
        // Cheap checks first: the problem may load data and pre-train.
        let radius = check::positive("--radius", s.radius)?;
        if s.steps == 0 {
            return Err(ConfigError::new("--steps", "must be ≥ 1 (got 0)"));
        }
        let (estimator, trajectories) = estimator(s)?;
        let eps = check::positive("--eps", s.eps)?;
        if !(s.confidence > 0.0 && s.confidence < 1.0) {
            return Err(ConfigError::new(
                "--confidence",
                format!(
                    "must be strictly between 0 and 1, e.g. 0.95 (got {})",
                    s.confidence
                ),
            ));
        }
        if s.network.constant_samples == 0 {
            return Err(ConfigError::new(
                "--constant-samples",
                "must be ≥ 1 (got 0)",
            ));
        }
        let Problem {
            settings: problem,
            landscape,
            theta0,
            data,
            init,
            f0,
        } = Problem::with_progress(s, pretraining)?;
        let noise = noise_model(s, landscape.as_ref())?;
        let schedule = step_schedule(s)?;
        if !f0.is_finite() {
            let flag = match s.network.theta0_file {
                Some(_) => "--theta0-file",
                None => "--theta0",
            };
            return Err(ConfigError::new(
                flag,
                format!("gives a non-finite loss F(θ0) = {f0}; start closer to the minimum"),
            ));
        }
        let mut e = Experiment {
            problem,
            landscape,
            theta0,
            data,
            init,
            f0,
            noise,
            noise_dist: s.noise_dist,
            schedule,
            radius,
            steps: s.steps,
            eps,
            trajectories,
            estimator,
            seed: s.seed,
            ci: s.ci,
            confidence: s.confidence,
            constants: BallConstants {
                alpha: f64::NAN,
                c_l: f64::NAN,
                source: ConstantsSource::Exact,
            },
            estimates: None,
            constant_samples: s.network.constant_samples,
            constants_s: 0.0,
        };
        let start = std::time::Instant::now();
        e.resolve_constants(s, progress)?;
        e.constants_s = start.elapsed().as_secs_f64();
        // On a data landscape without --eta, the step is 1/C_L, the step of the descent lemma:
        // the largest for which gradient descent provably decreases F on the ball, so SGD moves.
        // The theorem's ρ < 1 needs a step smaller by about 2α/(2C_L + σ), on networks orders of
        // magnitude smaller; the summary names it (docs/networks.md).
        if let StepSchedule::Constant { eta } = &mut e.schedule
            && s.problem.uses_data()
            && s.eta.is_none()
        {
            let descent_eta = 1.0 / e.constants.c_l;
            if descent_eta.is_finite() && descent_eta > 0.0 {
                *eta = descent_eta;
            }
        }
        Ok(e)
    }

    /// Runs the constants estimator on this experiment's ball (whether or not `run` needed it),
    /// on the current rayon pool, after checking that its points and scratch, on top of the
    /// simulation's arrays, fit in free memory. `skippable`: the memory error suggests giving
    /// the constants instead (not for `lojasim constants`, whose job it is).
    pub fn estimate_constants(
        &self,
        skippable: bool,
        progress: Progress<'_>,
    ) -> Result<Estimates, ConfigError> {
        self.check_estimator_memory(skippable)?;
        Ok(constants::estimate_with_progress(
            self.landscape.as_ref(),
            &self.theta0,
            self.radius,
            &self.estimator_config(),
            progress,
        ))
    }

    fn estimator_config(&self) -> EstimatorConfig {
        let eta = match self.schedule {
            StepSchedule::Constant { eta } => eta,
            StepSchedule::RobbinsMonro { .. } => self.schedule.eta(0),
        };
        EstimatorConfig {
            samples: self.constant_samples,
            seed: self.seed,
            eta,
            noise: self.noise,
            noise_dist: self.noise_dist,
            path_steps: self.steps.min(ESTIMATOR_PATH_STEPS),
        }
    }

    /// The memory check of [`Experiment::estimate_constants`].
    fn check_estimator_memory(&self, skippable: bool) -> Result<(), ConfigError> {
        let (d, threads) = (self.dim(), rayon::current_num_threads());
        let rows = self.landscape.per_sample().map_or(0, |ps| ps.samples());
        let points = constants::max_points(&self.estimator_config());
        memory::check(
            "--constant-samples",
            &format!("the constants estimator's {points} points of d = {d} coordinates"),
            memory::simulation_bytes(d, threads)
                + memory::estimator_bytes(d, points, rows, threads),
            memory::available_bytes(),
            if skippable {
                "give --alpha and --c-l (and --sigma for minibatch noise) to skip the estimator, \
                 or use fewer --constant-samples or --threads"
            } else {
                "use fewer --constant-samples or --threads"
            },
        )
    }

    /// α and C_L (and σ for minibatch noise): a user value, else the exact one, else an estimate.
    fn resolve_constants(
        &mut self,
        s: &Settings,
        progress: Progress<'_>,
    ) -> Result<(), ConfigError> {
        let exact = self.landscape.exact_constants(&self.theta0, self.radius);
        let user_alpha = s
            .alpha
            .map(|a| check::non_negative("--alpha", a))
            .transpose()?;
        let user_c_l = s.c_l.map(|c| check::positive("--c-l", c)).transpose()?;
        let minibatch = matches!(self.noise, NoiseModel::Minibatch { .. });
        let needs_estimate = (exact.is_none() && (user_alpha.is_none() || user_c_l.is_none()))
            || (minibatch && s.sigma.is_none());
        if needs_estimate {
            self.estimates = Some(self.estimate_constants(true, progress)?);
        }
        let est = self.estimates;
        let alpha = user_alpha
            .or(exact.map(|c| c.alpha))
            .or(est.map(|e| e.alpha))
            .expect("estimated when missing");
        let c_l = user_c_l
            .or(exact.map(|c| c.c_l))
            .or(est.map(|e| e.c_l))
            .expect("estimated when missing");
        let from_estimator = (user_alpha.is_none() || user_c_l.is_none()) && exact.is_none();
        // Certified only if every constant the estimator supplied is: α and C_L both, and σ
        // (never certified) given by the user.
        let mut certified = from_estimator && est.is_some_and(|e| e.certified());
        let mut estimated = from_estimator && !certified;
        if let NoiseModel::Minibatch { sigma, .. } = &mut self.noise {
            *sigma = match s.sigma {
                Some(v) => v,
                None => {
                    estimated = true;
                    certified = false;
                    est.and_then(|e| e.sigma).unwrap_or(0.0)
                }
            };
        }
        // |∇F|² ≥ αF and |∇F|² ≤ 2·C_L·F can hold together (for F ≢ 0) only if α ≤ 2·C_L.
        if alpha > 2.0 * c_l && (user_alpha.is_some() || user_c_l.is_some()) {
            return Err(ConfigError::new(
                "--alpha",
                format!(
                    "must be ≤ 2·C_L = {} (got {alpha}): no landscape satisfies both",
                    2.0 * c_l
                ),
            ));
        }
        let source = if estimated {
            ConstantsSource::Estimated
        } else if certified {
            ConstantsSource::Certified
        } else if user_alpha.is_some() || user_c_l.is_some() || (minibatch && s.sigma.is_some()) {
            ConstantsSource::User
        } else {
            ConstantsSource::Exact
        };
        self.constants = BallConstants { alpha, c_l, source };
        Ok(())
    }

    pub fn dim(&self) -> usize {
        self.theta0.len()
    }

    /// The dynamics shared by all trajectories.
    pub fn dynamics(&self) -> Dynamics<'_> {
        Dynamics {
            landscape: self.landscape.as_ref(),
            theta0: &self.theta0,
            noise: self.noise,
            noise_dist: self.noise_dist,
            schedule: self.schedule,
            radius: self.radius,
            steps: self.steps,
            eps: self.eps,
        }
    }

    /// The theorem's bound for this configuration (not applicable on a landscape that breaks the
    /// theory's assumptions everywhere, such as a relu network).
    pub fn bound(&self) -> Bound {
        let b = Bound::compute(&BoundInputs {
            alpha: self.constants.alpha,
            c_l: self.constants.c_l,
            noise: self.noise,
            schedule: self.schedule,
            radius: self.radius,
            f0: self.f0,
            steps: self.steps,
            eps: self.eps,
        });
        match self.landscape.outside_theory() {
            Some(_) if b.not_applicable.is_none() => {
                b.without_guarantee(NotApplicable::OutsideTheory)
            }
            _ => b,
        }
    }

    /// Simulates trajectories 0..N on the current rayon pool (crude Monte Carlo).
    pub fn simulate(&self, control: Control<'_>) -> Result<Tally, Cancelled> {
        engine::simulate(&self.dynamics(), self.seed, 0..self.trajectories, control)
    }

    /// Runs splitting replicas `replicas` on the current rayon pool.
    ///
    /// # Panics
    /// If the experiment's estimator is not splitting.
    pub fn simulate_splitting(
        &self,
        replicas: std::ops::Range<u64>,
        control: Control<'_>,
    ) -> Result<crate::ams::SplittingTally, Cancelled> {
        let Estimator::Splitting { particles, score } = self.estimator else {
            panic!("simulate_splitting on a crude Monte Carlo experiment");
        };
        let chain = crate::ams::SgdChain::new(self.dynamics(), score);
        crate::ams::simulate(&chain, particles, self.seed, replicas, control)
    }
}

/// θ0 after pre-training, how far it went, and the seconds it took.
type PretrainedStart = (Vec<f64>, init::Pretrained, f64);

/// The pre-trained start for `key` — everything that determines it: the landscape settings, the
/// data's values, the init seed, steps and step — computed once per process. The points of a sweep
/// whose swept flags leave the start alone share one pre-training (4.7 s for a 4 → 32 → 32 → 1
/// network); points that reach it together wait for the first. `compute` must not use rayon: a
/// worker that stole another point's task while inside it would wait on its own cell.
fn pretrained_start(key: String, compute: impl FnOnce() -> PretrainedStart) -> PretrainedStart {
    type Starts = Mutex<HashMap<String, Arc<OnceLock<PretrainedStart>>>>;
    static STARTS: OnceLock<Starts> = OnceLock::new();
    let cell = STARTS
        .get_or_init(Starts::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(key)
        .or_default()
        .clone();
    cell.get_or_init(compute).clone()
}

/// Refuses a dimension whose simulation arrays ([`memory::simulation_bytes`] on the current rayon
/// pool) exceed the free memory, naming `flag`.
fn check_simulation_memory(dim: usize, flag: &str, fix: &str) -> Result<(), ConfigError> {
    let threads = rayon::current_num_threads();
    memory::check(
        flag,
        &format!("d = {dim} parameters on {threads} threads"),
        memory::simulation_bytes(dim, threads),
        memory::available_bytes(),
        &format!("{fix} (or fewer --threads)"),
    )
}

fn resolve_dim(s: &Settings) -> Result<usize, ConfigError> {
    let from_lists = [
        ("--theta0", s.theta0.len()),
        ("--curvature", s.curvature.len()),
    ]
    .into_iter()
    .filter(|&(flag, n)| n > 1 && (flag == "--theta0" || s.problem.takes(flag)))
    .collect::<Vec<_>>();
    let dim = match s.dim {
        Some(0) => return Err(ConfigError::new("--dim", "must be ≥ 1 (got 0)")),
        Some(d) => d,
        None => from_lists.first().map_or(DEFAULT_DIM, |&(_, n)| n),
    };
    if s.dim.is_none()
        && let [(first, n1), (second, n2)] = from_lists[..]
        && n1 != n2
    {
        return Err(ConfigError::new(
            first,
            format!(
                "has {n1} values but {second} has {n2}: give both d values (or one, broadcast)"
            ),
        ));
    }
    for (flag, n) in from_lists {
        if n != dim {
            return Err(ConfigError::new(
                flag,
                format!(
                    "has {n} values but the dimension is {dim}: give one value (broadcast) or {dim}"
                ),
            ));
        }
    }
    Ok(dim)
}

fn noise_model(s: &Settings, landscape: &dyn Landscape) -> Result<NoiseModel, ConfigError> {
    let sigma = || check::non_negative("--sigma", s.sigma.unwrap_or(DEFAULT_SIGMA));
    if s.noise != NoiseKind::Minibatch && s.network.batch.is_some() {
        return Err(ConfigError::new(
            "--batch",
            "applies only to --noise minibatch; drop it or add that noise",
        ));
    }
    Ok(match s.noise {
        NoiseKind::None => NoiseModel::None,
        NoiseKind::Ml => NoiseModel::Ml { sigma: sigma()? },
        NoiseKind::Bounded => NoiseModel::Bounded { sigma: sigma()? },
        NoiseKind::Minibatch => {
            let Some(ps) = landscape.per_sample() else {
                return Err(ConfigError::new(
                    "--noise",
                    format!(
                        "minibatch needs a loss that is a mean over data rows (--problem {}), \
                         not --problem {}",
                        ProblemKind::names_taking("--data"),
                        s.problem
                    ),
                ));
            };
            if s.sigma.is_some() {
                sigma()?;
            }
            let n = ps.samples();
            let batch = s.network.batch.unwrap_or(DEFAULT_BATCH.min(n));
            let mode = s.network.batch_mode;
            if batch == 0 || (mode == BatchMode::WithoutReplacement && batch > n) {
                let max = if mode == BatchMode::WithoutReplacement {
                    format!(" and ≤ n = {n} rows without replacement")
                } else {
                    String::new()
                };
                return Err(ConfigError::new(
                    "--batch",
                    format!("must be ≥ 1{max} (got {batch})"),
                ));
            }
            // σ is filled in by resolve_constants (σ̂ or --sigma).
            NoiseModel::Minibatch {
                batch,
                mode,
                sigma: f64::NAN,
            }
        }
    })
}

fn step_schedule(s: &Settings) -> Result<StepSchedule, ConfigError> {
    match s.schedule {
        ScheduleKind::Constant => {
            for (flag, given) in [("--gamma", s.gamma), ("--n0", s.n0), ("--q", s.q)] {
                if given.is_some() {
                    return Err(ConfigError::new(
                        flag,
                        "applies only to --schedule robbins-monro; drop it or add that schedule",
                    ));
                }
            }
            let eta = check::positive("--eta", s.eta.unwrap_or(DEFAULT_ETA))?;
            Ok(StepSchedule::Constant { eta })
        }
        ScheduleKind::RobbinsMonro => {
            if s.eta.is_some() {
                return Err(ConfigError::new(
                    "--eta",
                    "sets a constant step; with --schedule robbins-monro use --gamma, --n0 and --q",
                ));
            }
            Ok(StepSchedule::RobbinsMonro {
                gamma: check::positive("--gamma", s.gamma.unwrap_or(DEFAULT_GAMMA))?,
                n0: check::positive("--n0", s.n0.unwrap_or(DEFAULT_N0))?,
                q: check::positive("--q", s.q.unwrap_or(DEFAULT_Q))?,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: Settings) -> String {
        Experiment::new(&s)
            .err()
            .expect("settings should be rejected")
            .to_string()
    }

    /// The default is the MLP 4 → 16 → 1 on the built-in diabetes data: (4 + 1)·16 + (16 + 1)·1
    /// = 97 parameters, with estimated constants.
    #[test]
    fn default_settings_are_valid() {
        let e = Experiment::new(&Settings::default()).unwrap();
        assert_eq!(e.dim(), 97);
        assert_eq!(e.constants.source, ConstantsSource::Estimated);
        let ring = Settings {
            problem: ProblemKind::Ring,
            ..Settings::default()
        };
        let e = Experiment::new(&ring).unwrap();
        assert_eq!(e.dim(), DEFAULT_DIM);
        assert_eq!(e.theta0, vec![DEFAULT_THETA0; DEFAULT_DIM]);
    }

    fn teacher_file() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data/teacher.csv"))
    }

    #[test]
    fn data_landscapes_imply_their_dimension_and_reject_conflicts() {
        let mlp = |hidden: Vec<usize>| Settings {
            network: NetworkSettings {
                data: Some(teacher_file()),
                hidden,
                init_steps: 0,
                ..NetworkSettings::default()
            },
            trajectories: Some(1),
            ..Settings::default()
        };
        // 8 inputs → 3 → 1: 9·3 + 4 = 31.
        let p = Problem::new(&mlp(vec![3])).unwrap();
        assert_eq!(p.theta0.len(), 31);
        assert!(
            err(Settings {
                dim: Some(30),
                ..mlp(vec![3])
            })
            .starts_with("--dim is 30 but --problem mlp on this data has d = 31 parameters")
        );
        assert!(
            err(Settings {
                noise: NoiseKind::Minibatch,
                network: NetworkSettings {
                    batch: Some(17),
                    batch_mode: BatchMode::WithoutReplacement,
                    ..mlp(vec![3]).network
                },
                ..mlp(vec![3])
            })
            .starts_with("--batch must be ≥ 1 and ≤ n = 16 rows without replacement (got 17)")
        );
        assert!(
            err(Settings {
                problem: ProblemKind::Ring,
                noise: NoiseKind::Minibatch,
                ..Settings::default()
            })
            .starts_with("--noise minibatch needs a loss that is a mean over data rows")
        );
        assert_eq!(
            err(Settings {
                problem: ProblemKind::Quadratic,
                ..mlp(vec![3])
            }),
            "--data applies only to --problem least-squares or mlp"
        );
        assert!(
            err(Settings {
                problem: ProblemKind::Ring,
                network: NetworkSettings {
                    batch: Some(4),
                    ..NetworkSettings::default()
                },
                ..Settings::default()
            })
            .starts_with("--batch applies only to --noise minibatch")
        );
    }

    #[test]
    fn bad_values_name_their_flag() {
        let d = || Settings {
            problem: ProblemKind::Ring,
            ..Settings::default()
        };
        assert_eq!(
            err(Settings {
                radius: -1.0,
                ..d()
            }),
            "--radius must be > 0 (got -1)"
        );
        assert_eq!(
            err(Settings {
                trajectories: Some(0),
                ..d()
            }),
            "--trajectories must be ≥ 1 (got 0)"
        );
        assert_eq!(
            err(Settings {
                sigma: Some(-0.5),
                ..d()
            }),
            "--sigma must be ≥ 0 (got -0.5)"
        );
        assert!(
            err(Settings {
                eta: Some(f64::NAN),
                ..d()
            })
            .starts_with("--eta must be a finite")
        );
        assert!(
            err(Settings {
                theta0: vec![1.0, 2.0],
                dim: Some(3),
                ..d()
            })
            .starts_with("--theta0 has 2 values but the dimension is 3")
        );
        assert!(
            err(Settings {
                gamma: Some(0.1),
                ..d()
            })
            .starts_with("--gamma applies only")
        );
        assert!(
            err(Settings {
                confidence: 1.0,
                ..d()
            })
            .starts_with("--confidence must be")
        );
        assert!(
            err(Settings {
                alpha: Some(100.0),
                ..d()
            })
            .starts_with("--alpha must be ≤ 2·C_L")
        );
    }

    #[test]
    fn list_lengths_fix_the_dimension() {
        let s = Settings {
            problem: ProblemKind::Quadratic,
            curvature: vec![1.0, 2.0, 3.0],
            ..Settings::default()
        };
        assert_eq!(Experiment::new(&s).unwrap().dim(), 3);
        let bad = Settings {
            theta0: vec![0.1, 0.2],
            ..s
        };
        assert_eq!(
            err(bad),
            "--theta0 has 2 values but --curvature has 3: give both d values (or one, broadcast)"
        );
    }
}
