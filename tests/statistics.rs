//! Statistical and invariance tests of the engine against answers worked out independently.
//!
//! Every Monte Carlo comparison uses a fixed seed and a tolerance derived from a confidence level:
//! the exact answer must lie in the estimate's Wilson interval at level 1 − 1e-6 (a false failure
//! has probability ~1e-6 per check were the seed drawn at random; with the fixed seed the outcome
//! is deterministic).

use lojasim::config::{Experiment, NetworkSettings, Settings};
use lojasim::engine::{self, Control};
use lojasim::estimate::{CiMethod, binomial_interval};
use lojasim::landscape::ProblemKind;
use lojasim::noise::{NoiseDist, NoiseKind};
use lojasim::tally::Tally;
use lojasim::theory::BoundStatus;

const STRICT: f64 = 1.0 - 1e-6;

fn quadratic_1d(eta: f64, sigma: f64, theta0: f64, radius: f64, steps: u64, eps: f64) -> Settings {
    Settings {
        problem: ProblemKind::Quadratic,
        dim: Some(1),
        curvature: vec![1.0],
        theta0: vec![theta0],
        noise: NoiseKind::Ml,
        noise_dist: NoiseDist::Rademacher,
        sigma: Some(sigma),
        eta: Some(eta),
        radius,
        steps,
        eps,
        ..Settings::default()
    }
}

/// Exact P(stay through K) and P(stay and F(θ_K) ≤ ε) for F = aθ²/2 (here a = 1) in d = 1 with ML
/// Rademacher noise. Each step multiplies θ by u = 1 − ηa − c or v = 1 − ηa + c, c = η√(σa/2),
/// with probability ½ each, independently of the past (whatever the sign of θ, Z is symmetric).
/// So θ_k = θ0·u^j·v^(k−j) depends only on the number j of u-factors, and a dynamic programme over
/// (k, j) that drops the states outside the ball gives the exact path probabilities.
///
/// Returns (p_stay, p_converge, the smallest distance of any state to the ball's boundary or to
/// the ε threshold, relative), so the caller can check no state is so close to a boundary that
/// rounding differences between the recursion and the simulation could matter.
fn exact_1d(
    eta: f64,
    sigma: f64,
    theta0: f64,
    radius: f64,
    steps: u64,
    eps: f64,
) -> (f64, f64, f64) {
    let c = eta * (sigma / 2.0).sqrt();
    let (u, v) = (1.0 - eta - c, 1.0 - eta + c);
    let theta = |k: u64, j: u64| theta0 * u.powi(j as i32) * v.powi((k - j) as i32);
    let mut margin = f64::INFINITY;
    let mut mass = vec![1.0];
    for k in 1..=steps {
        let mut next = vec![0.0; k as usize + 1];
        for (j, &m) in mass.iter().enumerate() {
            next[j] += 0.5 * m; // a v-factor
            next[j + 1] += 0.5 * m; // a u-factor
        }
        for (j, m) in next.iter_mut().enumerate().filter(|(_, m)| **m > 0.0) {
            let dist = (theta(k, j as u64) - theta0).abs();
            margin = margin.min((dist - radius).abs() / radius);
            if dist > radius {
                *m = 0.0;
            }
        }
        mass = next;
    }
    let stay: f64 = mass.iter().sum();
    let mut converge = 0.0;
    for (j, &m) in mass.iter().enumerate() {
        let f = 0.5 * theta(steps, j as u64).powi(2);
        if m > 0.0 {
            margin = margin.min((f - eps).abs() / eps);
        }
        if f <= eps {
            converge += m;
        }
    }
    (stay, converge, margin)
}

fn simulate(s: &Settings, threads: usize) -> (Experiment, Tally) {
    let e = Experiment::new(s).unwrap();
    let t = engine::with_threads(threads, || e.simulate(Control::default()))
        .unwrap()
        .unwrap();
    (e, t)
}

