//! A multilayer perceptron with m ≥ 1 outputs (one per target column) on a data set:
//!
//!   a⁰ = x,   aˡ = φ(Wˡ aˡ⁻¹ + bˡ) for the hidden layers l = 1 … L,   f(x; θ) = W^{L+1} a^L + b^{L+1},
//!
//! F(θ) = 1/(2n)·Σ_i ‖f(x_i; θ) − y_i‖² (summed over the outputs, so one output is the scalar
//! case), with φ the `--activation` (tanh, sigmoid, softplus; relu
//! is offered but is not differentiable at 0, so the theorem, which needs a Lipschitz gradient,
//! does not cover it and lojasim marks its bound not applicable).
//!
//! **Parameter order** (the order of a `--theta0-file`): layer by layer from the input, each layer's
//! weight matrix Wˡ row-major (out × in: all weights into unit 1, then unit 2, …), then its bias bˡ.
//! With p inputs, hidden widths h_1 … h_L and m outputs the count is Σ_l (h_{l−1} + 1)·h_l with
//! h_0 = p and h_{L+1} = m.
//!
//! The gradient is a hand-written backward pass over many rows at once: with residual e = f − y,
//! δ^{L+1} = e/n, δˡ = (W^{l+1})ᵀ δ^{l+1} ⊙ φ'(zˡ), ∂F/∂Wˡ = Σ_i δˡ (aˡ⁻¹)ᵀ, ∂F/∂bˡ = Σ_i δˡ,
//! each product in register tiles. One body (`pass`) serves one trajectory (f64) and a lane
//! group ([`Lane`]), so the two paths cannot round differently. All intermediate vectors live in
//! the caller's scratch buffer, so nothing is allocated.
//!
//! No constant has a closed form: `run` estimates them ([`crate::constants`]).

use std::sync::Arc;

use super::{
    BallConstants, DataModel, Gradient, InitLayers, Landscape, LaneGradient, NetworkShape,
    Objective, OutputBounds, Param, PerSampleGradient, ProblemSettings, Spec, needs_data,
};
use crate::data::Dataset;
use crate::error::ConfigError;
use crate::lanes::{LANES, Lane, Level, Real, level, multiversion, tanh_of};

/// The hidden layers' nonlinearity φ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Activation {
    /// φ(z) = tanh z.
    Tanh,
    /// φ(z) = 1/(1 + e^{−z}).
    Sigmoid,
    /// φ(z) = ln(1 + e^z).
    Softplus,
    /// φ(z) = max(0, z): not smooth, outside the theory.
    Relu,
}

impl Activation {
    pub fn name(self) -> &'static str {
        match self {
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Softplus => "softplus",
            Activation::Relu => "relu",
        }
    }

    /// φ(z).
    #[inline(always)]
    pub fn apply(self, z: f64) -> f64 {
        match self {
            Activation::Tanh => tanh(z),
            Activation::Sigmoid => sigmoid(z),
            // ln(1 + e^z) = max(z, 0) + ln(1 + e^{−|z|}), without overflow.
            Activation::Softplus => z.max(0.0) + (-z.abs()).exp().ln_1p(),
            Activation::Relu => z.max(0.0),
        }
    }

    /// φ'(z), given z and a = φ(z).
    #[inline(always)]
    pub fn derivative(self, z: f64, a: f64) -> f64 {
        match self {
            Activation::Tanh => 1.0 - a * a,
            Activation::Sigmoid => a * (1.0 - a),
            Activation::Softplus => sigmoid(z),
            Activation::Relu => {
                if z > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }
}

/// Bounds on φ that the certificates use: |φ'| ≤ `d1`, |φ''| ≤ `d2`, |φ(z)| ≤ |φ(0)| + d1·|z|
/// and, for the bounded activations, |φ| ≤ `cap`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActivationBounds {
    pub at_zero: f64,
    pub d1: f64,
    pub d2: f64,
    pub cap: Option<f64>,
}

impl Activation {
    /// Its [`ActivationBounds`]; `None` for relu (no second derivative). tanh'' = −2·tanh·sech²
    /// peaks at tanh = 1/√3: 4/(3√3); σ'' = σ(1−σ)(1−2σ) peaks at 1/(6√3); softplus'' = σ' ≤ 1/4.
    pub fn bounds(self) -> Option<ActivationBounds> {
        let sqrt3 = 3f64.sqrt();
        match self {
            Activation::Tanh => Some(ActivationBounds {
                at_zero: 0.0,
                d1: 1.0,
                d2: 4.0 / (3.0 * sqrt3),
                cap: Some(1.0),
            }),
            Activation::Sigmoid => Some(ActivationBounds {
                at_zero: 0.5,
                d1: 0.25,
                d2: 1.0 / (6.0 * sqrt3),
                cap: Some(1.0),
            }),
            Activation::Softplus => Some(ActivationBounds {
                at_zero: std::f64::consts::LN_2,
                d1: 1.0,
                d2: 0.25,
                cap: None,
            }),
            Activation::Relu => None,
        }
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

pub use crate::lanes::tanh;

#[inline]
fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Number of parameters of an MLP with `inputs` inputs, these hidden widths and `outputs` outputs.
pub fn param_count(inputs: usize, hidden: &[usize], outputs: usize) -> usize {
    layer_shapes(inputs, hidden, outputs)
        .map(|(fan_in, fan_out)| (fan_in + 1) * fan_out)
        .sum()
}

/// (fan_in, fan_out) of each weight layer, input to output.
pub fn layer_shapes(
    inputs: usize,
    hidden: &[usize],
    outputs: usize,
) -> impl Iterator<Item = (usize, usize)> + '_ {
    let widths = std::iter::once(inputs)
        .chain(hidden.iter().copied())
        .chain(std::iter::once(outputs));
    widths.clone().zip(widths.skip(1))
}

/// The MLP loss on a data set.
#[derive(Clone, Debug)]
pub struct Mlp {
    data: Arc<Dataset>,
    activation: Activation,
    /// Layer widths h_0 = p, h_1 … h_L, m.
    widths: Vec<usize>,
    /// m, the number of outputs (targets).
    outputs: usize,
    /// Offset in θ of each weight layer's matrix (its bias follows the matrix).
    offsets: Vec<usize>,
    dim: usize,
    /// Σ h_l over hidden layers (z and a of each are kept for the backward pass).
    hidden_total: usize,
    max_width: usize,
}

impl Mlp {
    /// An MLP with these hidden widths (each ≥ 1; named `--hidden` in errors).
    pub fn new(
        data: Arc<Dataset>,
        hidden: &[usize],
        activation: Activation,
    ) -> Result<Self, ConfigError> {
        if let Some(&w) = hidden.iter().find(|&&w| w == 0) {
            return Err(ConfigError::new(
                "--hidden",
                format!("widths must be ≥ 1 (got {w}); give none for a linear model"),
            ));
        }
        let widths: Vec<usize> = std::iter::once(data.features())
            .chain(hidden.iter().copied())
            .chain(std::iter::once(data.outputs()))
            .collect();
        let mut offsets = Vec::with_capacity(widths.len() - 1);
        let mut dim = 0;
        for w in widths.windows(2) {
            offsets.push(dim);
            dim += (w[0] + 1) * w[1];
        }
        Ok(Self {
            outputs: data.outputs(),
            data,
            activation,
            hidden_total: hidden.iter().sum(),
            max_width: hidden.iter().copied().max().unwrap_or(0),
            widths,
            offsets,
            dim,
        })
    }

    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Number of weight layers L + 1.
    fn layers(&self) -> usize {
        self.widths.len() - 1
    }

