//! From settings as a user gives them ([`Settings`], one field per flag) to a checked, runnable
//! [`Experiment`]. Every check names the flag it concerns and says how to fix it.

use crate::engine::{self, Cancelled, Control};
use crate::error::{ConfigError, check};
use crate::estimate::CiMethod;
use crate::landscape::{
    self, BallConstants, ConstantsSource, Landscape, ProblemKind, ProblemSettings,
};
use crate::noise::{NoiseDist, NoiseKind, NoiseModel};
use crate::runner::Dynamics;
use crate::schedule::{ScheduleKind, StepSchedule};
use crate::tally::Tally;
use crate::theory::{Bound, BoundInputs};

/// Dimension used when neither `--dim` nor a list-valued flag fixes it.
pub const DEFAULT_DIM: usize = 10;
/// Robbins–Monro defaults: η_k = 0.1/(k + 1)^0.75 unless `--gamma`, `--n0`, `--q` say otherwise.
pub const DEFAULT_GAMMA: f64 = 0.1;
pub const DEFAULT_N0: f64 = 1.0;
pub const DEFAULT_Q: f64 = 0.75;
/// σ when a noisy model is chosen without `--sigma`.
pub const DEFAULT_SIGMA: f64 = 1.0;
/// η when a constant step is chosen without `--eta`.
pub const DEFAULT_ETA: f64 = 0.05;

/// Raw settings, one field per command-line flag. `Option` fields are those whose absence means
/// something ("not given": use a default or infer) rather than a value.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub problem: ProblemKind,
    pub dim: Option<usize>,
    pub curvature: Vec<f64>,
    pub theta0: Vec<f64>,
    pub noise: NoiseKind,
    pub noise_dist: NoiseDist,
    pub sigma: Option<f64>,
    pub schedule: ScheduleKind,
    pub eta: Option<f64>,
    pub gamma: Option<f64>,
    pub n0: Option<f64>,
    pub q: Option<f64>,
    pub radius: f64,
    pub steps: u64,
    pub eps: f64,
    pub trajectories: u64,
    pub seed: u64,
    pub ci: CiMethod,
    pub confidence: f64,
    pub alpha: Option<f64>,
    pub c_l: Option<f64>,
}

impl Default for Settings {
    /// The built-in default experiment (`lojasim run` with no flags): SGD with machine-learning
    /// noise (σ = 1, η = 0.05) on the ring F = ¼(|θ|² − 1)² in d = 10, started at |θ0| ≈ 1.02,
    /// near the minimum set, in a ball of radius 0.3 where the theorem's bound is informative
    /// (1 − δ ≈ 0.62). With `--noise bounded` the same start leaves the ball almost surely.
    fn default() -> Self {
        Settings {
            problem: ProblemKind::Ring,
            dim: None,
            curvature: vec![1.0],
            theta0: vec![0.3225],
            noise: NoiseKind::Ml,
            noise_dist: NoiseDist::Gaussian,
            sigma: None,
            schedule: ScheduleKind::Constant,
            eta: None,
            gamma: None,
            n0: None,
            q: None,
            radius: 0.3,
            steps: 1000,
            eps: 1e-6,
            trajectories: 10_000,
            seed: 0,
            ci: CiMethod::Wilson,
            confidence: 0.95,
            alpha: None,
            c_l: None,
        }
    }
}

/// A checked configuration, ready to simulate.
pub struct Experiment {
    pub problem: ProblemSettings,
    pub landscape: Box<dyn Landscape>,
    pub theta0: Vec<f64>,
    /// F(θ0).
    pub f0: f64,
    pub noise: NoiseModel,
    pub noise_dist: NoiseDist,
    pub schedule: StepSchedule,
    pub radius: f64,
    pub steps: u64,
    pub eps: f64,
    pub trajectories: u64,
    pub seed: u64,
    pub ci: CiMethod,
    pub confidence: f64,
    pub constants: BallConstants,
}

