//! The human-readable table a sweep prints when it finishes.

use crate::output::sweep_csv;
use crate::report::{fmt_exit, fmt_setting, proportion_decimals};
use crate::sweep::SettingsGrid;

/// At most this many rows of the summary table are printed.
pub const SUMMARY_ROWS: usize = 50;

/// The summary a sweep prints: the swept values, N, P(exit) in scientific notation (the digits
/// that matter near 0, where P(stay) prints as 1.0000), both proportions with their intervals,
/// 1 − δ and the bound status of each row (rows in grid order). A quantity a row does not have
/// (P(converge) of a splitting row) prints as "—".
pub fn table(grid: &SettingsGrid, rows: &[&Vec<String>]) -> String {
    let swept: Vec<usize> = (0..grid.axes().len())
        .filter(|&a| grid.axes()[a].len() > 1)
        .collect();
    let col = sweep_csv::column;
    // The step a data landscape chooses from its constants differs between points although no
    // axis sweeps it: then it gets a column of its own.
    let eta_varies = !swept.iter().any(|&a| grid.axes()[a].flag == "--eta")
        && rows
            .windows(2)
            .any(|w| w[0][col("eta")] != w[1][col("eta")]);
    let mut table: Vec<Vec<String>> = vec![
        swept
            .iter()
            .map(|&a| grid.axes()[a].flag.trim_start_matches('-').to_string())
            .chain(eta_varies.then(|| "eta (default)".to_string()))
            .chain(
                [
                    "N",
                    "P(exit) [interval]",
                    "P(stay) [interval]",
                    "P(converge) [interval]",
                    "1−δ",
                    "status",
                ]
                .map(String::from),
            )
            .collect(),
    ];
    let short = |cell: &str| {
        cell.parse::<f64>()
            .map_or(cell.to_string(), |x| format!("{x:.4}"))
    };
    // A swept value as the user would read it: computed grid values (lin:, log:) can carry
    // sixteen digits, which six significant ones replace.
    let label = |text: &str| match text.parse::<f64>() {
        Ok(x) if fmt_setting(x).len() < text.len() => fmt_setting(x),
        _ => text.to_string(),
    };
    // P(exit) as the run summary prints it; an end that is not a number (a splitting interval
    // no replica resolved) is shown as its cell.
    let exit = |row: &Vec<String>| {
        let cells = ["exit_p", "exit_lo", "exit_hi"].map(|c| row[col(c)].as_str());
        match cells.map(|c| c.parse::<f64>()) {
            [Ok(p), Ok(lo), Ok(hi)] => fmt_exit(p, lo, hi, 3, " "),
            _ if cells.iter().all(|c| c.is_empty()) => "—".to_string(),
            _ => format!("{} [{}, {}]", cells[0], cells[1], cells[2]),
        }
    };
    for (i, row) in rows.iter().enumerate().take(SUMMARY_ROWS) {
        let coords = grid.coordinates(i as u64);
        let mut line: Vec<String> = swept
            .iter()
            .map(|&a| label(grid.axes()[a].label(coords[a])))
            .collect();
        if eta_varies {
            line.push(label(&row[col("eta")]));
        }
        let interval = |name: &str, fmt: &dyn Fn(&str) -> String| {
            let cells = ["p", "lo", "hi"].map(|end| row[col(&format!("{name}_{end}"))].as_str());
            if cells.iter().all(|c| c.is_empty()) {
                "—".to_string()
            } else {
                format!("{} [{}, {}]", fmt(cells[0]), fmt(cells[1]), fmt(cells[2]))
            }
        };
        // A proportion's three cells with the decimals that keep its interval's ends apart.
        let p = |name: &str| {
            let end = |e: &str| row[col(&format!("{name}_{e}"))].parse::<f64>().ok();
            let d = match (end("lo"), end("hi")) {
                (Some(lo), Some(hi)) => proportion_decimals(lo, hi),
                _ => 4,
            };
            interval(name, &|cell: &str| {
                cell.parse::<f64>()
                    .map_or(cell.to_string(), |x| format!("{x:.d$}"))
            })
        };
        line.extend([
            row[col("trajectories")].clone(),
            exit(row),
            p("stay"),
            p("converge"),
            short(&row[col("stay_bound")]),
            row[col("bound_status")].clone(),
        ]);
        table.push(line);
    }
    let widths: Vec<usize> = (0..table[0].len())
        .map(|c| {
            table
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut s = String::new();
    for line in &table {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(c, &w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        s.push_str(cells.join("  ").trim_end());
        s.push('\n');
    }
    if rows.len() > SUMMARY_ROWS {
        s.push_str(&format!("… {} more rows\n", rows.len() - SUMMARY_ROWS));
    }
    if let Some(line) = fixed(grid, rows) {
        s.push_str(&line);
    }
    s
}

/// The settings every row shares and no axis sweeps (the resolved step, noise scale, radius,
/// steps and ε, defaults included), as one line under the table.
fn fixed(grid: &SettingsGrid, rows: &[&Vec<String>]) -> Option<String> {
    let swept: Vec<&str> = grid
        .axes()
        .iter()
        .filter(|a| a.len() > 1)
        .map(|a| a.flag)
        .collect();
    let col = sweep_csv::column;
    let first = rows.first()?;
    let cells: Vec<String> = [
        ("eta", "--eta", "η"),
        ("sigma", "--sigma", "σ"),
        ("radius", "--radius", "r"),
        ("steps", "--steps", "K"),
        ("eps", "--eps", "ε"),
    ]
    .into_iter()
    .filter(|(_, flag, _)| !swept.contains(flag))
    .filter_map(|(name, _, symbol)| {
        let c = col(name);
        let value = &first[c];
        let shared = !value.is_empty() && rows.iter().all(|r| &r[c] == value);
        shared.then(|| {
            let shown = value.parse::<f64>().map_or(value.clone(), fmt_setting);
            format!("{symbol} = {shown}")
        })
    })
    .collect();
    (!cells.is_empty()).then(|| format!("every row: {}\n", cells.join(", ")))
}

/// The note a sweep to `--target-halfwidth` prints when some points stopped at the cap before
/// reaching it: how many, and the widest half-width left with at least about how many
/// trajectories it would need (half-widths shrink as 1/√N).
pub fn target_shortfall(rows: &[&Vec<String>], target: f64) -> Option<String> {
    let col = sweep_csv::column;
    let cell = |r: &Vec<String>, name: &str| r[col(name)].parse::<f64>().unwrap_or(f64::NAN);
    let missed: Vec<&&Vec<String>> = rows
        .iter()
        .filter(|r| r[col("target_met")] == "false")
        .collect();
    let (widest, n) = missed
        .iter()
        .map(|r| {
            let w = ((cell(r, "stay_hi") - cell(r, "stay_lo")) / 2.0)
                .max((cell(r, "converge_hi") - cell(r, "converge_lo")) / 2.0);
            (w, cell(r, "trajectories"))
        })
        .fold(None, |best: Option<(f64, f64)>, (w, n)| match best {
            Some((bw, _)) if bw >= w => best,
            _ => Some((w, n)),
        })?;
    Some(format!(
        "TARGET NOT MET at {} of {} points (target_met = false): they stopped at the cap of \
         --max-trajectories; the widest half-width left is {widest:.2e} > {target} after {n} \
         trajectories, which needs at least about {} (raise --max-trajectories)\n",
        missed.len(),
        rows.len(),
        (n * (widest / target).powi(2)).ceil()
    ))
}
