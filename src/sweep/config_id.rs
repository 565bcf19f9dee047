//! `config_id`: a stable 64-bit identity of a sweep point.
//!
//! The id is the FNV-1a 64-bit hash of a canonical text (see [`canonical`]) that lists, one
//! `key=value` line each, every setting that defines the point, as resolved by the configuration
//! (defaults applied, lists broadcast), except the trajectory range (`--trajectories`, `--shard`)
//! and the tool's version. Numbers are written with Rust's shortest round-trip formatting, which
//! is pure software, so the id is the same on every platform, for every thread count and in every
//! run. It identifies rows across `--resume` and `merge`; the `version` column guards against
//! mixing releases.

use std::fmt;

use crate::config::{Experiment, Settings};
use crate::landscape::Param;
use crate::schedule::StepSchedule;

/// The hash of a point's canonical text; displays as 16 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConfigId(pub u64);

impl fmt::Display for ConfigId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// FNV-1a, 64 bits (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A precision a point is run to, which is part of its identity (its cap, like N, is not).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PointTarget {
    /// `--target-halfwidth` (crude Monte Carlo).
    Halfwidth(f64),
    /// `--target-relative-error` (splitting).
    RelativeError(f64),
}

/// The id of the point `settings` (checked into `experiment`), run to `target` if given.
pub fn config_id(
    settings: &Settings,
    experiment: &Experiment,
    target: Option<PointTarget>,
) -> ConfigId {
    ConfigId(fnv1a64(canonical(settings, experiment, target).as_bytes()))
}

