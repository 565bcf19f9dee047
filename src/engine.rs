//! The parallel engine: trajectories in fixed blocks across a rayon pool, each reduced at once into
//! a [`Tally`].
//!
//! Trajectory i always draws from `trajectory_rng(seed, i)` and tallies merge exactly, so the result
//! is the same for any number of threads and any split of the index range into shards.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::lanes::{LANES, level};
use crate::noise::NoiseModel;
use crate::rng::trajectory_rng;
use crate::runner::{Dynamics, GridLosses, LaneWorkspace, Workspace};
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
    /// Which grid steps record F(θ_k): [`GridLosses::All`] when the contraction curve is wanted
    /// (`--curves-out`); the default, [`GridLosses::Free`], skips the full losses a minibatch run
    /// would compute only for it. Counts, survival curve and F(θ_K) are the same either way.
    pub grid_losses: GridLosses,
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
    let losses = control.grid_losses;
    let curve_complete =
        losses == GridLosses::All || !matches!(dynamics.noise, NoiseModel::Minibatch { .. });
    let new_tally = || Tally {
        curve_complete,
        ..Tally::new(grid.clone())
    };
    // The unit of parallel work is one lane group: a block of 64 trajectories of a large
    // network is minutes of work, and fewer blocks than threads would leave threads idle. Every
    // trajectory draws from its own generator and the tallies merge exactly in any order, so
    // the unit changes no result.
    let unit = LANES as u64;
    let first_unit = range.start / unit;
    let end_unit = range.end.div_ceil(unit);
    let cancelled = || control.cancel.is_some_and(|c| c.load(Ordering::Relaxed));
    let blocks = Blocks::new(dynamics, seed, control, &grid);
    let tally = (first_unit..end_unit)
        .into_par_iter()
        .fold(
            || (new_tally(), blocks.workspace()),
            |(mut tally, mut ws), u| {
                if !cancelled() {
                    // Units are aligned to multiples of the unit in the global index, clipped
                    // to the range.
                    let start = (u * unit).max(range.start);
                    let end = ((u + 1) * unit).min(range.end);
                    blocks.run(start..end, &mut ws, &mut tally);
                }
                (tally, ws)
            },
        )
        .map(|(tally, _)| tally)
        .reduce(new_tally, |mut a, b| {
            a.merge(&b);
            a
        });
    if cancelled() {
        return Err(Cancelled);
    }
    Ok(tally)
}

/// What every block of a simulation shares: the dynamics, the kernel and the hooks.
struct Blocks<'a, 'd> {
    dynamics: &'a Dynamics<'d>,
    seed: u64,
    control: Control<'a>,
    grid: &'a [u64],
    lanes: bool,
    simd: crate::lanes::Level,
}

impl<'a, 'd> Blocks<'a, 'd> {
    fn new(dynamics: &'a Dynamics<'d>, seed: u64, control: Control<'a>, grid: &'a [u64]) -> Self {
        Self {
            dynamics,
            seed,
            control,
            grid,
            lanes: dynamics.lane_kernel().is_some(),
            simd: level(),
        }
    }

    /// A workspace for one thread: lanes' where the landscape has a lane kernel.
    fn workspace(&self) -> Result<Workspace, LaneWorkspace> {
        if self.lanes {
            Err(LaneWorkspace::new(self.dynamics))
        } else {
            Ok(Workspace::new(self.dynamics.landscape))
        }
    }

    /// Runs trajectories `range` (at most one block, or one lane group) into `tally`.
    fn run(&self, range: Range<u64>, ws: &mut Result<Workspace, LaneWorkspace>, tally: &mut Tally) {
        let (d, losses) = (self.dynamics, self.control.grid_losses);
        match ws {
            Err(lws) => {
                for first in range.clone().step_by(LANES) {
                    let count = (range.end - first).min(LANES as u64) as usize;
                    d.run_lanes(
                        self.simd, self.seed, first, count, lws, self.grid, losses, tally,
                    );
                }
            }
            Ok(ws) => {
                for i in range.clone() {
                    let mut rng = trajectory_rng(self.seed, i);
                    let outcome = d.run(&mut rng, ws, self.grid, losses, |j, f, _| {
                        tally.record_loss(j, f)
                    });
                    tally.record_outcome(outcome);
                }
            }
        }
        if let Some(p) = self.control.progress {
            p(range.end - range.start);
        }
    }
}