#[test]
fn one_dimensional_estimates_agree_with_the_exact_recursion() {
    // (η, σ, θ0, r, K, ε), with step factors (u, v) = (0.029, 1.37), then (−0.5, 1.5) twice; the
    // exact (P(stay), P(converge)) are about (0.875, 0.875), (0.420, 0.179), (0.720, 0.525).
    let cases = [
        (0.3, 10.0, 0.1, 0.15, 30, 1e-8),
        (0.5, 8.0, 0.1, 0.2, 20, 1e-6),
        (0.5, 8.0, 0.1, 0.3, 20, 1e-4),
    ];
    for (i, &(eta, sigma, theta0, radius, steps, eps)) in cases.iter().enumerate() {
        let (p_stay, p_conv, margin) = exact_1d(eta, sigma, theta0, radius, steps, eps);
        assert!(
            margin > 1e-9,
            "case {i}: a state sits on a boundary (margin {margin})"
        );
        assert!(
            p_stay > 0.05 && p_stay < 0.95,
            "case {i}: P(stay) = {p_stay} is not informative"
        );
        assert!(
            p_conv > 0.02 && p_conv < p_stay,
            "case {i}: P(converge) = {p_conv} is not informative"
        );
        let mut s = quadratic_1d(eta, sigma, theta0, radius, steps, eps);
        s.trajectories = Some(200_000);
        s.seed = 2024 + i as u64;
        let (_, t) = simulate(&s, 0);
        for (name, count, p) in [
            ("stay", t.stayed, p_stay),
            ("converge", t.converged, p_conv),
        ] {
            let ci = binomial_interval(count, t.trajectories, STRICT, CiMethod::Wilson).unwrap();
            assert!(
                ci.lo <= p && p <= ci.hi,
                "case {i}: exact P({name}) = {p} outside [{}, {}] (count {count})",
                ci.lo,
                ci.hi
            );
        }
    }
}

#[test]
fn results_are_identical_for_any_thread_count_and_any_sharding() {
    let s = Settings {
        dim: Some(3),
        noise_dist: NoiseDist::Gaussian,
        trajectories: Some(1_000),
        ..quadratic_1d(0.3, 10.0, 0.1, 0.3, 200, 1e-8)
    };
    let (e, one) = simulate(&s, 1);
    assert!(
        one.stayed > 0 && one.stayed < one.trajectories,
        "the run should have both outcomes"
    );
    for threads in [2, 7] {
        assert_eq!(simulate(&s, threads).1, one, "{threads} threads");
    }
    // Shards cut at indices that are not multiples of the block size.
    let d = e.dynamics();
    let mut merged: Option<Tally> = None;
    for range in [0..1, 1..333, 333..334, 334..1000] {
        let part = engine::simulate(&d, s.seed, range, Control::default()).unwrap();
        match merged.as_mut() {
            None => merged = Some(part),
            Some(m) => m.merge(&part),
        }
    }
    assert_eq!(merged.unwrap(), one);
}

/// For F = (a/2)|θ|² with a common curvature and ML noise, E[F(θ_{k+1}) | θ_k] = ρ·F(θ_k) exactly
/// (docs/theory.md), so with a ball too large to leave E[F(θ_k)] = ρ^k·F(θ0): the theory's
/// inequality holds with equality. The estimate must be within 5 standard errors (about
/// 1 − 6e-7 two-sided for a normal mean) at every grid step up to 30.
#[test]
fn quadratic_contraction_is_exactly_rho_to_the_k() {
    let s = Settings {
        problem: ProblemKind::Quadratic,
        dim: Some(10),
        theta0: vec![0.3],
        sigma: Some(1.0),
        eta: Some(0.3),
        radius: 1e6,
        steps: 30,
        trajectories: Some(100_000),
        seed: 11,
        ..Settings::default()
    };
    let (e, t) = simulate(&s, 0);
    let b = e.bound();
    assert_eq!(t.stayed, t.trajectories);
    for (j, &k) in t.grid.iter().enumerate() {
        let (mean, se) = t.mean_loss(j).unwrap();
        let expected = b.expected_loss_bound(k, e.f0).unwrap();
        assert!(
            (mean - expected).abs() <= 5.0 * se + 1e-15 * expected,
            "k = {k}: mean {mean} vs ρ^k F0 = {expected} (se {se})"
        );
    }
}

/// With exits possible the indicator can only lower E[F·1{stayed}], so the estimate must not
/// exceed ρ^k·F(θ0) by more than 5 standard errors.
#[test]
fn stopped_expected_loss_stays_below_the_contraction_bound() {
    let s = Settings {
        problem: ProblemKind::Quadratic,
        dim: Some(4),
        theta0: vec![0.3],
        sigma: Some(6.0),
        eta: Some(0.2),
        radius: 0.6,
        steps: 200,
        trajectories: Some(50_000),
        seed: 5,
        ..Settings::default()
    };
    let (e, t) = simulate(&s, 0);
    assert!(t.stayed < t.trajectories, "some trajectories should leave");
    let b = e.bound();
    for (j, &k) in t.grid.iter().enumerate() {
        let (mean, se) = t.mean_loss(j).unwrap();
        let bound = b.expected_loss_bound(k, e.f0).unwrap();
        assert!(
            mean <= bound + 5.0 * se + 1e-300,
            "k = {k}: {mean} > {bound} + 5·{se}"
        );
    }
}

