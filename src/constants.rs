//! Estimates of the theory's constants over a ball B(θ0, r), for landscapes without a closed form.
//! **They are estimates, not certificates**: a minimum over sampled points can only overestimate
//! the true infimum α, and a maximum can only underestimate the true supremum C_L or σ.
//!
//! The points: θ0; `samples` points uniform in the ball (direction uniform, radius r·U^{1/d});
//! `samples` points uniform on its surface; and every `stride`-th iterate of one gradient-descent
//! path and [`SGD_PATHS`] SGD paths from θ0 (the run's step and noise), while they stay in the ball.
//! At each point θ:
//!
//! - α̂ = min |∇F|²/F. The [`REFINED`] worst distinct points (ignoring points where F is below
//!   1e-20 of the largest F seen, where rounding dominates) are then refined by projected gradient
//!   descent on the ratio R = |∇F|²/F, with ∇R = (2·H∇F·F − |∇F|²·∇F)/F², a backtracking step and
//!   projection onto the ball.
//! - Ĉ_L = max(‖H‖, |∇F|²/(2F)): the theory's C_L must bound both (docs/theory.md). ‖H‖ is
//!   found by power iteration (at most [`POWER_ITERATIONS`] steps, warm-started from the previous
//!   point's vector) on Hessian–vector products taken as central differences of gradients,
//!   Hu ≈ (∇F(θ + hu) − ∇F(θ − hu))/(2h) for a unit u with h = 1e-5·max(1, |θ|): the truncation
//!   error is O(h²·|∇³F|) and the rounding error O(ε·|∇F|/h), both ~1e-10 relative here.
//! - σ̂ (minibatch noise only) = max E|g − ∇F|²/F, computed exactly at each point from the n
//!   per-sample gradients ∇f_i: with s² = mean_i |∇f_i|² − |∇F|², E|g − ∇F|² = s²/B with
//!   replacement and s²·(n − B)/(B(n − 1)) without
//!   ([`crate::noise::BatchMode::gradient_variance`]).
//! - λ_min of the Gram matrix J Jᵀ (the empirical neural tangent kernel; J is the n × d Jacobian
//!   of the outputs): |∇F|² = |Jᵀe|²/n² ≥ λ_min(J Jᵀ)·|e|²/n² = (2λ_min/n)·F, so α ≥ 2λ_min/n at
//!   that point. The smallest λ_min seen is reported, with the α it gives.

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use crate::landscape::Landscape;
use crate::linalg::symmetric_eigenvalues;
#[cfg(test)]
use crate::noise::BatchMode;
use crate::noise::{NoiseDist, NoiseModel, draw_batch};
use crate::rng::{TrajectoryRng, splitmix64_mix, trajectory_rng};
use crate::stepper::sgd_step;

/// Number of SGD paths sampled (besides one gradient-descent path).
pub const SGD_PATHS: u64 = 4;
/// Number of worst points whose ratio |∇F|²/F is refined by local minimisation.
pub const REFINED: usize = 5;
/// Iterations of the local minimisation.
pub const REFINE_ITERATIONS: usize = 300;
/// Power-iteration cap per point.
pub const POWER_ITERATIONS: usize = 30;
/// Separates the estimator's stream from the trajectories' ("constant" in ASCII).
pub const CONSTANTS_DOMAIN: u64 = 0x636f_6e73_7461_6e74;

/// What to sample.
#[derive(Clone, Copy, Debug)]
pub struct EstimatorConfig {
    /// Points uniform in the ball, and as many on its surface (`--constant-samples`).
    pub samples: usize,
    /// Master seed; the estimator draws from its own stream of it.
    pub seed: u64,
    /// Step of the sample paths.
    pub eta: f64,
    /// Noise of the SGD paths; minibatch noise also makes σ̂ computed.
    pub noise: NoiseModel,
    pub noise_dist: NoiseDist,
    /// Steps of each sample path (fewer if it leaves the ball).
    pub path_steps: u64,
}

