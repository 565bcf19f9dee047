//! Order-independent exact summation of `f64` values.
//!
//! Floating-point addition is not associative, so a plain sum of per-trajectory values depends on
//! how trajectories were split among threads or shards. [`ExactSum`] keeps the sum as a wide
//! fixed-point integer (radix 2^32 limbs spanning every finite `f64` exponent), so adding and merging
//! are exact and the result is a pure function of the multiset of values added. Rounding to `f64`
//! happens once, at the end, from the canonical form.

/// Exponent of the least significant bit of the accumulator: the smallest subnormal is 2^-1074.
const EMIN: i32 = -1074;
/// 68 limbs of 32 bits cover 2^-1074 … 2^1102: every finite f64 (< 2^1024) plus 2^78 of headroom.
const LIMBS: usize = 68;
/// Each add puts at most 2^32 into a limb; normalising every 2^30 adds keeps |limb| < 2^63.
const ADDS_BETWEEN_NORMALISATIONS: u32 = 1 << 30;

/// Exact running sum of finite `f64`s, plus a separately tracked sum of non-finite values.
#[derive(Clone, Debug)]
pub struct ExactSum {
    limbs: [i64; LIMBS],
    pending: u32,
    /// Plain sum of the non-finite values seen (±inf, NaN). IEEE addition of non-finite values is
    /// commutative and associative (inf + -inf = NaN in any order), so this stays order independent.
    special: f64,
}

impl Default for ExactSum {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for ExactSum {
    fn eq(&self, other: &Self) -> bool {
        let (mut a, mut b) = (self.clone(), other.clone());
        a.normalise();
        b.normalise();
        a.limbs == b.limbs && a.special.to_bits() == b.special.to_bits()
    }
}

impl ExactSum {
    /// The empty sum (zero).
    pub fn new() -> Self {
        Self {
            limbs: [0; LIMBS],
            pending: 0,
            special: 0.0,
        }
    }

    /// Adds `x` exactly (non-finite values go to the special sum).
    #[inline]
    pub fn add(&mut self, x: f64) {
        if !x.is_finite() {
            self.special += x;
            return;
        }
        if x == 0.0 {
            return;
        }
        let bits = x.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as i32;
        let frac = bits & ((1u64 << 52) - 1);
        // x = mant · 2^exp with exp ≥ EMIN.
        let (mant, exp) = if biased == 0 {
            (frac, EMIN)
        } else {
            (frac | (1u64 << 52), biased - 1075)
        };
        let shift = (exp - EMIN) as u32;
        let idx = (shift / 32) as usize;
        let wide = (mant as u128) << (shift % 32);
        let sign: i64 = if x < 0.0 { -1 } else { 1 };
        self.limbs[idx] += sign * (wide & 0xffff_ffff) as i64;
        self.limbs[idx + 1] += sign * ((wide >> 32) & 0xffff_ffff) as i64;
        self.limbs[idx + 2] += sign * (wide >> 64) as i64;
        self.pending += 1;
        if self.pending >= ADDS_BETWEEN_NORMALISATIONS {
            self.normalise();
        }
    }

    /// Adds another sum exactly.
    pub fn merge(&mut self, other: &ExactSum) {
        let mut o = other.clone();
        o.normalise();
        self.normalise();
        for (a, b) in self.limbs.iter_mut().zip(o.limbs.iter()) {
            *a += *b;
        }
        self.pending = 1;
        self.normalise();
        self.special += other.special;
    }

    /// Carries so that every limb but the top one lies in [0, 2^32); the top limb carries the sign.
    /// This form is unique for a given value, which makes [`ExactSum::value`] deterministic.
    fn normalise(&mut self) {
        let mut carry = 0i64;
        for limb in self.limbs.iter_mut().take(LIMBS - 1) {
            let v = *limb + carry;
            carry = v >> 32;
            *limb = v - (carry << 32);
        }
        self.limbs[LIMBS - 1] += carry;
        self.pending = 0;
    }

    /// The sign of the finite part and its absolute value in canonical form (every limb in
    /// [0, 2^32)), from which the value is read off the same way whatever the order of adds.
    fn sign_and_magnitude(&self) -> (bool, ExactSum) {
        let mut c = self.clone();
        c.normalise();
        let negative = c.limbs[LIMBS - 1] < 0;
        if negative {
            for limb in c.limbs.iter_mut() {
                *limb = -*limb;
            }
            c.normalise();
        }
        (negative, c)
    }

