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
        let out = lojasim()
            .arg("run")
            .args(small_network())
            .args([
                "--trajectories",
                "64",
                "--steps",
                "50",
                "--quiet",
                "--out",
                "-",
            ])
            .args(extra)
            .assert()
            .success();
        without_elapsed(&String::from_utf8(out.get_output().stdout.clone()).unwrap())
    };
    assert_eq!(run(&["--theta0-file", p]), run(&[]));
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
    let out = lojasim()
        .arg("run")
        .args(small_network())
        .args([
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
            "--quiet",
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
        lojasim()
            .arg("run")
            .args(args)
            .args(["--quiet", "--out", result.to_str().unwrap()])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message.as_str()))
            .stderr(predicate::str::contains("panicked").not());
        assert_eq!(
            fs::read_dir(&out).unwrap().count(),
            0,
            "{args:?} left a file"
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
