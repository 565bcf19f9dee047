//! `lojasim run`: one configuration, simulated, summarised beside its bound.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use lojasim::Experiment;
use lojasim::ams::RelativeTarget;
use lojasim::config::Estimator;
use lojasim::engine;
use lojasim::engine::Control;
use lojasim::estimate::sequential::Target;
use lojasim::output;
use lojasim::report::{CSV_COLUMNS, RunReport};
use lojasim::runner::GridLosses;
use lojasim::sweep::config_id;
use lojasim::sweep::{PointResult, PointTarget, run_point};

use super::experiment::{EstimatorArgs, ExperimentArgs, PrecisionArgs, Threads};
use super::io::{
    DelayedBar, Format, FormatArg, Output, cancel_on_ctrl_c, distinct_outputs, grid_losses,
    pretraining_bar, pretraining_progress, progress_bar, summary_and_row,
};
use super::{Failure, usage};

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    #[command(flatten)]
    pub estimator: EstimatorArgs,
    #[command(flatten)]
    pub precision: PrecisionArgs,
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
    #[command(flatten)]
    pub format: FormatArg,
    /// No progress bar.
    #[arg(long, help_heading = "Output")]
    pub quiet: bool,
}

/// Runs `lojasim run`.
pub fn execute(mut args: RunArgs) -> Result<(), Failure> {
    args.precision.apply(&mut args.experiment)?;
    let format = args.format.check(args.out.as_deref())?;
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
    let pretraining = pretraining_bar(args.quiet);
    let hook = pretraining_progress(&pretraining, args.quiet);
    let experiment = {
        let bar = DelayedBar::new(0, args.quiet, "constants");
        pool.install(|| {
            Experiment::with_progress(&settings, Some(&hook), &|n, total| bar.tick(n, total))
        })?
    };
    pretraining.finish_and_clear();
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
        if args.precision.target_halfwidth.is_some() {
            return Err(usage(
                "--target-halfwidth applies to --estimator mc (splitting runs to a relative \
                 precision with --target-relative-error)"
                    .to_string(),
            ));
        }
        let target = relative_target(&args, &experiment)?;
        return run_splitting(&experiment, &pool, output, target, args.quiet, format);
    }
    if args.precision.target_relative_error.is_some() {
        return Err(usage(
            "--target-relative-error applies to --estimator ams (crude Monte Carlo runs to a \
             precision with --target-halfwidth)"
                .to_string(),
        ));
    }

    let target = args
        .precision
        .target_halfwidth
        .map(|h| Target::new(h, experiment.trajectories, experiment.confidence))
        .transpose()?;
    let cancel = cancel_on_ctrl_c();
    let bar = progress_bar(experiment.trajectories, args.quiet, "trajectories");
    let progress = |n: u64| bar.inc(n);
    let control = Control {
        progress: Some(&progress),
        cancel: Some(&cancel),
        grid_losses: grid_losses(curves.is_some()),
    };
    let start = Instant::now();
    let planned = experiment.trajectories;
    let (result, partial) = match &target {
        Some(t) => {
            let result = pool
                .install(|| run_point(&experiment, 0..planned, Some(t), control))
                .map_err(|_| {
                    Failure::Interrupted(
                        "no output was written (a run to --target-halfwidth keeps nothing when \
                         interrupted: its interval is valid only at a look)"
                            .to_string(),
                    )
                })?;
            (result, false)
        }
        None => {
            // In chunks, so that Ctrl-C keeps the finished ones; the first chunk times the run.
            let announce = |done: u64, total: u64| {
                if done == engine::PILOT.min(total) && done < total {
                    let seconds =
                        start.elapsed().as_secs_f64() * (total - done) as f64 / done as f64;
                    if seconds > ANNOUNCE_ABOVE_S {
                        bar.suspend(|| {
                            tell!(
                                "planned: {total} trajectories × {} steps, about {} on {} threads \
                                 (timed on the first {done}); Ctrl-C keeps the finished part",
                                experiment.steps,
                                duration(seconds),
                                pool.current_num_threads()
                            )
                        });
                    }
                }
            };
            let prefix = pool.install(|| {
                engine::simulate_prefix(
                    &experiment.dynamics(),
                    experiment.seed,
                    0..planned,
                    control,
                    announce,
                )
            });
            if prefix.end == 0 {
                return Err(Failure::Interrupted(
                    "no trajectory had finished; no output was written".to_string(),
                ));
            }
            let complete = prefix.complete;
            (PointResult::of_tally(prefix.tally), !complete)
        }
    };
    let elapsed = start.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let curve_rows = curves.is_some().then(|| {
        let id = config_id(
            &settings,
            &experiment,
            args.precision.target_halfwidth.map(PointTarget::Halfwidth),
        );
        output::curves::records(&experiment, &result.tally, id, &(0..result.used()))
    });
    let used = result.used();
    let mut report = result
        .report(&experiment, target.as_ref(), elapsed)
        .map_err(|e| Failure::Usage(anyhow::anyhow!("--confidence: {e}")))?;
    if partial {
        report.partial_of = Some(planned);
    }
    summary_and_row(&report, output, &CSV_COLUMNS, report.csv_record(), format)?;
    if partial {
        // The trace and curves of a partial run would describe a run that did not happen.
        return Err(Failure::Interrupted(format!(
            "the estimate of the first {used} of {planned} trajectories was written, marked \
             partial{}",
            if args.out.is_some() {
                " (column partial = true)"
            } else {
                ""
            }
        )));
    }
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

/// A run predicted to take longer than this (seconds) says so after its first chunk.
const ANNOUNCE_ABOVE_S: f64 = 10.0;

/// A duration for people: seconds, minutes, hours or days, to a tenth.
fn duration(seconds: f64) -> String {
    let (value, unit) = if seconds < 120.0 {
        (seconds, "s")
    } else if seconds < 7200.0 {
        (seconds / 60.0, "min")
    } else if seconds < 172_800.0 {
        (seconds / 3600.0, "h")
    } else {
        (seconds / 86_400.0, "days")
    };
    format!("{value:.1} {unit}")
}

/// `--target-relative-error` and `--max-replicas`, checked.
fn relative_target(
    args: &RunArgs,
    experiment: &Experiment,
) -> Result<Option<RelativeTarget>, Failure> {
    Ok(args
        .precision
        .relative_target(experiment.trajectories, experiment.confidence)?)
}

/// `run --estimator ams`: the replicas on the pool (to a relative precision with `target`), the
/// summary, the row.
fn run_splitting(
    experiment: &Experiment,
    pool: &rayon::ThreadPool,
    output: Option<Output>,
    target: Option<RelativeTarget>,
    quiet: bool,
    format: Format,
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
    summary_and_row(&report, output, &CSV_COLUMNS, report.csv_record(), format)?;
    Ok(())
}
