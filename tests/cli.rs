//! Command-line behaviour: outputs, reproducibility across thread counts, and clean failures.

use assert_cmd::Command;
use predicates::prelude::*;
use std::fs;
use std::path::Path;

fn lojasim() -> Command {
    Command::cargo_bin("lojasim").unwrap()
}

/// Runs `cmd` and checks that it was refused as bad input: exit status 2, `message` on standard
/// error, no panic, and no file left in `dir`. Returns the assertion for further checks.
fn assert_refused(cmd: &mut Command, message: &str, dir: &Path) -> assert_cmd::assert::Assert {
    let assert = cmd
        .assert()
        .code(2)
        .stderr(predicate::str::contains(message))
        .stderr(predicate::str::contains("panicked").not());
    assert_eq!(fs::read_dir(dir).unwrap().count(), 0, "{cmd:?} left a file");
    assert
}

/// A small, fast configuration with both outcomes present.
const SMALL: &[&str] = &[
    "run",
    "--problem",
    "quadratic",
    "--dim",
    "3",
    "--theta0",
    "0.1",
    "--eta",
    "0.3",
    "--sigma",
    "10",
    "--radius",
    "0.3",
    "--steps",
    "200",
    "--trajectories",
    "3000",
    "--quiet",
];

fn csv_rows(text: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap())
        .collect()
}

/// The columns that hold times, which differ between otherwise identical runs.
const TIMES: [&str; 4] = ["elapsed_s", "init_s", "constants_s", "total_s"];

fn without_elapsed(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    // The times: elapsed_s and those of the phases.
    let times: Vec<usize> = reader
        .headers()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, h)| TIMES.contains(h))
        .map(|(i, _)| i)
        .collect();
    assert!(!times.is_empty());
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            r.iter()
                .enumerate()
                .filter(|(i, _)| !times.contains(i))
                .map(|(_, v)| v.to_string())
                .collect()
        })
        .collect()
}

/// The default experiment teaches: it starts above ε (not already converged), at a step where
/// SGD moves (the mean final loss is clearly below F(θ0)), and says in one line why it has no
/// bound, naming the step the theorem would need.
#[test]
fn default_run_starts_unconverged_moves_and_says_why_there_is_no_bound() {
    let out = lojasim()
        .args(["run", "--quiet"])
        .assert()
        .success()
        .stdout(predicate::str::contains("P(stay)"))
        .stdout(predicate::str::contains("the bound does not apply: ρ ≥ 1"))
        .stdout(predicate::str::contains(
            "(ρ < 1 needs η < 2α/(C_L(2C_L + σ)) = ",
        ))
        .stdout(predicate::str::contains("bound status not-applicable"));
    assert!(
        !String::from_utf8_lossy(&out.get_output().stdout).contains("already counts as converged")
    );
    let json = lojasim()
        .args(["run", "--quiet", "--format", "json", "--trajectories", "64"])
        .output()
        .unwrap();
    assert!(json.status.success());
    let row: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let (f0, eps) = (row["f0"].as_f64().unwrap(), row["eps"].as_f64().unwrap());
    let final_loss = row["final_loss_mean"].as_f64().unwrap();
    assert!(f0 > 10.0 * eps, "F(θ0) = {f0} against ε = {eps}");
    assert!(
        final_loss < 0.9 * f0,
        "SGD barely moved: {f0} → {final_loss}"
    );
    // The default step is the descent-lemma step 1/C_L of the constants the row reports.
    let (eta, c_l) = (row["eta"].as_f64().unwrap(), row["c_l"].as_f64().unwrap());
    assert_eq!(eta, 1.0 / c_l);
}

/// With a step below the theorem's (and the near-interpolating start of 50 000 GD steps), the
/// default network's bound is informative and the estimates respect it.
#[test]
fn the_default_network_at_the_theorems_step_prints_estimates_beside_the_bound() {
    lojasim()
        .args(["run", "--quiet", "--init-steps", "50000", "--eta", "7.5e-6"])
        .assert()
        .success()
        .stdout(predicate::str::contains("P(stay) ≥ 1 − δ"))
        .stdout(predicate::str::contains("bound status consistent"));
}

#[test]
fn csv_goes_to_stdout_with_the_documented_header() {
    let out = lojasim()
        .args(SMALL)
        .args(["--out", "-"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.starts_with(
        "problem,dim,noise,noise_dist,sigma,schedule,eta,gamma,n0,q,radius,f0,steps,eps,trajectories,\
         seed,stay_count,stay_p,stay_lo,stay_hi,converge_count,converge_p,converge_lo,converge_hi,\
         ci_method,confidence,alpha,c_l,rho,delta,stay_bound,converge_bound,bound_status,chatterjee,\
         elapsed_s,version"
    ));
    let rows = csv_rows(&text);
    assert_eq!(rows.len(), 1);
    // The summary went to stderr so that stdout is pure CSV.
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("P(stay)"));
}

#[test]
fn cells_that_do_not_apply_are_empty() {
    let at = SMALL.iter().position(|&a| a == "--eta").unwrap();
    let args: Vec<&str> = [&SMALL[..at], &SMALL[at + 2..]].concat();
    let out = lojasim()
        .args(args)
        .args([
            "--noise",
            "bounded",
            "--schedule",
            "robbins-monro",
            "--out",
            "-",
        ])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let cell = |name: &str| column(&text, name)[0].clone();
    assert_eq!(cell("eta"), "");
    assert_eq!(cell("gamma"), "0.1");
    assert_eq!(cell("rho"), "");
    assert_eq!(cell("stay_bound"), "");
    assert_eq!(cell("bound_status"), "not-applicable");
}

#[test]
fn output_is_identical_for_1_2_and_7_threads() {
    let run = |threads: &str| {
        let out = lojasim()
            .args(SMALL)
            .args(["--threads", threads, "--out", "-"])
            .assert()
            .success();
        without_elapsed(&String::from_utf8(out.get_output().stdout.clone()).unwrap())
    };
    let one = run("1");
    assert_eq!(run("2"), one);
    assert_eq!(run("7"), one);
}

#[test]
fn output_file_is_written_whole_and_not_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.csv");
    let p = path.to_str().unwrap();
    lojasim().args(SMALL).args(["--out", p]).assert().success();
    let first = fs::read_to_string(&path).unwrap();
    assert_eq!(csv_rows(&first).len(), 1);
    lojasim()
        .args(SMALL)
        .args(["--out", p])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--out").and(predicate::str::contains("--force")));
    assert_eq!(fs::read_to_string(&path).unwrap(), first);
    lojasim()
        .args(SMALL)
        .args(["--out", p, "--force"])
        .assert()
        .success();
    // Only the result file is left: no temporary files beside it.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn bad_input_names_the_flag_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.csv");
    let cases: &[(&[&str], &str)] = &[
        (&["--radius", "-1"], "--radius must be > 0 (got -1)"),
        (&["--radius", "0"], "--radius must be > 0 (got 0)"),
        (&["--trajectories", "0"], "--trajectories must be ≥ 1"),
        (&["--sigma", "-2"], "--sigma must be ≥ 0 (got -2)"),
        (&["--eta", "NaN"], "--eta must be a finite number"),
        (
            &["--problem", "quadratic", "--dim", "3", "--theta0", "1,2"],
            "--theta0 has 2 values but the dimension is 3",
        ),
        (
            &["--problem", "banana"],
            "invalid value 'banana' for '--problem",
        ),
        (&["--radius", "abc"], "invalid value 'abc' for '--radius"),
        (
            &["--gamma", "0.1"],
            "--gamma applies only to --schedule robbins-monro",
        ),
        (
            &["--confidence", "1.5"],
            "--confidence must be strictly between 0 and 1",
        ),
        (&["--threads", "-1"], "invalid value '-1' for '--threads"),
        (
            &["--threads", "100000"],
            "--threads 100000: use at most 1024",
        ),
        (&["--steps", "-5"], "invalid value '-5' for '--steps"),
    ];
    for (args, message) in cases {
        assert_refused(
            lojasim()
                .arg("run")
                .args(*args)
                .args(["--quiet", "--out", out.to_str().unwrap()]),
            message,
            dir.path(),
        );
        assert!(!out.exists(), "{args:?} left an output file");
    }
}

/// A run whose arrays cannot fit in memory is refused before they are allocated (the check
/// reads /proc/meminfo, hence Linux only): each case needs more than 150 GiB (10¹¹ coordinates;
/// a 6·10⁸-parameter network; 2·10¹² estimator points of 10 coordinates).
#[cfg(target_os = "linux")]
#[test]
fn a_run_too_large_for_memory_is_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.csv");
    let cases: &[(&[&str], &str)] = &[
        (
            &["run", "--problem", "quadratic", "--dim", "100000000000"],
            "--dim gives a run that needs at least",
        ),
        (
            &["run", "--hidden", "100000000", "--init-steps", "0"],
            "--hidden gives a run that needs at least",
        ),
        (
            &[
                "constants",
                "--problem",
                "quadratic",
                "--constant-samples",
                "1000000000000",
            ],
            "--constant-samples gives a run that needs at least",
        ),
    ];
    for (args, message) in cases {
        assert_refused(
            lojasim().args(*args).args(["--out", out.to_str().unwrap()]),
            message,
            dir.path(),
        )
        .stderr(predicate::str::contains("available: use"));
    }
}

