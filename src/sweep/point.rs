//! Running one sweep point over its trajectory range, to a fixed N or to a target precision.

use std::ops::Range;

use crate::config::Experiment;
use crate::engine::{self, Cancelled, Control};
use crate::estimate::IntervalError;
use crate::estimate::sequential::{Stopped, Target};
use crate::report::RunReport;
use crate::tally::{Tally, curve_grid};

/// The simulated trajectories of one point.
pub struct PointResult {
    pub tally: Tally,
    /// How a run to a target half-width stopped (`None` for a fixed range).
    pub stopped: Option<Stopped>,
}

/// Simulates `range` of `experiment`, or with a `target`, batches from `range.start` on until the
/// target or `range.end` (the batch boundaries depend on the counts only).
pub fn run_point(
    experiment: &Experiment,
    range: Range<u64>,
    target: Option<&Target>,
    control: Control<'_>,
) -> Result<PointResult, Cancelled> {
    let dynamics = experiment.dynamics();
    let Some(target) = target else {
        let tally = engine::simulate(&dynamics, experiment.seed, range, control)?;
        return Ok(PointResult {
            tally,
            stopped: None,
        });
    };
    let mut tally = Tally::new(curve_grid(experiment.steps));
    let stopped = target.run(|n| {
        let from = range.start + tally.trajectories;
        let part = engine::simulate(&dynamics, experiment.seed, from..range.start + n, control)?;
        tally.merge(&part);
        Ok(vec![tally.stayed, tally.converged])
    })?;
    Ok(PointResult {
        tally,
        stopped: Some(stopped),
    })
}

impl PointResult {
    /// The report of this point, with the sequential intervals when it ran to a target.
    pub fn report<'a>(
        self,
        experiment: &'a Experiment,
        target: Option<&Target>,
        elapsed_s: f64,
    ) -> Result<RunReport<'a>, IntervalError> {
        match (self.stopped, target) {
            (Some(s), Some(t)) => Ok(RunReport::with_intervals(
                experiment,
                self.tally,
                elapsed_s,
                [s.intervals[0], s.intervals[1]],
                t.method_name(),
            )),
            _ => RunReport::new(experiment, self.tally, elapsed_s),
        }
    }
}