/// The estimates over the ball.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimates {
    /// α̂ = min |∇F|²/F (after refinement).
    pub alpha: f64,
    /// Ĉ_L = max(hessian_norm, gradient_ratio / 2).
    pub c_l: f64,
    /// Largest Hessian spectral norm seen.
    pub hessian_norm: f64,
    /// Largest |∇F|²/F seen.
    pub gradient_ratio: f64,
    /// σ̂ = max E|g − ∇F|²/F for minibatch noise.
    pub sigma: Option<f64>,
    /// Smallest λ_min(J Jᵀ) seen, for landscapes with per-sample outputs.
    pub ntk_lambda_min: Option<f64>,
    /// 2·ntk_lambda_min/n.
    pub ntk_alpha: Option<f64>,
    /// Points evaluated (refinement iterates not counted).
    pub points: usize,
}

/// Estimates α, C_L, σ (minibatch) and the NTK bound over B(θ0, r).
///
/// Runs on the current rayon pool. The work that does not depend on other work runs in parallel
/// — the sample paths, the per-sample statistics of each point, the refinements — and each
/// result is folded in the order of the serial loop, so the estimates are the same bits whatever
/// the number of threads. The power iterations stay one chain (each starts from the previous
/// point's vector), run beside the per-sample statistics.
pub fn estimate(
    landscape: &dyn Landscape,
    theta0: &[f64],
    radius: f64,
    config: &EstimatorConfig,
) -> Estimates {
    let points = sample_points(landscape, theta0, radius, config);
    assert!(points.len() <= max_points(config), "max_points undercounts");
    let evaluator = || Evaluator::new(landscape, config.noise);
    let (chain, stats): (Vec<_>, Vec<_>) = rayon::join(
        || {
            let mut ev = evaluator();
            points
                .iter()
                .map(|p| (ev.ratio(p), ev.hessian_norm(p)))
                .collect()
        },
        || {
            points
                .par_iter()
                .map_init(evaluator, |ev, p| ev.per_sample_stats(p))
                .collect()
        },
    );
    let mut seen: Vec<(f64, usize)> = Vec::with_capacity(points.len());
    let (mut hess, mut ratio_max) = (0.0f64, 0.0f64);
    let (mut sigma, mut ntk): (Option<f64>, Option<f64>) = (None, None);
    let mut losses = Vec::with_capacity(points.len());
    for (k, (((f, ratio), h), s)) in chain.into_iter().zip(stats).enumerate() {
        losses.push(f);
        if f > 0.0 && ratio.is_finite() {
            seen.push((ratio, k));
            ratio_max = ratio_max.max(ratio);
        }
        hess = hess.max(h);
        if let Some(s) = s {
            if let Some(sig) = s.sigma {
                sigma = Some(sigma.map_or(sig, |v: f64| v.max(sig)));
            }
            ntk = Some(ntk.map_or(s.ntk_lambda_min, |v: f64| v.min(s.ntk_lambda_min)));
        }
    }
    let max_loss = losses.iter().copied().fold(0.0, f64::max);
    seen.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut alpha = seen.first().map_or(0.0, |s| s.0);
    // Refine from the worst distinct points (a converged sample path repeats one point), skipping
    // points where F is so small (below 1e-20 of the largest F seen) that rounding dominates the
    // gradient and the finite differences.
    seen.retain(|&(_, k)| losses[k] >= 1e-20 * max_loss);
    seen.dedup_by(|a, b| a.0 == b.0);
    seen.truncate(REFINED);
    let refined: Vec<f64> = seen
        .par_iter()
        .map_init(evaluator, |ev, &(_, k)| {
            ev.refine_minimum_ratio(&points[k], theta0, radius)
        })
        .collect();
    for r in refined {
        alpha = alpha.min(r);
    }
    let n = landscape.per_sample().map(|ps| ps.samples() as f64);
    Estimates {
        alpha,
        c_l: hess.max(ratio_max / 2.0),
        hessian_norm: hess,
        gradient_ratio: ratio_max,
        sigma,
        ntk_lambda_min: ntk,
        ntk_alpha: ntk.zip(n).map(|(l, n)| 2.0 * l.max(0.0) / n),
        points: points.len(),
    }
}