/// Two outputs with one destination are refused before any work: two CSVs interleaved on
/// standard output, or one file written over the other (also when spelled differently).
#[test]
fn two_outputs_with_one_destination_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.csv");
    let f = file.to_str().unwrap();
    let same_file = format!(
        "{}/../{}/r.csv",
        dir.path().display(),
        dir.path().file_name().unwrap().to_str().unwrap()
    );
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["run", "--out", "-", "--curves-out", "-"],
            "--curves-out -: standard output is already --out's".to_string(),
        ),
        (
            vec!["run", "--out", f, "--trace", "2", &same_file],
            format!("--trace {same_file}: the same file as --out"),
        ),
        (
            vec!["sweep", "--eta", "0.1", "--out", f, "--curves-out", f],
            format!("--curves-out {f}: the same file as --out"),
        ),
    ];
    for (args, message) in &cases {
        let out = assert_refused(
            lojasim()
                .args(args)
                .args(["--problem", "quadratic", "--trajectories", "8", "--quiet"]),
            message,
            dir.path(),
        );
        assert!(out.get_output().stdout.is_empty(), "{args:?}");
    }
    // Devices may take several outputs.
    lojasim()
        .args([
            "run",
            "--problem",
            "quadratic",
            "--trajectories",
            "8",
            "--quiet",
        ])
        .args(["--out", "/dev/null", "--curves-out", "/dev/null"])
        .assert()
        .success();
}

#[test]
fn an_unwritable_output_directory_fails_before_simulating() {
    lojasim()
        .args(SMALL)
        .args(["--out", "/nonexistent-dir/r.csv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--out /nonexistent-dir/r.csv"));
}

#[test]
fn bound_prints_the_constants_without_simulating() {
    lojasim()
        .args([
            "bound",
            "--problem",
            "quadratic",
            "--curvature",
            "1,2",
            "--theta0",
            "0.1",
            "--eta",
            "0.1",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "α              2.000000 (exact constants)",
        ))
        .stdout(predicate::str::contains("C_L            2.000000"))
        .stdout(predicate::str::contains("Chatterjee"));
    lojasim()
        .args(["bound", "--noise", "bounded"])
        .assert()
        .success()
        .stdout(predicate::str::contains("bounded noise does not vanish"));
}

// ---------------------------------------------------------------------------------------------
// Sweeps, shards, merge, resume (issue 3).

/// A small grid: 2 radii × 3 step sizes, both outcomes present at every point.
const GRID: &[&str] = &[
    "sweep",
    "--problem",
    "quadratic",
    "--dim",
    "3",
    "--theta0",
    "0.1",
    "--sigma",
    "10",
    "--radius",
    "0.2,0.3",
    "--eta",
    "lin:0.1:0.3:3",
    "--steps",
    "200",
    "--trajectories",
    "3001",
    "--quiet",
];

fn read(path: &std::path::Path) -> String {
    fs::read_to_string(path).unwrap()
}

fn column(text: &str, name: &str) -> Vec<String> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let col = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    reader
        .records()
        .map(|r| r.unwrap()[col].to_string())
        .collect()
}

#[test]
fn sweep_writes_one_row_per_point_with_the_last_flag_varying_fastest() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.csv");
    lojasim()
        .args(GRID)
        .args(["--out", out.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("P(stay) [interval]"))
        .stdout(predicate::str::contains("P(exit) [interval]"));
    let text = read(&out);
    let header = text.lines().next().unwrap();
    let run_header = lojasim()
        .args(SMALL)
        .args(["--out", "-"])
        .output()
        .unwrap()
        .stdout;
    let run_header = String::from_utf8(run_header).unwrap();
    assert_eq!(
        header,
        format!(
            "{},config_id,traj_start,traj_end,traj_total,looks,exit_step_sum,final_loss_sum,\
             exit_sum,exit_sq_sum,ams_iterations_sum",
            run_header.lines().next().unwrap()
        )
    );
    // --radius comes before --eta in --help, so it varies slowest.
    assert_eq!(
        column(&text, "radius"),
        ["0.2", "0.2", "0.2", "0.3", "0.3", "0.3"]
    );
    assert_eq!(
        column(&text, "eta"),
        ["0.1", "0.2", "0.3", "0.1", "0.2", "0.3"]
    );
    assert_eq!(column(&text, "traj_start"), ["0"; 6]);
    assert_eq!(column(&text, "traj_end"), ["3001"; 6]);
    let mut ids = column(&text, "config_id");
    assert!(ids.iter().all(|id| id.len() == 16));
    ids.dedup();
    assert_eq!(ids.len(), 6);
}

#[test]
fn a_sweep_row_is_the_run_row_of_its_point_with_a_stable_config_id() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.csv");
    lojasim()
        .args(GRID)
        .args(["--threads", "2", "--out", out.to_str().unwrap()])
        .assert()
        .success();
    let sweep = read(&out);
    let run = lojasim()
        .args([
            "run",
            "--problem",
            "quadratic",
            "--dim",
            "3",
            "--theta0",
            "0.1",
        ])
        .args([
            "--sigma", "10", "--radius", "0.3", "--eta", "0.2", "--steps", "200",
        ])
        .args([
            "--trajectories",
            "3001",
            "--quiet",
            "--threads",
            "1",
            "--out",
            "-",
        ])
        .output()
        .unwrap();
    let run = String::from_utf8(run.stdout).unwrap();
    let run_row = &without_elapsed(&run)[0];
    let sweep_row = &without_elapsed(&sweep)[4];
    assert_eq!(&sweep_row[..run_row.len()], &run_row[..]);
    // Same point, another grid around it: same id.
    let other = dir.path().join("o.csv");
    lojasim()
        .args(GRID)
        .args(["--eta", "0.2"])
        .args(["--out", other.to_str().unwrap()])
        .assert()
        .code(2); // --eta given twice is a clap error, not a silent override
    let mut args: Vec<&str> = GRID.to_vec();
    let at = args.iter().position(|&a| a == "--eta").unwrap();
    args[at + 1] = "0.2,0.25";
    lojasim()
        .args(&args)
        .args(["--out", other.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(
        column(&read(&other), "config_id")[2],
        column(&sweep, "config_id")[4]
    );
}

#[test]
fn merged_shards_equal_the_unsharded_sweep_and_shards_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    lojasim()
        .args(GRID)
        .args(["--out", &path("full.csv")])
        .assert()
        .success();
    for k in 0..3 {
        lojasim()
            .args(GRID)
            .args([
                "--shard",
                &format!("{k}/3"),
                "--out",
                &path(&format!("s{k}.csv")),
            ])
            .assert()
            .success();
    }
    // 3001 = 1000 + 1000 + 1001.
    assert_eq!(
        column(&read(dir.path().join("s1.csv").as_path()), "traj_start")[0],
        "1000"
    );
    assert_eq!(
        column(&read(dir.path().join("s2.csv").as_path()), "traj_end")[0],
        "3001"
    );
    lojasim()
        .args(["merge", &path("s2.csv"), &path("s0.csv"), &path("s1.csv")])
        .args(["--out", &path("merged.csv")])
        .assert()
        .success();
    let full = read(dir.path().join("full.csv").as_path());
    let merged = read(dir.path().join("merged.csv").as_path());
    assert_eq!(without_elapsed(&merged), without_elapsed(&full));
    // A restarted shard writes the same bytes, elapsed time aside.
    lojasim()
        .args(GRID)
        .args(["--shard", "1/3", "--out", &path("again.csv")])
        .assert()
        .success();
    assert_eq!(
        without_elapsed(&read(dir.path().join("again.csv").as_path())),
        without_elapsed(&read(dir.path().join("s1.csv").as_path()))
    );
}

#[test]
fn merge_refuses_missing_overlapping_and_foreign_shards() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    for k in 0..2 {
        lojasim()
            .args(GRID)
            .args([
                "--shard",
                &format!("{k}/2"),
                "--out",
                &path(&format!("s{k}.csv")),
            ])
            .assert()
            .success();
    }
    lojasim()
        .args(GRID)
        .args(["--seed", "7", "--shard", "1/2", "--out", &path("seed7.csv")])
        .assert()
        .success();
    let cases: &[(&[&str], &str)] = &[
        (&["s0.csv"], "trajectories [1500, 3001) of 3001 are missing"),
        (
            &["s0.csv", "s1.csv", "s1.csv"],
            "overlap: a shard is given twice",
        ),
        (&["s0.csv", "seed7.csv"], "has seed = 7 but"),
    ];
    for (files, message) in cases {
        let files: Vec<String> = files.iter().map(|f| path(f)).collect();
        lojasim()
            .arg("merge")
            .args(&files)
            .args(["--out", &path("m.csv")])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(*message));
        assert!(!dir.path().join("m.csv").exists());
    }
    // An edited configuration cell under the same config_id is caught.
    let s1 = read(dir.path().join("s1.csv").as_path()).replace(",200,1e-6,", ",201,1e-6,");
    fs::write(dir.path().join("edited.csv"), s1).unwrap();
    lojasim()
        .args([
            "merge",
            &path("s0.csv"),
            &path("edited.csv"),
            "--out",
            &path("m.csv"),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("column steps is 200"));
    // A file that is not a sweep's output: the fix is about the inputs, not about --force.
    fs::write(dir.path().join("data.csv"), "a,b,y\n1,2,3\n").unwrap();
    lojasim()
        .args([
            "merge",
            &path("s0.csv"),
            &path("data.csv"),
            "--out",
            &path("m.csv"),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("data.csv has a different header"))
        .stderr(predicate::str::contains("merge only the --out files of"))
        .stderr(predicate::str::contains("--force").not());
    assert!(!dir.path().join("m.csv").exists());
}

/// A sweep slow enough to interrupt after its first rows (25 points of ~0.1 s).
fn slow_sweep(out: &str, curves: &str) -> Vec<String> {
    [
        "sweep",
        "--problem",
        "quadratic",
        "--dim",
        "3",
        "--theta0",
        "0.1",
        "--sigma",
        "10",
        "--steps",
        "300",
        "--trajectories",
        "8000",
        "--eta",
        "lin:0.1:0.3:5",
        "--radius",
        "lin:0.2:0.4:5",
        "--quiet",
        "--out",
        out,
        "--curves-out",
        curves,
    ]
    .map(String::from)
    .to_vec()
}

/// Starts the sweep, waits until `rows` data rows are in `out`, then sends `signal`.
fn interrupt_after_rows(
    args: &[String],
    out: &std::path::Path,
    rows: usize,
    signal: &str,
) -> std::process::ExitStatus {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("lojasim"))
        .args(args)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    loop {
        let lines = fs::read_to_string(out).map_or(0, |t| t.lines().count());
        if lines > rows {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the sweep ended ({status}) before it could be interrupted");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let killed = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    child.wait().unwrap()
}

#[test]
fn ctrl_c_keeps_finished_rows_exits_130_and_resume_completes_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let s = |name: &str| p(name).to_str().unwrap().to_string();
    lojasim()
        .args(slow_sweep(&s("full.csv"), &s("full-curves.csv")))
        .assert()
        .success();
    let args = slow_sweep(&s("r.csv"), &s("r-curves.csv"));
    let status = interrupt_after_rows(&args, &p("r.csv"), 2, "-INT");
    assert_eq!(status.code(), Some(130));
    let partial = read(&p("r.csv"));
    let kept = csv_rows(&partial).len();
    assert!(
        (2..25).contains(&kept),
        "{kept} rows after the interruption"
    );
    assert!(partial.ends_with('\n'));
    // Without --resume or --force the file is protected.
    lojasim()
        .args(&args)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--resume"));
    lojasim()
        .args(&args)
        .arg("--resume")
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "{} computed now, {kept} kept",
            25 - kept
        )));
    assert_eq!(
        without_elapsed(&read(&p("r.csv"))),
        without_elapsed(&read(&p("full.csv")))
    );
    assert_eq!(read(&p("r-curves.csv")), read(&p("full-curves.csv")));
}

