//! The subcommands: their flags (declared once, with default, help and checks beside them), how
//! they become checked settings, and what each command does with the library's results. One file
//! per subcommand; the flags several share are in [`experiment`], the handling of output files,
//! progress and Ctrl-C in [`io`].

/// `println!` that does not panic when standard output is closed (`lojasim run | head -1`): the
/// failed write is dropped, so the output files are still written (`run` prints its summary before
/// writing `--out`) and the exit status is unchanged; the reader loses only lines it did not read.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

/// `eprintln!` that does not panic when standard error is closed; the exit status still tells.
macro_rules! tell {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($t)*);
    }};
}

pub mod bound;
pub mod constants;
pub mod experiment;
pub mod init;
pub mod io;
pub mod merge;
pub mod run;
pub mod sweep;

use clap::{Parser, Subcommand};

use lojasim::ConfigError;
use lojasim::output::OutputError;
use lojasim::output::resume::ResumeError;

#[derive(Parser, Debug)]
#[command(name = "lojasim", version, about = "Monte Carlo estimates of what An & Lu's SGD convergence theorem bounds", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Simulate one configuration: P(stay in the ball) and P(converge), with intervals, beside the bound.
    Run(run::RunArgs),
    /// Simulate every point of a grid of flag values, one CSV row per point (see docs/sweeps.md).
    #[command(after_help = sweep::SWEEP_HELP)]
    Sweep(sweep::SweepArgs),
    /// Combine the files of a sharded sweep into the rows of the unsharded run.
    Merge(merge::MergeArgs),
    /// Print the theoretical constants and bounds for a configuration, without simulating.
    Bound(bound::BoundArgs),
    /// Estimate α, C_L, σ (minibatch) over the ball on the safe side: sampled, adversarial,
    /// empirical-NTK and, where the ball is small enough, certified.
    Constants(constants::ConstantsArgs),
    /// Write the starting point θ0 a run would use, one number per line (a --theta0-file).
    Init(init::InitArgs),
}

/// The long flags typed on the command line (not those left at their defaults), for the checks
/// that refuse a flag that does not apply.
#[derive(Clone, Debug, Default)]
pub struct Given {
    /// The subcommand (`run`, `constants`, …).
    pub command: String,
    flags: Vec<String>,
}

impl Given {
    /// The flags of the subcommand in `matches` whose value came from the command line.
    pub fn of(command: &clap::Command, matches: &clap::ArgMatches) -> Self {
        let Some((name, sub)) = matches.subcommand() else {
            return Self::default();
        };
        let Some(command) = command.find_subcommand(name) else {
            return Self::default();
        };
        Given {
            command: name.to_string(),
            flags: command
                .get_arguments()
                .filter(|a| {
                    sub.value_source(a.get_id().as_str())
                        == Some(clap::parser::ValueSource::CommandLine)
                })
                .filter_map(|a| a.get_long().map(|long| format!("--{long}")))
                .collect(),
        }
    }

    pub fn contains(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

impl Command {
    /// The experiment flags of the command, if it has them.
    pub fn experiment_mut(&mut self) -> Option<&mut experiment::ExperimentArgs> {
        match self {
            Command::Run(a) => Some(&mut a.experiment),
            Command::Sweep(a) => Some(&mut a.experiment),
            Command::Bound(a) => Some(&mut a.experiment),
            Command::Constants(a) => Some(&mut a.experiment),
            Command::Init(a) => Some(&mut a.experiment),
            Command::Merge(_) => None,
        }
    }
}

/// Failures, by exit status: bad input is 2 (as for clap's own usage errors), an interrupted run
/// 130 (as for a shell's SIGINT), anything else 1.
pub enum Failure {
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

pub fn usage(message: String) -> Failure {
    Failure::Usage(anyhow::anyhow!(message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use experiment::EstimatorArgs;
    use lojasim::Settings;

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
