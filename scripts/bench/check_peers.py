#!/usr/bin/env python3
"""Checks that the two peers compute the same thing (run before trusting a timing):

1. the NumPy hand-written MLP backward pass equals jax.grad, full batch and per-trajectory
   minibatches, and both equal central finite differences, for a one-output network (the
   teacher recipe, or --data) and a ten-output one (200 rows of data/digits.csv, one-hot);
2. the NumPy row views used for the flat parameter vector are views (no hidden copies).

    python3 scripts/bench/check_peers.py [--data FILE.csv]
"""

import argparse
import sys

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import bench_common as bc  # noqa: E402
from jax_peer import mlp_forward  # noqa: E402
from numpy_peer import Mlp  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", help="CSV (default: a stand-in from standin.py's teacher recipe)")
    a = p.parse_args()
    if a.data is None:
        import standin
        X, y = standin.teacher()
        path = bc.REPO / "target" / "bench" / "check_teacher.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        standin.write_csv(path, X, y, [f"x{i}" for i in range(X.shape[1])] + ["y"])
        a.data = str(path)
    cfgs = [
        {"data": a.data, "standardize": True, "hidden": [32, 32], "activation": "tanh", "init_seed": 3},
        {"data": "data/digits.csv", "standardize": False, "one_hot": True, "rows": 200,
         "hidden": [16, 16], "activation": "tanh", "init_seed": 5},
    ]
    failures = sum(check(cfg) for cfg in cfgs)
    sys.exit(1 if failures else 0)


def check(cfg):
    """Number of failed comparisons for one network; prints one line."""
    model = Mlp.from_cfg(cfg)
    rng = np.random.default_rng(1)
    M = 5
    theta = model.theta0 + 0.3 * rng.standard_normal((M, model.d))
    f = mlp_forward(model.shapes, "tanh")

    def jloss(t, Xs, ys):
        r = f(t, Xs) - ys
        return 0.5 * jnp.sum(r * r) / r.shape[0]

    failures = 0
    # Full batch.
    F, g = model.loss_and_grad(theta)
    for m in range(M):
        jF, jg = jax.value_and_grad(jloss)(jnp.asarray(theta[m]), model.X, model.y)
        failures += not np.allclose(F[m], jF, rtol=1e-13, atol=0)
        failures += not np.allclose(g[m], jg, rtol=1e-11, atol=1e-14)
    # Minibatches, different rows per trajectory.
    idx = rng.integers(0, model.X.shape[0], size=(M, 4))
    Fb, gb = model.loss_and_grad(theta, model.X[idx], model.y[idx])
    for m in range(M):
        jF, jg = jax.value_and_grad(jloss)(jnp.asarray(theta[m]), model.X[idx[m]], model.y[idx[m]])
        failures += not np.allclose(Fb[m], jF, rtol=1e-13, atol=0)
        failures += not np.allclose(gb[m], jg, rtol=1e-11, atol=1e-14)
    # Finite differences on trajectory 0, a sample of coordinates (h = 1e-6: error ~1e-9 relative).
    h = 1e-6
    worst = 0.0
    for i in rng.choice(model.d, size=60, replace=False):
        tp, tm = theta[:1].copy(), theta[:1].copy()
        tp[0, i] += h
        tm[0, i] -= h
        fd = (model.loss(tp)[0] - model.loss(tm)[0]) / (2 * h)
        worst = max(worst, abs(fd - g[0, i]) / max(1.0, abs(g[0, i])))
    failures += worst > 1e-7
    views = model.views(theta)
    failures += not all(np.shares_memory(W, theta) and np.shares_memory(b, theta) for W, b in views)
    print(f"d = {model.d}, {model.y.shape[1]} output(s): numpy backward vs jax.grad (full batch and minibatch) and finite "
          f"differences (worst relative {worst:.1e}): {'ok' if failures == 0 else f'{failures} FAILED'}")
    return failures


if __name__ == "__main__":
    main()
