//! The `lojasim` command line: parses the flags, hands the command to its module in [`cli`] and
//! turns the outcome into an exit status.

#[macro_use]
mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use cli::{Cli, Command, Failure, Given};

fn main() -> ExitCode {
    let command = Cli::command();
    let matches = command.clone().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Some(experiment) = cli.command.experiment_mut() {
        experiment.given = Given::of(&command, &matches);
    }
    let result = match cli.command {
        Command::Run(args) => cli::run::execute(args),
        Command::Sweep(args) => cli::sweep::execute(args),
        Command::Merge(args) => cli::merge::execute(args),
        Command::Bound(args) => cli::bound::execute(args),
        Command::Constants(args) => cli::constants::execute(args),
        Command::Init(args) => cli::init::execute(args),
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
