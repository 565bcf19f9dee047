//! What a run reports: the typed result ([`RunReport`]), its CSV row and its human summary.

use std::fmt::{self, Write as _};

use crate::ams::{ExitEstimate, SplittingTally, TargetOutcome};
use crate::config::{Estimator, Experiment};
use crate::constants::Estimates;
use crate::error::ConfigError;
use crate::estimate::exact_sum::ExactSum;
use crate::estimate::{Interval, IntervalError, binomial_interval};
use crate::landscape::{ConstantsSource, Param};
use crate::noise::NoiseModel;
use crate::tally::Tally;
use crate::theory::{Bound, BoundStatus};

/// CSV columns, in order. The first 36 are fixed by the documented interface (README.md); later
/// ones may be appended, never reordered. A value that does not apply is an empty cell.
pub const CSV_COLUMNS: [&str; 70] = [
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
    "init_seed",
    "init_steps",
    "estimator",
    "exit_p",
    "exit_lo",
    "exit_hi",
    "delta_over_exit",
    "delta_over_exit_lo",
    "delta_over_exit_hi",
    "particles",
    "replicas",
    "ams_iterations_mean",
    "extinctions",
    "ams_score",
    "precision_target",
    "target_met",
    "partial",
    "init_loss",
    "init_s",
    "constants_s",
    "total_s",
    "targets",
    "rows",
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

/// What a run measured, by estimator. (One per run, never in a hot loop: boxing the larger
/// variant would buy nothing.)
#[allow(clippy::large_enum_variant)]
pub enum Measurement {
    /// Crude Monte Carlo: counts, with binomial (or sequential) intervals.
    Mc {
        tally: Tally,
        stay: Proportion,
        converge: Proportion,
    },
    /// Splitting: P(exit) from independent replicas (P(converge) is not estimated).
    Splitting {
        tally: SplittingTally,
        exit: ExitEstimate,
    },
}

/// The full result of one run.
pub struct RunReport<'a> {
    pub experiment: &'a Experiment,
    pub measurement: Measurement,
    pub bound: Bound,
    pub status: BoundStatus,
    pub elapsed_s: f64,
    /// The interval method as written in `ci_method` (`wilson`, `betting-cs` for a run to a
    /// target half-width, `ams-t` for splitting).
    pub ci_label: String,
    /// For a run to a precision target, whether it was met (`target_met`).
    pub target_met: Option<bool>,
    /// How a splitting run to `--target-relative-error` stopped.
    pub relative_target: Option<TargetOutcome>,
    /// How a crude Monte Carlo run to `--target-halfwidth` stopped.
    pub halfwidth_target: Option<HalfwidthOutcome>,
    /// For a run interrupted by Ctrl-C, the trajectories it had planned: the row then holds the
    /// estimate of those finished (`partial = true`).
    pub partial_of: Option<u64>,
}

/// Seconds per phase of a run: pre-training and the constants estimator (`None` where the run
/// had none), and the simulation (`elapsed_s`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Phases {
    pub init_s: Option<f64>,
    pub constants_s: Option<f64>,
    pub simulation_s: f64,
}

impl Phases {
    pub fn total_s(&self) -> f64 {
        self.init_s.unwrap_or(0.0) + self.constants_s.unwrap_or(0.0) + self.simulation_s
    }

    /// The summary's `elapsed` line.
    pub fn line(&self) -> String {
        let mut parts = vec![format!("simulation {:.3} s", self.simulation_s)];
        if let Some(t) = self.init_s {
            parts.push(format!("pre-training {t:.3} s"));
        }
        if let Some(t) = self.constants_s {
            parts.push(format!("constants {t:.3} s"));
        }
        if parts.len() == 1 {
            format!("  elapsed      {:.3} s", self.simulation_s)
        } else {
            format!(
                "  elapsed      {:.3} s: {}",
                self.total_s(),
                parts.join(", ")
            )
        }
    }
}

/// How a crude Monte Carlo run to a target half-width stopped (for the summary).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HalfwidthOutcome {
    /// `--target-halfwidth`.
    pub target: f64,
    /// `--max-trajectories` (or `--trajectories`).
    pub cap: u64,
    /// Interval checks made, one per block of
    /// [`CHECK_EVERY`](crate::estimate::sequential::CHECK_EVERY) trajectories.
    pub looks: u32,
    /// Whether both half-widths reached the target.
    pub reached: bool,
}

