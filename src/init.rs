//! The starting point θ0 of the data landscapes: a seeded initialisation (optionally followed by
//! deterministic gradient-descent steps), or a file.
//!
//! **Initialisation (`--init-seed S`).** LeCun normal: each weight of a layer with fan-in m is
//! N(0, 1/m), each bias 0, in the documented parameter order (docs/networks.md). The normals are
//! the ziggurat `StandardNormal` of `rand_distr`, drawn from [`init_rng`]`(S)`: the project's
//! generator, seeded like trajectory 0 of master seed `splitmix64_mix(S ^ INIT_DOMAIN)`, so that the
//! initialisation never shares a stream with the trajectories even when `--init-seed` and `--seed`
//! are equal.
//!
//! **Pre-training (`--init-steps K`, `--init-eta η`).** K plain gradient-descent steps
//! θ ← θ − η∇F(θ) from the initialisation, with no randomness: a way to start near the minimum set,
//! where the theorem's bound is informative. θ0 is the result.
//!
//! **File (`--theta0-file FILE`).** One number per line, d lines, in the parameter order; blank
//! lines and lines starting with `#` are ignored. `lojasim init … --out FILE` writes this format.

use std::path::Path;

use rand_distr::{Distribution, StandardNormal};

use crate::landscape::Landscape;
use crate::rng::{TrajectoryRng, splitmix64_mix, trajectory_rng};

/// Separates the initialisation streams from the trajectory streams ("init" in ASCII).
pub const INIT_DOMAIN: u64 = 0x696e_6974;

/// The generator of the initialisation with seed `seed`.
pub fn init_rng(seed: u64) -> TrajectoryRng {
    trajectory_rng(splitmix64_mix(seed ^ INIT_DOMAIN), 0)
}

/// LeCun-normal parameters for weight layers of shape (fan_in, fan_out), each stored as the
/// fan_out × fan_in weight matrix row-major followed by `fan_out` biases when `bias` is set.
pub fn lecun_normal(layers: &[(usize, usize)], bias: bool, seed: u64) -> Vec<f64> {
    let mut rng = init_rng(seed);
    let mut theta = Vec::new();
    for &(fan_in, fan_out) in layers {
        let sd = 1.0 / (fan_in as f64).sqrt();
        for _ in 0..fan_in * fan_out {
            let z: f64 = StandardNormal.sample(&mut rng);
            theta.push(sd * z);
        }
        if bias {
            theta.extend(std::iter::repeat_n(0.0, fan_out));
        }
    }
    theta
}

/// `steps` gradient-descent steps of size `eta` on `landscape`, in place.
pub fn pretrain(landscape: &dyn Landscape, theta: &mut [f64], steps: u64, eta: f64) {
    pretrain_until(landscape, theta, steps, eta, None, &mut |_| {});
}

/// Pre-training reports its progress every this many steps.
pub const PROGRESS_EVERY: u64 = 500;

/// How far pre-training went.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pretrained {
    /// Gradient-descent steps taken.
    pub steps: u64,
    /// F at the initialisation.
    pub initial_loss: f64,
    /// With a target F*: whether F(θ) ≤ F* was reached within the cap.
    pub reached: Option<bool>,
}

/// Gradient descent of size `eta` on `landscape`, in place: `max_steps` steps, or with `target`
/// F* until F(θ) ≤ F* (checked before each step, on the loss the step computes anyway, so a run
/// without a target takes exactly the steps of [`pretrain`]). `progress(k)` is called every
/// [`PROGRESS_EVERY`] steps with the steps taken so far.
pub fn pretrain_until(
    landscape: &dyn Landscape,
    theta: &mut [f64],
    max_steps: u64,
    eta: f64,
    target: Option<f64>,
    progress: &mut dyn FnMut(u64),
) -> Pretrained {
    let mut grad = vec![0.0; theta.len()];
    let mut work = vec![0.0; landscape.workspace_len()];
    let mut initial_loss = None;
    for step in 0..max_steps {
        let f = landscape.loss_and_gradient(theta, &mut grad, &mut work);
        initial_loss.get_or_insert(f);
        if target.is_some_and(|t| f <= t) {
            return Pretrained {
                steps: step,
                initial_loss: initial_loss.unwrap_or(f),
                reached: Some(true),
            };
        }
        for (t, g) in theta.iter_mut().zip(&grad) {
            *t -= eta * g;
        }
        if (step + 1) % PROGRESS_EVERY == 0 {
            progress(step + 1);
        }
    }
    let last = target.map(|t| landscape.loss(theta, &mut work) <= t);
    Pretrained {
        steps: max_steps,
        initial_loss: initial_loss.unwrap_or_else(|| landscape.loss(theta, &mut work)),
        reached: last,
    }
}

