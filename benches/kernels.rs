//! Step-kernel benchmarks: `cargo bench --bench kernels`.
//!
//! One gradient evaluation per landscape, one full SGD step with noise, one trajectory, the normal
//! sampler, and the W2 network (8 → 32 → 32 → 1, tanh, 16 teacher rows): its gradient for one θ and
//! one full lane-batched step of 8 trajectories (docs/performance.md). These are the numbers performance work (issue 5) moves; they are benchmarks,
//! never timed tests.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use lojasim::config::{Experiment, Settings};
use lojasim::landscape::{
    Activation, Gradient, Landscape, Mlp, Objective, ProblemKind, Quadratic, Ring,
};
use lojasim::lanes::{Lane, LaneRngs, level, noisy_step};
use lojasim::noise::{NoiseDist, NoiseModel};
use lojasim::rng::trajectory_rng;
use lojasim::runner::{Dynamics, GridLosses, LaneWorkspace, Workspace};
use lojasim::schedule::StepSchedule;
use lojasim::stepper::sgd_step;
use lojasim::tally::Tally;
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
            dynamics.run(
                &mut trajectory_rng(0, i),
                &mut ws,
                &grid,
                GridLosses::All,
                |_, f, _| {
                    black_box(f);
                },
            )
        })
    });
}

/// The W2 network: one full-batch gradient (one trajectory, scalar path), the lane kernel's
/// gradient of 8 θ, its noise (8 × 1377 normals), and one lane-batched ml-noise step of 8
/// trajectories (gradient of 8 θ, 8 × 1377 normals, update), via a 1-step run.
fn mlp(c: &mut Criterion) {
    let data = std::sync::Arc::new(
        lojasim::data::Dataset::parse("teacher.csv", include_str!("../data/teacher.csv"), None)
            .unwrap(),
    );
    let m = Mlp::new(data, &[32, 32], Activation::Tanh).unwrap();
    let d = m.dim();
    let theta: Vec<f64> = (0..d)
        .map(|j| ((j * 7919) % 200) as f64 / 1000.0 - 0.1)
        .collect();
    let mut grad = vec![0.0; d];
    let mut work = vec![0.0; m.workspace_len()];
    let mut g = c.benchmark_group("mlp W2");
    g.sample_size(20);
    g.bench_function("gradient/mlp 8-32-32-1 tanh, 16 rows", |b| {
        b.iter(|| m.loss_and_gradient(black_box(&theta), &mut grad, &mut work))
    });
    // The lane kernel alone: loss and gradient of 8 θ (trajectories) at once.
    let lg = m.lanes().unwrap();
    let theta_lanes: Vec<Lane> = theta.iter().map(|&t| Lane::splat(t)).collect();
    let mut grad_lanes = vec![Lane::ZERO; d];
    let mut work_lanes = vec![Lane::ZERO; lg.lane_workspace_len(0)];
    g.bench_function("gradient/mlp W2, 8 θ in lanes", |b| {
        b.iter(|| {
            lg.lanes_loss_and_gradient(
                level(),
                black_box(&theta_lanes),
                &mut grad_lanes,
                &mut work_lanes,
            )
        })
    });
    // Its forward pass alone (the loss of 8 θ; about a third of the multiply–adds).
    g.bench_function("loss/mlp W2, 8 θ in lanes", |b| {
        b.iter(|| lg.lanes_loss(level(), black_box(&theta_lanes), &mut work_lanes))
    });
    // Its ml noise and the update, as the step runs them (one fused pass): 1377 standard normals
    // per lane, scaled and added to g, θ ← θ − ηg, |θ − θ0|². η = 0 keeps θ where it is.
    let mut rngs = LaneRngs::new(std::array::from_fn(|l| {
        lojasim::rng::trajectory_state(0, l as u64)
    }));
    let mut theta_moved = theta_lanes.clone();
    g.bench_function("normals and update/1377 × 8 lanes", |b| {
        b.iter(|| {
            noisy_step(
                level(),
                &mut rngs,
                &mut theta_moved,
                &theta,
                black_box(&grad_lanes),
                &Lane::splat(1e-3),
                &Lane::ZERO,
            )
        })
    });
    let dynamics = Dynamics {
        landscape: &m,
        theta0: &theta,
        noise: NoiseModel::Ml { sigma: 1.0 },
        noise_dist: NoiseDist::Gaussian,
        schedule: StepSchedule::Constant { eta: 0.01 },
        radius: 10.0,
        steps: 1,
        eps: 1e-6,
    };
    let grid = lojasim::tally::curve_grid(1);
    let mut lws = LaneWorkspace::new(&dynamics);
    let mut tally = Tally::new(grid.clone());
    let mut i = 0;
    g.bench_function("step/mlp W2, 8 trajectories in lanes", |b| {
        b.iter(|| {
            i += 8;
            dynamics.run_lanes(
                level(),
                0,
                i,
                8,
                &mut lws,
                &grid,
                GridLosses::All,
                &mut tally,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, gradients, steps, trajectory, mlp);
criterion_main!(benches);
