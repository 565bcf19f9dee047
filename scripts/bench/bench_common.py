"""What the JAX and NumPy peers share: the workload definitions (workloads.json), flag parsing,
data and θ0 loading with lojasim's conventions, the MLP parameter layout, Wilson intervals and
the one-line JSON result.

lojasim's conventions reproduced here (see README.md of this folder):
- data: CSV with a header row, numeric columns, target = last column; with `one_hot` the target
  holds class labels, expanded to one 0/1 output per distinct label in increasing order; `rows`
  keeps only the first rows; with standardisation (lojasim's default) every feature column and a
  regression target are z-scored with the population sd (one-hot targets stay 0/1);
- θ0 file: one number per line, blank lines and lines starting with '#' ignored;
- MLP parameter order: layer by layer from the input, W (out × in) row-major, then the bias;
  hidden layers use the activation, the output layer is linear with one output per target;
- loss F = 1/(2n) Σ_i ‖f(x_i) − y_i‖², per-sample loss ½‖f(x_i) − y_i‖².
"""

import argparse
import json
import math
import os
import platform
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
WORKLOADS_FILE = HERE / "workloads.json"


def load_workloads(path=WORKLOADS_FILE):
    with open(path) as f:
        w = json.load(f)
    return {k: v for k, v in w.items() if not k.startswith("_")}


def parse_bool(text):
    t = text.strip().lower()
    if t in ("true", "1", "yes"):
        return True
    if t in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false (got {text!r})")


def parse_widths(text):
    try:
        widths = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden: expected comma-separated integers (got {text!r})")
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"--hidden: widths must be ≥ 1 (got {text!r})")
    return widths


def build_parser(description):
    """Flags of both peers. Defaults come from the chosen --workload in workloads.json."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--workload", required=True, choices=["W1", "W2", "W3", "W4", "W4b"])
    p.add_argument("--workloads-file", default=str(WORKLOADS_FILE))
    p.add_argument("--trajectories", "-N", type=int, help="N")
    p.add_argument("--steps", "-K", type=int, help="K")
    p.add_argument("--eta", type=float)
    p.add_argument("--sigma", type=float, help="ml noise level (W1, W2)")
    p.add_argument("--radius", type=float)
    p.add_argument("--eps", type=float)
    p.add_argument("--seed", type=int, default=0)
    # W1
    p.add_argument("--dim", type=int)
    p.add_argument("--curvature", type=float)
    p.add_argument("--theta0", type=float, help="W1: θ0 in every coordinate")
    # W2, W3
    p.add_argument("--data", help="CSV: header row, numeric columns, target last")
    p.add_argument("--standardize", type=parse_bool, help="z-score features and target (lojasim's default: true)")
    p.add_argument("--one-hot", type=parse_bool, help="the target column holds class labels (one 0/1 output each)")
    p.add_argument("--rows", type=int, help="only the first ROWS rows of the data")
    p.add_argument("--theta0-file", help="θ0, one number per line in lojasim's parameter order")
    p.add_argument("--init-seed", type=int, help="without --theta0-file: stand-in LeCun-normal θ0 (numpy seed)")
    p.add_argument("--hidden", type=parse_widths)
    p.add_argument("--activation", choices=["tanh", "sigmoid", "softplus"])
    p.add_argument("--batch", type=int, help="W3, W4b: minibatch size B (indices with replacement)")
    return p


def resolve(args):
    """Fills every unset flag from the workload's entry in workloads.json; returns a dict."""
    wl = load_workloads(args.workloads_file)[args.workload]
    cfg = dict(wl)
    for key, value in vars(args).items():
        if value is not None:
            cfg[key] = value
    cfg["workload"] = args.workload
    if "trajectories" in cfg:
        cfg["N"] = cfg.pop("trajectories")
    if "steps" in cfg:
        cfg["K"] = cfg.pop("steps")
    for key in ("N", "K"):
        if cfg[key] < 1:
            sys.exit(f"error: --{'trajectories' if key == 'N' else 'steps'} must be ≥ 1 (got {cfg[key]})")
    if not cfg["radius"] > 0:
        sys.exit(f"error: --radius must be > 0 (got {cfg['radius']})")
    if cfg["problem"] == "mlp":
        cfg["hidden"] = list(cfg["hidden"])
        if cfg["noise"] == "minibatch" and cfg.get("batch", 0) < 1:
            sys.exit(f"error: --batch must be ≥ 1 (got {cfg.get('batch')})")
    return cfg


# ---------------------------------------------------------------- data and θ0

def load_csv(path, standardize, one_hot=False, rows=None):
    """(X, Y) from a CSV with a header row: X is (n, p), Y is (n, m) (m = 1 for one target
    column, the number of classes with one_hot); the target is the last column."""
    path = Path(path)
    if not path.is_absolute() and not path.exists():
        path = REPO / path
    with open(path) as f:
        header = f.readline().strip().split(",")
    table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    if table.shape[1] != len(header) or table.shape[1] < 2:
        sys.exit(f"error: {path}: {table.shape[1]} columns, header has {len(header)}; need ≥ 2")
    if rows is not None:
        table = table[:rows]
    X, y = table[:, :-1], table[:, -1]
    if one_hot:
        classes = np.unique(y)
        Y = (y[:, None] == classes[None, :]).astype(np.float64)
    else:
        Y = y[:, None]
    if standardize:
        def zscore(a):
            mean = a.mean(axis=0)
            sd = np.sqrt(((a - mean) ** 2).mean(axis=0))
            if np.any(sd == 0):
                sys.exit(f"error: {path}: a column is constant, so it cannot be standardised")
            return (a - mean) / sd
        if one_hot:
            X = zscore(X)
        else:
            # The table at once (as lojasim scores each column): the same bits as before
            # several outputs existed.
            table = zscore(table)
            X, Y = table[:, :-1], table[:, -1:]
    return np.ascontiguousarray(X), np.ascontiguousarray(Y)


