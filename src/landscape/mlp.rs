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
use crate::lanes::{LANES, Lane, multiversion};

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

/// tanh x from additions, multiplications, one division and bit operations only, so that it
/// vectorises across lanes and rounds identically on every CPU (the platform `libm` tanh differs
/// between C libraries and cannot be vectorised). Within 4 ulp of the platform value
/// (tested against `f64::tanh`).
///
/// With a = min(|x|, 20) (tanh 20 rounds to 1), e^{2a} − 1 = 2^k·expm1(r) + (2^k − 1) for
/// 2a = k·ln 2 + r, |r| ≤ ln 2 / 2, expm1(r) by its Taylor series to r¹³/13! (truncation below
/// 2^−56 relative), and tanh a = (e^{2a} − 1)/(e^{2a} − 1 + 2), sign restored; NaN propagates.
#[inline(always)]
pub fn tanh(x: f64) -> f64 {
    // fdlibm's split of ln 2: k·LN2_HI is exact for |k| < 2^21.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    const INV_LN2: f64 = std::f64::consts::LOG2_E;
    // 1.5·2^52: adding and subtracting it rounds to the nearest integer (|v| < 2^51).
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    const INV_FACT: [f64; 14] = {
        let mut c = [1.0; 14];
        let mut n = 2;
        while n < 14 {
            c[n] = c[n - 1] / n as f64;
            n += 1;
        }
        c
    };
    let a = x.abs();
    let a = if a < 20.0 { a } else { 20.0 };
    let y = a + a;
    let shifted = y * INV_LN2 + SHIFTER;
    let k = shifted - SHIFTER;
    let r = (y - k * LN2_HI) - k * LN2_LO;
    let mut p = INV_FACT[13];
    for c in INV_FACT[1..13].iter().rev() {
        p = p * r + c;
    }
    let expm1_r = p * r;
    // 2^k from the integer k in the low bits of `shifted` (0 ≤ k ≤ 58).
    let two_k = f64::from_bits((shifted.to_bits().wrapping_add(1023)) << 52);
    let em = two_k * expm1_r + (two_k - 1.0);
    let t = em / (em + 2.0);
    if x.is_nan() { x } else { t.copysign(x) }
}

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
    #[inline]
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
    #[inline]
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
                *g += scale_e * a;
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
                    *g += d * a;
                }
                grad[off + n_in * n_out + o] += d;
            }
            if l > 0 {
                let (w, _) = self.weights(theta, l);
                let s = slot(l - 1);
                for j in 0..n_in {
                    let mut sum = 0.0;
                    for o in 0..n_out {
                        sum += w[o * n_in + j] * cur[o];
                    }
                    let (z, a) = (acts[s + j], acts[s + n_in + j]);
                    next[j] = sum * self.activation.derivative(z, a);
                }
                std::mem::swap(&mut cur, &mut next);
            }
        }
    }

    /// Loss and gradient of the mean over `rows` (each index counted as often as it appears).
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
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// z[r][o] = b[o] + Σ_k w[o][k]·input[r][k] per lane (the sum from −0.0 in k order, as
/// `Iterator::sum` in [`Mlp::forward`]), eight outputs at a time for independent add chains.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // lane loops index several arrays at once (see crate::lanes)
fn dense_forward(
    w: &[Lane],
    b: &[Lane],
    input: &[Lane],
    n_in: usize,
    n_out: usize,
    z: &mut [Lane],
) {
    let mut o = 0;
    while o + 8 <= n_out {
        dense_forward_block::<8>(w, b, input, n_in, n_out, o, z);
        o += 8;
    }
    while o < n_out {
        dense_forward_block::<1>(w, b, input, n_in, n_out, o, z);
        o += 1;
    }
}

/// Outputs o … o + OB − 1 of [`dense_forward`], OB a constant so the accumulators stay in
/// registers.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // lane loops index several arrays at once (see crate::lanes)
fn dense_forward_block<const OB: usize>(
    w: &[Lane],
    b: &[Lane],
    input: &[Lane],
    n_in: usize,
    n_out: usize,
    o: usize,
    z: &mut [Lane],
) {
    let rows = input.len() / n_in;
    let wr: [&[Lane]; OB] = std::array::from_fn(|i| &w[(o + i) * n_in..][..n_in]);
    for r in 0..rows {
        let x = &input[r * n_in..][..n_in];
        let mut acc = [Lane::splat(-0.0); OB];
        for k in 0..n_in {
            let xv = x[k];
            for i in 0..OB {
                acc[i] = mac(acc[i], wr[i][k], xv);
            }
        }
        for i in 0..OB {
            let zo = &mut z[r * n_out + o + i];
            for l in 0..LANES {
                zo.0[l] = b[o + i].0[l] + acc[i].0[l];
            }
        }
    }
}

