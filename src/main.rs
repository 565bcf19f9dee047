//! The `lojasim` command line: parses flags into checked settings, calls the library, writes output.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use lojasim::ams::{RelativeTarget, Score};
use lojasim::config::{Estimator, EstimatorKind, NetworkSettings, Problem, Settings};
use lojasim::engine::{self, Control};
use lojasim::estimate::CiMethod;
use lojasim::landscape::{Activation, ProblemKind};
use lojasim::noise::{BatchMode, NoiseDist, NoiseKind};
use lojasim::output::resume::{Finished, ResumeError};
use lojasim::output::sweep_csv;
use lojasim::output::{self, AppendCsv, OutputError};
use lojasim::report::{
    CONSTANTS_COLUMNS, CSV_COLUMNS, ConstantsReport, RunReport, constants_source_name,
};
use lojasim::runner::GridLosses;
use lojasim::schedule::ScheduleKind;
use lojasim::sweep::{DEFAULT_MAX_POINTS, SettingsGrid, Shard, config_id, grid, plan, run_point};
use lojasim::{ConfigError, Experiment};

/// `println!` that does not panic when standard output is closed (`lojasim run | head -1`): the
/// failed write is dropped, so the output files are still written (`run` prints its summary before
/// writing `--out`) and the exit status is unchanged; the reader loses only lines it did not read.
macro_rules! say {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

/// `eprintln!` that does not panic when standard error is closed; the exit status still tells.
macro_rules! tell {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stderr().lock(), $($t)*);
    }};
}

#[derive(Parser, Debug)]
#[command(name = "lojasim", version, about = "Monte Carlo estimates of what An & Lu's SGD convergence theorem bounds", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Simulate one configuration: P(stay in the ball) and P(converge), with intervals, beside the bound.
    Run(RunArgs),
    /// Simulate every point of a grid of flag values, one CSV row per point (see docs/sweeps.md).
    #[command(after_help = SWEEP_HELP)]
    Sweep(SweepArgs),
    /// Combine the files of a sharded sweep into the rows of the unsharded run.
    Merge(MergeArgs),
    /// Print the theoretical constants and bounds for a configuration, without simulating.
    Bound(BoundArgs),
    /// Estimate α, C_L, σ (minibatch) and the empirical-NTK bound over the ball, by sampling
    /// (estimates, not certificates).
    Constants(ConstantsArgs),
    /// Write the starting point θ0 a run would use, one number per line (a --theta0-file).
    Init(InitArgs),
}

const SWEEP_HELP: &str = "\
Grid values (every numeric flag above):
  0.1                 one value
  0.01,0.02,0.05      a list (in this order)
  lin:0:1:11          11 evenly spaced values from 0 to 1, both included, built exactly by index
  log:1e-3:1:4        4 log-spaced values from 0.001 to 1 (START, STOP > 0)
  --theta0/--curvature: ',' separates alternatives, ';' the coordinates of one vector:
  --theta0 '0.1;0.2,0.3;0.4' is two 2-d starts (quote the ';' from the shell).
  --problem, --noise, --noise-dist, --schedule and --ci take comma lists.
The points are the cartesian product, flags in --help order, the last varying fastest.
Trajectory i uses the same random stream at every point (common random numbers).";

