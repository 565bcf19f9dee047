//! [`LANES`] trajectory streams in structure-of-arrays form, and standard normals drawn from them
//! exactly as `rand_distr::StandardNormal` draws them from a `Xoshiro256PlusPlus`.
//!
//! Lane l holds the four state words of trajectory i_l's generator ([`crate::rng::trajectory_state`])
//! and steps them with the xoshiro256++ recurrence, so its outputs are the ones
//! `trajectory_rng(seed, i_l)` would give, in the same order. Normals use the same ZIGNOR ziggurat:
//! the fast path (one word: layer i from the low 8 bits, u ∈ [−1, 1) from the high 52, accept if
//! |u·x_i| < x_{i+1}, about 98.8 % of draws) runs across the lanes at once; a lane that misses it
//! finishes that draw alone with `rand_distr`'s own code on a scalar copy of its state, which
//! consumes the further words the scalar sampler would.

use rand::distr::Open01;
use rand::{Rng, RngExt, TryRng};
use rand_distr::{Distribution, StandardNormal};

use super::ziggurat_tables::{ZIG_NORM_F, ZIG_NORM_R, ZIG_NORM_X};
use super::{LANES, Lane};

/// The generators of one lane group.
#[derive(Clone, Debug)]
pub struct LaneRngs {
    /// `s[w][l]`: state word w of lane l.
    s: [[u64; LANES]; 4],
}

impl LaneRngs {
    /// Lane l starts from the state words `states[l]`.
    pub fn new(states: [[u64; 4]; LANES]) -> Self {
        let mut s = [[0; LANES]; 4];
        for (l, st) in states.iter().enumerate() {
            for w in 0..4 {
                s[w][l] = st[w];
            }
        }
        Self { s }
    }

    /// The next 64-bit word of every lane.
    #[inline(always)]
    pub fn next_u64(&mut self) -> [u64; LANES] {
        let [s0, s1, s2, s3] = &mut self.s;
        let mut out = [0; LANES];
        for l in 0..LANES {
            out[l] = s0[l]
                .wrapping_add(s3[l])
                .rotate_left(23)
                .wrapping_add(s0[l]);
            let t = s1[l] << 17;
            s2[l] ^= s0[l];
            s3[l] ^= s1[l];
            s1[l] ^= s2[l];
            s0[l] ^= s3[l];
            s2[l] ^= t;
            s3[l] = s3[l].rotate_left(45);
        }
        out
    }

    /// The noise and the SGD update in one pass over the coordinates: for each j in order, per
    /// lane l, one standard normal z, γ = g_j + scale·z (what `NoiseDist::Gaussian.add_scaled`
    /// adds with s = `scale[l]`), θ_j ← θ_j − η·γ, and |θ − θ0|² accumulates (θ_j − θ0_j)². The
    /// same operations in the same order as adding the noise into g and then calling
    /// [`crate::stepper::sgd_step_lanes`], so the same bits (tested against exactly that); `g`
    /// itself is left as it was. Returns |θ − θ0|² per lane.
    #[inline(always)]
    pub fn noisy_step(
        &mut self,
        theta: &mut [Lane],
        theta0: &[f64],
        g: &[Lane],
        scale: &Lane,
        eta: &Lane,
    ) -> Lane {
        let mut dist2 = Lane::ZERO;
        for ((t, &t0), gj) in theta.iter_mut().zip(theta0).zip(g) {
            let z = self.standard_normals();
            for l in 0..LANES {
                let noisy = gj.0[l] + scale.0[l] * z[l];
                t.0[l] -= eta.0[l] * noisy;
                let d = t.0[l] - t0;
                dist2.0[l] += d * d;
            }
        }
        dist2
    }

    /// One standard normal per lane.
    #[inline(always)]
    pub fn standard_normals(&mut self) -> [f64; LANES] {
        let bits = self.next_u64();
        let mut z = [0.0; LANES];
        let mut all_fast = true;
        for l in 0..LANES {
            let (x, fast) = fast_path(bits[l]);
            z[l] = x;
            all_fast &= fast;
        }
        if !all_fast {
            for l in 0..LANES {
                if !fast_path(bits[l]).1 {
                    z[l] = self.finish_on_lane(l, bits[l]);
                }
            }
        }
        z
    }

    /// The rest of `StandardNormal::sample` after the fast path rejected `bits`, on lane l alone.
    #[cold]
    #[inline(never)]
    fn finish_on_lane(&mut self, l: usize, bits: u64) -> f64 {
        let (z, state) = finish_lane(std::array::from_fn(|w| self.s[w][l]), bits);
        for w in 0..4 {
            self.s[w][l] = state[w];
        }
        z
    }
}

