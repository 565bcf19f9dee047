//! A multilayer perceptron with scalar output on a data set:
//!
//!   a⁰ = x,   aˡ = φ(Wˡ aˡ⁻¹ + bˡ) for the hidden layers l = 1 … L,   f(x; θ) = W^{L+1} a^L + b^{L+1},
//!
//! F(θ) = 1/(2n)·Σ_i (f(x_i; θ) − y_i)², with φ the `--activation` (tanh, sigmoid, softplus; relu
//! is offered but is not differentiable at 0, so the theorem, which needs a Lipschitz gradient,
//! does not cover it and lojasim marks its bound not applicable).
//!
//! **Parameter order** (the order of a `--theta0-file`): layer by layer from the input, each layer's
//! weight matrix Wˡ row-major (out × in: all weights into unit 1, then unit 2, …), then its bias bˡ.
//! With p inputs and hidden widths h_1 … h_L the count is Σ_l (h_{l−1} + 1)·h_l with h_0 = p and
//! h_{L+1} = 1.
//!
//! The gradient is a hand-written backward pass, sample by sample: with residual e = f − y,
//! δ^{L+1} = e/n, δˡ = (W^{l+1})ᵀ δ^{l+1} ⊙ φ'(zˡ), ∂F/∂Wˡ = Σ_i δˡ (aˡ⁻¹)ᵀ, ∂F/∂bˡ = Σ_i δˡ.
//! All intermediate vectors live in the caller's scratch buffer, so nothing is allocated.
//!
//! No constant has a closed form: `run` estimates them ([`crate::constants`]).

use std::sync::Arc;

use super::{BallConstants, Gradient, Landscape, LaneGradient, Objective, PerSampleGradient};
use crate::data::Dataset;
use crate::error::ConfigError;
use crate::lanes::{LANES, Lane, Level, level, multiversion, tanh_lane};

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

/// Number of parameters of an MLP with `inputs` inputs, these hidden widths and one output.
pub fn param_count(inputs: usize, hidden: &[usize]) -> usize {
    layer_shapes(inputs, hidden)
        .map(|(fan_in, fan_out)| (fan_in + 1) * fan_out)
        .sum()
}

/// (fan_in, fan_out) of each weight layer, input to output.
pub fn layer_shapes(inputs: usize, hidden: &[usize]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let widths = std::iter::once(inputs)
        .chain(hidden.iter().copied())
        .chain(std::iter::once(1));
    widths.clone().zip(widths.skip(1))
}