impl HalfwidthOutcome {
    /// At least about how many trajectories a run needs whose widest half-width is `halfwidth`
    /// after `n`: the half-width shrinks at best as 1/√n (the confidence sequence's more slowly),
    /// so this is a lower estimate.
    pub fn trajectories_needed(&self, n: u64, halfwidth: f64) -> u64 {
        (n as f64 * (halfwidth / self.target).powi(2)).ceil() as u64
    }
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
        Ok(Self::with_intervals(
            experiment,
            tally,
            elapsed_s,
            [stay.interval, converge.interval],
            experiment.ci.name().to_string(),
        ))
    }

    /// A report whose intervals (P(stay), P(converge)) were computed elsewhere, by the method
    /// named `ci_label` (the sequential estimator).
    pub fn with_intervals(
        experiment: &'a Experiment,
        tally: Tally,
        elapsed_s: f64,
        [stay, converge]: [Interval; 2],
        ci_label: String,
    ) -> Self {
        let prop = |count, interval| Proportion {
            count,
            total: tally.trajectories,
            interval,
        };
        let stay = prop(tally.stayed, stay);
        let converge = prop(tally.converged, converge);
        Self::of(
            experiment,
            Measurement::Mc {
                tally,
                stay,
                converge,
            },
            elapsed_s,
            ci_label,
        )
    }

    /// The report of splitting replicas.
    pub fn splitting(experiment: &'a Experiment, tally: SplittingTally, elapsed_s: f64) -> Self {
        let exit = tally.estimate(experiment.confidence);
        Self::of(
            experiment,
            Measurement::Splitting { tally, exit },
            elapsed_s,
            crate::ams::CI_METHOD.to_string(),
        )
    }

    /// The report of splitting replicas run to a relative precision: `exit` is the interval at
    /// the stopping look's level.
    pub fn splitting_to_target(
        experiment: &'a Experiment,
        tally: SplittingTally,
        exit: ExitEstimate,
        outcome: TargetOutcome,
        elapsed_s: f64,
    ) -> Self {
        let mut report = Self::of(
            experiment,
            Measurement::Splitting { tally, exit },
            elapsed_s,
            crate::ams::SPENT_CI_METHOD.to_string(),
        );
        report.target_met = Some(outcome.reached);
        report.relative_target = Some(outcome);
        report
    }

    fn of(
        experiment: &'a Experiment,
        measurement: Measurement,
        elapsed_s: f64,
        ci_label: String,
    ) -> Self {
        let bound = experiment.bound();
        let status = measurement.status(&BoundCells::of(&bound));
        Self {
            experiment,
            measurement,
            bound,
            status,
            elapsed_s,
            ci_label,
            target_met: None,
            relative_target: None,
            halfwidth_target: None,
            partial_of: None,
        }
    }

    /// The time of each phase of this run.
    pub fn phases(&self) -> Phases {
        let e = self.experiment;
        Phases {
            init_s: e.init.map(|i| i.elapsed_s),
            constants_s: e.estimates.map(|_| e.constants_s),
            simulation_s: self.elapsed_s,
        }
    }

    /// The crude Monte Carlo tally, if the run was crude Monte Carlo.
    pub fn tally(&self) -> Option<&Tally> {
        match &self.measurement {
            Measurement::Mc { tally, .. } => Some(tally),
            Measurement::Splitting { .. } => None,
        }
    }

    /// Mean F(θ_K) over the trajectories that stayed, if any did (crude Monte Carlo).
    pub fn final_loss_mean(&self) -> Option<f64> {
        let tally = self.tally()?;
        let last = tally.curve.len() - 1;
        (tally.stayed > 0).then(|| tally.curve[last].loss.value() / tally.stayed as f64)
    }

    /// P(exit) with its interval: one minus the stay interval for crude Monte Carlo.
    pub fn exit(&self) -> ExitEstimate {
        self.measurement.exit()
    }

    /// The CSV row, aligned with [`CSV_COLUMNS`].
    pub fn csv_record(&self) -> Vec<String> {
        let e = self.experiment;
        let opt = |x: Option<f64>| x.map_or(String::new(), fmt_f64);
        let num = fmt_f64;
        let (eta, gamma, n0, q) = match e.schedule {
            crate::schedule::StepSchedule::Constant { eta } => (Some(eta), None, None, None),
            crate::schedule::StepSchedule::RobbinsMonro { gamma, n0, q } => {
                (None, Some(gamma), Some(n0), Some(q))
            }
        };
        let b = &self.bound;
        let init = e.init;
        let batch = match e.noise {
            NoiseModel::Minibatch { batch, mode, .. } => Some((batch, mode)),
            _ => None,
        };
        let mut row = Row::new(&CSV_COLUMNS);
        row.set("problem", e.problem.kind.name());
        row.set("dim", e.dim().to_string());
        row.set("noise", e.noise.kind().name());
        row.set(
            "noise_dist",
            if e.noise.is_random() {
                e.noise_dist.name()
            } else {
                ""
            },
        );
        row.set("sigma", opt(e.noise.sigma()));
        row.set("schedule", e.schedule.kind().name());
        row.set("eta", opt(eta));
        row.set("gamma", opt(gamma));
        row.set("n0", opt(n0));
        row.set("q", opt(q));
        row.set("radius", num(e.radius));
        row.set("f0", num(e.f0));
        row.set("steps", e.steps.to_string());
        row.set("eps", num(e.eps));
        row.set("seed", e.seed.to_string());
        row.set("ci_method", self.ci_label.clone());
        row.set("confidence", num(e.confidence));
        row.set("alpha", num(e.constants.alpha));
        row.set("c_l", num(e.constants.c_l));
        row.set("rho", opt(b.rho));
        row.set("delta", opt(b.delta));
        row.set("stay_bound", opt(b.stay_bound));
        row.set("converge_bound", opt(b.converge_bound));
        row.set("chatterjee", b.chatterjee.to_string());
        let phases = self.phases();
        let seconds = |x: Option<f64>| x.map_or(String::new(), |t| format!("{t:.6}"));
        row.set("elapsed_s", format!("{:.6}", self.elapsed_s));
        row.set("init_s", seconds(phases.init_s));
        row.set("constants_s", seconds(phases.constants_s));
        row.set("total_s", format!("{:.6}", phases.total_s()));
        row.set("version", env!("CARGO_PKG_VERSION"));
        row.set(
            "constants_source",
            constants_source_name(e.constants.source),
        );
        row.set("theta0", list(&e.theta0));
        for column in LANDSCAPE_COLUMNS {
            row.set(column, "");
        }
        for (column, value) in e.problem.kind.spec().csv_cells(&e.problem) {
            assert!(LANDSCAPE_COLUMNS.contains(&column), "{column}");
            row.set(column, cell(value));
        }
        row.set(
            "data",
            e.data.as_ref().map_or(String::new(), |d| d.name.clone()),
        );
        row.set("batch", batch.map_or(String::new(), |(b, _)| b.to_string()));
        row.set("batch_mode", batch.map_or("", |(_, m)| m.name()));
        let precision_target = match (&self.halfwidth_target, &self.relative_target) {
            (Some(t), _) => fmt_f64(t.target),
            (None, Some(t)) => fmt_f64(t.target.error),
            (None, None) => String::new(),
        };
        row.set("precision_target", precision_target);
        row.set(
            "target_met",
            self.target_met
                .map_or("", |m| if m { "true" } else { "false" }),
        );
        row.set(
            "partial",
            if self.partial_of.is_some() {
                "true"
            } else {
                ""
            },
        );
        row.set(
            "ams_score",
            match e.estimator {
                Estimator::Splitting { score, .. } => score.name(),
                Estimator::Mc => "",
            },
        );
        row.set(
            "init_seed",
            init.map_or(String::new(), |i| i.seed.to_string()),
        );
        row.set(
            "init_steps",
            init.map_or(String::new(), |i| i.steps.to_string()),
        );
        row.set(
            "init_loss",
            init.and_then(|i| i.target).map_or(String::new(), fmt_f64),
        );
        // The data's targets (`;`-separated) or `onehot:` and its class column; the rows used.
        row.set(
            "targets",
            e.data
                .as_ref()
                .map_or(String::new(), |d| match d.class_column() {
                    Some(c) => format!("onehot:{c}"),
                    None => d.target_names.join(";"),
                }),
        );
        row.set(
            "rows",
            e.data
                .as_ref()
                .map_or(String::new(), |d| d.rows().to_string()),
        );
        self.measurement
            .cells()
            .write(&mut row, &BoundCells::of(b), e.constants.source);
        row.finish()
    }
}

