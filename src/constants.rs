//! The theory's constants over a ball B(θ0, r), for landscapes without a closed form, estimated
//! so as to err on the safe side, and certified where the landscape can bound its derivatives.
//!
//! A minimum over points can only overstate the true infimum α, and a maximum can only understate
//! the supremum C_L or σ; so the estimator does not stop at sampled points but searches the ball
//! adversarially for the worst ones, and combines the result with bounds that hold pointwise
//! (the NTK bound) or over the whole ball (the certificate). docs/networks.md derives each part.
//!
//! 1. **Sampled points**: θ0; `samples` points uniform in the ball (direction uniform, radius
//!    r·U^{1/d}); `samples` points uniform on its surface; and every `stride`-th iterate of one
//!    gradient-descent path and [`SGD_PATHS`] SGD paths from θ0 (step [`EstimatorConfig::eta`],
//!    the run's noise), while they stay in the ball. At each: R = |∇F|²/F; ‖H‖ by Lanczos
//!    iteration ([`LANCZOS_STEPS`], full reorthogonalisation), whose extreme Ritz values lie
//!    inside the spectrum, so never overstate ‖H‖; and, for per-sample landscapes, λ_min and
//!    λ_max of the Gram matrix J Jᵀ (the empirical NTK; J is the n × d Jacobian of the outputs):
//!    |∇F|² = |Jᵀe|²/n² ≥ λ_min(J Jᵀ)·|e|²/n² = (2λ_min/n)·F, so α ≥ 2λ_min/n at that point.
//!    (With fewer parameters than samples, d < n, J Jᵀ is singular everywhere and the NTK bound
//!    is 0 whatever the ball: it is reported but not used.)
//! 2. **Adversarial α**: projected gradient descent on R inside the ball, with
//!    ∇R = (2·H∇F − R·∇F)/F, a backtracking step and projection, from the [`ALPHA_STARTS`] worst
//!    distinct sampled points (ignoring points where F is below 1e-20 of the largest F seen, where
//!    rounding dominates) and from a point near the minimum set (the end of a projected
//!    gradient-descent path of [`NEAR_MINIMUM_STEPS`] steps of 1/Ĉ_L). The NTK bound is also
//!    taken at every point a search ends on.
//! 3. **Adversarial C_L**: from the [`CL_STARTS`] points of largest ‖H‖, projected gradient
//!    ascent of ‖H‖ — along the top eigenvector v (power iteration, warm-started), whose
//!    eigenvalue has gradient ∇(vᵀH(θ)v) ≈ (∇F(θ + hv) − 2∇F(θ) + ∇F(θ − hv))/h² (error
//!    O(h²·|∇⁵F|) + O(ε·|∇F|/h²), h = 1e-4·max(1, |θ|)); and from the [`CL_STARTS`] points of
//!    largest R, projected gradient ascent of R. The theory's C_L must bound both ‖H‖ and
//!    |∇F|²/(2F) (docs/theory.md).
//! 4. **Certificate** (landscapes with [`crate::landscape::Landscape::output_bounds`]): with L_J a
//!    Lipschitz bound of J over the ball, σ_min(J(θ)) ≥ σ_min(J(θ0)) − L_J·r for every θ in it,
//!    so α ≥ (2/n)·(σ_min(J(θ0)) − L_J·r)² holds for sure when that difference is positive;
//!    σ_min(J(θ0))² is λ_min(J Jᵀ) at θ0 less 1e-12·n·λ_max for rounding. The certified C_L
//!    bounds ‖H‖ and |∇F|²/(2F) over the whole ball.
//!
//! The values a bound uses: α = the smallest of the sampled, adversarial, NTK and (when positive)
//! certified values; C_L = the largest of the sampled and adversarial values, and of the certified
//! one when α is certified too (then both constants hold for sure: [`Estimates::certified`]). A
//! certified C_L alone cannot make the bound certain and is usually far above the estimates, so it
//! is reported but not used.
//!
//! Hessian–vector products are exact where the landscape gives them
//! ([`crate::landscape::Landscape::hessian_vector`]: quadratic, ring, least squares); otherwise
//! central differences of gradients, Hu ≈ (∇F(θ + hu) − ∇F(θ − hu))/(2h) for a unit u with
//! h = 1e-5·max(1, |θ|): truncation error O(h²·|∇³F|), rounding O(ε·|∇F|/h), both ~1e-10
//! relative for the networks here.
//!
//! σ̂ (minibatch noise only) = max E|g − ∇F|²/F over the sampled points, computed exactly at each
//! from the n per-sample gradients ∇f_i: with s² = mean_i |∇f_i|² − |∇F|², E|g − ∇F|² = s²/B with
//! replacement and s²·(n − B)/(B(n − 1)) without
//! ([`crate::noise::BatchMode::gradient_variance`]). It is not searched adversarially.

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use crate::landscape::{Landscape, OutputBounds};
use crate::linalg::{dot, symmetric_extreme_eigenvalues, tridiagonal_extreme_eigenvalues};
#[cfg(test)]
use crate::noise::BatchMode;
use crate::noise::{NoiseDist, NoiseModel, draw_batch};
use crate::rng::{TrajectoryRng, splitmix64_mix, trajectory_rng};
use crate::stepper::sgd_step;

/// Number of SGD paths sampled (besides one gradient-descent path).
pub const SGD_PATHS: u64 = 4;
/// Worst sampled points from which the ratio |∇F|²/F is minimised.
pub const ALPHA_STARTS: usize = 6;
/// Points of largest ‖H‖, and as many of largest |∇F|²/F, from which C_L is maximised.
pub const CL_STARTS: usize = 3;
/// Iterations of each adversarial search.
pub const SEARCH_ITERATIONS: usize = 200;
/// Lanczos steps per point (fewer in low dimension, or once the top Ritz value settles).
pub const LANCZOS_STEPS: usize = 20;
/// The largest J Jᵀ formed for the NTK bound, in rows of J (samples × outputs): 2048² entries
/// (32 MB) and an eigen-solve of about 10¹⁰ flops per point. Beyond it (with at least as many
/// parameters, else λ_min = 0 by rank) there is no NTK bound and no certificate; σ̂ is still
/// computed, from J's rows streamed once.
pub const NTK_MAX_ROWS: usize = 2048;
/// Projected gradient-descent steps to the point near the minimum set.
pub const NEAR_MINIMUM_STEPS: u64 = 300;
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

