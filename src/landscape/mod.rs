//! Loss landscapes F: ℝ^d → [0, ∞).
//!
//! What a landscape can do is split into small capability traits, so generic code bounds only on
//! what it uses: [`Objective`] (F itself), [`Gradient`] (∇F, fused with F), and [`Landscape`], the
//! object-safe bundle the engine runs on, which may also know its exact constants over a ball.
//!
//! What the rest of the program needs to know about a kind of landscape before one is built — its
//! name, the flags that apply to it, how to build it, its cells in output rows and config ids — it
//! asks the kind's [`Spec`], which lives in the landscape's own file. Adding a landscape: write one
//! file in this folder implementing these traits (formula in its doc comment), declare it with
//! `mod`, and add one line to the registry that defines [`ProblemKind`] (docs/design.md shows a
//! complete example).

mod least_squares;
mod mlp;
mod quadratic;
mod ring;

pub use least_squares::LeastSquares;
pub use mlp::ActivationBounds;
pub use mlp::{Activation, Mlp, layer_shapes, param_count};
pub use quadratic::Quadratic;
pub use ring::Ring;

use std::sync::Arc;

use crate::data::Dataset;
use crate::error::ConfigError;
use crate::lanes::{LANES, Lane, Level};

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
    /// Given by the user with `--alpha` / `--c-l` (and `--sigma` for minibatch noise).
    User,
    /// At least one constant the bound uses was estimated by sampling the ball
    /// ([`crate::constants`]): an estimate, not a certificate.
    Estimated,
    /// α and C_L are bounds proved over the whole ball from norm bounds of the model
    /// ([`OutputBounds`], docs/networks.md): the bound holds for sure.
    Certified,
}

/// H(θ)·v computed exactly (no finite differences), for landscapes where it is cheap.
pub trait HessianVector: Sync {
    /// Writes ∇²F(θ)·v into `out`.
    fn hessian_vector_product(&self, theta: &[f64], v: &[f64], out: &mut [f64]);
}

/// Bounds, valid at every θ of a ball B(θ0, r), on the model outputs u_i of a per-sample
/// landscape, from which α and C_L are certified (docs/networks.md derives them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutputBounds {
    /// L_J with ‖J(θ) − J(θ0)‖ ≤ L_J·|θ − θ0| on the ball: √(Σ_i H_i²) for H_i ≥ ‖∇²u_i‖.
    pub jacobian_lipschitz: f64,
    /// An upper bound on ‖∇²F‖ over the ball that also bounds |∇F|²/(2F):
    /// (1/n)·Σ_i (G_i² + (U_i + |y_i|)·H_i) for G_i ≥ |∇u_i| and U_i ≥ |u_i|.
    pub c_l: f64,
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

/// Losses that are a mean of per-sample squared residuals, F = (1/n)·Σ_i f_i with
/// f_i = ½(u_i(θ) − y_i)² for a model output u_i(θ) = f(x_i; θ), so that minibatch gradients and
/// the empirical neural tangent kernel exist.
pub trait PerSampleGradient: Sync {
    /// Number of samples n.
    fn samples(&self) -> usize;
    /// Number of outputs m per sample; the Jacobian J has n·m rows, row i·m + o for output o of
    /// sample i, and f_i = ½·Σ_o (u_io − y_io)².
    fn outputs(&self) -> usize {
        1
    }
    /// Writes the model's output gradient ∇_θ u_i(θ) (row i of the Jacobian J, i < n·m) into
    /// `grad` and returns the residual u_i(θ) − y_i.
    fn residual_and_output_gradient(
        &self,
        theta: &[f64],
        i: usize,
        grad: &mut [f64],
        work: &mut [f64],
    ) -> f64;
    /// Writes ∇ of the batch mean (1/|I|)·Σ_{i∈I} f_i(θ) into `grad` and returns that mean, for the
    /// multiset of row indices I = `batch` (repeats count, as in sampling with replacement).
    fn batch_loss_and_gradient(
        &self,
        theta: &[f64],
        batch: &[usize],
        grad: &mut [f64],
        work: &mut [f64],
    ) -> f64;
}

