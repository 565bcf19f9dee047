//! What a run's large arrays need, checked against the memory the machine has free before they
//! are allocated: a dimension that cannot fit becomes an error naming the flag, not an abort in
//! the allocator (or the kernel's OOM killer) halfway through.
//!
//! Only the arrays that grow with the dimension d are counted, each of 8-byte floats, so the
//! totals are lower bounds: the data set, tallies and code come on top.

use crate::error::ConfigError;
use crate::lanes::LANES;

/// Bytes of the arrays of d coordinates that simulating needs: θ0 and one landscape array (the
/// quadratic's curvatures), and per worker thread θ and ∇F of [`LANES`] trajectories.
pub fn simulation_bytes(dim: usize, threads: usize) -> u128 {
    8 * dim as u128 * (2 + threads as u128 * 2 * LANES as u128)
}

/// Bytes the constants estimator adds: its `points` stored points and the starts of its searches,
/// and per worker thread its scratch vectors (the Lanczos basis among them), the Jacobian of `rows`
/// per-sample outputs and two `rows` × `rows` Gram matrices.
pub fn estimator_bytes(dim: usize, points: usize, rows: usize, threads: usize) -> u128 {
    let starts = (crate::constants::ALPHA_STARTS + 1 + 2 * crate::constants::CL_STARTS) as u128;
    let scratch = 16 + crate::constants::LANCZOS_STEPS as u128 + rows as u128;
    let (dim, rows, threads) = (dim as u128, rows as u128, threads as u128);
    8 * (dim * (points as u128 + starts + threads * scratch) + threads * 2 * rows * rows)
}

/// `MemAvailable` of /proc/meminfo (free memory, page cache that can be dropped included), where
/// the system reports it.
pub fn available_bytes() -> Option<u128> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_mem_available(&text)
}

fn parse_mem_available(meminfo: &str) -> Option<u128> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let mut words = line.split_whitespace().skip(1);
    let kib: u128 = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(kib * 1024)
}

/// Refuses `needed` bytes (for `what`) when more than `available` (if known): the error names
/// `flag` and says how to shrink the run (`fix`).
pub fn check(
    flag: &str,
    what: &str,
    needed: u128,
    available: Option<u128>,
    fix: &str,
) -> Result<(), ConfigError> {
    match available {
        Some(avail) if needed > avail => Err(ConfigError::new(
            flag,
            format!(
                "gives a run that needs at least {} for {what}, but this machine has {} \
                 available: {fix}",
                human(needed),
                human(avail)
            ),
        )),
        _ => Ok(()),
    }
}

/// Bytes in binary units, three significant digits.
fn human(bytes: u128) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.3} {}", UNITS[unit]).replace(".000 ", " ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_available_is_read_in_kib() {
        let text =
            "MemTotal:       24000000 kB\nMemFree:         1000 kB\nMemAvailable:   2048 kB\n";
        assert_eq!(parse_mem_available(text), Some(2048 * 1024));
        assert_eq!(parse_mem_available("MemTotal: 1 kB\n"), None);
        assert_eq!(parse_mem_available("MemAvailable: 12 MB\n"), None);
    }

    /// d = 10⁶ on 2 threads: θ0 and curvatures (2 vectors) and 2 × 2 × 8 lane vectors, 34 vectors
    /// of 8 MB.
    #[test]
    fn simulation_bytes_count_every_vector_of_d() {
        assert_eq!(simulation_bytes(1_000_000, 2), 34 * 8_000_000);
        // 229 points + 13 search starts, and per thread 16 scratch vectors, a 20-vector Lanczos
        // basis and a 48-row Jacobian, plus two 48 × 48 Gram matrices per thread.
        assert_eq!(
            estimator_bytes(1_000, 229, 48, 2),
            8_000 * (229 + 13 + 2 * (16 + 20 + 48)) + 8 * 2 * 2 * 48 * 48
        );
    }

    #[test]
    fn a_run_that_does_not_fit_names_the_flag_and_the_sizes() {
        let gib = 1u128 << 30;
        assert!(check("--dim", "x", 2 * gib, Some(2 * gib), "smaller").is_ok());
        assert!(check("--dim", "x", 3 * gib, None, "smaller").is_ok());
        let e = check("--dim", "θ", 3 * gib, Some(2 * gib), "use a smaller --dim")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--dim "), "{e}");
        assert!(e.contains("needs at least 3 GiB for θ"), "{e}");
        assert!(
            e.contains("has 2 GiB available: use a smaller --dim"),
            "{e}"
        );
        assert_eq!(human(1536), "1.500 KiB");
        assert_eq!(human(12), "12 B");
    }
}