/// Constants that hold over the whole ball (module doc, part 4).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Certificate {
    /// σ_min(J(θ0)), rounded down; 0 (a lower bound) where J Jᵀ was too large to form
    /// (`jacobian_rows` > [`NTK_MAX_ROWS`]).
    pub sigma_min_centre: f64,
    /// Rows of J (samples × outputs).
    pub jacobian_rows: usize,
    /// Whether σ_min(J(θ0)) was computed.
    pub ntk_computed: bool,
    /// L_J: ‖J(θ) − J(θ0)‖ ≤ L_J·|θ − θ0| on the ball.
    pub jacobian_lipschitz: f64,
    /// σ_min(J(θ0)) − L_J·r, a lower bound on σ_min(J(θ)) over the ball (≤ 0: no certificate for
    /// α, the ball is too large).
    pub sigma_min_lower: f64,
    /// (2/n)·sigma_min_lower² when sigma_min_lower > 0.
    pub alpha: Option<f64>,
    /// An upper bound on C_L over the ball.
    pub c_l: f64,
}

/// The constants over the ball, and what they were made of.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimates {
    /// The α a bound uses: the smallest of the ingredients below (the NTK one only when d ≥ n).
    pub alpha: f64,
    /// The C_L a bound uses: the largest of the ingredients below (the certified one only when
    /// α is certified too).
    pub c_l: f64,
    /// min |∇F|²/F over the sampled points.
    pub alpha_sampled: f64,
    /// The smallest |∇F|²/F the adversarial searches found.
    pub alpha_adversarial: f64,
    /// max(‖H‖, |∇F|²/(2F)) over the sampled points.
    pub c_l_sampled: f64,
    /// The largest max(‖H‖, |∇F|²/(2F)) the adversarial searches found.
    pub c_l_adversarial: f64,
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
    /// Bounds over the whole ball, for landscapes that can bound their derivatives.
    pub certificate: Option<Certificate>,
    /// Points sampled (search iterates not counted).
    pub points: usize,
}

impl Estimates {
    /// Whether α and C_L both hold for sure over the ball.
    pub fn certified(&self) -> bool {
        self.certificate.is_some_and(|c| c.alpha.is_some())
    }
}

/// A progress callback: called with the units of work just done and the total
/// ([`work_units`]), from any thread.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Units of work of [`estimate`] with `config`: one per sampled point and one per search.
pub fn work_units(config: &EstimatorConfig) -> u64 {
    (max_points(config) + ALPHA_STARTS + 1 + 2 * CL_STARTS) as u64
}

/// Estimates α, C_L, σ (minibatch), the NTK bound and the certificate over B(θ0, r).
///
/// Runs on the current rayon pool. Every part that does not depend on another runs in parallel
/// — sample paths, points, searches — and results are folded in a fixed order, so the estimates
/// are the same bits whatever the number of threads.
pub fn estimate(
    landscape: &dyn Landscape,
    theta0: &[f64],
    radius: f64,
    config: &EstimatorConfig,
) -> Estimates {
    estimate_with_progress(landscape, theta0, radius, config, &|_, _| {})
}

/// [`estimate`], reporting progress.
pub fn estimate_with_progress(
    landscape: &dyn Landscape,
    theta0: &[f64],
    radius: f64,
    config: &EstimatorConfig,
    progress: Progress<'_>,
) -> Estimates {
    let total = work_units(config);
    let progress = |n: usize| progress(n as u64, total);
    progress(0);
    let points = sample_points(landscape, theta0, radius, config);
    assert!(points.len() <= max_points(config), "max_points undercounts");
    progress(max_points(config) - points.len());
    let evaluator = || Evaluator::new(landscape, config.noise);
    let stats: Vec<PointStats> = points
        .par_iter()
        .map_init(evaluator, |ev, p| {
            let (f, ratio) = ev.ratio(p);
            let hess = ev.lanczos_norm(p);
            let ntk = ev.per_sample_stats(p);
            progress(1);
            PointStats {
                f,
                ratio,
                hess,
                ntk,
            }
        })
        .collect();
    let n = landscape.per_sample().map(|ps| ps.samples() as f64);
    let ntk_alpha_of = |lambda: f64| n.map(|n| 2.0 * lambda.max(0.0) / n);

    // 1. The sampled points, folded in order.
    let (mut alpha_sampled, mut hess, mut ratio_max) = (f64::INFINITY, 0.0f64, 0.0f64);
    let (mut sigma, mut ntk): (Option<f64>, Option<f64>) = (None, None);
    let mut seen: Vec<(f64, usize)> = Vec::with_capacity(points.len());
    for (k, s) in stats.iter().enumerate() {
        if s.f > 0.0 && s.ratio.is_finite() {
            seen.push((s.ratio, k));
            alpha_sampled = alpha_sampled.min(s.ratio);
            ratio_max = ratio_max.max(s.ratio);
        }
        hess = hess.max(s.hess);
        if let Some(t) = &s.ntk {
            if let Some(sig) = t.sigma {
                sigma = Some(sigma.map_or(sig, |v: f64| v.max(sig)));
            }
            if let Some(l) = t.lambda_min {
                ntk = Some(ntk.map_or(l, |v: f64| v.min(l)));
            }
        }
    }
    if seen.is_empty() {
        alpha_sampled = 0.0;
    }
    let c_l_sampled = hess.max(ratio_max / 2.0);
    let max_loss = stats.iter().map(|s| s.f).fold(0.0, f64::max);

    // 2, 3. The searches, from starts chosen in a fixed order.
    seen.retain(|&(_, k)| stats[k].f >= 1e-20 * max_loss);
    seen.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    seen.dedup_by(|a, b| a.0 == b.0);
    let mut tasks: Vec<Search> = seen
        .iter()
        .take(ALPHA_STARTS)
        .map(|&(_, k)| Search::MinRatio(points[k].clone()))
        .collect();
    let near = near_minimum(landscape, theta0, radius, c_l_sampled);
    tasks.push(Search::MinRatio(near));
    for &(_, k) in seen.iter().rev().take(CL_STARTS) {
        tasks.push(Search::MaxRatio(points[k].clone()));
    }
    let mut by_hess: Vec<usize> = (0..points.len()).collect();
    by_hess.sort_by(|&a, &b| stats[b].hess.total_cmp(&stats[a].hess).then(a.cmp(&b)));
    for &k in by_hess.iter().take(CL_STARTS) {
        tasks.push(Search::MaxHessian(points[k].clone()));
    }
    let skipped = (ALPHA_STARTS + 1 + 2 * CL_STARTS).saturating_sub(tasks.len());
    progress(skipped);
    let found: Vec<Found> = tasks
        .par_iter()
        .map_init(evaluator, |ev, task| {
            let out = ev.search(task, theta0, radius);
            progress(1);
            out
        })
        .collect();
    let (mut alpha_adversarial, mut c_l_adversarial) = (f64::INFINITY, 0.0f64);
    for f in &found {
        match *f {
            Found::Ratio { value, ntk: l } => {
                alpha_adversarial = alpha_adversarial.min(value);
                ratio_max = ratio_max.max(value);
                if let Some(l) = l {
                    ntk = Some(ntk.map_or(l, |v: f64| v.min(l)));
                }
            }
            Found::MaxRatio(value) => {
                ratio_max = ratio_max.max(value);
                c_l_adversarial = c_l_adversarial.max(value / 2.0);
            }
            Found::Hessian(value) => {
                hess = hess.max(value);
                c_l_adversarial = c_l_adversarial.max(value);
            }
        }
    }
    if !alpha_adversarial.is_finite() {
        alpha_adversarial = alpha_sampled;
    }

    // 4. The certificate, from the NTK at θ0 (point 0).
    let certificate = landscape
        .output_bounds(theta0, radius)
        .zip(stats[0].ntk.as_ref())
        .zip(n)
        .map(|((b, t), n)| certify(&b, t, radius, n));

    let ntk_alpha = ntk.and_then(ntk_alpha_of);
    // With fewer parameters than samples, J Jᵀ has rank ≤ d < n: λ_min = 0 at every point, a
    // bound that says nothing about this ball. Reported, not used.
    let ntk_used = ntk_alpha.filter(|_| n.is_some_and(|n| n <= theta0.len() as f64));
    let cert_alpha = certificate.and_then(|c| c.alpha);
    let alpha = [
        Some(alpha_sampled),
        Some(alpha_adversarial),
        ntk_used,
        cert_alpha,
    ]
    .into_iter()
    .flatten()
    .fold(f64::INFINITY, f64::min);
    let mut c_l = c_l_sampled.max(c_l_adversarial);
    if let Some(c) = certificate.filter(|c| c.alpha.is_some()) {
        c_l = c_l.max(c.c_l);
    }
    Estimates {
        alpha,
        c_l,
        alpha_sampled,
        alpha_adversarial,
        c_l_sampled,
        c_l_adversarial,
        hessian_norm: hess,
        gradient_ratio: ratio_max,
        sigma,
        ntk_lambda_min: ntk,
        ntk_alpha,
        certificate,
        points: points.len(),
    }
}

