//! The flags that define an experiment, shared by `run`, `sweep`, `bound`, `constants` and
//! `init`, and how they become a grid of [`Settings`] (one point for all but `sweep`).

use std::path::PathBuf;

use clap::Args;

use lojasim::ConfigError;
use lojasim::ams::{RelativeTarget, Score};
use lojasim::config::{EstimatorKind, NetworkSettings, Settings};
use lojasim::engine;
use lojasim::estimate::CiMethod;
use lojasim::landscape::{Activation, ProblemKind};
use lojasim::noise::{BatchMode, NoiseDist, NoiseKind};
use lojasim::schedule::ScheduleKind;
use lojasim::sweep::{SettingsGrid, grid};

use super::{Failure, Given, usage};

/// Values of a grid-capable flag: one value for `run` and `bound`, any number for `sweep`.
#[derive(Clone, Debug, PartialEq)]
pub struct Values<T>(pub Vec<T>);

fn f64_values(text: &str) -> Result<Values<f64>, grid::GridError> {
    grid::parse_f64s(text).map(Values)
}

fn u64_values(text: &str) -> Result<Values<u64>, grid::GridError> {
    grid::parse_u64s(text).map(Values)
}

fn vector_values(text: &str) -> Result<Values<Vec<f64>>, grid::GridError> {
    grid::parse_vectors(text).map(Values)
}

/// The flags that define an experiment (shared by `run`, `sweep` and `bound`). Numeric flags take
/// grid values (docs/sweeps.md); `run` and `bound` accept exactly one point.
#[derive(Args, Debug)]
pub struct ExperimentArgs {
    /// Loss landscape.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "mlp",
        help_heading = "Landscape"
    )]
    pub problem: Vec<ProblemKind>,
    /// Dimension d [default: the length of a list-valued --theta0/--curvature, else 10].
    #[arg(long, value_parser = u64_values, allow_hyphen_values = true, help_heading = "Landscape")]
    pub dim: Option<Values<u64>>,
    /// Curvatures a_i of the quadratic: one value (all coordinates) or d values (run: separated by
    /// ',' or ';'; sweep: by ';', with ',' between alternatives).
    #[arg(long, value_parser = vector_values, default_value = "1", allow_hyphen_values = true, help_heading = "Landscape")]
    pub curvature: Values<Vec<f64>>,
    /// Start θ0: one value (all coordinates) or d values (run: separated by ',' or ';'; sweep: by
    /// ';', with ',' between alternatives) [default: 0.3225 for quadratic and ring; for
    /// least-squares and mlp the seeded initialisation trained by --init-steps (or --theta0-file)].
    #[arg(long, value_parser = vector_values, allow_hyphen_values = true, help_heading = "Landscape")]
    pub theta0: Option<Values<Vec<f64>>>,
    /// Radius r of the ball B(θ0, r) the trajectories must stay in.
    #[arg(long, value_parser = f64_values, default_value = "0.3", allow_hyphen_values = true, help_heading = "Landscape")]
    pub radius: Values<f64>,

    /// Gradient noise: ml (√(σF)·Z), bounded (√σ·Z) or none (gradient descent).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "ml",
        help_heading = "Noise and steps"
    )]
    pub noise: Vec<NoiseKind>,
    /// Law of Z: N(0, I/d) or independent ±1/√d coordinates.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "gaussian",
        help_heading = "Noise and steps"
    )]
    pub noise_dist: Vec<NoiseDist>,
    /// Noise level σ (E|g − ∇F|² = σF for ml, σ for bounded; for minibatch, the σ of the bound,
    /// E|g − ∇F|² ≤ σF) [default: 1 for ml and bounded; for minibatch, estimated over the ball].
    #[arg(long, value_parser = f64_values, allow_hyphen_values = true, help_heading = "Noise and steps")]
    pub sigma: Option<Values<f64>>,
    /// Step-size schedule.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "constant",
        help_heading = "Noise and steps"
    )]
    pub schedule: Vec<ScheduleKind>,
    /// Constant step η [default: 0.05 for quadratic and ring; for least-squares and mlp the
    /// descent-lemma step 1/C_L with the ball's constants (the summary gives the step ρ < 1 needs)].
    #[arg(long, value_parser = f64_values, allow_hyphen_values = true, help_heading = "Noise and steps")]
    pub eta: Option<Values<f64>>,
    /// Robbins–Monro γ in η_k = γ/(k + n0)^q, k = 0, 1, … [default: 0.1].
    #[arg(long, value_parser = f64_values, allow_hyphen_values = true, help_heading = "Noise and steps")]
    pub gamma: Option<Values<f64>>,
    /// Robbins–Monro offset n0 [default: 1].
    #[arg(long, value_parser = f64_values, allow_hyphen_values = true, help_heading = "Noise and steps")]
    pub n0: Option<Values<f64>>,
    /// Robbins–Monro exponent q [default: 0.75].
    #[arg(long, value_parser = f64_values, allow_hyphen_values = true, help_heading = "Noise and steps")]
    pub q: Option<Values<f64>>,

    /// Steps K per trajectory.
    #[arg(long, value_parser = u64_values, default_value = "1000", allow_hyphen_values = true, help_heading = "Simulation")]
    pub steps: Values<u64>,
    /// Convergence threshold: a trajectory converged if it stayed and F(θ_K) ≤ ε.
    #[arg(long, value_parser = f64_values, default_value = "1e-6", allow_hyphen_values = true, help_heading = "Simulation")]
    pub eps: Values<f64>,
    /// Number of trajectories N (with --target-halfwidth: the most any point may use, as
    /// --max-trajectories) [default: 10000 for quadratic and ring, 1000 for least-squares and mlp].
    #[arg(long, value_parser = u64_values, allow_hyphen_values = true, help_heading = "Simulation")]
    pub trajectories: Option<Values<u64>>,
    /// Master seed: trajectory i draws from a generator seeded by (seed, i).
    #[arg(long, value_parser = u64_values, default_value = "0", allow_hyphen_values = true, help_heading = "Simulation")]
    pub seed: Values<u64>,

    /// Confidence-interval method for the proportions.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "wilson",
        help_heading = "Estimation"
    )]
    pub ci: Vec<CiMethod>,
    /// Confidence level of the intervals.
    #[arg(long, value_parser = f64_values, default_value = "0.95", allow_hyphen_values = true, help_heading = "Estimation")]
    pub confidence: Values<f64>,
    /// Override the Łojasiewicz constant α of the ball (|∇F|² ≥ α·F).
    #[arg(long, value_parser = f64_values, allow_hyphen_values = true, help_heading = "Estimation")]
    pub alpha: Option<Values<f64>>,
    /// Override the smoothness constant C_L of the ball.
    #[arg(long = "c-l", value_parser = f64_values, allow_hyphen_values = true, help_heading = "Estimation")]
    pub c_l: Option<Values<f64>>,

    #[command(flatten)]
    pub network: NetworkArgs,
    /// The flags typed on the command line (filled by `main`), to refuse those that do not
    /// apply to the chosen problem or noise.
    #[arg(skip)]
    pub given: Given,
}

