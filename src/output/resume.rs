//! `--resume`: reconciling the rows already in a sweep file with the planned points, so that only
//! the missing ones run.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::output::sweep_csv;
use crate::sweep::{PlannedPoint, RowKey};

/// Why the rows of a file cannot be resumed.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    #[error(
        "{flag} {path} holds rows of lojasim {found}, this is {this}: resume with that version or \
         write a new file"
    )]
    Version {
        flag: &'static str,
        path: PathBuf,
        found: String,
        this: &'static str,
    },
    #[error("{flag} {path}: a row has a malformed trajectory range")]
    MalformedRange { flag: &'static str, path: PathBuf },
}

/// The finished rows of a sweep, by the work they cover: those kept from the file, then each
/// point's row as it finishes.
pub struct Finished {
    rows: HashMap<RowKey, Vec<String>>,
    kept: usize,
}

impl Finished {
    /// The rows read back from the sweep file of `flag` at `path` (all of them, or none without
    /// `--resume`). Rows of another lojasim version are refused: their results may differ.
    pub fn from_rows(
        flag: &'static str,
        path: &Path,
        rows: Vec<Vec<String>>,
    ) -> Result<Self, ResumeError> {
        let this = env!("CARGO_PKG_VERSION");
        let version = sweep_csv::column("version");
        if let Some(row) = rows.iter().find(|r| r[version] != this) {
            return Err(ResumeError::Version {
                flag,
                path: path.to_path_buf(),
                found: row[version].clone(),
                this,
            });
        }
        let mut finished = HashMap::new();
        for row in rows {
            let key = sweep_csv::row_key(&row).ok_or_else(|| ResumeError::MalformedRange {
                flag,
                path: path.to_path_buf(),
            })?;
            finished.insert(key, row);
        }
        let kept = finished.len();
        Ok(Finished {
            rows: finished,
            kept,
        })
    }

    /// Rows kept from the file.
    pub fn kept(&self) -> usize {
        self.kept
    }

    /// Rows in all (kept and added).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The points of `points` that have no row yet, in plan order.
    pub fn missing<'p>(&self, points: &'p [PlannedPoint]) -> Vec<&'p PlannedPoint> {
        points
            .iter()
            .filter(|p| !self.rows.contains_key(&p.key))
            .collect()
    }

    /// Records the row of a point that just finished.
    pub fn insert(&mut self, key: RowKey, row: Vec<String>) {
        self.rows.insert(key, row);
    }

    /// The row of every point, in plan order.
    ///
    /// # Panics
    /// If a point has no row (it was neither kept nor run).
    pub fn rows_of<'a>(&'a self, points: &[PlannedPoint]) -> Vec<&'a Vec<String>> {
        points.iter().map(|p| &self.rows[&p.key]).collect()
    }

    /// The rows of a curves file whose point has a finished row. Curves are written before their
    /// row, so after an interruption the curves file may hold a point without a row: those are
    /// dropped (that point is recomputed).
    pub fn curves_to_keep(&self, curves: &[Vec<String>]) -> Vec<Vec<String>> {
        let finished: HashSet<(&str, &str, &str)> = self
            .rows
            .values()
            .map(|r| {
                let c = |n| r[sweep_csv::column(n)].as_str();
                (c("config_id"), c("traj_start"), c("traj_end"))
            })
            .collect();
        curves
            .iter()
            .filter(|r| finished.contains(&(r[0].as_str(), r[1].as_str(), r[2].as_str())))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sweep row with only the cells resuming reads.
    fn row(version: &str, id: &str, start: &str, end: &str) -> Vec<String> {
        let mut r = vec![String::new(); sweep_csv::header().len()];
        for (name, value) in [
            ("version", version),
            ("config_id", id),
            ("traj_start", start),
            ("traj_end", end),
        ] {
            r[sweep_csv::column(name)] = value.to_string();
        }
        r
    }

    #[test]
    fn rows_of_another_version_or_with_a_bad_range_are_refused() {
        let this = env!("CARGO_PKG_VERSION");
        let path = Path::new("s.csv");
        let old = vec![row(this, "a", "0", "10"), row("0.0.1", "b", "0", "10")];
        assert_eq!(
            Finished::from_rows("--out", path, old)
                .err()
                .unwrap()
                .to_string(),
            format!(
                "--out s.csv holds rows of lojasim 0.0.1, this is {this}: resume with that \
                 version or write a new file"
            )
        );
        let bad = vec![row(this, "a", "x", "10")];
        assert_eq!(
            Finished::from_rows("--out", path, bad)
                .err()
                .unwrap()
                .to_string(),
            "--out s.csv: a row has a malformed trajectory range"
        );
    }

    #[test]
    fn curves_are_kept_only_for_points_with_a_finished_row() {
        let this = env!("CARGO_PKG_VERSION");
        let done =
            Finished::from_rows("--out", Path::new("s.csv"), vec![row(this, "a", "0", "10")])
                .unwrap();
        assert_eq!((done.kept(), done.len()), (1, 1));
        let curve = |id: &str, start: &str| vec![id.into(), start.into(), "10".into(), "1".into()];
        let curves = [
            curve("a", "0"),
            curve("a", "5"),
            curve("b", "0"),
            curve("a", "0"),
        ];
        assert_eq!(
            done.curves_to_keep(&curves),
            vec![curve("a", "0"), curve("a", "0")]
        );
    }
}
