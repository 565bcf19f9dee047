//! Running one sweep point over its trajectory range, to a fixed N or to a target precision.

use std::ops::Range;

use crate::ams::{ExitEstimate, RelativeTarget, SplittingTally, TargetOutcome};
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
    /// How a splitting run to a relative precision stopped, with its interval.
    pub relative: Option<(ExitEstimate, TargetOutcome)>,
}

/// Simulates `range` of `experiment`, or with a `target`, batches from `range.start` on until the
/// target or `range.end` (the batch boundaries depend on the counts only).
pub fn run_point(
    experiment: &Experiment,
    range: Range<u64>,
    target: Option<&Target>,
    control: Control<'_>,
) -> Result<PointResult, Cancelled> {
    run_point_to(experiment, range, target, None, control)
}

/// [`run_point`], for splitting to a `relative` precision if given (its replicas from 0 on,
/// `range` is then 0..cap).
pub fn run_point_to(
    experiment: &Experiment,
    range: Range<u64>,
    target: Option<&Target>,
    relative: Option<&RelativeTarget>,
    control: Control<'_>,
) -> Result<PointResult, Cancelled> {
    let dynamics = experiment.dynamics();
    if let Estimator::Splitting { .. } = experiment.estimator {
        assert!(
            target.is_none(),
            "splitting runs to a number of replicas or a relative precision"
        );
        let (splitting, relative) = match relative {
            Some(r) => {
                let (tally, exit, outcome) = r.run(experiment.trajectories, |replicas| {
                    experiment.simulate_splitting(replicas, control)
                })?;
                (tally, Some((exit, outcome)))
            }
            None => (experiment.simulate_splitting(range, control)?, None),
        };
        return Ok(PointResult {
            tally: Tally::new(curve_grid(experiment.steps)),
            splitting: Some(splitting),
            stopped: None,
            relative,
        });
    }
    let Some(target) = target else {
        let tally = engine::simulate(&dynamics, experiment.seed, range, control)?;
        return Ok(PointResult {
            tally,
            splitting: None,
            stopped: None,
            relative: None,
        });
    };
    // The batches' blocks wait in `pending` until the next batch shows the run goes on; at the
    // stop only the blocks up to it count.
    let mut tally = Tally::new(curve_grid(experiment.steps));
    let mut pending: Vec<Tally> = Vec::new();
    let stopped = target.run(|batch| {
        for block in pending.drain(..) {
            tally.merge(&block);
        }
        let from = range.start + batch.start;
        pending = engine::simulate_blocks(
            &dynamics,
            experiment.seed,
            from..range.start + batch.end,
            control,
        )?;
        Ok(pending
            .iter()
            .map(|b| vec![b.stayed, b.converged])
            .collect())
    })?;
    for block in pending {
        if tally.trajectories + block.trajectories > stopped.n {
            break;
        }
        tally.merge(&block);
    }
    debug_assert_eq!(tally.trajectories, stopped.n);
    Ok(PointResult {
        tally,
        splitting: None,
        stopped: Some(stopped),
        relative: None,
    })
}

impl PointResult {
    /// The result of a fixed range of crude Monte Carlo, already simulated.
    pub fn of_tally(tally: Tally) -> Self {
        Self {
            tally,
            splitting: None,
            stopped: None,
            relative: None,
        }
    }

    /// The looks of a run to a precision target (`None` for a fixed range).
    pub fn looks(&self) -> Option<u32> {
        self.stopped
            .as_ref()
            .map(|s| s.looks)
            .or(self.relative.map(|(_, o)| o.looks))
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
            return Ok(match self.relative {
                Some((exit, outcome)) => {
                    RunReport::splitting_to_target(experiment, s, exit, outcome, elapsed_s)
                }
                None => RunReport::splitting(experiment, s, elapsed_s),
            });
        }
        match (self.stopped, target) {
            (Some(s), Some(t)) => {
                let mut report = RunReport::with_intervals(
                    experiment,
                    self.tally,
                    elapsed_s,
                    [s.intervals[0], s.intervals[1]],
                    crate::estimate::sequential::METHOD.to_string(),
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
