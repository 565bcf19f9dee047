//! `lojasim constants`: α, C_L, σ and the empirical-NTK bound over the ball, estimated by sampling.

use std::path::PathBuf;

use clap::Args;

use lojasim::Experiment;
use lojasim::report::{CONSTANTS_COLUMNS, ConstantsReport};

use super::Failure;
use super::experiment::{EstimatorArgs, ExperimentArgs, Threads};
use super::io::{
    DelayedBar, Format, Output, pretraining_bar, pretraining_progress, summary_and_row,
};

#[derive(Args, Debug)]
pub struct ConstantsArgs {
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    #[command(flatten)]
    pub threads: Threads,
    /// Write the estimates as a CSV row (with header) to FILE; `-` is standard output, and the
    /// summary then goes to standard error.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub out: Option<PathBuf>,
    /// Overwrite an existing --out file.
    #[arg(long, requires = "out", help_heading = "Output")]
    pub force: bool,
}

/// Runs `lojasim constants`.
pub fn execute(args: ConstantsArgs) -> Result<(), Failure> {
    let settings = args
        .experiment
        .settings("constants", &EstimatorArgs::default())?;
    let pool = args.threads.pool()?;
    let output = args
        .out
        .as_deref()
        .map(|p| Output::open("--out", p, args.force))
        .transpose()?;
    let pretraining = pretraining_bar(false);
    let hook = pretraining_progress(&pretraining, false);
    let bar = DelayedBar::new(0, false, "constants");
    let tick = |n, total| bar.tick(n, total);
    let e = pool.install(|| Experiment::with_progress(&settings, Some(&hook), &tick))?;
    pretraining.finish_and_clear();
    let report = pool.install(|| ConstantsReport::new(&e, &tick))?;
    drop(bar);
    summary_and_row(
        &report,
        output,
        CONSTANTS_COLUMNS,
        report.row().cells(),
        Format::Text,
    )?;
    Ok(())
}