/// The estimator's generator for master seed `seed`.
fn estimator_rng(seed: u64) -> TrajectoryRng {
    trajectory_rng(splitmix64_mix(seed ^ CONSTANTS_DOMAIN), 0)
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// How many points [`estimate`] can evaluate with `config` ([`Estimates::points`]; fewer if a
/// sample path leaves the ball).
pub fn max_points(config: &EstimatorConfig) -> usize {
    // Saturating: an absurd --constant-samples must still count as too many, not wrap.
    (2 * config.samples.min(usize::MAX / 4))
        + 1
        + (sample_paths(config).count() as u64 * (config.path_steps / path_stride(config))) as usize
}

/// The sample paths: one gradient-descent path (index 0), and [`SGD_PATHS`] noisy ones when the
/// run has noise.
fn sample_paths(config: &EstimatorConfig) -> std::ops::RangeInclusive<u64> {
    0..=if matches!(config.noise, NoiseModel::None) {
        0
    } else {
        SGD_PATHS
    }
}

/// A sample path keeps every `path_stride`-th iterate (about 20 per path).
fn path_stride(config: &EstimatorConfig) -> u64 {
    (config.path_steps / 20).max(1)
}

fn sample_points(
    landscape: &dyn Landscape,
    theta0: &[f64],
    radius: f64,
    config: &EstimatorConfig,
) -> Vec<Vec<f64>> {
    let d = theta0.len();
    let mut rng = estimator_rng(config.seed);
    let mut points = vec![theta0.to_vec()];
    for surface in [false, true] {
        for _ in 0..config.samples {
            let mut v: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
            let len = norm(&v);
            let rad = if surface {
                radius
            } else {
                radius * rng.random::<f64>().powf(1.0 / d as f64)
            };
            for (x, t0) in v.iter_mut().zip(theta0) {
                *x = t0 + rad * *x / len;
            }
            points.push(v);
        }
    }
    // Each path draws from its own stream, so they run in parallel; their points are appended in
    // path order.
    let paths: Vec<Vec<Vec<f64>>> = sample_paths(config)
        .into_par_iter()
        .map(|path| sample_path(landscape, theta0, radius, config, path))
        .collect();
    points.extend(paths.into_iter().flatten());
    points
}

/// Every `stride`-th iterate of sample path `path` (0: gradient descent; ≥ 1: SGD with the run's
/// noise) while it stays in the ball.
fn sample_path(
    landscape: &dyn Landscape,
    theta0: &[f64],
    radius: f64,
    config: &EstimatorConfig,
    path: u64,
) -> Vec<Vec<f64>> {
    let d = theta0.len();
    let stride = path_stride(config);
    let r2 = radius * radius;
    let mut grad = vec![0.0; d];
    let mut work = vec![0.0; landscape.workspace_len()];
    let per_sample = landscape.per_sample();
    let mut points = Vec::new();
    let mut theta = theta0.to_vec();
    let mut prng = trajectory_rng(splitmix64_mix(config.seed ^ CONSTANTS_DOMAIN), 1 + path);
    let (mut batch, mut rows) = (Vec::new(), Vec::new());
    for k in 1..=config.path_steps {
        match (config.noise, per_sample) {
            (NoiseModel::Minibatch { batch: b, mode, .. }, Some(ps)) if path > 0 => {
                batch.resize(b, 0);
                rows.resize(ps.samples(), 0);
                draw_batch(&mut prng, ps.samples(), mode, &mut batch, &mut rows);
                ps.batch_loss_and_gradient(&theta, &batch, &mut grad, &mut work);
            }
            _ => {
                let f = landscape.loss_and_gradient(&theta, &mut grad, &mut work);
                if path > 0 && config.noise.is_random() {
                    config
                        .noise_dist
                        .add_scaled(&mut grad, config.noise.scale(f), &mut prng);
                }
            }
        }
        let dist2 = sgd_step(&mut theta, theta0, &grad, config.eta);
        // NaN (a non-finite iterate) also ends the path.
        if dist2.is_nan() || dist2 > r2 {
            break;
        }
        if k % stride == 0 {
            points.push(theta.clone());
        }
    }
    points
}

/// Scratch memory and the per-point computations.
struct Evaluator<'a> {
    landscape: &'a dyn Landscape,
    noise: NoiseModel,
    grad: Vec<f64>,
    plus: Vec<f64>,
    minus: Vec<f64>,
    shifted: Vec<f64>,
    work: Vec<f64>,
    power: Vec<f64>,
    jacobian: Vec<f64>,
}

