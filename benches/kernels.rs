//! Step-kernel benchmarks: `cargo bench --bench kernels`.
//!
//! One gradient evaluation per landscape, one full SGD step with noise, one trajectory, and the
//! normal sampler. These are the numbers performance work (issue 5) moves; they are benchmarks,
//! never timed tests.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use lojasim::config::{Experiment, Settings};
use lojasim::landscape::{Gradient, ProblemKind, Quadratic, Ring};
use lojasim::noise::NoiseDist;
use lojasim::rng::trajectory_rng;
use lojasim::runner::Workspace;
use lojasim::stepper::sgd_step;
use rand_distr::{Distribution, StandardNormal};

fn gradients(c: &mut Criterion) {
    let d = 100;
    let theta = vec![0.05; d];
    let mut grad = vec![0.0; d];
    let q = Quadratic::new(vec![1.0; d]).unwrap();
    c.bench_function("gradient/quadratic d=100", |b| {
        b.iter(|| q.loss_and_gradient(black_box(&theta), &mut grad, &mut []))
    });
    let r = Ring::new(d).unwrap();
    c.bench_function("gradient/ring d=100", |b| {
        b.iter(|| r.loss_and_gradient(black_box(&theta), &mut grad, &mut []))
    });
}

fn steps(c: &mut Criterion) {
    let d = 100;
    let theta0 = vec![0.05; d];
    let mut theta = theta0.clone();
    let mut grad = vec![0.0; d];
    let q = Quadratic::new(vec![1.0; d]).unwrap();
    let mut rng = trajectory_rng(0, 0);
    c.bench_function("step/quadratic d=100 ml gaussian", |b| {
        b.iter(|| {
            theta.copy_from_slice(&theta0);
            let f = q.loss_and_gradient(&theta, &mut grad, &mut []);
            NoiseDist::Gaussian.add_scaled(&mut grad, (f).sqrt(), &mut rng);
            black_box(sgd_step(&mut theta, &theta0, &grad, 0.1))
        })
    });
    c.bench_function("sample/standard normal", |b| {
        b.iter(|| {
            let z: f64 = StandardNormal.sample(&mut rng);
            black_box(z)
        })
    });
}

/// One whole trajectory of workload W1 (quadratic, d = 100, K = 1000, ML noise σ = 1, η = 0.1).
fn trajectory(c: &mut Criterion) {
    let e = Experiment::new(&Settings {
        problem: ProblemKind::Quadratic,
        dim: Some(100),
        theta0: vec![0.05],
        eta: Some(0.1),
        radius: 1.0,
        ..Settings::default()
    })
    .unwrap();
    let dynamics = e.dynamics();
    let grid = lojasim::tally::curve_grid(e.steps);
    let mut ws = Workspace::new(e.landscape.as_ref());
    let mut i = 0;
    c.bench_function("trajectory/W1 quadratic d=100 K=1000", |b| {
        b.iter(|| {
            i += 1;
            dynamics.run(&mut trajectory_rng(0, i), &mut ws, &grid, |_, f, _| {
                black_box(f);
            })
        })
    });
}

criterion_group!(benches, gradients, steps, trajectory);
criterion_main!(benches);