/// Runs trajectories `range` as [`simulate`] does, tallied block by block: one tally per
/// [`BLOCK`] trajectories counted from `range.start` (the last one possibly shorter), in order.
/// For runs that look at the counts after every block ([`crate::estimate::sequential`]).
pub fn simulate_blocks(
    dynamics: &Dynamics<'_>,
    seed: u64,
    range: Range<u64>,
    control: Control<'_>,
) -> Result<Vec<Tally>, Cancelled> {
    let grid = curve_grid(dynamics.steps);
    let curve_complete = control.grid_losses == GridLosses::All
        || !matches!(dynamics.noise, NoiseModel::Minibatch { .. });
    let cancelled = || control.cancel.is_some_and(|c| c.load(Ordering::Relaxed));
    let blocks = Blocks::new(dynamics, seed, control, &grid);
    let count = (range.end - range.start).div_ceil(BLOCK);
    let tallies: Vec<Tally> = (0..count)
        .into_par_iter()
        // map_init gives each worker a workspace (scratch only: every draw comes from the
        // trajectory's own generator).
        .map_init(
            || blocks.workspace(),
            |ws, b| {
                let mut tally = Tally {
                    curve_complete,
                    ..Tally::new(grid.clone())
                };
                if !cancelled() {
                    let start = range.start + b * BLOCK;
                    blocks.run(start..(start + BLOCK).min(range.end), ws, &mut tally);
                }
                tally
            },
        )
        .collect();
    if cancelled() {
        return Err(Cancelled);
    }
    Ok(tallies)
}

/// Trajectories in the first chunk of [`simulate_prefix`], whose time predicts the run's.
pub const PILOT: u64 = 4 * BLOCK;

/// The chunks [`simulate_prefix`] runs `range` in: first [`PILOT`] trajectories, then about a
/// hundredth of the range each, in whole blocks. A function of the range alone, never of the
/// threads or the timing.
pub fn prefix_chunks(range: Range<u64>) -> Vec<Range<u64>> {
    let chunk = ((range.end - range.start) / 100).div_ceil(BLOCK).max(1) * BLOCK;
    let mut chunks = Vec::new();
    let mut start = range.start;
    let mut next = (range.start + PILOT).min(range.end);
    while start < range.end {
        chunks.push(start..next);
        start = next;
        next = (start + chunk).min(range.end);
    }
    chunks
}

/// What [`simulate_prefix`] finished: the trajectories `range.start..end`.
pub struct Prefix {
    pub tally: Tally,
    pub end: u64,
    /// Whether the whole range was run (false: cancelled).
    pub complete: bool,
}

/// Runs `range` as [`simulate`] does, but in consecutive chunks ([`prefix_chunks`]), so that a
/// cancelled run keeps the chunks it finished: a prefix of whole blocks, whose tally is exactly
/// that of running the prefix alone (tallies merge exactly), whatever the thread count.
/// `after_chunk(done, total)` is called after each chunk.
pub fn simulate_prefix(
    dynamics: &Dynamics<'_>,
    seed: u64,
    range: Range<u64>,
    control: Control<'_>,
    mut after_chunk: impl FnMut(u64, u64),
) -> Prefix {
    let mut tally = Tally {
        curve_complete: control.grid_losses == GridLosses::All
            || !matches!(dynamics.noise, NoiseModel::Minibatch { .. }),
        ..Tally::new(curve_grid(dynamics.steps))
    };
    let total = range.end - range.start;
    for chunk in prefix_chunks(range.clone()) {
        match simulate(dynamics, seed, chunk.clone(), control) {
            Ok(part) => tally.merge(&part),
            Err(Cancelled) => {
                return Prefix {
                    tally,
                    end: chunk.start,
                    complete: false,
                };
            }
        }
        after_chunk(chunk.end - range.start, total);
    }
    Prefix {
        tally,
        end: range.end,
        complete: true,
    }
}

/// A pool of `threads` threads (0: one per core), to `install` work on.
pub fn pool(threads: usize) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build()
}