    /// (Wˡ, bˡ) of weight layer l (0-based) inside θ.
    #[inline]
    fn weights<'t, T>(&self, theta: &'t [T], l: usize) -> (&'t [T], &'t [T]) {
        let (n_in, n_out) = (self.widths[l], self.widths[l + 1]);
        let w = &theta[self.offsets[l]..self.offsets[l] + n_in * n_out];
        let b = &theta[self.offsets[l] + n_in * n_out..self.offsets[l] + (n_in + 1) * n_out];
        (w, b)
    }

    /// Scratch per row of a pass, in values: its inputs, y and f (then δ^{L+1}) of every output,
    /// (zˡ, aˡ) of every hidden layer and two δ vectors.
    fn row_scratch(&self) -> usize {
        self.widths[0] + 2 * self.outputs + 2 * self.hidden_total + 2 * self.max_width.max(1)
    }

    /// m, the number of outputs.
    pub fn outputs(&self) -> usize {
        self.outputs
    }
}

/// Rows at most in one scalar pass: the one-trajectory scratch stays in L1/L2 on any data set.
const SCALAR_CHUNK: usize = 64;

/// What the passes compute on: one f64 (one trajectory: [`Objective`], [`Gradient`],
/// [`PerSampleGradient`]) or a [`Lane`] ([`LANES`] trajectories: [`LaneGradient`]). Both run the
/// one body, [`pass`], so lane l of a lane pass rounds exactly as the one-trajectory pass of
/// trajectory l.
trait Value: Real {
    /// A minibatch entry: the data row of each lane.
    type Index: Copy;
    /// Whether the forward products read a transposed copy of each weight matrix, so that a
    /// tile's weights are contiguous (one f64: they then load as vectors instead of gathers; a
    /// lane is a vector already).
    const TRANSPOSED_FORWARD: bool;
    /// The value whose lane l is `f(idx[l])`.
    fn gather(idx: Self::Index, f: impl Fn(usize) -> f64) -> Self;
    /// `f` lane by lane.
    fn map2(self, o: Self, f: impl Fn(f64, f64) -> f64) -> Self;
    /// `f` lane by lane.
    fn map(self, f: impl Fn(f64) -> f64) -> Self;
}

impl Value for f64 {
    type Index = usize;
    const TRANSPOSED_FORWARD: bool = true;
    #[inline(always)]
    fn gather(i: usize, f: impl Fn(usize) -> f64) -> f64 {
        f(i)
    }
    #[inline(always)]
    fn map2(self, o: f64, f: impl Fn(f64, f64) -> f64) -> f64 {
        f(self, o)
    }
    #[inline(always)]
    fn map(self, f: impl Fn(f64) -> f64) -> f64 {
        f(self)
    }
}

impl Value for Lane {
    type Index = [usize; LANES];
    const TRANSPOSED_FORWARD: bool = false;
    #[inline(always)]
    fn gather(idx: [usize; LANES], f: impl Fn(usize) -> f64) -> Lane {
        Lane(idx.map(f))
    }
    #[inline(always)]
    fn map2(self, o: Lane, f: impl Fn(f64, f64) -> f64) -> Lane {
        Lane(std::array::from_fn(|l| f(self.0[l], o.0[l])))
    }
    #[inline(always)]
    fn map(self, f: impl Fn(f64) -> f64) -> Lane {
        Lane(self.0.map(f))
    }
}

/// acc + a·b, fused (one rounding): `f64::mul_add` on every lane.
#[inline(always)]
fn mac<V: Real>(acc: V, a: V, b: V) -> V {
    a.mul_add(b, acc)
}

/// The register tile of every product below: acc[i][j] = init[i][j] + Σ_t a(t)[i]·b(t)[j], each
/// sum fused multiply–add by fused multiply–add in t order. `a(t)` and `b(t)` load TI + TJ values
/// for TI·TJ multiply–adds, so a 4 × 4 tile reads half a value per multiply–add where a 1 × 8 row
/// read more than one (W² of W2 with its 8 lanes is 64 KB, more than L1).
#[inline(always)]
#[allow(clippy::needless_range_loop)] // lane loops index several arrays at once (see crate::lanes)
fn tile<V: Real, const TI: usize, const TJ: usize>(
    steps: usize,
    init: [[V; TJ]; TI],
    a: impl Fn(usize) -> [V; TI],
    b: impl Fn(usize) -> [V; TJ],
) -> [[V; TJ]; TI] {
    let mut acc = init;
    for t in 0..steps {
        let (av, bv) = (a(t), b(t));
        for i in 0..TI {
            for j in 0..TJ {
                acc[i][j] = mac(acc[i][j], av[i], bv[j]);
            }
        }
    }
    acc
}

/// A product computed tile by tile: `block::<TI, TJ>(i0, j0)` computes entries i0 … i0 + TI − 1
/// × j0 … j0 + TJ − 1. Every entry is computed the same way whatever the tile, so the tiling
/// changes no result.
trait Tiled {
    fn block<const TI: usize, const TJ: usize>(&mut self, i0: usize, j0: usize);
}

/// Covers ni × nj with TI × TJ tiles, the ragged edges with TI × 1, 1 × TJ and 1 × 1 tiles.
#[inline(always)]
fn for_tiles<const TI: usize, const TJ: usize>(ni: usize, nj: usize, k: &mut impl Tiled) {
    let (fi, fj) = (ni - ni % TI, nj - nj % TJ);
    for i0 in (0..fi).step_by(TI) {
        for j0 in (0..fj).step_by(TJ) {
            k.block::<TI, TJ>(i0, j0);
        }
        for j in fj..nj {
            k.block::<TI, 1>(i0, j);
        }
    }
    for i in fi..ni {
        for j0 in (0..fj).step_by(TJ) {
            k.block::<1, TJ>(i, j0);
        }
        for j in fj..nj {
            k.block::<1, 1>(i, j);
        }
    }
}

/// z[r][o] = b[o] + Σ_k w[o][k]·x[r][k], the sum from −0.0 fused in k order, and
/// a[r][o] = tanh z[r][o] if `tanh_a` is given; tiles of rows × outputs. (tanh is applied here,
/// on the tile in registers: as a pass of its own LLVM vectorised it across lane groups with
/// gathers and scatters.)
struct Forward<'a, V> {
    w: &'a [V],
    /// wᵀ (n_in × n_out), the same values read contiguously, if given.
    w_t: Option<&'a [V]>,
    b: &'a [V],
    x: &'a [V],
    n_in: usize,
    n_out: usize,
    z: &'a mut [V],
    tanh_a: Option<&'a mut [V]>,
}

impl<V: Real> Tiled for Forward<'_, V> {
    #[inline(always)]
    fn block<const TI: usize, const TJ: usize>(&mut self, r0: usize, o0: usize) {
        let n_in = self.n_in;
        let xs: [&[V]; TI] = std::array::from_fn(|i| &self.x[(r0 + i) * n_in..][..n_in]);
        let init = [[V::splat(-0.0); TJ]; TI];
        let x = |k: usize| std::array::from_fn(|i| xs[i][k]);
        let acc = match self.w_t {
            Some(w_t) => {
                let n_out = self.n_out;
                tile::<V, TI, TJ>(n_in, init, x, |k| {
                    let row = &w_t[k * n_out + o0..][..TJ];
                    std::array::from_fn(|j| row[j])
                })
            }
            None => {
                let ws: [&[V]; TJ] = std::array::from_fn(|j| &self.w[(o0 + j) * n_in..][..n_in]);
                tile::<V, TI, TJ>(n_in, init, x, |k| std::array::from_fn(|j| ws[j][k]))
            }
        };
        let b = &self.b[o0..][..TJ];
        for (i, row) in acc.iter().enumerate() {
            let at = (r0 + i) * self.n_out + o0;
            let z = &mut self.z[at..][..TJ];
            for j in 0..TJ {
                z[j] = b[j].add(row[j]);
            }
            if let Some(a) = self.tanh_a.as_deref_mut() {
                let a = &mut a[at..][..TJ];
                for j in 0..TJ {
                    a[j] = tanh_of(z[j]);
                }
            }
        }
    }
}