#[test]
fn a_killed_sweep_with_a_torn_last_line_resumes_to_the_uninterrupted_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let s = |name: &str| p(name).to_str().unwrap().to_string();
    lojasim()
        .args(slow_sweep(&s("full.csv"), &s("full-curves.csv")))
        .assert()
        .success();
    let args = slow_sweep(&s("r.csv"), &s("r-curves.csv"));
    let status = interrupt_after_rows(&args, &p("r.csv"), 1, "-KILL");
    assert_eq!(status.code(), None);
    // Simulate a kill inside the write of a row and of a curves block.
    let full = read(&p("full.csv"));
    let next_row = full
        .lines()
        .nth(csv_rows(&read(&p("r.csv"))).len() + 1)
        .unwrap();
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(p("r.csv"))
        .unwrap();
    std::io::Write::write_all(&mut f, &next_row.as_bytes()[..40]).unwrap();
    let mut c = fs::OpenOptions::new()
        .append(true)
        .open(p("r-curves.csv"))
        .unwrap();
    std::io::Write::write_all(&mut c, b"0123456789abcdef,0,8000,5,79").unwrap();
    lojasim()
        .args(&args)
        .arg("--resume")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "an incomplete last line (40 bytes) dropped",
        ));
    assert_eq!(without_elapsed(&read(&p("r.csv"))), without_elapsed(&full));
    assert_eq!(read(&p("r-curves.csv")), read(&p("full-curves.csv")));
}

#[test]
fn target_halfwidth_stops_each_point_at_the_precision_independently_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    let run = |threads: &str, name: &str| {
        let out = dir.path().join(name);
        lojasim()
            .args(GRID)
            .args(["--trajectories", "200000", "--target-halfwidth", "0.015"])
            .args(["--threads", threads, "--out", out.to_str().unwrap()])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--trajectories"));
        let mut args: Vec<&str> = GRID.to_vec();
        let at = args.iter().position(|&a| a == "--trajectories").unwrap();
        args[at + 1] = "200000";
        lojasim()
            .args(&args)
            .args(["--target-halfwidth", "0.015", "--threads", threads])
            .args(["--out", out.to_str().unwrap()])
            .assert()
            .success();
        read(&out)
    };
    let one = run("1", "one.csv");
    assert_eq!(without_elapsed(&run("2", "two.csv")), without_elapsed(&one));
    assert!(column(&one, "ci_method").iter().all(|m| m == "betting-cs"));
    let f = |name: &str| {
        column(&one, name)
            .iter()
            .map(|x| x.parse::<f64>().unwrap())
            .collect::<Vec<_>>()
    };
    let (n, looks) = (f("trajectories"), f("looks"));
    for name in ["stay", "converge"] {
        let (lo, hi) = (f(&format!("{name}_lo")), f(&format!("{name}_hi")));
        for i in 0..lo.len() {
            assert!((hi[i] - lo[i]) / 2.0 <= 0.015, "{name} at point {i}");
        }
    }
    assert!(n.iter().all(|&n| n < 200_000.0) && looks.iter().all(|&l| l >= 1.0));
    assert_eq!(column(&one, "traj_end"), column(&one, "trajectories"));
    // `merge` recomputes the confidence sequence from the counts and the target.
    let merged = dir.path().join("merged.csv");
    lojasim()
        .args(["merge", dir.path().join("one.csv").to_str().unwrap()])
        .args(["--out", merged.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(without_elapsed(&read(&merged)), without_elapsed(&one));
}

#[test]
fn curves_follow_the_tally_and_carry_the_bound_where_it_applies() {
    let dir = tempfile::tempdir().unwrap();
    let curves = dir.path().join("c.csv");
    let out = lojasim()
        .args(SMALL)
        .args([
            "--eta",
            "0.05",
            "--out",
            "-",
            "--curves-out",
            curves.to_str().unwrap(),
        ])
        .assert()
        .code(2);
    drop(out);
    let at = SMALL.iter().position(|&a| a == "--eta").unwrap();
    let mut args: Vec<&str> = SMALL.to_vec();
    args[at + 1] = "0.05";
    let out = lojasim()
        .args(&args)
        .args(["--out", "-", "--curves-out", curves.to_str().unwrap()])
        .assert()
        .success();
    let result = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let text = read(&curves);
    assert_eq!(
        text.lines().next().unwrap(),
        "config_id,traj_start,traj_end,traj_total,k,stay_count,loss_mean,loss_se,loss_bound,\
         loss_sum,loss_sq_sum"
    );
    // The documented grid: every step to 100, then round(100·10^(j/20)) below K, then K = 200.
    let k: Vec<u64> = column(&text, "k")
        .iter()
        .map(|k| k.parse().unwrap())
        .collect();
    let mut expected: Vec<u64> = (0..=100).collect();
    expected.extend(
        (1..)
            .map(|j| (100.0 * 10f64.powf(j as f64 / 20.0)).round() as u64)
            .take_while(|&k| k < 200),
    );
    expected.push(200);
    assert_eq!(k, expected);
    let stay = column(&text, "stay_count");
    assert_eq!(stay[0], "3000");
    assert_eq!(stay.last().unwrap(), &column(&result, "stay_count")[0]);
    let stay: Vec<u64> = stay.iter().map(|s| s.parse().unwrap()).collect();
    assert!(stay.windows(2).all(|w| w[0] >= w[1]));
    // ρ^k·F(θ0) at k = 0 is F(θ0) itself, and so is the mean (every trajectory starts there).
    assert_eq!(column(&text, "loss_bound")[0], column(&result, "f0")[0]);
    assert_eq!(column(&text, "loss_mean")[0], column(&result, "f0")[0]);
    // Bounded noise: no bound, an empty cell.
    let out2 = dir.path().join("c2.csv");
    lojasim()
        .args(&args)
        .args(["--noise", "bounded", "--curves-out", out2.to_str().unwrap()])
        .assert()
        .success();
    assert!(
        column(&read(&out2), "loss_bound")
            .iter()
            .all(|b| b.is_empty())
    );
}

#[test]
fn bad_grids_name_the_flag_exit_2_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.csv");
    let base: Vec<&str> = GRID
        .iter()
        .copied()
        .filter(|&a| a != "--eta" && a != "lin:0.1:0.3:3")
        .collect();
    let cases: &[(&[&str], &str)] = &[
        (&["--eta", "lin:0:1"], "lin:START:STOP:COUNT"),
        (&["--eta", "lin:0:1:0"], "COUNT in 'lin:0:1:0' must be ≥ 1"),
        (&["--eta", "log:0:1:3"], "cannot reach or cross 0"),
        (&["--eta", "0.1,,0.2"], "empty value in the list"),
        (&["--eta", "0.1,0.1"], "--eta lists the value 0.1 twice"),
        (
            &[
                "--eta",
                "lin:0.01:1:1000",
                "--eps",
                "lin:1e-6:1e-3:1000",
                "--confidence",
                "lin:0.5:0.99:101",
            ],
            "--max-points is 100000 but the grid has",
        ),
        (&["--shard", "3/3"], "shard index k must be < M = 3"),
        (&["--shard", "1/0"], "M must be ≥ 1"),
        (&["--shard", "0/4000"], "--shard 0/4000"),
        (&["--seed", "1,2"], "--seed takes one value in a sweep"),
        // Points are built in parallel, but the first invalid one in grid order is named.
        (
            &["--eta", "0.1,-1,-2"],
            "--eta must be > 0 (got -1) (at grid point 1:",
        ),
        (
            &["--eta", "0.1", "--threads", "5000"],
            "--threads 5000: use at most 1024",
        ),
        (
            &["--eta", "0.1", "--schedule", "constant,robbins-monro"],
            "(at grid point 1: --radius 0.2, --schedule robbins-monro)",
        ),
        (
            &["--eta", "0.1", "--target-halfwidth", "0.7"],
            "--target-halfwidth must be in (0, 0.5]",
        ),
        (
            &[
                "--eta",
                "0.1",
                "--shard",
                "0/2",
                "--target-halfwidth",
                "0.1",
            ],
            "cannot be used with",
        ),
    ];
    for (args, message) in cases {
        assert_refused(
            lojasim()
                .args(&base)
                .args(*args)
                .args(["--out", out.to_str().unwrap()]),
            message,
            dir.path(),
        );
    }
    lojasim()
        .args(&base)
        .args(["--eta", "0.1", "--out", "/nonexistent-dir/s.csv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--out /nonexistent-dir/s.csv"));
    lojasim()
        .args(["run", "--radius", "0.1,0.2", "--quiet"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("--radius has 2 values")
                .and(predicate::str::contains("lojasim sweep")),
        );
}

fn teacher() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/data/teacher.csv").to_string()
}

