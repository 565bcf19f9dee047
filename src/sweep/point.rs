//! Running one sweep point over its trajectory range, to a fixed N or to a target precision.

use std::ops::Range;

use crate::ams::SplittingTally;
use crate::config::{Estimator, Experiment};
use crate::engine::{self, Cancelled, Control};
use crate::estimate::IntervalError;
use crate::estimate::sequential::{Stopped, Target};
use crate::report::{HalfwidthOutcome, RunReport};
use crate::tally::{Tally, curve_grid};

/// The simulated trajectories (or splitting replicas) of one point.
pub struct PointResult {
    /// Crude Monte Carlo's tally (empty for splitting).
    pub tally: Tally,
    /// The replicas, for splitting.
    pub splitting: Option<SplittingTally>,
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
    if let Estimator::Splitting { .. } = experiment.estimator {
        assert!(
            target.is_none(),
            "splitting runs to a fixed number of replicas"
        );
        return Ok(PointResult {
            tally: Tally::new(curve_grid(experiment.steps)),
            splitting: Some(experiment.simulate_splitting(range, control)?),
            stopped: None,
        });
    }
    let Some(target) = target else {
        let tally = engine::simulate(&dynamics, experiment.seed, range, control)?;
        return Ok(PointResult {
            tally,
            splitting: None,
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
        splitting: None,
        stopped: Some(stopped),
    })
}

impl PointResult {
    /// The result of a fixed range of crude Monte Carlo, already simulated.
    pub fn of_tally(tally: Tally) -> Self {
        Self {
            tally,
            splitting: None,
            stopped: None,
        }
    }

    /// The units of work done: trajectories, or replicas for splitting.
    pub fn used(&self) -> u64 {
        self.splitting
            .as_ref()
            .map_or(self.tally.trajectories, |s| s.replicas)
    }

    /// The report of this point, with the sequential intervals when it ran to a target.
    pub fn report<'a>(
        self,
        experiment: &'a Experiment,
        target: Option<&Target>,
        elapsed_s: f64,
    ) -> Result<RunReport<'a>, IntervalError> {
        if let Some(s) = self.splitting {
            return Ok(RunReport::splitting(experiment, s, elapsed_s));
        }
        match (self.stopped, target) {
            (Some(s), Some(t)) => {
                let mut report = RunReport::with_intervals(
                    experiment,
                    self.tally,
                    elapsed_s,
                    [s.intervals[0], s.intervals[1]],
                    t.method_name(),
                );
                report.target_met = Some(s.reached);
                report.halfwidth_target = Some(HalfwidthOutcome {
                    target: t.halfwidth,
                    cap: t.cap,
                    looks: s.looks,
                    reached: s.reached,
                });
                Ok(report)
            }
            _ => RunReport::new(experiment, self.tally, elapsed_s),
        }
    }
}