/// gw[o][k] = Σ_r δ[r][o]·x[r][k], fused in row order from 0.0, or from gw[o][k] itself if
/// `accumulate` (a later chunk of rows); tiles of outputs × inputs.
struct WeightGradient<'a, V> {
    delta: &'a [V],
    x: &'a [V],
    rows: usize,
    n_in: usize,
    n_out: usize,
    gw: &'a mut [V],
    accumulate: bool,
}

impl<V: Real> Tiled for WeightGradient<'_, V> {
    #[inline(always)]
    fn block<const TI: usize, const TJ: usize>(&mut self, o0: usize, k0: usize) {
        let (n_in, n_out) = (self.n_in, self.n_out);
        let (delta, x, gw) = (self.delta, self.x, &*self.gw);
        let d = |r: usize| -> [V; TI] {
            let d = &delta[r * n_out + o0..][..TI];
            std::array::from_fn(|i| d[i])
        };
        let x = |r: usize| -> [V; TJ] {
            let x = &x[r * n_in + k0..][..TJ];
            std::array::from_fn(|j| x[j])
        };
        let init = if self.accumulate {
            std::array::from_fn(|i| std::array::from_fn(|j| gw[(o0 + i) * n_in + k0 + j]))
        } else {
            [[V::splat(0.0); TJ]; TI]
        };
        let acc = tile::<V, TI, TJ>(self.rows, init, d, x);
        for (i, row) in acc.iter().enumerate() {
            self.gw[(o0 + i) * n_in + k0..][..TJ].copy_from_slice(row);
        }
    }
}

/// prev[r][j] = Σ_o w[o][j]·δ[r][o], from 0.0 fused in o order, times tanh'(z) = 1 − a[r][j]² if
/// `tanh_a` is given; tiles of rows × units.
struct Backpropagate<'a, V> {
    delta: &'a [V],
    w: &'a [V],
    n_in: usize,
    n_out: usize,
    prev: &'a mut [V],
    tanh_a: Option<&'a [V]>,
}

impl<V: Real> Tiled for Backpropagate<'_, V> {
    #[inline(always)]
    fn block<const TI: usize, const TJ: usize>(&mut self, r0: usize, j0: usize) {
        let (n_in, n_out) = (self.n_in, self.n_out);
        let ds: [&[V]; TI] = std::array::from_fn(|i| &self.delta[(r0 + i) * n_out..][..n_out]);
        let acc = tile::<V, TI, TJ>(
            n_out,
            [[V::splat(0.0); TJ]; TI],
            |o| std::array::from_fn(|i| ds[i][o]),
            |o| {
                let wo = &self.w[o * n_in + j0..][..TJ];
                std::array::from_fn(|j| wo[j])
            },
        );
        for (i, row) in acc.iter().enumerate() {
            let at = (r0 + i) * n_in + j0;
            let p = &mut self.prev[at..][..TJ];
            match self.tanh_a {
                Some(a) => {
                    let a = &a[at..][..TJ];
                    for j in 0..TJ {
                        p[j] = row[j].mul(V::splat(1.0).sub(a[j].mul(a[j])));
                    }
                }
                None => p.copy_from_slice(row),
            }
        }
    }
}

/// z = W·x + b over all rows, and a = tanh z if `tanh_a` is given ([`Forward`]), in T × T tiles.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn dense_forward<V: Real, const TI: usize, const TJ: usize>(
    w: &[V],
    w_t: Option<&[V]>,
    b: &[V],
    x: &[V],
    n_in: usize,
    n_out: usize,
    z: &mut [V],
    tanh_a: Option<&mut [V]>,
) {
    let rows = x.len() / n_in;
    let mut k = Forward {
        w,
        w_t,
        b,
        x,
        n_in,
        n_out,
        z,
        tanh_a,
    };
    for_tiles::<TI, TJ>(rows, n_out, &mut k);
}

/// gw = δᵀ x and gb[o] = Σ_r δ[r][o] (in row order, from 0.0, or from gw and gb if
/// `accumulate`), gw in T × T tiles.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn dense_weight_gradient<V: Real, const TI: usize, const TJ: usize>(
    delta: &[V],
    x: &[V],
    n_in: usize,
    n_out: usize,
    gw: &mut [V],
    gb: &mut [V],
    accumulate: bool,
) {
    let rows = x.len() / n_in;
    let mut k = WeightGradient {
        delta,
        x,
        rows,
        n_in,
        n_out,
        gw,
        accumulate,
    };
    for_tiles::<TI, TJ>(n_out, n_in, &mut k);
    for (o, g) in gb[..n_out].iter_mut().enumerate() {
        let mut sb = if accumulate { *g } else { V::splat(0.0) };
        for r in 0..rows {
            sb = sb.add(delta[r * n_out + o]);
        }
        *g = sb;
    }
}

/// prev[r][j] = (Σ_o w[o][j]·δ[r][o])·φ'(z[r][j], a[r][j]) ([`Backpropagate`] in T × T tiles,
/// then φ').
#[inline(always)]
fn dense_backpropagate<V: Value, const TI: usize, const TJ: usize>(
    act: Activation,
    delta: &[V],
    w: &[V],
    z: &[V],
    a: &[V],
    n_in: usize,
    prev: &mut [V],
) {
    let rows = z.len() / n_in;
    let n_out = delta.len() / rows;
    let tanh_a = (act == Activation::Tanh).then_some(a);
    let mut k = Backpropagate {
        delta,
        w,
        n_in,
        n_out,
        prev,
        tanh_a,
    };
    for_tiles::<TI, TJ>(rows, n_in, &mut k);
    if act != Activation::Tanh {
        let prev = &mut prev[..rows * n_in];
        for ((p, &zv), &av) in prev.iter_mut().zip(z).zip(a) {
            *p = p.mul(zv.map2(av, |z, a| act.derivative(z, a)));
        }
    }
}