/// Values of a grid-capable flag: one value for `run` and `bound`, any number for `sweep`.
#[derive(Clone, Debug, PartialEq)]
struct Values<T>(Vec<T>);

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
struct ExperimentArgs {
    /// Loss landscape.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "mlp",
        help_heading = "Landscape"
    )]
    problem: Vec<ProblemKind>,
    /// Dimension d [default: the length of a list-valued --theta0/--curvature, else 10].
    #[arg(long, value_parser = u64_values, allow_hyphen_values = true, help_heading = "Landscape")]
    dim: Option<Values<u64>>,
    /// Curvatures a_i of the quadratic: one value (all coordinates) or d values (run: separated by
    /// ',' or ';'; sweep: by ';', with ',' between alternatives).
    #[arg(long, value_parser = vector_values, default_value = "1", allow_hyphen_values = true, help_heading = "Landscape")]
    curvature: Values<Vec<f64>>,
    /// Start θ0: one value (all coordinates) or d values (run: separated by ',' or ';'; sweep: by
    /// ';', with ',' between alternatives) [default: 0.3225 for quadratic and ring; for
    /// least-squares and mlp the seeded initialisation trained by --init-steps (or --theta0-file)].
    #[arg(long, value_parser = vector_values, allow_hyphen_values = true, help_heading = "Landscape")]
    theta0: Option<Values<Vec<f64>>>,
    /// Radius r of the ball B(θ0, r) the trajectories must stay in.
    #[arg(long, value_parser = f64_values, default_value = "0.3", allow_hyphen_values = true, help_heading = "Landscape")]
    radius: Values<f64>,

    /// Gradient noise: ml (√(σF)·Z), bounded (√σ·Z) or none (gradient descent).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "ml",
        help_heading = "Noise and steps"
    )]
    noise: Vec<NoiseKind>,
    /// Law of Z: N(0, I/d) or independent ±1/√d coordinates.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "gaussian",
        help_heading = "Noise and steps"
    )]
    noise_dist: Vec<NoiseDist>,
    /// Noise level σ (E|g − ∇F|² = σF for ml, σ for bounded) [default: 1].
    #[arg(long, value_parser = f64_values, allow_hyphen_values = true, help_heading = "Noise and steps")]
    sigma: Option<Values<f64>>,
    /// Step-size schedule.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "constant",
        help_heading = "Noise and steps"
    )]
    schedule: Vec<ScheduleKind>,
    /// Constant step η [default: 0.05].
    #[arg(long, value_parser = f64_values, allow_hyphen_values = true, help_heading = "Noise and steps")]
    eta: Option<Values<f64>>,
    /// Robbins–Monro γ in η_k = γ/(k + n0)^q, k = 0, 1, … [default: 0.1].
    #[arg(long, value_parser = f64_values, allow_hyphen_values = true, help_heading = "Noise and steps")]
    gamma: Option<Values<f64>>,
    /// Robbins–Monro offset n0 [default: 1].
    #[arg(long, value_parser = f64_values, allow_hyphen_values = true, help_heading = "Noise and steps")]
    n0: Option<Values<f64>>,
    /// Robbins–Monro exponent q [default: 0.75].
    #[arg(long, value_parser = f64_values, allow_hyphen_values = true, help_heading = "Noise and steps")]
    q: Option<Values<f64>>,

    /// Steps K per trajectory.
    #[arg(long, value_parser = u64_values, default_value = "1000", allow_hyphen_values = true, help_heading = "Simulation")]
    steps: Values<u64>,
    /// Convergence threshold: a trajectory converged if it stayed and F(θ_K) ≤ ε.
    #[arg(long, value_parser = f64_values, default_value = "1e-6", allow_hyphen_values = true, help_heading = "Simulation")]
    eps: Values<f64>,
    /// Number of trajectories N (with --target-halfwidth: the most any point may use)
    /// [default: 10000 for quadratic and ring, 1000 for least-squares and mlp].
    #[arg(long, value_parser = u64_values, allow_hyphen_values = true, help_heading = "Simulation")]
    trajectories: Option<Values<u64>>,
    /// Master seed: trajectory i draws from a generator seeded by (seed, i).
    #[arg(long, value_parser = u64_values, default_value = "0", allow_hyphen_values = true, help_heading = "Simulation")]
    seed: Values<u64>,

    /// Confidence-interval method for the proportions.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "wilson",
        help_heading = "Estimation"
    )]
    ci: Vec<CiMethod>,
    /// Confidence level of the intervals.
    #[arg(long, value_parser = f64_values, default_value = "0.95", allow_hyphen_values = true, help_heading = "Estimation")]
    confidence: Values<f64>,
    /// Override the Łojasiewicz constant α of the ball (|∇F|² ≥ α·F).
    #[arg(long, value_parser = f64_values, allow_hyphen_values = true, help_heading = "Estimation")]
    alpha: Option<Values<f64>>,
    /// Override the smoothness constant C_L of the ball.
    #[arg(long = "c-l", value_parser = f64_values, allow_hyphen_values = true, help_heading = "Estimation")]
    c_l: Option<Values<f64>>,

    #[command(flatten)]
    network: NetworkArgs,
}

/// Flags of the data landscapes, minibatch noise and the constants estimator (docs/networks.md).
#[derive(Args, Debug)]
struct NetworkArgs {
    /// CSV file (header row, numeric columns) for least-squares and mlp [default: the shipped
    /// data/diabetes.csv, compiled in].
    #[arg(long, value_name = "FILE", help_heading = "Data and network")]
    data: Option<PathBuf>,
    /// Target column [default: the last column].
    #[arg(long, value_name = "NAME", help_heading = "Data and network")]
    target: Option<String>,
    /// z-score features and target (population standard deviation); `--standardize false` turns it off.
    #[arg(long, num_args = 0..=1, default_value_t = true, default_missing_value = "true", action = clap::ArgAction::Set, value_name = "BOOL", help_heading = "Data and network")]
    standardize: bool,
    /// Least squares with an intercept θ_{p+1}.
    #[arg(long, help_heading = "Data and network")]
    bias: bool,
    /// Hidden-layer widths of the MLP, comma-separated (any depth).
    #[arg(long, value_delimiter = ',', num_args = 1.., default_value = "16", help_heading = "Data and network")]
    hidden: Vec<usize>,
    /// Activation of the hidden layers (relu is outside the theory: its bound is not applicable).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "tanh",
        help_heading = "Data and network"
    )]
    activation: Vec<Activation>,
    /// Seed of the LeCun-normal initialisation (weights N(0, 1/fan_in), biases 0).
    #[arg(long, value_parser = u64_values, default_value = "0", allow_hyphen_values = true, help_heading = "Data and network")]
    init_seed: Values<u64>,
    /// Gradient-descent steps from the initialisation to θ0 (0: start at the initialisation).
    #[arg(long, value_parser = u64_values, default_value = "50000", allow_hyphen_values = true, help_heading = "Data and network")]
    init_steps: Values<u64>,
    /// Step size of those gradient-descent steps.
    #[arg(long, value_parser = f64_values, default_value = "0.12", allow_hyphen_values = true, help_heading = "Data and network")]
    init_eta: Values<f64>,
    /// θ0 from a file: one number per line in the documented parameter order (docs/networks.md).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "theta0",
        help_heading = "Data and network"
    )]
    theta0_file: Option<PathBuf>,
    /// Minibatch size B for --noise minibatch [default: 8].
    #[arg(long, value_parser = u64_values, allow_hyphen_values = true, help_heading = "Noise and steps")]
    batch: Option<Values<u64>>,
    /// How the B rows of a minibatch are drawn.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "with-replacement",
        help_heading = "Noise and steps"
    )]
    batch_mode: Vec<BatchMode>,
    /// Points the constants estimator samples uniformly in the ball (and as many on its surface).
    #[arg(long, value_parser = u64_values, default_value = "64", allow_hyphen_values = true, help_heading = "Estimation")]
    constant_samples: Values<u64>,
}