/// [`LANES`] parameter vectors at once, in structure-of-arrays form: `theta[j].0[l]` is coordinate
/// j of lane l. Lane by lane, every method returns bit for bit what the one-vector method it names
/// returns (same operations in the same order), so the engine may use either ([`crate::lanes`]),
/// at any instruction-set level `simd`.
pub trait LaneGradient: Sync {
    /// Scratch length, in [`Lane`]s, for [`LaneGradient::lanes_loss`] and for batches of up to
    /// `batch` rows.
    fn lane_workspace_len(&self, batch: usize) -> usize;
    /// Per lane, [`Objective::loss`].
    fn lanes_loss(&self, simd: Level, theta: &[Lane], work: &mut [Lane]) -> Lane;
    /// Per lane, [`Gradient::loss_and_gradient`].
    fn lanes_loss_and_gradient(
        &self,
        simd: Level,
        theta: &[Lane],
        grad: &mut [Lane],
        work: &mut [Lane],
    ) -> Lane;
    /// Whether [`LaneGradient::lanes_batch_loss_and_gradient`] is available.
    fn lanes_per_sample(&self) -> bool {
        false
    }
    /// Per lane l, [`PerSampleGradient::batch_loss_and_gradient`] for the batch
    /// (`batch[0][l]`, `batch[1][l]`, …).
    ///
    /// # Panics
    /// If [`LaneGradient::lanes_per_sample`] is false.
    fn lanes_batch_loss_and_gradient(
        &self,
        _simd: Level,
        _theta: &[Lane],
        _batch: &[[usize; LANES]],
        _grad: &mut [Lane],
        _work: &mut [Lane],
    ) -> Lane {
        unimplemented!("this landscape has no per-sample lane kernel")
    }
}

/// What the engine needs of a landscape.
pub trait Landscape: Gradient {
    /// Exact α and C_L over the closed ball B(θ0, r), when a closed form is known.
    fn exact_constants(&self, theta0: &[f64], radius: f64) -> Option<BallConstants>;

    /// The per-sample capability, for minibatch noise; `None` for landscapes that are not a mean
    /// over samples.
    fn per_sample(&self) -> Option<&dyn PerSampleGradient> {
        None
    }

    /// The lane-batched kernel, when the landscape has one.
    fn lanes(&self) -> Option<&dyn LaneGradient> {
        None
    }

    /// Exact Hessian–vector products, when they are cheap; the constants estimator uses finite
    /// differences of gradients otherwise.
    fn hessian_vector(&self) -> Option<&dyn HessianVector> {
        None
    }

    /// Bounds on the model outputs over B(θ0, r) that certify α and C_L there, for per-sample
    /// landscapes whose derivatives can be bounded layer by layer.
    fn output_bounds(&self, _theta0: &[f64], _radius: f64) -> Option<OutputBounds> {
        None
    }

    /// Why the theorem's assumptions fail for this landscape whatever the ball (for instance a
    /// non-smooth activation), or `None`.
    fn outside_theory(&self) -> Option<&'static str> {
        None
    }
}

/// Everything the program asks of a kind of landscape without holding one: implemented in each
/// landscape's file, registered in [`ProblemKind`]. Callers ask the spec instead of matching on the
/// kind.
pub trait Spec: Sync {
    /// Name used on the command line and in CSV output (the [`ProblemKind`] variant in kebab case).
    fn name(&self) -> &'static str;

