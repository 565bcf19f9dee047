//! The `lojasim` command line: parses flags into checked settings, calls the library, writes output.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use lojasim::config::{NetworkSettings, Problem, Settings};
use lojasim::constants::Estimates;
use lojasim::engine::{self, Control};
use lojasim::estimate::CiMethod;
use lojasim::landscape::{Activation, ProblemKind};
use lojasim::noise::{BatchMode, NoiseDist, NoiseKind};
use lojasim::report::{CSV_COLUMNS, RunReport, constants_source_name};
use lojasim::schedule::ScheduleKind;
use lojasim::{ConfigError, Experiment};

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
    /// Print the theoretical constants and bounds for a configuration, without simulating.
    Bound(ExperimentArgs),
    /// Estimate α, C_L, σ (minibatch) and the empirical-NTK bound over the ball, by sampling
    /// (estimates, not certificates).
    Constants(ConstantsArgs),
    /// Write the starting point θ0 a run would use, one number per line (a --theta0-file).
    Init(InitArgs),
}

/// The flags that define an experiment (shared by `run` and `bound`).
#[derive(Args, Debug)]
struct ExperimentArgs {
    /// Loss landscape.
    #[arg(long, value_enum, default_value_t = ProblemKind::Mlp, help_heading = "Landscape")]
    problem: ProblemKind,
    /// Dimension d [default: the length of a list-valued --theta0/--curvature, else 10].
    #[arg(long, allow_negative_numbers = true, help_heading = "Landscape")]
    dim: Option<usize>,
    /// Curvatures a_i of the quadratic: one value (all coordinates) or d comma-separated values.
    #[arg(long, value_delimiter = ',', num_args = 1.., default_value = "1", allow_negative_numbers = true, help_heading = "Landscape")]
    curvature: Vec<f64>,
    /// Start θ0: one value (all coordinates) or d comma-separated values [default: 0.3225 for
    /// quadratic and ring; the seeded initialisation (--init-seed) for least-squares and mlp].
    #[arg(long, value_delimiter = ',', num_args = 1.., allow_negative_numbers = true, help_heading = "Landscape")]
    theta0: Vec<f64>,
    /// Radius r of the ball B(θ0, r) the trajectories must stay in.
    #[arg(
        long,
        default_value_t = 0.3,
        allow_negative_numbers = true,
        help_heading = "Landscape"
    )]
    radius: f64,

    /// Gradient noise: ml (√(σF)·Z), bounded (√σ·Z) or none (gradient descent).
    #[arg(long, value_enum, default_value_t = NoiseKind::Ml, help_heading = "Noise and steps")]
    noise: NoiseKind,
    /// Law of Z: N(0, I/d) or independent ±1/√d coordinates.
    #[arg(long, value_enum, default_value_t = NoiseDist::Gaussian, help_heading = "Noise and steps")]
    noise_dist: NoiseDist,
    /// Noise level σ (E|g − ∇F|² = σF for ml, σ for bounded) [default: 1].
    #[arg(long, allow_negative_numbers = true, help_heading = "Noise and steps")]
    sigma: Option<f64>,
    /// Step-size schedule.
    #[arg(long, value_enum, default_value_t = ScheduleKind::Constant, help_heading = "Noise and steps")]
    schedule: ScheduleKind,
    /// Constant step η [default: 0.05 for quadratic and ring; for least-squares and mlp half the
    /// largest step the theorem allows, α/(C_L(2C_L + σ)), from the constants].
    #[arg(long, allow_negative_numbers = true, help_heading = "Noise and steps")]
    eta: Option<f64>,
    /// Robbins–Monro γ in η_k = γ/(k + n0)^q, k = 0, 1, … [default: 0.1].
    #[arg(long, allow_negative_numbers = true, help_heading = "Noise and steps")]
    gamma: Option<f64>,
    /// Robbins–Monro offset n0 [default: 1].
    #[arg(long, allow_negative_numbers = true, help_heading = "Noise and steps")]
    n0: Option<f64>,
    /// Robbins–Monro exponent q [default: 0.75].
    #[arg(long, allow_negative_numbers = true, help_heading = "Noise and steps")]
    q: Option<f64>,

    /// Steps K per trajectory.
    #[arg(
        long,
        allow_negative_numbers = true,
        default_value_t = 1000,
        help_heading = "Simulation"
    )]
    steps: u64,
    /// Convergence threshold: a trajectory converged if it stayed and F(θ_K) ≤ ε.
    #[arg(
        long,
        default_value_t = 1e-6,
        allow_negative_numbers = true,
        help_heading = "Simulation"
    )]
    eps: f64,
    /// Number of trajectories N.
    #[arg(
        long,
        allow_negative_numbers = true,
        default_value_t = 1_000,
        help_heading = "Simulation"
    )]
    trajectories: u64,
    /// Master seed: trajectory i draws from a generator seeded by (seed, i).
    #[arg(
        long,
        allow_negative_numbers = true,
        default_value_t = 0,
        help_heading = "Simulation"
    )]
    seed: u64,

    /// Confidence-interval method for the proportions.
    #[arg(long, value_enum, default_value_t = CiMethod::Wilson, help_heading = "Estimation")]
    ci: CiMethod,
    /// Confidence level of the intervals.
    #[arg(
        long,
        default_value_t = 0.95,
        allow_negative_numbers = true,
        help_heading = "Estimation"
    )]
    confidence: f64,
    /// Override the Łojasiewicz constant α of the ball (|∇F|² ≥ α·F).
    #[arg(long, allow_negative_numbers = true, help_heading = "Estimation")]
    alpha: Option<f64>,
    /// Override the smoothness constant C_L of the ball.
    #[arg(
        long = "c-l",
        allow_negative_numbers = true,
        help_heading = "Estimation"
    )]
    c_l: Option<f64>,

    #[command(flatten)]
    network: NetworkArgs,
}

