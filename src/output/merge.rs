//! `lojasim merge`: combine sweep files whose rows count disjoint trajectory ranges of the same
//! points (shards) into one row per point, exactly as an unsharded run would have written it
//! (`elapsed_s` aside, which becomes the sum of the rows' compute times).
//!
//! Rows are grouped by `config_id`. Within a group every configuration cell must agree, the ranges
//! must tile [0, `traj_total`) without gap or overlap, and all rows of all files must carry the
//! same `version` and `seed`. Counts and the exact sums (`exit_step_sum`, `final_loss_sum`) are
//! added; proportions, intervals, `bound_status` and the means are recomputed from them.

// A merge error is built once, on the way out; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;

use crate::ams::SplittingTally;
use crate::estimate::exact_sum::ExactSum;
use crate::estimate::sequential;
use crate::estimate::{CiMethod, Interval, binomial_interval};
use crate::output::sweep_csv::{column, header};
use crate::report::{BoundCells, Measured, Proportion, Row, constants_source_of};

/// Columns recomputed from the summed counts; every other column must agree within a group.
const RECOMPUTED: [&str; 33] = [
    "trajectories",
    "stay_count",
    "stay_p",
    "stay_lo",
    "stay_hi",
    "converge_count",
    "converge_p",
    "converge_lo",
    "converge_hi",
    "bound_status",
    "elapsed_s",
    "init_s",
    "constants_s",
    "total_s",
    "exit_count",
    "mean_exit_step",
    "final_loss_mean",
    "traj_start",
    "traj_end",
    "exit_step_sum",
    "final_loss_sum",
    "exit_p",
    "exit_lo",
    "exit_hi",
    "delta_over_exit",
    "delta_over_exit_lo",
    "delta_over_exit_hi",
    "replicas",
    "ams_iterations_mean",
    "exit_sum",
    "exit_sq_sum",
    "ams_iterations_sum",
    "extinctions",
];

/// Rows of one input file (complete rows, header already checked).
pub struct Input {
    pub name: String,
    pub rows: Vec<Vec<String>>,
}

/// Why files cannot be merged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MergeError {
    #[error(
        "{file} has {column} = {value} but {first_file} has {first}: merge only files of one run (same {column})"
    )]
    Different {
        column: &'static str,
        file: String,
        value: String,
        first_file: String,
        first: String,
    },
    #[error(
        "config_id {id}: column {column} is {a} in {file_a} but {b} in {file_b}: these rows are not the same configuration"
    )]
    Mismatch {
        id: String,
        column: String,
        a: String,
        file_a: String,
        b: String,
        file_b: String,
    },
    #[error(
        "config_id {id}: trajectories [{a_start}, {a_end}) in {file_a} and [{b_start}, {b_end}) in {file_b} overlap: a shard is given twice"
    )]
    Overlap {
        id: String,
        a_start: u64,
        a_end: u64,
        file_a: String,
        b_start: u64,
        b_end: u64,
        file_b: String,
    },
    #[error(
        "config_id {id}: trajectories [{start}, {end}) of {total} are missing: add the file of that shard"
    )]
    Missing {
        id: String,
        start: u64,
        end: u64,
        total: u64,
    },
    #[error(
        "config_id {id}: rows of a run to --target-halfwidth cannot be combined with other rows (its stopping rule saw only its own trajectories)"
    )]
    Sequential { id: String },
    #[error("{file}: column {column} holds '{value}', not a valid value")]
    BadCell {
        file: String,
        column: &'static str,
        value: String,
    },
    #[error("no rows to merge")]
    Empty,
}

struct InputRow<'a> {
    file: &'a str,
    cells: &'a [String],
}

/// Merges `inputs` into one row per config_id, in order of first appearance.
pub fn merge(inputs: &[Input]) -> Result<Vec<Vec<String>>, MergeError> {
    let rows: Vec<InputRow<'_>> = inputs
        .iter()
        .flat_map(|i| {
            i.rows.iter().map(|r| InputRow {
                file: &i.name,
                cells: r,
            })
        })
        .collect();
    let first = rows.first().ok_or(MergeError::Empty)?;
    for column_name in ["version", "seed"] {
        let c = column(column_name);
        if let Some(r) = rows.iter().find(|r| r.cells[c] != first.cells[c]) {
            return Err(MergeError::Different {
                column: column_name,
                file: r.file.to_string(),
                value: r.cells[c].clone(),
                first_file: first.file.to_string(),
                first: first.cells[c].clone(),
            });
        }
    }
    let id_col = column("config_id");
    let mut order: Vec<&str> = Vec::new();
    let mut groups: HashMap<&str, Vec<&InputRow<'_>>> = HashMap::new();
    for r in &rows {
        let id = r.cells[id_col].as_str();
        groups
            .entry(id)
            .or_insert_with(|| {
                order.push(id);
                Vec::new()
            })
            .push(r);
    }
    order
        .iter()
        .map(|id| merge_group(id, &groups[id]))
        .collect()
}