/// The MLP loss on a data set.
#[derive(Clone, Debug)]
pub struct Mlp {
    data: Arc<Dataset>,
    activation: Activation,
    /// Layer widths h_0 = p, h_1 … h_L, 1.
    widths: Vec<usize>,
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
            .chain(std::iter::once(1))
            .collect();
        let mut offsets = Vec::with_capacity(widths.len() - 1);
        let mut dim = 0;
        for w in widths.windows(2) {
            offsets.push(dim);
            dim += (w[0] + 1) * w[1];
        }
        Ok(Self {
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

    /// Forward pass for input x: stores (zˡ, aˡ) of each hidden layer l consecutively in `acts`
    /// and returns f(x; θ).
    #[inline(always)]
    fn forward(&self, theta: &[f64], x: &[f64], acts: &mut [f64]) -> f64 {
        let hidden = self.layers() - 1;
        let mut off = 0;
        for l in 0..hidden {
            let (n_in, n_out) = (self.widths[l], self.widths[l + 1]);
            let (w, b) = self.weights(theta, l);
            let (done, rest) = acts.split_at_mut(off);
            let input: &[f64] = if l == 0 { x } else { &done[off - n_in..] };
            let (z, rest) = rest.split_at_mut(n_out);
            let a = &mut rest[..n_out];
            for o in 0..n_out {
                let row = &w[o * n_in..(o + 1) * n_in];
                z[o] = b[o] + dot(row, input);
                a[o] = self.activation.apply(z[o]);
            }
            off += 2 * n_out;
        }
        let (w, b) = self.weights(theta, hidden);
        let input: &[f64] = if hidden == 0 {
            x
        } else {
            &acts[off - self.widths[hidden]..off]
        };
        b[0] + dot(w, input)
    }

    /// Adds `scale`·e·∇_θ f(x; θ) to `grad`, after [`Mlp::forward`] left its activations in `acts`.
    #[inline(always)]
    fn backward(
        &self,
        theta: &[f64],
        x: &[f64],
        acts: &[f64],
        deltas: &mut [f64],
        grad: &mut [f64],
        scale_e: f64,
    ) {
        let hidden = self.layers() - 1;
        let (cur, next) = deltas.split_at_mut(self.max_width);
        let (mut cur, mut next) = (cur, &mut next[..self.max_width]);
        // Offset of (zˡ, aˡ) of hidden layer l in `acts`.
        let slot = |l: usize| -> usize { (0..l).map(|k| 2 * self.widths[k + 1]).sum() };
        let input_of = |l: usize| -> &[f64] {
            if l == 0 {
                x
            } else {
                let s = slot(l - 1) + self.widths[l];
                &acts[s..s + self.widths[l]]
            }
        };
        // Output layer: δ = scale·e.
        {
            let (n_in, off) = (self.widths[hidden], self.offsets[hidden]);
            let input = input_of(hidden);
            for (g, &a) in grad[off..off + n_in].iter_mut().zip(input) {
                *g = scale_e.mul_add(a, *g);
            }
            grad[off + n_in] += scale_e;
            if hidden > 0 {
                let (w, _) = self.weights(theta, hidden);
                let s = slot(hidden - 1);
                for j in 0..n_in {
                    let (z, a) = (acts[s + j], acts[s + n_in + j]);
                    cur[j] = w[j] * scale_e * self.activation.derivative(z, a);
                }
            }
        }
        for l in (0..hidden).rev() {
            let (n_in, n_out, off) = (self.widths[l], self.widths[l + 1], self.offsets[l]);
            let input = input_of(l);
            for o in 0..n_out {
                let d = cur[o];
                let row = &mut grad[off + o * n_in..off + (o + 1) * n_in];
                for (g, &a) in row.iter_mut().zip(input) {
                    *g = d.mul_add(a, *g);
                }
                grad[off + n_in * n_out + o] += d;
            }
            if l > 0 {
                let (w, _) = self.weights(theta, l);
                let s = slot(l - 1);
                for j in 0..n_in {
                    let mut sum = 0.0;
                    for o in 0..n_out {
                        sum = w[o * n_in + j].mul_add(cur[o], sum);
                    }
                    let (z, a) = (acts[s + j], acts[s + n_in + j]);
                    next[j] = sum * self.activation.derivative(z, a);
                }
                std::mem::swap(&mut cur, &mut next);
            }
        }
    }

    /// Loss and gradient of the mean over `rows` (each index counted as often as it appears).
    #[inline(always)]
    fn mean_loss_and_gradient(
        &self,
        theta: &[f64],
        rows: impl ExactSizeIterator<Item = usize>,
        grad: &mut [f64],
        work: &mut [f64],
    ) -> f64 {
        let m = rows.len() as f64;
        grad.fill(0.0);
        let (acts, deltas) = work.split_at_mut(2 * self.hidden_total);
        let mut sum = 0.0;
        for i in rows {
            let x = self.data.x(i);
            let e = self.forward(theta, x, acts) - self.data.y(i);
            sum += e * e;
            self.backward(theta, x, acts, deltas, grad, e / m);
        }
        sum / (2.0 * m)
    }
}

#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(-0.0, |s, (x, y)| x.mul_add(*y, s))
}

/// acc + a·b per lane, fused (one rounding), as `f64::mul_add` in the one-trajectory path.
#[inline(always)]
fn mac(acc: Lane, a: Lane, b: Lane) -> Lane {
    Lane(std::array::from_fn(|l| a.0[l].mul_add(b.0[l], acc.0[l])))
}

/// The register tile of every product below: acc[i][j] = init + Σ_t a(t)[i]·b(t)[j], each sum
/// fused multiply–add by fused multiply–add in t order. `a(t)` and `b(t)` load TI + TJ lanes for
/// TI·TJ multiply–adds, so a 4 × 4 tile reads half a lane per multiply–add where a 1 × 8 row
/// read more than one (W² of W2 with its 8 lanes is 64 KB, more than L1).
#[inline(always)]
#[allow(clippy::needless_range_loop)] // lane loops index several arrays at once (see crate::lanes)
fn tile<const TI: usize, const TJ: usize>(
    steps: usize,
    init: Lane,
    a: impl Fn(usize) -> [Lane; TI],
    b: impl Fn(usize) -> [Lane; TJ],
) -> [[Lane; TJ]; TI] {
    let mut acc = [[init; TJ]; TI];
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

/// z[r][o] = b[o] + Σ_k w[o][k]·x[r][k] per lane, the sum from −0.0 fused in k order as [`dot`]
/// in [`Mlp::forward`], and a[r][o] = tanh z[r][o] if `tanh_a` is given; tiles of rows × outputs.
/// (tanh is applied here, on the tile in registers: as a pass of its own LLVM vectorised it
/// across lane groups with gathers and scatters.)
struct Forward<'a> {
    w: &'a [Lane],
    b: &'a [Lane],
    x: &'a [Lane],
    n_in: usize,
    n_out: usize,
    z: &'a mut [Lane],
    tanh_a: Option<&'a mut [Lane]>,
}

impl Tiled for Forward<'_> {
    #[inline(always)]
    fn block<const TI: usize, const TJ: usize>(&mut self, r0: usize, o0: usize) {
        let n_in = self.n_in;
        let xs: [&[Lane]; TI] = std::array::from_fn(|i| &self.x[(r0 + i) * n_in..][..n_in]);
        let ws: [&[Lane]; TJ] = std::array::from_fn(|j| &self.w[(o0 + j) * n_in..][..n_in]);
        let acc = tile::<TI, TJ>(
            n_in,
            Lane::splat(-0.0),
            |k| std::array::from_fn(|i| xs[i][k]),
            |k| std::array::from_fn(|j| ws[j][k]),
        );
        let b = &self.b[o0..][..TJ];
        for (i, row) in acc.iter().enumerate() {
            let at = (r0 + i) * self.n_out + o0;
            let z = &mut self.z[at..][..TJ];
            for j in 0..TJ {
                z[j] = Lane(std::array::from_fn(|l| b[j].0[l] + row[j].0[l]));
            }
            if let Some(a) = self.tanh_a.as_deref_mut() {
                let a = &mut a[at..][..TJ];
                for j in 0..TJ {
                    a[j] = tanh_lane(z[j]);
                }
            }
        }
    }
}