/// Flags of the data landscapes, minibatch noise and the constants estimator (docs/networks.md).
#[derive(Args, Debug)]
pub struct NetworkArgs {
    /// CSV file (header row, numeric columns) for least-squares and mlp [default: the shipped
    /// data/diabetes.csv, compiled in].
    #[arg(long, value_name = "FILE", help_heading = "Data and network")]
    pub data: Option<PathBuf>,
    /// Target column, or several comma-separated (one output each, mlp) [default: the last column].
    #[arg(long, value_name = "NAME[,NAME…]", help_heading = "Data and network")]
    pub target: Option<String>,
    /// The target column holds class labels: one 0/1 output per distinct label (mlp).
    #[arg(long, help_heading = "Data and network")]
    pub one_hot: bool,
    /// Use only the first N rows of the data (a quick run on part of a large file) [default: all].
    #[arg(long, value_name = "N", help_heading = "Data and network")]
    pub rows: Option<usize>,
    /// z-score features and target (population standard deviation); `--standardize false` turns it off.
    #[arg(long, num_args = 0..=1, default_value_t = true, default_missing_value = "true", action = clap::ArgAction::Set, value_name = "BOOL", help_heading = "Data and network")]
    pub standardize: bool,
    /// Least squares with an intercept θ_{p+1}.
    #[arg(long, help_heading = "Data and network")]
    pub bias: bool,
    /// Hidden-layer widths of the MLP, comma-separated (any depth).
    #[arg(long, value_delimiter = ',', num_args = 1.., default_value = "16", help_heading = "Data and network")]
    pub hidden: Vec<usize>,
    /// Activation of the hidden layers (relu is outside the theory: its bound is not applicable).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "tanh",
        help_heading = "Data and network"
    )]
    pub activation: Vec<Activation>,
    /// Seed of the LeCun-normal initialisation (weights N(0, 1/fan_in), biases 0).
    #[arg(long, value_parser = u64_values, default_value = "0", allow_hyphen_values = true, help_heading = "Data and network")]
    pub init_seed: Values<u64>,
    /// Gradient-descent steps from the initialisation to θ0 (0: start at the initialisation);
    /// given alone, exactly this many; with --init-loss, the cap [default: pre-train until
    /// F(θ) ≤ 1e-4, at most 50000 steps].
    #[arg(long, value_parser = u64_values, allow_hyphen_values = true, help_heading = "Data and network")]
    pub init_steps: Option<Values<u64>>,
    /// Step size of those gradient-descent steps.
    #[arg(long, value_parser = f64_values, default_value = "0.12", allow_hyphen_values = true, help_heading = "Data and network")]
    pub init_eta: Values<f64>,
    /// Pre-train until F(θ) ≤ F* (at most --init-steps steps; the summary says if the cap was hit)
    /// [default: 1e-4 unless --init-steps is given].
    #[arg(long, value_name = "F*", value_parser = f64_values, allow_hyphen_values = true, help_heading = "Data and network")]
    pub init_loss: Option<Values<f64>>,
    /// θ0 from a file: one number per line in the documented parameter order (docs/networks.md).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "theta0",
        help_heading = "Data and network"
    )]
    pub theta0_file: Option<PathBuf>,
    /// Minibatch size B for --noise minibatch [default: 8].
    #[arg(long, value_parser = u64_values, allow_hyphen_values = true, help_heading = "Noise and steps")]
    pub batch: Option<Values<u64>>,
    /// How the B rows of a minibatch are drawn.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "with-replacement",
        help_heading = "Noise and steps"
    )]
    pub batch_mode: Vec<BatchMode>,
    /// Points the constants estimator samples uniformly in the ball (and as many on its surface).
    #[arg(long, value_parser = u64_values, default_value = "64", allow_hyphen_values = true, help_heading = "Estimation")]
    pub constant_samples: Values<u64>,
}

