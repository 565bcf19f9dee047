//! The human-readable table a sweep prints when it finishes.

use crate::output::sweep_csv;
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
    let mut table: Vec<Vec<String>> = vec![
        swept
            .iter()
            .map(|&a| grid.axes()[a].flag.trim_start_matches('-').to_string())
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
    let scientific = |cell: &str| {
        cell.parse::<f64>().map_or(cell.to_string(), |x| {
            if x == 0.0 {
                "0".to_string()
            } else {
                format!("{x:.3e}")
            }
        })
    };
    for (i, row) in rows.iter().enumerate().take(SUMMARY_ROWS) {
        let coords = grid.coordinates(i as u64);
        let mut line: Vec<String> = swept
            .iter()
            .map(|&a| grid.axes()[a].label(coords[a]).to_string())
            .collect();
        let interval = |name: &str, fmt: &dyn Fn(&str) -> String| {
            let cells = ["p", "lo", "hi"].map(|end| row[col(&format!("{name}_{end}"))].as_str());
            if cells.iter().all(|c| c.is_empty()) {
                "—".to_string()
            } else {
                format!("{} [{}, {}]", fmt(cells[0]), fmt(cells[1]), fmt(cells[2]))
            }
        };
        let p = |name: &str| interval(name, &short);
        line.extend([
            row[col("trajectories")].clone(),
            interval("exit", &scientific),
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
    s
}