struct PerSampleStats {
    sigma: Option<f64>,
    ntk_lambda_min: f64,
}

impl<'a> Evaluator<'a> {
    fn new(landscape: &'a dyn Landscape, noise: NoiseModel) -> Self {
        let d = landscape.dim();
        // A fixed, generic start for the power iteration.
        let power = (0..d).map(|i| 1.0 + (i as f64 * 0.618).sin()).collect();
        Self {
            landscape,
            noise,
            grad: vec![0.0; d],
            plus: vec![0.0; d],
            minus: vec![0.0; d],
            shifted: vec![0.0; d],
            work: vec![0.0; landscape.workspace_len()],
            power,
            jacobian: Vec::new(),
        }
    }

    /// (F, |∇F|²/F) at θ; leaves ∇F in `self.grad`.
    fn ratio(&mut self, theta: &[f64]) -> (f64, f64) {
        let f = self
            .landscape
            .loss_and_gradient(theta, &mut self.grad, &mut self.work);
        let g2: f64 = self.grad.iter().map(|g| g * g).sum();
        (f, g2 / f)
    }

    /// H(θ)·v by central differences of gradients along the unit vector u = v/|v|, into `out`:
    /// Hv = |v|·(∇F(θ + hu) − ∇F(θ − hu))/(2h), h = 1e-5·max(1, |θ|).
    fn hvp(&mut self, theta: &[f64], v: &[f64], out: &mut [f64]) {
        let vn = norm(v);
        if vn == 0.0 {
            out.fill(0.0);
            return;
        }
        let h = 1e-5 * norm(theta).max(1.0);
        for (s, (t, x)) in self.shifted.iter_mut().zip(theta.iter().zip(v)) {
            *s = t + h * x / vn;
        }
        self.landscape
            .loss_and_gradient(&self.shifted, &mut self.plus, &mut self.work);
        for (s, (t, x)) in self.shifted.iter_mut().zip(theta.iter().zip(v)) {
            *s = t - h * x / vn;
        }
        self.landscape
            .loss_and_gradient(&self.shifted, &mut self.minus, &mut self.work);
        for (o, (p, m)) in out.iter_mut().zip(self.plus.iter().zip(&self.minus)) {
            *o = vn * (p - m) / (2.0 * h);
        }
    }

    /// ‖H(θ)‖ by power iteration, stopping when the estimate changes by < 1e-6 relative.
    fn hessian_norm(&mut self, theta: &[f64]) -> f64 {
        let mut v = std::mem::take(&mut self.power);
        let mut w = vec![0.0; v.len()];
        let mut lambda = 0.0;
        for _ in 0..POWER_ITERATIONS {
            let vn = norm(&v);
            v.iter_mut().for_each(|x| *x /= vn);
            self.hvp(theta, &v, &mut w);
            let next = norm(&w);
            std::mem::swap(&mut v, &mut w);
            let done = (next - lambda).abs() <= 1e-6 * next;
            lambda = next;
            if done || next == 0.0 {
                break;
            }
        }
        if norm(&v) > 0.0 {
            self.power = v;
        } else {
            self.power = vec![1.0; w.len()];
        }
        lambda
    }

