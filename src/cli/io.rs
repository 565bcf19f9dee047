//! Where a command's results go (standard output or files written atomically), its progress bar
//! and its Ctrl-C flag.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use lojasim::output;
use lojasim::runner::GridLosses;

use super::{Failure, usage};

/// Where a whole-file output goes: standard output, or a file written whole at the end by
/// [`output::write_atomically`] (temporary file beside it, then rename; a device such as
/// /dev/null is written in place), so an interrupted run never leaves a partial file.
pub enum Output {
    Stdout,
    File {
        flag: &'static str,
        path: PathBuf,
        overwrite: bool,
    },
}

impl Output {
    /// Checks the output of `flag` before any work starts, so that a bad path fails at once.
    pub fn open(flag: &'static str, path: &Path, force: bool) -> Result<Self, Failure> {
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

    pub fn write_csv(self, header: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
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

    pub fn write_with(
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
pub fn cancel_on_ctrl_c() -> Arc<AtomicBool> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    // Failing to install the handler only loses the clean shutdown, so it is not fatal.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    cancel
}

/// Refuses two output flags with the same destination: two CSVs would be interleaved on standard
/// output, or one file would replace the other. Devices (`/dev/null`) may be shared.
pub fn distinct_outputs(outputs: &[(&str, Option<&Path>)]) -> Result<(), Failure> {
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

/// Prints a command's summary (to standard error when its CSV row goes to standard output), then
/// writes the row with its header to `output`, if any.
pub fn summary_and_row(
    summary: &impl std::fmt::Display,
    output: Option<Output>,
    header: &[&str],
    row: Vec<String>,
    format: Format,
) -> Result<(), Failure> {
    if format == Format::Json {
        // Standard output holds the object alone; the summary goes to standard error.
        tell!("{summary}");
        say!("{}", output::json::object(header, &row));
    } else if matches!(output, Some(Output::Stdout)) {
        tell!("{summary}");
    } else {
        say!("{summary}");
    }
    if let Some(output) = output {
        output.write_csv(header, &[row]).map_err(Failure::Other)?;
    }
    Ok(())
}

/// How a command prints its result on standard output.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// The summary, for people.
    #[default]
    Text,
    /// One JSON object with the fields of the CSV row (numbers as numbers, empty cells as
    /// null); the summary goes to standard error.
    Json,
}

/// `--format`, shared by the commands that print one result.
#[derive(clap::Args, Clone, Copy, Debug, Default)]
pub struct FormatArg {
    /// How the result is printed on standard output: text (the summary) or json (one object
    /// with the CSV row's fields, for scripts and notebooks; the summary goes to standard error).
    #[arg(long, value_enum, default_value = "text", help_heading = "Output")]
    pub format: Format,
}

impl FormatArg {
    /// JSON and a CSV row cannot both be standard output.
    pub fn check(self, out: Option<&Path>) -> Result<Format, Failure> {
        if self.format == Format::Json && out == Some(Path::new("-")) {
            return Err(usage(
                "--format json prints the result on standard output, so --out cannot be `-` \
                 there; give --out a file or drop one of the two"
                    .to_string(),
            ));
        }
        Ok(self.format)
    }
}

/// F at every curve-grid step only when a curves file will hold it (it costs extra full losses
/// with minibatch noise and changes nothing else).
pub fn grid_losses(curves: bool) -> GridLosses {
    if curves {
        GridLosses::All
    } else {
        GridLosses::Free
    }
}

/// A bar on standard error counting `total` `what` (e.g. "trajectories").
/// A bar for work whose length is not known in advance to be worth one: hidden until `tick` has
/// run for more than a second (then drawn as [`progress_bar`] would), never shown if `quiet`.
pub struct DelayedBar {
    bar: ProgressBar,
    start: std::time::Instant,
    shown: AtomicBool,
    quiet: bool,
}

impl DelayedBar {
    pub fn new(total: u64, quiet: bool, what: &str) -> Self {
        let bar = progress_bar(total, quiet, what);
        bar.set_draw_target(ProgressDrawTarget::hidden());
        Self {
            bar,
            start: std::time::Instant::now(),
            shown: AtomicBool::new(false),
            quiet,
        }
    }

    /// Counts `n` units done of `total`.
    pub fn tick(&self, n: u64, total: u64) {
        if self.bar.length() != Some(total) {
            self.bar.set_length(total);
        }
        self.bar.inc(n);
        if !self.quiet
            && self.start.elapsed().as_secs_f64() > 1.0
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }
}

impl Drop for DelayedBar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

pub fn progress_bar(total: u64, quiet: bool, what: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    // indicatif draws nothing when stderr is not a terminal.
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {what}  {{rate}}  eta {{eta}}"
        ))
        .expect("valid template")
        .with_key(
            "rate",
            |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}/s", rounded_rate(state.per_sec()));
            },
        ),
    );
    bar
}

/// A bar for the pre-training of a network start, drawn from its first report on (a start
/// read from a file, or already computed, never shows it).
pub fn pretraining_bar(quiet: bool) -> ProgressBar {
    let bar = progress_bar(0, quiet, "pre-training steps");
    bar.set_draw_target(ProgressDrawTarget::hidden());
    bar
}

/// The hook that moves [`pretraining_bar`] (from the thread that pre-trains).
pub fn pretraining_progress(bar: &ProgressBar, quiet: bool) -> impl Fn(u64, u64) + Sync + '_ {
    move |done, total| {
        if bar.length() != Some(total) {
            bar.set_length(total);
            if !quiet {
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
        }
        bar.set_position(done);
    }
}

/// A rate for the progress bar: three significant digits, whole numbers above 100
/// (16,775.5235/s reads 16776/s, 0.4321/s reads 0.432/s).
fn rounded_rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        "0".to_string()
    } else if per_sec >= 100.0 {
        format!("{per_sec:.0}")
    } else {
        let decimals = (2 - per_sec.log10().floor() as i32).clamp(0, 6) as usize;
        format!("{per_sec:.decimals$}")
    }
}

#[cfg(test)]
mod tests {
    use super::rounded_rate;

    #[test]
    fn rates_are_rounded_to_what_a_reader_uses() {
        assert_eq!(rounded_rate(16_775.523_5), "16776");
        assert_eq!(rounded_rate(42.123), "42.1");
        assert_eq!(rounded_rate(0.4321), "0.432");
        assert_eq!(rounded_rate(0.0), "0");
    }
}