/// How P(stay) is estimated (`run`, `sweep`).
#[derive(Args, Debug, Default)]
struct EstimatorArgs {
    /// Estimator of P(stay): mc (crude Monte Carlo, also P(converge)) or ams (adaptive multilevel
    /// splitting of P(exit) = 1 − P(stay), for exits far rarer than 1/--trajectories).
    #[arg(long, value_enum, default_value = "mc", help_heading = "Estimation")]
    estimator: EstimatorKind,
    /// Paths per splitting replica (--estimator ams) [default: 100].
    #[arg(long, value_name = "N", help_heading = "Estimation")]
    particles: Option<u64>,
    /// Independent splitting replicas, which give the interval and are the unit of a shard
    /// (--estimator ams) [default: 40].
    #[arg(long, value_name = "M", help_heading = "Estimation")]
    replicas: Option<u64>,
    /// How splitting ranks its paths (--estimator ams): tail (the log of a normal-tail chance
    /// of exiting in the steps left; needs ml or bounded noise) or distance (|θ − θ0|/r)
    /// [default: tail for ml and bounded noise, distance otherwise].
    #[arg(long, value_enum, help_heading = "Estimation")]
    score: Option<Score>,
}

#[derive(Args, Debug)]
struct ConstantsArgs {
    #[command(flatten)]
    experiment: ExperimentArgs,
    #[command(flatten)]
    threads: Threads,
    /// Write the estimates as a CSV row (with header) to FILE; `-` is standard output, and the
    /// summary then goes to standard error.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    out: Option<PathBuf>,
    /// Overwrite an existing --out file.
    #[arg(long, requires = "out", help_heading = "Output")]
    force: bool,
}

#[derive(Args, Debug)]
struct InitArgs {
    #[command(flatten)]
    experiment: ExperimentArgs,
    /// Where to write θ0; `-` is standard output.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    out: PathBuf,
    /// Overwrite an existing --out file.
    #[arg(long, help_heading = "Output")]
    force: bool,
}

/// The worker threads of a command that computes (the constants estimator, the trajectories).
#[derive(Args, Clone, Copy, Debug)]
struct Threads {
    /// Worker threads (0: one per core). Results do not depend on it.
    #[arg(
        long = "threads",
        allow_negative_numbers = true,
        default_value_t = 0,
        help_heading = "Output"
    )]
    count: usize,
}

impl Threads {
    /// More threads than this is a mistake (results do not depend on the count, and each thread
    /// costs a stack): refused before any is started, since a failing thread start aborts.
    const MAX: usize = 1024;

    /// The pool of this many threads that all of a command's parallel work runs on; a count
    /// above [`Threads::MAX`] or a pool that cannot be built is a usage error naming the flag.
    fn pool(self) -> Result<rayon::ThreadPool, Failure> {
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

#[derive(Args, Debug)]
struct BoundArgs {
    #[command(flatten)]
    experiment: ExperimentArgs,
    #[command(flatten)]
    threads: Threads,
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    experiment: ExperimentArgs,
    #[command(flatten)]
    estimator: EstimatorArgs,
    /// With --estimator ams: add replicas (from --replicas on) until the interval's half-width
    /// is at most E times the estimate, e.g. 0.1; the interval is then ams-t-spent, which keeps
    /// its confidence over the repeated looks.
    #[arg(long, value_name = "E", help_heading = "Estimation")]
    target_relative_error: Option<f64>,
    /// The most replicas --target-relative-error may use [default: 10000].
    #[arg(
        long,
        value_name = "M",
        requires = "target_relative_error",
        help_heading = "Estimation"
    )]
    max_replicas: Option<u64>,
    #[command(flatten)]
    threads: Threads,
    /// Write the result as a CSV row (with header) to FILE; `-` is standard output, and the
    /// summary then goes to standard error.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    out: Option<PathBuf>,
    /// Write the survival and contraction curves (docs/sweeps.md) to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    curves_out: Option<PathBuf>,
    /// Write the paths of the first N trajectories, every step, to FILE (columns trajectory, k,
    /// loss, distance; for scripts/plot.py traces).
    #[arg(long, num_args = 2, value_names = ["N", "FILE"], help_heading = "Output")]
    trace: Option<Vec<String>>,
    /// Overwrite existing output files.
    #[arg(long, help_heading = "Output")]
    force: bool,
    /// No progress bar.
    #[arg(long, help_heading = "Output")]
    quiet: bool,
}