def layer_shapes(inputs, hidden, outputs=1):
    """[(out, in)] of every weight layer: inputs → hidden… → outputs."""
    widths = [inputs] + list(hidden) + [outputs]
    return [(widths[i + 1], widths[i]) for i in range(len(widths) - 1)]


def param_count(shapes):
    return sum(o * i + o for o, i in shapes)


def lecun_normal(shapes, seed):
    """Stand-in θ0 (not lojasim's stream): weights N(0, 1/fan_in), biases 0, lojasim's order."""
    rng = np.random.default_rng(seed)
    parts = []
    for o, i in shapes:
        parts.append(rng.standard_normal(o * i) / math.sqrt(i))
        parts.append(np.zeros(o))
    return np.concatenate(parts)


def read_theta0_file(path, dim):
    values = []
    with open(path) as f:
        for number, line in enumerate(f, start=1):
            s = line.strip()
            if s and not s.startswith("#"):
                try:
                    values.append(float(s))
                except ValueError:
                    sys.exit(f"error: --theta0-file {path}: line {number}: {s!r} is not a number")
    theta0 = np.array(values, dtype=np.float64)
    if theta0.size != dim:
        sys.exit(f"error: --theta0-file {path}: {theta0.size} numbers, the network has {dim} parameters")
    if not np.all(np.isfinite(theta0)):
        sys.exit(f"error: --theta0-file {path}: a value is not finite")
    return theta0


def mlp_problem(cfg):
    """X, Y (n × outputs), layer shapes and θ0 of a network configuration (W2, W3, W4)."""
    X, y = load_csv(cfg["data"], cfg["standardize"], cfg.get("one_hot", False), cfg.get("rows"))
    shapes = layer_shapes(X.shape[1], cfg["hidden"], y.shape[1])
    d = param_count(shapes)
    if cfg.get("theta0_file"):
        theta0 = read_theta0_file(cfg["theta0_file"], d)
        source = f"file {cfg['theta0_file']}"
    else:
        theta0 = lecun_normal(shapes, cfg.get("init_seed", 0))
        source = f"stand-in LeCun normal, numpy seed {cfg.get('init_seed', 0)}"
    return X, y, shapes, theta0, source


def numpy_activation(name):
    """(φ, φ' given the activation a = φ(z) and z)."""
    if name == "tanh":
        return np.tanh, lambda a, z: 1.0 - a * a
    if name == "sigmoid":
        def sig(z):
            return 0.5 * (1.0 + np.tanh(0.5 * z))
        return sig, lambda a, z: a * (1.0 - a)
    if name == "softplus":
        return (lambda z: np.logaddexp(0.0, z)), (lambda a, z: 0.5 * (1.0 + np.tanh(0.5 * z)))
    raise ValueError(name)


# ---------------------------------------------------------------- statistics and output

Z95 = 1.959963984540054  # Φ⁻¹(0.975)


def wilson(count, n, z=Z95):
    """Wilson score interval (95 % by default); exact at count = 0 and count = n."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = count / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo = 0.0 if count == 0 else max(0.0, centre - half)
    hi = 1.0 if count == n else min(1.0, centre + half)
    return (lo, hi)


def thread_report():
    """What bounds the threads this process may use: CPU affinity and the usual env knobs."""
    info = {"affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()}
    for var in ("XLA_FLAGS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var):
            info[var] = os.environ[var]
    return info


def cpu_seconds():
    """User + system CPU time of this process, all threads."""
    t = os.times()
    return t.user + t.system


def result_line(cfg, peer, *, seconds, cpu_s, d, stayed, converged, exit_steps_sum, exited,
                final_loss_sum, extra):
    N, K = cfg["N"], cfg["K"]
    useful = stayed * K + exit_steps_sum
    nominal = N * K
    out = {
        "peer": peer,
        "workload": cfg["workload"],
        "N": N,
        "K": K,
        "d": d,
        "seed": cfg["seed"],
        "eta": cfg["eta"],
        "radius": cfg["radius"],
        "eps": cfg["eps"],
        "noise": cfg["noise"],
        "sigma": cfg.get("sigma") if cfg["noise"] == "ml" else None,
        "batch": cfg.get("batch") if cfg["noise"] == "minibatch" else None,
        "seconds": seconds,
        "nominal_steps": nominal,
        "useful_steps": useful,
        "steps_per_s_nominal": nominal / seconds,
        "steps_per_s_useful": useful / seconds,
        "cpu_s": cpu_s,
        "cores_busy": cpu_s / seconds,
        "stay_count": stayed,
        "converge_count": converged,
        "exit_count": exited,
        "mean_exit_step": exit_steps_sum / exited if exited else None,
        "final_loss_mean": final_loss_sum / stayed if stayed else None,
        "stay_wilson95": wilson(stayed, N),
        "converge_wilson95": wilson(converged, N),
        "threads": thread_report(),
        "python": platform.python_version(),
        "numpy_version": np.__version__,
        "machine": platform.machine(),
    }
    out.update(extra)
    return json.dumps(out)