/// How P(stay) is estimated (`run`, `sweep`).
#[derive(Args, Debug, Default)]
pub struct EstimatorArgs {
    /// Estimator of P(stay): mc (crude Monte Carlo, also P(converge)) or ams (adaptive multilevel
    /// splitting of P(exit) = 1 − P(stay), for exits far rarer than 1/--trajectories).
    #[arg(long, value_enum, default_value = "mc", help_heading = "Estimation")]
    pub estimator: EstimatorKind,
    /// Paths per splitting replica (--estimator ams) [default: 100].
    #[arg(long, value_name = "N", help_heading = "Estimation")]
    pub particles: Option<u64>,
    /// Independent splitting replicas, which give the interval and are the unit of a shard
    /// (--estimator ams) [default: 40].
    #[arg(long, value_name = "M", help_heading = "Estimation")]
    pub replicas: Option<u64>,
    /// How splitting ranks its paths (--estimator ams): tail (the log of a normal-tail chance
    /// of exiting in the steps left; needs ml or bounded noise), gaussian (the log of the
    /// expected exits over the steps left of the dynamics linearised along the exit direction,
    /// Gaussian steps split into up to 16 substeps near the sphere; far lower variance under
    /// bounded noise at a higher cost per path; needs ml or bounded noise) or distance
    /// (|θ − θ0|/r)
    /// [default: gaussian for bounded noise, tail for ml noise, distance otherwise].
    #[arg(long, value_enum, help_heading = "Estimation")]
    pub score: Option<Score>,
}