/// gw[o][k] = Σ_r δ[r][o]·x[r][k] per lane, from 0.0 fused in row order: the per-row `+=` of
/// [`Mlp::backward`]; tiles of outputs × inputs.
struct WeightGradient<'a> {
    delta: &'a [Lane],
    x: &'a [Lane],
    rows: usize,
    n_in: usize,
    n_out: usize,
    gw: &'a mut [Lane],
}

impl Tiled for WeightGradient<'_> {
    #[inline(always)]
    fn block<const TI: usize, const TJ: usize>(&mut self, o0: usize, k0: usize) {
        let (n_in, n_out) = (self.n_in, self.n_out);
        let acc = tile::<TI, TJ>(
            self.rows,
            Lane::ZERO,
            |r| {
                let d = &self.delta[r * n_out + o0..][..TI];
                std::array::from_fn(|i| d[i])
            },
            |r| {
                let x = &self.x[r * n_in + k0..][..TJ];
                std::array::from_fn(|j| x[j])
            },
        );
        for (i, row) in acc.iter().enumerate() {
            self.gw[(o0 + i) * n_in + k0..][..TJ].copy_from_slice(row);
        }
    }
}

/// prev[r][j] = Σ_o w[o][j]·δ[r][o] per lane, from 0.0 fused in o order as in [`Mlp::backward`],
/// times tanh'(z) = 1 − a[r][j]² if `tanh_a` is given; tiles of rows × units.
struct Backpropagate<'a> {
    delta: &'a [Lane],
    w: &'a [Lane],
    n_in: usize,
    n_out: usize,
    prev: &'a mut [Lane],
    tanh_a: Option<&'a [Lane]>,
}