/// The canonical text hashed by [`config_id`].
pub fn canonical(
    settings: &Settings,
    experiment: &Experiment,
    target: Option<PointTarget>,
) -> String {
    let target_halfwidth = match target {
        Some(PointTarget::Halfwidth(h)) => Some(h),
        _ => None,
    };
    // Exhaustive on purpose: a new field of `Settings` fails to compile here until it is decided
    // whether (and how) it enters the id.
    let Settings {
        problem,
        dim: _,
        curvature: _,
        theta0: _,
        noise: _,
        noise_dist: _,
        sigma: _,
        schedule: _,
        eta: _,
        gamma: _,
        n0: _,
        q: _,
        radius: _,
        steps: _,
        eps: _,
        trajectories: _,
        seed: _,
        ci,
        confidence: _,
        alpha,
        c_l,
        network,
        estimator: _,
        particles: _,
        replicas: _,
        score: _,
    } = settings;
    let e = experiment;
    let opt = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
    let list = |xs: &[f64]| {
        if xs.windows(2).all(|w| w[0].to_bits() == w[1].to_bits()) {
            xs.first().map_or(String::new(), f64::to_string)
        } else {
            xs.iter().map(f64::to_string).collect::<Vec<_>>().join(";")
        }
    };
    let value = |p: Param<'_>| match p {
        Param::Numbers(xs) => list(xs),
        Param::Widths(ws) => ws
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(";"),
        Param::Name(name) => name.to_string(),
        Param::Switch(on) => on.to_string(),
    };
    let (mut curvature, mut landscape_lines) = (String::new(), Vec::new());
    for (key, p) in problem.spec().config_id_lines(&e.problem) {
        if key == "curvature" {
            curvature = value(p);
        } else {
            landscape_lines.push((key, value(p)));
        }
    }
    let (eta, gamma, n0, q) = match e.schedule {
        StepSchedule::Constant { eta } => (Some(eta), None, None, None),
        StepSchedule::RobbinsMonro { gamma, n0, q } => (None, Some(gamma), Some(n0), Some(q)),
    };
    let lines: [(&str, String); 22] = [
        ("problem", problem.name().to_string()),
        ("dim", e.dim().to_string()),
        ("curvature", curvature),
        ("theta0", list(&e.theta0)),
        ("radius", e.radius.to_string()),
        ("noise", e.noise.kind().name().to_string()),
        (
            "noise_dist",
            if e.noise.is_random() {
                e.noise_dist.name().to_string()
            } else {
                String::new()
            },
        ),
        ("sigma", opt(e.noise.sigma())),
        ("schedule", e.schedule.kind().name().to_string()),
        ("eta", opt(eta)),
        ("gamma", opt(gamma)),
        ("n0", opt(n0)),
        ("q", opt(q)),
        ("steps", e.steps.to_string()),
        ("eps", e.eps.to_string()),
        ("seed", e.seed.to_string()),
        ("ci", ci.name().to_string()),
        ("confidence", e.confidence.to_string()),
        // The overrides as given (empty: the landscape's exact constants).
        ("alpha", opt(*alpha)),
        ("c_l", opt(*c_l)),
        ("target_halfwidth", opt(target_halfwidth)),
        ("format", "1".to_string()),
    ];
    let mut text = String::from("lojasim-config\n");
    let mut lines = lines.to_vec();
    // Data, the landscape's own settings and minibatch noise add their own lines (so the ids of
    // analytic points are unchanged). The data enter by content, not by path: the values as used
    // (after any standardisation), hashed; θ0 above already covers --init-seed/--init-steps/
    // --theta0-file.
    if let Some(data) = &e.data {
        let mut bytes = Vec::new();
        for i in 0..data.rows() {
            for v in data.x(i).iter().chain(data.y(i)) {
                bytes.extend_from_slice(&v.to_bits().to_le_bytes());
            }
        }
        lines.push(("data", format!("{:016x}", fnv1a64(&bytes))));
        // Several outputs split the same bytes differently from one (ids of one-output points,
        // once written, stay).
        if data.outputs() > 1 {
            lines.push(("outputs", data.outputs().to_string()));
        }
    }
    lines.extend(landscape_lines);
    if e.data.is_some() {
        lines.push(("constant_samples", network.constant_samples.to_string()));
    }
    if let crate::noise::NoiseModel::Minibatch { batch, mode, .. } = e.noise {
        lines.push(("batch", batch.to_string()));
        lines.push(("batch_mode", mode.name().to_string()));
    }
    // Splitting adds its lines (crude Monte Carlo ids are unchanged); the replicas, like the
    // trajectories, are the range of work, not part of the point.
    if let crate::config::Estimator::Splitting { particles, score } = e.estimator {
        lines.push(("estimator", "ams".to_string()));
        lines.push(("particles", particles.to_string()));
        lines.push(("score", score.name().to_string()));
    }
    // Added only when set, so that every other id is unchanged.
    if let Some(PointTarget::RelativeError(error)) = target {
        lines.push(("target_relative_error", error.to_string()));
    }
    for (key, value) in lines {
        text.push_str(key);
        text.push('=');
        text.push_str(&value);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landscape::ProblemKind;

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    /// The expected id was computed from the canonical text by an independent FNV-1a
    /// implementation (Python: h = 0xcbf29ce484222325; h = ((h ^ b) * 0x100000001b3) % 2**64).
    #[test]
    fn ring_point_has_a_fixed_canonical_text_and_id() {
        let s = ring();
        let e = Experiment::new(&s).unwrap();
        let text = canonical(&s, &e, None);
        assert_eq!(
            text,
            "lojasim-config\nproblem=ring\ndim=10\ncurvature=\ntheta0=0.3225\nradius=0.3\nnoise=ml\n\
             noise_dist=gaussian\nsigma=1\nschedule=constant\neta=0.05\ngamma=\nn0=\nq=\nsteps=1000\n\
             eps=0.000001\nseed=0\nci=wilson\nconfidence=0.95\nalpha=\nc_l=\ntarget_halfwidth=\nformat=1\n"
        );
        assert_eq!(config_id(&s, &e, None).to_string(), DEFAULT_ID);
    }

    fn ring() -> Settings {
        Settings {
            problem: ProblemKind::Ring,
            ..Settings::default()
        }
    }

    /// A network point is identified by its data (by content), architecture and θ0.
    #[test]
    fn network_points_differ_by_data_architecture_and_start() {
        let base = Settings {
            problem: ProblemKind::Mlp,
            steps: 10,
            network: crate::config::NetworkSettings {
                hidden: vec![2],
                init_steps: 0,
                constant_samples: 2,
                ..Default::default()
            },
            ..Settings::default()
        };
        let id = |s: &Settings| config_id(s, &Experiment::new(s).unwrap(), None);
        let reference = id(&base);
        let mut wider = base.clone();
        wider.network.hidden = vec![3];
        let mut seeded = base.clone();
        seeded.network.init_seed = 1;
        let mut raw = base.clone();
        raw.network.standardize = false;
        for other in [wider, seeded, raw] {
            assert_ne!(id(&other), reference, "{:?}", other.network);
        }
        assert_eq!(id(&base.clone()), reference);
    }

    const DEFAULT_ID: &str = "e4b14d9f5a8d70a1";

    #[test]
    fn defaults_given_explicitly_and_the_trajectory_count_do_not_change_the_id() {
        let s = ring();
        let id = config_id(&s, &Experiment::new(&s).unwrap(), None);
        let explicit = Settings {
            eta: Some(0.05),
            sigma: Some(1.0),
            dim: Some(10),
            trajectories: Some(17),
            ..s.clone()
        };
        assert_eq!(
            config_id(&explicit, &Experiment::new(&explicit).unwrap(), None),
            id
        );
        let other = Settings {
            eta: Some(0.04),
            ..s.clone()
        };
        assert_ne!(
            config_id(&other, &Experiment::new(&other).unwrap(), None),
            id
        );
        assert_ne!(
            config_id(
                &s,
                &Experiment::new(&s).unwrap(),
                Some(PointTarget::Halfwidth(0.01))
            ),
            id
        );
    }
}

