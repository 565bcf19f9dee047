//! The float64 fused-multiply–add peak of this machine, measured rather than assumed: every
//! thread runs 12 independent chains of packed FMAs (512-bit with AVX-512, else 256-bit with
//! AVX2 + FMA), enough to keep two FMA pipes of 4-cycle latency busy, for about half a second;
//! the best of five rounds is reported. This is the denominator of docs/performance.md's
//! "fraction of peak" (issue 5's W2 target).
//!
//! ```text
//! cargo bench --bench fma_peak              # one thread per available CPU
//! cargo bench --bench fma_peak -- 1         # one thread
//! ```
//!
//! It measures the clock the cores actually run at under a full FMA load (turbo included), which
//! a guest often cannot read (`/proc/cpuinfo` shows the TSC frequency).
//!
//! With AVX-512 it then times the inner loop of the network kernel's 4 × 4 register tile on its
//! own (`mlp.rs`: per step, 4 + 4 lanes loaded from L1 and 16 FMAs into 16 accumulators, K steps,
//! then the accumulators are consumed), for K = 8, 16 and 32 as in W2's layers: the fraction of
//! the peak that tile shape can reach on this CPU before any epilogue, tanh or noise.

use lojasim::lanes::Lane;
use std::sync::Barrier;
use std::time::Instant;

const CHAINS: usize = 12;
const ITERS: u64 = 40_000_000;
const ROUNDS: usize = 5;

fn main() {
    let threads = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(|a| {
            a.parse::<usize>()
                .ok()
                .filter(|&t| t > 0)
                .unwrap_or_else(|| {
                    eprintln!("error: thread count must be a positive integer, got {a:?}");
                    std::process::exit(2)
                })
        })
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let Some((width, kernel)) = kernel() else {
        println!("no AVX2 + FMA on this CPU: nothing to measure");
        return;
    };
    let flops_per_thread = (ITERS * CHAINS as u64 * width as u64 * 2) as f64;
    let mut best = 0.0f64;
    for round in 0..ROUNDS {
        let seconds = timed_on_threads(
            threads,
            || (),
            |()| {
                std::hint::black_box(kernel(ITERS));
            },
        );
        let per_thread: Vec<f64> = seconds.iter().map(|s| flops_per_thread / s / 1e9).collect();
        let total: f64 = per_thread.iter().sum();
        println!(
            "round {}: {:.1} GFLOP/s ({})",
            round + 1,
            total,
            per_thread
                .iter()
                .map(|g| format!("{g:.1}"))
                .collect::<Vec<_>>()
                .join(" + ")
        );
        best = best.max(total);
    }
    let per_thread = best / threads as f64;
    println!(
        "float64 FMA peak, {threads} thread(s), {width} lanes per FMA: {best:.1} GFLOP/s, \
         {per_thread:.1} per thread (with two FMA units per core: a {:.2} GHz clock)",
        per_thread / (2.0 * width as f64 * 2.0)
    );
    #[cfg(target_arch = "x86_64")]
    if width == 8 {
        for k in [8, 16, 32] {
            let reps = 160_000_000 / (16 * k as u64);
            let flops = (reps * 16 * k as u64 * 16) as f64;
            let mut tile_best = 0.0f64;
            for _ in 0..3 {
                let seconds = timed_on_threads(
                    threads,
                    || {
                        (
                            vec![Lane::splat(0.001); 4 * k],
                            vec![Lane::splat(0.002); 4 * k],
                        )
                    },
                    |(x, w)| {
                        // SAFETY: `width == 8` means AVX-512F was detected.
                        std::hint::black_box(unsafe { x86::tile4x4(&x, &w, k, reps) });
                    },
                );
                let rate: f64 = seconds.iter().map(|s| flops / s / 1e9).sum();
                tile_best = tile_best.max(rate);
            }
            println!(
                "4 × 4 tile from L1, K = {k}: {tile_best:.1} GFLOP/s = {:.0} % of the peak",
                100.0 * tile_best / best
            );
        }
    }
}