/// A θ0 file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Theta0FileError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: line {line}: '{value}' is not a finite number")]
    NotNumeric {
        path: String,
        line: usize,
        value: String,
    },
    #[error("{path}: has {found} values but this problem has d = {expected} parameters")]
    WrongLength {
        path: String,
        found: usize,
        expected: usize,
    },
}

/// Reads a θ0 file of exactly `dim` values.
pub fn read_theta0(path: &Path, dim: usize) -> Result<Vec<f64>, Theta0FileError> {
    let name = || path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| Theta0FileError::Io {
        path: name(),
        source,
    })?;
    let mut theta = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let v = line
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| Theta0FileError::NotNumeric {
                path: name(),
                line: i + 1,
                value: line.to_string(),
            })?;
        theta.push(v);
    }
    if theta.len() != dim {
        return Err(Theta0FileError::WrongLength {
            path: name(),
            found: theta.len(),
            expected: dim,
        });
    }
    Ok(theta)
}

/// θ in the file format: one shortest-round-trip number per line, so reading it back is exact.
pub fn format_theta0(theta: &[f64]) -> String {
    let mut s = String::with_capacity(theta.len() * 24);
    for v in theta {
        s.push_str(&v.to_string());
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lecun_init_has_zero_biases_and_weights_of_variance_one_over_fan_in() {
        // One layer 400 → 50: 20 000 weights. Their sample variance times 400 estimates 1 with
        // sd ≈ √(2/20000) = 0.01; 0.05 is 5 sd (fixed seed).
        let theta = lecun_normal(&[(400, 50)], true, 1);
        assert_eq!(theta.len(), 400 * 50 + 50);
        assert!(theta[20_000..].iter().all(|&b| b == 0.0));
        let var = theta[..20_000].iter().map(|w| w * w).sum::<f64>() / 20_000.0;
        assert!((var * 400.0 - 1.0).abs() < 0.05, "{}", var * 400.0);
        assert_eq!(
            lecun_normal(&[(3, 2)], false, 9),
            lecun_normal(&[(3, 2)], false, 9)
        );
        assert_ne!(
            lecun_normal(&[(3, 2)], false, 9),
            lecun_normal(&[(3, 2)], false, 10)
        );
    }

    /// Without a target, pre-training takes the same steps as before; with one, it stops at the
    /// first iterate with F ≤ F*, so one step fewer is above it.
    #[test]
    fn pretraining_to_a_loss_stops_at_the_first_iterate_below_it() {
        use crate::landscape::{Objective, Quadratic};
        let q = Quadratic::new(vec![1.0, 3.0]).unwrap();
        let mut work = vec![0.0; q.workspace_len()];
        let (mut a, mut b) = (vec![1.0, -2.0], vec![1.0, -2.0]);
        pretrain(&q, &mut a, 40, 0.1);
        let none = pretrain_until(&q, &mut b, 40, 0.1, None, &mut |_| {});
        assert_eq!(a, b);
        assert_eq!((none.steps, none.reached), (40, None));
        assert_eq!(none.initial_loss, 0.5 * (1.0 + 3.0 * 4.0));

        let mut c = vec![1.0, -2.0];
        let hit = pretrain_until(&q, &mut c, 1000, 0.1, Some(1e-3), &mut |_| {});
        assert_eq!(hit.reached, Some(true));
        assert!(q.loss(&c, &mut work) <= 1e-3);
        let mut d = vec![1.0, -2.0];
        pretrain(&q, &mut d, hit.steps - 1, 0.1);
        assert!(q.loss(&d, &mut work) > 1e-3, "stopped late");
        assert_eq!(&c, &{
            pretrain(&q, &mut d, 1, 0.1);
            d
        });

        let mut e = vec![1.0, -2.0];
        let capped = pretrain_until(&q, &mut e, 5, 0.1, Some(1e-12), &mut |_| {});
        assert_eq!((capped.steps, capped.reached), (5, Some(false)));
    }

    #[test]
    fn init_streams_differ_from_trajectory_streams_of_the_same_seed() {
        use rand::Rng;
        assert_ne!(init_rng(0).next_u64(), trajectory_rng(0, 0).next_u64());
    }

    #[test]
    fn files_round_trip_and_wrong_lengths_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.txt");
        let theta = [0.1, -2.5e-17, 3.0];
        std::fs::write(&path, format!("# a comment\n{}\n", format_theta0(&theta))).unwrap();
        assert_eq!(read_theta0(&path, 3).unwrap(), theta);
        let e = read_theta0(&path, 4).unwrap_err().to_string();
        assert!(
            e.ends_with("t.txt: has 3 values but this problem has d = 4 parameters"),
            "{e}"
        );
        std::fs::write(&path, "1\nx\n").unwrap();
        let e = read_theta0(&path, 2).unwrap_err().to_string();
        assert!(
            e.ends_with("t.txt: line 2: 'x' is not a finite number"),
            "{e}"
        );
    }
}