impl Tiled for Backpropagate<'_> {
    #[inline(always)]
    fn block<const TI: usize, const TJ: usize>(&mut self, r0: usize, j0: usize) {
        let (n_in, n_out) = (self.n_in, self.n_out);
        let ds: [&[Lane]; TI] = std::array::from_fn(|i| &self.delta[(r0 + i) * n_out..][..n_out]);
        let acc = tile::<TI, TJ>(
            n_out,
            Lane::ZERO,
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
                        p[j] = Lane(std::array::from_fn(|l| {
                            row[j].0[l] * (1.0 - a[j].0[l] * a[j].0[l])
                        }));
                    }
                }
                None => p.copy_from_slice(row),
            }
        }
    }
}

/// z = W·x + b over all rows, and a = tanh z if `tanh_a` is given ([`Forward`]), in T × T tiles.
#[inline(always)]
fn dense_forward<const T: usize>(
    w: &[Lane],
    b: &[Lane],
    x: &[Lane],
    n_in: usize,
    n_out: usize,
    z: &mut [Lane],
    tanh_a: Option<&mut [Lane]>,
) {
    let rows = x.len() / n_in;
    let mut k = Forward {
        w,
        b,
        x,
        n_in,
        n_out,
        z,
        tanh_a,
    };
    for_tiles::<T, T>(rows, n_out, &mut k);
}

/// gw = δᵀ x and gb[o] = Σ_r δ[r][o] (from 0.0 in row order) per lane, gw in T × T tiles.
#[inline(always)]
fn dense_weight_gradient<const T: usize>(
    delta: &[Lane],
    x: &[Lane],
    n_in: usize,
    n_out: usize,
    gw: &mut [Lane],
    gb: &mut [Lane],
) {
    let rows = x.len() / n_in;
    let mut k = WeightGradient {
        delta,
        x,
        rows,
        n_in,
        n_out,
        gw,
    };
    for_tiles::<T, T>(n_out, n_in, &mut k);
    for (o, g) in gb[..n_out].iter_mut().enumerate() {
        let mut sb = Lane::ZERO;
        for r in 0..rows {
            let d = delta[r * n_out + o];
            sb = Lane(std::array::from_fn(|l| sb.0[l] + d.0[l]));
        }
        *g = sb;
    }
}

/// prev[r][j] = (Σ_o w[o][j]·δ[r][o])·φ'(z[r][j], a[r][j]) per lane ([`Backpropagate`] in T × T
/// tiles, then φ').
#[inline(always)]
#[allow(clippy::needless_range_loop)] // lane loops index several arrays at once (see crate::lanes)
fn dense_backpropagate<const T: usize>(
    act: Activation,
    delta: &[Lane],
    w: &[Lane],
    z: &[Lane],
    a: &[Lane],
    n_in: usize,
    prev: &mut [Lane],
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
    for_tiles::<T, T>(rows, n_in, &mut k);
    if act != Activation::Tanh {
        let prev = &mut prev[..rows * n_in];
        for ((p, zv), av) in prev.iter_mut().zip(z).zip(a) {
            for l in 0..LANES {
                p.0[l] *= act.derivative(zv.0[l], av.0[l]);
            }
        }
    }
}