/// acc + a·b per lane (two roundings: Rust does not fuse them).
#[inline(always)]
fn mac(acc: Lane, a: Lane, b: Lane) -> Lane {
    Lane(std::array::from_fn(|l| acc.0[l] + a.0[l] * b.0[l]))
}

/// gw[o][k] = Σ_r δ[r][o]·input[r][k] and gb[o] = Σ_r δ[r][o] per lane, each from 0.0 in row
/// order: the per-row `+=` of [`Mlp::backward`].
#[inline(always)]
fn dense_weight_gradient(
    delta: &[Lane],
    input: &[Lane],
    n_in: usize,
    n_out: usize,
    gw: &mut [Lane],
    gb: &mut [Lane],
) {
    let rows = input.len() / n_in;
    for o in 0..n_out {
        let mut k = 0;
        while k + 8 <= n_in {
            weight_gradient_block::<8>(delta, input, n_in, n_out, o, k, gw);
            k += 8;
        }
        while k < n_in {
            weight_gradient_block::<1>(delta, input, n_in, n_out, o, k, gw);
            k += 1;
        }
        let mut sb = Lane::ZERO;
        for r in 0..rows {
            for l in 0..LANES {
                sb.0[l] += delta[r * n_out + o].0[l];
            }
        }
        gb[o] = sb;
    }
}

/// gw[o][k … k + KB − 1] of [`dense_weight_gradient`].
#[inline(always)]
#[allow(clippy::needless_range_loop)] // lane loops index several arrays at once (see crate::lanes)
fn weight_gradient_block<const KB: usize>(
    delta: &[Lane],
    input: &[Lane],
    n_in: usize,
    n_out: usize,
    o: usize,
    k: usize,
    gw: &mut [Lane],
) {
    let rows = input.len() / n_in;
    let mut acc = [Lane::ZERO; KB];
    for r in 0..rows {
        let d = delta[r * n_out + o];
        let x = &input[r * n_in + k..][..KB];
        for i in 0..KB {
            acc[i] = mac(acc[i], d, x[i]);
        }
    }
    // Element by element (not `copy_from_slice`), so that `acc` stays in registers.
    let dst = &mut gw[o * n_in + k..][..KB];
    for i in 0..KB {
        for l in 0..LANES {
            dst[i].0[l] = acc[i].0[l];
        }
    }
}

/// prev[r][j] = (Σ_o w[o][j]·δ[r][o], from 0.0 in o order)·φ'(z[r][j], a[r][j]) per lane.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // lane loops index several arrays at once (see crate::lanes)
fn dense_backpropagate(
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
    for r in 0..rows {
        let mut j = 0;
        while j + 8 <= n_in {
            backpropagate_block::<8>(delta, w, n_in, n_out, r, j, prev);
            j += 8;
        }
        while j < n_in {
            backpropagate_block::<1>(delta, w, n_in, n_out, r, j, prev);
            j += 1;
        }
    }
    // φ' in a separate pass, the activation's match hoisted so that it vectorises.
    let prev = &mut prev[..rows * n_in];
    if act == Activation::Tanh {
        for (p, av) in prev.iter_mut().zip(a) {
            for l in 0..LANES {
                p.0[l] *= 1.0 - av.0[l] * av.0[l];
            }
        }
    } else {
        for ((p, zv), av) in prev.iter_mut().zip(z).zip(a) {
            for l in 0..LANES {
                p.0[l] *= act.derivative(zv.0[l], av.0[l]);
            }
        }
    }
}

/// Σ_o w[o][j + i]·δ[r][o] for i < JB, into prev[r][j + i].
#[inline(always)]
#[allow(clippy::needless_range_loop)] // lane loops index several arrays at once (see crate::lanes)
fn backpropagate_block<const JB: usize>(
    delta: &[Lane],
    w: &[Lane],
    n_in: usize,
    n_out: usize,
    r: usize,
    j: usize,
    prev: &mut [Lane],
) {
    let dr = &delta[r * n_out..][..n_out];
    let mut acc = [Lane::ZERO; JB];
    for (o, c) in dr.iter().enumerate() {
        let wo = &w[o * n_in + j..][..JB];
        for i in 0..JB {
            acc[i] = mac(acc[i], wo[i], *c);
        }
    }
    let dst = &mut prev[r * n_in + j..][..JB];
    for i in 0..JB {
        for l in 0..LANES {
            dst[i].0[l] = acc[i].0[l];
        }
    }
}

