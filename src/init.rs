//! The starting point θ0 of the data landscapes: a seeded initialisation (optionally followed by
//! deterministic gradient-descent steps), or a file.
//!
//! **Initialisation (`--init-seed S`).** LeCun normal: each weight of a layer with fan-in m is
//! N(0, 1/m), each bias 0, in the documented parameter order (docs/networks.md). The normals are
//! the ziggurat `StandardNormal` of `rand_distr`, drawn from [`init_rng`]`(S)`: the project's
//! generator, seeded like trajectory 0 of master seed `splitmix64_mix(S ^ INIT_DOMAIN)`, so that the
//! initialisation never shares a stream with the trajectories even when `--init-seed` and `--seed`
//! are equal.
//!
//! **Pre-training (`--init-steps K`, `--init-eta η`).** K plain gradient-descent steps
//! θ ← θ − η∇F(θ) from the initialisation, with no randomness: a way to start near the minimum set,
//! where the theorem's bound is informative. θ0 is the result.
//!
//! **File (`--theta0-file FILE`).** One number per line, d lines, in the parameter order; blank
//! lines and lines starting with `#` are ignored. `lojasim init … --out FILE` writes this format.

use std::path::Path;

use rand_distr::{Distribution, StandardNormal};

use crate::landscape::Landscape;
use crate::rng::{TrajectoryRng, splitmix64_mix, trajectory_rng};

/// Separates the initialisation streams from the trajectory streams ("init" in ASCII).
pub const INIT_DOMAIN: u64 = 0x696e_6974;

/// The generator of the initialisation with seed `seed`.
pub fn init_rng(seed: u64) -> TrajectoryRng {
    trajectory_rng(splitmix64_mix(seed ^ INIT_DOMAIN), 0)
}

/// LeCun-normal parameters for weight layers of shape (fan_in, fan_out), each stored as the
/// fan_out × fan_in weight matrix row-major followed by `fan_out` biases when `bias` is set.
pub fn lecun_normal(layers: &[(usize, usize)], bias: bool, seed: u64) -> Vec<f64> {
    let mut rng = init_rng(seed);
    let mut theta = Vec::new();
    for &(fan_in, fan_out) in layers {
        let sd = 1.0 / (fan_in as f64).sqrt();
        for _ in 0..fan_in * fan_out {
            let z: f64 = StandardNormal.sample(&mut rng);
            theta.push(sd * z);
        }
        if bias {
            theta.extend(std::iter::repeat_n(0.0, fan_out));
        }
    }
    theta
}

/// `steps` gradient-descent steps of size `eta` on `landscape`, in place.
pub fn pretrain(landscape: &dyn Landscape, theta: &mut [f64], steps: u64, eta: f64) {
    pretrain_until(landscape, theta, steps, eta, None, &mut |_| {});
}

/// Pre-training reports its progress every this many steps.
pub const PROGRESS_EVERY: u64 = 500;

/// How far pre-training went.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pretrained {
    /// Gradient-descent steps taken.
    pub steps: u64,
    /// F at the initialisation.
    pub initial_loss: f64,
    /// With a target F*: whether F(θ) ≤ F* was reached within the cap.
    pub reached: Option<bool>,
}