/// A fast network configuration on the teacher set: 8 → 4 → 1 (d = 41), no pre-training.
fn small_network() -> Vec<String> {
    [
        "--problem",
        "mlp",
        "--data",
        &teacher(),
        "--hidden",
        "4",
        "--init-steps",
        "0",
        "--constant-samples",
        "8",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The CSV a successful quiet `lojasim run` of [`small_network`] with `flags` writes to stdout.
fn small_network_csv(flags: &[&str]) -> String {
    let out = lojasim()
        .arg("run")
        .args(small_network())
        .args(flags)
        .args(["--quiet", "--out", "-"])
        .assert()
        .success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

/// On a ball small enough for the network's norm bounds (r = 1e-4 around its initialisation),
/// the run's constants are certified and its bound status says so; at the default radius they
/// are estimated.
#[test]
fn a_small_ball_gives_certified_constants_and_a_marked_status() {
    let text = small_network_csv(&[
        "--radius",
        "1e-4",
        "--eta",
        "1e-9",
        "--trajectories",
        "64",
        "--steps",
        "20",
    ]);
    assert_eq!(column(&text, "constants_source"), ["certified"]);
    assert!(
        column(&text, "bound_status")[0].ends_with("-certified"),
        "{text}"
    );
    let text = small_network_csv(&["--trajectories", "64", "--steps", "20"]);
    assert_eq!(column(&text, "constants_source"), ["estimated"]);
}

/// A sweep pre-trains a start once for all points that share everything that makes it, so each
/// point must still get its own when its init flags differ: over --init-seed × --init-steps, the
/// four F(θ0) differ, and each equals what `run` gives for that point alone.
#[test]
fn sweep_points_get_the_pretrained_start_of_their_own_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.csv");
    let data = teacher();
    let common = [
        "--problem",
        "mlp",
        "--data",
        &data,
        "--hidden",
        "4",
        "--constant-samples",
        "8",
        "--trajectories",
        "8",
        "--steps",
        "20",
        "--quiet",
    ];
    lojasim()
        .arg("sweep")
        .args(common)
        .args(["--init-seed", "0,1", "--init-steps", "5,50"])
        .args(["--out", out.to_str().unwrap()])
        .assert()
        .success();
    let text = read(&out);
    let (seeds, steps, f0) = (
        column(&text, "init_seed"),
        column(&text, "init_steps"),
        column(&text, "f0"),
    );
    assert_eq!(f0.len(), 4);
    let mut distinct = f0.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "{f0:?}");
    for i in 0..4 {
        let alone = lojasim()
            .arg("run")
            .args(common)
            .args([
                "--init-seed",
                &seeds[i],
                "--init-steps",
                &steps[i],
                "--out",
                "-",
            ])
            .assert()
            .success();
        let row = String::from_utf8(alone.get_output().stdout.clone()).unwrap();
        assert_eq!(column(&row, "f0"), [f0[i].clone()], "point {i}");
    }
}

#[test]
fn constants_prints_estimates_beside_exact_values_and_writes_csv() {
    let out = lojasim()
        .args([
            "constants",
            "--problem",
            "least-squares",
            "--data",
            &teacher(),
            "--bias",
            "--threads",
            "2",
            "--out",
            "-",
        ])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("not certificates"), "{stderr}");
    assert!(stderr.contains("(exact "), "{stderr}");
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.starts_with("problem,dim,radius,f0,seed,points,alpha_hat,c_l_hat"));
    let rows = csv_rows(&text);
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][0], "least-squares");
    assert_eq!(&rows[0][1], "9");
    // The values a bound would use are the most conservative of their ingredients, and d = 9 <
    // n = 16 rows leaves no α certificate (J Jᵀ is singular).
    let cell = |name: &str| -> f64 { column(&text, name)[0].parse().unwrap() };
    assert!(cell("alpha_hat") <= cell("alpha_sampled").min(cell("alpha_adversarial")));
    assert!(cell("c_l_hat") >= cell("c_l_sampled").max(cell("c_l_adversarial")));
    assert_eq!(column(&text, "alpha_certified"), [""]);
    assert_eq!(column(&text, "constants_source"), ["estimated"]);
}

#[test]
fn init_writes_the_theta0_a_run_uses_and_a_wrong_length_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("theta0.txt");
    let p = path.to_str().unwrap();
    lojasim()
        .arg("init")
        .args(small_network())
        .args(["--out", p])
        .assert()
        .success();
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 41);
    // A run from the file equals a run from the same seed.
    let run = |extra: &[&str]| {
        let flags = [&["--trajectories", "64", "--steps", "50"], extra].concat();
        without_elapsed(&small_network_csv(&flags))
    };
    // Equal in every cell but init_seed and init_steps, which record how a seeded start was made
    // and are empty for a start read from a file (rows without elapsed_s, which comes earlier).
    let (mut from_file, mut seeded) = (run(&["--theta0-file", p]), run(&[]));
    let init_seed = lojasim::report::CSV_COLUMNS
        .iter()
        .position(|&c| c == "init_seed")
        .unwrap()
        - 1;
    let split = |rows: &mut Vec<Vec<String>>| -> Vec<String> {
        rows[0].drain(init_seed..init_seed + 2).collect()
    };
    assert_eq!(split(&mut from_file), ["", ""]);
    assert_eq!(split(&mut seeded), ["0", "0"]);
    assert_eq!(from_file, seeded);
    // One value too many.
    fs::write(&path, format!("{text}0.5\n")).unwrap();
    let csv = dir.path().join("r.csv");
    lojasim()
        .arg("run")
        .args(small_network())
        .args(["--theta0-file", p, "--out", csv.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--theta0-file "))
        .stderr(predicate::str::contains(
            "has 42 values but this problem has d = 41 parameters",
        ));
    assert!(!csv.exists());
}

#[test]
fn network_runs_report_their_data_and_minibatch_noise() {
    // One set of flags for both runs below, so that they differ only in --curves-out.
    let run = |extra: &[&str]| {
        let minibatch = [
            "--noise",
            "minibatch",
            "--batch",
            "4",
            "--trajectories",
            "64",
            "--steps",
            "100",
            "--eta",
            "0.01",
        ];
        small_network_csv(&[&minibatch[..], extra].concat())
    };
    let text = run(&[]);
    let cell = |name: &str| column(&text, name)[0].clone();
    assert_eq!(cell("noise"), "minibatch");
    assert_eq!(cell("batch"), "4");
    assert_eq!(cell("batch_mode"), "with-replacement");
    assert_eq!(cell("hidden"), "4");
    assert_eq!(cell("constants_source"), "estimated");
    assert!(
        cell("bound_status") == "not-applicable" || cell("bound_status").ends_with("-estimated")
    );
    assert!(
        cell("sigma").parse::<f64>().unwrap() > 0.0,
        "σ̂ is reported as sigma"
    );

    // With --curves-out the run also computes the full loss at every grid step (skipped
    // otherwise): the contraction curve is complete, and the results row is unchanged.
    let dir = tempfile::tempdir().unwrap();
    let curves = dir.path().join("curves.csv");
    let text2 = run(&["--curves-out", curves.to_str().unwrap()]);
    let without_time = |t: &str| {
        let mut r = csv::Reader::from_reader(t.as_bytes());
        let h = r.headers().unwrap().clone();
        let row = r.records().next().unwrap().unwrap();
        h.iter()
            .zip(row.iter())
            .filter(|(h, _)| !TIMES.contains(h))
            .map(|(h, v)| format!("{h}={v}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(without_time(&text2), without_time(&text));
    let means = column(&read(&curves), "loss_mean");
    assert_eq!(means.len(), 101);
    assert!(
        means.iter().all(|m| m.parse::<f64>().is_ok()),
        "no empty cell: {means:?}"
    );
}

#[test]
fn bad_data_and_network_flags_name_the_flag_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let bad_cell = write("cell.csv", "a,y\n1,2\n3,oops\n");
    let empty_cell = write("empty.csv", "a,y\n1,\n");
    let ragged = write("ragged.csv", "a,y\n1,2\n1,2,3\n");
    let no_rows = write("rows.csv", "a,y\n");
    let ok = write("ok.csv", "a,y\n1,2\n2,3\n");
    let missing = dir.path().join("missing.csv").to_str().unwrap().to_string();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    let result = out.join("r.csv");
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["--data", &missing],
            format!("--data {missing}: cannot read"),
        ),
        (
            vec!["--data", &bad_cell],
            "line 3, column 'y': 'oops' is not a finite number".into(),
        ),
        (
            vec!["--data", &empty_cell],
            "line 2, column 'y': empty cell".into(),
        ),
        (
            vec!["--data", &ragged],
            "line 3 has 3 cells but the header has 2".into(),
        ),
        (
            vec!["--data", &no_rows],
            "no data rows after the header".into(),
        ),
        (
            vec!["--data", &ok, "--target", "z"],
            "no column named 'z' (columns: a, y)".into(),
        ),
        (
            vec!["--data", &ok, "--dim", "5"],
            "--dim is 5 but --problem mlp on this data has d = ".into(),
        ),
        (
            vec!["--problem", "ring", "--noise", "minibatch"],
            "--noise minibatch needs a loss that is a mean over data rows".into(),
        ),
        (
            vec!["--problem", "ring", "--data", &ok],
            "--data applies only to --problem least-squares or mlp".into(),
        ),
        (
            vec!["--data", &ok, "--hidden", "0"],
            "--hidden widths must be ≥ 1 (got 0)".into(),
        ),
    ];
    for (args, message) in &cases {
        assert_refused(
            lojasim()
                .arg("run")
                .args(args)
                .args(["--quiet", "--out", result.to_str().unwrap()]),
            message,
            &out,
        );
    }
    // The same errors stop `constants` and `init` before they write anything.
    for sub in ["constants", "init"] {
        lojasim()
            .args([sub, "--data", &missing, "--out", result.to_str().unwrap()])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--data"));
        assert_eq!(fs::read_dir(&out).unwrap().count(), 0, "{sub} left a file");
    }
}

#[test]
fn trace_writes_every_step_of_the_first_trajectories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace.csv");
    let at = SMALL.iter().position(|&a| a == "--steps").unwrap();
    let args: Vec<&str> = [&SMALL[..at], &SMALL[at + 2..]].concat();
    lojasim()
        .args(&args)
        .args(["--steps", "20", "--trace", "3", path.to_str().unwrap()])
        .assert()
        .success();
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("trajectory,k,loss,distance\n"));
    let rows = csv_rows(&text);
    for i in 0..3 {
        let path: Vec<_> = rows.iter().filter(|r| r[0] == *i.to_string()).collect();
        assert_eq!(&path[0][1], "0");
        assert_eq!(&path[0][3], "0");
        // Either all 21 steps, or the steps up to and including the exit.
        let last: f64 = path.last().unwrap()[3].parse().unwrap();
        assert!(
            path.len() == 21 || last > 0.3,
            "trajectory {i}: {} rows",
            path.len()
        );
    }
    lojasim()
        .args(SMALL)
        .args(["--trace", "0", dir.path().join("t2.csv").to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--trace N must be"));
    assert!(!dir.path().join("t2.csv").exists());
}

/// Writing to a device must not replace it: an atomic rename over /dev/null once turned it into a
/// regular file on a development machine.
#[cfg(unix)]
#[test]
fn output_to_a_device_is_written_in_place_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let null = std::path::Path::new("/dev/null");
    assert!(fs::metadata(null).unwrap().file_type().is_char_device());
    lojasim()
        .args(SMALL)
        .args(["--out", "/dev/null", "--curves-out", "/dev/null"])
        .assert()
        .success();
    lojasim()
        .args([
            "sweep",
            "--problem",
            "ring",
            "--eta",
            "0.01,0.02",
            "--trajectories",
            "10",
        ])
        .args(["--steps", "10", "--quiet", "--out", "/dev/null"])
        .assert()
        .success();
    assert!(fs::metadata(null).unwrap().file_type().is_char_device());
}

