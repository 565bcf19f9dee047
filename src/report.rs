//! What a run reports: the typed result ([`RunReport`]), its CSV row and its human summary.

use std::fmt::{self, Write as _};

use crate::config::Experiment;
use crate::estimate::{Interval, IntervalError, binomial_interval};
use crate::landscape::{ConstantsSource, ProblemKind};
use crate::noise::NoiseModel;
use crate::tally::Tally;
use crate::theory::{Bound, BoundStatus};

/// CSV columns, in order. The first 36 are fixed by the documented interface (README.md); later
/// ones may be appended, never reordered. A value that does not apply is an empty cell.
pub const CSV_COLUMNS: [&str; 47] = [
    "problem",
    "dim",
    "noise",
    "noise_dist",
    "sigma",
    "schedule",
    "eta",
    "gamma",
    "n0",
    "q",
    "radius",
    "f0",
    "steps",
    "eps",
    "trajectories",
    "seed",
    "stay_count",
    "stay_p",
    "stay_lo",
    "stay_hi",
    "converge_count",
    "converge_p",
    "converge_lo",
    "converge_hi",
    "ci_method",
    "confidence",
    "alpha",
    "c_l",
    "rho",
    "delta",
    "stay_bound",
    "converge_bound",
    "bound_status",
    "chatterjee",
    "elapsed_s",
    "version",
    "constants_source",
    "theta0",
    "curvature",
    "exit_count",
    "mean_exit_step",
    "final_loss_mean",
    "data",
    "hidden",
    "activation",
    "batch",
    "batch_mode",
];

/// A proportion with its interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Proportion {
    pub count: u64,
    pub total: u64,
    pub interval: Interval,
}

impl Proportion {
    pub fn p(&self) -> f64 {
        self.count as f64 / self.total as f64
    }
}

/// The full result of one run.
pub struct RunReport<'a> {
    pub experiment: &'a Experiment,
    pub tally: Tally,
    pub stay: Proportion,
    pub converge: Proportion,
    pub bound: Bound,
    pub status: BoundStatus,
    pub elapsed_s: f64,
}

impl<'a> RunReport<'a> {
    pub fn new(
        experiment: &'a Experiment,
        tally: Tally,
        elapsed_s: f64,
    ) -> Result<Self, IntervalError> {
        let prop = |count| -> Result<Proportion, IntervalError> {
            Ok(Proportion {
                count,
                total: tally.trajectories,
                interval: binomial_interval(
                    count,
                    tally.trajectories,
                    experiment.confidence,
                    experiment.ci,
                )?,
            })
        };
        let stay = prop(tally.stayed)?;
        let converge = prop(tally.converged)?;
        let bound = experiment.bound();
        let status = bound.status(stay.interval.hi, converge.interval.hi);
        Ok(Self {
            experiment,
            tally,
            stay,
            converge,
            bound,
            status,
            elapsed_s,
        })
    }

    /// Mean F(θ_K) over the trajectories that stayed, if any did.
    pub fn final_loss_mean(&self) -> Option<f64> {
        let last = self.tally.curve.len() - 1;
        (self.tally.stayed > 0)
            .then(|| self.tally.curve[last].loss.value() / self.tally.stayed as f64)
    }