    /// The landscape flags that apply to it; the others are ignored, and the data flags among
    /// them refused.
    fn flags(&self) -> &'static [&'static str];

    /// Builds the landscape for `settings`: in dimension `dim` (already reconciled with
    /// `--theta0`) for an analytic landscape, on `data` for a data landscape (whose dimension is
    /// implied).
    fn build(
        &self,
        settings: &ProblemSettings,
        dim: usize,
        data: Option<&Arc<Dataset>>,
    ) -> Result<Box<dyn Landscape>, ConfigError>;

    /// What a model fitted to a data set knows before it is built; `None` for the analytic
    /// landscapes.
    fn data(&self) -> Option<&dyn DataModel> {
        None
    }

    /// The flag that sets its dimension, blamed (with the fix) when the simulation's arrays do
    /// not fit in memory.
    fn memory_flag(&self) -> (&'static str, &'static str) {
        ("--dim", "use a smaller --dim")
    }

    /// Its cells of a result row, by column; the landscape columns it does not name are empty.
    fn csv_cells<'s>(&self, _settings: &'s ProblemSettings) -> Vec<(&'static str, Param<'s>)> {
        Vec::new()
    }

    /// Its lines of the canonical text a config id hashes ([`fn@crate::sweep::config_id`]), by key.
    /// A `curvature` line keeps its place among the common lines (empty when the landscape gives
    /// none); the others follow the data's line.
    fn config_id_lines<'s>(
        &self,
        _settings: &'s ProblemSettings,
    ) -> Vec<(&'static str, Param<'s>)> {
        Vec::new()
    }
}

/// A landscape that is a model fitted to a data set with `features` feature columns, before it
/// is built.
pub trait DataModel: Sync {
    /// Its parameter count d.
    fn dim(&self, shape: &NetworkShape, data: &Dataset) -> usize;
    /// The layers of its LeCun-normal initialisation ([`crate::init::lecun_normal`]).
    fn init_layers(&self, shape: &NetworkShape, data: &Dataset) -> InitLayers;
    /// The model, for the run summary (e.g. `network 4 → 16 → 1, tanh`).
    fn describe(&self, shape: &NetworkShape, data: &Dataset) -> String;
}

/// The weight matrices (fan in, fan out) of a LeCun-normal initialisation, in parameter order,
/// and whether each is followed by a bias vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitLayers {
    pub layers: Vec<(usize, usize)>,
    pub biases: bool,
}