/// The certificate from the output bounds and the NTK at θ0.
/// Where λ_min(J Jᵀ) at θ0 was not computed ([`NTK_MAX_ROWS`]) σ_min(J(θ0)) ≥ 0 is used: no
/// certificate for α, but C_L's bound stands.
fn certify(b: &OutputBounds, at_centre: &PerSampleStats, radius: f64, n: f64) -> Certificate {
    let sigma_min_centre = at_centre.lambda_min.map_or(0.0, |l| {
        let lambda = l - 1e-12 * at_centre.gram_size as f64 * at_centre.lambda_max.abs();
        lambda.max(0.0).sqrt()
    });
    let sigma_min_lower = sigma_min_centre - b.jacobian_lipschitz * radius;
    Certificate {
        sigma_min_centre,
        jacobian_rows: at_centre.gram_size,
        ntk_computed: at_centre.lambda_min.is_some(),
        jacobian_lipschitz: b.jacobian_lipschitz,
        sigma_min_lower,
        alpha: (sigma_min_lower > 0.0).then(|| 2.0 * sigma_min_lower * sigma_min_lower / n),
        c_l: b.c_l,
    }
}

struct PointStats {
    f: f64,
    ratio: f64,
    hess: f64,
    ntk: Option<PerSampleStats>,
}

/// An adversarial search and its start.
enum Search {
    MinRatio(Vec<f64>),
    MaxRatio(Vec<f64>),
    MaxHessian(Vec<f64>),
}

enum Found {
    /// The smallest ratio found, and λ_min(J Jᵀ) where it was found.
    Ratio {
        value: f64,
        ntk: Option<f64>,
    },
    MaxRatio(f64),
    Hessian(f64),
}

/// The end of [`NEAR_MINIMUM_STEPS`] projected gradient-descent steps of 1/c from θ0 (θ0 itself
/// if c is not a usable curvature).
fn near_minimum(landscape: &dyn Landscape, theta0: &[f64], radius: f64, c: f64) -> Vec<f64> {
    let mut theta = theta0.to_vec();
    if !(c.is_finite() && c > 0.0) {
        return theta;
    }
    let mut grad = vec![0.0; theta.len()];
    let mut work = vec![0.0; landscape.workspace_len()];
    for _ in 0..NEAR_MINIMUM_STEPS {
        let f = landscape.loss_and_gradient(&theta, &mut grad, &mut work);
        if !(f.is_finite() && f > 0.0) {
            break;
        }
        let mut next = theta.clone();
        for (t, g) in next.iter_mut().zip(&grad) {
            *t -= g / c;
        }
        project(&mut next, theta0, radius);
        if next.iter().any(|x| !x.is_finite()) {
            break;
        }
        theta = next;
    }
    theta
}

/// The estimator's generator for master seed `seed`.
fn estimator_rng(seed: u64) -> TrajectoryRng {
    trajectory_rng(splitmix64_mix(seed ^ CONSTANTS_DOMAIN), 0)
}

fn norm(v: &[f64]) -> f64 {
    dot(v, v).sqrt()
}

/// How many points [`estimate`] can sample with `config` ([`Estimates::points`]; fewer if a
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
    jacobian: Vec<f64>,
    /// [`NTK_MAX_ROWS`] (smaller in tests).
    ntk_max_rows: usize,
}

struct PerSampleStats {
    sigma: Option<f64>,
    /// λ_min(J Jᵀ); `None` where J has more than [`NTK_MAX_ROWS`] rows and at least as many
    /// columns (not computed).
    lambda_min: Option<f64>,
    /// λ_max(J Jᵀ); where J Jᵀ is not formed its trace (an upper bound) with minibatch noise and
    /// 0 without (then there is no λ_min, or λ_min = 0, and no certificate exists): only the
    /// certificate's rounding slack uses it.
    lambda_max: f64,
    /// The size n·m of J Jᵀ (samples times outputs).
    gram_size: usize,
}

/// A fixed, generic start for the Lanczos and power iterations.
fn generic_vector(d: usize) -> Vec<f64> {
    (0..d).map(|i| 1.0 + (i as f64 * 0.618).sin()).collect()
}

impl<'a> Evaluator<'a> {
    fn new(landscape: &'a dyn Landscape, noise: NoiseModel) -> Self {
        let d = landscape.dim();
        Self {
            landscape,
            noise,
            grad: vec![0.0; d],
            plus: vec![0.0; d],
            minus: vec![0.0; d],
            shifted: vec![0.0; d],
            work: vec![0.0; landscape.workspace_len()],
            jacobian: Vec::new(),
            ntk_max_rows: NTK_MAX_ROWS,
        }
    }

