//! `--curves-out`: the survival and contraction curves of each point, in long format, from the
//! tally's grid (every step up to 100, then 20 per decade, then K). Free with every noise model
//! but minibatch noise, whose steps compute only batch losses: there the full loss at each grid
//! step is extra work, done only when a curves file is asked for ([`crate::runner::GridLosses`]).

use std::collections::HashMap;
use std::ops::Range;

use crate::config::Experiment;
use crate::estimate::exact_sum::ExactSum;
use crate::output::merge::{Input, MergeError};
use crate::sweep::ConfigId;
use crate::tally::{CurveSums, Tally, mean_and_se};

crate::csv_record! {
    /// One row of a curves file: one point of the results file at one grid step k.
    pub struct CurveRow {
        /// With `traj_start` and `traj_end`: the row of the results file these curves belong to.
        pub config_id: String,
        pub traj_start: u64,
        pub traj_end: u64,
        /// `--trajectories` of the whole run (all shards), as in the results file.
        pub traj_total: u64,
        /// The step.
        pub k: u64,
        /// Trajectories still in the ball after step k (stayed through k).
        pub stay_count: u64,
        /// The mean over all trajectories of F(θ_k)·1{stayed through k}, and its standard error
        /// (empty where F(θ_k) was not computed, see [`Tally::mean_loss`]).
        pub loss_mean: Option<f64>,
        pub loss_se: Option<f64>,
        /// ρ^k·F(θ0), the theorem's bound on that mean, empty where it does not apply.
        pub loss_bound: Option<f64>,
        /// Σ F(θ_k)·1{stayed through k} and Σ F(θ_k)²·1{…} over the row's trajectories, exactly
        /// (`[-]0xHEXpEXP`, as `final_loss_sum`), so that `merge` recomputes the mean and its
        /// error bit for bit; empty where F(θ_k) was not computed.
        pub loss_sum: Option<String>,
        pub loss_sq_sum: Option<String>,
    }
}

/// The header of a curves file.
pub const CURVE_COLUMNS: &[&str] = CurveRow::COLUMNS;

/// The curve rows of one point.
pub fn records(
    experiment: &Experiment,
    tally: &Tally,
    id: ConfigId,
    range: &Range<u64>,
) -> Vec<Vec<String>> {
    let bound = experiment.bound();
    tally
        .grid
        .iter()
        .enumerate()
        .map(|(j, &k)| {
            let (loss_mean, loss_se) = tally.mean_loss(j).unzip();
            let recorded = loss_mean.is_some();
            let exact = |sum: &ExactSum| recorded.then(|| sum.to_exact_text());
            CurveRow {
                config_id: id.to_string(),
                traj_start: range.start,
                traj_end: range.end,
                traj_total: experiment.trajectories,
                k,
                stay_count: tally.stayed_through(j),
                loss_mean,
                loss_se,
                loss_bound: bound.expected_loss_bound(k, experiment.f0),
                loss_sum: exact(&tally.curve[j].loss),
                loss_sq_sum: exact(&tally.curve[j].loss_sq),
            }
            .cells()
        })
        .collect()
}

/// One shard's curve rows of one config_id: its trajectory range, its file, its rows.
type ShardRows<'a> = ((u64, u64), &'a str, Vec<&'a [String]>);