/// A reader that stops early (`lojasim run | head -1`) or a closed standard error must not make
/// lojasim panic: the summary and messages are simply not seen, the output file is complete and
/// the exit status is the one it would have been.
#[test]
fn closed_standard_streams_do_not_cause_a_panic() {
    use std::process::{Command as Std, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.csv");
    // Closes `closed` (1: stdout, 2: stderr) before lojasim writes to it; returns the exit code
    // and what it wrote to the other stream.
    let run_closed = |args: &[&str], closed: u8| {
        let mut child = Std::new(assert_cmd::cargo::cargo_bin("lojasim"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let mut other = String::new();
        use std::io::Read;
        if closed == 1 {
            drop(out);
            err.read_to_string(&mut other).unwrap();
        } else {
            drop(err);
            out.read_to_string(&mut other).unwrap();
        }
        (child.wait().unwrap().code(), other)
    };
    let with_file: Vec<&str> = SMALL
        .iter()
        .copied()
        .chain(["--out", out.to_str().unwrap()])
        .collect();
    let (code, err) = run_closed(&with_file, 1);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let written = fs::read_to_string(&out).unwrap();
    fs::remove_file(&out).unwrap();
    lojasim().args(&with_file).assert().success();
    assert_eq!(
        without_elapsed(&written),
        without_elapsed(&fs::read_to_string(&out).unwrap())
    );

    let refused: Vec<&str> = SMALL.iter().copied().chain(["--eta", "-1"]).collect();
    let (code, _) = run_closed(&refused, 2);
    assert_eq!(code, Some(2));
}

/// An output path that is a directory is refused up front with a message that says so (it used to
/// say "pass --force", and with --force failed after the simulation with "Device or resource busy").
#[test]
fn a_directory_as_output_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("d");
    fs::create_dir(&d).unwrap();
    let d = d.to_str().unwrap();
    let expected = format!("is a directory; name a file, such as {d}/results.csv");
    for (flag, cmd) in [
        ("--out", vec!["--out", d, "--force"]),
        ("--curves-out", vec!["--out", "-", "--curves-out", d]),
    ] {
        let msg = format!("{flag} {d} {expected}");
        assert_refused(lojasim().args(SMALL).args(&cmd), &msg, Path::new(d));
    }
    assert_refused(
        lojasim()
            .args(["sweep", "--eta", "0.1,0.2", "--trajectories", "8"])
            .args(["--steps", "5", "--quiet", "--out", d, "--resume"]),
        &format!("--out {d} {expected}"),
        Path::new(d),
    );
    // Nothing was created beside it either.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// A start with a non-finite loss is refused naming the flag that produced it: a diverged
/// pre-training used to be reported as a bad `--theta0` (a flag the user had not given), and
/// `init` wrote its NaNs to the file.
#[test]
fn a_non_finite_start_names_its_own_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.txt");
    let net = [
        "--problem",
        "mlp",
        "--data",
        "data/teacher.csv",
        "--hidden",
        "4",
    ];
    for cmd in ["init", "run"] {
        assert_refused(
            lojasim()
                .arg(cmd)
                .args(net)
                .args(["--init-steps", "10", "--init-eta", "1e308"])
                .args(["--out", out.to_str().unwrap()]),
            "error: --init-eta pre-training diverged (--init-steps 10 at --init-eta 1e308 end at F = NaN)",
            dir.path(),
        );
    }
    let theta = dir.path().join("theta.txt");
    fs::write(&theta, "1e300\n".repeat(41)).unwrap(); // 8·4 + 4 + 4 + 1 parameters
    lojasim()
        .arg("run")
        .args(net)
        .args(["--theta0-file", theta.to_str().unwrap(), "--out", "-"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: --theta0-file gives a non-finite loss F(θ0) = inf",
        ));
}

/// The 1-D Gaussian AR(1) of scripts/reference/rare_exit_values.txt (case bg-const-1e-4), small
/// enough for a few seconds of splitting.
const AR1: &[&str] = &[
    "--problem",
    "quadratic",
    "--dim",
    "1",
    "--theta0",
    "0.3",
    "--radius",
    "0.5",
    "--noise",
    "bounded",
    "--sigma",
    "0.029",
    "--eta",
    "0.1",
    "--steps",
    "1000",
    "--estimator",
    "ams",
    "--particles",
    "30",
    "--quiet",
];

/// A splitting row says what it estimated: P(exit) with its interval, P(stay) as one minus it,
/// the effort (particles, replicas, mean levels, extinctions), no crude Monte Carlo counts, and
/// the same bytes for any thread count.
#[test]
fn splitting_rows_hold_the_exit_probability_and_do_not_depend_on_threads() {
    let row = |threads: &str| {
        let out = lojasim()
            .arg("run")
            .args(AR1)
            .args(["--replicas", "8", "--threads", threads, "--out", "-"])
            .assert()
            .success();
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        let record = reader.records().next().unwrap().unwrap();
        let cells: std::collections::HashMap<String, String> = header
            .into_iter()
            .zip(record.iter().map(String::from))
            .collect();
        cells
    };
    let one = row("1");
    let cell = |name: &str| one[name].as_str();
    assert_eq!(cell("estimator"), "ams");
    assert_eq!(cell("ci_method"), "ams-t");
    assert_eq!(cell("particles"), "30");
    assert_eq!(cell("replicas"), "8");
    assert_eq!(cell("trajectories"), "");
    assert_eq!(cell("converge_p"), "");
    let p: f64 = cell("exit_p").parse().unwrap();
    let (lo, hi): (f64, f64) = (
        cell("exit_lo").parse().unwrap(),
        cell("exit_hi").parse().unwrap(),
    );
    assert!(
        0.0 < p && lo <= p && p <= hi && hi < 1e-2,
        "{p} [{lo}, {hi}]"
    );
    let stay: f64 = cell("stay_p").parse().unwrap();
    assert_eq!(stay, 1.0 - p);
    // Bounded noise: the theorem does not apply, so there is no δ to compare.
    assert_eq!(cell("bound_status"), "not-applicable");
    assert_eq!(cell("delta_over_exit"), "");
    let mut two = row("2");
    let mut one = one.clone();
    for t in TIMES {
        one.remove(t);
        two.remove(t);
    }
    assert_eq!(one, two);
}

/// The CSV row of `lojasim run ARGS --out -`, by column, and the summary (standard error).
fn run_row(args: &[&str]) -> (std::collections::HashMap<String, String>, String) {
    let out = lojasim()
        .arg("run")
        .args(args)
        .args(["--out", "-"])
        .assert()
        .success();
    let output = out.get_output();
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let record = reader.records().next().unwrap().unwrap();
    let cells = header
        .into_iter()
        .zip(record.iter().map(String::from))
        .collect();
    (cells, String::from_utf8(output.stderr.clone()).unwrap())
}

/// ML Rademacher noise on the 1-D quadratic, P(exit) ≈ 1.03e-6 (case ml-1e-6 of
/// scripts/reference/rare_exit_values.txt), split with 30 paths per replica.
const ML_RARE: [&str; 22] = [
    "--problem",
    "quadratic",
    "--dim",
    "1",
    "--theta0",
    "0.3",
    "--radius",
    "0.3",
    "--noise",
    "ml",
    "--noise-dist",
    "rademacher",
    "--eta",
    "0.05",
    "--sigma",
    "5.8",
    "--steps",
    "200",
    "--estimator",
    "ams",
    "--particles",
    "30",
];

/// A relative target adds replicas past --replicas until the spent interval is narrow enough,
/// says so in the row and the summary, and the result does not depend on the thread count.
#[test]
fn a_splitting_run_to_a_relative_error_meets_it_and_says_so() {
    let run = |threads: &str| {
        let mut args = ML_RARE.to_vec();
        args.extend(["--target-relative-error", "0.15", "--threads", threads]);
        run_row(&args)
    };
    let (one, summary) = run("1");
    assert_eq!(one["ci_method"], "ams-t-spent");
    assert_eq!(one["target_met"], "true");
    let replicas: u64 = one["replicas"].parse().unwrap();
    assert!(
        replicas > 40,
        "{replicas} replicas: the default 40 do not reach 15 %"
    );
    let p: f64 = one["exit_p"].parse().unwrap();
    let lo: f64 = one["exit_lo"].parse().unwrap();
    let hi: f64 = one["exit_hi"].parse().unwrap();
    assert!((hi - lo) / (2.0 * p) <= 0.15, "{p} [{lo}, {hi}]");
    assert!(
        summary.contains("relative half-width ≤ 15%: met with"),
        "{summary}"
    );
    let (mut two, _) = run("2");
    let mut one = one;
    for t in TIMES {
        one.remove(t);
        two.remove(t);
    }
    assert_eq!(one, two);
}

/// A splitting sweep's table gives P(exit) in scientific notation, P(stay) with enough decimals
/// not to read [1.0000, 1.0000], and a dash for P(converge), which splitting does not estimate.
#[test]
fn a_splitting_sweep_table_prints_the_exit_probability_in_scientific_notation() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.csv");
    let output = lojasim()
        .arg("sweep")
        .args(ML_RARE)
        .args(["--replicas", "4", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let p: f64 = column(&read(&out), "exit_p")[0].parse().unwrap();
    assert!(
        stdout.contains(&format!("{p:.3e} [")),
        "no {p:.3e} in\n{stdout}"
    );
    // P(stay) is printed with the decimals that keep its interval's ends apart: each printed
    // end is its CSV cell rounded, and the two differ.
    let line = stdout.lines().nth(1).unwrap();
    let stay = line
        .split("  ")
        .map(str::trim)
        .find(|c| c.starts_with("0.9"))
        .unwrap();
    let ends: Vec<f64> = stay
        .split(['[', ',', ']'])
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let decimals = stay.split(' ').next().unwrap().len() - 2;
    for (printed, name) in ends[1..].iter().zip(["stay_lo", "stay_hi"]) {
        let cell: f64 = column(&read(&out), name)[0].parse().unwrap();
        assert!(
            (printed - cell).abs() <= 0.5 * 10f64.powi(-(decimals as i32)),
            "{stay}"
        );
    }
    assert!(ends[1] < ends[2], "{stay}");
    assert!(
        line.trim_end().ends_with("vacuous") && line.contains("—"),
        "{stdout}"
    );
}

/// Bounded noise at P(exit) ≈ 1.0e-12 (case bg-const-1e-12 of
/// scripts/reference/rare_exit_values.txt) with the tail score, whose replicas are heavy-tailed
/// there: the summary warns; at ML noise (the ML_RARE case) it does not.
#[test]
fn heavy_tailed_splitting_replicas_are_flagged_in_the_summary() {
    let bounded = [
        "--problem",
        "quadratic",
        "--dim",
        "1",
        "--theta0",
        "0.3",
        "--radius",
        "0.5",
        "--noise",
        "bounded",
        "--sigma",
        "0.0121",
        "--eta",
        "0.1",
        "--steps",
        "1000",
        "--estimator",
        "ams",
        "--score",
        "tail",
    ];
    let (row, summary) = run_row(&bounded);
    assert!(
        summary.contains("WARNING      the replicas' estimates are heavy-tailed"),
        "{summary}"
    );
    assert!(row["exit_p"].parse::<f64>().unwrap() > 0.0);
    let (_, summary) = run_row(&ML_RARE);
    assert!(summary.contains("replicas' relative spread"), "{summary}");
    assert!(!summary.contains("heavy-tailed"), "{summary}");
}

#[test]
fn a_relative_target_that_the_cap_stops_is_reported_as_not_met() {
    let mut args = ML_RARE.to_vec();
    args.extend([
        "--replicas",
        "4",
        "--target-relative-error",
        "0.01",
        "--max-replicas",
        "10",
    ]);
    let (row, summary) = run_row(&args);
    assert_eq!(row["target_met"], "false");
    assert_eq!(row["replicas"], "10");
    assert!(
        summary.contains("TARGET NOT MET relative half-width ≤ 1%: stopped at --max-replicas 10"),
        "{summary}"
    );
}

#[test]
fn bad_relative_targets_are_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let out = out.to_str().unwrap();
    let with = |extra: &[&'static str]| {
        let mut args = vec!["run"];
        args.extend(ML_RARE);
        args.extend(extra);
        args.extend(["--out", "OUT"]);
        args
    };
    for (args, message) in [
        (
            with(&["--target-relative-error", "0"]),
            "--target-relative-error must be a positive relative half-width, e.g. 0.1 for 10 % (got 0)",
        ),
        (
            with(&["--target-relative-error", "0.1", "--max-replicas", "20"]),
            "--max-replicas must be at least --replicas, the first look (40; got 20)",
        ),
        (
            vec![
                "run",
                "--problem",
                "ring",
                "--target-relative-error",
                "0.1",
                "--out",
                "OUT",
            ],
            "--target-relative-error applies to --estimator ams",
        ),
    ] {
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "OUT" { out } else { a })
            .collect();
        assert_refused(lojasim().args(&args), message, dir.path());
    }
    // --max-replicas alone: clap names the missing flag.
    lojasim()
        .args(["run", "--estimator", "ams", "--max-replicas", "10"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("--target-relative-error"));
}

/// Replicas are the unit of a splitting shard: three shards merged equal the unsharded sweep in
/// every cell but elapsed_s.
#[test]
fn merged_splitting_shards_equal_the_unsharded_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let sweep = |extra: &[&str], out: &str| {
        lojasim()
            .arg("sweep")
            .args(AR1)
            .args(["--replicas", "6", "--confidence", "0.95,0.9", "--out", out])
            .args(extra)
            .assert()
            .success();
    };
    sweep(&[], &path("all.csv"));
    for k in 0..3 {
        sweep(
            &["--shard", &format!("{k}/3")],
            &path(&format!("part-{k}.csv")),
        );
    }
    lojasim()
        .args([
            "merge",
            &path("part-0.csv"),
            &path("part-1.csv"),
            &path("part-2.csv"),
        ])
        .args(["--out", &path("merged.csv")])
        .assert()
        .success();
    let all = without_elapsed(&read(Path::new(&path("all.csv"))));
    assert_eq!(all.len(), 2);
    assert_eq!(without_elapsed(&read(Path::new(&path("merged.csv")))), all);
    assert_ne!(without_elapsed(&read(Path::new(&path("part-0.csv")))), all);
}

#[test]
fn flags_of_the_other_estimator_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let out = out.to_str().unwrap();
    for (flags, message) in [
        (
            &[
                "run",
                "--problem",
                "ring",
                "--particles",
                "10",
                "--out",
                out,
            ][..],
            "--particles applies only to --estimator ams",
        ),
        (
            &[
                "run",
                "--problem",
                "ring",
                "--estimator",
                "ams",
                "--trajectories",
                "10",
                "--out",
                out,
            ],
            "--trajectories does not apply to --estimator ams",
        ),
        (
            &[
                "run",
                "--problem",
                "ring",
                "--estimator",
                "ams",
                "--replicas",
                "1",
                "--out",
                out,
            ],
            "--replicas must be ≥ 2 (got 1)",
        ),
        (
            &[
                "run",
                "--problem",
                "ring",
                "--estimator",
                "ams",
                "--curves-out",
                out,
            ],
            "--curves-out applies to --estimator mc only",
        ),
        (
            &[
                "sweep",
                "--problem",
                "ring",
                "--estimator",
                "ams",
                "--target-halfwidth",
                "0.01",
                "--out",
                out,
            ],
            "--target-halfwidth applies to --estimator mc only",
        ),
        (
            &["run", "--problem", "ring", "--score", "tail", "--out", out],
            "--score applies only to --estimator ams",
        ),
        (
            &[
                "run",
                "--problem",
                "least-squares",
                "--noise",
                "minibatch",
                "--estimator",
                "ams",
                "--score",
                "tail",
                "--out",
                out,
            ],
            "--score tail needs noise with a known scale (ml or bounded), not minibatch; use \
             --score distance",
        ),
    ] {
        assert_refused(lojasim().args(flags), message, dir.path());
    }
}