impl Experiment {
    /// Checks `s` and builds the landscape.
    pub fn new(s: &Settings) -> Result<Self, ConfigError> {
        let dim = resolve_dim(s)?;
        for &t in &s.theta0 {
            check::finite("--theta0", t)?;
        }
        let theta0 = landscape::broadcast("--theta0", &s.theta0, dim)?;
        let problem = ProblemSettings {
            kind: s.problem,
            dim: s.dim,
            curvature: s.curvature.clone(),
        };
        let landscape = landscape::build(&problem, dim)?;
        let radius = check::positive("--radius", s.radius)?;
        if s.steps == 0 {
            return Err(ConfigError::new("--steps", "must be ≥ 1 (got 0)"));
        }
        if s.trajectories == 0 {
            return Err(ConfigError::new("--trajectories", "must be ≥ 1 (got 0)"));
        }
        let eps = check::positive("--eps", s.eps)?;
        if !(s.confidence > 0.0 && s.confidence < 1.0) {
            return Err(ConfigError::new(
                "--confidence",
                format!(
                    "must be strictly between 0 and 1, e.g. 0.95 (got {})",
                    s.confidence
                ),
            ));
        }
        let noise = noise_model(s)?;
        let schedule = step_schedule(s)?;
        let mut work = vec![0.0; landscape.workspace_len()];
        let f0 = landscape.loss(&theta0, &mut work);
        if !f0.is_finite() {
            return Err(ConfigError::new(
                "--theta0",
                format!("gives a non-finite loss F(θ0) = {f0}; start closer to the minimum"),
            ));
        }
        let constants = constants(s, landscape.as_ref(), &theta0, radius)?;
        Ok(Experiment {
            problem,
            landscape,
            theta0,
            f0,
            noise,
            noise_dist: s.noise_dist,
            schedule,
            radius,
            steps: s.steps,
            eps,
            trajectories: s.trajectories,
            seed: s.seed,
            ci: s.ci,
            confidence: s.confidence,
            constants,
        })
    }

    pub fn dim(&self) -> usize {
        self.theta0.len()
    }

    /// The dynamics shared by all trajectories.
    pub fn dynamics(&self) -> Dynamics<'_> {
        Dynamics {
            landscape: self.landscape.as_ref(),
            theta0: &self.theta0,
            noise: self.noise,
            noise_dist: self.noise_dist,
            schedule: self.schedule,
            radius: self.radius,
            steps: self.steps,
            eps: self.eps,
        }
    }

    /// The theorem's bound for this configuration.
    pub fn bound(&self) -> Bound {
        Bound::compute(&BoundInputs {
            alpha: self.constants.alpha,
            c_l: self.constants.c_l,
            noise: self.noise,
            schedule: self.schedule,
            radius: self.radius,
            f0: self.f0,
            steps: self.steps,
            eps: self.eps,
        })
    }

    /// Simulates trajectories 0..N on the current rayon pool.
    pub fn simulate(&self, control: Control<'_>) -> Result<Tally, Cancelled> {
        engine::simulate(&self.dynamics(), self.seed, 0..self.trajectories, control)
    }
}

fn resolve_dim(s: &Settings) -> Result<usize, ConfigError> {
    let from_lists = [
        ("--theta0", s.theta0.len()),
        ("--curvature", s.curvature.len()),
    ]
    .into_iter()
    .filter(|&(flag, n)| n > 1 && (flag != "--curvature" || s.problem == ProblemKind::Quadratic))
    .collect::<Vec<_>>();
    let dim = match s.dim {
        Some(0) => return Err(ConfigError::new("--dim", "must be ≥ 1 (got 0)")),
        Some(d) => d,
        None => from_lists.first().map_or(DEFAULT_DIM, |&(_, n)| n),
    };
    if s.dim.is_none()
        && let [(first, n1), (second, n2)] = from_lists[..]
        && n1 != n2
    {
        return Err(ConfigError::new(
            first,
            format!(
                "has {n1} values but {second} has {n2}: give both d values (or one, broadcast)"
            ),
        ));
    }
    for (flag, n) in from_lists {
        if n != dim {
            return Err(ConfigError::new(
                flag,
                format!(
                    "has {n} values but the dimension is {dim}: give one value (broadcast) or {dim}"
                ),
            ));
        }
    }
    Ok(dim)
}

fn noise_model(s: &Settings) -> Result<NoiseModel, ConfigError> {
    let sigma = || check::non_negative("--sigma", s.sigma.unwrap_or(DEFAULT_SIGMA));
    Ok(match s.noise {
        NoiseKind::None => NoiseModel::None,
        NoiseKind::Ml => NoiseModel::Ml { sigma: sigma()? },
        NoiseKind::Bounded => NoiseModel::Bounded { sigma: sigma()? },
    })
}