/// Flags of the data landscapes, minibatch noise and the constants estimator.
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
    #[arg(long, value_enum, default_value_t = Activation::Tanh, help_heading = "Data and network")]
    activation: Activation,
    /// Seed of the LeCun-normal initialisation (weights N(0, 1/fan_in), biases 0).
    #[arg(long, default_value_t = 0, help_heading = "Data and network")]
    init_seed: u64,
    /// Gradient-descent steps from the initialisation to θ0 (0: start at the initialisation).
    #[arg(long, default_value_t = 50_000, help_heading = "Data and network")]
    init_steps: u64,
    /// Step size of those gradient-descent steps.
    #[arg(
        long,
        default_value_t = 0.12,
        allow_negative_numbers = true,
        help_heading = "Data and network"
    )]
    init_eta: f64,
    /// θ0 from a file: one number per line in the documented parameter order (docs/networks.md).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "theta0",
        help_heading = "Data and network"
    )]
    theta0_file: Option<PathBuf>,
    /// Minibatch size B for --noise minibatch [default: 8].
    #[arg(long, allow_negative_numbers = true, help_heading = "Noise and steps")]
    batch: Option<usize>,
    /// How the B rows of a minibatch are drawn.
    #[arg(long, value_enum, default_value_t = BatchMode::WithReplacement, help_heading = "Noise and steps")]
    batch_mode: BatchMode,
    /// Points the constants estimator samples uniformly in the ball (and as many on its surface).
    #[arg(
        long,
        default_value_t = 64,
        allow_negative_numbers = true,
        help_heading = "Estimation"
    )]
    constant_samples: usize,
}

impl NetworkArgs {
    fn settings(&self) -> NetworkSettings {
        NetworkSettings {
            data: self.data.clone(),
            target: self.target.clone(),
            standardize: self.standardize,
            bias: self.bias,
            hidden: self.hidden.clone(),
            activation: self.activation,
            init_seed: self.init_seed,
            init_steps: self.init_steps,
            init_eta: self.init_eta,
            theta0_file: self.theta0_file.clone(),
            batch: self.batch,
            batch_mode: self.batch_mode,
            constant_samples: self.constant_samples,
        }
    }
}

#[derive(Args, Debug)]
struct ConstantsArgs {
    #[command(flatten)]
    experiment: ExperimentArgs,
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

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    experiment: ExperimentArgs,
    /// Worker threads (0: one per core). Results do not depend on it.
    #[arg(
        long,
        allow_negative_numbers = true,
        default_value_t = 0,
        help_heading = "Output"
    )]
    threads: usize,
    /// Write the result as a CSV row (with header) to FILE; `-` is standard output, and the
    /// summary then goes to standard error.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    out: Option<PathBuf>,
    /// Overwrite an existing --out file.
    #[arg(long, requires = "out", help_heading = "Output")]
    force: bool,
    /// No progress bar.
    #[arg(long, help_heading = "Output")]
    quiet: bool,
}

impl ExperimentArgs {
    fn settings(&self) -> Settings {
        Settings {
            problem: self.problem,
            dim: self.dim,
            curvature: self.curvature.clone(),
            theta0: self.theta0.clone(),
            noise: self.noise,
            noise_dist: self.noise_dist,
            sigma: self.sigma,
            schedule: self.schedule,
            eta: self.eta,
            gamma: self.gamma,
            n0: self.n0,
            q: self.q,
            radius: self.radius,
            steps: self.steps,
            eps: self.eps,
            trajectories: self.trajectories,
            seed: self.seed,
            ci: self.ci,
            confidence: self.confidence,
            alpha: self.alpha,
            c_l: self.c_l,
            network: self.network.settings(),
        }
    }
}