/// What a pass computes.
enum Want<'g, V> {
    /// F = Σ_i (f − y)² / 2m (the sum from −0.0, as `Iterator::sum`).
    Loss,
    /// F (the sum from 0.0) and ∇F, back-propagating δ^{L+1} = e/m.
    Gradient(&'g mut [V]),
    /// The residual e = f_o − y_o of output o of the one row and ∇_θ f_o there (δ^{L+1} = 1 at
    /// output o, 0 at the others).
    OutputGradient(&'g mut [V], usize),
}

/// The rows of one chunk: data rows `start..end` (the same in every lane), or batch entries.
#[derive(Clone, Copy)]
enum Rows<'b, I> {
    Range(usize, usize),
    Batch(&'b [I]),
}

/// The one body of every pass of [`Mlp`], for one trajectory (`V` = f64) and for a lane group
/// (`V` = [`Lane`]): over all rows (`batch` None) or over the batch (each index counted as often
/// as it appears), in chunks of as many rows as `work` holds (the chunking changes no bit: each
/// chunk's sums start from the last's). Returns F, or for [`Want::OutputGradient`] the residual.
#[inline(always)]
fn pass<V: Value, const TI: usize, const TJ: usize>(
    m: &Mlp,
    theta: &[V],
    batch: Option<&[V::Index]>,
    mut want: Want<'_, V>,
    work: &mut [V],
) -> V {
    let n = batch.map_or(m.data.rows(), <[_]>::len);
    // The transposed weights (at the end of the scratch, if it has room for them and a row):
    // worth their O(d) copy from 8 rows on.
    let transposed = V::TRANSPOSED_FORWARD && n >= 8 && work.len() >= m.dim + m.row_scratch();
    let (work, w_t) = work.split_at_mut(work.len() - if transposed { m.dim } else { 0 });
    if transposed {
        for l in 0..m.layers() {
            let (n_in, n_out) = (m.widths[l], m.widths[l + 1]);
            let (w, _) = m.weights(theta, l);
            let t = &mut w_t[m.offsets[l]..][..n_in * n_out];
            for o in 0..n_out {
                for k in 0..n_in {
                    t[k * n_out + o] = w[o * n_in + k];
                }
            }
        }
    }
    let w_t: Option<&[V]> = transposed.then_some(&*w_t);
    let chunk = work.len() / m.row_scratch();
    assert!(chunk > 0, "the MLP's scratch is smaller than one row");
    let mut sum = V::splat(if let Want::Loss = want { -0.0 } else { 0.0 });
    let rows = |start: usize, end: usize| match batch {
        None => Rows::Range(start, end),
        Some(b) => Rows::Batch(&b[start..end]),
    };
    // The first chunk apart, so that the usual single chunk (all lane passes) runs a copy without
    // the branches of accumulating.
    let mut end = chunk.min(n);
    let residual = pass_rows::<V, TI, TJ>(
        m,
        theta,
        w_t,
        rows(0, end),
        n,
        &mut want,
        false,
        work,
        &mut sum,
    );
    while end < n {
        let start = end;
        end = (start + chunk).min(n);
        pass_rows::<V, TI, TJ>(
            m,
            theta,
            w_t,
            rows(start, end),
            n,
            &mut want,
            true,
            work,
            &mut sum,
        );
    }
    match want {
        Want::OutputGradient(..) => residual,
        _ => sum.div(V::splat(2.0 * n as f64)),
    }
}

/// One chunk of [`pass`] (of `n` rows in all): adds its Σ (f − y)² to `sum` and its part of the
/// gradient to what earlier chunks left (`accumulate`); returns the residual of its first row.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
#[allow(clippy::needless_range_loop)] // lane loops index several arrays at once (see crate::lanes)
fn pass_rows<V: Value, const TI: usize, const TJ: usize>(
    m: &Mlp,
    theta: &[V],
    w_t: Option<&[V]>,
    rows: Rows<'_, V::Index>,
    n: usize,
    want: &mut Want<'_, V>,
    accumulate: bool,
    work: &mut [V],
    sum: &mut V,
) -> V {
    let p = m.widths[0];
    let outs = m.outputs;
    let n_rows = match rows {
        Rows::Range(start, end) => end - start,
        Rows::Batch(b) => b.len(),
    };
    let (inp, rest) = work.split_at_mut(n_rows * p);
    let (ys, rest) = rest.split_at_mut(n_rows * outs);
    let (fs, rest) = rest.split_at_mut(n_rows * outs);
    let (acts, rest) = rest.split_at_mut(2 * n_rows * m.hidden_total);
    let (d0, rest) = rest.split_at_mut(n_rows * m.max_width.max(1));
    let d1 = &mut rest[..n_rows * m.max_width.max(1)];
    match rows {
        Rows::Range(start, _) => {
            for r in 0..n_rows {
                for (v, &x) in inp[r * p..][..p].iter_mut().zip(m.data.x(start + r)) {
                    *v = V::splat(x);
                }
                for (v, &y) in ys[r * outs..][..outs].iter_mut().zip(m.data.y(start + r)) {
                    *v = V::splat(y);
                }
            }
        }
        Rows::Batch(batch) => {
            for (r, &idx) in batch.iter().enumerate() {
                for (k, v) in inp[r * p..][..p].iter_mut().enumerate() {
                    *v = V::gather(idx, |i| m.data.x(i)[k]);
                }
                for (o, v) in ys[r * outs..][..outs].iter_mut().enumerate() {
                    *v = V::gather(idx, |i| m.data.y(i)[o]);
                }
            }
        }
    }
    let hidden = m.layers() - 1;
    // Forward: (zˡ, aˡ) of hidden layer l at slot(l), each n_rows × h_l.
    let slot = |l: usize| -> usize { (0..l).map(|k| 2 * n_rows * m.widths[k + 1]).sum() };
    for l in 0..=hidden {
        let (n_in, n_out) = (m.widths[l], m.widths[l + 1]);
        let (w, b) = m.weights(theta, l);
        let w_t = w_t.map(|t| &t[m.offsets[l]..][..n_in * n_out]);
        let (done, tail) = acts.split_at_mut(slot(l));
        let input: &[V] = if l == 0 {
            inp
        } else {
            &done[slot(l - 1) + n_rows * n_in..][..n_rows * n_in]
        };
        if l < hidden {
            let (z, a) = tail.split_at_mut(n_rows * n_out);
            let a = &mut a[..n_rows * n_out];
            if m.activation == Activation::Tanh {
                dense_forward::<V, TI, TJ>(w, w_t, b, input, n_in, n_out, z, Some(a));
            } else {
                dense_forward::<V, TI, TJ>(w, w_t, b, input, n_in, n_out, z, None);
                for (av, zv) in a.iter_mut().zip(z.iter()) {
                    *av = zv.map(|z| m.activation.apply(z));
                }
            }
        } else {
            dense_forward::<V, TI, TJ>(w, w_t, b, input, n_in, outs, fs, None);
        }
    }
    let chosen = match want {
        Want::OutputGradient(_, o) => *o,
        _ => 0,
    };
    let residual = fs[chosen].sub(ys[chosen]);
    // Residuals e, the loss and δ^{L+1} (in `fs`).
    let (grad, mean) = match want {
        Want::Loss => {
            for (&f, &y) in fs.iter().zip(ys.iter()) {
                let e = f.sub(y);
                *sum = sum.add(e.mul(e));
            }
            return residual;
        }
        Want::Gradient(g) => (&mut **g, true),
        Want::OutputGradient(g, _) => (&mut **g, false),
    };
    for (k, (f, &y)) in fs.iter_mut().zip(ys.iter()).enumerate() {
        let e = f.sub(y);
        *sum = sum.add(e.mul(e));
        *f = if mean {
            e.div(V::splat(n as f64))
        } else {
            V::splat(if k % outs == chosen { 1.0 } else { 0.0 })
        };
    }
    let delta_out: &[V] = fs;
    let a_of = |l: usize| -> std::ops::Range<usize> {
        let s = slot(l) + n_rows * m.widths[l + 1];
        s..s + n_rows * m.widths[l + 1]
    };
    let z_of = |l: usize| -> std::ops::Range<usize> { slot(l)..slot(l) + n_rows * m.widths[l + 1] };
    // Output layer.
    {
        let n_in = m.widths[hidden];
        let input: &[V] = if hidden == 0 {
            inp
        } else {
            &acts[a_of(hidden - 1)]
        };
        let off = m.offsets[hidden];
        let (gw, gb) = grad[off..off + (n_in + 1) * outs].split_at_mut(n_in * outs);
        dense_weight_gradient::<V, TI, TJ>(delta_out, input, n_in, outs, gw, gb, accumulate);
        if hidden > 0 {
            let (w, _) = m.weights(theta, hidden);
            let (z, a) = (&acts[z_of(hidden - 1)], &acts[a_of(hidden - 1)]);
            if outs > 1 {
                dense_backpropagate::<V, TI, TJ>(
                    m.activation,
                    delta_out,
                    w,
                    z,
                    a,
                    n_in,
                    &mut d0[..n_rows * n_in],
                );
            } else {
                // One output: δ is one value per row, and the direct product keeps the bits
                // of one-output networks (the general product adds it to +0.0, which turns an
                // exact −0 into +0).
                for r in 0..n_rows {
                    for j in 0..n_in {
                        let at = r * n_in + j;
                        let we = w[j].mul(delta_out[r]);
                        // The match hoisted (as a jump inside the lane loop it kept this scalar).
                        d0[at] = if m.activation == Activation::Tanh {
                            we.mul(V::splat(1.0).sub(a[at].mul(a[at])))
                        } else {
                            we.mul(z[at].map2(a[at], |z, a| m.activation.derivative(z, a)))
                        };
                    }
                }
            }
        }
    }
    let (mut cur, mut next) = (d0, d1);
    for l in (0..hidden).rev() {
        let (n_in, n_out, off) = (m.widths[l], m.widths[l + 1], m.offsets[l]);
        let input: &[V] = if l == 0 { inp } else { &acts[a_of(l - 1)] };
        let (gw, gb) = grad[off..off + (n_in + 1) * n_out].split_at_mut(n_in * n_out);
        dense_weight_gradient::<V, TI, TJ>(
            &cur[..n_rows * n_out],
            input,
            n_in,
            n_out,
            gw,
            gb,
            accumulate,
        );
        if l > 0 {
            let (w, _) = m.weights(theta, l);
            let (z, a) = (&acts[z_of(l - 1)], &acts[a_of(l - 1)]);
            dense_backpropagate::<V, TI, TJ>(
                m.activation,
                &cur[..n_rows * n_out],
                w,
                z,
                a,
                n_in,
                &mut next[..n_rows * n_in],
            );
            std::mem::swap(&mut cur, &mut next);
        }
    }
    residual
}

multiversion!(
    /// [`pass`] on lanes at level `simd`, with the largest tile that fits its register file:
    /// 4 × 4 lanes (16 accumulators + 8 operands of 32 zmm registers), 2 × 2 with AVX2 (a lane is
    /// two of its 16 ymm registers), 1 × 1 otherwise.
    fn mlp_lanes(
        m: &Mlp,
        theta: &[Lane],
        batch: Option<&[[usize; LANES]]>,
        want: Want<'_, Lane>,
        work: &mut [Lane],
    ) -> Lane => avx512: pass::<Lane, 4, 4>, avx2: pass::<Lane, 2, 2>, baseline: pass::<Lane, 1, 1>
);

multiversion!(
    /// [`pass`] on one trajectory at level `simd` (its fused multiply–adds are then single
    /// instructions, not calls into libm), in tiles of 4 × 16 values with AVX-512, 4 × 8 with
    /// AVX2 and 4 × 4 otherwise: independent chains of multiply–adds where one dot product at a
    /// time is bound by the latency of one, 16 (8) of them contiguous in the second dimension so
    /// that they run as two (one) vector FMAs per row (the forward products read the transposed
    /// weights for that). Chosen by timing 200 pre-training steps of a 64 → 128 → 128 → 10
    /// network on 1 797 rows: 4 × 16 took 1.21–1.30 s, 4 × 32 1.23 s, 2 × 16 2.27 s, 4 × 8
    /// 1.99 s, 8 × 8 2.42 s, 6 × 8 2.87 s, 8 × 16 10.7 s (spilled), and 4 × 4 without the
    /// transposed weights 2.72 s. Each entry's sum is the same chain in every tile shape, so
    /// the shape changes no bit.
    fn mlp_scalar(
        m: &Mlp,
        theta: &[f64],
        batch: Option<&[usize]>,
        want: Want<'_, f64>,
        work: &mut [f64],
    ) -> f64 => avx512: pass::<f64, 4, 16>, avx2: pass::<f64, 4, 8>, baseline: pass::<f64, 4, 4>
);

impl LaneGradient for Mlp {
    fn lane_workspace_len(&self, batch: usize) -> usize {
        self.data.rows().max(batch) * self.row_scratch()
    }

    fn lanes_loss(&self, simd: Level, theta: &[Lane], work: &mut [Lane]) -> Lane {
        mlp_lanes(simd, self, theta, None, Want::Loss, work)
    }

    fn lanes_loss_and_gradient(
        &self,
        simd: Level,
        theta: &[Lane],
        grad: &mut [Lane],
        work: &mut [Lane],
    ) -> Lane {
        mlp_lanes(simd, self, theta, None, Want::Gradient(grad), work)
    }

    fn lanes_per_sample(&self) -> bool {
        true
    }

    fn lanes_batch_loss_and_gradient(
        &self,
        simd: Level,
        theta: &[Lane],
        batch: &[[usize; LANES]],
        grad: &mut [Lane],
        work: &mut [Lane],
    ) -> Lane {
        mlp_lanes(simd, self, theta, Some(batch), Want::Gradient(grad), work)
    }
}

impl Objective for Mlp {
    fn dim(&self) -> usize {
        self.dim
    }

    /// A chunk of rows and a transposed copy of the weights (the one-trajectory pass reads them).
    fn workspace_len(&self) -> usize {
        self.data.rows().min(SCALAR_CHUNK) * self.row_scratch() + self.dim
    }

    fn loss(&self, theta: &[f64], work: &mut [f64]) -> f64 {
        mlp_scalar(level(), self, theta, None, Want::Loss, work)
    }
}

impl Gradient for Mlp {
    fn loss_and_gradient(&self, theta: &[f64], grad: &mut [f64], work: &mut [f64]) -> f64 {
        mlp_scalar(level(), self, theta, None, Want::Gradient(grad), work)
    }
}

impl PerSampleGradient for Mlp {
    fn samples(&self) -> usize {
        self.data.rows()
    }

    fn outputs(&self) -> usize {
        self.outputs
    }

    fn residual_and_output_gradient(
        &self,
        theta: &[f64],
        i: usize,
        grad: &mut [f64],
        work: &mut [f64],
    ) -> f64 {
        let m = self.outputs;
        mlp_scalar(
            level(),
            self,
            theta,
            Some(&[i / m]),
            Want::OutputGradient(grad, i % m),
            work,
        )
    }

    fn batch_loss_and_gradient(
        &self,
        theta: &[f64],
        batch: &[usize],
        grad: &mut [f64],
        work: &mut [f64],
    ) -> f64 {
        mlp_scalar(
            level(),
            self,
            theta,
            Some(batch),
            Want::Gradient(grad),
            work,
        )
    }
}

impl Landscape for Mlp {
    fn exact_constants(&self, _theta0: &[f64], _radius: f64) -> Option<BallConstants> {
        None
    }

    fn per_sample(&self) -> Option<&dyn PerSampleGradient> {
        Some(self)
    }

    fn lanes(&self) -> Option<&dyn LaneGradient> {
        Some(self)
    }

    /// Layer by layer over the ball (docs/networks.md): ‖Wˡ‖ ≤ ‖Wˡ(θ0)‖_F + r and
    /// |bˡ| ≤ |bˡ(θ0)| + r bound the activations, and the first and second directional derivatives
    /// of each layer along a unit direction are bounded by recursion, giving per row G_i ≥ |∇u_i|,
    /// H_i ≥ ‖∇²u_i‖ and U_i ≥ |u_i|. Each bound is rounded up by a relative 1e-12.
    fn output_bounds(&self, theta0: &[f64], radius: f64) -> Option<OutputBounds> {
        let hidden = self.layers() - 1;
        let act = if hidden == 0 {
            // A linear model: no activation enters.
            Activation::Tanh.bounds()?
        } else {
            self.activation.bounds()?
        };
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        let (m, b): (Vec<f64>, Vec<f64>) = (0..self.layers())
            .map(|l| {
                let (w, b) = self.weights(theta0, l);
                (norm(w) + radius, norm(b) + radius)
            })
            .unzip();
        let n = self.data.rows();
        let (mut sum_h2, mut sum_c) = (0.0, 0.0);
        let mut e = vec![0.0; self.layers()];
        for i in 0..n {
            // |aˡ| ≤ a_bound; |daˡ| ≤ Σ_k e[k]·s_k over the unit direction's layer parts s_k;
            // |d²aˡ| ≤ q.
            let mut a_bound = norm(self.data.x(i));
            e.fill(0.0);
            let mut q = 0.0;
            for l in 0..hidden {
                let c = (a_bound * a_bound + 1.0).sqrt();
                let e_norm = norm(&e);
                // dzˡ's coefficients: Mˡ·e, and c on layer l's own part.
                e.iter_mut().for_each(|x| *x *= m[l]);
                e[l] = c;
                let z_norm = norm(&e);
                q = act.d2 * z_norm * z_norm + act.d1 * (e_norm + m[l] * q);
                e.iter_mut().for_each(|x| *x *= act.d1);
                let width = self.widths[l + 1] as f64;
                let linear = act.at_zero * width.sqrt() + act.d1 * (m[l] * a_bound + b[l]);
                a_bound = act.cap.map_or(linear, |cap| linear.min(cap * width.sqrt()));
            }
            let c = (a_bound * a_bound + 1.0).sqrt();
            let e_norm = norm(&e);
            e.iter_mut().for_each(|x| *x *= m[hidden]);
            e[hidden] = c;
            let g = norm(&e);
            let h = e_norm + m[hidden] * q;
            // Every output's row of W^{L+1} has norm ≤ ‖W^{L+1}‖_F, so each output has the same
            // bounds.
            let u = m[hidden] * a_bound + b[hidden];
            let outs = self.outputs as f64;
            sum_h2 += outs * h * h;
            sum_c += outs * g * g
                + self
                    .data
                    .y(i)
                    .iter()
                    .map(|y| (u + y.abs()) * h)
                    .sum::<f64>();
        }
        let up = 1.0 + 1e-12;
        Some(OutputBounds {
            jacobian_lipschitz: sum_h2.sqrt() * up,
            c_l: sum_c / n as f64 * up,
        })
    }

    fn outside_theory(&self) -> Option<&'static str> {
        (self.activation == Activation::Relu && self.layers() > 1)
            .then_some("relu is not differentiable at 0, so ∇F is not Lipschitz")
    }
}

