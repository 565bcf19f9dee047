//! Loss landscapes F: ℝ^d → [0, ∞).
//!
//! What a landscape can do is split into small capability traits, so generic code bounds only on
//! what it uses: [`Objective`] (F itself), [`Gradient`] (∇F, fused with F), and [`Landscape`], the
//! object-safe bundle the engine runs on, which may also know its exact constants over a ball.
//!
//! Adding a landscape: write one file in this folder implementing these traits (formula in its doc
//! comment), and add one line to [`ProblemKind`] / [`build`].

mod quadratic;
mod ring;

pub use quadratic::Quadratic;
pub use ring::Ring;

use crate::error::ConfigError;

/// The loss F(θ) ≥ 0.
pub trait Objective: Send + Sync {
    /// Number of parameters d.
    fn dim(&self) -> usize;
    /// Length of the scratch buffer the landscape needs in [`Objective::loss`] and
    /// [`Gradient::loss_and_gradient`] (activations of a network, say). The engine allocates it
    /// once per block of trajectories so that the step loop never allocates.
    fn workspace_len(&self) -> usize {
        0
    }
    /// F(θ).
    fn loss(&self, theta: &[f64], work: &mut [f64]) -> f64;
}

/// ∇F, computed together with F since every landscape here gets F almost for free.
pub trait Gradient: Objective {
    /// Writes ∇F(θ) into `grad` and returns F(θ).
    fn loss_and_gradient(&self, theta: &[f64], grad: &mut [f64], work: &mut [f64]) -> f64;
}

/// Where the constants of the theory came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstantsSource {
    /// Closed form over the ball (documented in the landscape's file).
    Exact,
    /// Given by the user with `--alpha` / `--c-l`.
    User,
}

/// The constants of the Łojasiewicz theory over the ball B(θ0, r).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BallConstants {
    /// α with |∇F(θ)|² ≥ α·F(θ) for all θ in the ball.
    pub alpha: f64,
    /// C_L: a Lipschitz constant of ∇F on the ball that also satisfies |∇F|² ≤ 2·C_L·F there
    /// (the two uses the proof makes of it; see docs/theory.md).
    pub c_l: f64,
    pub source: ConstantsSource,
}

/// What the engine needs of a landscape.
pub trait Landscape: Gradient {
    /// Exact α and C_L over the closed ball B(θ0, r), when a closed form is known.
    fn exact_constants(&self, theta0: &[f64], radius: f64) -> Option<BallConstants>;
}

/// The built-in landscapes, by their command-line name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ProblemKind {
    /// F(θ) = ½ Σ a_i θ_i².
    Quadratic,
    /// F(θ) = ¼ (|θ|² − 1)².
    Ring,
}

impl ProblemKind {
    /// Name used on the command line and in CSV output.
    pub fn name(self) -> &'static str {
        match self {
            ProblemKind::Quadratic => "quadratic",
            ProblemKind::Ring => "ring",
        }
    }
}

impl std::fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The landscape-defining settings, as given on the command line.
#[derive(Clone, Debug, PartialEq)]
pub struct ProblemSettings {
    pub kind: ProblemKind,
    /// `--dim`; `None` means "infer from list lengths, else the default".
    pub dim: Option<usize>,
    /// `--curvature`: one value (broadcast) or d values. Quadratic only.
    pub curvature: Vec<f64>,
}

/// Builds the landscape for `settings` in dimension `dim` (already reconciled with `--theta0`).
pub fn build(settings: &ProblemSettings, dim: usize) -> Result<Box<dyn Landscape>, ConfigError> {
    Ok(match settings.kind {
        ProblemKind::Quadratic => Box::new(Quadratic::new(broadcast(
            "--curvature",
            &settings.curvature,
            dim,
        )?)?),
        ProblemKind::Ring => Box::new(Ring::new(dim)?),
    })
}

/// One value broadcast to `dim` coordinates, or exactly `dim` values.
pub fn broadcast(flag: &'static str, values: &[f64], dim: usize) -> Result<Vec<f64>, ConfigError> {
    match values.len() {
        1 => Ok(vec![values[0]; dim]),
        n if n == dim => Ok(values.to_vec()),
        0 => Err(ConfigError::new(flag, "needs at least one value")),
        n => Err(ConfigError::new(
            flag,
            format!(
                "has {n} values but the dimension is {dim}: give one value (broadcast) or {dim}"
            ),
        )),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Central finite-difference check of ∇F at θ: |∇F_i − (F(θ+h e_i) − F(θ−h e_i))/2h| ≤ tol·scale.
    /// With h = 1e-5 the truncation error is O(h²·F''') ≈ 1e-10 and the cancellation error
    /// O(ε·F/h) ≈ 1e-11·F, so a relative tolerance of 1e-6 is loose for smooth landscapes of O(1) size.
    pub fn assert_gradient_matches_finite_differences(l: &dyn Landscape, theta: &[f64]) {
        let d = l.dim();
        let mut work = vec![0.0; l.workspace_len()];
        let mut grad = vec![0.0; d];
        let f = l.loss_and_gradient(theta, &mut grad, &mut work);
        assert!((f - l.loss(theta, &mut work)).abs() <= 1e-12 * f.abs().max(1.0));
        let h = 1e-5;
        let mut t = theta.to_vec();
        for i in 0..d {
            t[i] = theta[i] + h;
            let fp = l.loss(&t, &mut work);
            t[i] = theta[i] - h;
            let fm = l.loss(&t, &mut work);
            t[i] = theta[i];
            let fd = (fp - fm) / (2.0 * h);
            let scale = grad[i].abs().max(1.0);
            assert!(
                (grad[i] - fd).abs() <= 1e-6 * scale,
                "coordinate {i}: analytic {} vs finite difference {fd}",
                grad[i]
            );
        }
    }
}
