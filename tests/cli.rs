//! Command-line behaviour: outputs, reproducibility across thread counts, and clean failures.

use assert_cmd::Command;
use predicates::prelude::*;
use std::fs;

fn lojasim() -> Command {
    Command::cargo_bin("lojasim").unwrap()
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

fn without_elapsed(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let col = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "elapsed_s")
        .unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            r.iter()
                .enumerate()
                .filter(|(i, _)| *i != col)
                .map(|(_, v)| v.to_string())
                .collect()
        })
        .collect()
}

#[test]
fn default_run_prints_estimates_beside_the_bound() {
    lojasim()
        .args(["run", "--quiet"])
        .assert()
        .success()
        .stdout(predicate::str::contains("P(stay)"))
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
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let row = reader.records().next().unwrap().unwrap();
    let cell = |name: &str| row[headers.iter().position(|h| h == name).unwrap()].to_string();
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
        (&["--steps", "-5"], "invalid value '-5' for '--steps"),
    ];
    for (args, message) in cases {
        lojasim()
            .arg("run")
            .args(*args)
            .args(["--quiet", "--out", out.to_str().unwrap()])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(*message))
            .stderr(predicate::str::contains("panicked").not());
        assert!(!out.exists(), "{args:?} left an output file");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{args:?} left a file"
        );
    }
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