    /// The sum rounded to `f64` (within one ulp of the exact sum; identical for any order of adds).
    pub fn value(&self) -> f64 {
        if self.special != 0.0 {
            return self.special;
        }
        let (negative, c) = self.sign_and_magnitude();
        let Some(top) = c.limbs.iter().rposition(|&l| l != 0) else {
            return 0.0;
        };
        // The three highest limbs hold ≥ 65 significant bits, more than f64 keeps; summing them from
        // the smallest up rounds at most twice, well within one ulp.
        let lowest = top.saturating_sub(2);
        let mut magnitude = 0.0;
        for j in lowest..=top {
            magnitude += ldexp(c.limbs[j] as f64, 32 * j as i32 + EMIN);
        }
        if negative { -magnitude } else { magnitude }
    }
}

impl ExactSum {
    /// The exact sum as text: `0`, `inf`, `-inf`, `nan`, or `[-]0xHEXpE` meaning ±HEX·2^E with HEX
    /// a hexadecimal integer without trailing zero digits and E ≡ -1074 (mod 4). The form is unique for a value, and
    /// [`ExactSum::from_exact_text`] reads it back exactly, so sums survive a CSV file and merge
    /// across files as they do in memory.
    pub fn to_exact_text(&self) -> String {
        if self.special != 0.0 {
            return self.special.to_string().to_lowercase();
        }
        let (negative, c) = self.sign_and_magnitude();
        let Some(top) = c.limbs.iter().rposition(|&l| l != 0) else {
            return "0".to_string();
        };
        let mut hex = format!("{:x}", c.limbs[top]);
        for j in (0..top).rev() {
            hex.push_str(&format!("{:08x}", c.limbs[j]));
        }
        let trimmed = hex.trim_end_matches('0');
        let exp = EMIN + 4 * (hex.len() - trimmed.len()) as i32;
        format!("{}0x{trimmed}p{exp}", if negative { "-" } else { "" })
    }

