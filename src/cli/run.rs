//! `lojasim run`: one configuration, simulated, summarised beside its bound.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use lojasim::Experiment;
use lojasim::ams::RelativeTarget;
use lojasim::config::Estimator;
use lojasim::engine::Control;
use lojasim::output;
use lojasim::report::{CSV_COLUMNS, RunReport};
use lojasim::runner::GridLosses;
use lojasim::sweep::config_id;

use super::experiment::{EstimatorArgs, ExperimentArgs, Threads};
use super::io::{
    DelayedBar, Output, cancel_on_ctrl_c, distinct_outputs, grid_losses, progress_bar,
    summary_and_row,
};
use super::{Failure, usage};

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    #[command(flatten)]
    pub estimator: EstimatorArgs,
    /// With --estimator ams: add replicas (from --replicas on) until the interval's half-width
    /// is at most E times the estimate, e.g. 0.1; the interval is then ams-t-spent, which keeps
    /// its confidence over the repeated looks.
    #[arg(long, value_name = "E", help_heading = "Estimation")]
    pub target_relative_error: Option<f64>,
    /// The most replicas --target-relative-error may use [default: 10000].
    #[arg(
        long,
        value_name = "M",
        requires = "target_relative_error",
        help_heading = "Estimation"
    )]
    pub max_replicas: Option<u64>,
    #[command(flatten)]
    pub threads: Threads,
    /// Write the result as a CSV row (with header) to FILE; `-` is standard output, and the
    /// summary then goes to standard error.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub out: Option<PathBuf>,
    /// Write the survival and contraction curves (docs/sweeps.md) to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub curves_out: Option<PathBuf>,
    /// Write the paths of the first N trajectories, every step, to FILE (columns trajectory, k,
    /// loss, distance; for scripts/plot.py traces).
    #[arg(long, num_args = 2, value_names = ["N", "FILE"], help_heading = "Output")]
    pub trace: Option<Vec<String>>,
    /// Overwrite existing output files.
    #[arg(long, help_heading = "Output")]
    pub force: bool,
    /// No progress bar.
    #[arg(long, help_heading = "Output")]
    pub quiet: bool,
}

/// Runs `lojasim run`.
pub fn execute(args: RunArgs) -> Result<(), Failure> {
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
    let experiment = {
        let bar = DelayedBar::new(0, args.quiet, "constants");
        pool.install(|| Experiment::with_progress(&settings, &|n, total| bar.tick(n, total)))?
    };
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
            .write_csv(output::curves::CURVE_COLUMNS, &rows)
            .map_err(Failure::Other)?;
    }
    if let Some((n, out)) = trace {
        let rows: Vec<Vec<String>> = lojasim::trace::trace(&experiment, n)
            .iter()
            .map(|p| p.cells())
            .collect();
        out.write_csv(lojasim::trace::TRACE_COLUMNS, &rows)
            .map_err(Failure::Other)?;
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