/// A row of a CSV file under construction: every cell is set by its column's name, and
/// [`Row::finish`] checks that none was forgotten, so a row cannot fall out of step with its
/// header.
pub struct Row<'h> {
    header: &'h [&'static str],
    cells: Vec<Option<String>>,
}

impl<'h> Row<'h> {
    pub fn new(header: &'h [&'static str]) -> Self {
        Self {
            header,
            cells: vec![None; header.len()],
        }
    }

    /// A row whose cells start as `cells` (read from a file), to be partly overwritten.
    pub fn from_cells(header: &'h [&'static str], cells: &[String]) -> Self {
        assert_eq!(header.len(), cells.len());
        Self {
            header,
            cells: cells.iter().cloned().map(Some).collect(),
        }
    }

    /// Sets column `name`.
    ///
    /// # Panics
    /// If the header has no column `name` (a programming error, caught by every test that writes
    /// a row).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let c = self
            .header
            .iter()
            .position(|&h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"));
        self.cells[c] = Some(value.into());
    }

    /// The cells, in header order.
    ///
    /// # Panics
    /// If a column was never set.
    pub fn finish(self) -> Vec<String> {
        self.cells
            .into_iter()
            .zip(self.header)
            .map(|(c, h)| c.unwrap_or_else(|| panic!("column {h} was not set")))
            .collect()
    }
}

/// The bounds a row's status and tightness are judged against (as its `stay_bound`,
/// `converge_bound` and `delta` cells hold them).
pub struct BoundCells {
    pub stay_bound: Option<f64>,
    pub converge_bound: Option<f64>,
    pub delta: Option<f64>,
}

impl BoundCells {
    pub fn of(b: &Bound) -> Self {
        Self {
            stay_bound: b.stay_bound,
            converge_bound: b.converge_bound,
            delta: b.delta,
        }
    }
}

impl Measurement {
    fn cells(&self) -> Measured<'_> {
        match self {
            Measurement::Mc {
                tally,
                stay,
                converge,
            } => Measured::Mc {
                stay: *stay,
                converge: *converge,
                exit_step_sum: tally.exit_step_sum,
                final_loss_sum: &tally.curve[tally.curve.len() - 1].loss,
            },
            Measurement::Splitting { tally, exit } => Measured::Splitting { tally, exit: *exit },
        }
    }

    fn status(&self, bounds: &BoundCells) -> BoundStatus {
        self.cells().status(bounds)
    }

    fn exit(&self) -> ExitEstimate {
        self.cells().exit()
    }
}

/// What a run measured, in the form both a fresh run and `merge` (from summed counts and sums)
/// hold: the one place where proportions, intervals, the bound status, the tightness δ/P(exit)
/// and the means become cells.
pub enum Measured<'a> {
    Mc {
        stay: Proportion,
        converge: Proportion,
        exit_step_sum: u128,
        /// Σ F(θ_K) over the trajectories that stayed.
        final_loss_sum: &'a ExactSum,
    },
    Splitting {
        tally: &'a SplittingTally,
        exit: ExitEstimate,
    },
}

impl Measured<'_> {
    /// P(exit) with its interval: exactly one minus the stay interval for crude Monte Carlo.
    pub fn exit(&self) -> ExitEstimate {
        match self {
            Measured::Mc { stay, .. } => ExitEstimate {
                p: (stay.total - stay.count) as f64 / stay.total as f64,
                lo: 1.0 - stay.interval.hi,
                hi: 1.0 - stay.interval.lo,
            },
            Measured::Splitting { exit, .. } => *exit,
        }
    }

    /// The bound status of these intervals against `bounds` (splitting estimates P(stay) only,
    /// so only its bound can be violated).
    pub fn status(&self, bounds: &BoundCells) -> BoundStatus {
        let (stay_hi, converge_hi) = match self {
            Measured::Mc { stay, converge, .. } => (stay.interval.hi, converge.interval.hi),
            Measured::Splitting { exit, .. } => (1.0 - exit.lo, 1.0),
        };
        BoundStatus::of(
            bounds.stay_bound,
            bounds.converge_bound,
            stay_hi,
            converge_hi,
        )
    }

    /// Writes every cell derived from the counts and sums: `trajectories`, the proportions and
    /// intervals, `bound_status`, `exit_count`, `mean_exit_step`, `final_loss_mean`, and the
    /// estimator's columns (`estimator`, P(exit), δ/P(exit), the splitting effort).
    pub fn write(&self, row: &mut Row<'_>, bounds: &BoundCells, source: ConstantsSource) {
        let num = fmt_f64;
        let opt = |x: Option<f64>| x.map_or(String::new(), fmt_f64);
        // NaN: not resolved (every splitting replica extinct), an empty cell.
        let known = |x: f64| opt((!x.is_nan()).then_some(x));
        let exit = self.exit();
        match self {
            Measured::Mc {
                stay,
                converge,
                exit_step_sum,
                final_loss_sum,
            } => {
                row.set("estimator", "mc");
                row.set("trajectories", stay.total.to_string());
                row.set("stay_count", stay.count.to_string());
                row.set("stay_p", num(stay.p()));
                row.set("stay_lo", num(stay.interval.lo));
                row.set("stay_hi", num(stay.interval.hi));
                row.set("converge_count", converge.count.to_string());
                row.set("converge_p", num(converge.p()));
                row.set("converge_lo", num(converge.interval.lo));
                row.set("converge_hi", num(converge.interval.hi));
                let exited = stay.total - stay.count;
                row.set("exit_count", exited.to_string());
                row.set(
                    "mean_exit_step",
                    opt((exited > 0).then(|| *exit_step_sum as f64 / exited as f64)),
                );
                row.set(
                    "final_loss_mean",
                    opt((stay.count > 0).then(|| final_loss_sum.value() / stay.count as f64)),
                );
                for c in [
                    "particles",
                    "replicas",
                    "ams_iterations_mean",
                    "extinctions",
                ] {
                    row.set(c, "");
                }
            }
            Measured::Splitting { tally, .. } => {
                row.set("estimator", "ams");
                row.set("trajectories", "");
                row.set("stay_count", "");
                row.set("stay_p", num(1.0 - exit.p));
                row.set("stay_lo", known(1.0 - exit.hi));
                row.set("stay_hi", num(1.0 - exit.lo));
                for c in [
                    "converge_count",
                    "converge_p",
                    "converge_lo",
                    "converge_hi",
                    "exit_count",
                    "mean_exit_step",
                    "final_loss_mean",
                ] {
                    row.set(c, "");
                }
                row.set("particles", tally.particles.to_string());
                row.set("replicas", tally.replicas.to_string());
                row.set("ams_iterations_mean", num(tally.mean_iterations()));
                row.set("extinctions", tally.extinctions.to_string());
            }
        }
        row.set("bound_status", status_name(self.status(bounds), source));
        row.set("exit_p", num(exit.p));
        row.set("exit_lo", num(exit.lo));
        row.set("exit_hi", known(exit.hi));
        let ratio = bounds.delta.map(|d| tightness(d, &exit));
        row.set("delta_over_exit", opt(ratio.map(|r| r.0)));
        row.set("delta_over_exit_lo", known(ratio.map_or(f64::NAN, |r| r.1)));
        row.set("delta_over_exit_hi", opt(ratio.map(|r| r.2)));
    }
}