/// Seconds `work` takes on each of `threads` threads started together: each thread first builds
/// its own input with `setup`, then all wait at a barrier, then each times its `work`.
fn timed_on_threads<S>(
    threads: usize,
    setup: impl Fn() -> S + Sync,
    work: impl Fn(S) + Sync,
) -> Vec<f64> {
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let input = setup();
                    barrier.wait();
                    let t0 = Instant::now();
                    work(input);
                    t0.elapsed().as_secs_f64()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

type Kernel = fn(u64) -> f64;

/// The widest FMA kernel this CPU runs, with its lanes per instruction.
fn kernel() -> Option<(usize, Kernel)> {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            return Some((8, |n| unsafe { x86::fma512(n) }));
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Some((4, |n| unsafe { x86::fma256(n) }));
        }
    }
    None
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::CHAINS;
    use lojasim::lanes::Lane;
    use std::arch::x86_64::*;

    /// `CHAINS` chains of `n` dependent 512-bit FMAs each (a ← a·x + y, |x| < 1, so nothing
    /// overflows); returns a sum of the results so that nothing is optimised away. x and y go
    /// through `black_box`: with them constant, LLVM folded the chain that starts at the fixed
    /// point y/(1 − x) = 1 and this measured 12/11 of the real rate.
    #[target_feature(enable = "avx512f")]
    pub fn fma512(n: u64) -> f64 {
        let x = _mm512_set1_pd(std::hint::black_box(0.999_999_9));
        let y = _mm512_set1_pd(std::hint::black_box(1e-7));
        let mut acc = [_mm512_setzero_pd(); CHAINS];
        for (c, a) in acc.iter_mut().enumerate() {
            *a = _mm512_set1_pd(c as f64);
        }
        for _ in 0..n {
            for a in acc.iter_mut() {
                *a = _mm512_fmadd_pd(*a, x, y);
            }
        }
        acc.iter().map(|&a| _mm512_reduce_add_pd(a)).sum()
    }

    /// The network kernel's 4 × 4 tile loop alone: `x` and `w` hold 4 rows of `k` lanes,
    /// cache-line aligned as the kernel's [`Lane`]s are (unaligned, every 512-bit load would
    /// straddle two lines and the tile would look 10 points slower than the kernel's); per step
    /// t, lanes x[i][t] and w[j][t] are loaded and acc[i][j] += x·w; after k steps the 16
    /// accumulators are stored, as the kernel stores its tiles. Repeated `reps` times; returns one
    /// stored value.
    #[target_feature(enable = "avx512f")]
    pub fn tile4x4(x: &[Lane], w: &[Lane], k: usize, reps: u64) -> f64 {
        let lane = |v: &[Lane], row: usize, t: usize| {
            // SAFETY: row < 4 and t < k, so the lane lies inside the 4·k of `v`, and a `Lane` is
            // 8 f64 aligned to 64 bytes.
            unsafe { _mm512_load_pd(v.as_ptr().add(row * k + t).cast()) }
        };
        assert!(x.len() >= 4 * k && w.len() >= 4 * k);
        let mut out = [Lane::ZERO; 16];
        for _ in 0..reps {
            let mut acc = [[_mm512_setzero_pd(); 4]; 4];
            for t in 0..k {
                let xv: [__m512d; 4] = std::array::from_fn(|i| lane(x, i, t));
                let wv: [__m512d; 4] = std::array::from_fn(|j| lane(w, j, t));
                for i in 0..4 {
                    for j in 0..4 {
                        acc[i][j] = _mm512_fmadd_pd(xv[i], wv[j], acc[i][j]);
                    }
                }
            }
            for (o, a) in out.iter_mut().zip(acc.iter().flatten()) {
                // SAFETY: a `Lane` is 8 f64 aligned to 64 bytes.
                unsafe { _mm512_store_pd(o.0.as_mut_ptr(), *a) };
            }
            std::hint::black_box(&mut out);
        }
        out[0].0[0]
    }

    /// The same with 256-bit FMAs.
    #[target_feature(enable = "avx2,fma")]
    pub fn fma256(n: u64) -> f64 {
        let x = _mm256_set1_pd(std::hint::black_box(0.999_999_9));
        let y = _mm256_set1_pd(std::hint::black_box(1e-7));
        let mut acc = [_mm256_setzero_pd(); CHAINS];
        for (c, a) in acc.iter_mut().enumerate() {
            *a = _mm256_set1_pd(c as f64);
        }
        for _ in 0..n {
            for a in acc.iter_mut() {
                *a = _mm256_fmadd_pd(*a, x, y);
            }
        }
        let mut out = [0.0; 4];
        acc.iter()
            .map(|&a| {
                // SAFETY: `out` holds four f64.
                unsafe { _mm256_storeu_pd(out.as_mut_ptr(), a) };
                out.iter().sum::<f64>()
            })
            .sum()
    }
}