/// Running crude Monte Carlo to a precision (`run`, `sweep`).
#[derive(Args, Debug, Default)]
pub struct PrecisionArgs {
    /// Run until the half-widths of both intervals are ≤ H, checked after every 64 trajectories
    /// (a betting confidence sequence, `ci_method` betting-cs, which keeps its confidence over
    /// all the checks), using at most --max-trajectories; whether H was reached is in
    /// `target_met` and the summary.
    #[arg(
        long,
        value_name = "H",
        allow_negative_numbers = true,
        help_heading = "Estimation"
    )]
    pub target_halfwidth: Option<f64>,
    /// With --target-halfwidth: the most trajectories a point may use (the same as
    /// --trajectories there) [default: the default --trajectories].
    #[arg(
        long,
        value_name = "N",
        requires = "target_halfwidth",
        conflicts_with = "trajectories",
        help_heading = "Estimation"
    )]
    pub max_trajectories: Option<u64>,
    /// With --estimator ams: add replicas (from --replicas on) until the interval's half-width
    /// is at most E times the estimate, e.g. 0.1; the interval is then ams-t-spent, which keeps
    /// its confidence over the repeated looks.
    #[arg(
        long,
        value_name = "E",
        allow_negative_numbers = true,
        help_heading = "Estimation"
    )]
    pub target_relative_error: Option<f64>,
    /// The most replicas --target-relative-error may use [default: 10000].
    #[arg(
        long,
        value_name = "M",
        requires = "target_relative_error",
        help_heading = "Estimation"
    )]
    pub max_replicas: Option<u64>,
}

/// The replicas `--max-replicas` allows when not given.
pub const DEFAULT_MAX_REPLICAS: u64 = 10_000;

impl PrecisionArgs {
    /// `--target-relative-error` with its cap, checked against the first look of `replicas`.
    pub fn relative_target(
        &self,
        replicas: u64,
        confidence: f64,
    ) -> Result<Option<RelativeTarget>, ConfigError> {
        self.target_relative_error
            .map(|e| {
                RelativeTarget::new(
                    e,
                    self.max_replicas.unwrap_or(DEFAULT_MAX_REPLICAS),
                    replicas,
                    confidence,
                )
            })
            .transpose()
    }

    /// Moves `--max-trajectories` into `--trajectories`, which is the cap of a run to a target
    /// (and so the config id of `--max-trajectories N` is that of `--trajectories N`), and
    /// refuses `--ci` with `--target-halfwidth`, whose interval is its own.
    pub fn apply(&self, experiment: &mut ExperimentArgs) -> Result<(), ConfigError> {
        if self.target_halfwidth.is_some() && experiment.given.contains("--ci") {
            return Err(ConfigError::new(
                "--ci",
                format!(
                    "does not apply with --target-halfwidth, whose interval is a betting \
                     confidence sequence (ci_method {}); drop --ci",
                    lojasim::estimate::sequential::METHOD
                ),
            ));
        }
        if let Some(n) = self.max_trajectories {
            experiment.trajectories = Some(Values(vec![n]));
        }
        Ok(())
    }
}

/// The worker threads of a command that computes (the constants estimator, the trajectories).
#[derive(Args, Clone, Copy, Debug)]
pub struct Threads {
    /// Worker threads (0: one per core). Results do not depend on it.
    #[arg(
        long = "threads",
        allow_negative_numbers = true,
        default_value_t = 0,
        help_heading = "Output"
    )]
    pub count: usize,
}

impl Threads {
    /// More threads than this is a mistake (results do not depend on the count, and each thread
    /// costs a stack): refused before any is started, since a failing thread start aborts.
    const MAX: usize = 1024;

    /// The pool of this many threads that all of a command's parallel work runs on; a count
    /// above [`Threads::MAX`] or a pool that cannot be built is a usage error naming the flag.
    pub fn pool(self) -> Result<rayon::ThreadPool, Failure> {
        if self.count > Self::MAX {
            return Err(usage(format!(
                "--threads {}: use at most {} (0 starts one per core)",
                self.count,
                Self::MAX
            )));
        }
        engine::pool(self.count).map_err(|e| usage(format!("--threads {}: {e}", self.count)))
    }
}

/// Whether the experiment flags describe one point (`run`, `bound`) or a grid (`sweep`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Single,
    Sweep,
}

