//! `--curves-out`: the survival and contraction curves of each point, in long format, from the
//! tally's grid (every step up to 100, then 20 per decade, then K). Free with every noise model
//! but minibatch noise, whose steps compute only batch losses: there the full loss at each grid
//! step is extra work, done only when a curves file is asked for ([`crate::runner::GridLosses`]).

use std::ops::Range;

use crate::config::Experiment;
use crate::report::fmt_f64;
use crate::sweep::ConfigId;
use crate::tally::Tally;

/// Columns of a curves file, one row per point and grid step k:
///
/// - `config_id`, `traj_start`, `traj_end`: the row of the results file these curves belong to;
/// - `k`: the step;
/// - `stay_count`: trajectories still in the ball after step k (stayed through k);
/// - `loss_mean`, `loss_se`: the mean over all trajectories of F(θ_k)·1{stayed through k}, and
///   its standard error (empty where F(θ_k) was not computed, see [`Tally::mean_loss`]);
/// - `loss_bound`: ρ^k·F(θ0), the theorem's bound on that mean, empty where it does not apply.
pub const CURVE_COLUMNS: [&str; 8] = [
    "config_id",
    "traj_start",
    "traj_end",
    "k",
    "stay_count",
    "loss_mean",
    "loss_se",
    "loss_bound",
];

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
            let (mean, se) = tally.mean_loss(j).unzip();
            vec![
                id.to_string(),
                range.start.to_string(),
                range.end.to_string(),
                k.to_string(),
                tally.stayed_through(j).to_string(),
                mean.map_or(String::new(), fmt_f64),
                se.map_or(String::new(), fmt_f64),
                bound
                    .expected_loss_bound(k, experiment.f0)
                    .map_or(String::new(), fmt_f64),
            ]
        })
        .collect()
}