fn parse<T: std::str::FromStr>(r: &InputRow<'_>, name: &'static str) -> Result<T, MergeError> {
    let value = &r.cells[column(name)];
    value.parse().map_err(|_| MergeError::BadCell {
        file: r.file.to_string(),
        column: name,
        value: value.clone(),
    })
}

fn optional_f64(r: &InputRow<'_>, name: &'static str) -> Result<Option<f64>, MergeError> {
    if r.cells[column(name)].is_empty() {
        Ok(None)
    } else {
        parse(r, name).map(Some)
    }
}

fn merge_group(id: &str, group: &[&InputRow<'_>]) -> Result<Vec<String>, MergeError> {
    let first = group[0];
    let recomputed: Vec<usize> = RECOMPUTED.iter().map(|c| column(c)).collect();
    let names = header();
    for r in &group[1..] {
        for (c, name) in names.iter().enumerate() {
            if !recomputed.contains(&c) && r.cells[c] != first.cells[c] {
                return Err(MergeError::Mismatch {
                    id: id.to_string(),
                    column: name.to_string(),
                    a: first.cells[c].clone(),
                    file_a: first.file.to_string(),
                    b: r.cells[c].clone(),
                    file_b: r.file.to_string(),
                });
            }
        }
    }
    let looks: Option<u32> = if first.cells[column("looks")].is_empty() {
        None
    } else {
        Some(parse(first, "looks")?)
    };
    if looks.is_some() && group.len() > 1 {
        return Err(MergeError::Sequential { id: id.to_string() });
    }

    // Ranges must tile [0, total).
    let total: u64 = parse(first, "traj_total")?;
    let mut ranges = group
        .iter()
        .map(|r| {
            Ok((
                parse::<u64>(r, "traj_start")?,
                parse::<u64>(r, "traj_end")?,
                r.file,
            ))
        })
        .collect::<Result<Vec<_>, MergeError>>()?;
    ranges.sort();
    let mut next = 0;
    let mut previous: Option<(u64, u64, &str)> = None;
    for &(start, end, file) in &ranges {
        if start < next {
            let (a_start, a_end, file_a) = previous.expect("start < next implies a previous range");
            return Err(MergeError::Overlap {
                id: id.to_string(),
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
                id: id.to_string(),
                start: next,
                end: start,
                total,
            });
        }
        next = end;
        previous = Some((start, end, file));
    }
    if looks.is_none() && next != total {
        return Err(MergeError::Missing {
            id: id.to_string(),
            start: next,
            end: total,
            total,
        });
    }

    let bad = |column: &'static str| MergeError::BadCell {
        file: first.file.to_string(),
        column,
        value: first.cells[crate::output::sweep_csv::column(column)].clone(),
    };
    let exact = |r: &InputRow<'_>, name: &'static str| {
        let text = &r.cells[column(name)];
        ExactSum::from_exact_text(text).ok_or_else(|| MergeError::BadCell {
            file: r.file.to_string(),
            column: name,
            value: text.clone(),
        })
    };
    // Times add up over the shards (each process did its part of the work).
    let mut elapsed = 0.0;
    let mut phases = [None::<f64>; 3];
    for r in group {
        elapsed += parse::<f64>(r, "elapsed_s")?;
        for (sum, name) in phases.iter_mut().zip(["init_s", "constants_s", "total_s"]) {
            if let Some(t) = optional_f64(r, name)? {
                *sum = Some(sum.unwrap_or(0.0) + t);
            }
        }
    }
    let source_cell = &first.cells[column("constants_source")];
    let source = constants_source_of(source_cell).ok_or_else(|| bad("constants_source"))?;
    let bounds = BoundCells {
        stay_bound: optional_f64(first, "stay_bound")?,
        converge_bound: optional_f64(first, "converge_bound")?,
        delta: optional_f64(first, "delta")?,
    };
    let confidence: f64 = parse(first, "confidence")?;
    let mut row = Row::from_cells(&names, first.cells);
    row.set("elapsed_s", format!("{elapsed:.6}"));
    for (sum, name) in phases.iter().zip(["init_s", "constants_s", "total_s"]) {
        row.set(name, sum.map_or(String::new(), |t| format!("{t:.6}")));
    }
    row.set("traj_start", ranges[0].0.to_string());
    row.set("traj_end", next.to_string());
    match first.cells[column("estimator")].as_str() {
        "mc" => {}
        "ams" => {
            let particles: u64 = parse(first, "particles")?;
            let mut tally = SplittingTally::new(particles);
            for r in group {
                tally.merge(&SplittingTally {
                    particles,
                    replicas: parse(r, "replicas")?,
                    sum: exact(r, "exit_sum")?,
                    sum_sq: exact(r, "exit_sq_sum")?,
                    iterations: parse(r, "ams_iterations_sum")?,
                    extinctions: parse(r, "extinctions")?,
                });
            }
            if tally.replicas != next - ranges[0].0 || tally.replicas < 2 {
                return Err(bad("replicas"));
            }
            let exit = tally.estimate(confidence);
            Measured::Splitting {
                tally: &tally,
                exit,
            }
            .write(&mut row, &bounds, source);
            row.set("exit_sum", tally.sum.to_exact_text());
            row.set("exit_sq_sum", tally.sum_sq.to_exact_text());
            row.set("ams_iterations_sum", tally.iterations.to_string());
            return Ok(row.finish());
        }
        _ => return Err(bad("estimator")),
    }

    let (mut n, mut stayed, mut converged, mut exit_sum) = (0u64, 0u64, 0u64, 0u128);
    let mut loss = ExactSum::new();
    for r in group {
        n += parse::<u64>(r, "trajectories")?;
        stayed += parse::<u64>(r, "stay_count")?;
        converged += parse::<u64>(r, "converge_count")?;
        exit_sum += parse::<u128>(r, "exit_step_sum")?;
        loss.merge(&exact(r, "final_loss_sum")?);
    }
    if n != next - ranges[0].0 || stayed > n || converged > stayed {
        return Err(bad("trajectories"));
    }
    let ci_cell = &first.cells[column("ci_method")];
    let (stay, converge) = if looks.is_some() {
        // A run to a target half-width, alone in its group: its intervals are the confidence
        // sequence's intersected over the checks, a function of the counts' path, so they are
        // kept as written (the cells are lossless).
        if ci_cell != sequential::METHOD {
            return Err(bad("ci_method"));
        }
        let interval = |lo: &'static str, hi: &'static str| -> Result<Interval, MergeError> {
            Ok(Interval {
                lo: parse(first, lo)?,
                hi: parse(first, hi)?,
            })
        };
        (
            interval("stay_lo", "stay_hi")?,
            interval("converge_lo", "converge_hi")?,
        )
    } else {
        let method = <CiMethod as clap::ValueEnum>::value_variants()
            .iter()
            .copied()
            .find(|m| m.name() == ci_cell)
            .ok_or_else(|| bad("ci_method"))?;
        let interval =
            |x| binomial_interval(x, n, confidence, method).map_err(|_| bad("confidence"));
        (interval(stayed)?, interval(converged)?)
    };
    let proportion = |count, interval| Proportion {
        count,
        total: n,
        interval,
    };
    Measured::Mc {
        stay: proportion(stayed, stay),
        converge: proportion(converged, converge),
        exit_step_sum: exit_sum,
        final_loss_sum: &loss,
    }
    .write(&mut row, &bounds, source);
    row.set("exit_step_sum", exit_sum.to_string());
    row.set("final_loss_sum", loss.to_exact_text());
    Ok(row.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Experiment, Settings};
    use crate::engine::{self, Control};
    use crate::landscape::ProblemKind;
    use crate::noise::NoiseKind;
    use crate::output::sweep_csv::record;
    use crate::report::RunReport;
    use crate::sweep::config_id;

    /// The sweep row of trajectories `range` of `settings`' point.
    fn row(settings: &Settings, e: &Experiment, range: std::ops::Range<u64>) -> Vec<String> {
        let tally = engine::simulate(&e.dynamics(), e.seed, range.clone(), Control::default())
            .expect("not cancelled");
        let report = RunReport::new(e, tally, 0.25).unwrap();
        record(
            &report,
            config_id(settings, e, None),
            &range,
            e.trajectories,
            None,
        )
    }

    /// One setting of each problem kind; the network's constants are estimated, the others exact
    /// or (least squares) exact by formula.
    fn settings_of_every_kind() -> Vec<Settings> {
        let mut all = Vec::new();
        for (problem, noise) in [
            (ProblemKind::Quadratic, NoiseKind::Ml),
            (ProblemKind::Ring, NoiseKind::Bounded),
            (ProblemKind::LeastSquares, NoiseKind::Ml),
            (ProblemKind::Mlp, NoiseKind::Ml),
            (ProblemKind::Mlp, NoiseKind::Minibatch),
        ] {
            let mut s = Settings {
                problem,
                noise,
                trajectories: Some(130),
                steps: 60,
                // Networks: a step far below the largest the theorem allows, so the bound
                // applies and its status carries the mark of the constants' source.
                eta: Some(if problem == ProblemKind::Mlp {
                    1e-9
                } else {
                    0.01
                }),
                ..Settings::default()
            };
            s.network.init_steps = 300;
            s.network.init_loss = None;
            s.network.constant_samples = 4;
            all.push(s);
        }
        // A ball small enough (r = 1e-4 around the pre-trained start) for the network's
        // constants to be certified.
        let mut certified = all[3].clone();
        certified.radius = 1e-4;
        all.push(certified);
        all
    }

    /// Merged shards equal the unsharded run in every cell but the times (`elapsed_s` and the
    /// phases', sums of the shards' times), for every problem kind, with estimated and
    /// certified constants among them (their `bound_status` keeps its `-estimated` or
    /// `-certified` mark).
    #[test]
    fn merged_shards_equal_the_unsharded_row_for_every_problem_kind() {
        let times = ["elapsed_s", "init_s", "constants_s", "total_s"].map(column);
        let (mut estimated, mut certified) = (0, 0);
        for s in settings_of_every_kind() {
            let e = Experiment::new(&s).unwrap();
            let whole = row(&s, &e, 0..130);
            let inputs: Vec<Input> = [0..64, 64..100, 100..130]
                .into_iter()
                .enumerate()
                .map(|(i, r)| Input {
                    name: format!("part-{i}.csv"),
                    rows: vec![row(&s, &e, r)],
                })
                .collect();
            let merged = merge(&inputs).unwrap();
            assert_eq!(merged.len(), 1);
            for (c, name) in header().iter().enumerate() {
                if !times.contains(&c) {
                    assert_eq!(merged[0][c], whole[c], "{:?}: column {name}", s.problem);
                }
            }
            assert_eq!(merged[0][times[0]], "0.750000");
            match whole[column("constants_source")].as_str() {
                "estimated" => {
                    estimated += 1;
                    assert!(whole[column("bound_status")].ends_with("-estimated"));
                }
                "certified" => {
                    certified += 1;
                    assert!(whole[column("bound_status")].ends_with("-certified"));
                }
                _ => {}
            }
        }
        assert_eq!(
            (estimated, certified),
            (2, 1),
            "two network rows rest on estimated constants, the small ball's on certified ones"
        );
    }

    fn shards_of_the_ring() -> Vec<Input> {
        let s = Settings {
            problem: ProblemKind::Ring,
            trajectories: Some(100),
            steps: 20,
            ..Settings::default()
        };
        let e = Experiment::new(&s).unwrap();
        [0..40, 40..100]
            .into_iter()
            .enumerate()
            .map(|(i, r)| Input {
                name: format!("part-{i}.csv"),
                rows: vec![row(&s, &e, r)],
            })
            .collect()
    }

    #[test]
    fn a_missing_shard_is_named_by_its_range() {
        let mut inputs = shards_of_the_ring();
        inputs.remove(0);
        let err = merge(&inputs).unwrap_err();
        assert!(matches!(
            err,
            MergeError::Missing {
                start: 0,
                end: 40,
                total: 100,
                ..
            }
        ));
        assert!(
            err.to_string().contains("[0, 40) of 100 are missing"),
            "{err}"
        );
    }

    #[test]
    fn a_shard_given_twice_is_an_overlap() {
        let mut inputs = shards_of_the_ring();
        inputs.push(Input {
            name: "again.csv".to_string(),
            rows: inputs[1].rows.clone(),
        });
        let err = merge(&inputs).unwrap_err();
        assert!(matches!(err, MergeError::Overlap { .. }), "{err}");
    }

    #[test]
    fn rows_of_different_configurations_or_versions_are_refused() {
        let mut inputs = shards_of_the_ring();
        inputs[1].rows[0][column("radius")] = "0.5".to_string();
        assert!(matches!(
            merge(&inputs).unwrap_err(),
            MergeError::Mismatch { .. }
        ));
        let mut inputs = shards_of_the_ring();
        inputs[1].rows[0][column("version")] = "0.0.1".to_string();
        assert!(matches!(
            merge(&inputs).unwrap_err(),
            MergeError::Different {
                column: "version",
                ..
            }
        ));
    }

    #[test]
    fn a_cell_that_is_not_a_number_is_named() {
        let mut inputs = shards_of_the_ring();
        inputs[0].rows[0][column("stay_count")] = "many".to_string();
        let err = merge(&inputs).unwrap_err();
        assert!(
            err.to_string().contains("column stay_count holds 'many'"),
            "{err}"
        );
        assert_eq!(merge(&[]).unwrap_err(), MergeError::Empty);
    }
}
