//! `lojasim bound`: the theory's constants and bounds for one configuration, without simulating.

use clap::Args;

use lojasim::Experiment;
use lojasim::output::bound::BoundRow;
use lojasim::output::json;
use lojasim::report::{constants_source_name, fmt_setting};
use lojasim::schedule::StepSchedule;

use super::Failure;
use super::experiment::{EstimatorArgs, ExperimentArgs, Threads};
use super::io::{Format, FormatArg, pretraining_bar, pretraining_progress};

#[derive(Args, Debug)]
pub struct BoundArgs {
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    #[command(flatten)]
    pub threads: Threads,
    #[command(flatten)]
    pub format: FormatArg,
}

/// Runs `lojasim bound`.
pub fn execute(args: BoundArgs) -> Result<(), Failure> {
    let settings = args
        .experiment
        .settings("bound", &EstimatorArgs::default())?;
    let pretraining = pretraining_bar(false);
    let hook = pretraining_progress(&pretraining, false);
    let e = args
        .threads
        .pool()?
        .install(|| Experiment::with_progress(&settings, Some(&hook), &|_, _| {}))?;
    pretraining.finish_and_clear();
    if args.format.check(None)? == Format::Json {
        let row = BoundRow::of(&e);
        say!("{}", json::object(BoundRow::COLUMNS, &row.cells()));
        return Ok(());
    }
    let b = e.bound();
    let opt = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.6}"));
    say!("problem        {}, d = {}", e.problem.kind, e.dim());
    say!("F(θ0)          {:.6e}", e.f0);
    say!("radius r       {}", e.radius);
    // The inputs of ρ and δ besides the constants: the step, the noise, K and ε.
    match e.schedule {
        StepSchedule::Constant { eta } => say!("step η         {}", fmt_setting(eta)),
        StepSchedule::RobbinsMonro { gamma, n0, q } => say!(
            "steps          η_k = {}/(k + {})^{}",
            fmt_setting(gamma),
            fmt_setting(n0),
            fmt_setting(q)
        ),
    }
    match e.noise.sigma() {
        Some(sigma) => say!(
            "noise          {}, σ = {}",
            e.noise.kind(),
            fmt_setting(sigma)
        ),
        None => say!("noise          none"),
    }
    say!("steps K        {}", e.steps);
    say!("ε              {}", fmt_setting(e.eps));
    say!(
        "α              {:.6} ({} constants)",
        e.constants.alpha,
        constants_source_name(e.constants.source)
    );
    say!("C_L            {:.6}", e.constants.c_l);
    say!("ρ              {}", opt(b.rho));
    say!("δ              {}", opt(b.delta));
    let vac = |x: Option<f64>| {
        if x.is_some_and(|v| v <= 0.0) {
            "  (vacuous)"
        } else {
            ""
        }
    };
    say!("P(stay) ≥      {}{}", opt(b.stay_bound), vac(b.stay_bound));
    say!(
        "P(converge) ≥  {}{}",
        opt(b.converge_bound),
        vac(b.converge_bound)
    );
    if let Some(why) = b.not_applicable {
        say!("not applicable {why}");
        if let Some(line) = lojasim::report::step_needed(&e, why) {
            say!("               {line}");
        }
    }
    say!("Chatterjee     4·F(θ0) < r²·α: {}", b.chatterjee);
    Ok(())
}
