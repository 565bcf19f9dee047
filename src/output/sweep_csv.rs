//! The rows of `lojasim sweep`: `run`'s columns ([`CSV_COLUMNS`]) followed by [`SWEEP_COLUMNS`].

use std::ops::Range;

use crate::report::{CSV_COLUMNS, Measurement, RunReport};
use crate::sweep::{ConfigId, RowKey};

/// Columns a sweep row adds after `run`'s, in order.
///
/// - `config_id`: the point's stable id ([`fn@crate::sweep::config_id`]).
/// - `traj_start`, `traj_end`: the trajectory indices [start, end) this row counts.
/// - `traj_total`: `--trajectories` of the run the row belongs to (all shards together; the cap
///   of a run to a target half-width).
/// - `looks`: interval checks made by `--target-halfwidth` (one per block of 64) or looks by
///   `--target-relative-error` (empty for a fixed N).
/// - `exit_step_sum`: Σ of exit steps (an exact integer), from which `mean_exit_step` is computed.
/// - `final_loss_sum`: Σ F(θ_K) over the trajectories that stayed, exactly, as
///   `[-]0xHEXpEXP` (±HEX·2^EXP); `final_loss_mean` is computed from it.
///
/// - `exit_sum`, `exit_sq_sum`: splitting only, Σ p̂_m and Σ p̂_m² over the replicas, exactly
///   (same notation); `ams_iterations_sum`: Σ of their iterations.
///
/// For splitting rows the ranges count replicas, not trajectories. The sums make every result
/// column recomputable, so `merge` is exact.
pub const SWEEP_COLUMNS: [&str; 10] = [
    "config_id",
    "traj_start",
    "traj_end",
    "traj_total",
    "looks",
    "exit_step_sum",
    "final_loss_sum",
    "exit_sum",
    "exit_sq_sum",
    "ams_iterations_sum",
];

/// The full header of a sweep file.
pub fn header() -> Vec<&'static str> {
    CSV_COLUMNS
        .iter()
        .chain(SWEEP_COLUMNS.iter())
        .copied()
        .collect()
}

/// Index of column `name` in [`header`].
pub fn column(name: &str) -> usize {
    header()
        .iter()
        .position(|&h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

/// The sweep row of one point.
pub fn record(
    report: &RunReport<'_>,
    id: ConfigId,
    range: &Range<u64>,
    traj_total: u64,
    looks: Option<u32>,
) -> Vec<String> {
    let mut row = report.csv_record();
    row.extend([
        id.to_string(),
        range.start.to_string(),
        range.end.to_string(),
        traj_total.to_string(),
        looks.map_or(String::new(), |l| l.to_string()),
    ]);
    match &report.measurement {
        Measurement::Mc { tally: t, .. } => row.extend([
            t.exit_step_sum.to_string(),
            t.curve[t.curve.len() - 1].loss.to_exact_text(),
            String::new(),
            String::new(),
            String::new(),
        ]),
        Measurement::Splitting { tally: t, .. } => row.extend([
            String::new(),
            String::new(),
            t.sum.to_exact_text(),
            t.sum_sq.to_exact_text(),
            t.iterations.to_string(),
        ]),
    }
    row
}

/// The key of a row read back from a file: the point and the trajectories it was asked to cover
/// (`None` if its range cells are not integers).
pub fn row_key(row: &[String]) -> Option<RowKey> {
    let cell = |name| row[column(name)].as_str();
    let planned = if cell("looks").is_empty() {
        cell("traj_end")
    } else {
        cell("traj_total")
    };
    Some(RowKey {
        config_id: cell("config_id").to_string(),
        start: cell("traj_start").parse().ok()?,
        planned_end: planned.parse().ok()?,
    })
}