    /// (F, |∇F|²/F) at θ; leaves ∇F in `self.grad`.
    fn ratio(&mut self, theta: &[f64]) -> (f64, f64) {
        let f = self
            .landscape
            .loss_and_gradient(theta, &mut self.grad, &mut self.work);
        let g2 = dot(&self.grad, &self.grad);
        (f, g2 / f)
    }

    /// ∇F(θ + s·u) into `self.plus` (s > 0) or `self.minus` (s < 0).
    fn shifted_gradient(&mut self, theta: &[f64], u: &[f64], s: f64) {
        for (x, (t, v)) in self.shifted.iter_mut().zip(theta.iter().zip(u)) {
            *x = t + s * v;
        }
        let out = if s > 0.0 {
            &mut self.plus
        } else {
            &mut self.minus
        };
        self.landscape
            .loss_and_gradient(&self.shifted, out, &mut self.work);
    }

    /// H(θ)·v into `out`: exact where the landscape gives it, else by central differences of
    /// gradients along the unit vector u = v/|v|, Hv = |v|·(∇F(θ + hu) − ∇F(θ − hu))/(2h),
    /// h = 1e-5·max(1, |θ|).
    fn hvp(&mut self, theta: &[f64], v: &[f64], out: &mut [f64]) {
        if let Some(h) = self.landscape.hessian_vector() {
            h.hessian_vector_product(theta, v, out);
            return;
        }
        let vn = norm(v);
        if vn == 0.0 {
            out.fill(0.0);
            return;
        }
        let h = 1e-5 * norm(theta).max(1.0);
        let u: Vec<f64> = v.iter().map(|x| x / vn).collect();
        self.shifted_gradient(theta, &u, h);
        self.shifted_gradient(theta, &u, -h);
        for (o, (p, m)) in out.iter_mut().zip(self.plus.iter().zip(&self.minus)) {
            *o = vn * (p - m) / (2.0 * h);
        }
    }

    /// ‖H(θ)‖ by Lanczos iteration with full reorthogonalisation from a fixed start: the larger
    /// |extreme Ritz value|, which lies inside the spectrum. Stops after [`LANCZOS_STEPS`] steps,
    /// at an invariant subspace, or when the estimate changes by < 1e-10 relative.
    fn lanczos_norm(&mut self, theta: &[f64]) -> f64 {
        let d = theta.len();
        let mut q = generic_vector(d);
        let qn = norm(&q);
        q.iter_mut().for_each(|x| *x /= qn);
        let mut basis: Vec<Vec<f64>> = Vec::with_capacity(LANCZOS_STEPS);
        let (mut diag, mut off) = (Vec::new(), Vec::new());
        let mut w = vec![0.0; d];
        let mut estimate = 0.0;
        for _ in 0..LANCZOS_STEPS.min(d) {
            self.hvp(theta, &q, &mut w);
            let a = dot(&q, &w);
            diag.push(a);
            basis.push(std::mem::take(&mut q));
            // Twice is enough (Kahan–Parlett): w ⟂ every basis vector to rounding.
            for _ in 0..2 {
                for b in &basis {
                    let c = dot(b, &w);
                    for (x, y) in w.iter_mut().zip(b) {
                        *x -= c * y;
                    }
                }
            }
            let (lo, hi) = tridiagonal_extreme_eigenvalues(&diag, &off);
            let next = lo.abs().max(hi.abs());
            let beta = norm(&w);
            let settled = (next - estimate).abs() <= 1e-10 * next;
            estimate = next;
            if !beta.is_finite() || !estimate.is_finite() || beta <= 1e-12 * estimate || settled {
                break;
            }
            off.push(beta);
            q = w.iter().map(|x| x / beta).collect();
        }
        estimate
    }

    /// σ̂ and the extreme eigenvalues of J Jᵀ at θ, for landscapes with per-sample outputs. J has
    /// one row per sample and output (n·m rows, row i·m + o).
    fn per_sample_stats(&mut self, theta: &[f64]) -> Option<PerSampleStats> {
        let ps = self.landscape.per_sample()?;
        let (n, m, d) = (ps.samples(), ps.outputs(), theta.len());
        let k = n * m;
        if k > d {
            if !matches!(self.noise, NoiseModel::Minibatch { .. }) {
                // λ_min = 0 by rank and no σ̂ is wanted: nothing to compute. (λ_max only sizes the
                // certificate's rounding slack, and with λ_min = 0 there is no certificate.)
                return Some(PerSampleStats {
                    sigma: None,
                    lambda_min: Some(0.0),
                    lambda_max: 0.0,
                    gram_size: k,
                });
            }
            return Some(PerSampleStats {
                lambda_min: Some(0.0),
                ..self.streamed_jacobian_stats(ps, theta)
            });
        }
        if k > self.ntk_max_rows {
            if !matches!(self.noise, NoiseModel::Minibatch { .. }) {
                // Neither λ_min (too many rows) nor σ̂ (not wanted): streaming J would only give
                // its trace, which sizes nothing without λ_min. Skipped: on a large network
                // over many rows it was most of the estimator's time.
                return Some(PerSampleStats {
                    sigma: None,
                    lambda_min: None,
                    lambda_max: 0.0,
                    gram_size: k,
                });
            }
            return Some(self.streamed_jacobian_stats(ps, theta));
        }
        self.jacobian.resize(k * d, 0.0);
        let mut residuals = vec![0.0; k];
        for (i, e) in residuals.iter_mut().enumerate() {
            *e = ps.residual_and_output_gradient(
                theta,
                i,
                &mut self.jacobian[i * d..(i + 1) * d],
                &mut self.work,
            );
        }
        let row = |i: usize| &self.jacobian[i * d..(i + 1) * d];
        let mut gram = vec![0.0; k * k];
        for i in 0..k {
            for j in 0..=i {
                let v = dot(row(i), row(j));
                gram[i * k + j] = v;
                gram[j * k + i] = v;
            }
        }
        let sigma = match self.noise {
            NoiseModel::Minibatch { batch, mode, .. } => {
                // ∇f_i = Σ_o e_io·J_io, so |∇f_i|² = Σ_{o,o'} e_io·G_{io,io'}·e_io' (the sample's
                // block of G) and |∇F|² = eᵀGe/n².
                let f = residuals.iter().map(|e| e * e).sum::<f64>() / (2.0 * n as f64);
                let quad = |a: std::ops::Range<usize>, b: std::ops::Range<usize>| {
                    a.flat_map(|i| b.clone().map(move |j| (i, j)))
                        .map(|(i, j)| residuals[i] * gram[i * k + j] * residuals[j])
                        .sum::<f64>()
                };
                let block = |i: usize| match m {
                    // e_i²·G_ii, rounded as before several outputs existed.
                    1 => residuals[i].powi(2) * gram[i * k + i],
                    _ => quad(i * m..(i + 1) * m, i * m..(i + 1) * m),
                };
                let mean_sq = (0..n).map(block).sum::<f64>() / n as f64;
                let full_sq = quad(0..k, 0..k) / (n * n) as f64;
                let s2 = (mean_sq - full_sq).max(0.0);
                (f > 0.0).then(|| mode.gradient_variance(s2, n, batch) / f)
            }
            _ => None,
        };
        let (lambda_min, lambda_max) = symmetric_extreme_eigenvalues(&gram, k);
        Some(PerSampleStats {
            sigma,
            lambda_min: Some(lambda_min),
            lambda_max,
            gram_size: k,
        })
    }