/// A landscape setting as it enters a CSV cell or a config-id line; each output formats it in
/// its own way.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Param<'s> {
    /// A vector flag, such as `--curvature`.
    Numbers(&'s [f64]),
    /// Layer widths, such as `--hidden`.
    Widths(&'s [usize]),
    /// A named choice, such as `--activation`.
    Name(&'static str),
    /// A switch, such as `--bias`.
    Switch(bool),
}

/// Declares the built-in landscapes: each entry is a [`ProblemKind`] variant (its doc comment is
/// its `--help` text) and the [`Spec`] it stands for.
macro_rules! register {
    ($($(#[$doc:meta])* $kind:ident => $spec:expr,)*) => {
        /// The built-in landscapes, by their command-line name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
        pub enum ProblemKind {
            $($(#[$doc])* $kind,)*
        }

        impl ProblemKind {
            /// Every kind, in registration order.
            pub const ALL: &[ProblemKind] = &[$(ProblemKind::$kind),*];

            /// What this kind of landscape knows about itself.
            pub fn spec(self) -> &'static dyn Spec {
                match self {
                    $(ProblemKind::$kind => &$spec,)*
                }
            }
        }
    };
}

register! {
    /// F(θ) = ½ Σ a_i θ_i².
    Quadratic => quadratic::QuadraticSpec,
    /// F(θ) = ¼ (|θ|² − 1)².
    Ring => ring::RingSpec,
    /// F(θ) = 1/(2n)·Σ_i (θᵀx_i (+ b) − y_i)² on `--data`.
    LeastSquares => least_squares::LeastSquaresSpec,
    /// F(θ) = 1/(2n)·Σ_i (f(x_i; θ) − y_i)² for a multilayer perceptron f on `--data`.
    Mlp => mlp::MlpSpec,
}

impl ProblemKind {
    /// Name used on the command line and in CSV output.
    pub fn name(self) -> &'static str {
        self.spec().name()
    }

    /// Whether the landscape is built on a data set (its dimension is then implied).
    pub fn uses_data(self) -> bool {
        self.spec().data().is_some()
    }

    /// Whether `flag` applies to this kind.
    pub fn takes(self, flag: &str) -> bool {
        self.spec().flags().contains(&flag)
    }

    /// The kinds that `flag` applies to, for messages: `least-squares or mlp`.
    pub fn names_taking(flag: &str) -> String {
        let names: Vec<&str> = ProblemKind::ALL
            .iter()
            .filter(|k| k.takes(flag))
            .map(|k| k.name())
            .collect();
        names.join(" or ")
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
    /// The architecture of the data landscapes (ignored by the others).
    pub network: NetworkShape,
}

/// The architecture flags of the data landscapes.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkShape {
    /// `--bias`: least squares with an intercept (the MLP always has biases).
    pub bias: bool,
    /// `--hidden`: widths of the hidden layers of the MLP (empty: a linear model with bias).
    pub hidden: Vec<usize>,
    /// `--activation` of the MLP's hidden layers.
    pub activation: Activation,
}

/// Builds the landscape for `settings` ([`Spec::build`]).
pub fn build(
    settings: &ProblemSettings,
    dim: usize,
    data: Option<&Arc<Dataset>>,
) -> Result<Box<dyn Landscape>, ConfigError> {
    settings.kind.spec().build(settings, dim, data)
}

/// The parameter count a data landscape will have, without building it (0 for the others).
pub fn data_dim(settings: &ProblemSettings, data: &Dataset) -> usize {
    settings
        .kind
        .spec()
        .data()
        .map_or(0, |d| d.dim(&settings.network, data))
}

/// The data set a data landscape is built on.
fn needs_data(data: Option<&Arc<Dataset>>) -> Result<Arc<Dataset>, ConfigError> {
    data.cloned()
        .ok_or_else(|| ConfigError::new("--data", "is needed by this problem"))
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
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn every_kind_is_named_as_on_the_command_line() {
        assert_eq!(ProblemKind::value_variants(), ProblemKind::ALL);
        for &k in ProblemKind::ALL {
            let value = k.to_possible_value().unwrap();
            assert_eq!(value.get_name(), k.name());
        }
    }

    #[test]
    fn the_data_flags_apply_to_the_data_landscapes() {
        for &k in ProblemKind::ALL {
            assert_eq!(k.takes("--data"), k.uses_data(), "{k}");
        }
        assert_eq!(ProblemKind::names_taking("--data"), "least-squares or mlp");
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

    /// Checks the per-sample capability against the full gradient: the batch of all rows gives ∇F
    /// and F, and a batch with a repeat, I = (0, 0, 1), gives (2∇f_0 + ∇f_1)/3 computed from
    /// single-row batches.
    pub fn assert_batch_gradient_is_consistent(l: &dyn Landscape, theta: &[f64]) {
        let ps = l.per_sample().expect("a per-sample landscape");
        let (d, n) = (l.dim(), ps.samples());
        let mut work = vec![0.0; l.workspace_len()];
        let (mut full, mut batch) = (vec![0.0; d], vec![0.0; d]);
        let f = l.loss_and_gradient(theta, &mut full, &mut work);
        let all: Vec<usize> = (0..n).collect();
        let fb = ps.batch_loss_and_gradient(theta, &all, &mut batch, &mut work);
        assert!((f - fb).abs() <= 1e-13 * f.max(1.0));
        for (a, b) in full.iter().zip(&batch) {
            assert!((a - b).abs() <= 1e-13 * a.abs().max(1.0));
        }
        let (mut g0, mut g1) = (vec![0.0; d], vec![0.0; d]);
        let f0 = ps.batch_loss_and_gradient(theta, &[0], &mut g0, &mut work);
        let f1 = ps.batch_loss_and_gradient(theta, &[1], &mut g1, &mut work);
        let fr = ps.batch_loss_and_gradient(theta, &[0, 0, 1], &mut batch, &mut work);
        assert!((fr - (2.0 * f0 + f1) / 3.0).abs() <= 1e-13 * fr.max(1.0));
        for i in 0..d {
            let want = (2.0 * g0[i] + g1[i]) / 3.0;
            assert!((batch[i] - want).abs() <= 1e-13 * want.abs().max(1.0));
        }
    }
}
