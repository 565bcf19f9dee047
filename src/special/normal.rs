//! The standard normal quantile Φ⁻¹, the one the whole crate uses (interval endpoints,
//! sequential looks, the splitting interval's normal approximation).

// ---------------------------------------------------------------------------
// Standard normal quantile
// ---------------------------------------------------------------------------

// Wichura (1988), Algorithm AS 241 (PPND16): the published 20-digit
// coefficients as the nearest doubles, in ascending powers.
const AS241_A: [f64; 8] = [
    3.3871328727963665,
    133.14166789178438,
    1971.5909503065513,
    13731.69376550946,
    45921.95393154987,
    67265.7709270087,
    33430.57558358813,
    2509.0809287301227,
];
const AS241_B: [f64; 8] = [
    1.0,
    42.31333070160091,
    687.1870074920579,
    5394.196021424751,
    21213.794301586597,
    39307.89580009271,
    28729.085735721943,
    5226.495278852854,
];
const AS241_C: [f64; 8] = [
    1.4234371107496835,
    4.630337846156546,
    5.769497221460691,
    3.6478483247632045,
    1.2704582524523684,
    0.2417807251774506,
    0.022723844989269184,
    0.0007745450142783414,
];
const AS241_D: [f64; 8] = [
    1.0,
    2.053191626637759,
    1.6763848301838038,
    0.6897673349851,
    0.14810397642748008,
    0.015198666563616457,
    0.0005475938084995345,
    1.0507500716444169e-09,
];
const AS241_E: [f64; 8] = [
    6.657904643501103,
    5.463784911164114,
    1.7848265399172913,
    0.29656057182850487,
    0.026532189526576124,
    0.0012426609473880784,
    2.7115555687434876e-05,
    2.0103343992922881e-07,
];
const AS241_F: [f64; 8] = [
    1.0,
    0.599832206555888,
    0.1369298809227358,
    0.014875361290850615,
    0.0007868691311456133,
    1.8463183175100548e-05,
    1.421511758316446e-07,
    2.0442631033899397e-15,
];

fn horner(coefficients: &[f64; 8], x: f64) -> f64 {
    coefficients.iter().rev().fold(0.0, |acc, &c| acc * x + c)
}

/// Standard normal quantile Φ⁻¹(p), i.e. the z with
/// Φ(z) = ∫₋∞^z e^(−t²/2)/√(2π) dt = p.
///
/// Wichura's AS 241 (PPND16): rational minimax approximations in
/// q = p − ½ for |q| ≤ 0.425 and in r = √(−ln min(p, 1−p)) in the tails,
/// relative accuracy about 10⁻¹⁶ all the way down to p = 10⁻³⁰⁰ and below.
/// Returns −∞ for p ≤ 0, +∞ for p ≥ 1 and NaN for NaN. For p > ½ the tail
/// probability 1 − p is formed in floating point, so to get a far upper
/// quantile accurately pass the tail probability and negate:
/// Φ⁻¹(1 − q) = −Φ⁻¹(q).
pub fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * horner(&AS241_A, r) / horner(&AS241_B, r);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let r = (-tail.ln()).sqrt();
    let magnitude = if r <= 5.0 {
        let r = r - 1.6;
        horner(&AS241_C, r) / horner(&AS241_D, r)
    } else {
        let r = r - 5.0;
        horner(&AS241_E, r) / horner(&AS241_F, r)
    };
    if q < 0.0 { -magnitude } else { magnitude }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::special::testing::assert_rel;

    // Reference values from scripts/reference/ci_reference.py (mpmath at mp.dps = 40, computed
    // independently of this code; each value is the double nearest to the 40-digit result).

    /// (p, Φ⁻¹(p)) for the double p.
    const NORMAL_QUANTILE_REF: [(f64, f64); 10] = [
        (0.975, 1.9599639845400538),
        (0.500000001, 2.5066282037387115e-09),
        (0.3, -0.5244005127080408),
        (0.075, -1.439531470938456),
        (0.02, -2.053748910631823),
        (1e-05, -4.264890793922825),
        (1e-10, -6.361340902404057),
        (1e-100, -21.273453560965326),
        (1e-300, -37.0470962993612),
        (0.9999, 3.7190164854557084),
    ];

    #[test]
    fn normal_quantile_matches_mpmath_into_the_far_tail() {
        // AS 241 is good to ~1e-16 relative; 4e-16 is two ulp.
        for (p, z) in NORMAL_QUANTILE_REF {
            assert_rel(normal_quantile(p), z, 4e-16, &format!("Φ⁻¹({p})"));
        }
    }

    #[test]
    fn normal_quantile_of_0_975_is_1_959963984540054() {
        let z = normal_quantile(0.975);
        // 1.959963984540054 is Φ⁻¹ of the decimal 0.975; the double 0.975 is
        // 2.2e-17 smaller, which moves the exact quantile down by 3.8e-16 to
        // 1.9599639845400538 (mpmath). Both within two ulp.
        assert!((z - 1.959963984540054).abs() <= 4.5e-16, "{z}");
        assert!((z - 1.9599639845400538).abs() <= 2.3e-16, "{z}");
    }

    #[test]
    fn normal_quantile_is_odd_and_handles_extreme_arguments() {
        // For dyadic p the complement 1 − p is exact, so symmetry is exact.
        for k in 1..1024 {
            let p = k as f64 / 1024.0;
            assert_eq!(normal_quantile(p), -normal_quantile(1.0 - p), "p = {p}");
        }
        assert_eq!(normal_quantile(0.5), 0.0);
        let z = normal_quantile(1e-300);
        assert_rel(z, -37.0470962993612, 4e-16, "Φ⁻¹(1e-300)");
        let smallest = normal_quantile(f64::from_bits(1)); // 4.9e-324
        assert!(smallest.is_finite() && smallest < z, "{smallest}");
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
        assert!(normal_quantile(f64::NAN).is_nan());
    }
}