#[derive(Args, Debug)]
struct SweepArgs {
    #[command(flatten)]
    experiment: ExperimentArgs,
    #[command(flatten)]
    estimator: EstimatorArgs,
    /// Run only trajectories [k·N/M, (k+1)·N/M) of every point (shards 0/M … M−1/M together are
    /// the full run; combine their files with `lojasim merge`).
    #[arg(long, value_name = "k/M", help_heading = "Sweep")]
    shard: Option<Shard>,
    /// Run each point in batches until the half-widths of both intervals are ≤ H (sequential
    /// intervals, `ci_method` <ci>-spent), using at most --trajectories.
    #[arg(
        long,
        value_name = "H",
        conflicts_with = "shard",
        allow_negative_numbers = true,
        help_heading = "Sweep"
    )]
    target_halfwidth: Option<f64>,
    /// Refuse grids with more points than this.
    #[arg(long, default_value_t = DEFAULT_MAX_POINTS, help_heading = "Sweep")]
    max_points: u64,
    #[command(flatten)]
    threads: Threads,
    /// The results, one CSV row per point, each written as its point finishes; `-` is standard
    /// output.
    #[arg(long, value_name = "FILE", required = true, help_heading = "Output")]
    out: PathBuf,
    /// Also write the survival and contraction curves of every point to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    curves_out: Option<PathBuf>,
    /// Keep the rows already in --out (and --curves-out) and run only the missing points.
    #[arg(long, conflicts_with = "force", help_heading = "Output")]
    resume: bool,
    /// Overwrite existing output files.
    #[arg(long, help_heading = "Output")]
    force: bool,
    /// No progress bar.
    #[arg(long, help_heading = "Output")]
    quiet: bool,
}

#[derive(Args, Debug)]
struct MergeArgs {
    /// Sweep files to combine (the shards of one run, in any order).
    #[arg(required = true, value_name = "FILES")]
    files: Vec<PathBuf>,
    /// The merged file; `-` is standard output.
    #[arg(long, value_name = "FILE", required = true)]
    out: PathBuf,
    /// Overwrite an existing --out file.
    #[arg(long)]
    force: bool,
}

/// Whether the experiment flags describe one point (`run`, `bound`) or a grid (`sweep`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Single,
    Sweep,
}

impl ExperimentArgs {
    /// The grid of settings, flags in `--help` order (the first varying slowest). In single mode
    /// a vector flag is one vector whose coordinates `,` or `;` separate.
    fn grid(&self, mode: Mode, estimator: &EstimatorArgs) -> Result<SettingsGrid, ConfigError> {
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
            })?
            .axis("--init-steps", net.init_steps.0.clone(), u, |s, v| {
                s.network.init_steps = v
            })?
            .axis("--init-eta", net.init_eta.0.clone(), f, |s, v| {
                s.network.init_eta = v
            })?;
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

    /// The settings of one point (`run`, `bound`, `constants`, `init`).
    fn settings(&self, command: &str, estimator: &EstimatorArgs) -> Result<Settings, ConfigError> {
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

/// Failures, by exit status: bad input is 2 (as for clap's own usage errors), an interrupted run
/// 130 (as for a shell's SIGINT), anything else 1.
enum Failure {
    Usage(anyhow::Error),
    /// What was kept, for the message.
    Interrupted(String),
    Other(anyhow::Error),
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure::Usage(e.into())
    }
}

impl From<OutputError> for Failure {
    fn from(e: OutputError) -> Self {
        match e {
            OutputError::Io { .. } => Failure::Other(e.into()),
            _ => Failure::Usage(e.into()),
        }
    }
}

impl From<ResumeError> for Failure {
    fn from(e: ResumeError) -> Self {
        Failure::Usage(e.into())
    }
}