/// A point of the 1-D quadratic where P(stay) ≈ 0.91 (bounded noise, σ = 60): a half-width of
/// 0.005 needs ≈ 1.96²·0.09·0.91/0.005² ≈ 12 600 trajectories at a fixed N, more than the default
/// cap of 10 000, and fewer than 100 000 with the confidence sequence checked every block.
const NEAR_091: [&str; 12] = [
    "--problem",
    "quadratic",
    "--dim",
    "1",
    "--theta0",
    "0.2",
    "--radius",
    "0.3",
    "--sigma",
    "60",
    "--target-halfwidth",
    "0.005",
];

/// `run --target-halfwidth`: at the default cap the target is missed and both the summary and
/// `target_met` say so, with the trajectories it would need; with --max-trajectories it is met.
#[test]
fn run_to_a_target_halfwidth_says_whether_it_was_met() {
    let (missed, summary) = run_row(&NEAR_091);
    assert_eq!(missed["target_met"], "false");
    assert_eq!(missed["trajectories"], "10000");
    assert_eq!(missed["ci_method"], "betting-cs");
    assert_eq!(missed["precision_target"], "0.005");
    assert!(
        summary.contains("TARGET NOT MET half-width ≤ 0.005"),
        "{summary}"
    );
    assert!(summary.contains("--max-trajectories"), "{summary}");
    let halfwidth = |row: &std::collections::HashMap<String, String>| {
        let f = |c: &str| row[c].parse::<f64>().unwrap();
        ((f("stay_hi") - f("stay_lo")) / 2.0).max((f("converge_hi") - f("converge_lo")) / 2.0)
    };
    assert!(halfwidth(&missed) > 0.005);

    let (met, summary) = run_row(&[&NEAR_091[..], &["--max-trajectories", "100000"]].concat());
    assert_eq!(met["target_met"], "true");
    assert!(halfwidth(&met) <= 0.005, "{met:?}");
    let n: u64 = met["trajectories"].parse().unwrap();
    assert!(n > 10_000 && n < 100_000, "{n}");
    assert!(
        summary.contains(&format!("met with {n} trajectories")),
        "{summary}"
    );
    // The cap is the same fact under either flag.
    let (same, _) = run_row(&[&NEAR_091[..], &["--trajectories", "100000"]].concat());
    assert_eq!(same["stay_count"], met["stay_count"]);
}

