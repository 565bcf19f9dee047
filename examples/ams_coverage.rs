//! Coverage of the splitting interval on cases with an exact exit probability.
//!
//! For each case of scripts/reference/rare_exit_values.txt listed below and each seed
//! 0..--seeds, runs `--replicas` splitting replicas of `--particles` paths with the default score
//! (exactly what `lojasim run --estimator ams --seed S` does), forms the interval the tool
//! reports (`ams-t`, 95 %) and checks whether it contains the exact value. Prints one line per
//! case: how many intervals covered, the Wilson 95 % interval of that coverage, the median
//! relative half-width, the extinctions and the time.
//!
//! ```text
//! cargo run --release --example ams_coverage                  # the full study (50 seeds)
//! cargo run --release --example ams_coverage -- --seeds 8 --cases ml-1e-6 --min-covered 6
//! ```
//!
//! `--dump FILE` appends every replica's estimate (case, exact, seed, then M estimates per line),
//! for trying other intervals on the same replicas. `--score S` and `--substeps M` replace the
//! default score and its substeps ([`SgdChain::with_substeps`]), for comparing them.
//! `--min-covered C` exits with status 1 if any case covers fewer than C seeds (CI runs small
//! versions like the one above: with a true coverage of 0.9, fewer than 6 of 8 has probability
//! 0.038; of 0.95, 0.0058).

use std::time::Instant;

use lojasim::ams::{Score, SgdChain, SplittingTally, replica};
use lojasim::estimate::{CiMethod, binomial_interval};
use lojasim::landscape::Quadratic;
use lojasim::noise::{NoiseDist, NoiseModel};
use lojasim::runner::Dynamics;
use lojasim::schedule::StepSchedule;
use rayon::prelude::*;

/// A case of rare_exit_values.txt: F = t²/2 in 1-D from t0 = 0.3.
struct Case {
    name: &'static str,
    noise: NoiseModel,
    noise_dist: NoiseDist,
    schedule: StepSchedule,
    radius: f64,
    steps: u64,
    exact: f64,
}

/// The values are copied from rare_exit_values.txt with all their printed digits.
#[allow(clippy::excessive_precision)]
fn cases() -> Vec<Case> {
    let ml = |name, sigma, steps, exact| Case {
        name,
        noise: NoiseModel::Ml { sigma },
        noise_dist: NoiseDist::Rademacher,
        schedule: StepSchedule::Constant { eta: 0.05 },
        radius: 0.3,
        steps,
        exact,
    };
    let bounded = |name, eta, sigma, exact| Case {
        name,
        noise: NoiseModel::Bounded { sigma },
        noise_dist: NoiseDist::Gaussian,
        schedule: StepSchedule::Constant { eta },
        radius: 0.5,
        steps: 1000,
        exact,
    };
    vec![
        ml("ml-1e-6", 5.8, 200, 1.0279216209651112e-06),
        ml("ml-1e-9", 4.4, 200, 1.4615335200915291e-09),
        ml("ml-1e-11", 4.0, 1000, 6.7696313909251370e-11),
        ml("ml-1e-12", 3.7, 200, 2.1282290600555798e-12),
        bounded("bg-const-1e-6", 0.1, 0.0214, 9.9578829468823201e-07),
        bounded("bg-const-1e-9", 0.05, 0.032, 9.3688677828876410e-10),
        bounded("bg-const-1e-12", 0.1, 0.0121, 1.0091873255695954e-12),
    ]
}

