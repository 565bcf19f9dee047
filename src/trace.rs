//! Sample paths on request (`run --trace N FILE`): the first N trajectories step by step.
//!
//! The engine never stores a path; this replays trajectories 0..N with the very same dynamics and
//! random streams (trajectory i is a pure function of (seed, i)), recording every step.

use crate::config::Experiment;
use crate::rng::trajectory_rng;
use crate::runner::{GridLosses, Outcome, Workspace};

crate::csv_record! {
    /// One row of a trace file: F(θ_k) and |θ_k − θ0| of trajectory `trajectory` at step k.
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub struct TracePoint {
        pub trajectory: u64,
        pub k: u64,
        pub loss: f64,
        pub distance: f64,
    }
}

/// The header of a trace file.
pub const TRACE_COLUMNS: &[&str] = TracePoint::COLUMNS;

/// The paths of trajectories 0..n: k = 0 … K while in the ball, then, for a trajectory that
/// leaves, its exit step (the first iterate outside the ball, distance > r or non-finite).
pub fn trace(experiment: &Experiment, n: u64) -> Vec<TracePoint> {
    let dynamics = experiment.dynamics();
    let every_step: Vec<u64> = (0..=experiment.steps).collect();
    let mut ws = Workspace::new(experiment.landscape.as_ref());
    let mut work = vec![0.0; experiment.landscape.workspace_len()];
    let theta0 = &experiment.theta0;
    let distance = |theta: &[f64]| {
        theta
            .iter()
            .zip(theta0)
            .map(|(t, t0)| (t - t0) * (t - t0))
            .sum::<f64>()
            .sqrt()
    };
    let mut points = Vec::new();
    for i in 0..n {
        let mut rng = trajectory_rng(experiment.seed, i);
        let outcome = dynamics.run(
            &mut rng,
            &mut ws,
            &every_step,
            GridLosses::All,
            |j, loss, theta| {
                points.push(TracePoint {
                    trajectory: i,
                    k: every_step[j],
                    loss,
                    distance: distance(theta),
                })
            },
        );
        if let Outcome::Exited { step } = outcome {
            let theta = ws.theta();
            points.push(TracePoint {
                trajectory: i,
                k: step,
                loss: experiment.landscape.loss(theta, &mut work),
                distance: distance(theta),
            });
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::engine::Control;
    use crate::landscape::ProblemKind;
    use crate::noise::NoiseKind;

    /// The trace replays the run: its last rows agree with the run's tally (exits and final
    /// losses), and every path starts at F(θ0) with distance 0.
    #[test]
    fn traced_paths_agree_with_the_simulated_outcomes() {
        let e = Experiment::new(&Settings {
            problem: ProblemKind::Quadratic,
            dim: Some(3),
            theta0: vec![0.1],
            eta: Some(0.3),
            sigma: Some(10.0),
            noise: NoiseKind::Ml,
            radius: 0.2,
            steps: 50,
            trajectories: Some(40),
            ..Settings::default()
        })
        .unwrap();
        let points = trace(&e, 40);
        let tally = e.simulate(Control::default()).unwrap();
        let mut exited = 0;
        for i in 0..40 {
            let path: Vec<&TracePoint> = points.iter().filter(|p| p.trajectory == i).collect();
            assert_eq!((path[0].k, path[0].loss, path[0].distance), (0, e.f0, 0.0));
            let last = path.last().unwrap();
            if last.distance > e.radius {
                exited += 1;
                assert!(
                    path[..path.len() - 1]
                        .iter()
                        .all(|p| p.distance <= e.radius)
                );
            } else {
                assert_eq!(last.k, e.steps);
                assert_eq!(path.len() as u64, e.steps + 1);
            }
        }
        assert_eq!(exited, tally.exited());
        assert!(exited > 0 && exited < 40, "both outcomes should occur");
    }
}