/// δ/P(exit) and its interval [δ/exit_hi, δ/exit_lo]: how many times the theorem overstates the
/// exit probability (+∞ where the estimate or the interval's lower end is 0).
pub fn tightness(delta: f64, exit: &ExitEstimate) -> (f64, f64, f64) {
    (delta / exit.p, delta / exit.hi, delta / exit.lo)
}

/// The `constants_source` cell.
pub fn constants_source_name(source: ConstantsSource) -> &'static str {
    match source {
        ConstantsSource::Exact => "exact",
        ConstantsSource::User => "user",
        ConstantsSource::Estimated => "estimated",
        ConstantsSource::Certified => "certified",
    }
}

/// The source a `constants_source` cell names.
pub fn constants_source_of(name: &str) -> Option<ConstantsSource> {
    [
        ConstantsSource::Exact,
        ConstantsSource::User,
        ConstantsSource::Estimated,
        ConstantsSource::Certified,
    ]
    .into_iter()
    .find(|&s| constants_source_name(s) == name)
}

/// Shortest text that parses back to exactly `x`: plain for moderate magnitudes, scientific
/// (`9.25e-32`) otherwise, so that CSV cells stay short and lossless.
/// A constant in the summary: six decimals from 10⁻³ to 10⁶ (and for 0), else four significant
/// digits in scientific notation, so that a small α does not read 0.000000.
pub fn fmt_constant(x: f64) -> String {
    if x == 0.0 || (1e-3..1e6).contains(&x.abs()) {
        format!("{x:.6}")
    } else {
        format!("{x:.3e}")
    }
}

pub fn fmt_f64(x: f64) -> String {
    let a = x.abs();
    if a == 0.0 || (1e-4..1e15).contains(&a) || !x.is_finite() {
        x.to_string()
    } else {
        format!("{x:e}")
    }
}

/// The `bound_status` cell: the status, marked `-estimated` when the bound rests on estimated
/// constants (`consistent-estimated`, `violated-estimated`, `vacuous-estimated`) and `-certified`
/// when it rests on constants certified over the ball (`consistent-certified`, …);
/// `not-applicable` is never marked. Exact and user constants leave the status unmarked.
pub fn status_name(status: BoundStatus, source: ConstantsSource) -> String {
    let mark = match source {
        ConstantsSource::Estimated => "-estimated",
        ConstantsSource::Certified => "-certified",
        ConstantsSource::Exact | ConstantsSource::User => "",
    };
    if status == BoundStatus::NotApplicable {
        status.name().to_string()
    } else {
        format!("{}{mark}", status.name())
    }
}

/// A ratio for the summary: four significant digits, ∞ spelt out.
fn fmt_ratio(x: f64) -> String {
    if x.is_infinite() {
        "∞".to_string()
    } else if (1e-3..1e5).contains(&x.abs()) {
        format!("{:.4}", x)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        format!("{x:.3e}")
    }
}

/// The columns a landscape fills with its own settings ([`crate::landscape::Spec::csv_cells`]);
/// empty for a landscape that does not name them.
const LANDSCAPE_COLUMNS: [&str; 3] = ["curvature", "hidden", "activation"];

/// A landscape setting as one CSV cell: numbers as [`list`], widths as written on the command
/// line (e.g. `32,32`).
fn cell(value: Param<'_>) -> String {
    match value {
        Param::Numbers(values) => list(values),
        Param::Widths(widths) => widths
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join(","),
        Param::Name(name) => name.to_string(),
        Param::Switch(on) => on.to_string(),
    }
}

/// A list of values as one CSV cell: the single value, or all of them separated by `;` (a list
/// that is one value repeated is written once, as the flag that would reproduce it).
fn list(values: &[f64]) -> String {
    if values.windows(2).all(|w| w[0].to_bits() == w[1].to_bits()) {
        values.first().map_or(String::new(), |&v| fmt_f64(v))
    } else {
        values
            .iter()
            .map(|&v| fmt_f64(v))
            .collect::<Vec<_>>()
            .join(";")
    }
}

fn interval_line(name: &str, p: &Proportion, ci: &str) -> String {
    let d = proportion_decimals(p.interval.lo, p.interval.hi);
    format!(
        "  {name:<12} {:.d$}  [{:.d$}, {:.d$}]  ({} of {}; {ci})\n",
        p.p(),
        p.interval.lo,
        p.interval.hi,
        p.count,
        p.total
    )
}

/// The decimals a probability interval [lo, hi] is printed with: four, or as many more (up to
/// twelve) as it takes for the two ends to print differently and for an end that is not 1 (or
/// 0) not to print as 1 (or 0), so a narrow interval at large N never reads [1.0000, 1.0000].
pub fn proportion_decimals(lo: f64, hi: f64) -> usize {
    let apart = |d: usize| {
        let f = |x: f64| format!("{x:.d$}");
        (lo == hi || f(lo) != f(hi))
            && (lo == 1.0 || f(lo) != f(1.0))
            && (hi == 0.0 || f(hi) != f(0.0))
    };
    (4..=12).find(|&d| apart(d)).unwrap_or(12)
}

/// A probability near 0 for the terminal: scientific with `digits` decimals, 0 as `0`.
pub fn fmt_small(x: f64, digits: usize) -> String {
    if x == 0.0 {
        "0".to_string()
    } else {
        format!("{x:.digits$e}")
    }
}