/// [`finish_rejected`] on a scalar copy of one lane's state words: the normal, and the words
/// after the draws it consumed.
#[inline]
fn finish_lane(state: [u64; 4], bits: u64) -> (f64, [u64; 4]) {
    let mut rng = Scalar { s: state };
    let z = finish_rejected(&mut rng, bits);
    (z, rng.s)
}

super::multiversion!(
    /// [`LaneRngs::noisy_step`] at instruction-set level `simd`: written out in AVX-512
    /// intrinsics at [`super::Level::Avx512`] (`avx512::noisy_step` below), otherwise the
    /// portable code compiled for AVX2 + FMA or for the baseline. All give the same bits.
    pub fn noisy_step(
        rngs: &mut LaneRngs,
        theta: &mut [Lane],
        theta0: &[f64],
        g: &[Lane],
        scale: &Lane,
        eta: &Lane
    ) -> Lane
        => avx512: avx512::noisy_step,
           avx2: LaneRngs::noisy_step,
           baseline: LaneRngs::noisy_step
);

/// [`LaneRngs::noisy_step`] in AVX-512 intrinsics: the generator state stays in
/// registers across the rare slow branch, and a lane that misses the fast path is finished on a
/// scalar copy and written back into its register lane (reloading the whole vector after scalar
/// stores would stall on store forwarding). Per lane the same operations in the same order as
/// the portable code, so the same bits (tested); faster by the measurement in
/// docs/performance.md.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{LANES, Lane, LaneRngs, ZIG_NORM_X_HEAD, ZIG_NORM_X_NEXT, finish_lane};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma,bmi1,bmi2")]
    pub fn noisy_step(
        rngs: &mut LaneRngs,
        theta: &mut [Lane],
        theta0: &[f64],
        g: &[Lane],
        scale: &Lane,
        eta: &Lane,
    ) -> Lane {
        assert!(theta.len() == g.len() && theta0.len() == g.len());
        let mut dist2 = Lane::ZERO;
        // SAFETY: loads and stores of `Lane`s (8 f64, 64-byte aligned), j < g.len() = θ's length.
        unsafe {
            let (sc, eta) = (
                _mm512_load_pd(scale.0.as_ptr()),
                _mm512_load_pd(eta.0.as_ptr()),
            );
            let mut acc = _mm512_setzero_pd();
            for_each_normal(rngs, g.len(), |j, z| {
                // Unfused multiplies and adds, as in the two-pass code.
                let noisy = _mm512_add_pd(_mm512_load_pd(g[j].0.as_ptr()), _mm512_mul_pd(sc, z));
                let tj = theta.get_unchecked_mut(j).0.as_mut_ptr();
                let t = _mm512_sub_pd(_mm512_load_pd(tj), _mm512_mul_pd(eta, noisy));
                _mm512_store_pd(tj, t);
                let d = _mm512_sub_pd(t, _mm512_set1_pd(*theta0.get_unchecked(j)));
                acc = _mm512_add_pd(acc, _mm512_mul_pd(d, d));
            });
            _mm512_store_pd(dist2.0.as_mut_ptr(), acc);
        }
        dist2
    }

    /// Draws one standard normal per lane for each coordinate j < n in order and hands the
    /// vector to `consume(j, z)`.
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma,bmi1,bmi2")]
    #[inline]
    fn for_each_normal(rngs: &mut LaneRngs, n: usize, mut consume: impl FnMut(usize, __m512d)) {
        // SAFETY: every load and store is of a live array of 8 u64 (the state words, read and
        // written unaligned), and the gathers read tables of 256 f64 at indices below 256.
        unsafe {
            let mut st: [__m512i; 4] =
                std::array::from_fn(|w| _mm512_loadu_si512(rngs.s[w].as_ptr().cast()));
            let store =
                |v: __m512i, to: &mut [u64; LANES]| _mm512_storeu_si512(to.as_mut_ptr().cast(), v);
            let low8 = _mm512_set1_epi64(0xff);
            let exp2 = _mm512_set1_epi64((1024u64 << 52) as i64);
            let three = _mm512_set1_pd(3.0);
            for j in 0..n {
                let [s0, s1, s2, s3] = &mut st;
                let out = _mm512_add_epi64(_mm512_rol_epi64::<23>(_mm512_add_epi64(*s0, *s3)), *s0);
                let t = _mm512_slli_epi64::<17>(*s1);
                *s2 = _mm512_xor_si512(*s2, *s0);
                *s3 = _mm512_xor_si512(*s3, *s1);
                *s1 = _mm512_xor_si512(*s1, *s2);
                *s0 = _mm512_xor_si512(*s0, *s3);
                *s2 = _mm512_xor_si512(*s2, t);
                *s3 = _mm512_rol_epi64::<45>(*s3);
                let idx = _mm512_and_si512(out, low8);
                let u = _mm512_sub_pd(
                    _mm512_castsi512_pd(_mm512_or_si512(_mm512_srli_epi64::<12>(out), exp2)),
                    three,
                );
                let xh = _mm512_i64gather_pd::<8>(idx, ZIG_NORM_X_HEAD.as_ptr().cast());
                let xn = _mm512_i64gather_pd::<8>(idx, ZIG_NORM_X_NEXT.as_ptr().cast());
                let x = _mm512_mul_pd(u, xh);
                let ok = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(_mm512_abs_pd(x), xn);
                let mut z = x;
                if ok != 0xff {
                    // Lane-by-lane finish on scalar copies; the results go back into the registers
                    // lane by lane (a vector reload of words just stored one by one would stall on
                    // store forwarding).
                    let mut words = [[0u64; LANES]; 4];
                    for (v, to) in st.iter().zip(&mut words) {
                        store(*v, to);
                    }
                    let mut bits = [0u64; LANES];
                    store(out, &mut bits);
                    let mut miss = !ok;
                    while miss != 0 {
                        let l = miss.trailing_zeros() as usize;
                        let m = 1u8 << l;
                        let (zl, state) =
                            finish_lane(std::array::from_fn(|w| words[w][l]), bits[l]);
                        for (v, word) in st.iter_mut().zip(state) {
                            *v = _mm512_mask_set1_epi64(*v, m, word as i64);
                        }
                        z = _mm512_mask_broadcastsd_pd(z, m, _mm_set_sd(zl));
                        miss &= miss - 1;
                    }
                }
                consume(j, z);
            }
            for (v, to) in st.iter().zip(&mut rngs.s) {
                store(*v, to);
            }
        }
    }
}

