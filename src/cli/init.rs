//! `lojasim init`: the starting point θ0 a run would use, as a `--theta0-file`.

use std::path::PathBuf;

use clap::Args;

use lojasim::config::Problem;

use super::Failure;
use super::experiment::{EstimatorArgs, ExperimentArgs};
use super::io::{Output, pretraining_bar, pretraining_progress};

#[derive(Args, Debug)]
pub struct InitArgs {
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// Where to write θ0; `-` is standard output.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub out: PathBuf,
    /// Overwrite an existing --out file.
    #[arg(long, help_heading = "Output")]
    pub force: bool,
}

/// Runs `lojasim init`.
pub fn execute(args: InitArgs) -> Result<(), Failure> {
    let output = Output::open("--out", &args.out, args.force)?;
    let settings = args
        .experiment
        .settings("init", &EstimatorArgs::default())?;
    let start = std::time::Instant::now();
    let pretraining = pretraining_bar(false);
    let hook = pretraining_progress(&pretraining, false);
    let problem = Problem::with_progress(&settings, Some(&hook))?;
    pretraining.finish_and_clear();
    let text = lojasim::init::format_theta0(&problem.theta0);
    output
        .write_with(|w| Ok(w.write_all(text.as_bytes())?))
        .map_err(Failure::Other)?;
    // What was written, on standard error (standard output may be the file).
    tell!(
        "θ0 of d = {} parameters, F(θ0) = {:.6e}, written to {} in {:.2} s",
        problem.theta0.len(),
        problem.f0,
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    if let Some(i) = &problem.init {
        tell!(
            "{}",
            lojasim::report::init_line(i, problem.f0, settings.eps)
        );
    }
    Ok(())
}