    /// σ̂ and λ_min(J Jᵀ) at θ, for landscapes with per-sample outputs.
    fn per_sample_stats(&mut self, theta: &[f64]) -> Option<PerSampleStats> {
        let ps = self.landscape.per_sample()?;
        let (n, d) = (ps.samples(), theta.len());
        self.jacobian.resize(n * d, 0.0);
        let mut residuals = vec![0.0; n];
        for (i, e) in residuals.iter_mut().enumerate() {
            *e = ps.residual_and_output_gradient(
                theta,
                i,
                &mut self.jacobian[i * d..(i + 1) * d],
                &mut self.work,
            );
        }
        let row = |i: usize| &self.jacobian[i * d..(i + 1) * d];
        let mut gram = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let v: f64 = row(i).iter().zip(row(j)).map(|(a, b)| a * b).sum();
                gram[i * n + j] = v;
                gram[j * n + i] = v;
            }
        }
        let sigma = match self.noise {
            NoiseModel::Minibatch { batch, mode, .. } => {
                // ∇f_i = e_i·J_i, so |∇f_i|² = e_i²·G_ii and |∇F|² = eᵀGe/n².
                let f = residuals.iter().map(|e| e * e).sum::<f64>() / (2.0 * n as f64);
                let mean_sq = (0..n)
                    .map(|i| residuals[i].powi(2) * gram[i * n + i])
                    .sum::<f64>()
                    / n as f64;
                let full_sq = (0..n)
                    .flat_map(|i| (0..n).map(move |j| (i, j)))
                    .map(|(i, j)| residuals[i] * gram[i * n + j] * residuals[j])
                    .sum::<f64>()
                    / (n * n) as f64;
                let s2 = (mean_sq - full_sq).max(0.0);
                (f > 0.0).then(|| mode.gradient_variance(s2, n, batch) / f)
            }
            _ => None,
        };
        let values = symmetric_eigenvalues(&gram, n);
        Some(PerSampleStats {
            sigma,
            ntk_lambda_min: values[0],
        })
    }

    /// Projected gradient descent on R(θ) = |∇F|²/F inside the ball, from `start`; returns the
    /// smallest R found.
    fn refine_minimum_ratio(&mut self, start: &[f64], theta0: &[f64], radius: f64) -> f64 {
        let d = start.len();
        let mut theta = start.to_vec();
        let (f, mut best) = self.ratio(&theta);
        if f.is_nan() || f <= 0.0 {
            return best;
        }
        let mut step = 0.1 * radius;
        let (mut hg, mut dir, mut trial) = (vec![0.0; d], vec![0.0; d], vec![0.0; d]);
        for _ in 0..REFINE_ITERATIONS {
            let (f, r) = self.ratio(&theta);
            let g = self.grad.clone();
            self.hvp(&theta, &g, &mut hg);
            // ∇R = (2·H∇F·F − |∇F|²·∇F)/F² = (2·H∇F − R·∇F)/F.
            for i in 0..d {
                dir[i] = (2.0 * hg[i] - r * g[i]) / f;
            }
            let dn = norm(&dir);
            if dn.is_nan() || dn <= 0.0 {
                break;
            }
            let mut improved = false;
            while step > 1e-12 * radius {
                for i in 0..d {
                    trial[i] = theta[i] - step * dir[i] / dn;
                }
                project(&mut trial, theta0, radius);
                let (ft, rt) = self.ratio(&trial);
                if ft > 0.0 && rt < r {
                    theta.copy_from_slice(&trial);
                    best = best.min(rt);
                    improved = true;
                    step *= 2.0;
                    break;
                }
                step *= 0.5;
            }
            if !improved {
                break;
            }
        }
        best
    }
}

/// Moves θ onto the closed ball B(θ0, r) if it is outside.
fn project(theta: &mut [f64], theta0: &[f64], radius: f64) {
    let dist = theta
        .iter()
        .zip(theta0)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    if dist > radius {
        for (t, t0) in theta.iter_mut().zip(theta0) {
            *t = t0 + (*t - t0) * radius / dist;
        }
    }
}