/// Gradient descent of size `eta` on `landscape`, in place: `max_steps` steps, or with `target`
/// F* until F(θ) ≤ F* (checked before each step, on the loss the step computes anyway, so a run
/// without a target takes exactly the steps of [`pretrain`]). `progress(k)` is called every
/// [`PROGRESS_EVERY`] steps with the steps taken so far.
pub fn pretrain_until(
    landscape: &dyn Landscape,
    theta: &mut [f64],
    max_steps: u64,
    eta: f64,
    target: Option<f64>,
    progress: &mut dyn FnMut(u64),
) -> Pretrained {
    let mut grad = vec![0.0; theta.len()];
    let mut work = vec![0.0; landscape.workspace_len()];
    let mut chunked = RowChunks::new(landscape, theta.len());
    let mut initial_loss = None;
    for step in 0..max_steps {
        let f = match &mut chunked {
            Some(c) => c.loss_and_gradient(theta, &mut grad),
            None => landscape.loss_and_gradient(theta, &mut grad, &mut work),
        };
        initial_loss.get_or_insert(f);
        if target.is_some_and(|t| f <= t) {
            return Pretrained {
                steps: step,
                initial_loss: initial_loss.unwrap_or(f),
                reached: Some(true),
            };
        }
        for (t, g) in theta.iter_mut().zip(&grad) {
            *t -= eta * g;
        }
        if (step + 1) % PROGRESS_EVERY == 0 {
            progress(step + 1);
        }
    }
    let last = target.map(|t| landscape.loss(theta, &mut work) <= t);
    Pretrained {
        steps: max_steps,
        initial_loss: initial_loss.unwrap_or_else(|| landscape.loss(theta, &mut work)),
        reached: last,
    }
}

/// Data sets with at least this many rows are pre-trained in row chunks on all cores.
pub const CHUNKED_ROWS: usize = 128;
/// At most this many rows per chunk; the partition depends only on n, so that θ0 is the same for
/// any thread count.
pub const CHUNK_ROWS: usize = 64;

/// The full-batch gradient of a data landscape with many rows, as a fixed partition of the rows
/// into ⌈n/[`CHUNK_ROWS`]⌉ equal chunks evaluated in parallel and summed in chunk order: F = Σ_c (n_c/n)·F_c,
/// the same for any thread count (not bit-identical to the one-pass gradient, which sums the
/// rows in another order; small data sets keep that one).
struct RowChunks<'a> {
    data: &'a dyn crate::landscape::PerSampleGradient,
    n: usize,
    chunks: Vec<Vec<usize>>,
    grads: Vec<Vec<f64>>,
    works: Vec<Vec<f64>>,
}

impl<'a> RowChunks<'a> {
    fn new(landscape: &'a dyn Landscape, d: usize) -> Option<Self> {
        let data = landscape.per_sample()?;
        let n = data.samples();
        if n < CHUNKED_ROWS {
            return None;
        }
        // ⌈n/CHUNK_ROWS⌉ chunks of nearly equal size, so that cores get equal work.
        let m = n.div_ceil(CHUNK_ROWS);
        let chunks: Vec<Vec<usize>> = (0..m)
            .map(|c| (c * n / m..(c + 1) * n / m).collect())
            .collect();
        let grads = vec![vec![0.0; d]; chunks.len()];
        let works = vec![vec![0.0; landscape.workspace_len()]; chunks.len()];
        Some(RowChunks {
            data,
            n,
            chunks,
            grads,
            works,
        })
    }

    fn loss_and_gradient(&mut self, theta: &[f64], grad: &mut [f64]) -> f64 {
        use rayon::prelude::*;
        let data = self.data;
        let losses: Vec<f64> = self
            .chunks
            .par_iter()
            .zip(self.grads.par_iter_mut())
            .zip(self.works.par_iter_mut())
            .map(|((rows, g), w)| data.batch_loss_and_gradient(theta, rows, g, w))
            .collect();
        grad.iter_mut().for_each(|g| *g = 0.0);
        let mut f = 0.0;
        for ((rows, g), loss) in self.chunks.iter().zip(&self.grads).zip(losses) {
            let share = rows.len() as f64 / self.n as f64;
            f += share * loss;
            for (a, b) in grad.iter_mut().zip(g) {
                *a += share * b;
            }
        }
        f
    }
}

/// A θ0 file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Theta0FileError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: line {line}: '{value}' is not a finite number")]
    NotNumeric {
        path: String,
        line: usize,
        value: String,
    },
    #[error("{path}: has {found} values but this problem has d = {expected} parameters")]
    WrongLength {
        path: String,
        found: usize,
        expected: usize,
    },
    #[error("{path}: {why}")]
    Format { path: String, why: String },
    #[error(
        "{path}: tensor '{name}' has shape {found:?} but layer {layer} of this network needs \
         {expected:?} (out × in, as torch.nn.Linear stores it); check --hidden, the data's \
         features and --target (one output per target)"
    )]
    Shape {
        path: String,
        name: String,
        layer: usize,
        found: Vec<usize>,
        expected: Vec<usize>,
    },
}