/// Failures, by exit status: bad input is 2 (as for clap's own usage errors), an interrupted run
/// 130 (as for a shell's SIGINT), anything else 1.
enum Failure {
    Usage(anyhow::Error),
    Interrupted,
    Other(anyhow::Error),
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure::Usage(e.into())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Bound(args) => bound(args),
        Command::Constants(args) => constants(args),
        Command::Init(args) => init(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
        Err(Failure::Interrupted) => {
            eprintln!("interrupted: no output was written");
            ExitCode::from(130)
        }
        Err(Failure::Other(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Where the CSV goes: standard output, or a temporary file beside the target that is renamed over
/// it only once complete, so an interrupted run never leaves a partial file.
enum Output {
    Stdout,
    File {
        temp: tempfile::NamedTempFile,
        path: PathBuf,
    },
}

impl Output {
    /// Opens the output before any work starts, so that a bad path fails at once.
    fn open(path: &Path, force: bool) -> Result<Self, Failure> {
        if path == Path::new("-") {
            return Ok(Output::Stdout);
        }
        if path.exists() && !force {
            return Err(Failure::Usage(anyhow::anyhow!(
                "--out {} already exists; pass --force to overwrite it",
                path.display()
            )));
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".lojasim-")
            .suffix(".partial")
            .tempfile_in(dir)
            .map_err(|e| {
                Failure::Usage(anyhow::anyhow!(
                    "--out {}: cannot create a file in {}: {e}",
                    path.display(),
                    dir.display()
                ))
            })?;
        Ok(Output::File {
            temp,
            path: path.to_path_buf(),
        })
    }

    fn write_csv(self, rows: &[Vec<String>]) -> anyhow::Result<()> {
        self.write_table(&CSV_COLUMNS, rows)
    }

    fn write_table(self, header: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
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
            Output::File { mut temp, path } => {
                write(temp.as_file_mut())?;
                temp.as_file().sync_all()?;
                temp.persist(&path)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                Ok(())
            }
        }
    }
}

fn run(args: RunArgs) -> Result<(), Failure> {
    let experiment = Experiment::new(&args.experiment.settings())?;
    let output = args
        .out
        .as_deref()
        .map(|p| Output::open(p, args.force))
        .transpose()?;
    let summary_to_stderr = matches!(output, Some(Output::Stdout));

    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = Arc::clone(&cancel);
        // Failing to install the handler only loses the clean shutdown, so it is not fatal.
        let _ = ctrlc::set_handler(move || cancel.store(true, Ordering::Relaxed));
    }
    let bar = progress_bar(experiment.trajectories, args.quiet);
    let progress = |n: u64| bar.inc(n);
    let control = Control {
        progress: Some(&progress),
        cancel: Some(&cancel),
    };
    let start = Instant::now();
    let tally = engine::with_threads(args.threads, || experiment.simulate(control))
        .map_err(|e| Failure::Usage(anyhow::anyhow!("--threads {}: {e}", args.threads)))?
        .map_err(|_| Failure::Interrupted)?;
    let elapsed = start.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let report = RunReport::new(&experiment, tally, elapsed)
        .map_err(|e| Failure::Usage(anyhow::anyhow!("--confidence: {e}")))?;
    if summary_to_stderr {
        eprintln!("{report}");
    } else {
        println!("{report}");
    }
    if let Some(output) = output {
        output
            .write_csv(&[report.csv_record()])
            .map_err(Failure::Other)?;
    }
    Ok(())
}

fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    // indicatif draws nothing when stderr is not a terminal.
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} trajectories  {per_sec}  eta {eta}")
            .expect("static template"),
    );
    bar
}

fn bound(args: ExperimentArgs) -> Result<(), Failure> {
    let e = Experiment::new(&args.settings())?;
    let b = e.bound();
    let opt = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.6}"));
    println!("problem        {}, d = {}", e.problem.kind, e.dim());
    println!("F(θ0)          {:.6e}", e.f0);
    println!("radius r       {}", e.radius);
    println!(
        "α              {:.6} ({} constants)",
        e.constants.alpha,
        constants_source_name(e.constants.source)
    );
    println!("C_L            {:.6}", e.constants.c_l);
    println!("ρ              {}", opt(b.rho));
    println!("δ              {}", opt(b.delta));
    let vac = |x: Option<f64>| {
        if x.is_some_and(|v| v <= 0.0) {
            "  (vacuous)"
        } else {
            ""
        }
    };
    println!("P(stay) ≥      {}{}", opt(b.stay_bound), vac(b.stay_bound));
    println!(
        "P(converge) ≥  {}{}",
        opt(b.converge_bound),
        vac(b.converge_bound)
    );
    if let Some(why) = b.not_applicable {
        println!("not applicable {why}");
    }
    println!("Chatterjee     4·F(θ0) < r²·α: {}", b.chatterjee);
    Ok(())
}