    /// Reads [`ExactSum::to_exact_text`]; `None` for anything else or a value out of range.
    pub fn from_exact_text(text: &str) -> Option<ExactSum> {
        let mut s = ExactSum::new();
        match text {
            "0" => return Some(s),
            "inf" | "-inf" | "nan" => {
                s.special = text.parse().ok()?;
                return Some(s);
            }
            _ => {}
        }
        let (negative, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (hex, exp) = body.strip_prefix("0x")?.split_once('p')?;
        let offset = exp.parse::<i32>().ok()?.checked_sub(EMIN)?;
        if hex.is_empty() || offset < 0 {
            return None;
        }
        for (i, d) in hex.bytes().rev().enumerate() {
            let d = u64::from(char::from(d).to_digit(16)?);
            let bit = offset as usize + 4 * i;
            let (idx, shift) = (bit / 32, bit % 32);
            let wide = d << shift;
            if d != 0 && idx + 1 >= LIMBS {
                return None;
            }
            if d != 0 {
                s.limbs[idx] += (wide & 0xffff_ffff) as i64;
                s.limbs[idx + 1] += (wide >> 32) as i64;
            }
        }
        if negative {
            for limb in s.limbs.iter_mut() {
                *limb = -*limb;
            }
        }
        s.normalise();
        Some(s)
    }
}

/// x · 2^e computed in steps that stay inside the normal exponent range.
fn ldexp(mut x: f64, mut e: i32) -> f64 {
    while e > 1000 {
        x *= f64::from_bits(((1000 + 1023) as u64) << 52);
        e -= 1000;
    }
    while e < -1000 {
        x *= f64::from_bits(((-1000 + 1023) as u64) << 52);
        e += 1000;
    }
    x * f64::from_bits(((e + 1023) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sums_that_lose_everything_in_floating_point_are_exact() {
        let mut s = ExactSum::new();
        for x in [1e100, 1.0, -1e100, 1e-300, 2.0] {
            s.add(x);
        }
        // Naive left-to-right summation gives 2.0 here; the exact sum is 3 + 1e-300.
        assert_eq!(s.value(), 3.0);
    }

    #[test]
    fn subnormals_and_extremes_are_represented() {
        let tiny = f64::from_bits(1);
        let mut s = ExactSum::new();
        s.add(tiny);
        s.add(tiny);
        assert_eq!(s.value(), 2.0 * tiny);
        let mut big = ExactSum::new();
        big.add(f64::MAX);
        big.add(f64::MAX);
        big.add(-f64::MAX);
        assert_eq!(big.value(), f64::MAX);
    }

    #[test]
    fn non_finite_values_are_tracked_apart() {
        let mut s = ExactSum::new();
        s.add(1.0);
        s.add(f64::INFINITY);
        assert_eq!(s.value(), f64::INFINITY);
        s.add(f64::NEG_INFINITY);
        assert!(s.value().is_nan());
    }

    #[test]
    fn many_adds_trigger_normalisation_without_overflow() {
        let mut s = ExactSum::new();
        s.pending = ADDS_BETWEEN_NORMALISATIONS - 3;
        for _ in 0..10 {
            s.add(f64::MAX / 2.0);
        }
        assert_eq!(s.value(), 5.0 * f64::MAX);
    }

    #[test]
    fn exact_text_round_trips_and_is_unique() {
        let mut s = ExactSum::new();
        assert_eq!(s.to_exact_text(), "0");
        // Exponents are 2^-1074 times whole hex digits: 1 = 0x4·2^-2.
        s.add(1.0);
        assert_eq!(s.to_exact_text(), "0x4p-2");
        s.add(-3.0);
        assert_eq!(s.to_exact_text(), "-0x8p-2");
        s.add(f64::from_bits(1));
        let back = ExactSum::from_exact_text(&s.to_exact_text()).unwrap();
        assert!(back == s);
        assert_eq!(back.to_exact_text(), s.to_exact_text());
        let mut inf = ExactSum::new();
        inf.add(f64::INFINITY);
        assert_eq!(inf.to_exact_text(), "inf");
        assert_eq!(
            ExactSum::from_exact_text("inf").unwrap().value(),
            f64::INFINITY
        );
        assert!(ExactSum::from_exact_text("0x1p-1075").is_none());
        assert!(ExactSum::from_exact_text("0xgp0").is_none());
        assert!(ExactSum::from_exact_text("1.5").is_none());
    }

    proptest! {
        #[test]
        fn exact_text_preserves_every_sum(xs in prop::collection::vec(-1e300f64..1e300, 0..50),
                                          small in prop::collection::vec(-1e-300f64..1e-300, 0..20)) {
            let mut s = ExactSum::new();
            for &x in xs.iter().chain(&small) { s.add(x); }
            let back = ExactSum::from_exact_text(&s.to_exact_text()).unwrap();
            prop_assert!(back == s);
            prop_assert_eq!(back.value().to_bits(), s.value().to_bits());
        }

        /// The sum of small integers times a common power of two is exact in f64 too, so the naive
        /// sum is an independent reference there.
        #[test]
        fn matches_exact_integer_arithmetic(xs in prop::collection::vec(-1_000_000i64..1_000_000, 0..200),
                                            e in -1000i32..1000) {
            let scale = ldexp(1.0, e);
            let mut s = ExactSum::new();
            for &x in &xs { s.add(x as f64 * scale); }
            let exact: i64 = xs.iter().sum();
            prop_assert_eq!(s.value(), exact as f64 * scale);
        }

        #[test]
        fn is_independent_of_order_and_split(xs in prop::collection::vec(-1e300f64..1e300, 1..100),
                                             small in prop::collection::vec(-1e-300f64..1e-300, 0..50),
                                             cut in 0usize..150) {
            let mut all: Vec<f64> = xs.iter().chain(small.iter()).copied().collect();
            let mut forward = ExactSum::new();
            for &x in &all { forward.add(x); }
            all.reverse();
            let cut = cut.min(all.len());
            let (mut a, mut b) = (ExactSum::new(), ExactSum::new());
            for &x in &all[..cut] { a.add(x); }
            for &x in &all[cut..] { b.add(x); }
            b.merge(&a);
            prop_assert_eq!(forward.value().to_bits(), b.value().to_bits());
            prop_assert!(forward == b);
        }
    }
}
