//! The record of `lojasim bound`: the theorem's inputs and its bounds for one configuration,
//! under the names the run row gives the same cells (a test holds them equal).

use crate::config::Experiment;
use crate::report::constants_source_name;
use crate::schedule::StepSchedule;

crate::csv_record! {
    /// One configuration's bound (`lojasim bound --format json`). Every column but
    /// `not_applicable` is also a column of the run row, with the same cell.
    pub struct BoundRow {
        pub problem: &'static str,
        pub dim: usize,
        pub noise: &'static str,
        pub noise_dist: &'static str,
        pub sigma: Option<f64>,
        pub schedule: &'static str,
        pub eta: Option<f64>,
        pub gamma: Option<f64>,
        pub n0: Option<f64>,
        pub q: Option<f64>,
        pub radius: f64,
        pub f0: f64,
        pub steps: u64,
        pub eps: f64,
        pub alpha: f64,
        pub c_l: f64,
        pub constants_source: &'static str,
        pub rho: Option<f64>,
        pub delta: Option<f64>,
        pub stay_bound: Option<f64>,
        pub converge_bound: Option<f64>,
        pub chatterjee: &'static str,
        /// Why the bound does not apply (empty where it does).
        pub not_applicable: Option<String>,
        pub version: &'static str,
    }
}

impl BoundRow {
    pub fn of(e: &Experiment) -> Self {
        let b = e.bound();
        let (eta, gamma, n0, q) = match e.schedule {
            StepSchedule::Constant { eta } => (Some(eta), None, None, None),
            StepSchedule::RobbinsMonro { gamma, n0, q } => (None, Some(gamma), Some(n0), Some(q)),
        };
        Self {
            problem: e.problem.kind.name(),
            dim: e.dim(),
            noise: e.noise.kind().name(),
            noise_dist: if e.noise.is_random() {
                e.noise_dist.name()
            } else {
                ""
            },
            sigma: e.noise.sigma(),
            schedule: e.schedule.kind().name(),
            eta,
            gamma,
            n0,
            q,
            radius: e.radius,
            f0: e.f0,
            steps: e.steps,
            eps: e.eps,
            alpha: e.constants.alpha,
            c_l: e.constants.c_l,
            constants_source: constants_source_name(e.constants.source),
            rho: b.rho,
            delta: b.delta,
            stay_bound: b.stay_bound,
            converge_bound: b.converge_bound,
            chatterjee: if b.chatterjee { "true" } else { "false" },
            not_applicable: b.not_applicable.map(|why| why.to_string()),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::engine::Control;
    use crate::landscape::ProblemKind;
    use crate::noise::NoiseKind;
    use crate::report::{CSV_COLUMNS, RunReport};

    /// The bound's cells are the run row's cells of the same columns, for a bound that applies
    /// and one that does not.
    #[test]
    fn bound_cells_equal_the_run_rows() {
        for noise in [NoiseKind::Ml, NoiseKind::Bounded] {
            let e = Experiment::new(&Settings {
                problem: ProblemKind::Ring,
                noise,
                steps: 20,
                trajectories: Some(8),
                ..Settings::default()
            })
            .unwrap();
            let tally = e.simulate(Control::default()).unwrap();
            let run = RunReport::new(&e, tally, 0.0).unwrap().csv_record();
            let bound = BoundRow::of(&e);
            let mut shared = 0;
            for (name, cell) in BoundRow::COLUMNS.iter().zip(bound.cells()) {
                if let Some(c) = CSV_COLUMNS.iter().position(|h| h == name) {
                    assert_eq!(cell, run[c], "{name} ({noise:?})");
                    shared += 1;
                } else {
                    assert_eq!(*name, "not_applicable");
                }
            }
            assert_eq!(shared, BoundRow::COLUMNS.len() - 1);
            assert_eq!(bound.not_applicable.is_some(), noise == NoiseKind::Bounded);
        }
    }
}