/// `--problem mlp`: built on `--data` with `--hidden` layers of `--activation`.
pub(super) struct MlpSpec;

impl Spec for MlpSpec {
    fn name(&self) -> &'static str {
        "mlp"
    }

    fn flags(&self) -> &'static [&'static str] {
        &[
            "--data",
            "--target",
            "--one-hot",
            "--rows",
            "--one-hot",
            "--rows",
            "--standardize",
            "--hidden",
            "--activation",
            "--init-seed",
            "--init-steps",
            "--init-eta",
            "--init-loss",
            "--theta0-file",
        ]
    }

    fn build(
        &self,
        settings: &ProblemSettings,
        _dim: usize,
        data: Option<&Arc<Dataset>>,
    ) -> Result<Box<dyn Landscape>, ConfigError> {
        let net = &settings.network;
        Ok(Box::new(Mlp::new(
            needs_data(data)?,
            &net.hidden,
            net.activation,
        )?))
    }

    fn data(&self) -> Option<&dyn DataModel> {
        Some(self)
    }

    fn memory_flag(&self) -> (&'static str, &'static str) {
        ("--hidden", "use narrower or fewer --hidden layers")
    }

    fn csv_cells<'s>(&self, settings: &'s ProblemSettings) -> Vec<(&'static str, Param<'s>)> {
        let net = &settings.network;
        vec![
            ("hidden", Param::Widths(&net.hidden)),
            ("activation", Param::Name(net.activation.name())),
        ]
    }

    /// `bias` is in the id although the network ignores `--bias`: ids, once written, stay.
    fn config_id_lines<'s>(&self, settings: &'s ProblemSettings) -> Vec<(&'static str, Param<'s>)> {
        let net = &settings.network;
        vec![
            ("bias", Param::Switch(net.bias)),
            ("hidden", Param::Widths(&net.hidden)),
            ("activation", Param::Name(net.activation.name())),
        ]
    }
}