/// A sweep whose targets are partly missed says how many, below its table.
#[test]
fn a_sweep_that_misses_its_target_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.csv");
    let mut args = NEAR_091.to_vec();
    args[9] = "30,60";
    let output = lojasim()
        .arg("sweep")
        .args(&args)
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(column(&read(&out), "target_met"), ["true", "false"]);
    assert!(
        stdout.contains("TARGET NOT MET at 1 of 2 points"),
        "{stdout}"
    );
}

/// The flags of a precision target that do not fit are refused, naming the flag.
#[test]
fn precision_target_flags_that_do_not_fit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["run", "--max-trajectories", "100"], "--target-halfwidth"),
        (
            &["run", "--target-halfwidth", "0.01", "--ci", "wilson"],
            "--ci does not apply with --target-halfwidth",
        ),
        (
            &[
                "sweep",
                "--target-halfwidth",
                "0.01",
                "--ci",
                "jeffreys",
                "--out",
                "s.csv",
            ],
            "--ci does not apply with --target-halfwidth",
        ),
        (
            &[
                "run",
                "--target-halfwidth",
                "0.01",
                "--max-trajectories",
                "100",
                "--trajectories",
                "100",
            ],
            "--trajectories",
        ),
        (
            &["run", "--estimator", "ams", "--target-halfwidth", "0.01"],
            "--target-halfwidth applies to --estimator mc",
        ),
        (
            &["run", "--target-relative-error", "0.1"],
            "--target-relative-error applies to --estimator ams",
        ),
    ];
    for (args, message) in cases {
        assert_refused(
            lojasim().current_dir(dir.path()).args(args),
            message,
            dir.path(),
        );
    }
}

/// `--format json` prints one object whose fields are the CSV row's, typed; `bound` does the same
/// with the bound's inputs and results, and names its inputs in text too.
#[test]
fn json_output_carries_the_csv_rows_fields() {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("r.csv");
    let args = [
        "--problem",
        "ring",
        "--trajectories",
        "200",
        "--steps",
        "50",
    ];
    let output = lojasim()
        .arg("run")
        .args(args)
        .args(["--format", "json", "--out", csv_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success());
    let object: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("P(stay)"),
        "the summary goes to stderr: {stderr}"
    );
    let text = read(&csv_path);
    let rows = csv_rows(&text);
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    assert_eq!(object.as_object().unwrap().len(), header.len());
    for (name, cell) in header.iter().zip(rows[0].iter()) {
        let value = &object[*name];
        match cell {
            "" => assert!(value.is_null(), "{name}"),
            _ if cell.parse::<f64>().is_ok_and(f64::is_finite) && *name != "elapsed_s" => {
                assert_eq!(
                    value.as_f64().unwrap(),
                    cell.parse::<f64>().unwrap(),
                    "{name}"
                )
            }
            "true" | "false" => assert_eq!(value.as_bool().unwrap(), cell == "true"),
            _ if *name == "elapsed_s" => {}
            _ => assert_eq!(value.as_str().unwrap(), cell, "{name}"),
        }
    }

    let bound = lojasim()
        .args(["bound", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let bound: serde_json::Value = serde_json::from_slice(&bound.stdout).unwrap();
    for name in [
        "delta", "rho", "alpha", "c_l", "eta", "sigma", "steps", "eps", "radius",
    ] {
        assert_eq!(bound[name], object[name], "{name}");
    }
    let text = lojasim()
        .args(["bound", "--problem", "ring"])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    for line in [
        "step η         0.05",
        "noise          ml, σ = 1",
        "steps K        1000",
        "ε              1e-6",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }

    // Without contraction, bound names the step the theorem would need: on the quadratic of
    // unit curvatures (|∇F|² = |θ|² = 2F, so α = 2; C_L = 1; σ = 1) that is
    // 2α/(C_L(2C_L + σ)) = 4/3.
    let text = lojasim()
        .args(["bound", "--problem", "quadratic", "--eta", "1.4"])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    let needed =
        "(ρ < 1 needs η < 2α/(C_L(2C_L + σ)) = 1.33333 with these constants; η = 1.4 here)";
    assert!(text.contains(needed), "{text}");

    let empty = tempfile::tempdir().unwrap();
    assert_refused(
        lojasim().current_dir(empty.path()).args([
            "run",
            "--problem",
            "ring",
            "--format",
            "json",
            "--out",
            "-",
        ]),
        "--format json prints the result on standard output",
        empty.path(),
    );
}

/// Ctrl-C during `run`: after the first chunk the run announces its cost; interrupted, it writes
/// the estimate of the chunks finished, marked partial, and exits 130. The partial row's counts
/// are those of a fresh run of exactly that many trajectories.
#[test]
fn ctrl_c_during_run_writes_the_finished_part_marked_partial() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.csv");
    // About a minute of work on two cores: far more than the interruption leaves time for.
    let args = [
        "run",
        "--problem",
        "ring",
        "--trajectories",
        "3000000",
        "--quiet",
    ];
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("lojasim"))
        .args(args)
        .args(["--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(
        line.starts_with("planned: 3000000 trajectories × 1000 steps, about"),
        "{line}"
    );
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(rest.contains("marked partial"), "{rest}");

    let text = read(&out);
    let n = column(&text, "trajectories")[0].clone();
    assert_eq!(column(&text, "partial"), ["true"]);
    let n_value: u64 = n.parse().unwrap();
    assert!((256..30_000_000).contains(&n_value), "{n}");
    let fresh = lojasim()
        .args(&args[..3])
        .args(["--trajectories", &n, "--quiet", "--out", "-"])
        .output()
        .unwrap();
    let fresh = String::from_utf8(fresh.stdout).unwrap();
    for name in [
        "stay_count",
        "converge_count",
        "final_loss_mean",
        "stay_lo",
        "exit_hi",
    ] {
        assert_eq!(column(&text, name), column(&fresh, name), "{name}");
    }
    assert_eq!(column(&fresh, "partial"), [""]);
}

/// Flags the chosen problem or noise does not use are refused, naming the flag and what it
/// applies to; `--noise none` says that its interval only reflects N.
#[test]
fn flags_that_do_not_apply_are_refused_and_deterministic_runs_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (
            &["run", "--problem", "quadratic", "--hidden", "3"],
            "--hidden applies only to --problem mlp",
        ),
        (
            &["run", "--problem", "ring", "--curvature", "2"],
            "--curvature applies only to --problem quadratic",
        ),
        (
            &[
                "bound",
                "--problem",
                "least-squares",
                "--activation",
                "relu",
            ],
            "--activation applies only to --problem mlp",
        ),
        (
            &[
                "sweep",
                "--problem",
                "quadratic,ring",
                "--init-steps",
                "5",
                "--out",
                "s.csv",
            ],
            "--init-steps applies only to --problem least-squares or mlp",
        ),
        (
            &[
                "run",
                "--problem",
                "ring",
                "--noise",
                "none",
                "--sigma",
                "2",
            ],
            "--sigma does not apply to --noise none",
        ),
        (
            &["run", "--problem", "ring", "--constant-samples", "10"],
            "--constant-samples applies only to --problem least-squares or mlp",
        ),
    ];
    for (args, message) in cases {
        assert_refused(
            lojasim().current_dir(dir.path()).args(args),
            message,
            dir.path(),
        );
    }
    // A flag applies to a sweep if it applies to one of its problems.
    lojasim()
        .current_dir(dir.path())
        .args([
            "sweep",
            "--problem",
            "quadratic,least-squares",
            "--init-steps",
            "5",
        ])
        .args([
            "--trajectories",
            "64",
            "--steps",
            "5",
            "--out",
            "-",
            "--quiet",
        ])
        .assert()
        .success();
    lojasim()
        .args([
            "run",
            "--problem",
            "ring",
            "--noise",
            "none",
            "--trajectories",
            "64",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "no noise: every trajectory follows the same path",
        ));
}