/// The layers a θ0 file must match: (fan_in, fan_out) per weight layer and whether each has a
/// bias ([`crate::landscape::InitLayers`]).
pub type Layers<'a> = (&'a [(usize, usize)], bool);

/// Reads θ0 from `path` by its extension: `.safetensors` (the `state_dict` of a PyTorch
/// `nn.Sequential` of `Linear` layers, checked against `layers`), `.npy` (a 1-D float array of
/// the d parameters in order), or else the text format of [`read_theta0`].
pub fn read_theta0_file(
    path: &Path,
    dim: usize,
    layers: Option<Layers<'_>>,
) -> Result<Vec<f64>, Theta0FileError> {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let bytes = || {
        std::fs::read(path).map_err(|source| Theta0FileError::Io {
            path: path.display().to_string(),
            source,
        })
    };
    let theta = match extension {
        "safetensors" => {
            let layers = layers.ok_or_else(|| Theta0FileError::Format {
                path: path.display().to_string(),
                why: "a safetensors file gives the layers of a network; this problem has none \
                      (use a text or .npy file)"
                    .to_string(),
            })?;
            read_safetensors(path, &bytes()?, layers)?
        }
        "npy" => read_npy(path, &bytes()?)?,
        _ => return read_theta0(path, dim),
    };
    if theta.len() != dim {
        return Err(Theta0FileError::WrongLength {
            path: path.display().to_string(),
            found: theta.len(),
            expected: dim,
        });
    }
    if let Some(i) = theta.iter().position(|v| !v.is_finite()) {
        return Err(Theta0FileError::Format {
            path: path.display().to_string(),
            why: format!("parameter {i} is {}, not a finite number", theta[i]),
        });
    }
    Ok(theta)
}

/// The weights and biases of the `Linear` layers in a safetensors file, in θ's order.
///
/// Tensors are grouped by the prefix before `weight` / `bias` (`0.`, `2.`, … in an
/// `nn.Sequential`, whose activations hold no tensors; or none for a lone `Linear`), the groups
/// ordered by that index. Each weight must be out × in and each bias out long (F64, or F32
/// widened exactly); PyTorch stores a weight row-major as out × in, which is θ's order.
fn read_safetensors(
    path: &Path,
    bytes: &[u8],
    (layers, biases): Layers<'_>,
) -> Result<Vec<f64>, Theta0FileError> {
    use safetensors::{Dtype, SafeTensors};
    let name = || path.display().to_string();
    let format = |why: String| Theta0FileError::Format { path: name(), why };
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| format(format!("not a safetensors file: {e}")))?;
    let mut prefixes: Vec<(u64, String)> = Vec::new();
    for tensor in file.names() {
        let prefix = tensor
            .strip_suffix("weight")
            .or_else(|| tensor.strip_suffix("bias"))
            .ok_or_else(|| {
                format(format!(
                    "tensor '{tensor}' is neither a weight nor a bias of a Linear layer"
                ))
            })?;
        let index = match prefix.trim_end_matches('.').rsplit('.').next() {
            Some("") | None => 0,
            Some(i) => i.parse::<u64>().map_err(|_| {
                format(format!(
                    "tensor '{tensor}': expected names like '0.weight', '2.bias' (an \
                     nn.Sequential state_dict)"
                ))
            })?,
        };
        if !prefixes.iter().any(|(_, p)| p == prefix) {
            prefixes.push((index, prefix.to_string()));
        }
    }
    prefixes.sort();
    if prefixes.len() != layers.len() {
        return Err(format(format!(
            "has {} Linear layers but this network has {} (check --hidden)",
            prefixes.len(),
            layers.len()
        )));
    }
    let mut theta = Vec::new();
    for (l, ((_, prefix), &(fan_in, fan_out))) in prefixes.iter().zip(layers).enumerate() {
        let mut parts = vec![(format!("{prefix}weight"), vec![fan_out, fan_in])];
        if biases {
            parts.push((format!("{prefix}bias"), vec![fan_out]));
        }
        for (tensor, expected) in parts {
            let view = file
                .tensor(&tensor)
                .map_err(|_| format(format!("tensor '{tensor}' is missing (layer {}'s)", l + 1)))?;
            if view.shape() != expected.as_slice() {
                return Err(Theta0FileError::Shape {
                    path: name(),
                    name: tensor,
                    layer: l + 1,
                    found: view.shape().to_vec(),
                    expected,
                });
            }
            let data = view.data();
            match view.dtype() {
                Dtype::F64 => theta.extend(
                    data.chunks_exact(8)
                        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes"))),
                ),
                Dtype::F32 => theta.extend(
                    data.chunks_exact(4)
                        .map(|b| f64::from(f32::from_le_bytes(b.try_into().expect("4 bytes")))),
                ),
                other => {
                    return Err(format(format!(
                        "tensor '{tensor}' is {other:?}; lojasim reads F64 or F32"
                    )));
                }
            }
        }
        if !biases && file.tensor(&format!("{prefix}bias")).is_ok() {
            return Err(format(format!(
                "tensor '{prefix}bias': this model has no bias (add --bias for least squares)"
            )));
        }
    }
    Ok(theta)
}