fn usage(message: String) -> Failure {
    Failure::Usage(anyhow::anyhow!(message))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Sweep(args) => sweep(args),
        Command::Merge(args) => merge(args),
        Command::Bound(args) => bound(args),
        Command::Constants(args) => constants(args),
        Command::Init(args) => init(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(e)) => {
            tell!("error: {e:#}");
            ExitCode::from(2)
        }
        Err(Failure::Interrupted(kept)) => {
            tell!("interrupted: {kept}");
            ExitCode::from(130)
        }
        Err(Failure::Other(e)) => {
            tell!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Where a whole-file output goes: standard output, or a file written whole at the end by
/// [`output::write_atomically`] (temporary file beside it, then rename; a device such as
/// /dev/null is written in place), so an interrupted run never leaves a partial file.
enum Output {
    Stdout,
    File {
        flag: &'static str,
        path: PathBuf,
        overwrite: bool,
    },
}

impl Output {
    /// Checks the output of `flag` before any work starts, so that a bad path fails at once.
    fn open(flag: &'static str, path: &Path, force: bool) -> Result<Self, Failure> {
        if path == Path::new("-") {
            return Ok(Output::Stdout);
        }
        output::refuse_directory(flag, path)?;
        let file = Output::File {
            flag,
            path: path.to_path_buf(),
            overwrite: force,
        };
        if output::is_special_file(path) {
            return Ok(file);
        }
        if path.exists() && !force {
            return Err(usage(format!(
                "{flag} {} already exists; pass --force to overwrite it",
                path.display()
            )));
        }
        // Probe the directory with the same kind of temporary file the final write uses.
        output::temp_file_beside(flag, path).map_err(|e| usage(e.to_string()))?;
        Ok(file)
    }

    fn write_csv(self, header: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
        self.write_with(|w| {
            let mut csv = csv::Writer::from_writer(w);
            csv.write_record(header)?;
            for row in rows {
                csv.write_record(row)?;
            }
            csv.flush()?;
            Ok(())
        })
    }

    fn write_with(
        self,
        write: impl Fn(&mut dyn Write) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        match self {
            Output::Stdout => write(&mut std::io::stdout().lock()),
            Output::File {
                flag,
                path,
                overwrite,
            } => {
                let mut bytes = Vec::new();
                write(&mut bytes)?;
                output::write_atomically(flag, &path, &bytes, overwrite)?;
                Ok(())
            }
        }
    }
}

/// The Ctrl-C flag: set by the handler, polled by the engine between blocks.
fn cancel_on_ctrl_c() -> Arc<AtomicBool> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    // Failing to install the handler only loses the clean shutdown, so it is not fatal.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    cancel
}

/// Refuses two output flags with the same destination: two CSVs would be interleaved on standard
/// output, or one file would replace the other. Devices (`/dev/null`) may be shared.
fn distinct_outputs(outputs: &[(&str, Option<&Path>)]) -> Result<(), Failure> {
    let stdout = Path::new("-");
    let given: Vec<(&str, &Path)> = outputs
        .iter()
        .filter_map(|&(flag, path)| path.map(|p| (flag, p)))
        .collect();
    for (i, &(flag, path)) in given.iter().enumerate() {
        for &(earlier, other) in &given[..i] {
            let same = if path == stdout || other == stdout {
                path == other
            } else {
                !output::is_special_file(path)
                    && output::destination(path)
                        .is_some_and(|d| Some(d) == output::destination(other))
            };
            if same {
                return Err(usage(if path == stdout {
                    format!(
                        "{flag} -: standard output is already {earlier}'s; write one of them to a file"
                    )
                } else {
                    format!(
                        "{flag} {}: the same file as {earlier}; give each output its own file",
                        path.display()
                    )
                }));
            }
        }
    }
    Ok(())
}

fn run(args: RunArgs) -> Result<(), Failure> {
    let trace_path = match args.trace.as_deref() {
        Some([_, path]) => Some(Path::new(path)),
        _ => None,
    };
    distinct_outputs(&[
        ("--out", args.out.as_deref()),
        ("--curves-out", args.curves_out.as_deref()),
        ("--trace", trace_path),
    ])?;
    let settings = args.experiment.settings("run", &args.estimator)?;
    // The constants estimator (when the run needs it) already uses the pool.
    let pool = args.threads.pool()?;
    let experiment = pool.install(|| Experiment::new(&settings))?;
    let output = args
        .out
        .as_deref()
        .map(|p| Output::open("--out", p, args.force))
        .transpose()?;
    let curves = args
        .curves_out
        .as_deref()
        .map(|p| Output::open("--curves-out", p, args.force))
        .transpose()?;
    let trace = match args.trace.as_deref() {
        Some([n, path]) => {
            let n: u64 = n
                .parse()
                .ok()
                .filter(|&n| n >= 1 && n <= experiment.trajectories)
                .ok_or_else(|| {
                    usage(format!(
                        "--trace N must be a whole number from 1 to --trajectories = {} (got {n})",
                        experiment.trajectories
                    ))
                })?;
            Some((n, Output::open("--trace", Path::new(path), args.force)?))
        }
        _ => None,
    };
    if let Estimator::Splitting { .. } = experiment.estimator {
        for (flag, given) in [
            ("--curves-out", curves.is_some()),
            ("--trace", trace.is_some()),
        ] {
            if given {
                return Err(usage(format!(
                    "{flag} applies to --estimator mc only (splitting keeps no curves or paths)"
                )));
            }
        }
        let target = relative_target(&args, &experiment)?;
        return run_splitting(&experiment, &pool, output, target, args.quiet);
    }
    if args.target_relative_error.is_some() {
        return Err(usage(
            "--target-relative-error applies to --estimator ams (crude Monte Carlo runs to a \
             precision with sweep --target-halfwidth)"
                .to_string(),
        ));
    }

    let cancel = cancel_on_ctrl_c();
    let bar = progress_bar(experiment.trajectories, args.quiet, "trajectories");
    let progress = |n: u64| bar.inc(n);
    let control = Control {
        progress: Some(&progress),
        cancel: Some(&cancel),
        grid_losses: grid_losses(curves.is_some()),
    };
    let start = Instant::now();
    let tally = pool
        .install(|| experiment.simulate(control))
        .map_err(|_| Failure::Interrupted("no output was written".to_string()))?;
    let elapsed = start.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let curve_rows = curves.is_some().then(|| {
        let id = config_id(&settings, &experiment, None);
        output::curves::records(&experiment, &tally, id, &(0..experiment.trajectories))
    });
    let report = RunReport::new(&experiment, tally, elapsed)
        .map_err(|e| Failure::Usage(anyhow::anyhow!("--confidence: {e}")))?;
    summary_and_row(&report, output, &CSV_COLUMNS, report.csv_record())?;
    if let (Some(curves), Some(rows)) = (curves, curve_rows) {
        curves
            .write_csv(&output::curves::CURVE_COLUMNS, &rows)
            .map_err(Failure::Other)?;
    }
    if let Some((n, out)) = trace {
        let rows: Vec<Vec<String>> = lojasim::trace::trace(&experiment, n)
            .iter()
            .map(|p| p.csv_record())
            .collect();
        out.write_csv(&lojasim::trace::TRACE_COLUMNS, &rows)
            .map_err(Failure::Other)?;
    }
    Ok(())
}

/// Prints a command's summary (to standard error when its CSV row goes to standard output), then
/// writes the row with its header to `output`, if any.
fn summary_and_row(
    summary: &impl std::fmt::Display,
    output: Option<Output>,
    header: &[&str],
    row: Vec<String>,
) -> Result<(), Failure> {
    if matches!(output, Some(Output::Stdout)) {
        tell!("{summary}");
    } else {
        say!("{summary}");
    }
    if let Some(output) = output {
        output.write_csv(header, &[row]).map_err(Failure::Other)?;
    }
    Ok(())
}

/// The replicas `--max-replicas` allows when not given.
const DEFAULT_MAX_REPLICAS: u64 = 10_000;

/// `--target-relative-error` and `--max-replicas`, checked.
fn relative_target(
    args: &RunArgs,
    experiment: &Experiment,
) -> Result<Option<RelativeTarget>, Failure> {
    let Some(error) = args.target_relative_error else {
        return Ok(None);
    };
    if !(error > 0.0 && error.is_finite()) {
        return Err(usage(format!(
            "--target-relative-error must be a positive relative half-width, e.g. 0.1 for 10 % \
             (got {error})"
        )));
    }
    let max_replicas = args.max_replicas.unwrap_or(DEFAULT_MAX_REPLICAS);
    if max_replicas < experiment.trajectories {
        return Err(usage(format!(
            "--max-replicas must be at least --replicas, the first look ({}; got {max_replicas})",
            experiment.trajectories
        )));
    }
    Ok(Some(RelativeTarget {
        error,
        max_replicas,
        confidence: experiment.confidence,
    }))
}

/// `run --estimator ams`: the replicas on the pool (to a relative precision with `target`), the
/// summary, the row.
fn run_splitting(
    experiment: &Experiment,
    pool: &rayon::ThreadPool,
    output: Option<Output>,
    target: Option<RelativeTarget>,
    quiet: bool,
) -> Result<(), Failure> {
    let cancel = cancel_on_ctrl_c();
    let total = target.map_or(experiment.trajectories, |t| t.max_replicas);
    let bar = progress_bar(total, quiet, "replicas");
    let progress = |n: u64| bar.inc(n);
    let control = Control {
        progress: Some(&progress),
        cancel: Some(&cancel),
        grid_losses: GridLosses::Free,
    };
    let interrupted = |_| Failure::Interrupted("no output was written".to_string());
    let start = Instant::now();
    let report = match target {
        None => {
            let tally = pool
                .install(|| experiment.simulate_splitting(0..experiment.trajectories, control))
                .map_err(interrupted)?;
            RunReport::splitting(experiment, tally, start.elapsed().as_secs_f64())
        }
        Some(target) => {
            let (tally, exit, outcome) = pool
                .install(|| {
                    target.run(experiment.trajectories, |range| {
                        experiment.simulate_splitting(range, control)
                    })
                })
                .map_err(interrupted)?;
            let elapsed = start.elapsed().as_secs_f64();
            RunReport::splitting_to_target(experiment, tally, exit, outcome, elapsed)
        }
    };
    bar.finish_and_clear();
    summary_and_row(&report, output, &CSV_COLUMNS, report.csv_record())?;
    Ok(())
}

/// One point of a sweep, checked.
fn sweep(args: SweepArgs) -> Result<(), Failure> {
    distinct_outputs(&[
        ("--out", Some(args.out.as_path())),
        ("--curves-out", args.curves_out.as_deref()),
    ])?;
    let grid = args.experiment.grid(Mode::Sweep, &args.estimator)?;
    if args.estimator.estimator == EstimatorKind::Ams {
        for (flag, given) in [
            ("--target-halfwidth", args.target_halfwidth.is_some()),
            ("--curves-out", args.curves_out.is_some()),
        ] {
            if given {
                return Err(usage(format!(
                    "{flag} applies to --estimator mc only (splitting estimates P(exit) from a \
                     fixed number of --replicas)"
                )));
            }
        }
    }
    grid.check_size(args.max_points)?;
    let shard = args.shard.unwrap_or(Shard::ALL);
    // Building a point may run the constants estimator (about a second for a network).
    let bar = progress_bar(grid.len(), args.quiet, "points checked");
    let built = |n: u64| bar.inc(n);
    let pool = args.threads.pool()?;
    let points = pool
        .install(|| plan(&grid, shard, args.target_halfwidth, Some(&built)))
        .map_err(|e| usage(e.to_string()))?;
    bar.finish_and_clear();

    let header = sweep_csv::header();
    let (mut out, resumed) = AppendCsv::open("--out", &args.out, &header, args.force, args.resume)?;
    let mut done = Finished::from_rows("--out", &args.out, resumed.rows)?;
    let mut curves = match &args.curves_out {
        Some(path) => {
            let (mut file, kept) = AppendCsv::open(
                "--curves-out",
                path,
                &output::curves::CURVE_COLUMNS,
                args.force,
                args.resume,
            )?;
            let keep = done.curves_to_keep(&kept.rows);
            if keep.len() != kept.rows.len() {
                file.replace_rows(&output::curves::CURVE_COLUMNS, &keep)?;
            }
            Some(file)
        }
        None => None,
    };
    if args.resume && !done.is_empty() {
        tell!(
            "resuming {}: {} finished rows kept{}",
            args.out.display(),
            done.kept(),
            if resumed.dropped_bytes > 0 {
                format!(
                    ", an incomplete last line ({} bytes) dropped",
                    resumed.dropped_bytes
                )
            } else {
                String::new()
            }
        );
    }

    let todo = done.missing(&points);
    let total: u64 = todo.iter().map(|p| p.range.end - p.range.start).sum();
    let cancel = cancel_on_ctrl_c();
    let units = match args.estimator.estimator {
        EstimatorKind::Mc => "trajectories",
        EstimatorKind::Ams => "replicas",
    };
    let bar = progress_bar(total, args.quiet, units);
    let progress = |n: u64| bar.inc(n);
    let control = Control {
        progress: Some(&progress),
        cancel: Some(&cancel),
        grid_losses: grid_losses(curves.is_some()),
    };
    let outcome = pool.install(|| -> Result<(), Failure> {
        for p in &todo {
            let start = Instant::now();
            let result = run_point(&p.experiment, p.range.clone(), p.target.as_ref(), control)
                .map_err(|_| {
                    Failure::Interrupted(format!(
                        "{} finished rows are in {}; run the same command with --resume to finish",
                        done.len(),
                        args.out.display()
                    ))
                })?;
            let elapsed = start.elapsed().as_secs_f64();
            let used = result.used();
            // A run to a target stops early: take its unused budget off the bar.
            if let Some(len) = bar.length() {
                bar.set_length(len.saturating_sub(p.range.end - p.range.start - used));
            }
            let looks = result.stopped.as_ref().map(|s| s.looks);
            let range = p.range.start..p.range.start + used;
            if let Some(curves) = curves.as_mut() {
                curves.append_all(&output::curves::records(
                    &p.experiment,
                    &result.tally,
                    p.id,
                    &range,
                ))?;
            }
            let report = result
                .report(&p.experiment, p.target.as_ref(), elapsed)
                .map_err(|e| usage(format!("--confidence: {e}")))?;
            let row = sweep_csv::record(&report, p.id, &range, p.experiment.trajectories, looks);
            out.append(&row)?;
            done.insert(p.key.clone(), row);
        }
        Ok(())
    });
    bar.finish_and_clear();
    outcome?;
    out.finish()?;
    if let Some(c) = curves {
        c.finish()?;
    }
    let summary = output::summary::table(&grid, &done.rows_of(&points));
    let note = format!(
        "{} points, {} computed now, {} kept; rows in {}",
        points.len(),
        done.len() - done.kept(),
        done.kept(),
        args.out.display()
    );
    if args.out == Path::new("-") {
        tell!("{summary}{note}");
    } else {
        say!("{summary}{note}");
    }
    Ok(())
}

fn merge(args: MergeArgs) -> Result<(), Failure> {
    let output = Output::open("--out", &args.out, args.force)?;
    let header = sweep_csv::header();
    let mut inputs = Vec::new();
    for path in &args.files {
        let bytes = std::fs::read(path)
            .map_err(|e| usage(format!("merge: cannot read {}: {e}", path.display())))?;
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if complete < bytes.len() {
            tell!(
                "warning: {}: dropped an incomplete last line ({} bytes)",
                path.display(),
                bytes.len() - complete
            );
        }
        let rows = output::parse_rows(
            "merge",
            path,
            &bytes[..complete],
            &header,
            "merge only the --out files of `lojasim sweep --shard` runs made by this version",
        )?;
        inputs.push(output::merge::Input {
            name: path.display().to_string(),
            rows,
        });
    }
    let merged = output::merge::merge(&inputs).map_err(|e| usage(format!("merge: {e}")))?;
    output.write_csv(&header, &merged).map_err(Failure::Other)?;
    tell!(
        "merged {} rows from {} files into {} rows",
        inputs.iter().map(|i| i.rows.len()).sum::<usize>(),
        inputs.len(),
        merged.len()
    );
    Ok(())
}

/// F at every curve-grid step only when a curves file will hold it (it costs extra full losses
/// with minibatch noise and changes nothing else).
fn grid_losses(curves: bool) -> GridLosses {
    if curves {
        GridLosses::All
    } else {
        GridLosses::Free
    }
}

/// A bar on standard error counting `total` `what` (e.g. "trajectories").
fn progress_bar(total: u64, quiet: bool, what: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    // indicatif draws nothing when stderr is not a terminal.
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {what}  {{per_sec}}  eta {{eta}}"
        ))
        .expect("valid template"),
    );
    bar
}