/// Where the bound is informative (1 − δ > 0) the estimate must never fall below it.
#[test]
fn estimates_never_fall_below_a_non_vacuous_bound() {
    // The ring experiment that was the default before the network landscapes (d = 10).
    let ring = || Settings {
        problem: ProblemKind::Ring,
        theta0: vec![0.3225],
        ..Settings::default()
    };
    let cases = [
        Settings {
            trajectories: Some(20_000),
            ..ring()
        },
        // Issue workload W1 (quadratic, d = 100).
        Settings {
            problem: ProblemKind::Quadratic,
            dim: Some(100),
            theta0: vec![0.05],
            eta: Some(0.1),
            radius: 1.0,
            trajectories: Some(2_000),
            ..Settings::default()
        },
        // Gradient descent is ML noise with σ = 0.
        Settings {
            noise: NoiseKind::None,
            trajectories: Some(100),
            ..ring()
        },
        // The default network (an MLP on the diabetes data, with estimated constants), pre-trained
        // for 50 000 exact steps and run at a step below the theorem's limit, where 1 − δ ≈ 0.85.
        // (At the default step 1/Ĉ_L the bound does not apply: ρ ≥ 1.)
        Settings {
            trajectories: Some(200),
            eta: Some(7.5e-6),
            network: NetworkSettings {
                init_loss: None,
                ..Default::default()
            },
            ..Settings::default()
        },
    ];
    for s in cases {
        let (e, t) = simulate(&s, 0);
        let b = e.bound();
        let stay = b.stay_bound.unwrap();
        assert!(
            stay > 0.0,
            "{:?}: bound should be informative",
            e.problem.kind
        );
        let lo = binomial_interval(t.stayed, t.trajectories, 0.95, CiMethod::Wilson).unwrap();
        let conv = binomial_interval(t.converged, t.trajectories, 0.95, CiMethod::Wilson).unwrap();
        assert_eq!(b.status(lo.hi, conv.hi), BoundStatus::Consistent);
        assert!(t.stayed as f64 / t.trajectories as f64 >= stay);
    }
}

/// The minibatch gradient is unbiased: E g = ∇F, in both sampling modes. On the teacher set with
/// an 8 → 4 → 1 tanh network at a fixed θ, 40 000 batches of B = 3 are drawn; every coordinate of
/// their mean must lie within 5 standard errors of ∇F (the standard error estimated from the same
/// draws). For a normal mean that is a two-sided level of 1 − 5.7e-7 per coordinate, so below
/// 1 − 3e-5 jointly over the 41 coordinates (union bound); the seed is fixed.
#[test]
fn minibatch_gradients_are_unbiased() {
    use lojasim::data::Dataset;
    use lojasim::landscape::{Activation, Gradient, Landscape, Mlp, Objective};
    use lojasim::noise::{BatchMode, draw_batch};
    use lojasim::rng::trajectory_rng;
    use std::sync::Arc;

    let data = Dataset::parse("teacher", include_str!("../data/teacher.csv"), None).unwrap();
    let m = Mlp::new(Arc::new(data), &[4], Activation::Tanh).unwrap();
    let d = m.dim();
    let theta: Vec<f64> = (0..d).map(|i| ((i * 5 % 13) as f64 - 6.0) / 8.0).collect();
    let mut work = vec![0.0; m.workspace_len()];
    let mut full = vec![0.0; d];
    m.loss_and_gradient(&theta, &mut full, &mut work);
    let ps = m.per_sample().unwrap();
    for mode in [BatchMode::WithReplacement, BatchMode::WithoutReplacement] {
        let mut rng = trajectory_rng(77, 0);
        let (mut batch, mut rows) = ([0usize; 3], [0usize; 16]);
        let mut g = vec![0.0; d];
        let (mut sum, mut sq) = (vec![0.0; d], vec![0.0; d]);
        let draws = 40_000;
        for _ in 0..draws {
            draw_batch(&mut rng, 16, mode, &mut batch, &mut rows);
            ps.batch_loss_and_gradient(&theta, &batch, &mut g, &mut work);
            for i in 0..d {
                sum[i] += g[i];
                sq[i] += g[i] * g[i];
            }
        }
        let n = draws as f64;
        for i in 0..d {
            let mean = sum[i] / n;
            let se = ((sq[i] / n - mean * mean).max(0.0) / n).sqrt();
            assert!(
                (mean - full[i]).abs() <= 5.0 * se + 1e-12,
                "{mode} coordinate {i}: mean {mean} vs ∇F {} (se {se})",
                full[i]
            );
        }
    }
}
