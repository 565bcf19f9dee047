//! `lojasim sweep`: every point of a grid, one row each, resumable and shardable.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use lojasim::config::EstimatorKind;
use lojasim::engine::Control;
use lojasim::output::resume::Finished;
use lojasim::output::sweep_csv;
use lojasim::output::{self, AppendCsv};
use lojasim::sweep::{DEFAULT_MAX_POINTS, PointTarget, Precision, Shard, plan, run_point_to};

use super::experiment::{
    DEFAULT_MAX_REPLICAS, EstimatorArgs, ExperimentArgs, Mode, PrecisionArgs, Threads,
};
use super::io::{cancel_on_ctrl_c, distinct_outputs, grid_losses, progress_bar};
use super::{Failure, usage};

pub const SWEEP_HELP: &str = "\
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

#[derive(Args, Debug)]
pub struct SweepArgs {
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    #[command(flatten)]
    pub estimator: EstimatorArgs,
    /// Run only trajectories [k·N/M, (k+1)·N/M) of every point (shards 0/M … M−1/M together are
    /// the full run; combine their files with `lojasim merge`).
    #[arg(long, value_name = "k/M", help_heading = "Sweep")]
    pub shard: Option<Shard>,
    #[command(flatten)]
    pub precision: PrecisionArgs,
    /// Refuse grids with more points than this.
    #[arg(long, default_value_t = DEFAULT_MAX_POINTS, help_heading = "Sweep")]
    pub max_points: u64,
    #[command(flatten)]
    pub threads: Threads,
    /// The results, one CSV row per point, each written as its point finishes; `-` is standard
    /// output.
    #[arg(long, value_name = "FILE", required = true, help_heading = "Output")]
    pub out: PathBuf,
    /// Also write the survival and contraction curves of every point to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub curves_out: Option<PathBuf>,
    /// Keep the rows already in --out (and --curves-out) and run only the missing points.
    #[arg(long, conflicts_with = "force", help_heading = "Output")]
    pub resume: bool,
    /// Overwrite existing output files.
    #[arg(long, help_heading = "Output")]
    pub force: bool,
    /// No progress bar.
    #[arg(long, help_heading = "Output")]
    pub quiet: bool,
}

/// Runs `lojasim sweep`.
pub fn execute(mut args: SweepArgs) -> Result<(), Failure> {
    for (flag, given) in [
        (
            "--target-halfwidth",
            args.precision.target_halfwidth.is_some(),
        ),
        (
            "--target-relative-error",
            args.precision.target_relative_error.is_some(),
        ),
    ] {
        if given && args.shard.is_some() {
            return Err(usage(format!(
                "{flag} cannot be used with --shard: a run to a precision decides its own \
                 number of trajectories (or replicas), so it cannot be split into fixed ranges"
            )));
        }
    }
    if args.estimator.estimator == EstimatorKind::Mc
        && args.precision.target_relative_error.is_some()
    {
        return Err(usage(
            "--target-relative-error applies to --estimator ams (crude Monte Carlo runs to a \
             precision with --target-halfwidth)"
                .to_string(),
        ));
    }
    args.precision.apply(&mut args.experiment)?;
    distinct_outputs(&[
        ("--out", Some(args.out.as_path())),
        ("--curves-out", args.curves_out.as_deref()),
    ])?;
    let grid = args.experiment.grid(Mode::Sweep, &args.estimator)?;
    if args.estimator.estimator == EstimatorKind::Ams {
        for (flag, given) in [
            (
                "--target-halfwidth",
                args.precision.target_halfwidth.is_some(),
            ),
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
    let precision = Precision {
        target: match (
            args.precision.target_halfwidth,
            args.precision.target_relative_error,
        ) {
            (Some(h), _) => Some(PointTarget::Halfwidth(h)),
            (_, Some(e)) => Some(PointTarget::RelativeError(e)),
            _ => None,
        },
        max_replicas: args.precision.max_replicas.unwrap_or(DEFAULT_MAX_REPLICAS),
    };
    // Building a point may run the constants estimator (about a second for a network).
    let bar = progress_bar(grid.len(), args.quiet, "points checked");
    let built = |n: u64| bar.inc(n);
    let pool = args.threads.pool()?;
    let points = pool
        .install(|| plan(&grid, shard, precision, Some(&built)))
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
                output::curves::CURVE_COLUMNS,
                args.force,
                args.resume,
            )?;
            let keep = done.curves_to_keep(&kept.rows);
            if keep.len() != kept.rows.len() {
                file.replace_rows(output::curves::CURVE_COLUMNS, &keep)?;
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
            let result = run_point_to(
                &p.experiment,
                p.range.clone(),
                p.target.as_ref(),
                p.relative.as_ref(),
                control,
            )
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
            let looks = result.looks();
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
            let total = p
                .relative
                .map_or(p.experiment.trajectories, |r| r.max_replicas);
            let row = sweep_csv::record(&report, p.id, &range, total, looks);
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
    let rows = done.rows_of(&points);
    let mut summary = output::summary::table(&grid, &rows);
    if let Some(h) = args.precision.target_halfwidth
        && let Some(note) = output::summary::target_shortfall(&rows, h)
    {
        summary.push_str(&note);
    }
    if let Some(e) = args.precision.target_relative_error {
        let missed = rows
            .iter()
            .filter(|r| r[sweep_csv::column("target_met")] == "false")
            .count();
        if missed > 0 {
            summary.push_str(&format!(
                "TARGET NOT MET at {missed} of {} points (target_met = false): a relative \
                 half-width ≤ {}% was not reached within --max-replicas {}; raise it (or \
                 --particles)\n",
                rows.len(),
                100.0 * e,
                precision.max_replicas
            ));
        }
    }
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
