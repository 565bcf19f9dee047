//! Special functions the estimators share, one copy each for the whole crate.
//!
//! - [`normal_quantile`], Φ⁻¹ (Wichura's AS 241): every interval, sequential look and splitting
//!   interval of the crate uses this one. (statrs' `Normal::inverse_cdf` differs from it by up to
//!   8 ulp; two quantiles would make the same level give two different z.)
//! - [`beta_cdf`] and [`beta_quantile`], the regularized incomplete beta function and its
//!   inverse, on which the Clopper–Pearson and Jeffreys intervals rest. statrs has a Beta
//!   distribution, but it is not used: its regularized incomplete beta loses accuracy for large
//!   shapes, and its inverse can fail to converge (statrs issues 434 and 435), while the
//!   intervals here need both at shapes up to 10¹⁰ with full relative accuracy in the tails.
//! - [`ln_normal_tail`], ln Φ̄(z), the splitting score's building block
//!   ([`crate::ams::Score::Tail`]): it must stay finite and monotone far beyond where Φ̄ itself
//!   underflows (z ≈ 38), because the score ranks paths whose next exit is 50 standard
//!   deviations away.
//!
//! `libm` is a direct dependency for its erfc, accurate to an ulp or so: statrs' erfc, which the
//! crate has anyway, was measured off by 4·10⁻¹¹ relative at 3/√2.

mod beta;
mod normal;

#[cfg(test)]
pub(crate) use beta::beta_tails;
pub(crate) use beta::{Tail, quantile_of_tail};
pub use beta::{beta_cdf, beta_quantile};
pub use normal::normal_quantile;

use libm::erfc;

/// ln Φ̄(z) = ln P(Z > z) for a standard normal Z; −∞ at z = +∞ and 0 at z = −∞.
///
/// For z < 0 it is ln_1p(−erfc(−z/√2)/2); for 0 ≤ z < 30, ln(erfc(z/√2)/2), with the erfc of
/// the `libm` crate (musl's, within about an ulp; statrs' erfc is off by 4·10⁻¹¹ relative at
/// 3/√2, which the test below catches); above, where erfc approaches underflow, the asymptotic series
/// ln Φ̄(z) = −z²/2 − ln z − ½ ln 2π + ln(1 − 1/z² + 3/z⁴ − 15/z⁶ + 105/z⁸), whose truncation
/// error is below 945/z¹⁰ < 2e-12 there.
pub fn ln_normal_tail(z: f64) -> f64 {
    const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
    if z.is_nan() {
        return f64::NAN;
    }
    if z < 0.0 {
        // Φ̄(z) = 1 − Φ̄(−z) is close to 1: its logarithm through ln_1p keeps the digits.
        return (-0.5 * erfc(-z * std::f64::consts::FRAC_1_SQRT_2)).ln_1p();
    }
    if z < 30.0 {
        return (0.5 * erfc(z * std::f64::consts::FRAC_1_SQRT_2)).ln();
    }
    let u = 1.0 / (z * z);
    let series = 1.0 + u * (-1.0 + u * (3.0 + u * (-15.0 + u * 105.0)));
    -0.5 * z * z - z.ln() - LN_SQRT_2PI + series.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from mpmath at 40 digits: `log(ncdf(-z))`, printed to 20.
    #[allow(clippy::excessive_precision)]
    #[test]
    fn ln_normal_tail_matches_mpmath_on_both_sides_of_the_switch() {
        let cases = [
            (-3.0, -0.0013508099647481937988),
            (-0.5, -0.36894641528865639307),
            (0.0, -std::f64::consts::LN_2),
            (1.0, -1.8410216450092635058),
            (5.0, -15.064998393988725736),
            (10.0, -53.231285150512470578),
            (30.0, -454.32124395634319711),
            (37.0, -689.0305855768905936),
            (38.0, -726.5572160188201301),
            (50.0, -1254.8313611394199013),
            (200.0, -20006.217280898190402),
        ];
        for (z, exact) in cases {
            let got = ln_normal_tail(z);
            assert!(
                ((got - exact) / exact).abs() < 1e-13,
                "z = {z}: {got} against {exact}"
            );
        }
    }

    #[test]
    fn ln_normal_tail_is_monotone_across_the_switch_and_handles_infinities() {
        let below = ln_normal_tail(30.0 - 1e-9);
        let at = ln_normal_tail(30.0);
        assert!(below > at, "{below} ≤ {at}");
        assert_eq!(ln_normal_tail(f64::INFINITY), f64::NEG_INFINITY);
        assert_eq!(ln_normal_tail(f64::NEG_INFINITY), 0.0);
        assert!(ln_normal_tail(f64::NAN).is_nan());
    }
}

/// Relative-error checks shared by the special functions' and the intervals' tests.
#[cfg(test)]
pub(crate) mod testing {
    /// |actual − expected| ≤ rtol·|expected| (exact match required at 0).
    pub(crate) fn assert_rel(actual: f64, expected: f64, rtol: f64, what: &str) {
        let err = (actual - expected).abs();
        assert!(
            err <= rtol * expected.abs(),
            "{what}: got {actual:e}, expected {expected:e} (relative error {:e} > {rtol:e})",
            err / expected.abs()
        );
    }

    pub(crate) fn relative_error(actual: f64, expected: f64) -> f64 {
        if expected == 0.0 {
            actual.abs()
        } else {
            ((actual - expected) / expected).abs()
        }
    }
}
