//! Planning a sweep: every point of the grid checked and identified before any work starts.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::config::{Experiment, Settings};
use crate::error::ConfigError;
use crate::estimate::sequential::Target;

use super::{ConfigId, PointTarget, SettingsGrid, Shard, config_id};
use crate::ams::RelativeTarget;

/// The precision every point of a sweep runs to.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Precision {
    /// `--target-halfwidth` or `--target-relative-error` (the cap of the first is each point's
    /// `--trajectories`).
    pub target: Option<PointTarget>,
    /// `--max-replicas`, the cap of `--target-relative-error`.
    pub max_replicas: u64,
}

/// One point of a sweep, ready to run.
pub struct PlannedPoint {
    pub experiment: Experiment,
    pub id: ConfigId,
    /// The trajectories this invocation runs (a shard's share, or 0..N with a target).
    pub range: Range<u64>,
    /// The precision target, with `--target-halfwidth`.
    pub target: Option<Target>,
    /// The relative precision target of splitting, with `--target-relative-error`.
    pub relative: Option<RelativeTarget>,
    /// The key of its row in the output file (for `--resume`).
    pub key: RowKey,
}

/// What identifies a row of a sweep file for `--resume`: the point and the trajectories it was
/// asked to cover (the shard's range, or [0, cap) for a run to a target half-width).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RowKey {
    pub config_id: String,
    pub start: u64,
    pub planned_end: u64,
}

/// Why a sweep cannot start.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A setting of one point is invalid.
    #[error("{error} (at grid point {index}: {label})")]
    Point {
        error: ConfigError,
        index: u64,
        label: String,
    },
    #[error(
        "--shard {shard}: {} shards of --trajectories {trajectories} would leave some empty; use at most {trajectories} shards",
        shard.count
    )]
    EmptyShards { shard: Shard, trajectories: u64 },
    #[error(
        "grid points {first} ({first_label}) and {second} ({second_label}) are the same experiment \
         (config_id {id}): a swept flag has no effect there; remove the redundant values"
    )]
    Duplicate {
        first: u64,
        first_label: String,
        second: u64,
        second_label: String,
        id: ConfigId,
    },
}

/// Checks every point of `grid` (a bad combination fails at once, naming the flag and the point)
/// and gives each its identity and trajectory range.
///
/// The points' experiments are built in parallel on the current rayon pool (building one may run
/// the constants estimator: about a second for a network); everything else, and the choice of
/// the error to report, follows grid order, as if the points were built one by one.
/// `progress(1)` is called (from worker threads) as each point is built.
pub fn plan(
    grid: &SettingsGrid,
    shard: Shard,
    precision: Precision,
    progress: Option<&(dyn Fn(u64) + Sync)>,
) -> Result<Vec<PlannedPoint>, PlanError> {
    // A point after the first invalid one is not built: the loop below stops before it.
    let first_invalid = AtomicU64::new(u64::MAX);
    let built: Vec<Option<(Settings, Result<Experiment, ConfigError>)>> = (0..grid.len())
        .into_par_iter()
        .map(|i| {
            if first_invalid.load(Ordering::Relaxed) < i {
                return None;
            }
            let settings = grid.point(i);
            let experiment = Experiment::new(&settings);
            if experiment.is_err() {
                first_invalid.fetch_min(i, Ordering::Relaxed);
            }
            if let Some(p) = progress {
                p(1);
            }
            Some((settings, experiment))
        })
        .collect();
    let mut seen: HashMap<ConfigId, u64> = HashMap::new();
    let mut points = Vec::new();
    for (i, built) in (0..).zip(built) {
        let (settings, experiment) = built.expect("only points after an invalid one are skipped");
        let at = |error: ConfigError| PlanError::Point {
            error,
            index: i,
            label: grid.label(i),
        };
        let experiment = experiment.map_err(at)?;
        let n = experiment.trajectories;
        let (target, relative) = match precision.target {
            None => (None, None),
            Some(PointTarget::Halfwidth(h)) => (
                Some(Target::new(h, n, experiment.confidence).map_err(at)?),
                None,
            ),
            Some(PointTarget::RelativeError(error)) => (
                None,
                Some(
                    RelativeTarget::new(error, precision.max_replicas, n, experiment.confidence)
                        .map_err(at)?,
                ),
            ),
        };
        if shard.count > n {
            return Err(PlanError::EmptyShards {
                shard,
                trajectories: n,
            });
        }
        let id = config_id(&settings, &experiment, precision.target);
        if let Some(j) = seen.insert(id, i) {
            return Err(PlanError::Duplicate {
                first: j,
                first_label: grid.label(j),
                second: i,
                second_label: grid.label(i),
                id,
            });
        }
        let range = match (&target, &relative) {
            (Some(_), _) => 0..n,
            (_, Some(r)) => 0..r.max_replicas,
            _ => shard.range(n),
        };
        let key = RowKey {
            config_id: id.to_string(),
            start: range.start,
            planned_end: range.end,
        };
        points.push(PlannedPoint {
            experiment,
            id,
            range,
            target,
            relative,
            key,
        });
    }
    Ok(points)
}
