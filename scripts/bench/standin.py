#!/usr/bin/env python3
"""Stand-in inputs for W2/W3 while lojasim cannot yet write its own (issue 4: data/teacher.csv,
data/diabetes.csv, `lojasim init … --out theta0.txt`). Deterministic (numpy PCG64, fixed seeds).

Writes into --out-dir (default target/bench/standin, git-ignored):
- teacher.csv: 16 rows, x ~ N(0, I_8), y = w2ᵀ tanh(W1 x) from a teacher 8 → 4 → 1 with weights
  N(0, 1/fan_in) and no biases (the recipe issue 4 documents for data/teacher.csv);
- real.csv: 48 rows, 4 features, a smooth nonlinear target plus noise — only a shape-alike of
  the real data set W3 uses (48 × 4), not real data;
- theta0_W2.txt, theta0_W3.txt: LeCun-normal θ0 (weights N(0, 1/fan_in), biases 0), one number
  per line in lojasim's parameter order, followed by init_steps gradient-descent steps of init_eta
  on the (standardised) data, as `lojasim init --init-steps` does; network and init settings come
  from workloads.json.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

import bench_common as bc


def write_csv(path, X, y, names):
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for row, target in zip(X, y):
            f.write(",".join(repr(float(v)) for v in row) + "," + repr(float(target)) + "\n")


def teacher(seed=20240417, rows=16, inputs=8, width=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, inputs))
    W1 = rng.standard_normal((width, inputs)) / np.sqrt(inputs)
    w2 = rng.standard_normal(width) / np.sqrt(width)
    return X, np.tanh(X @ W1.T) @ w2


def shape_alike(seed=7, rows=48, inputs=4):
    rng = np.random.default_rng(seed)
    X = rng.normal([50, 26, 95, 4.6], [13, 4.4, 14, 0.5], size=(rows, inputs))
    y = 150 + 40 * np.tanh((X[:, 1] - 26) / 5) + 25 * (X[:, 3] - 4.6) + rng.normal(0, 30, rows)
    return X, y


def gd_pretrain(theta, X, y, shapes, activation, steps, eta):
    """Plain gradient descent θ ← θ − η∇F(θ), no randomness (single trajectory)."""
    from numpy_peer import Mlp
    model = Mlp(X, y, shapes, theta, activation)
    t = theta[None, :].copy()
    for _ in range(steps):
        _, g = model.loss_and_grad(t)
        t -= eta * g
    return t[0], float(model.loss(t)[0])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out-dir", default=str(bc.REPO / "target" / "bench" / "standin"))
    p.add_argument("--workloads-file", default=str(bc.WORKLOADS_FILE),
                   help="hidden, activation, init_seed, init_steps, init_eta of W2 and W3")
    a = p.parse_args()
    workloads = bc.load_workloads(a.workloads_file)
    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)

    X, y = teacher()
    write_csv(out / "teacher.csv", X, y, [f"x{i + 1}" for i in range(X.shape[1])] + ["y"])
    X, y = shape_alike()
    write_csv(out / "real.csv", X, y, ["age", "bmi", "bp", "s5", "progression"])

    for name, csv in (("W2", "teacher.csv"), ("W3", "real.csv")):
        w = workloads[name]
        Xs, ys = bc.load_csv(out / csv, standardize=w["standardize"])
        shapes = bc.layer_shapes(Xs.shape[1], w["hidden"])
        theta = bc.lecun_normal(shapes, w["init_seed"])
        theta, F = gd_pretrain(theta, Xs, ys, shapes, w["activation"], w["init_steps"], w["init_eta"])
        path = out / f"theta0_{name}.txt"
        with open(path, "w") as f:
            f.write(f"# stand-in theta0 for {name}: LeCun normal (numpy seed {w['init_seed']}), "
                    f"{w['init_steps']} GD steps of eta {w['init_eta']}; F(theta0) = {F!r}\n")
            f.writelines(f"{float(v)!r}\n" for v in theta)
        print(f"{path}: d = {theta.size}, F(theta0) = {F:.6g}", file=sys.stderr)
    print(out)


if __name__ == "__main__":
    main()