/// x_{i+1} at index i, so that the fast path gathers from two tables with the same index (a
/// shifted index defeats vectorised gathers).
static ZIG_NORM_X_NEXT: [f64; 256] = {
    let mut t = [0.0; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ZIG_NORM_X[i + 1];
        i += 1;
    }
    t
};
static ZIG_NORM_X_HEAD: [f64; 256] = {
    let mut t = [0.0; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ZIG_NORM_X[i];
        i += 1;
    }
    t
};

/// The ziggurat's first attempt from one word: (x, accepted).
#[inline(always)]
fn fast_path(bits: u64) -> (f64, bool) {
    let i = (bits & 0xff) as usize;
    // rand's `into_float_with_exponent(1)`: 52 random mantissa bits in [2, 4), minus 3.
    let u = f64::from_bits((bits >> 12) | (1024u64 << 52)) - 3.0;
    let x = u * ZIG_NORM_X_HEAD[i];
    (x, x.abs() < ZIG_NORM_X_NEXT[i])
}

/// `rand_distr` 0.6's ziggurat (`utils::ziggurat` with `StandardNormal`'s pdf and tail), continued
/// after its fast test failed for the word `bits`: same operations, same draws.
fn finish_rejected<R: Rng>(rng: &mut R, bits: u64) -> f64 {
    let i = (bits & 0xff) as usize;
    let u = f64::from_bits((bits >> 12) | (1024u64 << 52)) - 3.0;
    let x = u * ZIG_NORM_X[i];
    if i == 0 {
        let (mut tx, mut ty) = (1.0f64, 0.0f64);
        while -2.0 * ty < tx * tx {
            let x_: f64 = rng.sample(Open01);
            let y_: f64 = rng.sample(Open01);
            tx = x_.ln() / ZIG_NORM_R;
            ty = y_.ln();
        }
        return if u < 0.0 {
            tx - ZIG_NORM_R
        } else {
            ZIG_NORM_R - tx
        };
    }
    let v = ZIG_NORM_F[i + 1] + (ZIG_NORM_F[i] - ZIG_NORM_F[i + 1]) * rng.random::<f64>();
    if below_pdf(v, x, i) {
        return x;
    }
    // A rejection restarts the loop: a fresh draw of the same distribution.
    StandardNormal.sample(rng)
}