/// The curves files of the shards merge into the unsharded run's curves byte for byte, for
/// analytic landscapes and for a network under minibatch noise; a missing shard is named.
#[test]
fn merged_curves_files_equal_the_unsharded_curves() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let grids: [&[&str]; 2] = [
        &[
            "--problem",
            "ring,quadratic",
            "--noise",
            "ml,bounded",
            "--sigma",
            "2",
            "--eta",
            "0.05",
            "--trajectories",
            "500",
            "--steps",
            "150",
        ],
        &[
            "--problem",
            "mlp",
            "--init-steps",
            "500",
            "--noise",
            "minibatch",
            "--batch",
            "4",
            "--trajectories",
            "200",
            "--steps",
            "60",
        ],
    ];
    for (g, grid) in grids.iter().enumerate() {
        let run = |shard: Option<usize>, name: &str| {
            let mut cmd = lojasim();
            cmd.arg("sweep").args(*grid).arg("--quiet");
            if let Some(k) = shard {
                cmd.args(["--shard", &format!("{k}/3")]);
            }
            cmd.args(["--out", &path(&format!("{name}.csv"))])
                .args(["--curves-out", &path(&format!("{name}-curves.csv"))])
                .assert()
                .success();
        };
        run(None, &format!("full{g}"));
        for k in 0..3 {
            run(Some(k), &format!("s{g}{k}"));
        }
        lojasim()
            .args([
                "merge",
                &path(&format!("s{g}2-curves.csv")),
                &path(&format!("s{g}0-curves.csv")),
            ])
            .arg(path(&format!("s{g}1-curves.csv")))
            .args(["--out", &path(&format!("merged{g}-curves.csv"))])
            .assert()
            .success();
        let full = read(dir.path().join(format!("full{g}-curves.csv")).as_path());
        let merged = read(dir.path().join(format!("merged{g}-curves.csv")).as_path());
        assert_eq!(merged, full, "grid {g}");
        assert!(full.lines().count() > 60, "{full}");
    }
    lojasim()
        .args(["merge", &path("s00-curves.csv"), &path("s01-curves.csv")])
        .args(["--out", &path("partial-curves.csv")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "are missing: add the file of that shard",
        ));
}

/// `--init-loss`: pre-training stops once F(θ) ≤ F*, and the summary, `init` and the row say how
/// far it got; a cap that stops it first is reported.
#[test]
fn init_loss_pretrains_to_a_loss_and_reports_a_cap_that_stops_it() {
    let (row, summary) = run_row(&[
        "--init-loss",
        "1e-3",
        "--trajectories",
        "64",
        "--steps",
        "20",
    ]);
    assert_eq!(row["init_loss"], "0.001");
    // The phases' times: each present, and the total their sum (to the cells' rounding).
    let t = |c: &str| row[c].parse::<f64>().unwrap();
    let sum = t("init_s") + t("constants_s") + t("elapsed_s");
    assert!((t("total_s") - sum).abs() <= 2e-6, "{row:?}");
    assert!(
        summary.contains("pre-training") && summary.contains("constants"),
        "{summary}"
    );
    let f0: f64 = row["f0"].parse().unwrap();
    assert!(f0 <= 1e-3 && f0 > 1e-4, "{f0}");
    let output = lojasim()
        .args([
            "run",
            "--init-loss",
            "1e-3",
            "--trajectories",
            "64",
            "--steps",
            "20",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("--init-loss 0.001 reached"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.txt");
    let output = lojasim()
        .args(["init", "--init-loss", "1e-14", "--init-steps", "300"])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("θ0 of d = 97 parameters"), "{stderr}");
    assert!(
        stderr.contains("INIT LOSS NOT REACHED 300 gradient-descent steps"),
        "{stderr}"
    );
    assert_eq!(read(&out).lines().count(), 97);
    assert_refused(
        lojasim()
            .current_dir(dir.path())
            .args(["run", "--problem", "ring", "--init-loss", "1"]),
        "--init-loss applies only to --problem least-squares or mlp",
        &tempfile::tempdir().unwrap().keep(),
    );
}

/// `sweep --target-relative-error`: each point runs as `run` with the same flags would (the
/// same replicas, estimate and interval), rows say whether the target was met, and shards or
/// crude Monte Carlo are refused.
#[test]
fn a_splitting_sweep_runs_each_point_to_a_relative_precision_as_run_does() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.csv");
    let mut grid = ML_RARE.to_vec();
    grid[15] = "11,5.8";
    lojasim()
        .arg("sweep")
        .args(&grid)
        .args(["--target-relative-error", "0.2", "--quiet"])
        .args(["--out", out.to_str().unwrap()])
        .assert()
        .success();
    let sweep = read(&out);
    assert_eq!(column(&sweep, "target_met"), ["true", "true"]);
    assert_eq!(column(&sweep, "ci_method"), ["ams-t-spent", "ams-t-spent"]);
    for (i, sigma) in ["11", "5.8"].into_iter().enumerate() {
        let mut point = ML_RARE.to_vec();
        point[15] = sigma;
        let (run, _) = run_row(&[&point[..], &["--target-relative-error", "0.2"]].concat());
        for name in [
            "replicas",
            "exit_p",
            "exit_lo",
            "exit_hi",
            "stay_bound",
            "target_met",
        ] {
            assert_eq!(column(&sweep, name)[i], run[name], "{name} at σ = {sigma}");
        }
        let (lo, hi, p): (f64, f64, f64) = (
            run["exit_lo"].parse().unwrap(),
            run["exit_hi"].parse().unwrap(),
            run["exit_p"].parse().unwrap(),
        );
        assert!((hi - lo) / (2.0 * p) <= 0.2);
    }
    let empty = tempfile::tempdir().unwrap();
    let mut mc = grid.clone();
    mc[19] = "mc";
    mc.truncate(20); // without --particles
    for (args, extra, message) in [
        (
            &grid,
            &["--shard", "0/2"][..],
            "--target-relative-error cannot be used with --shard",
        ),
        (
            &mc,
            &[][..],
            "--target-relative-error applies to --estimator ams",
        ),
    ] {
        assert_refused(
            lojasim()
                .current_dir(empty.path())
                .arg("sweep")
                .args(args)
                .args(["--target-relative-error", "0.2", "--out", "s.csv"])
                .args(extra),
            message,
            empty.path(),
        );
    }
}

/// Several targets and one-hot classes: the summary names the outputs and the network's width,
/// a run at a fixed seed is the same on 1 and 2 threads, and flags that do not fit are refused
/// naming the flag.
#[test]
fn multi_output_networks_run_and_bad_target_flags_are_refused() {
    let run = |flags: &[&str], threads: &str| {
        let out = lojasim()
            .arg("run")
            .args(small_network())
            .args(flags)
            .args([
                "--trajectories",
                "64",
                "--steps",
                "50",
                "--threads",
                threads,
            ])
            .assert()
            .success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    let two = run(&["--target", "x8,y"], "1");
    assert!(
        two.contains("p = 7 features, 2 targets 'x8,y'; network 7 → 4 → 2, tanh"),
        "{two}"
    );
    assert!(two.contains("mlp, d = 42,"), "{two}");
    let csv = |flags: &[&str], threads: &str| {
        let mut all = flags.to_vec();
        all.extend([
            "--trajectories",
            "64",
            "--steps",
            "50",
            "--threads",
            threads,
        ]);
        small_network_csv(&all)
    };
    let one = csv(&["--target", "x8,y"], "1");
    assert_eq!(
        (column(&one, "targets"), column(&one, "rows")),
        (vec!["x8;y".to_string()], vec!["16".to_string()])
    );
    assert_eq!(
        without_elapsed(&one),
        without_elapsed(&csv(&["--target", "x8,y"], "2"))
    );
    let three = csv(&["--target", "x8,y", "--rows", "3"], "1");
    assert_eq!(column(&three, "rows"), ["3"]);
    // One-hot classes: the CSV on stdout, the summary on stderr.
    let digits = concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits.csv");
    let classes = lojasim()
        .args([
            "run",
            "--data",
            digits,
            "--one-hot",
            "--standardize",
            "false",
            "--rows",
            "40",
            "--hidden",
            "3",
            "--init-steps",
            "0",
            "--constant-samples",
            "4",
            "--trajectories",
            "16",
            "--steps",
            "20",
            "--out",
            "-",
        ])
        .assert()
        .success();
    let onehot_csv = String::from_utf8(classes.get_output().stdout.clone()).unwrap();
    assert_eq!(column(&onehot_csv, "targets"), ["onehot:digit"]);
    let text = String::from_utf8(classes.get_output().stderr.clone()).unwrap();
    assert!(
        text.contains(
            "n = 40 rows, p = 64 features, 10 one-hot classes of 'digit'; network 64 → 3 → 10"
        ),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.csv");
    let out = out.to_str().unwrap();
    for (flags, message) in [
        (
            vec![
                "--problem",
                "least-squares",
                "--data",
                &teacher(),
                "--target",
                "x8,y",
            ],
            "--target least squares fits one target, got 2 (x8,y)",
        ),
        (
            vec![
                "--problem",
                "least-squares",
                "--data",
                &teacher(),
                "--one-hot",
            ],
            "--one-hot applies only to --problem mlp",
        ),
        (
            vec!["--problem", "mlp", "--data", &teacher(), "--one-hot"],
            "not an integer class label",
        ),
        (
            vec!["--problem", "mlp", "--data", &teacher(), "--target", "y,y"],
            "--target names column 'y' twice",
        ),
        (
            vec!["--problem", "mlp", "--data", &teacher(), "--rows", "0"],
            "--rows must be at least 1",
        ),
        (
            vec!["--problem", "ring", "--rows", "5"],
            "--rows applies only to --problem",
        ),
    ] {
        assert_refused(
            lojasim().arg("run").args(&flags).args(["--out", out]),
            message,
            dir.path(),
        );
    }
}