/// A NumPy `.npy` file holding one 1-D little-endian float64 (or float32) array, in C order.
fn read_npy(path: &Path, bytes: &[u8]) -> Result<Vec<f64>, Theta0FileError> {
    let format = |why: &str| Theta0FileError::Format {
        path: path.display().to_string(),
        why: why.to_string(),
    };
    let rest = bytes
        .strip_prefix(b"\x93NUMPY")
        .ok_or_else(|| format("not a .npy file (no \\x93NUMPY magic)"))?;
    let (len, header_start) = match rest.first() {
        Some(1) if rest.len() >= 4 => (usize::from(u16::from_le_bytes([rest[2], rest[3]])), 4),
        Some(2 | 3) if rest.len() >= 6 => (
            u32::from_le_bytes([rest[2], rest[3], rest[4], rest[5]]) as usize,
            6,
        ),
        _ => return Err(format("unknown .npy version")),
    };
    let header = rest
        .get(header_start..header_start + len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| format("truncated .npy header"))?;
    let data = &rest[header_start + len..];
    let compact: String = header.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.contains("'fortran_order':True") {
        return Err(format("a Fortran-ordered array; save θ0 as a 1-D array"));
    }
    let shape = compact
        .split("'shape':(")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| format("no shape in the .npy header"))?;
    let dims: Vec<&str> = shape.split(',').filter(|d| !d.is_empty()).collect();
    let n: usize = match dims.as_slice() {
        [n] => n.parse().map_err(|_| format("unreadable shape"))?,
        _ => {
            return Err(format(
                "θ0 must be a 1-D array (np.save(path, theta.ravel()))",
            ));
        }
    };
    let values: Vec<f64> = if compact.contains("'descr':'<f8'") {
        data.chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect()
    } else if compact.contains("'descr':'<f4'") {
        data.chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes(b.try_into().expect("4 bytes"))))
            .collect()
    } else {
        return Err(format(
            "the array must be float64 or float32, little-endian",
        ));
    };
    if values.len() != n {
        return Err(format("the data are shorter than the shape says"));
    }
    Ok(values)
}

