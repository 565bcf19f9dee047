//! The parallel engine: trajectories in fixed blocks across a rayon pool, each reduced at once into
//! a [`Tally`].
//!
//! Trajectory i always draws from `trajectory_rng(seed, i)` and tallies merge exactly, so the result
//! is the same for any number of threads and any split of the index range into shards.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::lanes::LANES;
use crate::rng::trajectory_rng;
use crate::runner::{Dynamics, LaneWorkspace, Workspace};
use crate::tally::{Tally, curve_grid};

/// Trajectories per work item. Large enough to amortise scheduling, small enough to balance two
/// cores and to report progress smoothly; a later vectorised kernel can advance a block in lockstep.
pub const BLOCK: u64 = 64;

/// Optional hooks into a running simulation.
#[derive(Default, Clone, Copy)]
pub struct Control<'a> {
    /// Called with the number of trajectories just finished (from worker threads).
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
    /// When set, remaining blocks are skipped and [`simulate`] returns [`Cancelled`].
    pub cancel: Option<&'a AtomicBool>,
}

/// The simulation was stopped through [`Control::cancel`]; nothing of it is usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("simulation cancelled")]
pub struct Cancelled;

/// Runs trajectories `range` of the run with master seed `seed` on the current rayon pool.
pub fn simulate(
    dynamics: &Dynamics<'_>,
    seed: u64,
    range: Range<u64>,
    control: Control<'_>,
) -> Result<Tally, Cancelled> {
    let grid = curve_grid(dynamics.steps);
    let first_block = range.start / BLOCK;
    let end_block = range.end.div_ceil(BLOCK);
    let cancelled = || control.cancel.is_some_and(|c| c.load(Ordering::Relaxed));
    let lanes = dynamics.lane_kernel();
    let tally = (first_block..end_block)
        .into_par_iter()
        .fold(
            || {
                let ws = match lanes {
                    Some(_) => Err(LaneWorkspace::new(dynamics)),
                    None => Ok(Workspace::new(dynamics.landscape)),
                };
                (Tally::new(grid.clone()), ws)
            },
            |(mut tally, mut ws), block| {
                if cancelled() {
                    return (tally, ws);
                }
                // Blocks are aligned to multiples of BLOCK in the global index, clipped to the range.
                let start = (block * BLOCK).max(range.start);
                let end = ((block + 1) * BLOCK).min(range.end);
                match (&mut ws, lanes) {
                    (Err(lws), Some(_)) => {
                        for first in (start..end).step_by(LANES) {
                            let count = (end - first).min(LANES as u64) as usize;
                            dynamics.run_lanes(seed, first, count, lws, &grid, &mut tally);
                        }
                    }
                    (Ok(ws), _) => {
                        for i in start..end {
                            let mut rng = trajectory_rng(seed, i);
                            let outcome = dynamics
                                .run(&mut rng, ws, &grid, |j, f, _| tally.record_loss(j, f));
                            tally.record_outcome(outcome);
                        }
                    }
                    (Err(_), None) => unreachable!("lane workspaces exist only with a lane kernel"),
                }
                if let Some(p) = control.progress {
                    p(end - start);
                }
                (tally, ws)
            },
        )
        .map(|(tally, _)| tally)
        .reduce(
            || Tally::new(grid.clone()),
            |mut a, b| {
                a.merge(&b);
                a
            },
        );
    if cancelled() {
        return Err(Cancelled);
    }
    Ok(tally)
}

/// Runs `f` on a pool of `threads` threads (0: one per core).
pub fn with_threads<T: Send>(
    threads: usize,
    f: impl FnOnce() -> T + Send,
) -> Result<T, rayon::ThreadPoolBuildError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    Ok(pool.install(f))
}