/// The lane kernel of [`Mlp`]: F per lane over all rows (`batch` None, `grad` None: [`Objective::loss`]),
/// or with its gradient over all rows ([`Gradient::loss_and_gradient`]) or over each lane's batch
/// ([`PerSampleGradient::batch_loss_and_gradient`]).
#[inline(always)]
#[allow(clippy::needless_range_loop)] // lane loops index several arrays at once (see crate::lanes)
fn mlp_lanes_impl<const T: usize>(
    m: &Mlp,
    theta: &[Lane],
    batch: Option<&[[usize; LANES]]>,
    grad: Option<&mut [Lane]>,
    work: &mut [Lane],
) -> Lane {
    let p = m.widths[0];
    let rows = batch.map_or(m.data.rows(), <[_]>::len);
    let (inp, rest) = work.split_at_mut(rows * p);
    let (ys, rest) = rest.split_at_mut(rows);
    let (fs, rest) = rest.split_at_mut(rows);
    let (acts, rest) = rest.split_at_mut(2 * rows * m.hidden_total);
    let (d0, rest) = rest.split_at_mut(rows * m.max_width.max(1));
    let d1 = &mut rest[..rows * m.max_width.max(1)];
    match batch {
        None => {
            for r in 0..rows {
                for (v, &x) in inp[r * p..][..p].iter_mut().zip(m.data.x(r)) {
                    *v = Lane::splat(x);
                }
                ys[r] = Lane::splat(m.data.y(r));
            }
        }
        Some(batch) => {
            for (r, idx) in batch.iter().enumerate() {
                for (l, &i) in idx.iter().enumerate() {
                    for (v, &x) in inp[r * p..][..p].iter_mut().zip(m.data.x(i)) {
                        v.0[l] = x;
                    }
                    ys[r].0[l] = m.data.y(i);
                }
            }
        }
    }
    let hidden = m.layers() - 1;
    // Forward: (zˡ, aˡ) of hidden layer l at slot(l), each rows × h_l.
    let slot = |l: usize| -> usize { (0..l).map(|k| 2 * rows * m.widths[k + 1]).sum() };
    for l in 0..=hidden {
        let (n_in, n_out) = (m.widths[l], m.widths[l + 1]);
        let (w, b) = m.weights(theta, l);
        let (done, tail) = acts.split_at_mut(slot(l));
        let input: &[Lane] = if l == 0 {
            inp
        } else {
            &done[slot(l - 1) + rows * n_in..][..rows * n_in]
        };
        if l < hidden {
            let (z, a) = tail.split_at_mut(rows * n_out);
            let a = &mut a[..rows * n_out];
            if m.activation == Activation::Tanh {
                dense_forward::<T>(w, b, input, n_in, n_out, z, Some(a));
            } else {
                dense_forward::<T>(w, b, input, n_in, n_out, z, None);
                for (av, zv) in a.iter_mut().zip(z.iter()) {
                    for i in 0..LANES {
                        av.0[i] = m.activation.apply(zv.0[i]);
                    }
                }
            }
        } else {
            dense_forward::<T>(w, b, input, n_in, 1, fs, None);
        }
    }
    let Some(grad) = grad else {
        // `loss`: Σ (f − y)² by `Iterator::sum` (from −0.0), over 2n.
        let mut sum = Lane::splat(-0.0);
        for (f, y) in fs.iter().zip(ys.iter()) {
            for l in 0..LANES {
                let e = f.0[l] - y.0[l];
                sum.0[l] += e * e;
            }
        }
        let two_n = 2.0 * rows as f64;
        return Lane(sum.0.map(|s| s / two_n));
    };
    // `mean_loss_and_gradient`: residuals e, the loss, and δ^{L+1} = e/m in `fs`.
    let m_rows = rows as f64;
    let mut sum = Lane::ZERO;
    for (f, y) in fs.iter_mut().zip(ys.iter()) {
        for l in 0..LANES {
            let e = f.0[l] - y.0[l];
            sum.0[l] += e * e;
            f.0[l] = e / m_rows;
        }
    }
    let scale_e: &[Lane] = fs;
    let a_of = |l: usize| -> std::ops::Range<usize> {
        let s = slot(l) + rows * m.widths[l + 1];
        s..s + rows * m.widths[l + 1]
    };
    let z_of = |l: usize| -> std::ops::Range<usize> { slot(l)..slot(l) + rows * m.widths[l + 1] };
    // Output layer.
    {
        let n_in = m.widths[hidden];
        let input: &[Lane] = if hidden == 0 {
            inp
        } else {
            &acts[a_of(hidden - 1)]
        };
        let off = m.offsets[hidden];
        let (gw, gb) = grad[off..off + n_in + 1].split_at_mut(n_in);
        dense_weight_gradient::<T>(scale_e, input, n_in, 1, gw, gb);
        if hidden > 0 {
            let (w, _) = m.weights(theta, hidden);
            let (z, a) = (&acts[z_of(hidden - 1)], &acts[a_of(hidden - 1)]);
            for r in 0..rows {
                for j in 0..n_in {
                    let at = r * n_in + j;
                    let (wj, e) = (w[j], scale_e[r]);
                    // The match hoisted (as a jump inside the lane loop it kept this scalar).
                    d0[at] = if m.activation == Activation::Tanh {
                        let av = a[at];
                        Lane(std::array::from_fn(|l| {
                            wj.0[l] * e.0[l] * (1.0 - av.0[l] * av.0[l])
                        }))
                    } else {
                        Lane(std::array::from_fn(|l| {
                            wj.0[l] * e.0[l] * m.activation.derivative(z[at].0[l], a[at].0[l])
                        }))
                    };
                }
            }
        }
    }
    let (mut cur, mut next) = (d0, d1);
    for l in (0..hidden).rev() {
        let (n_in, n_out, off) = (m.widths[l], m.widths[l + 1], m.offsets[l]);
        let input: &[Lane] = if l == 0 { inp } else { &acts[a_of(l - 1)] };
        let (gw, gb) = grad[off..off + (n_in + 1) * n_out].split_at_mut(n_in * n_out);
        dense_weight_gradient::<T>(&cur[..rows * n_out], input, n_in, n_out, gw, gb);
        if l > 0 {
            let (w, _) = m.weights(theta, l);
            let (z, a) = (&acts[z_of(l - 1)], &acts[a_of(l - 1)]);
            dense_backpropagate::<T>(
                m.activation,
                &cur[..rows * n_out],
                w,
                z,
                a,
                n_in,
                &mut next[..rows * n_in],
            );
            std::mem::swap(&mut cur, &mut next);
        }
    }
    let two_m = 2.0 * m_rows;
    Lane(sum.0.map(|s| s / two_m))
}

