//! lojasim: Monte Carlo estimates of what a convergence theorem for SGD only bounds.
//!
//! An & Lu (arXiv 2304.09221) prove that SGD started in a ball B(θ0, r) on which a local
//! Łojasiewicz inequality |∇F|² ≥ α·F holds stays in the ball, and converges to a global minimum,
//! with probability at least 1 − δ, when the gradient noise scales with the loss. This crate
//! simulates many independently seeded SGD trajectories and estimates those probabilities with
//! confidence intervals, beside the theoretical bound.
//!
//! Layout: [`landscape`] (F and its constants), [`noise`], [`schedule`], [`stepper`] (one update),
//! [`runner`] (one trajectory and its [`runner::Outcome`]), [`engine`] (many, in parallel),
//! [`tally`] and [`estimate`] (reduction and intervals), [`theory`] (the bound), [`config`]
//! (checked settings), [`report`] (summary and CSV), [`sweep`] (grids, config ids, shards) and
//! [`output`] (resumable sweep files, curves, merge). Neural networks on real data: [`data`] (CSV
//! loading), [`init`] (θ0 of a network), [`constants`] (estimated α, C_L, σ), [`linalg`].

pub mod ams;
pub mod config;
pub mod constants;
pub mod data;
pub mod engine;
pub mod error;
pub mod estimate;
pub mod init;
pub mod landscape;
pub mod lanes;
pub mod linalg;
pub mod memory;
pub mod noise;
pub mod output;
pub mod record;
pub mod report;
pub mod rng;
pub mod runner;
pub mod schedule;
pub mod special;
pub mod stepper;
pub mod sweep;
pub mod tally;
pub mod theory;
pub mod trace;

pub use config::{Experiment, Settings};
pub use error::ConfigError;