/// How far pre-training took the start, F(θ0) beside ε (the summary's `init` line).
pub fn init_line(i: &crate::config::InitStart, f0: f64, eps: f64) -> String {
    let o = &i.outcome;
    let from = format!(
        "{} gradient-descent steps (η = {}, {:.2} s) from the seed-{} initialisation took F from \
         {:.3e} to {f0:.3e} (ε = {})",
        o.steps,
        fmt_setting(i.eta),
        i.elapsed_s,
        i.seed,
        o.initial_loss,
        fmt_setting(eps)
    );
    match (i.target, o.reached) {
        (Some(t), Some(true)) => {
            format!(
                "  init         {from}: --init-loss {} reached",
                fmt_setting(t)
            )
        }
        (Some(t), _) => format!(
            "  INIT LOSS NOT REACHED {from}: F(θ0) > --init-loss {} after the cap of --init-steps \
             {}; raise it or --init-eta",
            fmt_setting(t),
            i.steps
        ),
        (None, _) => format!("  init         {from}"),
    }
}

/// For a bound without contraction at a constant step: the step the theorem would need.
pub fn step_needed(e: &Experiment, why: crate::theory::NotApplicable) -> Option<String> {
    let crate::schedule::StepSchedule::Constant { eta } = e.schedule else {
        return None;
    };
    if why != crate::theory::NotApplicable::NoContraction {
        return None;
    }
    let sigma = e.noise.sigma().unwrap_or(0.0);
    let largest = crate::theory::largest_step(e.constants.alpha, e.constants.c_l, sigma);
    (largest.is_finite() && largest > 0.0).then(|| {
        format!(
            "(ρ < 1 needs η < 2α/(C_L(2C_L + σ)) = {} with these constants; η = {} here)",
            fmt_setting(largest),
            fmt_setting(eta)
        )
    })
}

/// P(exit) and its interval for the terminal: scientific with `digits` decimals (the digits that
/// matter near 0) unless the interval lies above one half, where it prints like a proportion; `gap`
/// separates the estimate from the interval.
pub fn fmt_exit(p: f64, lo: f64, hi: f64, digits: usize, gap: &str) -> String {
    if lo < 0.5 {
        let f = |x| fmt_small(x, digits);
        format!("{}{gap}[{}, {}]", f(p), f(lo), f(hi))
    } else {
        let d = proportion_decimals(lo, hi);
        format!("{p:.d$}{gap}[{lo:.d$}, {hi:.d$}]")
    }
}