fn bound(args: BoundArgs) -> Result<(), Failure> {
    let settings = args
        .experiment
        .settings("bound", &EstimatorArgs::default())?;
    let e = args
        .threads
        .pool()?
        .install(|| Experiment::new(&settings))?;
    let b = e.bound();
    let opt = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.6}"));
    say!("problem        {}, d = {}", e.problem.kind, e.dim());
    say!("F(θ0)          {:.6e}", e.f0);
    say!("radius r       {}", e.radius);
    say!(
        "α              {:.6} ({} constants)",
        e.constants.alpha,
        constants_source_name(e.constants.source)
    );
    say!("C_L            {:.6}", e.constants.c_l);
    say!("ρ              {}", opt(b.rho));
    say!("δ              {}", opt(b.delta));
    let vac = |x: Option<f64>| {
        if x.is_some_and(|v| v <= 0.0) {
            "  (vacuous)"
        } else {
            ""
        }
    };
    say!("P(stay) ≥      {}{}", opt(b.stay_bound), vac(b.stay_bound));
    say!(
        "P(converge) ≥  {}{}",
        opt(b.converge_bound),
        vac(b.converge_bound)
    );
    if let Some(why) = b.not_applicable {
        say!("not applicable {why}");
    }
    say!("Chatterjee     4·F(θ0) < r²·α: {}", b.chatterjee);
    Ok(())
}