    /// The CSV row, aligned with [`CSV_COLUMNS`].
    pub fn csv_record(&self) -> Vec<String> {
        let e = self.experiment;
        let opt = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
        let num = |x: f64| x.to_string();
        let (eta, gamma, n0, q) = match e.schedule {
            crate::schedule::StepSchedule::Constant { eta } => (Some(eta), None, None, None),
            crate::schedule::StepSchedule::RobbinsMonro { gamma, n0, q } => {
                (None, Some(gamma), Some(n0), Some(q))
            }
        };
        let b = &self.bound;
        let batch = match e.noise {
            NoiseModel::Minibatch { batch, mode, .. } => Some((batch, mode)),
            _ => None,
        };
        let record = vec![
            e.problem.kind.name().to_string(),
            e.dim().to_string(),
            e.noise.kind().name().to_string(),
            if e.noise.is_random() {
                e.noise_dist.name().to_string()
            } else {
                String::new()
            },
            opt(e.noise.sigma()),
            e.schedule.kind().name().to_string(),
            opt(eta),
            opt(gamma),
            opt(n0),
            opt(q),
            num(e.radius),
            num(e.f0),
            e.steps.to_string(),
            num(e.eps),
            self.stay.total.to_string(),
            e.seed.to_string(),
            self.stay.count.to_string(),
            num(self.stay.p()),
            num(self.stay.interval.lo),
            num(self.stay.interval.hi),
            self.converge.count.to_string(),
            num(self.converge.p()),
            num(self.converge.interval.lo),
            num(self.converge.interval.hi),
            e.ci.name().to_string(),
            num(e.confidence),
            num(e.constants.alpha),
            num(e.constants.c_l),
            opt(b.rho),
            opt(b.delta),
            opt(b.stay_bound),
            opt(b.converge_bound),
            status_name(self.status, e.constants.source),
            b.chatterjee.to_string(),
            format!("{:.3}", self.elapsed_s),
            env!("CARGO_PKG_VERSION").to_string(),
            constants_source_name(e.constants.source).to_string(),
            list(&e.theta0),
            if e.problem.kind == ProblemKind::Quadratic {
                list(&e.problem.curvature)
            } else {
                String::new()
            },
            self.tally.exited().to_string(),
            opt(self.tally.mean_exit_step()),
            opt(self.final_loss_mean()),
            e.data.as_ref().map_or(String::new(), |d| d.name.clone()),
            if e.problem.kind == ProblemKind::Mlp {
                hidden(&e.problem.network.hidden)
            } else {
                String::new()
            },
            if e.problem.kind == ProblemKind::Mlp {
                e.problem.network.activation.name().to_string()
            } else {
                String::new()
            },
            batch.map_or(String::new(), |(b, _)| b.to_string()),
            batch.map_or(String::new(), |(_, m)| m.name().to_string()),
        ];
        debug_assert_eq!(record.len(), CSV_COLUMNS.len());
        record
    }
}

pub fn constants_source_name(source: ConstantsSource) -> &'static str {
    match source {
        ConstantsSource::Exact => "exact",
        ConstantsSource::User => "user",
        ConstantsSource::Estimated => "estimated",
    }
}

/// The `bound_status` cell: the status, marked `-estimated` when the bound rests on estimated
/// constants (`consistent-estimated`, `violated-estimated`, `vacuous-estimated`); `not-applicable`
/// is never marked.
pub fn status_name(status: BoundStatus, source: ConstantsSource) -> String {
    if source == ConstantsSource::Estimated && status != BoundStatus::NotApplicable {
        format!("{}-estimated", status.name())
    } else {
        status.name().to_string()
    }
}