/// A setting for the terminal: six significant digits (a computed default step such as
/// 1.2361759399875654e-5 prints as 1.23618e-5); the CSV keeps every digit.
pub fn fmt_setting(x: f64) -> String {
    let a = x.abs();
    if a == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let short = if (1e-4..1e6).contains(&a) {
        let decimals = (5 - a.log10().floor() as i64).max(0) as usize;
        let t = format!("{x:.decimals$}");
        if t.contains('.') {
            t.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            t
        }
    } else {
        let t = format!("{x:.5e}");
        let (m, e) = t.split_once('e').expect("scientific");
        let m = m.trim_end_matches('0').trim_end_matches('.');
        format!("{m}e{e}")
    };
    // Never longer than the shortest exact text.
    let exact = fmt_f64(x);
    if exact.len() <= short.len() {
        exact
    } else {
        short
    }
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
                    format!(
                        "{} noise ({} Z, σ = {})",
                        e.noise.kind(),
                        e.noise_dist,
                        fmt_f64(sigma)
                    )
                }
                None => "no noise (gradient descent)".to_string(),
            },
        };
        let schedule = match e.schedule {
            crate::schedule::StepSchedule::Constant { eta } => {
                format!("constant step η = {}", fmt_setting(eta))
            }
            crate::schedule::StepSchedule::RobbinsMonro { gamma, n0, q } => {
                format!(
                    "Robbins–Monro steps η_k = {}/(k + {})^{}",
                    fmt_f64(gamma),
                    fmt_f64(n0),
                    fmt_f64(q)
                )
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
            let model = e
                .problem
                .kind
                .spec()
                .data()
                .map_or(String::new(), |m| m.describe(&e.problem.network, d));
            let _ = writeln!(
                s,
                "  data         {}: n = {} rows, p = {} features, {} '{}'; {model}",
                d.name,
                d.rows(),
                d.features(),
                match (d.outputs(), d.class_column()) {
                    (m, Some(_)) => format!("{m} one-hot classes of"),
                    (1, None) => "target".to_string(),
                    (m, None) => format!("{m} targets"),
                },
                d.class_column()
                    .map_or_else(|| d.target_label(), str::to_string)
            );
        }
        let _ = writeln!(
            s,
            "  start        |θ0| = {norm0:.6}, F(θ0) = {:.6e}, ball radius r = {}",
            e.f0, e.radius
        );
        if let Some(i) = &e.init {
            let _ = writeln!(s, "{}", init_line(i, e.f0, e.eps));
        }
        match &self.measurement {
            Measurement::Mc { stay, .. } => {
                let _ = writeln!(
                    s,
                    "  run          {} trajectories × {} steps, seed {}, ε = {:e}",
                    stay.total, e.steps, e.seed, e.eps
                );
            }
            Measurement::Splitting { tally, .. } => {
                let score = match e.estimator {
                    Estimator::Splitting { score, .. } => score.name(),
                    Estimator::Mc => unreachable!("a splitting measurement of a mc experiment"),
                };
                let _ = writeln!(
                    s,
                    "  run          adaptive multilevel splitting: {} replicas × {} paths, {} steps, \
                     {score} score, seed {}",
                    tally.replicas, tally.particles, e.steps, e.seed
                );
            }
        }
        let ci = format!("{} {}%", self.ci_label, e.confidence * 100.0);
        match &self.measurement {
            Measurement::Mc {
                tally,
                stay,
                converge,
            } => {
                if let Some(planned) = self.partial_of {
                    let _ = writeln!(
                        s,
                        "  PARTIAL      interrupted: the estimate below is of the first {} of the {planned} \
                         planned trajectories (whole blocks, the same counts for any thread count)",
                        stay.total
                    );
                }
                if e.noise == NoiseModel::None {
                    let _ = writeln!(
                        s,
                        "  note         no noise: every trajectory follows the same path, so the counts \
                         are 0 or N and the intervals below only reflect N; one trajectory gives \
                         the same answer"
                    );
                }
                if e.f0 <= e.eps {
                    let _ = writeln!(
                        s,
                        "  note         F(θ0) ≤ ε: the start already counts as converged; \
                         P(converge) here is the chance of staying in the ball with F(θ_K) still \
                         ≤ ε"
                    );
                }
                s += "\n";
                s += &interval_line("P(stay)", stay, &ci);
                s += &interval_line("P(converge)", converge, &ci);
                let exit = self.exit();
                let _ = writeln!(
                    s,
                    "  P(exit)      {}  (one minus P(stay))",
                    fmt_exit(exit.p, exit.lo, exit.hi, 4, "  ")
                );
                if let Some(t) = &self.halfwidth_target {
                    let widest = stay.interval.halfwidth().max(converge.interval.halfwidth());
                    let looks = format!(
                        "checked after each of {} blocks of {} (a {}% betting confidence \
                         sequence, valid at every check)",
                        t.looks,
                        crate::estimate::sequential::CHECK_EVERY,
                        100.0 * e.confidence
                    );
                    if t.reached {
                        let _ = writeln!(
                            s,
                            "  target       half-width ≤ {}: met with {} trajectories, {looks}",
                            fmt_f64(t.target),
                            stay.total
                        );
                    } else {
                        let _ = writeln!(
                            s,
                            "  TARGET NOT MET half-width ≤ {}: the widest is {widest:.2e} after the \
                             cap of {} trajectories, {looks}; at least about {} trajectories would \
                             reach it (--max-trajectories)",
                            fmt_f64(t.target),
                            t.cap,
                            t.trajectories_needed(stay.total, widest)
                        );
                    }
                }
                if let Some(m) = tally.mean_exit_step() {
                    let _ = writeln!(
                        s,
                        "  exits        {} trajectories left the ball, at step {m:.1} on average",
                        tally.exited()
                    );
                }
                if let Some(m) = self.final_loss_mean() {
                    let _ = writeln!(
                        s,
                        "  F(θ_K)       {m:.3e} on average over those that stayed"
                    );
                }
            }
            Measurement::Splitting { tally, exit } => {
                s += "\n";
                // An upper end that no replica resolved (NaN) is printed as such.
                let or_unknown = |x: f64, text: String| {
                    if x.is_nan() {
                        "not resolved".to_string()
                    } else {
                        text
                    }
                };
                let _ = writeln!(
                    s,
                    "  P(exit)      {}  [{}, {}]  ({} replicas; {ci})",
                    fmt_small(exit.p, 4),
                    fmt_small(exit.lo, 4),
                    or_unknown(exit.hi, fmt_small(exit.hi, 4)),
                    tally.replicas
                );
                let _ = writeln!(
                    s,
                    "  P(stay)      1 − P(exit) = {:.12}  [{}, {:.12}]",
                    1.0 - exit.p,
                    or_unknown(exit.hi, format!("{:.12}", 1.0 - exit.hi)),
                    1.0 - exit.lo
                );
                let _ = writeln!(
                    s,
                    "  splitting    {:.1} levels per replica on average; {} of {} replicas extinct \
                     (estimate 0)",
                    tally.mean_iterations(),
                    tally.extinctions,
                    tally.replicas,
                );
                if exit.p > 0.0 {
                    let spread = tally.relative_spread();
                    let _ = writeln!(
                        s,
                        "               relative half-width of the interval {:.1}%; replicas' \
                         relative spread {:.2} (s.d./mean of one replica)",
                        100.0 * exit.relative_halfwidth(),
                        spread
                    );
                    if spread > crate::ams::HEAVY_TAIL_SPREAD {
                        let _ = writeln!(
                            s,
                            "  WARNING      the replicas' estimates are heavy-tailed (relative \
                             spread {spread:.2} > {}): the sum rests on a few replicas and the \
                             interval may undercover. More paths (--particles) narrow the spread; \
                             see docs/tightness.md on bounded noise.",
                            crate::ams::HEAVY_TAIL_SPREAD
                        );
                    }
                }
                if let Some(t) = &self.relative_target {
                    let looks = format!(
                        "{} look{} (interval at level {:.4}: the {}% is spent over the looks)",
                        t.looks,
                        if t.looks == 1 { "" } else { "s" },
                        t.level,
                        100.0 * e.confidence
                    );
                    if t.reached {
                        let _ = writeln!(
                            s,
                            "  target       relative half-width ≤ {}%: met with {} replicas, {looks}",
                            100.0 * t.target.error,
                            tally.replicas
                        );
                    } else {
                        let _ = writeln!(
                            s,
                            "  TARGET NOT MET relative half-width ≤ {}%: stopped at --max-replicas {}, \
                             {looks}; raise --max-replicas (or --particles)",
                            100.0 * t.target.error,
                            t.target.max_replicas
                        );
                    }
                }
                if exit.p == 0.0 {
                    let _ = writeln!(
                        s,
                        "  note         no replica reached the exit: P(exit) is too small for \
                         {} paths to resolve (or 0); raise --particles",
                        tally.particles
                    );
                }
                let _ = writeln!(
                    s,
                    "  P(converge)  not estimated by splitting (use --estimator mc)"
                );
            }
        }
        let b = &self.bound;
        let _ = writeln!(
            s,
            "\n  theory       α = {}, C_L = {} ({} constants)",
            fmt_constant(e.constants.alpha),
            fmt_constant(e.constants.c_l),
            constants_source_name(e.constants.source)
        );
        if let NoiseModel::Minibatch { sigma, .. } = e.noise {
            let _ = writeln!(
                s,
                "               σ = {sigma:.6} (E|g − ∇F|² ≤ σ·F for the minibatch gradient)"
            );
        }
        if let Some(est) = &e.estimates {
            if e.constants.source == ConstantsSource::Certified {
                let _ = writeln!(
                    s,
                    "               certified over the whole ball from the model's norm bounds \
                     (docs/networks.md)"
                );
            } else {
                let _ = writeln!(
                    s,
                    "               estimated from {} points of the ball and adversarial searches: \
                     estimates, not certificates",
                    est.points
                );
            }
            if let Some(ntk) = est.ntk_alpha {
                let _ = writeln!(
                    s,
                    "               (empirical NTK: smallest λ_min(J Jᵀ) seen gives α ≥ {} there)",
                    fmt_constant(ntk)
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
                let (r, lo, hi) = tightness(delta, &self.exit());
                if lo.is_nan() {
                    let _ = writeln!(
                        s,
                        "               δ / P(exit) not resolved (P(exit) was not resolved)"
                    );
                } else {
                    let _ = writeln!(
                        s,
                        "               δ / P(exit) = {}  [{}, {}]  (how many times δ \
                         overstates the exit probability)",
                        fmt_ratio(r),
                        fmt_ratio(lo),
                        fmt_ratio(hi)
                    );
                }
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
                    if let Some(line) = step_needed(e, why) {
                        let _ = writeln!(s, "               {line}");
                    }
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
        s.push_str(&self.phases().line());
        f.write_str(&s)
    }
}

crate::csv_record! {
    /// A row of `lojasim constants --out`. An empty cell: not computed for this configuration.
    pub struct ConstantsRow {
        pub problem: &'static str,
        pub dim: usize,
        pub radius: f64,
        pub f0: f64,
        pub seed: u64,
        pub points: usize,
        pub alpha_hat: f64,
        pub c_l_hat: f64,
        pub hessian_norm_max: f64,
        pub gradient_ratio_max: f64,
        pub sigma_hat: Option<f64>,
        pub batch: Option<usize>,
        pub batch_mode: Option<&'static str>,
        pub ntk_lambda_min: Option<f64>,
        pub ntk_alpha: Option<f64>,
        pub alpha_exact: Option<f64>,
        pub c_l_exact: Option<f64>,
        pub alpha_sampled: f64,
        pub alpha_adversarial: f64,
        pub alpha_certified: Option<f64>,
        pub c_l_sampled: f64,
        pub c_l_adversarial: f64,
        pub c_l_certified: Option<f64>,
        pub sigma_min_lower: Option<f64>,
        pub constants_source: &'static str,
    }
}

/// The header of `lojasim constants --out`.
pub const CONSTANTS_COLUMNS: &[&str] = ConstantsRow::COLUMNS;

/// The estimated constants of an experiment's ball, beside the exact ones where known
/// (`lojasim constants`).
pub struct ConstantsReport<'a> {
    pub experiment: &'a Experiment,
    pub estimates: Estimates,
    pub exact: Option<crate::landscape::BallConstants>,
}

impl<'a> ConstantsReport<'a> {
    /// Uses the estimates the experiment already made, or estimates now (an error if the
    /// estimator would not fit in memory).
    pub fn new(
        experiment: &'a Experiment,
        progress: crate::constants::Progress<'_>,
    ) -> Result<Self, ConfigError> {
        let estimates = match experiment.estimates {
            Some(e) => e,
            None => experiment.estimate_constants(false, progress)?,
        };
        let exact = experiment
            .landscape
            .exact_constants(&experiment.theta0, experiment.radius);
        Ok(Self {
            experiment,
            estimates,
            exact,
        })
    }

    fn batch(&self) -> Option<(usize, crate::noise::BatchMode)> {
        match self.experiment.noise {
            NoiseModel::Minibatch { batch, mode, .. } => Some((batch, mode)),
            _ => None,
        }
    }

    /// The CSV row.
    pub fn row(&self) -> ConstantsRow {
        let (e, est) = (self.experiment, &self.estimates);
        let batch = self.batch();
        ConstantsRow {
            problem: e.problem.kind.name(),
            dim: e.dim(),
            radius: e.radius,
            f0: e.f0,
            seed: e.seed,
            points: est.points,
            alpha_hat: est.alpha,
            c_l_hat: est.c_l,
            hessian_norm_max: est.hessian_norm,
            gradient_ratio_max: est.gradient_ratio,
            sigma_hat: est.sigma,
            batch: batch.map(|(b, _)| b),
            batch_mode: batch.map(|(_, m)| m.name()),
            ntk_lambda_min: est.ntk_lambda_min,
            ntk_alpha: est.ntk_alpha,
            alpha_exact: self.exact.map(|c| c.alpha),
            c_l_exact: self.exact.map(|c| c.c_l),
            alpha_sampled: est.alpha_sampled,
            alpha_adversarial: est.alpha_adversarial,
            alpha_certified: est.certificate.and_then(|c| c.alpha),
            c_l_sampled: est.c_l_sampled,
            c_l_adversarial: est.c_l_adversarial,
            c_l_certified: est.certificate.map(|c| c.c_l),
            sigma_min_lower: est.certificate.map(|c| c.sigma_min_lower),
            constants_source: constants_source_name(self.source()),
        }
    }

    /// What the estimator's α̂ and Ĉ_L are: certified when both hold over the whole ball.
    fn source(&self) -> ConstantsSource {
        if self.estimates.certified() {
            ConstantsSource::Certified
        } else {
            ConstantsSource::Estimated
        }
    }
}

impl fmt::Display for ConstantsReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (e, est) = (self.experiment, &self.estimates);
        let exact_note = |x: Option<f64>| x.map_or(String::new(), |v| format!("   (exact {v:.6})"));
        writeln!(f, "{:<15}{}, d = {}", "problem", e.problem.kind, e.dim())?;
        if let Some(d) = &e.data {
            writeln!(f, "{:<15}{}, n = {} rows", "data", d.name, d.rows())?;
        }
        writeln!(f, "{:<15}{:.6e}", "F(θ0)", e.f0)?;
        writeln!(f, "{:<15}{}", "radius r", e.radius)?;
        writeln!(
            f,
            "{:<15}{} (θ0, {} in the ball, {} on its surface, sample GD/SGD paths; seed {})",
            "points", est.points, e.constant_samples, e.constant_samples, e.seed
        )?;
        writeln!(
            f,
            "{:<15}{:.6}{}   (the α a bound would use: the smallest below)",
            "α̂",
            est.alpha,
            exact_note(self.exact.map(|c| c.alpha))
        )?;
        writeln!(
            f,
            "{:<15}sampled {:.6}, adversarial {:.6}{}",
            "",
            est.alpha_sampled,
            est.alpha_adversarial,
            est.ntk_alpha.map_or(String::new(), |a| {
                if e.dim() < e.landscape.per_sample().map_or(0, |p| p.samples()) {
                    format!(", NTK {a:.6} (vacuous: d < n, not used)")
                } else {
                    format!(", NTK {a:.6}")
                }
            })
        )?;
        writeln!(
            f,
            "{:<15}{:.6}{}   (the C_L a bound would use: the largest below)",
            "Ĉ_L",
            est.c_l,
            exact_note(self.exact.map(|c| c.c_l))
        )?;
        writeln!(
            f,
            "{:<15}sampled {:.6}, adversarial {:.6}   (max ‖H‖ {:.6}, max |∇F|²/2F {:.6})",
            "",
            est.c_l_sampled,
            est.c_l_adversarial,
            est.hessian_norm,
            est.gradient_ratio / 2.0
        )?;
        if let (Some(sigma), Some((b, m))) = (est.sigma, self.batch()) {
            writeln!(f, "{:<15}{sigma:.6}   (minibatch B = {b}, {m})", "σ̂")?;
        }
        if let (Some(l), Some(a)) = (est.ntk_lambda_min, est.ntk_alpha) {
            writeln!(
                f,
                "{:<15}{l:.6e}   (smallest λ_min(J Jᵀ) seen: α ≥ 2λ_min/n = {a:.6})",
                "NTK λ_min"
            )?;
        }
        match est.certificate {
            Some(c) => match c.alpha {
                Some(a) => writeln!(
                    f,
                    "{:<15}α ≥ {a:.6e}, C_L ≤ {:.6e} over the whole ball \
                         (σ_min(J(θ0)) = {:.6e}, L_J·r = {:.6e})",
                    "certified",
                    c.c_l,
                    c.sigma_min_centre,
                    c.jacobian_lipschitz * e.radius
                )?,
                None if !c.ntk_computed => writeln!(
                    f,
                    "{:<15}none for α: J has {} rows (samples × outputs), more than the {} for \
                         which J Jᵀ is formed; C_L ≤ {:.6e}",
                    "certified",
                    c.jacobian_rows,
                    crate::constants::NTK_MAX_ROWS,
                    c.c_l
                )?,
                None => writeln!(
                    f,
                    "{:<15}none for α: σ_min(J(θ0)) − L_J·r = {:.6e} − {:.6e} ≤ 0 (the ball is \
                         too large); C_L ≤ {:.6e}",
                    "certified",
                    c.sigma_min_centre,
                    c.jacobian_lipschitz * e.radius,
                    c.c_l
                )?,
            },
            None => writeln!(f, "{:<15}none for this landscape", "certified")?,
        }
        if est.certified() {
            f.write_str(
                "α̂ and Ĉ_L are certified over the ball (σ̂, if shown, is estimated from sampled \
                 points).",
            )
        } else {
            f.write_str(
                "These are estimates, not certificates: searched adversarially and combined with the \
                 NTK bound, but the true α may still be smaller and the true C_L, σ larger.",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Constants keep six decimals where those show them (the README's α = 0.002958) and
    /// switch to four significant digits where they would read 0.000000.
    #[test]
    fn small_constants_are_not_printed_as_zero() {
        assert_eq!(fmt_constant(0.002958), "0.002958");
        assert_eq!(fmt_constant(14.252095), "14.252095");
        assert_eq!(fmt_constant(0.0), "0.000000");
        assert_eq!(fmt_constant(1.5214e-5), "1.521e-5");
        assert_eq!(fmt_constant(2.5e7), "2.500e7");
    }

    #[test]
    fn numbers_round_trip_through_their_csv_text() {
        for x in [
            0.0,
            -0.0,
            1e-6,
            9.258022279867218e-32,
            0.1,
            1.0 / 3.0,
            12345.678,
            1e300,
            -2.5e-5,
        ] {
            let text = fmt_f64(x);
            assert_eq!(
                text.parse::<f64>().unwrap().to_bits(),
                x.to_bits(),
                "{text}"
            );
        }
        assert_eq!(fmt_f64(1e-6), "1e-6");
        assert_eq!(fmt_f64(0.25), "0.25");
        assert_eq!(list(&[0.5, 0.5, 0.5]), "0.5");
        assert_eq!(list(&[0.5, 1e-7]), "0.5;1e-7");
    }

    #[test]
    fn interval_ends_print_apart_and_off_the_boundary_they_do_not_reach() {
        // At N = 10 000 with no exit, Wilson's lower end is 0.99962: four decimals suffice.
        assert_eq!(proportion_decimals(0.99962, 1.0), 4);
        // At N = 10⁶ it is 0.9999962, which prints as 1.0000 until the sixth decimal.
        assert_eq!(proportion_decimals(0.9999962, 1.0), 6);
        assert_eq!(proportion_decimals(0.0, 3.8e-6), 6);
        assert_eq!(proportion_decimals(0.5, 0.5), 4);
        assert_eq!(proportion_decimals(0.25, 0.26), 4);
        assert_eq!(proportion_decimals(1.0 - 1e-15, 1.0), 12);
    }

    #[test]
    fn settings_print_with_six_significant_digits_or_fewer() {
        assert_eq!(fmt_setting(1.2361759399875654e-5), "1.23618e-5");
        assert_eq!(fmt_setting(0.30000000000000004), "0.3");
        assert_eq!(fmt_setting(0.05), "0.05");
        assert_eq!(fmt_setting(1500.0), "1500");
        // The exact text wins where it is no longer.
        assert_eq!(fmt_setting(1234567.0), "1234567");
        assert_eq!(fmt_setting(12345678.9), "1.23457e7");
        assert_eq!(fmt_setting(1e-6), "1e-6");
        assert_eq!(fmt_setting(2.0 / 3.0), "0.666667");
    }

    #[test]
    fn exit_probabilities_near_zero_print_in_scientific_notation() {
        assert_eq!(fmt_exit(0.0, 0.0, 3.84e-4, 4, "  "), "0  [0, 3.8400e-4]");
        assert_eq!(
            fmt_exit(0.088, 0.08, 0.097, 3, " "),
            "8.800e-2 [8.000e-2, 9.700e-2]"
        );
        assert_eq!(
            fmt_exit(1.0, 0.9999962, 1.0, 3, " "),
            "1.000000 [0.999996, 1.000000]"
        );
    }

    /// Each source names itself in `constants_source` and back; the status carries the mark of
    /// estimated and certified constants, never of exact or user ones, and never on
    /// `not-applicable`.
    #[test]
    fn sources_round_trip_and_mark_the_bound_status() {
        for s in [
            ConstantsSource::Exact,
            ConstantsSource::User,
            ConstantsSource::Estimated,
            ConstantsSource::Certified,
        ] {
            assert_eq!(constants_source_of(constants_source_name(s)), Some(s));
        }
        let c = BoundStatus::Consistent;
        assert_eq!(
            status_name(c, ConstantsSource::Certified),
            "consistent-certified"
        );
        assert_eq!(
            status_name(c, ConstantsSource::Estimated),
            "consistent-estimated"
        );
        assert_eq!(status_name(c, ConstantsSource::Exact), "consistent");
        assert_eq!(status_name(c, ConstantsSource::User), "consistent");
        assert_eq!(
            status_name(BoundStatus::NotApplicable, ConstantsSource::Certified),
            "not-applicable"
        );
    }
}