fn constants(args: ConstantsArgs) -> Result<(), Failure> {
    let settings = args
        .experiment
        .settings("constants", &EstimatorArgs::default())?;
    let pool = args.threads.pool()?;
    let e = pool.install(|| Experiment::new(&settings))?;
    let output = args
        .out
        .as_deref()
        .map(|p| Output::open("--out", p, args.force))
        .transpose()?;
    let report = pool.install(|| ConstantsReport::new(&e))?;
    summary_and_row(&report, output, &CONSTANTS_COLUMNS, report.csv_record())?;
    Ok(())
}

fn init(args: InitArgs) -> Result<(), Failure> {
    let output = Output::open("--out", &args.out, args.force)?;
    let problem = Problem::new(
        &args
            .experiment
            .settings("init", &EstimatorArgs::default())?,
    )?;
    let text = lojasim::init::format_theta0(&problem.theta0);
    output
        .write_with(|w| Ok(w.write_all(text.as_bytes())?))
        .map_err(Failure::Other)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flag_defaults_are_the_library_defaults() {
        let cli = Cli::parse_from(["lojasim", "run"]);
        let Command::Run(args) = cli.command else {
            panic!("expected run")
        };
        assert_eq!(
            args.experiment
                .settings("run", &EstimatorArgs::default())
                .unwrap(),
            Settings::default()
        );
    }

    #[test]
    fn run_reads_a_comma_list_of_a_vector_flag_as_coordinates() {
        let cli = Cli::parse_from([
            "lojasim",
            "run",
            "--theta0",
            "0.1,0.2",
            "--curvature",
            "1;2",
        ]);
        let Command::Run(args) = cli.command else {
            panic!("expected run")
        };
        let s = args
            .experiment
            .settings("run", &EstimatorArgs::default())
            .unwrap();
        assert_eq!((s.theta0, s.curvature), (vec![0.1, 0.2], vec![1.0, 2.0]));
        let cli = Cli::parse_from(["lojasim", "run", "--eta", "0.1,0.2"]);
        let Command::Run(args) = cli.command else {
            panic!("expected run")
        };
        let e = args
            .experiment
            .settings("run", &EstimatorArgs::default())
            .unwrap_err();
        assert_eq!(e.flag, "--eta");
        assert!(e.message.contains("use `lojasim sweep`"));
    }
}