/// `v < (-x * x / 2.0).exp()` — rand_distr's wedge test for a draw x of layer i, which was
/// rejected by the fast path (X[i+1] ≤ |x| ≤ X[i]) — decided as libm's `exp` decides it, but
/// mostly without calling it (`exp` was about a tenth of W1's time).
///
/// On [p, q] = [X[i+1], X[i]] the density g(a) = e^{−a²/2} is convex where a ≥ 1 and concave
/// where a ≤ 1, so it lies between its chord through (p, g(p)), (q, g(q)) and its tangent at p;
/// which of the two is above depends on the side of 1. If v is below the lower line or above the
/// upper one by more than 1e−12 relative, the answer is known: libm's exp of the rounded −x²/2
/// is within 1.1e−15 of g(|x|) (|x| < 3.92), and the lines are evaluated to a few 1e−15.
/// Otherwise (a thin band around the curve, and the one layer that contains 1) libm decides.
#[inline]
fn below_pdf(v: f64, x: f64, i: usize) -> bool {
    const MARGIN: f64 = 1e-12;
    let lines = wedge_lines();
    let (p, gp, slope) = (ZIG_NORM_X[i + 1], lines.g_next[i], lines.chord_slope[i]);
    let a = x.abs();
    let chord = gp + slope * (a - p);
    let tangent = gp * (1.0 - p * (a - p));
    let (low, high) = if p >= 1.0 {
        (tangent, chord)
    } else if ZIG_NORM_X[i] <= 1.0 {
        (chord, tangent)
    } else {
        return v < (-x * x / 2.0).exp();
    };
    if v < low * (1.0 - MARGIN) {
        true
    } else if v > high * (1.0 + MARGIN) {
        false
    } else {
        v < (-x * x / 2.0).exp()
    }
}

/// g(X[i+1]) and the slope of the chord of g over [X[i+1], X[i]], per layer i ≥ 1.
struct WedgeLines {
    g_next: [f64; 256],
    chord_slope: [f64; 256],
}

fn wedge_lines() -> &'static WedgeLines {
    static LINES: std::sync::OnceLock<WedgeLines> = std::sync::OnceLock::new();
    LINES.get_or_init(|| {
        let g = |a: f64| (-a * a / 2.0).exp();
        let mut l = WedgeLines {
            g_next: [0.0; 256],
            chord_slope: [0.0; 256],
        };
        for i in 1..256 {
            let (p, q) = (ZIG_NORM_X[i + 1], ZIG_NORM_X[i]);
            l.g_next[i] = g(p);
            l.chord_slope[i] = (g(q) - g(p)) / (q - p);
        }
        l
    })
}

/// xoshiro256++ on a copy of one lane's state, for the rare slow draws.
struct Scalar {
    s: [u64; 4],
}