/// The with-replacement and without-replacement minibatch variance E|g − ∇F|² at θ, by brute
/// force over every batch (exponential in B: tests only).
#[cfg(test)]
fn enumerate_batch_variance(
    ps: &dyn crate::landscape::PerSampleGradient,
    full: &dyn Landscape,
    theta: &[f64],
    b: usize,
    mode: BatchMode,
) -> f64 {
    let (n, d) = (ps.samples(), theta.len());
    let mut work = vec![0.0; full.workspace_len()];
    let mut grad_f = vec![0.0; d];
    full.loss_and_gradient(theta, &mut grad_f, &mut work);
    let mut g = vec![0.0; d];
    let (mut total, mut count) = (0.0, 0usize);
    // Every ordered B-tuple of indices in 0..n (n^B of them); without replacement keeps the ones
    // with distinct entries, each B-subset then appearing B! times, i.e. uniformly.
    let mut idx = vec![0usize; b];
    loop {
        let distinct = (0..b).all(|i| (0..i).all(|j| idx[i] != idx[j]));
        if mode == BatchMode::WithReplacement || distinct {
            ps.batch_loss_and_gradient(theta, &idx, &mut g, &mut work);
            total += g
                .iter()
                .zip(&grad_f)
                .map(|(a, c)| (a - c).powi(2))
                .sum::<f64>();
            count += 1;
        }
        let mut k = 0;
        while k < b {
            idx[k] += 1;
            if idx[k] < n {
                break;
            }
            idx[k] = 0;
            k += 1;
        }
        if k == b {
            break;
        }
    }
    total / count as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;
    use crate::landscape::{Activation, LeastSquares, Mlp, Objective, Quadratic, Ring};
    use std::sync::Arc;

    fn config(noise: NoiseModel) -> EstimatorConfig {
        EstimatorConfig {
            samples: 64,
            seed: 1,
            eta: 0.05,
            noise,
            noise_dist: NoiseDist::Gaussian,
            path_steps: 100,
        }
    }

    fn teacher() -> Arc<Dataset> {
        Arc::new(Dataset::parse("teacher.csv", include_str!("../data/teacher.csv"), None).unwrap())
    }

    /// Least squares on the 16 × 8 teacher set with bias (d = 9 < n = 16): the Hessian AᵀA/n is
    /// constant, so power iteration on finite-difference HVPs must return exactly C_L = λ_max/n,
    /// and |∇F|²/F can never exceed 2·C_L. The exact value comes from the Jacobi eigen-solver on
    /// AAᵀ (checked in linalg.rs), independently of the sampling.
    #[test]
    fn least_squares_hessian_norm_matches_the_exact_c_l() {
        let ls = LeastSquares::new(teacher(), true);
        let theta0 = vec![0.1; 9];
        let exact = ls.exact_constants(&theta0, 0.5).unwrap();
        let est = estimate(&ls, &theta0, 0.5, &config(NoiseModel::None));
        assert!((est.hessian_norm - exact.c_l).abs() <= 1e-5 * exact.c_l);
        assert!(est.gradient_ratio <= 2.0 * exact.c_l * (1.0 + 1e-9));
    }

    /// The over-parameterised case (d = 9 ≥ n = 6 rows, full row rank), with targets 0 so that
    /// θ0 = 0 is a minimiser: the Gram matrix is the NTK, constant in θ, so λ_min(J Jᵀ) must equal
    /// the exact λ_min(AAᵀ) and 2λ_min/n the exact α. Every ball around θ0 holds the direction
    /// θ = s·A⁺u_min along which |∇F|²/F equals the exact α (the ratio is scale-free), so the
    /// refined α̂ must come within 5 % of it, and never below.
    #[test]
    fn over_parameterised_least_squares_estimates_match_exact_constants() {
        let text: String = include_str!("../data/teacher.csv")
            .lines()
            .take(7)
            .enumerate()
            .map(|(i, l)| {
                if i == 0 {
                    format!("{l}\n")
                } else {
                    let cut = l.rfind(',').unwrap();
                    format!("{},0\n", &l[..cut])
                }
            })
            .collect();
        let small = Arc::new(Dataset::parse("t", &text, None).unwrap());
        assert_eq!((small.rows(), small.features()), (6, 8));
        let ls = LeastSquares::new(small, true);
        let theta0 = vec![0.0; 9];
        let exact = ls.exact_constants(&theta0, 1.0).unwrap();
        let est = estimate(&ls, &theta0, 1.0, &config(NoiseModel::None));
        assert!((est.ntk_alpha.unwrap() - exact.alpha).abs() <= 1e-10 * exact.c_l);
        assert!((est.c_l - exact.c_l).abs() <= 1e-5 * exact.c_l);
        assert!(est.alpha >= exact.alpha * (1.0 - 1e-9));
        assert!(
            est.alpha <= 1.05 * exact.alpha,
            "{} vs {}",
            est.alpha,
            exact.alpha
        );
    }

    /// The same over-parameterised least squares with its real targets, started at a point that
    /// (after 5000 gradient-descent steps) interpolates the data to rounding, F(θ0) ≈ 1e-30. Near
    /// such a point rounding dominates F and the finite differences; α̂ must still come within
    /// 5 % of the exact α (and not below it), as the ratio is scale-free around the interpolant.
    #[test]
    fn alpha_is_found_from_a_start_that_interpolates_the_data() {
        let text: String = include_str!("../data/teacher.csv")
            .lines()
            .take(7)
            .map(|l| format!("{l}\n"))
            .collect();
        let ls = LeastSquares::new(Arc::new(Dataset::parse("t", &text, None).unwrap()), true);
        let mut theta0 = vec![0.0; 9];
        crate::init::pretrain(&ls, &mut theta0, 5000, 0.2);
        assert!(ls.loss(&theta0, &mut []) < 1e-24);
        let exact = ls.exact_constants(&theta0, 1.0).unwrap();
        let est = estimate(&ls, &theta0, 1.0, &config(NoiseModel::None));
        assert!(
            est.alpha >= exact.alpha * (1.0 - 1e-6),
            "{} vs {}",
            est.alpha,
            exact.alpha
        );
        assert!(
            est.alpha <= 1.05 * exact.alpha,
            "{} vs {}",
            est.alpha,
            exact.alpha
        );
    }

    /// Quadratic with curvatures 0.5, 1, 3 (exact α = 1, C_L = 3, see quadratic.rs). The ratio
    /// 2·Σa_i²θ_i²/Σa_iθ_i² equals 1 exactly on the first axis, which the ball around
    /// θ0 = (0.4, 0.1, −0.1) of radius 0.3 reaches (distance √0.02 ≈ 0.14), so the refined α̂ must
    /// come within 2 % of 1; the Hessian norm is exactly 3.
    #[test]
    fn quadratic_estimates_approach_the_exact_constants() {
        let q = Quadratic::new(vec![0.5, 1.0, 3.0]).unwrap();
        let theta0 = [0.4, 0.1, -0.1];
        let exact = q.exact_constants(&theta0, 0.3).unwrap();
        let est = estimate(&q, &theta0, 0.3, &config(NoiseModel::None));
        assert!(
            est.alpha >= exact.alpha - 1e-9 && est.alpha <= 1.02 * exact.alpha,
            "{est:?}"
        );
        assert!((est.hessian_norm - 3.0).abs() < 1e-5);
        assert!(est.c_l <= exact.c_l * (1.0 + 1e-6));
    }

    /// Ring (exact constants in ring.rs): the estimates must lie on the right side of the exact
    /// ones and close to them (the extremes sit at the nearest and farthest points of the ball,
    /// which the surface samples and the refinement approach): within 5 %.
    #[test]
    fn ring_estimates_approach_the_exact_constants() {
        let ring = Ring::new(3).unwrap();
        let theta0 = [0.8, 0.5, -0.1];
        let exact = ring.exact_constants(&theta0, 0.4).unwrap();
        let est = estimate(&ring, &theta0, 0.4, &config(NoiseModel::Ml { sigma: 1.0 }));
        assert!(est.alpha >= exact.alpha * (1.0 - 1e-6), "{est:?} {exact:?}");
        assert!(est.alpha <= 1.05 * exact.alpha, "{est:?} {exact:?}");
        assert!(est.c_l <= exact.c_l * (1.0 + 1e-6), "{est:?} {exact:?}");
        assert!(est.c_l >= 0.95 * exact.c_l, "{est:?} {exact:?}");
    }

    /// The estimator uses the current rayon pool; its parallel parts (sample paths, per-sample
    /// statistics, refinements) are folded in the serial order, so one thread and three give the
    /// same bits. Minibatch noise on a network exercises all three parts.
    #[test]
    fn estimates_do_not_depend_on_the_thread_count() {
        let m = Mlp::new(teacher(), &[6], Activation::Tanh).unwrap();
        let shapes: Vec<_> = crate::landscape::layer_shapes(8, &[6]).collect();
        let theta0 = crate::init::lecun_normal(&shapes, true, 2);
        let noise = NoiseModel::Minibatch {
            batch: 4,
            mode: BatchMode::WithReplacement,
            sigma: 0.0,
        };
        let on = |threads| {
            crate::engine::with_threads(threads, || estimate(&m, &theta0, 0.5, &config(noise)))
                .unwrap()
        };
        let one = on(1);
        assert!(
            one.sigma.is_some() && one.ntk_lambda_min.is_some(),
            "{one:?}"
        );
        assert_eq!(on(3), one);
    }

    /// σ̂'s per-point formula against brute-force enumeration of every batch, both modes, on a
    /// tiny network (n = 5 rows, B = 2 and 3).
    #[test]
    fn minibatch_variance_formula_matches_enumeration_of_all_batches() {
        let text: String = include_str!("../data/teacher.csv")
            .lines()
            .take(6)
            .map(|l| format!("{l}\n"))
            .collect();
        let data = Arc::new(Dataset::parse("t", &text, None).unwrap());
        let m = Mlp::new(data, &[3], Activation::Tanh).unwrap();
        let theta: Vec<f64> = (0..m.dim())
            .map(|i| ((i * 7 % 11) as f64 - 5.0) / 6.0)
            .collect();
        let f = m.loss(&theta, &mut vec![0.0; m.workspace_len()]);
        for mode in [BatchMode::WithReplacement, BatchMode::WithoutReplacement] {
            for b in [2, 3] {
                let noise = NoiseModel::Minibatch {
                    batch: b,
                    mode,
                    sigma: 0.0,
                };
                let mut ev = Evaluator::new(&m, noise);
                let sigma = ev.per_sample_stats(&theta).unwrap().sigma.unwrap();
                let brute = enumerate_batch_variance(&m, &m, &theta, b, mode);
                assert!(
                    (sigma * f - brute).abs() <= 1e-12 * brute,
                    "{mode} B = {b}: formula {} vs enumeration {brute}",
                    sigma * f
                );
            }
        }
    }

    /// The NTK bound is a bound: at every point |∇F|²/F ≥ 2·λ_min(J Jᵀ)/n. Checked at θ0 and at
    /// 20 random points of a ball on an over-parameterised softplus network (d = 81 > n = 16), where
    /// λ_min > 0.
    #[test]
    fn the_ntk_bound_holds_pointwise() {
        let m = Mlp::new(teacher(), &[8], Activation::Softplus).unwrap();
        let shapes: Vec<_> = crate::landscape::layer_shapes(8, &[8]).collect();
        let theta0 = crate::init::lecun_normal(&shapes, true, 3);
        let cfg = EstimatorConfig {
            samples: 10,
            ..config(NoiseModel::None)
        };
        let mut ev = Evaluator::new(&m, NoiseModel::None);
        for p in sample_points(&m, &theta0, 0.5, &cfg) {
            let (_, ratio) = ev.ratio(&p);
            let lambda = ev.per_sample_stats(&p).unwrap().ntk_lambda_min;
            assert!(lambda > 0.0);
            assert!(
                ratio >= 2.0 * lambda / 16.0 * (1.0 - 1e-9),
                "{ratio} < 2·{lambda}/16"
            );
        }
    }
}