/// One setting of each problem kind, its canonical text and id pinned byte for byte. The ids are
/// those `lojasim sweep` wrote for the same flags (see each setting's comment) before the
/// landscapes took over their own config-id lines; a change here changes every stored row's id.
#[cfg(test)]
mod golden {
    use super::*;
    use crate::config::{EstimatorKind, NetworkSettings};
    use crate::landscape::{Activation, ProblemKind};
    use crate::noise::NoiseKind;
    use crate::schedule::ScheduleKind;

    const QUADRATIC: (&str, &str) = (
        "lojasim-config\n\
             problem=quadratic\n\
             dim=3\n\
             curvature=0.5;1;2\n\
             theta0=0.3;0.2;0.1\n\
             radius=0.3\n\
             noise=bounded\n\
             noise_dist=gaussian\n\
             sigma=0.5\n\
             schedule=constant\n\
             eta=0.02\n\
             gamma=\n\
             n0=\n\
             q=\n\
             steps=50\n\
             eps=0.000001\n\
             seed=0\n\
             ci=wilson\n\
             confidence=0.95\n\
             alpha=\n\
             c_l=\n\
             target_halfwidth=\n\
             format=1\n",
        "50c2d874dc6bb28e",
    );

    const RING: (&str, &str) = (
        "lojasim-config\n\
             problem=ring\n\
             dim=4\n\
             curvature=\n\
             theta0=0.3225\n\
             radius=0.3\n\
             noise=ml\n\
             noise_dist=gaussian\n\
             sigma=1\n\
             schedule=robbins-monro\n\
             eta=\n\
             gamma=0.2\n\
             n0=1\n\
             q=0.75\n\
             steps=50\n\
             eps=0.000001\n\
             seed=0\n\
             ci=wilson\n\
             confidence=0.95\n\
             alpha=\n\
             c_l=\n\
             target_halfwidth=\n\
             format=1\n",
        "a5340201779f99dd",
    );

    const LEAST_SQUARES: (&str, &str) = (
        "lojasim-config\n\
             problem=least-squares\n\
             dim=5\n\
             curvature=\n\
             theta0=-0.1649790389838197;0.3183618133644133;0.05186003668826857;0.5497264657600417;-0.0000005832368827636232\n\
             radius=0.3\n\
             noise=minibatch\n\
             noise_dist=\n\
             sigma=2.9744247770981613\n\
             schedule=constant\n\
             eta=0.05\n\
             gamma=\n\
             n0=\n\
             q=\n\
             steps=50\n\
             eps=0.000001\n\
             seed=0\n\
             ci=wilson\n\
             confidence=0.95\n\
             alpha=\n\
             c_l=\n\
             target_halfwidth=\n\
             format=1\n\
             data=684089e9b361041f\n\
             bias=true\n\
             constant_samples=64\n\
             batch=4\n\
             batch_mode=with-replacement\n",
        "fdbaada2694750ab",
    );