/// Merges the curves files of the shards of one sweep into the curves of the unsharded run:
/// per config_id, the rows of ranges that tile [0, traj_total) are summed step by step (counts
/// and exact sums), and mean and standard error recomputed, so the result equals the unsharded
/// curves bit for bit. A config_id with a single range (also a run to a target half-width,
/// whose range ends where it stopped) is kept as it is.
#[allow(clippy::result_large_err)] // as output::merge: built once, on the way out
pub fn merge(inputs: &[Input]) -> Result<Vec<Vec<String>>, MergeError> {
    let col = |name: &str| {
        CURVE_COLUMNS
            .iter()
            .position(|&c| c == name)
            .unwrap_or_else(|| panic!("no curves column {name}"))
    };
    let cell = |row: &'_ [String], name: &str| row[col(name)].clone();
    let mut order: Vec<String> = Vec::new();
    // config_id → its shards, each a range with its file and rows in grid order.
    let mut groups: HashMap<String, Vec<ShardRows<'_>>> = HashMap::new();
    for input in inputs {
        for row in &input.rows {
            let bad = |name: &'static str| MergeError::BadCell {
                file: input.name.clone(),
                column: name,
                value: cell(row, name),
            };
            let number = |name: &'static str| cell(row, name).parse::<u64>().map_err(|_| bad(name));
            let id = cell(row, "config_id");
            let range = (number("traj_start")?, number("traj_end")?);
            let ranges = groups.entry(id.clone()).or_insert_with(|| {
                order.push(id.clone());
                Vec::new()
            });
            match ranges
                .iter_mut()
                .find(|(r, file, _)| *r == range && *file == input.name)
            {
                Some((_, _, rows)) => rows.push(row),
                None => ranges.push((range, &input.name, vec![row])),
            }
        }
    }
    let mut merged = Vec::new();
    for id in &order {
        let mut ranges = groups.remove(id).expect("every id has its ranges");
        ranges.sort_by_key(|(r, _, _)| *r);
        if ranges.len() == 1 {
            merged.extend(ranges[0].2.iter().map(|r| r.to_vec()));
            continue;
        }
        let first = ranges[0].2[0];
        let total: u64 = cell(first, "traj_total")
            .parse()
            .map_err(|_| MergeError::BadCell {
                file: ranges[0].1.to_string(),
                column: "traj_total",
                value: cell(first, "traj_total"),
            })?;
        let mut next = 0;
        for (i, &((start, end), file, _)) in ranges.iter().enumerate() {
            if start < next {
                let ((a_start, a_end), file_a, _) = ranges[i - 1];
                return Err(MergeError::Overlap {
                    id: id.clone(),
                    a_start,
                    a_end,
                    file_a: file_a.to_string(),
                    b_start: start,
                    b_end: end,
                    file_b: file.to_string(),
                });
            }
            if start > next {
                return Err(MergeError::Missing {
                    id: id.clone(),
                    start: next,
                    end: start,
                    total,
                });
            }
            next = end;
        }
        if next != total {
            return Err(MergeError::Missing {
                id: id.clone(),
                start: next,
                end: total,
                total,
            });
        }
        let steps = ranges[0].2.len();
        for &(_, file, ref rows) in &ranges {
            let same_grid = rows.len() == steps
                && rows
                    .iter()
                    .zip(&ranges[0].2)
                    .all(|(a, b)| cell(a, "k") == cell(b, "k"));
            if !same_grid {
                return Err(MergeError::Mismatch {
                    id: id.clone(),
                    column: "k".to_string(),
                    a: format!("{steps} steps"),
                    file_a: ranges[0].1.to_string(),
                    b: format!("{} steps", rows.len()),
                    file_b: file.to_string(),
                });
            }
        }
        for j in 0..steps {
            let rows: Vec<(&str, &[String])> = ranges.iter().map(|(_, f, r)| (*f, r[j])).collect();
            let (file0, row0) = rows[0];
            let mut stay = 0u64;
            let mut sums = Some(CurveSums::default());
            for &(file, row) in &rows {
                let bad = |name: &'static str| MergeError::BadCell {
                    file: file.to_string(),
                    column: name,
                    value: cell(row, name),
                };
                if cell(row, "loss_bound") != cell(row0, "loss_bound") {
                    return Err(MergeError::Mismatch {
                        id: id.clone(),
                        column: "loss_bound".to_string(),
                        a: cell(row0, "loss_bound"),
                        file_a: file0.to_string(),
                        b: cell(row, "loss_bound"),
                        file_b: file.to_string(),
                    });
                }
                stay += cell(row, "stay_count")
                    .parse::<u64>()
                    .map_err(|_| bad("stay_count"))?;
                let exact = |name: &'static str| match cell(row, name).as_str() {
                    "" => Ok(None),
                    text => ExactSum::from_exact_text(text)
                        .map(Some)
                        .ok_or_else(|| bad(name)),
                };
                sums = match (sums, exact("loss_sum")?, exact("loss_sq_sum")?) {
                    (Some(mut s), Some(loss), Some(loss_sq)) => {
                        s.loss.merge(&loss);
                        s.loss_sq.merge(&loss_sq);
                        Some(s)
                    }
                    _ => None,
                };
            }
            let (loss_mean, loss_se) = sums.as_ref().map(|s| mean_and_se(s, total)).unzip();
            merged.push(
                CurveRow {
                    config_id: id.clone(),
                    traj_start: 0,
                    traj_end: total,
                    traj_total: total,
                    k: cell(row0, "k").parse().map_err(|_| MergeError::BadCell {
                        file: file0.to_string(),
                        column: "k",
                        value: cell(row0, "k"),
                    })?,
                    stay_count: stay,
                    loss_mean,
                    loss_se,
                    loss_bound: cell(row0, "loss_bound").parse().ok(),
                    loss_sum: sums.as_ref().map(|s| s.loss.to_exact_text()),
                    loss_sq_sum: sums.as_ref().map(|s| s.loss_sq.to_exact_text()),
                }
                .cells(),
            );
        }
    }
    Ok(merged)
}