struct Options {
    seeds: u64,
    replicas: u64,
    particles: u64,
    cases: Option<Vec<String>>,
    min_covered: Option<u64>,
    dump: Option<String>,
    score: Option<Score>,
    substeps: Option<u32>,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        seeds: 50,
        replicas: lojasim::ams::DEFAULT_REPLICAS,
        particles: lojasim::ams::DEFAULT_PARTICLES,
        cases: None,
        min_covered: None,
        dump: None,
        score: None,
        substeps: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--seeds" => o.seeds = number(value()?)?,
            "--replicas" => o.replicas = number(value()?)?,
            "--particles" => o.particles = number(value()?)?,
            "--cases" => o.cases = Some(value()?.split(',').map(str::to_string).collect()),
            "--min-covered" => o.min_covered = Some(number(value()?)?),
            "--dump" => o.dump = Some(value()?),
            "--substeps" => o.substeps = Some(number(value()?)?.clamp(1, 1 << 16) as u32),
            "--score" => {
                o.score = Some(
                    <Score as clap::ValueEnum>::from_str(&value()?, false)
                        .map_err(|e| format!("--score: {e}"))?,
                )
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if o.replicas < 2 || o.particles < 2 || o.seeds == 0 {
        return Err("--replicas and --particles must be ≥ 2, --seeds ≥ 1".into());
    }
    Ok(o)
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let q = Quadratic::new(vec![1.0]).expect("a positive curvature");
    let all = cases();
    if let Some(bad) = o
        .cases
        .iter()
        .flatten()
        .find(|n| !all.iter().any(|c| c.name == n.as_str()))
    {
        eprintln!("error: unknown case {bad}");
        std::process::exit(2);
    }
    println!(
        "# ams coverage: {} seeds × {} replicas × {} paths, default score, ams-t 95 %",
        o.seeds, o.replicas, o.particles
    );
    println!(
        "# case exact score covered/seeds coverage [wilson 95 %] median_rel_halfwidth \
         below/above extinct_replicas seconds"
    );
    let mut short = false;
    for case in all.iter().filter(|c| {
        o.cases
            .as_ref()
            .is_none_or(|n| n.iter().any(|n| n == c.name))
    }) {
        let dynamics = Dynamics {
            landscape: &q,
            theta0: &[0.3],
            noise: case.noise,
            noise_dist: case.noise_dist,
            schedule: case.schedule,
            radius: case.radius,
            steps: case.steps,
            eps: 1e-6,
        };
        let score = o.score.unwrap_or(Score::default_for(case.noise.kind()));
        let chain = SgdChain::new(dynamics, score);
        let chain = match o.substeps {
            Some(m) => chain.with_substeps(m),
            None => chain,
        };
        let start = Instant::now();
        let runs: Vec<(SplittingTally, Vec<f64>)> = (0..o.seeds)
            .into_par_iter()
            .map(|seed| {
                let mut t = SplittingTally::new(o.particles);
                let mut estimates = Vec::new();
                for m in 0..o.replicas {
                    let r = replica(&chain, o.particles as usize, seed, m, None)
                        .expect("not cancelled");
                    t.record(&r);
                    estimates.push(r.estimate);
                }
                (t, estimates)
            })
            .collect();
        if let Some(path) = &o.dump {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("--dump file");
            for (seed, (_, estimates)) in runs.iter().enumerate() {
                let cells: Vec<String> = estimates.iter().map(|e| format!("{e:e}")).collect();
                writeln!(f, "{} {} {seed} {}", case.name, case.exact, cells.join(" "))
                    .expect("write");
            }
        }
        let tallies: Vec<SplittingTally> = runs.into_iter().map(|(t, _)| t).collect();
        let seconds = start.elapsed().as_secs_f64();
        let (mut covered, mut below, mut above, mut extinct) = (0, 0, 0, 0);
        let mut widths = Vec::new();
        for t in &tallies {
            let e = t.estimate(0.95);
            extinct += t.extinctions;
            if e.hi.is_nan() || e.hi < case.exact {
                below += 1;
            } else if e.lo > case.exact {
                above += 1;
            } else {
                covered += 1;
            }
            widths.push(e.relative_halfwidth());
        }
        widths.sort_by(f64::total_cmp);
        let median = widths[widths.len() / 2];
        let w = binomial_interval(covered, o.seeds, 0.95, CiMethod::Wilson).expect("valid");
        println!(
            "{} {:.4e} {score} {covered}/{} {:.3} [{:.3}, {:.3}] {:.3} {below}/{above} {extinct} {seconds:.1}",
            case.name,
            case.exact,
            o.seeds,
            covered as f64 / o.seeds as f64,
            w.lo,
            w.hi,
            median,
        );
        if o.min_covered.is_some_and(|m| covered < m) {
            short = true;
        }
    }
    if short {
        eprintln!("error: a case covered fewer seeds than --min-covered");
        std::process::exit(1);
    }
}