/// Reads a θ0 file of exactly `dim` values.
pub fn read_theta0(path: &Path, dim: usize) -> Result<Vec<f64>, Theta0FileError> {
    let name = || path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| Theta0FileError::Io {
        path: name(),
        source,
    })?;
    let mut theta = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let v = line
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| Theta0FileError::NotNumeric {
                path: name(),
                line: i + 1,
                value: line.to_string(),
            })?;
        theta.push(v);
    }
    if theta.len() != dim {
        return Err(Theta0FileError::WrongLength {
            path: name(),
            found: theta.len(),
            expected: dim,
        });
    }
    Ok(theta)
}

/// θ in the file format: one shortest-round-trip number per line, so reading it back is exact.
pub fn format_theta0(theta: &[f64]) -> String {
    let mut s = String::with_capacity(theta.len() * 24);
    for v in theta {
        s.push_str(&v.to_string());
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lecun_init_has_zero_biases_and_weights_of_variance_one_over_fan_in() {
        // One layer 400 → 50: 20 000 weights. Their sample variance times 400 estimates 1 with
        // sd ≈ √(2/20000) = 0.01; 0.05 is 5 sd (fixed seed).
        let theta = lecun_normal(&[(400, 50)], true, 1);
        assert_eq!(theta.len(), 400 * 50 + 50);
        assert!(theta[20_000..].iter().all(|&b| b == 0.0));
        let var = theta[..20_000].iter().map(|w| w * w).sum::<f64>() / 20_000.0;
        assert!((var * 400.0 - 1.0).abs() < 0.05, "{}", var * 400.0);
        assert_eq!(
            lecun_normal(&[(3, 2)], false, 9),
            lecun_normal(&[(3, 2)], false, 9)
        );
        assert_ne!(
            lecun_normal(&[(3, 2)], false, 9),
            lecun_normal(&[(3, 2)], false, 10)
        );
    }

    /// On 200 rows the chunked gradient is used: θ0 is bit for bit the same on 1, 2 and 3 threads,
    /// and within rounding of the one-pass gradient descent (the sums differ only in order).
    #[test]
    fn chunked_pretraining_is_thread_independent_and_matches_one_pass_descent() {
        use crate::data::Dataset;
        use crate::landscape::{Activation, Gradient, Mlp, Objective};
        use std::sync::Arc;
        let mut data =
            Dataset::parse("bench200.csv", include_str!("../data/bench200.csv"), None).unwrap();
        data.standardize().unwrap();
        assert!(data.rows() >= CHUNKED_ROWS);
        let m = Mlp::new(Arc::new(data), &[8], Activation::Tanh).unwrap();
        let start = lecun_normal(&[(5, 8), (8, 1)], true, 0);
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut theta = start.clone();
            pool.install(|| pretrain(&m, &mut theta, 30, 0.1));
            theta
        };
        let (one, two) = (on(1), on(2));
        let mut serial = start.clone();
        let mut grad = vec![0.0; serial.len()];
        let mut work = vec![0.0; m.workspace_len()];
        for _ in 0..30 {
            m.loss_and_gradient(&serial, &mut grad, &mut work);
            for (t, g) in serial.iter_mut().zip(&grad) {
                *t -= 0.1 * g;
            }
        }
        assert_eq!(one, two, "the chunks do not depend on the thread count");
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let mut three = start.clone();
        pool.install(|| pretrain(&m, &mut three, 30, 0.1));
        assert_eq!(two, three, "the chunks do not depend on the thread count");
        for (a, b) in two.iter().zip(&serial) {
            assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }

    /// Without a target, pre-training takes the same steps as before; with one, it stops at the
    /// first iterate with F ≤ F*, so one step fewer is above it.
    #[test]
    fn pretraining_to_a_loss_stops_at_the_first_iterate_below_it() {
        use crate::landscape::{Objective, Quadratic};
        let q = Quadratic::new(vec![1.0, 3.0]).unwrap();
        let mut work = vec![0.0; q.workspace_len()];
        let (mut a, mut b) = (vec![1.0, -2.0], vec![1.0, -2.0]);
        pretrain(&q, &mut a, 40, 0.1);
        let none = pretrain_until(&q, &mut b, 40, 0.1, None, &mut |_| {});
        assert_eq!(a, b);
        assert_eq!((none.steps, none.reached), (40, None));
        assert_eq!(none.initial_loss, 0.5 * (1.0 + 3.0 * 4.0));

        let mut c = vec![1.0, -2.0];
        let hit = pretrain_until(&q, &mut c, 1000, 0.1, Some(1e-3), &mut |_| {});
        assert_eq!(hit.reached, Some(true));
        assert!(q.loss(&c, &mut work) <= 1e-3);
        let mut d = vec![1.0, -2.0];
        pretrain(&q, &mut d, hit.steps - 1, 0.1);
        assert!(q.loss(&d, &mut work) > 1e-3, "stopped late");
        assert_eq!(&c, &{
            pretrain(&q, &mut d, 1, 0.1);
            d
        });

        let mut e = vec![1.0, -2.0];
        let capped = pretrain_until(&q, &mut e, 5, 0.1, Some(1e-12), &mut |_| {});
        assert_eq!((capped.steps, capped.reached), (5, Some(false)));
    }

    /// A .npy file as NumPy writes it (version 1.0, header padded to 64 bytes, '<f8'), read
    /// back exactly; other element types, shapes and non-files are refused by name.
    #[test]
    fn npy_files_are_read_exactly_and_bad_ones_refused() {
        let npy = |descr: &str, shape: &str, data: &[u8]| {
            let mut header =
                format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
            while (10 + header.len() + 1) % 64 != 0 {
                header.push(' ');
            }
            header.push('\n');
            let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
            bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
            bytes.extend_from_slice(header.as_bytes());
            bytes.extend_from_slice(data);
            bytes
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.npy");
        let values = [0.1, -2.5e-300, 3.0];
        let data: Vec<u8> = values.iter().flat_map(|v: &f64| v.to_le_bytes()).collect();
        std::fs::write(&path, npy("<f8", "(3,)", &data)).unwrap();
        assert_eq!(read_theta0_file(&path, 3, None).unwrap(), values);
        let e = read_theta0_file(&path, 4, None).unwrap_err().to_string();
        assert!(
            e.ends_with("has 3 values but this problem has d = 4 parameters"),
            "{e}"
        );
        std::fs::write(&path, npy("<i8", "(3,)", &data)).unwrap();
        let e = read_theta0_file(&path, 3, None).unwrap_err().to_string();
        assert!(e.contains("must be float64 or float32"), "{e}");
        std::fs::write(&path, npy("<f8", "(3, 1)", &data)).unwrap();
        let e = read_theta0_file(&path, 3, None).unwrap_err().to_string();
        assert!(e.contains("must be a 1-D array"), "{e}");
        let st = dir.path().join("t.safetensors");
        std::fs::write(&st, b"not a safetensors file").unwrap();
        let e = read_theta0_file(&st, 3, Some((&[(2, 1)], true)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a safetensors file"), "{e}");
    }

    #[test]
    fn init_streams_differ_from_trajectory_streams_of_the_same_seed() {
        use rand::Rng;
        assert_ne!(init_rng(0).next_u64(), trajectory_rng(0, 0).next_u64());
    }

    #[test]
    fn files_round_trip_and_wrong_lengths_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.txt");
        let theta = [0.1, -2.5e-17, 3.0];
        std::fs::write(&path, format!("# a comment\n{}\n", format_theta0(&theta))).unwrap();
        assert_eq!(read_theta0(&path, 3).unwrap(), theta);
        let e = read_theta0(&path, 4).unwrap_err().to_string();
        assert!(
            e.ends_with("t.txt: has 3 values but this problem has d = 4 parameters"),
            "{e}"
        );
        std::fs::write(&path, "1\nx\n").unwrap();
        let e = read_theta0(&path, 2).unwrap_err().to_string();
        assert!(
            e.ends_with("t.txt: line 2: 'x' is not a finite number"),
            "{e}"
        );
    }
}