multiversion!(
    /// [`mlp_lanes_impl`] compiled for level `simd`, with the largest tile that fits its register
    /// file: 4 × 4 lanes (16 accumulators + 8 operands of 32
    /// zmm registers), 2 × 2 with AVX2 (a lane is two of its 16 ymm registers), 1 × 1 otherwise.
    fn mlp_lanes(
        m: &Mlp,
        theta: &[Lane],
        batch: Option<&[[usize; LANES]]>,
        grad: Option<&mut [Lane]>,
        work: &mut [Lane],
    ) -> Lane => avx512: mlp_lanes_impl::<4>, avx2: mlp_lanes_impl::<2>, baseline: mlp_lanes_impl::<1>
);

// The one-trajectory path, compiled per SIMD level like the lane kernels: its fused
// multiply–adds (`f64::mul_add`) are then single instructions, not calls into libm.

#[inline(always)]
fn scalar_loss_impl(m: &Mlp, theta: &[f64], work: &mut [f64]) -> f64 {
    let n = m.data.rows();
    let acts = &mut work[..2 * m.hidden_total];
    let sum: f64 = (0..n)
        .map(|i| (m.forward(theta, m.data.x(i), acts) - m.data.y(i)).powi(2))
        .sum();
    sum / (2.0 * n as f64)
}

multiversion!(fn scalar_loss(m: &Mlp, theta: &[f64], work: &mut [f64]) -> f64 => scalar_loss_impl);

/// Over all rows (`batch` None) or over the batch.
#[inline(always)]
fn scalar_mean_loss_and_gradient_impl(
    m: &Mlp,
    theta: &[f64],
    batch: Option<&[usize]>,
    grad: &mut [f64],
    work: &mut [f64],
) -> f64 {
    match batch {
        None => m.mean_loss_and_gradient(theta, 0..m.data.rows(), grad, work),
        Some(batch) => m.mean_loss_and_gradient(theta, batch.iter().copied(), grad, work),
    }
}

multiversion!(fn scalar_mean_loss_and_gradient(
    m: &Mlp,
    theta: &[f64],
    batch: Option<&[usize]>,
    grad: &mut [f64],
    work: &mut [f64],
) -> f64 => scalar_mean_loss_and_gradient_impl);