impl ExperimentArgs {
    /// The grid of settings, flags in `--help` order (the first varying slowest). In single mode
    /// a vector flag is one vector whose coordinates `,` or `;` separate.
    pub fn grid(&self, mode: Mode, estimator: &EstimatorArgs) -> Result<SettingsGrid, ConfigError> {
        self.refuse_flags_that_do_not_apply()?;
        let vectors = |flag: &'static str, v: &Values<Vec<f64>>| match mode {
            Mode::Sweep => Ok(v.0.clone()),
            Mode::Single => one_vector(flag, &v.0).map(|x| vec![x]),
        };
        if mode == Mode::Sweep {
            for (flag, n, why) in [
                (
                    "--trajectories",
                    self.trajectories.as_ref().map_or(1, |v| v.0.len()),
                    "it is every point's budget, not a parameter",
                ),
                (
                    "--seed",
                    self.seed.0.len(),
                    "all points share trajectory i's random stream (common random numbers); run one sweep per seed",
                ),
            ] {
                if n > 1 {
                    return Err(ConfigError::new(
                        flag,
                        format!("takes one value in a sweep (got {n}): {why}"),
                    ));
                }
            }
        }
        let f = |x: &f64| x.to_string();
        let u = |x: &u64| x.to_string();
        let vec_label = |v: &Vec<f64>| v.iter().map(f64::to_string).collect::<Vec<_>>().join(";");
        let net = &self.network;
        let base = Settings {
            network: NetworkSettings {
                data: net.data.clone(),
                target: net.target.clone(),
                one_hot: net.one_hot,
                rows: net.rows,
                standardize: net.standardize,
                bias: net.bias,
                hidden: net.hidden.clone(),
                theta0_file: net.theta0_file.clone(),
                ..NetworkSettings::default()
            },
            estimator: estimator.estimator,
            particles: estimator.particles,
            replicas: estimator.replicas,
            score: estimator.score,
            ..Settings::default()
        };
        let mut g = SettingsGrid::new(base).axis(
            "--problem",
            self.problem.clone(),
            |k| k.name().to_string(),
            |s, v| s.problem = v,
        )?;
        if let Some(d) = &self.dim {
            g = g.axis("--dim", d.0.clone(), u, |s, v| s.dim = Some(v as usize))?;
        }
        g = g.axis(
            "--curvature",
            vectors("--curvature", &self.curvature)?,
            vec_label,
            |s, v| s.curvature = v,
        )?;
        if let Some(theta0) = &self.theta0 {
            g = g.axis(
                "--theta0",
                vectors("--theta0", theta0)?,
                vec_label,
                |s, v| s.theta0 = v,
            )?;
        }
        g = g
            .axis("--radius", self.radius.0.clone(), f, |s, v| s.radius = v)?
            .axis(
                "--noise",
                self.noise.clone(),
                |k| k.name().to_string(),
                |s, v| s.noise = v,
            )?
            .axis(
                "--noise-dist",
                self.noise_dist.clone(),
                |k| k.name().to_string(),
                |s, v| s.noise_dist = v,
            )?;
        if let Some(v) = &self.sigma {
            g = g.axis("--sigma", v.0.clone(), f, |s, v| s.sigma = Some(v))?;
        }
        g = g.axis(
            "--schedule",
            self.schedule.clone(),
            |k| k.name().to_string(),
            |s, v| s.schedule = v,
        )?;
        type Setter = fn(&mut Settings, f64);
        let optional: [(&'static str, &Option<Values<f64>>, Setter); 4] = [
            ("--eta", &self.eta, |s, v| s.eta = Some(v)),
            ("--gamma", &self.gamma, |s, v| s.gamma = Some(v)),
            ("--n0", &self.n0, |s, v| s.n0 = Some(v)),
            ("--q", &self.q, |s, v| s.q = Some(v)),
        ];
        for (flag, values, set) in optional {
            if let Some(v) = values {
                g = g.axis(flag, v.0.clone(), f, set)?;
            }
        }
        g = g
            .axis("--steps", self.steps.0.clone(), u, |s, v| s.steps = v)?
            .axis("--eps", self.eps.0.clone(), f, |s, v| s.eps = v)?
            .axis("--seed", self.seed.0.clone(), u, |s, v| s.seed = v)?
            .axis(
                "--ci",
                self.ci.clone(),
                |m| m.name().to_string(),
                |s, v| s.ci = v,
            )?
            .axis("--confidence", self.confidence.0.clone(), f, |s, v| {
                s.confidence = v
            })?;
        let overrides: [(&'static str, &Option<Values<f64>>, Setter); 2] = [
            ("--alpha", &self.alpha, |s, v| s.alpha = Some(v)),
            ("--c-l", &self.c_l, |s, v| s.c_l = Some(v)),
        ];
        for (flag, values, set) in overrides {
            if let Some(v) = values {
                g = g.axis(flag, v.0.clone(), f, set)?;
            }
        }
        if let Some(t) = &self.trajectories {
            g = g.axis("--trajectories", t.0.clone(), u, |s, v| {
                s.trajectories = Some(v)
            })?;
        }
        g = g
            .axis(
                "--activation",
                net.activation.clone(),
                |a| a.name().to_string(),
                |s, v| s.network.activation = v,
            )?
            .axis("--init-seed", net.init_seed.0.clone(), u, |s, v| {
                s.network.init_seed = v
            })?;
        if let Some(steps) = &net.init_steps {
            // Steps given alone are exact: no default loss target cuts them short.
            let exact = net.init_loss.is_none();
            g = g.axis("--init-steps", steps.0.clone(), u, move |s, v| {
                s.network.init_steps = v;
                if exact {
                    s.network.init_loss = None;
                }
            })?;
        }
        g = g.axis("--init-eta", net.init_eta.0.clone(), f, |s, v| {
            s.network.init_eta = v
        })?;
        if let Some(t) = &net.init_loss {
            g = g.axis("--init-loss", t.0.clone(), f, |s, v| {
                s.network.init_loss = Some(v)
            })?;
        }
        if let Some(b) = &net.batch {
            g = g.axis("--batch", b.0.clone(), u, |s, v| {
                s.network.batch = Some(v as usize)
            })?;
        }
        g = g
            .axis(
                "--batch-mode",
                net.batch_mode.clone(),
                |m| m.name().to_string(),
                |s, v| s.network.batch_mode = v,
            )?
            .axis(
                "--constant-samples",
                net.constant_samples.0.clone(),
                u,
                |s, v| s.network.constant_samples = v as usize,
            )?;
        Ok(g)
    }

    /// A flag typed on the command line that none of the chosen problems or noise models uses
    /// is a mistake (a user who adds `--hidden 64` to a quadratic expects a network): refused,
    /// naming it and what it applies to. In a sweep a flag applies if it applies to any point.
    fn refuse_flags_that_do_not_apply(&self) -> Result<(), ConfigError> {
        // What each landscape takes is its own file's answer (`Spec::flags`); `--dim` has its
        // own message for the data landscapes, whose dimension is implied.
        let landscape_flags = ProblemKind::ALL
            .iter()
            .flat_map(|k| k.spec().flags().iter().copied())
            .filter(|&f| f != "--dim");
        for flag in landscape_flags {
            if self.given.contains(flag) && !self.problem.iter().any(|k| k.takes(flag)) {
                return Err(ConfigError::new(
                    flag,
                    format!(
                        "applies only to --problem {}; drop it or choose that problem",
                        ProblemKind::names_taking(flag)
                    ),
                ));
            }
        }
        // `lojasim constants` samples any landscape, to set the estimates beside exact values.
        if self.given.contains("--constant-samples")
            && self.given.command != "constants"
            && !self.problem.iter().any(|k| k.uses_data())
        {
            return Err(ConfigError::new(
                "--constant-samples",
                format!(
                    "applies only to --problem {} (the analytic landscapes have exact constants); \
                     drop it",
                    ProblemKind::ALL
                        .iter()
                        .filter(|k| k.uses_data())
                        .map(|k| k.name())
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            ));
        }
        for flag in ["--sigma", "--noise-dist"] {
            if self.given.contains(flag) && self.noise.iter().all(|&n| n == NoiseKind::None) {
                return Err(ConfigError::new(
                    flag,
                    "does not apply to --noise none (gradient descent has no noise); drop it or \
                     choose a noise model",
                ));
            }
        }
        Ok(())
    }

    /// The settings of one point (`run`, `bound`, `constants`, `init`).
    pub fn settings(
        &self,
        command: &str,
        estimator: &EstimatorArgs,
    ) -> Result<Settings, ConfigError> {
        self.grid(Mode::Single, estimator)?.single(command)
    }
}

/// A vector flag of `run`: one vector, whether its coordinates came separated by `,` or `;`.
fn one_vector(flag: &'static str, alternatives: &[Vec<f64>]) -> Result<Vec<f64>, ConfigError> {
    match alternatives {
        [one] => Ok(one.clone()),
        many if many.iter().all(|v| v.len() == 1) => Ok(many.concat()),
        many => Err(ConfigError::new(
            flag,
            format!(
                "has {} vectors, but `lojasim run` takes one: use `lojasim sweep` for grids",
                many.len()
            ),
        )),
    }
}
