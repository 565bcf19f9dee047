//! `lojasim init`: the starting point θ0 a run would use, as a `--theta0-file`.

use std::path::PathBuf;

use clap::Args;

use lojasim::config::Problem;

use super::Failure;
use super::experiment::{EstimatorArgs, ExperimentArgs};
use super::io::Output;

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