/// The lane kernel of [`Mlp`]: F per lane over all rows (`batch` None, `grad` None: [`Objective::loss`]),
/// or with its gradient over all rows ([`Gradient::loss_and_gradient`]) or over each lane's batch
/// ([`PerSampleGradient::batch_loss_and_gradient`]).
#[inline(always)]
#[allow(clippy::needless_range_loop)] // lane loops index several arrays at once (see crate::lanes)
fn mlp_lanes_impl(
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
            dense_forward(w, b, input, n_in, n_out, z);
            let a = &mut a[..rows * n_out];
            // The match is hoisted so that tanh vectorises.
            if m.activation == Activation::Tanh {
                for (av, zv) in a.iter_mut().zip(z.iter()) {
                    for i in 0..LANES {
                        av.0[i] = tanh(zv.0[i]);
                    }
                }
            } else {
                for (av, zv) in a.iter_mut().zip(z.iter()) {
                    for i in 0..LANES {
                        av.0[i] = m.activation.apply(zv.0[i]);
                    }
                }
            }
        } else {
            dense_forward(w, b, input, n_in, 1, fs);
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
        dense_weight_gradient(scale_e, input, n_in, 1, gw, gb);
        if hidden > 0 {
            let (w, _) = m.weights(theta, hidden);
            let (z, a) = (&acts[z_of(hidden - 1)], &acts[a_of(hidden - 1)]);
            for r in 0..rows {
                for j in 0..n_in {
                    let at = r * n_in + j;
                    for l in 0..LANES {
                        d0[at].0[l] = w[j].0[l]
                            * scale_e[r].0[l]
                            * m.activation.derivative(z[at].0[l], a[at].0[l]);
                    }
                }
            }
        }
    }
    let (mut cur, mut next) = (d0, d1);
    for l in (0..hidden).rev() {
        let (n_in, n_out, off) = (m.widths[l], m.widths[l + 1], m.offsets[l]);
        let input: &[Lane] = if l == 0 { inp } else { &acts[a_of(l - 1)] };
        let (gw, gb) = grad[off..off + (n_in + 1) * n_out].split_at_mut(n_in * n_out);
        dense_weight_gradient(&cur[..rows * n_out], input, n_in, n_out, gw, gb);
        if l > 0 {
            let (w, _) = m.weights(theta, l);
            let (z, a) = (&acts[z_of(l - 1)], &acts[a_of(l - 1)]);
            dense_backpropagate(
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

multiversion!(fn mlp_lanes(
    m: &Mlp,
    theta: &[Lane],
    batch: Option<&[[usize; LANES]]>,
    grad: Option<&mut [Lane]>,
    work: &mut [Lane],
) -> Lane => mlp_lanes_impl);

impl LaneGradient for Mlp {
    fn lane_workspace_len(&self, batch: usize) -> usize {
        let rows = self.data.rows().max(batch);
        rows * (self.widths[0] + 2 + 2 * self.hidden_total + 2 * self.max_width.max(1))
    }

    fn lanes_loss(&self, theta: &[Lane], work: &mut [Lane]) -> Lane {
        mlp_lanes(self, theta, None, None, work)
    }

    fn lanes_loss_and_gradient(
        &self,
        theta: &[Lane],
        grad: &mut [Lane],
        work: &mut [Lane],
    ) -> Lane {
        mlp_lanes(self, theta, None, Some(grad), work)
    }

    fn lanes_per_sample(&self) -> bool {
        true
    }

    fn lanes_batch_loss_and_gradient(
        &self,
        theta: &[Lane],
        batch: &[[usize; LANES]],
        grad: &mut [Lane],
        work: &mut [Lane],
    ) -> Lane {
        mlp_lanes(self, theta, Some(batch), Some(grad), work)
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
        let n = self.data.rows();
        let acts = &mut work[..2 * self.hidden_total];
        let sum: f64 = (0..n)
            .map(|i| (self.forward(theta, self.data.x(i), acts) - self.data.y(i)).powi(2))
            .sum();
        sum / (2.0 * n as f64)
    }
}

impl Gradient for Mlp {
    fn loss_and_gradient(&self, theta: &[f64], grad: &mut [f64], work: &mut [f64]) -> f64 {
        self.mean_loss_and_gradient(theta, 0..self.data.rows(), grad, work)
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
        grad.fill(0.0);
        let (acts, deltas) = work.split_at_mut(2 * self.hidden_total);
        let x = self.data.x(i);
        let u = self.forward(theta, x, acts);
        self.backward(theta, x, acts, deltas, grad, 1.0);
        u - self.data.y(i)
    }

    fn batch_loss_and_gradient(
        &self,
        theta: &[f64],
        batch: &[usize],
        grad: &mut [f64],
        work: &mut [f64],
    ) -> f64 {
        self.mean_loss_and_gradient(theta, batch.iter().copied(), grad, work)
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
        for hidden in [vec![], vec![5], vec![9, 8]] {
            let m = Mlp::new(teacher(), &hidden, Activation::Tanh).unwrap();
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