fn step_schedule(s: &Settings) -> Result<StepSchedule, ConfigError> {
    match s.schedule {
        ScheduleKind::Constant => {
            for (flag, given) in [("--gamma", s.gamma), ("--n0", s.n0), ("--q", s.q)] {
                if given.is_some() {
                    return Err(ConfigError::new(
                        flag,
                        "applies only to --schedule robbins-monro; drop it or add that schedule",
                    ));
                }
            }
            let eta = check::positive("--eta", s.eta.unwrap_or(DEFAULT_ETA))?;
            Ok(StepSchedule::Constant { eta })
        }
        ScheduleKind::RobbinsMonro => {
            if s.eta.is_some() {
                return Err(ConfigError::new(
                    "--eta",
                    "sets a constant step; with --schedule robbins-monro use --gamma, --n0 and --q",
                ));
            }
            Ok(StepSchedule::RobbinsMonro {
                gamma: check::positive("--gamma", s.gamma.unwrap_or(DEFAULT_GAMMA))?,
                n0: check::positive("--n0", s.n0.unwrap_or(DEFAULT_N0))?,
                q: check::positive("--q", s.q.unwrap_or(DEFAULT_Q))?,
            })
        }
    }
}

fn constants(
    s: &Settings,
    landscape: &dyn Landscape,
    theta0: &[f64],
    radius: f64,
) -> Result<BallConstants, ConfigError> {
    let exact = landscape.exact_constants(theta0, radius);
    let alpha = match s.alpha {
        Some(a) => Some(check::non_negative("--alpha", a)?),
        None => exact.map(|c| c.alpha),
    };
    let c_l = match s.c_l {
        Some(c) => Some(check::positive("--c-l", c)?),
        None => exact.map(|c| c.c_l),
    };
    let (Some(alpha), Some(c_l)) = (alpha, c_l) else {
        let missing = if alpha.is_none() { "--alpha" } else { "--c-l" };
        return Err(ConfigError::new(
            missing,
            "is needed: this landscape has no exact constants, give them on the command line",
        ));
    };
    // |∇F|² ≥ αF and |∇F|² ≤ 2·C_L·F can hold together (for F ≢ 0) only if α ≤ 2·C_L.
    if alpha > 2.0 * c_l {
        return Err(ConfigError::new(
            "--alpha",
            format!(
                "must be ≤ 2·C_L = {} (got {alpha}): no landscape satisfies both",
                2.0 * c_l
            ),
        ));
    }
    let source = if s.alpha.is_some() || s.c_l.is_some() {
        ConstantsSource::User
    } else {
        ConstantsSource::Exact
    };
    Ok(BallConstants { alpha, c_l, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: Settings) -> String {
        Experiment::new(&s)
            .err()
            .expect("settings should be rejected")
            .to_string()
    }

    #[test]
    fn default_settings_are_valid() {
        let e = Experiment::new(&Settings::default()).unwrap();
        assert_eq!(e.dim(), DEFAULT_DIM);
    }

    #[test]
    fn bad_values_name_their_flag() {
        let d = Settings::default;
        assert_eq!(
            err(Settings {
                radius: -1.0,
                ..d()
            }),
            "--radius must be > 0 (got -1)"
        );
        assert_eq!(
            err(Settings {
                trajectories: 0,
                ..d()
            }),
            "--trajectories must be ≥ 1 (got 0)"
        );
        assert_eq!(
            err(Settings {
                sigma: Some(-0.5),
                ..d()
            }),
            "--sigma must be ≥ 0 (got -0.5)"
        );
        assert!(
            err(Settings {
                eta: Some(f64::NAN),
                ..d()
            })
            .starts_with("--eta must be a finite")
        );
        assert!(
            err(Settings {
                theta0: vec![1.0, 2.0],
                dim: Some(3),
                ..d()
            })
            .starts_with("--theta0 has 2 values but the dimension is 3")
        );
        assert!(
            err(Settings {
                gamma: Some(0.1),
                ..d()
            })
            .starts_with("--gamma applies only")
        );
        assert!(
            err(Settings {
                confidence: 1.0,
                ..d()
            })
            .starts_with("--confidence must be")
        );
        assert!(
            err(Settings {
                alpha: Some(100.0),
                ..d()
            })
            .starts_with("--alpha must be ≤ 2·C_L")
        );
    }

    #[test]
    fn list_lengths_fix_the_dimension() {
        let s = Settings {
            problem: ProblemKind::Quadratic,
            curvature: vec![1.0, 2.0, 3.0],
            ..Settings::default()
        };
        assert_eq!(Experiment::new(&s).unwrap().dim(), 3);
        let bad = Settings {
            theta0: vec![0.1, 0.2],
            ..s
        };
        assert_eq!(
            err(bad),
            "--theta0 has 2 values but --curvature has 3: give both d values (or one, broadcast)"
        );
    }
}
