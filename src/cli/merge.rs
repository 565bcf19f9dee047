//! `lojasim merge`: the files of a sharded sweep, combined into the rows of the unsharded run.

use std::path::PathBuf;

use clap::Args;

use lojasim::output::{self, sweep_csv};

use super::io::Output;
use super::{Failure, usage};

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Sweep files to combine (the shards of one run, in any order).
    #[arg(required = true, value_name = "FILES")]
    pub files: Vec<PathBuf>,
    /// The merged file; `-` is standard output.
    #[arg(long, value_name = "FILE", required = true)]
    pub out: PathBuf,
    /// Overwrite an existing --out file.
    #[arg(long)]
    pub force: bool,
}

/// Runs `lojasim merge`.
pub fn execute(args: MergeArgs) -> Result<(), Failure> {
    let output = Output::open("--out", &args.out, args.force)?;
    let header = sweep_csv::header();
    let mut inputs = Vec::new();
    for path in &args.files {
        let bytes = std::fs::read(path)
            .map_err(|e| usage(format!("merge: cannot read {}: {e}", path.display())))?;
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if complete < bytes.len() {
            tell!(
                "warning: {}: dropped an incomplete last line ({} bytes)",
                path.display(),
                bytes.len() - complete
            );
        }
        let rows = output::parse_rows(
            "merge",
            path,
            &bytes[..complete],
            &header,
            "merge only the --out files of `lojasim sweep --shard` runs made by this version",
        )?;
        inputs.push(output::merge::Input {
            name: path.display().to_string(),
            rows,
        });
    }
    let merged = output::merge::merge(&inputs).map_err(|e| usage(format!("merge: {e}")))?;
    output.write_csv(&header, &merged).map_err(Failure::Other)?;
    tell!(
        "merged {} rows from {} files into {} rows",
        inputs.iter().map(|i| i.rows.len()).sum::<usize>(),
        inputs.len(),
        merged.len()
    );
    Ok(())
}