    const MLP: (&str, &str) = (
        "lojasim-config\n\
             problem=mlp\n\
             dim=26\n\
             curvature=\n\
             theta0=-0.43298033910432093;0.3743878535591809;-0.08005394711681629;-0.019971907554429423;-0.2654006106433773;0.14535946814664602;0.3239436009802967;0.3394769225285913;0.5573656516333464;-0.05514841734149231;1.3076491738549145;-0.4664694519591957;-0.0037655449156690905;0.03927215365215459;0;-0.5660184402321071;-0.44622583726050086;-0.509810561886281;0.20574339819098364;-0.29975252625485155;-1.0288394101931535;0;0.09373453082403663;-0.04163289821981151;-0.5610053911186725;0.024858286920493564\n\
             radius=0.3\n\
             noise=ml\n\
             noise_dist=gaussian\n\
             sigma=1\n\
             schedule=constant\n\
             eta=0.00000005109104698596202\n\
             gamma=\n\
             n0=\n\
             q=\n\
             steps=20\n\
             eps=0.000001\n\
             seed=0\n\
             ci=wilson\n\
             confidence=0.95\n\
             alpha=\n\
             c_l=\n\
             target_halfwidth=\n\
             format=1\n\
             data=684089e9b361041f\n\
             bias=false\n\
             hidden=3;2\n\
             activation=relu\n\
             constant_samples=4\n\
             estimator=ams\n\
             particles=4\n\
             score=tail\n",
        "d837b84eb295ac5e",
    );

    fn assert_pinned(s: &Settings, (text, id): (&str, &str)) {
        let e = Experiment::new(s).unwrap();
        assert_eq!(canonical(s, &e, None), text, "{}", s.problem);
        assert_eq!(config_id(s, &e, None).to_string(), id, "{}", s.problem);
    }

    /// `--problem quadratic --curvature '0.5;1;2' --theta0 '0.3;0.2;0.1' --noise bounded
    /// --sigma 0.5 --eta 0.02 --steps 50 --trajectories 10`
    #[test]
    fn a_quadratic_point_keeps_its_config_id() {
        let s = Settings {
            problem: ProblemKind::Quadratic,
            curvature: vec![0.5, 1.0, 2.0],
            theta0: vec![0.3, 0.2, 0.1],
            noise: NoiseKind::Bounded,
            sigma: Some(0.5),
            eta: Some(0.02),
            steps: 50,
            trajectories: Some(10),
            ..Settings::default()
        };
        assert_pinned(&s, QUADRATIC);
    }

    /// `--problem ring --dim 4 --schedule robbins-monro --gamma 0.2 --steps 50 --trajectories 10`
    #[test]
    fn a_ring_point_keeps_its_config_id() {
        let s = Settings {
            problem: ProblemKind::Ring,
            dim: Some(4),
            schedule: ScheduleKind::RobbinsMonro,
            gamma: Some(0.2),
            steps: 50,
            trajectories: Some(10),
            ..Settings::default()
        };
        assert_pinned(&s, RING);
    }

    /// `--problem least-squares --bias --init-steps 100 --noise minibatch --batch 4 --eta 0.05
    /// --steps 50 --trajectories 10`
    #[test]
    fn a_least_squares_point_keeps_its_config_id() {
        let s = Settings {
            problem: ProblemKind::LeastSquares,
            noise: NoiseKind::Minibatch,
            eta: Some(0.05),
            steps: 50,
            trajectories: Some(10),
            network: NetworkSettings {
                bias: true,
                init_steps: 100,
                init_loss: None,
                batch: Some(4),
                ..NetworkSettings::default()
            },
            ..Settings::default()
        };
        assert_pinned(&s, LEAST_SQUARES);
    }

    /// `--problem mlp --hidden 3,2 --activation relu --init-steps 200 --constant-samples 4
    /// --eta 5.109104698596202e-8 --steps 20 --estimator ams --replicas 2 --particles 4` (the step
    /// the data landscapes' default was before it became 1/C_L, pinned with it)
    #[test]
    fn an_mlp_point_keeps_its_config_id() {
        let s = Settings {
            problem: ProblemKind::Mlp,
            eta: Some(5.109104698596202e-8),
            steps: 20,
            estimator: EstimatorKind::Ams,
            replicas: Some(2),
            particles: Some(4),
            network: NetworkSettings {
                hidden: vec![3, 2],
                activation: Activation::Relu,
                init_steps: 200,
                init_loss: None,
                constant_samples: 4,
                ..NetworkSettings::default()
            },
            ..Settings::default()
        };
        assert_pinned(&s, MLP);
    }
}