/// Runs `f` on a new [`pool`] of `threads` threads.
pub fn with_threads<T: Send>(
    threads: usize,
    f: impl FnOnce() -> T + Send,
) -> Result<T, rayon::ThreadPoolBuildError> {
    Ok(pool(threads)?.install(f))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn prefix_chunks_cover_the_range_in_whole_blocks() {
        for range in [0..1, 0..100, 0..10_000, 64..1_000_000, 0..PILOT] {
            let chunks = prefix_chunks(range.clone());
            assert_eq!(chunks[0].start, range.start);
            assert_eq!(chunks.last().unwrap().end, range.end);
            assert!(chunks.windows(2).all(|w| w[0].end == w[1].start));
            assert!(chunks.iter().all(|c| c.start < c.end));
            // Every boundary but the range's end lies on a block boundary of the global index
            // when the range starts on one.
            if range.start % BLOCK == 0 {
                assert!(
                    chunks
                        .iter()
                        .all(|c| c.end == range.end || c.end % BLOCK == 0)
                );
            }
            assert!(chunks.len() <= 102, "{}", chunks.len());
        }
    }

    /// Chunked and cancelled: the full run equals the one-piece run bit for bit, and a cancel
    /// keeps a prefix whose tally is that of the prefix run alone.
    #[test]
    fn a_chunked_run_equals_the_whole_run_and_a_cancel_keeps_an_exact_prefix() {
        use crate::landscape::Quadratic;
        let landscape = Quadratic::new(vec![1.0; 3]).unwrap();
        let dynamics = Dynamics {
            landscape: &landscape,
            noise: NoiseModel::Ml { sigma: 50.0 },
            noise_dist: NoiseDist::Gaussian,
            schedule: StepSchedule::Constant { eta: 0.1 },
            theta0: &[0.2, 0.1, 0.0],
            radius: 0.3,
            steps: 60,
            eps: 1e-6,
        };
        let whole = simulate(&dynamics, 5, 0..3000, Control::default()).unwrap();
        let chunked = simulate_prefix(&dynamics, 5, 0..3000, Control::default(), |_, _| {});
        assert!(chunked.complete);
        assert_eq!(chunked.tally, whole);
        assert!(whole.stayed > 0 && whole.stayed < 3000, "both outcomes");

        let cancel = AtomicBool::new(false);
        let control = Control {
            cancel: Some(&cancel),
            ..Control::default()
        };
        let mut chunks = 0;
        let partial = simulate_prefix(&dynamics, 5, 0..3000, control, |_, _| {
            chunks += 1;
            if chunks == 3 {
                cancel.store(true, Ordering::Relaxed);
            }
        });
        assert!(!partial.complete);
        assert_eq!(partial.end, prefix_chunks(0..3000)[2].end);
        let alone = simulate(&dynamics, 5, 0..partial.end, Control::default()).unwrap();
        assert_eq!(partial.tally, alone);
    }
    use crate::data::Dataset;
    use crate::landscape::{Activation, Mlp, Objective};
    use crate::noise::{BatchMode, NoiseDist};
    use crate::schedule::StepSchedule;

    /// Skipping the minibatch run's intermediate full losses changes nothing but the contraction
    /// curve, on the lane path (with replacement) and the one-trajectory path (without).
    #[test]
    fn free_grid_losses_change_only_the_minibatch_contraction_curve() {
        let data = Dataset::parse("teacher", include_str!("../data/teacher.csv"), None).unwrap();
        let m = Mlp::new(Arc::new(data), &[5], Activation::Tanh).unwrap();
        let theta0: Vec<f64> = (0..m.dim())
            .map(|i| ((i * 7 % 11) as f64 - 5.0) / 9.0)
            .collect();
        for mode in [BatchMode::WithReplacement, BatchMode::WithoutReplacement] {
            let dynamics = Dynamics {
                landscape: &m,
                theta0: &theta0,
                noise: NoiseModel::Minibatch {
                    batch: 3,
                    mode,
                    sigma: 1.0,
                },
                noise_dist: NoiseDist::Gaussian,
                schedule: StepSchedule::Constant { eta: 0.1 },
                radius: 1.06,
                steps: 300,
                eps: 0.002,
            };
            let run = |grid_losses| {
                let control = Control {
                    grid_losses,
                    ..Control::default()
                };
                simulate(&dynamics, 3, 0..40, control).unwrap()
            };
            let (all, free) = (run(GridLosses::All), run(GridLosses::Free));
            // About 7 of 40 stay: both outcomes occur.
            assert!(all.stayed > 0 && all.exited() > 0, "{mode}: a trivial case");
            assert!(all.curve_complete && !free.curve_complete);
            let last = all.grid.len() - 1;
            assert_eq!(free.curve[last], all.curve[last]);
            assert_eq!(free.mean_loss(last), all.mean_loss(last));
            for j in 0..last {
                assert_eq!(free.mean_loss(j), None);
                assert!(all.mean_loss(j).is_some_and(|(mean, _)| mean > 0.0));
            }
            let counts = |t: &Tally| {
                let exits = t.exits.clone();
                (
                    t.trajectories,
                    t.stayed,
                    t.converged,
                    exits,
                    t.exit_step_sum,
                )
            };
            assert_eq!(counts(&free), counts(&all), "{mode}");
        }
    }
}