impl DataModel for MlpSpec {
    fn dim(&self, shape: &NetworkShape, data: &Dataset) -> usize {
        param_count(data.features(), &shape.hidden, data.outputs())
    }

    fn init_layers(&self, shape: &NetworkShape, data: &Dataset) -> InitLayers {
        InitLayers {
            layers: layer_shapes(data.features(), &shape.hidden, data.outputs()).collect(),
            biases: true,
        }
    }

    fn describe(&self, shape: &NetworkShape, data: &Dataset) -> String {
        let hidden: Vec<String> = shape.hidden.iter().map(|w| w.to_string()).collect();
        format!(
            "network {} → {} → {}, {}",
            data.features(),
            hidden.join(" → "),
            data.outputs(),
            shape.activation
        )
        .replace(" →  →", " →")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landscape::testing::{
        assert_batch_gradient_is_consistent, assert_gradient_matches_finite_differences,
    };
    use proptest::prelude::*;

    fn teacher() -> Arc<Dataset> {
        Arc::new(
            Dataset::parse("teacher.csv", include_str!("../../data/teacher.csv"), None).unwrap(),
        )
    }

    #[test]
    fn parameter_count_follows_the_documented_layout() {
        // 8 inputs → 5 → 3 → 1: (8+1)·5 + (5+1)·3 + (3+1)·1 = 45 + 18 + 4.
        assert_eq!(param_count(8, &[5, 3], 1), 67);
        let m = Mlp::new(teacher(), &[5, 3], Activation::Tanh).unwrap();
        assert_eq!(m.dim(), 67);
        assert_eq!(param_count(8, &[], 1), 9);
        // Two outputs: the last layer is (3+1)·2.
        assert_eq!(param_count(8, &[5, 3], 2), 71);
    }

    /// A hand-built 1 → 1 → 1 tanh network: f(x) = w2·tanh(w1·x + b1) + b2, θ = (w1, b1, w2, b2).
    #[test]
    fn a_one_unit_network_matches_its_formula() {
        let data = Arc::new(Dataset::parse("t", "x,y\n0.5,0.2\n-1,0.3\n", None).unwrap());
        let m = Mlp::new(data, &[1], Activation::Tanh).unwrap();
        let theta = [0.7, -0.1, 1.3, 0.05];
        let f = |x: f64| 1.3 * (0.7 * x - 0.1f64).tanh() + 0.05;
        let want = ((f(0.5) - 0.2).powi(2) + (f(-1.0) - 0.3).powi(2)) / 4.0;
        let mut work = vec![0.0; m.workspace_len()];
        assert!((m.loss(&theta, &mut work) - want).abs() < 1e-15);
    }

    #[test]
    fn a_network_without_hidden_layers_is_least_squares_with_bias() {
        let data = teacher();
        let m = Mlp::new(data.clone(), &[], Activation::Tanh).unwrap();
        let ls = super::super::LeastSquares::new(data, true);
        let theta: Vec<f64> = (0..9).map(|j| 0.1 * j as f64 - 0.3).collect();
        let (mut g1, mut g2) = (vec![0.0; 9], vec![0.0; 9]);
        let f1 = m.loss_and_gradient(&theta, &mut g1, &mut vec![0.0; m.workspace_len()]);
        let f2 = ls.loss_and_gradient(&theta, &mut g2, &mut []);
        assert!((f1 - f2).abs() < 1e-14);
        for (a, b) in g1.iter().zip(&g2) {
            assert!((a - b).abs() < 1e-14);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Every smooth activation, at random depths, widths and parameters.
        #[test]
        fn gradients_match_finite_differences(
            hidden in prop::collection::vec(1usize..5, 0..4),
            act in prop::sample::select(vec![Activation::Tanh, Activation::Sigmoid, Activation::Softplus]),
            seed in 0u64..1000,
        ) {
            let m = Mlp::new(teacher(), &hidden, act).unwrap();
            let theta = pseudo_random(m.dim(), seed);
            assert_gradient_matches_finite_differences(&m, &theta);
            assert_batch_gradient_is_consistent(&m, &theta);
        }
    }

    /// relu is piecewise linear: away from its kinks the finite difference is exact. A point where
    /// no pre-activation is within the step h of 0 is checked (asserted below).
    #[test]
    fn relu_gradient_matches_finite_differences_away_from_kinks() {
        let m = Mlp::new(teacher(), &[4, 3], Activation::Relu).unwrap();
        let theta = pseudo_random(m.dim(), 3);
        let mut work = vec![0.0; m.row_scratch()];
        for i in 0..16 {
            pass::<f64, 4, 4>(&m, &theta, Some(&[i]), Want::Loss, &mut work);
            // After the row's inputs, y and f: z¹ (4), a¹ (4), z² (3), a² (3).
            let acts = &work[m.widths[0] + 2..];
            for z in [&acts[0..4], &acts[8..11]] {
                assert!(
                    z.iter().all(|z| z.abs() > 1e-3),
                    "a pre-activation is near a kink"
                );
            }
        }
        assert_gradient_matches_finite_differences(&m, &theta);
        assert!(m.outside_theory().is_some());
    }

    /// Deterministic O(1) parameters from a simple LCG (independent of the crate's generators).
    fn pseudo_random(d: usize, seed: u64) -> Vec<f64> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..d)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64) * 1.6 - 0.8
            })
            .collect()
    }

    /// The portable tanh stays within 4 ulp of the platform's (itself within 1 ulp), over a
    /// dense sweep of [−25, 25], tiny and huge arguments; it is odd, and NaN propagates.
    #[test]
    fn portable_tanh_is_within_four_ulp_of_the_platform_tanh() {
        let ulps = |a: f64, b: f64| (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs();
        let mut worst = 0;
        let mut xs: Vec<f64> = (0..2_000_001).map(|i| -25.0 + 25e-6 * i as f64).collect();
        xs.extend([
            1e-300,
            1e-20,
            1e-8,
            0.1,
            0.5,
            0.55,
            1.0,
            19.0,
            21.0,
            1e10,
            f64::MAX,
        ]);
        for x in xs {
            assert_eq!(tanh(-x).to_bits(), (-tanh(x)).to_bits());
            worst = worst.max(ulps(tanh(x), x.tanh()));
        }
        assert!(worst <= 4, "{worst} ulp");
        assert!(tanh(f64::NAN).is_nan());
        assert_eq!(tanh(f64::INFINITY), 1.0);
        assert_eq!(tanh(-0.0).to_bits(), (-0.0f64).to_bits());
    }

    /// The one body on lanes and on one f64, per lane, bit for bit: F, ∇F over all rows and over
    /// a batch (longer than the data, with repeats), at every instruction-set level the CPU has,
    /// with the one-trajectory scratch of every row and of 5 rows (chunks of 5, 5, 5, 1 rows: a
    /// chunk's sums continue the last's, so the chunking changes no bit); and the output gradient
    /// of one row at every level.
    #[test]
    fn one_trajectory_and_lane_passes_agree_bit_for_bit_at_every_level_and_chunking() {
        let bits = |v: &[f64]| -> Vec<u64> { v.iter().map(|x| x.to_bits()).collect() };
        for (hidden, act) in [
            (vec![], Activation::Tanh),
            (vec![9, 8], Activation::Tanh),
            (vec![7, 6], Activation::Softplus),
        ] {
            let m = Mlp::new(teacher(), &hidden, act).unwrap();
            let d = m.dim();
            let n = m.data.rows();
            let thetas: Vec<Vec<f64>> = (0..LANES as u64).map(|l| pseudo_random(d, l)).collect();
            let theta_lanes: Vec<Lane> = (0..d)
                .map(|j| Lane(std::array::from_fn(|l| thetas[l][j])))
                .collect();
            let batch: Vec<[usize; LANES]> = (0..21)
                .map(|r| std::array::from_fn(|l| (r * 7 + l * 3) % n))
                .collect();
            let mut lane_work = vec![Lane::ZERO; m.lane_workspace_len(batch.len())];
            let mut lane_grad = vec![Lane::ZERO; d];
            let mut grad = vec![0.0; d];
            for simd in Level::ALL.into_iter().filter(|&l| l <= Level::cpu()) {
                for work_rows in [n, 5] {
                    let mut work = vec![0.0; work_rows * m.row_scratch()];
                    for b in [None, Some(&batch)] {
                        let lane_batch = b.map(|b| b.as_slice());
                        let loss = mlp_lanes(
                            simd,
                            &m,
                            &theta_lanes,
                            lane_batch,
                            Want::Loss,
                            &mut lane_work,
                        );
                        let with_grad = mlp_lanes(
                            simd,
                            &m,
                            &theta_lanes,
                            lane_batch,
                            Want::Gradient(&mut lane_grad),
                            &mut lane_work,
                        );
                        for (l, theta) in thetas.iter().enumerate() {
                            let rows: Option<Vec<usize>> =
                                b.map(|b| b.iter().map(|i| i[l]).collect());
                            let rows = rows.as_deref();
                            let case = format!(
                                "{hidden:?} {act} {simd:?} {work_rows} rows, batch {}, lane {l}",
                                b.is_some()
                            );
                            if rows.is_none() {
                                let f = mlp_scalar(simd, &m, theta, None, Want::Loss, &mut work);
                                assert_eq!(f.to_bits(), loss.0[l].to_bits(), "F, {case}");
                            }
                            let f = mlp_scalar(
                                simd,
                                &m,
                                theta,
                                rows,
                                Want::Gradient(&mut grad),
                                &mut work,
                            );
                            assert_eq!(f.to_bits(), with_grad.0[l].to_bits(), "F with ∇F, {case}");
                            let lane_l: Vec<f64> = lane_grad.iter().map(|g| g.0[l]).collect();
                            assert_eq!(bits(&grad), bits(&lane_l), "∇F, {case}");
                        }
                    }
                }
                // ∇_θ f at row 3 against the gradient of the one-row batch, which is e·∇_θ f.
                let mut work = vec![0.0; m.workspace_len()];
                let e = mlp_scalar(
                    simd,
                    &m,
                    &thetas[0],
                    Some(&[3]),
                    Want::OutputGradient(&mut grad, 0),
                    &mut work,
                );
                let mut mean = vec![0.0; d];
                let f = mlp_scalar(
                    simd,
                    &m,
                    &thetas[0],
                    Some(&[3]),
                    Want::Gradient(&mut mean),
                    &mut work,
                );
                assert_eq!((0.5 * e * e).to_bits(), f.to_bits());
                for (g, gm) in grad.iter().zip(&mean) {
                    assert!((e * g - gm).abs() <= 1e-14 * gm.abs().max(1.0), "{g} {gm}");
                }
            }
        }
    }

    /// The teacher set with three targets (x8, y and a class-like column made from x1's sign):
    /// 15 rows, 7 features, m = 3.
    fn teacher3() -> Arc<Dataset> {
        let text: String = include_str!("../../data/teacher.csv")
            .lines()
            .enumerate()
            .map(|(i, line)| {
                let sign = if i == 0 {
                    "s".to_string()
                } else {
                    let x1: f64 = line.split(',').next().unwrap().parse().unwrap();
                    f64::from(u8::from(x1 > 0.0)).to_string()
                };
                format!("{line},{sign}\n")
            })
            .collect();
        Arc::new(Dataset::parse("teacher3", &text, Some("x8,y,s")).unwrap())
    }

    /// Several outputs: F and ∇F against finite differences, the batch gradient against the full
    /// one, at several depths and activations.
    #[test]
    fn multi_output_gradients_match_finite_differences() {
        let data = teacher3();
        assert_eq!((data.features(), data.outputs()), (7, 3));
        for (hidden, act, seed) in [
            (vec![], Activation::Tanh, 1),
            (vec![5], Activation::Tanh, 2),
            (vec![4, 3], Activation::Tanh, 3),
            (vec![3, 6], Activation::Softplus, 4),
            (vec![2], Activation::Sigmoid, 5),
        ] {
            let m = Mlp::new(data.clone(), &hidden, act).unwrap();
            assert_eq!(m.dim(), param_count(7, &hidden, 3));
            let theta = pseudo_random(m.dim(), seed);
            assert_gradient_matches_finite_differences(&m, &theta);
            assert_batch_gradient_is_consistent(&m, &theta);
        }
    }

    /// F sums over the outputs: a network whose output layer is split in three equals three
    /// one-output networks that share its hidden layers, one per target column.
    #[test]
    fn the_loss_of_several_outputs_is_the_sum_of_one_output_losses() {
        let data = teacher3();
        let m = Mlp::new(data.clone(), &[4], Activation::Tanh).unwrap();
        let theta = pseudo_random(m.dim(), 7);
        // Layer 1: (7 + 1)·4 = 32 values; the output layer W (3 × 4) then b (3).
        let (hidden, out) = theta.split_at(32);
        let mut work = vec![0.0; m.workspace_len()];
        let total = m.loss(&theta, &mut work);
        let mut sum = 0.0;
        for (o, name) in ["x8", "y", "s"].iter().enumerate() {
            let text: String = (0..data.rows())
                .map(|i| {
                    let x: Vec<String> = data.x(i).iter().map(f64::to_string).collect();
                    format!("{},{}\n", x.join(","), data.y(i)[o])
                })
                .collect();
            let header: Vec<String> = (1..=7).map(|j| format!("f{j}")).collect();
            let one =
                Dataset::parse(name, &format!("{},t\n{text}", header.join(",")), None).unwrap();
            let single = Mlp::new(Arc::new(one), &[4], Activation::Tanh).unwrap();
            let mut theta1 = hidden.to_vec();
            theta1.extend_from_slice(&out[o * 4..(o + 1) * 4]);
            theta1.push(out[12 + o]);
            sum += single.loss(&theta1, &mut vec![0.0; single.workspace_len()]);
        }
        assert!((total - sum).abs() <= 1e-14 * total, "{total} vs {sum}");
    }

    /// Row i·m + o of the Jacobian is ∇_θ u_o at sample i: against central differences of the
    /// output, read back as the residual plus the target.
    #[test]
    fn multi_output_jacobian_rows_match_finite_differences() {
        let data = teacher3();
        let m = Mlp::new(data.clone(), &[3, 2], Activation::Tanh).unwrap();
        let d = m.dim();
        let theta = pseudo_random(d, 11);
        let mut work = vec![0.0; m.workspace_len()];
        let mut row = vec![0.0; d];
        for i in [0, 4, 14] {
            for o in 0..3 {
                let k = i * 3 + o;
                let e = m.residual_and_output_gradient(&theta, k, &mut row, &mut work);
                let u = |t: &[f64]| {
                    let mut g = vec![0.0; d];
                    m.residual_and_output_gradient(t, k, &mut g, &mut vec![0.0; m.workspace_len()])
                        + data.y(i)[o]
                };
                assert!((e + data.y(i)[o] - u(&theta)).abs() < 1e-15);
                let h = 1e-6;
                for j in 0..d {
                    let (mut up, mut down) = (theta.clone(), theta.clone());
                    up[j] += h;
                    down[j] -= h;
                    let fd = (u(&up) - u(&down)) / (2.0 * h);
                    assert!(
                        (fd - row[j]).abs() <= 1e-7 * (1.0 + fd.abs()),
                        "{i} {o} {j}"
                    );
                }
            }
        }
    }

    /// Lanes and one trajectory agree bit for bit on several outputs too (the multi-output
    /// backward pass is the general one, not the one-output shortcut).
    #[test]
    fn lanes_match_one_trajectory_runs_on_multi_output_networks() {
        let cases = [
            (vec![5], Activation::Tanh),
            (vec![3, 4], Activation::Softplus),
        ];
        assert_lanes_match_on(teacher3(), &cases, 60);
    }

    #[test]
    fn lanes_match_one_trajectory_runs_on_networks() {
        // Widths and batch sizes off the tile sizes (4 and 2) exercise the ragged tiles; softplus
        // the unfused activation passes.
        let cases = [
            (vec![], Activation::Tanh),
            (vec![5], Activation::Tanh),
            (vec![9, 8], Activation::Tanh),
            (vec![7, 6], Activation::Softplus),
        ];
        assert_lanes_match_on(teacher(), &cases, 120);
    }

    /// Runs of `steps` steps, ML and minibatch noise, of each network of `cases` on `data`: lanes
    /// against one trajectory ([`crate::runner::tests::assert_lanes_match_scalar`]).
    fn assert_lanes_match_on(data: Arc<Dataset>, cases: &[(Vec<usize>, Activation)], steps: u64) {
        use crate::noise::{BatchMode, NoiseDist, NoiseModel};
        use crate::runner::Dynamics;
        use crate::schedule::StepSchedule;
        for (hidden, act) in cases {
            let m = Mlp::new(data.clone(), hidden, *act).unwrap();
            let theta0 = pseudo_random(m.dim(), 1);
            for noise in [
                NoiseModel::Ml { sigma: 1.0 },
                NoiseModel::Minibatch {
                    batch: 3,
                    mode: BatchMode::WithReplacement,
                    sigma: 1.0,
                },
            ] {
                let dynamics = Dynamics {
                    landscape: &m,
                    theta0: &theta0,
                    noise,
                    noise_dist: NoiseDist::Gaussian,
                    schedule: StepSchedule::Constant { eta: 0.05 },
                    radius: 0.3,
                    steps,
                    eps: 0.5,
                };
                crate::runner::tests::assert_lanes_match_scalar(&dynamics, 9, 12);
            }
        }
    }
}
