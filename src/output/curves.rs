//! `--curves-out`: the survival and contraction curves of each point, in long format, from the
//! tally's grid (every step up to 100, then 20 per decade, then K). Free with every noise model
//! but minibatch noise, whose steps compute only batch losses: there the full loss at each grid
//! step is extra work, done only when a curves file is asked for ([`crate::runner::GridLosses`]).

use std::ops::Range;

use crate::config::Experiment;
use crate::sweep::ConfigId;
use crate::tally::Tally;

crate::csv_record! {
    /// One row of a curves file: one point of the results file at one grid step k.
    pub struct CurveRow {
        /// With `traj_start` and `traj_end`: the row of the results file these curves belong to.
        pub config_id: String,
        pub traj_start: u64,
        pub traj_end: u64,
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
            CurveRow {
                config_id: id.to_string(),
                traj_start: range.start,
                traj_end: range.end,
                k,
                stay_count: tally.stayed_through(j),
                loss_mean,
                loss_se,
                loss_bound: bound.expected_loss_bound(k, experiment.f0),
            }
            .cells()
        })
        .collect()
}