/// Hidden widths as written on the command line, e.g. `32,32`.
fn hidden(widths: &[usize]) -> String {
    widths
        .iter()
        .map(|w| w.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// A list of values as one CSV cell: the single value, or all of them separated by `;` (a list
/// that is one value repeated is written once, as the flag that would reproduce it).
fn list(values: &[f64]) -> String {
    if values.windows(2).all(|w| w[0].to_bits() == w[1].to_bits()) {
        values.first().map_or(String::new(), |v| v.to_string())
    } else {
        values
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(";")
    }
}

fn interval_line(name: &str, p: &Proportion, ci: &str) -> String {
    format!(
        "  {name:<12} {:.4}  [{:.4}, {:.4}]  ({} of {}; {ci})\n",
        p.p(),
        p.interval.lo,
        p.interval.hi,
        p.count,
        p.total
    )
}

impl fmt::Display for RunReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.experiment;
        let mut s = String::new();
        let noise = match e.noise {
            NoiseModel::Minibatch { batch, mode, .. } => {
                format!("minibatch noise (B = {batch}, {mode})")
            }
            _ => match e.noise.sigma() {
                Some(sigma) => {
                    format!("{} noise ({} Z, σ = {sigma})", e.noise.kind(), e.noise_dist)
                }
                None => "no noise (gradient descent)".to_string(),
            },
        };
        let schedule = match e.schedule {
            crate::schedule::StepSchedule::Constant { eta } => format!("constant step η = {eta}"),
            crate::schedule::StepSchedule::RobbinsMonro { gamma, n0, q } => {
                format!("Robbins–Monro steps η_k = {gamma}/(k + {n0})^{q}")
            }
        };
        let norm0 = e.theta0.iter().map(|t| t * t).sum::<f64>().sqrt();
        let _ = writeln!(
            s,
            "lojasim {} — {}, d = {}, {noise}, {schedule}",
            env!("CARGO_PKG_VERSION"),
            e.problem.kind,
            e.dim()
        );
        if let Some(d) = &e.data {
            let model = match e.problem.kind {
                ProblemKind::Mlp => format!(
                    "network {} → {} → 1, {}",
                    d.features(),
                    hidden(&e.problem.network.hidden).replace(',', " → "),
                    e.problem.network.activation
                )
                .replace(" →  →", " →"),
                _ => format!(
                    "linear model{}",
                    if e.problem.network.bias {
                        " with bias"
                    } else {
                        ""
                    }
                ),
            };
            let _ = writeln!(
                s,
                "  data         {}: n = {} rows, p = {} features, target '{}'; {model}",
                d.name,
                d.rows(),
                d.features(),
                d.target_name
            );
        }
        let _ = writeln!(
            s,
            "  start        |θ0| = {norm0:.6}, F(θ0) = {:.6e}, ball radius r = {}",
            e.f0, e.radius
        );
        let _ = writeln!(
            s,
            "  run          {} trajectories × {} steps, seed {}, ε = {:e}",
            self.stay.total, e.steps, e.seed, e.eps
        );
        let ci = format!("{} {}%", e.ci, e.confidence * 100.0);
        s += "\n";
        s += &interval_line("P(stay)", &self.stay, &ci);
        s += &interval_line("P(converge)", &self.converge, &ci);
        if let Some(m) = self.tally.mean_exit_step() {
            let _ = writeln!(
                s,
                "  exits        {} trajectories left the ball, at step {m:.1} on average",
                self.tally.exited()
            );
        }
        if let Some(m) = self.final_loss_mean() {
            let _ = writeln!(
                s,
                "  F(θ_K)       {m:.3e} on average over those that stayed"
            );
        }
        let b = &self.bound;
        let _ = writeln!(
            s,
            "\n  theory       α = {:.6}, C_L = {:.6} ({} constants)",
            e.constants.alpha,
            e.constants.c_l,
            constants_source_name(e.constants.source)
        );
        if let NoiseModel::Minibatch { sigma, .. } = e.noise {
            let _ = writeln!(
                s,
                "               σ = {sigma:.6} (E|g − ∇F|² ≤ σ·F for the minibatch gradient)"
            );
        }
        if let Some(est) = &e.estimates {
            let _ = writeln!(
                s,
                "               estimated from {} points of the ball: estimates, not certificates",
                est.points
            );
            if let Some(ntk) = est.ntk_alpha {
                let _ = writeln!(
                    s,
                    "               (empirical NTK: smallest λ_min(J Jᵀ) seen gives α ≥ {ntk:.6} there)"
                );
            }
        }
        if let Some(rho) = b.rho {
            if (0.999..1.0).contains(&rho) {
                let _ = writeln!(s, "               ρ = 1 − {:.6e}", 1.0 - rho);
            } else {
                let _ = writeln!(s, "               ρ = {rho:.6}");
            }
        }
        match (b.delta, b.stay_bound, b.converge_bound) {
            (Some(delta), Some(stay), Some(conv)) => {
                let vac = |x: f64| if x <= 0.0 { "  (vacuous)" } else { "" };
                let _ = writeln!(s, "               δ = {delta:.6}");
                let _ = writeln!(s, "               P(stay) ≥ 1 − δ = {stay:.6}{}", vac(stay));
                let _ = writeln!(
                    s,
                    "               P(converge) ≥ 1 − δ − ρ^K·F(θ0)/ε = {conv:.6}{}",
                    vac(conv)
                );
            }
            _ => {
                if let Some(why) = b.not_applicable {
                    let _ = writeln!(s, "               the bound does not apply: {why}");
                }
            }
        }
        let _ = writeln!(
            s,
            "               Chatterjee's criterion 4·F(θ0) < r²·α: {}",
            b.chatterjee
        );
        let _ = writeln!(
            s,
            "  bound status {}",
            status_name(self.status, e.constants.source)
        );
        if self.status == BoundStatus::Violated {
            let _ = writeln!(
                s,
                "  WARNING: an estimate lies entirely below the theorem's bound. Either an assumption of \
                 the theorem fails here (check --alpha / --c-l) or there is a bug: please report it."
            );
        }
        let _ = write!(s, "  elapsed      {:.3} s", self.elapsed_s);
        f.write_str(&s)
    }
}