#[inline(always)]
fn scalar_sample_gradient_impl(
    m: &Mlp,
    theta: &[f64],
    i: usize,
    grad: &mut [f64],
    work: &mut [f64],
) -> f64 {
    grad.fill(0.0);
    let (acts, deltas) = work.split_at_mut(2 * m.hidden_total);
    let x = m.data.x(i);
    let u = m.forward(theta, x, acts);
    m.backward(theta, x, acts, deltas, grad, 1.0);
    u - m.data.y(i)
}

multiversion!(fn scalar_sample_gradient(
    m: &Mlp,
    theta: &[f64],
    i: usize,
    grad: &mut [f64],
    work: &mut [f64],
) -> f64 => scalar_sample_gradient_impl);

impl LaneGradient for Mlp {
    fn lane_workspace_len(&self, batch: usize) -> usize {
        let rows = self.data.rows().max(batch);
        rows * (self.widths[0] + 2 + 2 * self.hidden_total + 2 * self.max_width.max(1))
    }

    fn lanes_loss(&self, simd: Level, theta: &[Lane], work: &mut [Lane]) -> Lane {
        mlp_lanes(simd, self, theta, None, None, work)
    }

    fn lanes_loss_and_gradient(
        &self,
        simd: Level,
        theta: &[Lane],
        grad: &mut [Lane],
        work: &mut [Lane],
    ) -> Lane {
        mlp_lanes(simd, self, theta, None, Some(grad), work)
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
        mlp_lanes(simd, self, theta, Some(batch), Some(grad), work)
    }
}

impl Objective for Mlp {
    fn dim(&self) -> usize {
        self.dim
    }

    fn workspace_len(&self) -> usize {
        2 * self.hidden_total + 2 * self.max_width
    }

    fn loss(&self, theta: &[f64], work: &mut [f64]) -> f64 {
        scalar_loss(level(), self, theta, work)
    }
}

impl Gradient for Mlp {
    fn loss_and_gradient(&self, theta: &[f64], grad: &mut [f64], work: &mut [f64]) -> f64 {
        scalar_mean_loss_and_gradient(level(), self, theta, None, grad, work)
    }
}

impl PerSampleGradient for Mlp {
    fn samples(&self) -> usize {
        self.data.rows()
    }

    fn residual_and_output_gradient(
        &self,
        theta: &[f64],
        i: usize,
        grad: &mut [f64],
        work: &mut [f64],
    ) -> f64 {
        scalar_sample_gradient(level(), self, theta, i, grad, work)
    }

    fn batch_loss_and_gradient(
        &self,
        theta: &[f64],
        batch: &[usize],
        grad: &mut [f64],
        work: &mut [f64],
    ) -> f64 {
        scalar_mean_loss_and_gradient(level(), self, theta, Some(batch), grad, work)
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

    fn outside_theory(&self) -> Option<&'static str> {
        (self.activation == Activation::Relu && self.layers() > 1)
            .then_some("relu is not differentiable at 0, so ∇F is not Lipschitz")
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
        assert_eq!(param_count(8, &[5, 3]), 67);
        let m = Mlp::new(teacher(), &[5, 3], Activation::Tanh).unwrap();
        assert_eq!(m.dim(), 67);
        assert_eq!(param_count(8, &[]), 9);
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
        let f1 = m.loss_and_gradient(&theta, &mut g1, &mut []);
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
        let mut acts = vec![0.0; m.workspace_len()];
        for i in 0..16 {
            m.forward(&theta, m.data.x(i), &mut acts);
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

    #[test]
    fn lanes_match_one_trajectory_runs_on_networks() {
        use crate::noise::{BatchMode, NoiseDist, NoiseModel};
        use crate::runner::Dynamics;
        use crate::schedule::StepSchedule;
        // Widths and batch sizes off the tile sizes (4 and 2) exercise the ragged tiles; softplus
        // the unfused activation passes.
        for (hidden, act) in [
            (vec![], Activation::Tanh),
            (vec![5], Activation::Tanh),
            (vec![9, 8], Activation::Tanh),
            (vec![7, 6], Activation::Softplus),
        ] {
            let m = Mlp::new(teacher(), &hidden, act).unwrap();
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
                    steps: 120,
                    eps: 0.5,
                };
                crate::runner::tests::assert_lanes_match_scalar(&dynamics, 9, 12);
            }
        }
    }
}
