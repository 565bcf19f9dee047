//! lojasim's portable tanh: one body ([`tanh_of`]) for one value ([`tanh`]) and for a lane of
//! values ([`tanh_lane`]), so both round identically by construction.
//!
//! libm's `tanh` cannot be vectorised and differs between C libraries; this one uses only IEEE
//! additions, multiplications, fused multiply–adds, one division and bit operations, so it
//! vectorises and rounds identically on every CPU. Within 4 ulp of glibc's (tested in
//! `landscape::mlp`).
//!
//! The lane version applies each operation to all lanes at once (rather than tanh lane by lane),
//! so that LLVM vectorises it the same way wherever it is inlined: a lane-by-lane loop was
//! vectorised across lane groups with gathers in one place and left scalar in another.

use super::{LANES, Lane};

/// The operations [`tanh_of`] needs, on one f64 or lane by lane on a [`Lane`].
pub trait Real: Copy {
    fn splat(x: f64) -> Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    /// self·a + b with one rounding.
    fn mul_add(self, a: Self, b: Self) -> Self;
    fn abs(self) -> Self;
    /// self if self < c, else c (NaN gives c).
    fn below_or(self, c: f64) -> Self;
    /// 2^k for the integer k in the low bits of `self` = 1.5·2^52 + k (0 ≤ k ≤ 1023).
    fn pow2_of_shifted(self) -> Self;
    /// x if x is NaN, else |self| with the sign of x.
    fn with_sign_of(self, x: Self) -> Self;
}

impl Real for f64 {
    #[inline(always)]
    fn splat(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self - o
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self * o
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        self / o
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        f64::mul_add(self, a, b)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f64::abs(self)
    }
    #[inline(always)]
    fn below_or(self, c: f64) -> Self {
        if self < c { self } else { c }
    }
    #[inline(always)]
    fn pow2_of_shifted(self) -> Self {
        f64::from_bits(self.to_bits().wrapping_add(1023) << 52)
    }
    #[inline(always)]
    fn with_sign_of(self, x: Self) -> Self {
        if x.is_nan() { x } else { self.copysign(x) }
    }
}

macro_rules! lanewise {
    ($($name:ident($($arg:ident),*)),* $(,)?) => {
        $(
            #[inline(always)]
            fn $name(self, $($arg: Self),*) -> Self {
                Lane(std::array::from_fn(|l| Real::$name(self.0[l], $($arg.0[l]),*)))
            }
        )*
    };
}

impl Real for Lane {
    #[inline(always)]
    fn splat(x: f64) -> Self {
        Lane([x; LANES])
    }
    lanewise!(
        add(o),
        sub(o),
        mul(o),
        div(o),
        mul_add(a, b),
        abs(),
        pow2_of_shifted(),
        with_sign_of(x),
    );
    #[inline(always)]
    fn below_or(self, c: f64) -> Self {
        Lane(std::array::from_fn(|l| self.0[l].below_or(c)))
    }
}

/// tanh x. With a = min(|x|, 20) (tanh 20 rounds to 1), e^{2a} − 1 = 2^k·expm1(r) + (2^k − 1)
/// for 2a = k·ln 2 + r, |r| ≤ ln 2 / 2, expm1(r) by its Taylor series to r¹³/13! (truncation
/// below 2^−56 relative; Horner with fused multiply–adds), and tanh a = (e^{2a} − 1)/(e^{2a} + 1),
/// sign restored; NaN propagates.
#[inline(always)]
pub fn tanh_of<V: Real>(x: V) -> V {
    // fdlibm's split of ln 2: k·LN2_HI is exact for |k| < 2^21.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    const INV_LN2: f64 = std::f64::consts::LOG2_E;
    // 1.5·2^52: adding and subtracting it rounds to the nearest integer (|v| < 2^51).
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    const INV_FACT: [f64; 14] = {
        let mut c = [1.0; 14];
        let mut n = 2;
        while n < 14 {
            c[n] = c[n - 1] / n as f64;
            n += 1;
        }
        c
    };
    let s = V::splat;
    let a = x.abs().below_or(20.0);
    let y = a.add(a);
    let shifted = y.mul(s(INV_LN2)).add(s(SHIFTER));
    let k = shifted.sub(s(SHIFTER));
    let r = y.sub(k.mul(s(LN2_HI))).sub(k.mul(s(LN2_LO)));
    let mut p = s(INV_FACT[13]);
    for &c in INV_FACT[1..13].iter().rev() {
        p = p.mul_add(r, s(c));
    }
    let expm1_r = p.mul(r);
    let two_k = shifted.pow2_of_shifted();
    let em = two_k.mul_add(expm1_r, two_k.sub(s(1.0)));
    let t = em.div(em.add(s(2.0)));
    t.with_sign_of(x)
}

/// tanh x (`tanh_of` on one value).
#[inline(always)]
pub fn tanh(x: f64) -> f64 {
    tanh_of(x)
}

/// tanh of every lane (`tanh_of` on all lanes at once).
#[inline(always)]
pub fn tanh_lane(x: Lane) -> Lane {
    tanh_of(x)
}