    /// [`Evaluator::per_sample_stats`] without J Jᵀ: where J has more rows (n·m) than columns (d)
    /// (J Jᵀ has rank ≤ d < n·m, so λ_min = 0 exactly: the caller says so), or more than
    /// [`NTK_MAX_ROWS`] rows (λ_min not computed). J's rows are streamed once: σ̂ from the
    /// per-sample gradients ∇f_i = Σ_o e_io·J_io (E|∇f_i|² − |∇F|²), and the trace Σ|J_io|² ≥
    /// λ_max. O(n·m·d) time and O(d) memory, where the Gram matrix would take O((n·m)²·d) and
    /// O((n·m)²).
    fn streamed_jacobian_stats(
        &mut self,
        ps: &dyn crate::landscape::PerSampleGradient,
        theta: &[f64],
    ) -> PerSampleStats {
        let (n, m, d) = (ps.samples(), ps.outputs(), theta.len());
        let (mut row, mut sample, mut mean) = (vec![0.0; d], vec![0.0; d], vec![0.0; d]);
        let (mut trace, mut loss2, mut mean_sq) = (0.0, 0.0, 0.0);
        for i in 0..n {
            sample.fill(0.0);
            for o in 0..m {
                let e = ps.residual_and_output_gradient(theta, i * m + o, &mut row, &mut self.work);
                loss2 += e * e;
                trace += dot(&row, &row);
                for (s, r) in sample.iter_mut().zip(&row) {
                    *s += e * r;
                }
            }
            mean_sq += dot(&sample, &sample);
            for (a, s) in mean.iter_mut().zip(&sample) {
                *a += s;
            }
        }
        let f = loss2 / (2.0 * n as f64);
        let sigma = match self.noise {
            NoiseModel::Minibatch { batch, mode, .. } => {
                let full_sq = dot(&mean, &mean) / (n * n) as f64;
                let s2 = (mean_sq / n as f64 - full_sq).max(0.0);
                (f > 0.0).then(|| mode.gradient_variance(s2, n, batch) / f)
            }
            _ => None,
        };
        PerSampleStats {
            sigma,
            lambda_min: None,
            lambda_max: trace,
            gram_size: n * m,
        }
    }

    fn search(&mut self, task: &Search, theta0: &[f64], radius: f64) -> Found {
        match task {
            Search::MinRatio(start) => {
                let (value, at) = self.search_ratio(start, theta0, radius, -1.0);
                let ntk = self.per_sample_stats(&at).and_then(|s| s.lambda_min);
                Found::Ratio { value, ntk }
            }
            Search::MaxRatio(start) => {
                Found::MaxRatio(self.search_ratio(start, theta0, radius, 1.0).0)
            }
            Search::MaxHessian(start) => Found::Hessian(self.ascend_hessian(start, theta0, radius)),
        }
    }

