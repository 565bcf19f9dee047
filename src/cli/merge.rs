//! `lojasim merge`: the files of a sharded sweep, combined into the rows of the unsharded run;
//! its curves files likewise (told apart by their header).

use std::path::PathBuf;

use clap::Args;

use lojasim::output::{self, sweep_csv};

use super::io::Output;
use super::{Failure, usage};

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Sweep files to combine (the shards of one run, in any order), or the shards' curves
    /// files (--curves-out), which merge into the unsharded run's curves.
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
    let mut files = Vec::new();
    for path in &args.files {
        let bytes = std::fs::read(path)
            .map_err(|e| usage(format!("merge: cannot read {}: {e}", path.display())))?;
        files.push((path, bytes));
    }
    // Curves files are told apart by their header; every file must then be one.
    let curves = files.first().is_some_and(|(_, bytes)| {
        let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
        first_line == output::curves::CURVE_COLUMNS.join(",").as_bytes()
    });
    let header = if curves {
        output::curves::CURVE_COLUMNS.to_vec()
    } else {
        sweep_csv::header()
    };
    let fix = if curves {
        "merge curves files only with curves files (--curves-out of `lojasim sweep --shard` runs made by this version)"
    } else {
        "merge only the --out files of `lojasim sweep --shard` runs made by this version, or only their --curves-out files"
    };
    let mut inputs = Vec::new();
    for (path, bytes) in &files {
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if complete < bytes.len() {
            tell!(
                "warning: {}: dropped an incomplete last line ({} bytes)",
                path.display(),
                bytes.len() - complete
            );
        }
        let rows = output::parse_rows("merge", path, &bytes[..complete], &header, fix)?;
        inputs.push(output::merge::Input {
            name: path.display().to_string(),
            rows,
        });
    }
    let merged = if curves {
        output::curves::merge(&inputs)
    } else {
        output::merge::merge(&inputs)
    }
    .map_err(|e| usage(format!("merge: {e}")))?;
    output.write_csv(&header, &merged).map_err(Failure::Other)?;
    tell!(
        "merged {} rows from {} files into {} rows",
        inputs.iter().map(|i| i.rows.len()).sum::<usize>(),
        inputs.len(),
        merged.len()
    );
    Ok(())
}
