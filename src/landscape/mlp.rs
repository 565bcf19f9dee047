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

use super::{BallConstants, Gradient, Landscape, Objective, PerSampleGradient};
use crate::data::Dataset;
use crate::error::ConfigError;

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
    #[inline]
    pub fn apply(self, z: f64) -> f64 {
        match self {
            Activation::Tanh => z.tanh(),
            Activation::Sigmoid => sigmoid(z),
            // ln(1 + e^z) = max(z, 0) + ln(1 + e^{−|z|}), without overflow.
            Activation::Softplus => z.max(0.0) + (-z.abs()).exp().ln_1p(),
            Activation::Relu => z.max(0.0),
        }
    }

    /// φ'(z), given z and a = φ(z).
    #[inline]
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
    fn weights<'t>(&self, theta: &'t [f64], l: usize) -> (&'t [f64], &'t [f64]) {
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
}