impl TryRng for Scalar {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok((self.try_next_u64()? >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let s = &mut self.s;
        let out = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        Ok(out)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let w = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lanes::Level;
    use crate::rng::{trajectory_rng, trajectory_state};

    fn lanes(seed: u64) -> LaneRngs {
        LaneRngs::new(std::array::from_fn(|l| trajectory_state(seed, l as u64)))
    }

    /// The fused noise-and-step pass against the two passes it replaces (noise added into g,
    /// then `sgd_step_lanes`), 300 steps of 1 377 coordinates with a different θ0, η and scale per
    /// lane (3.3 M draws, about 40 000 of them slow, tail draws included): the same θ,
    /// |θ − θ0|² and generator states, bit for bit, for the portable loop and the dispatched one
    /// at every level this CPU has (at AVX-512 the intrinsics).
    #[test]
    fn the_fused_noisy_step_equals_noise_then_step() {
        for simd in Level::ALL.into_iter().filter(|&l| l <= Level::cpu()) {
            fused_noisy_step_equals_noise_then_step_at(simd);
        }
    }

    fn fused_noisy_step_equals_noise_then_step_at(simd: Level) {
        let d = 1377;
        let theta0: Vec<f64> = (0..d).map(|j| (j as f64 * 0.37).sin()).collect();
        let g: Vec<Lane> = (0..d)
            .map(|j| Lane(std::array::from_fn(|l| ((j * 8 + l) as f64 * 0.11).cos())))
            .collect();
        let sc = Lane(std::array::from_fn(|l| 0.1 + l as f64));
        let eta = Lane(std::array::from_fn(|l| 1e-3 * (1 + l) as f64));
        let start: Vec<Lane> = theta0.iter().map(|&t| Lane::splat(t)).collect();
        let (mut two, mut portable, mut dispatched) = (start.clone(), start.clone(), start);
        let (mut r_two, mut r_portable, mut r_dispatched) = (lanes(4), lanes(4), lanes(4));
        let bits =
            |v: &[Lane]| -> Vec<u64> { v.iter().flat_map(|x| x.0.map(f64::to_bits)).collect() };
        for _ in 0..300 {
            // The noise added into a copy of g, coordinate by coordinate, then the update.
            let mut noisy = g.clone();
            for gj in &mut noisy {
                let z = r_two.standard_normals();
                for l in 0..LANES {
                    gj.0[l] += sc.0[l] * z[l];
                }
            }
            let d_two = crate::stepper::sgd_step_lanes(simd, &mut two, &theta0, &noisy, &eta);
            let d_portable = r_portable.noisy_step(&mut portable, &theta0, &g, &sc, &eta);
            let d_dispatched = super::noisy_step(
                simd,
                &mut r_dispatched,
                &mut dispatched,
                &theta0,
                &g,
                &sc,
                &eta,
            );
            assert_eq!(bits(&[d_portable]), bits(&[d_two]), "{simd:?}");
            assert_eq!(bits(&[d_dispatched]), bits(&[d_two]), "{simd:?}");
        }
        assert_eq!(bits(&portable), bits(&two));
        assert_eq!(bits(&dispatched), bits(&two));
        assert_eq!((r_portable.s, r_dispatched.s), (r_two.s, r_two.s));
    }

    #[test]
    fn lane_words_are_the_trajectory_streams() {
        let mut lr = lanes(11);
        let mut scalar: Vec<_> = (0..LANES as u64).map(|i| trajectory_rng(11, i)).collect();
        for _ in 0..1000 {
            let w = lr.next_u64();
            for (l, r) in scalar.iter_mut().enumerate() {
                assert_eq!(w[l], r.next_u64());
            }
        }
    }

    /// The wedge test's shortcut decides as `exp` does, also for v next to the curve (within a few
    /// ulp, 1e−13 and 1e−11), which random draws would almost never probe: every layer, 202
    /// points across it, both signs.
    #[test]
    fn wedge_shortcut_agrees_with_exp_everywhere_near_the_curve() {
        let mut checked = 0;
        for i in 1..256 {
            let (p, q) = (ZIG_NORM_X[i + 1], ZIG_NORM_X[i]);
            // 200 points across the layer, and its end X[i] (reached with u = −1) and the value
            // next below, where the chord meets the curve and only the margin covers the chord's
            // rounding.
            let points = (0..200).map(|k| p + (q - p) * k as f64 / 200.0);
            for a in points.chain([f64::from_bits(q.to_bits() - 1), q]) {
                for x in [a, -a] {
                    let e = (-x * x / 2.0).exp();
                    let ulp = |v: f64, n: i64| f64::from_bits((v.to_bits() as i64 + n) as u64);
                    for v in [
                        e,
                        ulp(e, 1),
                        ulp(e, -1),
                        ulp(e, 3),
                        ulp(e, -3),
                        e * (1.0 + 1e-13),
                        e * (1.0 - 1e-13),
                        e * (1.0 + 1e-11),
                        e * (1.0 - 1e-11),
                        ZIG_NORM_F[i],
                        ZIG_NORM_F[i + 1],
                        0.5 * (ZIG_NORM_F[i] + ZIG_NORM_F[i + 1]),
                    ] {
                        assert_eq!(below_pdf(v, x, i), v < e, "layer {i}, x {x}, v {v}");
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 255 * 202 * 2 * 12);
    }

    /// 400 000 normals per lane (about 4 800 slow-path draws each, tail draws included), and then
    /// the next word: both must equal what `StandardNormal` on `trajectory_rng` gives.
    #[test]
    fn lane_normals_equal_rand_distr_draw_for_draw() {
        let mut lr = lanes(5);
        let mut scalar: Vec<_> = (0..LANES as u64).map(|i| trajectory_rng(5, i)).collect();
        for _ in 0..400_000 {
            let z = lr.standard_normals();
            for (l, r) in scalar.iter_mut().enumerate() {
                let want: f64 = StandardNormal.sample(r);
                assert_eq!(z[l].to_bits(), want.to_bits());
            }
        }
        let w = lr.next_u64();
        for (l, r) in scalar.iter_mut().enumerate() {
            assert_eq!(
                w[l],
                r.next_u64(),
                "lane {l} consumed a different number of words"
            );
        }
    }
}