    /// Projected gradient descent (`sign` −1) or ascent (+1) of R(θ) = |∇F|²/F inside the ball,
    /// from `start`; returns the most extreme R found and where.
    fn search_ratio(
        &mut self,
        start: &[f64],
        theta0: &[f64],
        radius: f64,
        sign: f64,
    ) -> (f64, Vec<f64>) {
        let d = start.len();
        let mut theta = start.to_vec();
        let (f, mut best) = self.ratio(&theta);
        if f.is_nan() || f <= 0.0 {
            return (best, theta);
        }
        let better = |a: f64, b: f64| if sign < 0.0 { a < b } else { a > b };
        let mut step = 0.1 * radius;
        let (mut hg, mut dir, mut trial) = (vec![0.0; d], vec![0.0; d], vec![0.0; d]);
        for _ in 0..SEARCH_ITERATIONS {
            let (f, r) = self.ratio(&theta);
            let g = self.grad.clone();
            self.hvp(&theta, &g, &mut hg);
            // ∇R = (2·H∇F·F − |∇F|²·∇F)/F² = (2·H∇F − R·∇F)/F.
            for i in 0..d {
                dir[i] = sign * (2.0 * hg[i] - r * g[i]) / f;
            }
            let dn = norm(&dir);
            if dn.is_nan() || dn <= 0.0 {
                break;
            }
            let mut improved = false;
            while step > 1e-12 * radius {
                for i in 0..d {
                    trial[i] = theta[i] + step * dir[i] / dn;
                }
                project(&mut trial, theta0, radius);
                let (ft, rt) = self.ratio(&trial);
                if ft > 0.0 && better(rt, r) {
                    theta.copy_from_slice(&trial);
                    if better(rt, best) {
                        best = rt;
                    }
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
        (best, theta)
    }

    /// |H(θ)v| after `steps` power steps from `v` (normalised in place to the last iterate).
    fn power(&mut self, theta: &[f64], v: &mut Vec<f64>, steps: usize) -> f64 {
        let mut w = vec![0.0; v.len()];
        let mut value = 0.0;
        for _ in 0..steps {
            let vn = norm(v);
            if !(vn > 0.0 && vn.is_finite()) {
                break;
            }
            v.iter_mut().for_each(|x| *x /= vn);
            self.hvp(theta, v, &mut w);
            value = norm(&w);
            std::mem::swap(v, &mut w);
        }
        let vn = norm(v);
        if vn > 0.0 && vn.is_finite() {
            v.iter_mut().for_each(|x| *x /= vn);
        }
        value
    }

    /// Projected gradient ascent of ‖H‖ from `start` (module doc, part 3); returns the largest
    /// ‖H‖ found.
    fn ascend_hessian(&mut self, start: &[f64], theta0: &[f64], radius: f64) -> f64 {
        let d = start.len();
        let mut theta = start.to_vec();
        let mut v = generic_vector(d);
        let mut best = self.power(&theta, &mut v, 30);
        let mut step = 0.1 * radius;
        let (mut hv, mut dir, mut trial) = (vec![0.0; d], vec![0.0; d], vec![0.0; d]);
        for _ in 0..SEARCH_ITERATIONS / 4 {
            self.hvp(&theta, &v, &mut hv);
            let lambda = dot(&v, &hv);
            let h = 1e-4 * norm(&theta).max(1.0);
            self.shifted_gradient(&theta, &v, h);
            self.shifted_gradient(&theta, &v, -h);
            self.ratio(&theta);
            let s = lambda.signum() / (h * h);
            for (x, ((p, g), m)) in dir
                .iter_mut()
                .zip(self.plus.iter().zip(&self.grad).zip(&self.minus))
            {
                *x = s * ((p - g) - (g - m));
            }
            let dn = norm(&dir);
            if !(dn > 0.0 && dn.is_finite()) {
                break;
            }
            let mut improved = false;
            while step > 1e-9 * radius {
                for i in 0..d {
                    trial[i] = theta[i] + step * dir[i] / dn;
                }
                project(&mut trial, theta0, radius);
                let mut vt = v.clone();
                let value = self.power(&trial, &mut vt, 3);
                if value > best {
                    best = value;
                    theta.copy_from_slice(&trial);
                    v = vt;
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
        best.max(self.lanczos_norm(&theta))
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
    use crate::landscape::{
        Activation, LeastSquares, Mlp, Objective, PerSampleGradient, Quadratic, Ring,
    };
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

    /// The first `rows` rows of the teacher set, with these target columns (`None`: y).
    fn teacher_rows(rows: usize, targets: Option<&str>) -> Arc<Dataset> {
        let mut d = Dataset::parse("t", include_str!("../data/teacher.csv"), targets).unwrap();
        d.truncate(rows);
        Arc::new(d)
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
        let ls = LeastSquares::new(teacher_rows(6, None), true);
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
        let shapes: Vec<_> = crate::landscape::layer_shapes(8, &[6], 1).collect();
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
            one.sigma.is_some() && one.ntk_lambda_min.is_some() && one.certificate.is_some(),
            "{one:?}"
        );
        assert_eq!(on(2), one);
        assert_eq!(on(3), one);
        // Exact Hessian–vector products and analytic landscapes take the same parallel paths.
        let ls = LeastSquares::new(over_parameterised(), false);
        let zero = vec![0.0; 20];
        let ls_on = |threads| {
            crate::engine::with_threads(threads, || {
                estimate(&ls, &zero, 2.0, &config(NoiseModel::None))
            })
            .unwrap()
        };
        assert_eq!(ls_on(3), ls_on(1));
        let ring = Ring::new(3).unwrap();
        let ring_on = |threads| {
            crate::engine::with_threads(threads, || {
                estimate(
                    &ring,
                    &[0.8, 0.5, -0.1],
                    0.4,
                    &config(NoiseModel::Ml { sigma: 1.0 }),
                )
            })
            .unwrap()
        };
        assert_eq!(ring_on(2), ring_on(1));
    }

    /// σ̂'s per-point formula against brute-force enumeration of every batch, both modes, on a
    /// tiny network (n = 5 rows, B = 2 and 3).
    #[test]
    fn minibatch_variance_formula_matches_enumeration_of_all_batches() {
        let data = teacher_rows(5, None);
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
        let shapes: Vec<_> = crate::landscape::layer_shapes(8, &[8], 1).collect();
        let theta0 = crate::init::lecun_normal(&shapes, true, 3);
        let cfg = EstimatorConfig {
            samples: 10,
            ..config(NoiseModel::None)
        };
        let mut ev = Evaluator::new(&m, NoiseModel::None);
        for p in sample_points(&m, &theta0, 0.5, &cfg) {
            let (_, ratio) = ev.ratio(&p);
            let lambda = ev.per_sample_stats(&p).unwrap().lambda_min.unwrap();
            assert!(lambda > 0.0);
            assert!(
                ratio >= 2.0 * lambda / 16.0 * (1.0 - 1e-9),
                "{ratio} < 2·{lambda}/16"
            );
        }
    }

    /// The NTK bound and σ̂'s formula with several outputs: |∇F|²/F ≥ 2·λ_min(J Jᵀ)/n with J of
    /// n·m rows (n = 6 samples, m = 2, d = 49 > 12), and σ̂·F against every batch enumerated.
    #[test]
    fn multi_output_ntk_bound_and_minibatch_variance_hold() {
        let data = teacher_rows(6, Some("x8,y"));
        let m = Mlp::new(data, &[6], Activation::Softplus).unwrap();
        let shapes: Vec<_> = crate::landscape::layer_shapes(7, &[6], 2).collect();
        let theta0 = crate::init::lecun_normal(&shapes, true, 3);
        let cfg = EstimatorConfig {
            samples: 10,
            ..config(NoiseModel::None)
        };
        let mut ev = Evaluator::new(&m, NoiseModel::None);
        for p in sample_points(&m, &theta0, 0.5, &cfg) {
            let (_, ratio) = ev.ratio(&p);
            let stats = ev.per_sample_stats(&p).unwrap();
            assert_eq!(stats.gram_size, 12);
            let lambda = stats.lambda_min.unwrap();
            assert!(lambda > 0.0);
            assert!(
                ratio >= 2.0 * lambda / 6.0 * (1.0 - 1e-9),
                "{ratio} < 2·{lambda}/6"
            );
        }
        let f = m.loss(&theta0, &mut vec![0.0; m.workspace_len()]);
        for mode in [BatchMode::WithReplacement, BatchMode::WithoutReplacement] {
            let noise = NoiseModel::Minibatch {
                batch: 2,
                mode,
                sigma: 0.0,
            };
            let sigma = Evaluator::new(&m, noise)
                .per_sample_stats(&theta0)
                .unwrap()
                .sigma
                .unwrap();
            let brute = enumerate_batch_variance(&m, &m, &theta0, 2, mode);
            assert!(
                (sigma * f - brute).abs() <= 1e-12 * brute,
                "{mode}: formula {} vs enumeration {brute}",
                sigma * f
            );
        }
    }

    /// Where J has more rows than columns (6 samples × 7 outputs = 42 > d = 21, a linear model on
    /// two features): λ_min = 0, the trace bounds λ_max of the Gram matrix formed by hand, and σ̂
    /// from the streamed rows matches every batch enumerated.
    #[test]
    fn a_jacobian_with_more_rows_than_columns_is_streamed() {
        let targets = "x3,x4,x5,x6,x7,x8,y";
        let data = teacher_rows(6, Some(targets));
        let m = Mlp::new(data, &[], Activation::Tanh).unwrap();
        let d = m.dim();
        assert_eq!((d, m.samples() * m.outputs()), (21, 42));
        let theta: Vec<f64> = (0..d).map(|i| ((i * 5 % 9) as f64 - 4.0) / 5.0).collect();
        let f = m.loss(&theta, &mut vec![0.0; m.workspace_len()]);
        let mut work = vec![0.0; m.workspace_len()];
        let rows: Vec<Vec<f64>> = (0..42)
            .map(|i| {
                let mut g = vec![0.0; d];
                m.residual_and_output_gradient(&theta, i, &mut g, &mut work);
                g
            })
            .collect();
        let gram: Vec<f64> = (0..42 * 42)
            .map(|ij| dot(&rows[ij / 42], &rows[ij % 42]))
            .collect();
        let (lo, hi) = symmetric_extreme_eigenvalues(&gram, 42);
        // Without minibatch noise nothing is streamed: λ_min = 0 and no σ̂.
        let plain = Evaluator::new(&m, NoiseModel::Ml { sigma: 1.0 })
            .per_sample_stats(&theta)
            .unwrap();
        assert_eq!((plain.lambda_min, plain.sigma), (Some(0.0), None));
        for mode in [BatchMode::WithReplacement, BatchMode::WithoutReplacement] {
            let noise = NoiseModel::Minibatch {
                batch: 2,
                mode,
                sigma: 0.0,
            };
            let stats = Evaluator::new(&m, noise).per_sample_stats(&theta).unwrap();
            assert_eq!(stats.lambda_min, Some(0.0));
            assert!(lo.abs() <= 1e-12 * hi, "the Gram matrix is singular: {lo}");
            assert!(stats.lambda_max >= hi);
            let brute = enumerate_batch_variance(&m, &m, &theta, 2, mode);
            let sigma = stats.sigma.unwrap();
            assert!(
                (sigma * f - brute).abs() <= 1e-12 * brute,
                "{mode}: streamed {} vs enumeration {brute}",
                sigma * f
            );
        }
    }

    /// Above the row limit (here 10 instead of [`NTK_MAX_ROWS`]; J is 12 × 49) J Jᵀ is not
    /// formed: no λ_min, σ̂ the same as from the Gram matrix (to rounding), and the certificate
    /// keeps its C_L bound but gives no α.
    #[test]
    fn above_the_row_limit_the_ntk_is_not_formed_and_sigma_still_is() {
        let data = teacher_rows(6, Some("x8,y"));
        let m = Mlp::new(data, &[6], Activation::Softplus).unwrap();
        let shapes: Vec<_> = crate::landscape::layer_shapes(7, &[6], 2).collect();
        let theta0 = crate::init::lecun_normal(&shapes, true, 3);
        let noise = NoiseModel::Minibatch {
            batch: 2,
            mode: BatchMode::WithReplacement,
            sigma: 0.0,
        };
        let full = Evaluator::new(&m, noise).per_sample_stats(&theta0).unwrap();
        let mut small = Evaluator::new(&m, noise);
        small.ntk_max_rows = 10;
        let streamed = small.per_sample_stats(&theta0).unwrap();
        assert!(full.lambda_min.is_some() && streamed.lambda_min.is_none());
        let (a, b) = (full.sigma.unwrap(), streamed.sigma.unwrap());
        assert!((a - b).abs() <= 1e-12 * a, "{a} vs {b}");
        let bounds = m.output_bounds(&theta0, 1e-4).unwrap();
        let cert = certify(&bounds, &streamed, 1e-4, 6.0);
        assert_eq!(
            (cert.alpha, cert.ntk_computed, cert.c_l),
            (None, false, bounds.c_l)
        );
        assert!(certify(&bounds, &full, 1e-4, 6.0).alpha.is_some());
        // Without minibatch noise nothing is wanted of J above the limit, and nothing certified.
        let mut plain = Evaluator::new(&m, NoiseModel::Ml { sigma: 1.0 });
        plain.ntk_max_rows = 10;
        let skipped = plain.per_sample_stats(&theta0).unwrap();
        assert_eq!((skipped.lambda_min, skipped.sigma), (None, None));
        assert_eq!(certify(&bounds, &skipped, 1e-4, 6.0).alpha, None);
    }

    /// 12 rows × 20 features (no bias, not standardised) from a simple LCG, independent of the
    /// crate's generators: the over-parameterised least squares of the user report. Full row
    /// rank, so y is fitted and the exact α = 2·λ_min(AAᵀ)/n (least_squares.rs, by Jacobi).
    fn over_parameterised() -> Arc<Dataset> {
        let mut s = 12345u64;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        };
        let mut text: String = (1..=20).map(|j| format!("x{j},")).collect();
        text.push_str("y\n");
        for _ in 0..12 {
            let row: Vec<String> = (0..21).map(|_| next().to_string()).collect();
            text.push_str(&row.join(","));
            text.push('\n');
        }
        Arc::new(Dataset::parse("t", &text, None).unwrap())
    }

    /// The values a bound uses err on the safe side of the exact constants, and stay close:
    /// α ≤ exact (to 1e-9 relative, rounding) and ≥ 0.95·exact; C_L ≥ exact (to 1e-9) and
    /// ≤ 1.05·exact. Quadratic: the infimum of the ratio is on the first axis, inside the ball;
    /// ring: both extremes are on the ball's surface, on the line through 0 and θ0; least squares
    /// (12 × 20, θ0 = 0, r = 2, the user's over-parameterised case): the NTK is constant and exact.
    /// The estimator is run although exact constants are known (the run would not).
    #[test]
    fn conservative_constants_bracket_the_exact_ones_within_five_percent() {
        let q = Quadratic::new(vec![0.5, 1.0, 3.0]).unwrap();
        let ring = Ring::new(3).unwrap();
        let ls = LeastSquares::new(over_parameterised(), false);
        let zero = vec![0.0; 20];
        type Case<'a> = (&'a str, &'a dyn Landscape, &'a [f64], f64, NoiseModel);
        let cases: [Case<'_>; 3] = [
            ("quadratic", &q, &[0.4, 0.1, -0.1], 0.3, NoiseModel::None),
            (
                "ring",
                &ring,
                &[0.8, 0.5, -0.1],
                0.4,
                NoiseModel::Ml { sigma: 1.0 },
            ),
            ("least squares", &ls, &zero, 2.0, NoiseModel::None),
        ];
        for (name, l, theta0, r, noise) in cases {
            let exact = l.exact_constants(theta0, r).unwrap();
            let est = estimate(l, theta0, r, &config(noise));
            let (a, c) = (est.alpha, est.c_l);
            assert!(
                a <= exact.alpha * (1.0 + 1e-9),
                "{name}: α {a} > {}",
                exact.alpha
            );
            assert!(a >= 0.95 * exact.alpha, "{name}: α {a} vs {}", exact.alpha);
            assert!(
                c >= exact.c_l * (1.0 - 1e-9),
                "{name}: C_L {c} < {}",
                exact.c_l
            );
            assert!(c <= 1.05 * exact.c_l, "{name}: C_L {c} vs {}", exact.c_l);
        }
    }

    /// On a small tanh network the sampled infimum of |∇F|²/F overstates what the ball holds:
    /// the search from the worst samples finds a strictly smaller ratio (by more than 1 %, far
    /// beyond rounding), and the α used is no larger than either.
    #[test]
    fn on_a_network_the_adversarial_alpha_is_below_the_sampled_one() {
        let m = Mlp::new(teacher(), &[6], Activation::Tanh).unwrap();
        let shapes: Vec<_> = crate::landscape::layer_shapes(8, &[6], 1).collect();
        let theta0 = crate::init::lecun_normal(&shapes, true, 2);
        let est = estimate(&m, &theta0, 0.5, &config(NoiseModel::None));
        assert!(
            est.alpha_adversarial < 0.99 * est.alpha_sampled,
            "adversarial {} vs sampled {}",
            est.alpha_adversarial,
            est.alpha_sampled
        );
        assert!(est.alpha <= est.alpha_adversarial);
        assert!(est.c_l >= est.c_l_sampled && est.c_l_adversarial >= est.c_l_sampled);
    }

    /// The certificates on least squares, where the exact constants are known: α certified ≤
    /// exact (and > 0: the Jacobian is constant, L_J = 0) and C_L certified ≥ exact; the same
    /// for a network without hidden layers, which is least squares with a bias (6 rows, d = 9).
    #[test]
    fn certified_constants_hold_on_least_squares() {
        let ls = LeastSquares::new(over_parameterised(), false);
        let zero = vec![0.0; 20];
        let exact = ls.exact_constants(&zero, 2.0).unwrap();
        let est = estimate(&ls, &zero, 2.0, &config(NoiseModel::None));
        let cert = est.certificate.unwrap();
        assert!(est.certified());
        let a = cert.alpha.unwrap();
        assert!(a > 0.0 && a <= exact.alpha, "{a} vs {}", exact.alpha);
        assert!(cert.c_l >= exact.c_l, "{} vs {}", cert.c_l, exact.c_l);

        let data = teacher_rows(6, None);
        let linear = Mlp::new(data.clone(), &[], Activation::Tanh).unwrap();
        let exact = LeastSquares::new(data, true)
            .exact_constants(&[0.0; 9], 1.0)
            .unwrap();
        let theta0 = vec![0.1; 9];
        let cert = estimate(&linear, &theta0, 1.0, &config(NoiseModel::None))
            .certificate
            .unwrap();
        let a = cert.alpha.unwrap();
        assert!(a > 0.0 && a <= exact.alpha, "{a} vs {}", exact.alpha);
        assert!(cert.c_l >= exact.c_l, "{} vs {}", cert.c_l, exact.c_l);
    }

    /// The network's output bounds are bounds: at 40 random points of a ball of radius 0.5 (far
    /// too large for an α certificate), ‖J(θ) − J(θ0)‖_F ≤ L_J·|θ − θ0|, ‖H(θ)‖ (power iteration,
    /// which cannot overstate it) ≤ the certified C_L and |∇F|²/(2F) ≤ it, for each smooth
    /// activation. On a ball small enough for a positive certificate, α certified ≤ every ratio
    /// seen and the adversarial α, and the run's constants are then certified.
    #[test]
    fn network_certificates_hold_at_random_points() {
        assert_network_certificates_hold(teacher_rows(6, None));
    }

    /// The same with two outputs (targets x8 and y, so 7 features): the output bounds count every
    /// output's rows of J.
    #[test]
    fn multi_output_network_certificates_hold_at_random_points() {
        let data = teacher_rows(6, Some("x8,y"));
        assert_eq!(data.outputs(), 2);
        assert_network_certificates_hold(data);
    }

    fn assert_network_certificates_hold(data: Arc<Dataset>) {
        let (p, outputs) = (data.features(), data.outputs());
        for act in [Activation::Tanh, Activation::Sigmoid, Activation::Softplus] {
            let m = Mlp::new(data.clone(), &[4, 3], act).unwrap();
            let shapes: Vec<_> = crate::landscape::layer_shapes(p, &[4, 3], outputs).collect();
            let theta0 = crate::init::lecun_normal(&shapes, true, 5);
            let (d, n) = (m.dim(), 6 * outputs);
            let bounds = m.output_bounds(&theta0, 0.5).unwrap();
            let jacobian = |theta: &[f64]| -> Vec<f64> {
                let mut j = vec![0.0; n * d];
                let mut work = vec![0.0; m.workspace_len()];
                for i in 0..n {
                    m.residual_and_output_gradient(theta, i, &mut j[i * d..(i + 1) * d], &mut work);
                }
                j
            };
            let j0 = jacobian(&theta0);
            let cfg = EstimatorConfig {
                samples: 20,
                ..config(NoiseModel::None)
            };
            let mut ev = Evaluator::new(&m, NoiseModel::None);
            for p in sample_points(&m, &theta0, 0.5, &cfg) {
                let dist = norm(
                    &p.iter()
                        .zip(&theta0)
                        .map(|(a, b)| a - b)
                        .collect::<Vec<_>>(),
                );
                let dj: Vec<f64> = jacobian(&p).iter().zip(&j0).map(|(a, b)| a - b).collect();
                assert!(
                    norm(&dj) <= bounds.jacobian_lipschitz * dist * (1.0 + 1e-9),
                    "{act}"
                );
                let mut v = generic_vector(d);
                let h = ev.power(&p, &mut v, 50);
                let (_, ratio) = ev.ratio(&p);
                assert!(
                    h <= bounds.c_l && ratio / 2.0 <= bounds.c_l,
                    "{act}: {h} {ratio}"
                );
            }
            // A ball small enough for the certificate.
            let r = 1e-4;
            let est = estimate(&m, &theta0, r, &config(NoiseModel::None));
            let cert = est.certificate.unwrap();
            let a = cert.alpha.unwrap_or_else(|| panic!("{act}: {cert:?}"));
            assert!(est.certified());
            assert!(
                a <= est.alpha_sampled && a <= est.alpha_adversarial,
                "{act}"
            );
            assert_eq!(est.alpha, a.min(est.alpha));
            assert!(cert.c_l >= est.c_l_adversarial && est.c_l == cert.c_l.max(est.c_l_sampled));
        }
    }
}
