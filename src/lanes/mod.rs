//! Lane batching: [`LANES`] trajectories advanced together in structure-of-arrays form, so that the
//! inner loops run across trajectories (one SIMD lane each: the same landscape, different θ).
//!
//! Nothing here changes a result. Each lane performs exactly the floating-point operations, in
//! the same order, that the one-trajectory path ([`crate::runner::Dynamics::run`]) performs, and
//! each lane draws from its own trajectory's stream with the same consumption pattern
//! ([`LaneRngs`]). Rust never contracts `a * b + c` into a fused multiply-add by itself; where a
//! kernel fuses (the network's, with `f64::mul_add`), both paths fuse the same operations, and a
//! fused multiply-add is exactly rounded, so the vectorised code rounds exactly like the scalar
//! code on every CPU.
//!
//! Kernels are compiled three times (AVX-512, AVX2 + FMA, baseline x86-64 / other targets) by
//! `multiversion!` and chosen at run time by a [`Level`] argument, so the binary runs on any CPU. The
//! normals' AVX-512 version is written in intrinsics ([`noisy_step`]), with the same
//! results.
//! Runs use [`level`], the CPU's best capped by `LOJASIM_SIMD=baseline|avx2|avx512` (for
//! benchmarks of the fallbacks); tests pass each level explicitly, so tests running in parallel
//! share no setting.
//!
//! Loops run over lane indices (`for l in 0..LANES`) on purpose: they index several arrays at once,
//! the form LLVM vectorises.
#![allow(clippy::needless_range_loop)]

mod normal;
mod tanh;
mod ziggurat_tables;

pub use normal::{LaneRngs, noisy_step};
pub(crate) use tanh::{Real, tanh_of};
pub use tanh::{tanh, tanh_lane};

use std::sync::OnceLock;

/// Trajectories per lane group: one AVX-512 register of f64.
pub const LANES: usize = 8;

/// One value per lane, aligned to a cache line (and to a 512-bit register).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, align(64))]
pub struct Lane(pub [f64; LANES]);

impl Lane {
    pub const ZERO: Lane = Lane([0.0; LANES]);

    #[inline(always)]
    pub fn splat(x: f64) -> Lane {
        Lane([x; LANES])
    }
}

impl Default for Lane {
    fn default() -> Self {
        Lane::ZERO
    }
}

/// The instruction-set level the kernels run at. Every kernel takes it as its first argument; a
/// level above the CPU's ([`Level::cpu`]) runs at the CPU's, so any value is safe to pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Baseline = 1,
    Avx2 = 2,
    Avx512 = 3,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 3] = [Level::Baseline, Level::Avx2, Level::Avx512];

    /// The best level this CPU supports (detected once).
    #[inline]
    pub fn cpu() -> Level {
        static CPU: OnceLock<Level> = OnceLock::new();
        *CPU.get_or_init(detect_cpu)
    }
}

/// The level runs use: [`Level::cpu`] capped by `LOJASIM_SIMD` (read once).
#[inline]
pub fn level() -> Level {
    static CAPPED: OnceLock<Level> = OnceLock::new();
    *CAPPED.get_or_init(|| {
        let cap = match std::env::var("LOJASIM_SIMD").as_deref() {
            Ok("baseline") => Level::Baseline,
            Ok("avx2") => Level::Avx2,
            _ => Level::Avx512,
        };
        Level::cpu().min(cap)
    })
}

fn detect_cpu() -> Level {
    #[cfg(target_arch = "x86_64")]
    let cpu = if is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512dq")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
    {
        Level::Avx512
    } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        Level::Avx2
    } else {
        Level::Baseline
    };
    #[cfg(not(target_arch = "x86_64"))]
    let cpu = Level::Baseline;
    cpu
}

/// Defines `fn $name(simd: Level, args) -> R` that calls the `#[inline(always)]` function `$imp`
/// compiled for `simd` (at most [`Level::cpu`]). The second form names one implementation per level (e.g. the
/// same generic function with a larger register tile where the register file is larger). An
/// implementation is an `#[inline(always)]` function, or a `#[target_feature]` function that
/// needs no more than its level's features (as the AVX-512 normals in intrinsics).
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($a:ident : $t:ty),* $(,)?) -> $r:ty => $imp:path) => {
        $crate::lanes::multiversion!(
            $(#[$m])* $vis fn $name($($a: $t),*) -> $r
                => avx512: $imp, avx2: $imp, baseline: $imp
        );
    };
    ($(#[$m:meta])* $vis:vis fn $name:ident($($a:ident : $t:ty),* $(,)?) -> $r:ty
        => avx512: $i512:path, avx2: $i2:path, baseline: $i1:path) => {
        $(#[$m])*
        $vis fn $name(simd: $crate::lanes::Level, $($a: $t),*) -> $r {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma,bmi1,bmi2")]
                fn avx512($($a: $t),*) -> $r {
                    $i512($($a),*)
                }
                #[target_feature(enable = "avx2,fma,bmi1,bmi2")]
                fn avx2($($a: $t),*) -> $r {
                    $i2($($a),*)
                }
                match simd.min($crate::lanes::Level::cpu()) {
                    // SAFETY: `Level::cpu()` reports only features the running CPU has.
                    $crate::lanes::Level::Avx512 => return unsafe { avx512($($a),*) },
                    $crate::lanes::Level::Avx2 => return unsafe { avx2($($a),*) },
                    $crate::lanes::Level::Baseline => {}
                }
            }
            let _ = simd;
            $i1($($a),*)
        }
    };
}
pub(crate) use multiversion;