/// Columns of `lojasim constants --out`. Empty cells: not computed for this configuration.
const CONSTANTS_COLUMNS: [&str; 17] = [
    "problem",
    "dim",
    "radius",
    "f0",
    "seed",
    "points",
    "alpha_hat",
    "c_l_hat",
    "hessian_norm_max",
    "gradient_ratio_max",
    "sigma_hat",
    "batch",
    "batch_mode",
    "ntk_lambda_min",
    "ntk_alpha",
    "alpha_exact",
    "c_l_exact",
];

fn constants(args: ConstantsArgs) -> Result<(), Failure> {
    let e = Experiment::new(&args.experiment.settings())?;
    let output = args
        .out
        .as_deref()
        .map(|p| Output::open(p, args.force))
        .transpose()?;
    let est: Estimates = e.estimates.unwrap_or_else(|| e.estimate_constants());
    let exact = e.landscape.exact_constants(&e.theta0, e.radius);
    let opt = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
    let batch = match e.noise {
        lojasim::noise::NoiseModel::Minibatch { batch, mode, .. } => Some((batch, mode)),
        _ => None,
    };
    let row = vec![
        e.problem.kind.name().to_string(),
        e.dim().to_string(),
        e.radius.to_string(),
        e.f0.to_string(),
        e.seed.to_string(),
        est.points.to_string(),
        est.alpha.to_string(),
        est.c_l.to_string(),
        est.hessian_norm.to_string(),
        est.gradient_ratio.to_string(),
        opt(est.sigma),
        batch.map_or(String::new(), |(b, _)| b.to_string()),
        batch.map_or(String::new(), |(_, m)| m.name().to_string()),
        opt(est.ntk_lambda_min),
        opt(est.ntk_alpha),
        opt(exact.map(|c| c.alpha)),
        opt(exact.map(|c| c.c_l)),
    ];
    let mut s = String::new();
    let line = |s: &mut String, name: &str, v: String| {
        s.push_str(&format!("{name:<15}{v}\n"));
    };
    let exact_note = |x: Option<f64>| x.map_or(String::new(), |v| format!("   (exact {v:.6})"));
    line(
        &mut s,
        "problem",
        format!("{}, d = {}", e.problem.kind, e.dim()),
    );
    if let Some(d) = &e.data {
        line(&mut s, "data", format!("{}, n = {} rows", d.name, d.rows()));
    }
    line(&mut s, "F(θ0)", format!("{:.6e}", e.f0));
    line(&mut s, "radius r", e.radius.to_string());
    line(
        &mut s,
        "points",
        format!(
            "{} (θ0, {} in the ball, {} on its surface, sample GD/SGD paths; seed {})",
            est.points, e.constant_samples, e.constant_samples, e.seed
        ),
    );
    line(
        &mut s,
        "α̂",
        format!("{:.6}{}", est.alpha, exact_note(exact.map(|c| c.alpha))),
    );
    line(
        &mut s,
        "Ĉ_L",
        format!(
            "{:.6}{}   (max ‖H‖ {:.6}, max |∇F|²/2F {:.6})",
            est.c_l,
            exact_note(exact.map(|c| c.c_l)),
            est.hessian_norm,
            est.gradient_ratio / 2.0
        ),
    );
    if let (Some(sigma), Some((b, m))) = (est.sigma, batch) {
        line(
            &mut s,
            "σ̂",
            format!("{sigma:.6}   (minibatch B = {b}, {m})"),
        );
    }
    if let (Some(l), Some(a)) = (est.ntk_lambda_min, est.ntk_alpha) {
        line(
            &mut s,
            "NTK λ_min",
            format!("{l:.6e}   (smallest λ_min(J Jᵀ) seen: α ≥ 2λ_min/n = {a:.6})"),
        );
    }
    s.push_str("These are estimates from sampled points, not certificates: the true α may be smaller and the true C_L, σ larger.");
    if matches!(output, Some(Output::Stdout)) {
        eprintln!("{s}");
    } else {
        println!("{s}");
    }
    if let Some(output) = output {
        output
            .write_table(&CONSTANTS_COLUMNS, &[row])
            .map_err(Failure::Other)?;
    }
    Ok(())
}

fn init(args: InitArgs) -> Result<(), Failure> {
    let output = Output::open(&args.out, args.force)?;
    let problem = Problem::new(&args.experiment.settings())?;
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
        assert_eq!(args.experiment.settings(), Settings::default());
    }
}
