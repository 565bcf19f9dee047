#!/usr/bin/env python3
"""The NumPy peer of lojasim (issue 5): the ensemble vectorised across trajectories.

θ is an (M, d) array whose rows are the M trajectories still in the ball; a row is dropped at the
step its trajectory leaves B(θ0, r) (or its iterate stops being finite), so only the steps lojasim
takes are executed ("useful" = "executed" here). The MLP gradient is a hand-written backward pass
batched over trajectories with matmul/einsum. Noise comes from one numpy Generator (PCG64): Z is
drawn per step for every live trajectory (ml), or B row indices per step per trajectory
(minibatch, with replacement). Prints one JSON line.

    python3 scripts/bench/numpy_peer.py --workload W1 -N 2000 -K 200
"""

import math
import time

import numpy as np

import bench_common as bc


class Quadratic:
    """F = ½ Σ a θ_i² for rows of θ."""

    def __init__(self, cfg):
        self.d = cfg["dim"]
        self.a = cfg["curvature"]
        self.theta0 = np.full(self.d, cfg["theta0"], dtype=np.float64)
        self.source = f"{cfg['theta0']} in every coordinate"

    def loss_and_grad(self, theta):
        g = self.a * theta
        return 0.5 * np.einsum("md,md->m", g, theta), g

    def loss(self, theta):
        return 0.5 * self.a * np.einsum("md,md->m", theta, theta)


class Mlp:
    """f(x; θ) with θ in lojasim's flat order, one row of θ per trajectory."""

    def __init__(self, X, y, shapes, theta0, activation, source=""):
        # Targets as (rows, outputs): a vector is one output.
        y = y[:, None] if y.ndim == 1 else y
        self.X, self.y, self.shapes, self.theta0, self.source = X, y, shapes, theta0, source
        self.d = theta0.size
        self.phi, self.dphi = bc.numpy_activation(activation)
        self.offsets = []
        off = 0
        for o, i in self.shapes:
            self.offsets.append((off, off + o * i, off + o * i + o))
            off += o * i + o

    @classmethod
    def from_cfg(cls, cfg):
        X, y, shapes, theta0, source = bc.mlp_problem(cfg)
        return cls(X, y, shapes, theta0, cfg["activation"], source)

    def views(self, theta):
        """[(W (M, out, in), b (M, out))] as views into the rows of θ (no copy)."""
        M = theta.shape[0]
        return [(theta[:, w0:w1].reshape(M, o, i), theta[:, w1:b1])
                for (o, i), (w0, w1, b1) in zip(self.shapes, self.offsets)]

    def forward(self, theta, X):
        """Pre-activations and activations; X is (rows, in) shared or (M, rows, in) per trajectory."""
        acts, zs = [X], []
        layers = self.views(theta)
        for layer, (W, b) in enumerate(layers):
            z = np.matmul(acts[-1], W.transpose(0, 2, 1)) + b[:, None, :]
            zs.append(z)
            acts.append(self.phi(z) if layer < len(layers) - 1 else z)
        return zs, acts

    def loss(self, theta, X=None, y=None):
        X, y = (self.X, self.y) if X is None else (X, y)
        _, acts = self.forward(theta, X)
        r = acts[-1] - y  # (M, rows, outputs)
        return 0.5 * np.einsum("mro,mro->m", r, r) / r.shape[1]

    def loss_and_grad(self, theta, X=None, y=None):
        """Mean per-sample loss ½‖f(x) − y‖² over the rows of X and its gradient, by
        backpropagation. y is (rows, outputs) shared, or (M, rows, outputs) per trajectory."""
        X, y = (self.X, self.y) if X is None else (X, y)
        zs, acts = self.forward(theta, X)
        r = acts[-1] - y  # (M, rows, outputs)
        rows = r.shape[1]
        F = 0.5 * np.einsum("mro,mro->m", r, r) / rows
        grad = np.empty_like(theta)
        gviews = self.views(grad)
        layers = self.views(theta)
        delta = r / rows  # ∂F/∂z of the output layer, (M, rows, outputs)
        for layer in range(len(layers) - 1, -1, -1):
            a_in = acts[layer]
            gW, gb = gviews[layer]
            # a_in is (rows, in) for the shared data matrix, (M, rows, in) otherwise.
            gW[...] = np.matmul(delta.transpose(0, 2, 1), a_in)
            gb[...] = delta.sum(axis=1)
            if layer > 0:
                W = layers[layer][0]
                delta = np.matmul(delta, W) * self.dphi(acts[layer], zs[layer - 1])
        return F, grad


def simulate(cfg, model, rng):
    K, eta, eps = cfg["K"], cfg["eta"], cfg["eps"]
    r2 = cfg["radius"] ** 2
    d = model.d
    theta = np.tile(model.theta0, (cfg["N"], 1))
    exit_sum = exited = 0
    minibatch = cfg["noise"] == "minibatch"
    if minibatch:
        B, n = cfg["batch"], model.X.shape[0]
    else:
        noise_per_loss = math.sqrt(cfg["sigma"]) / math.sqrt(d)

    for k in range(K):
        M = theta.shape[0]
        if M == 0:
            break
        if minibatch:
            idx = rng.integers(0, n, size=(M, B))
            _, g = model.loss_and_grad(theta, model.X[idx], model.y[idx])
        else:
            F, g = model.loss_and_grad(theta)
            z = rng.standard_normal((M, d))
            g += (noise_per_loss * np.sqrt(np.maximum(F, 0.0)))[:, None] * z
        theta -= eta * g
        diff = theta - model.theta0
        dist2 = np.einsum("md,md->m", diff, diff)
        left = np.isnan(dist2) | (dist2 > r2) | np.isinf(dist2)
        if left.any():
            exited += int(left.sum())
            exit_sum += int(left.sum()) * (k + 1)
            theta = theta[~left]

    final = model.loss(theta)
    stayed = theta.shape[0]
    converged = int(np.sum(final <= eps))
    return stayed, converged, exit_sum, exited, float(final.sum())


def main():
    p = bc.build_parser(__doc__.splitlines()[1])
    cfg = bc.resolve(p.parse_args())
    model = Quadratic(cfg) if cfg["problem"] == "quadratic" else Mlp.from_cfg(cfg)
    rng = np.random.default_rng(cfg["seed"])

    c0, t0 = bc.cpu_seconds(), time.perf_counter()
    stayed, converged, exit_sum, exited, final_sum = simulate(cfg, model, rng)
    seconds = time.perf_counter() - t0
    cpu_s = bc.cpu_seconds() - c0

    extra = {
        "theta0": model.source,
        "counted": "executed = useful: rows are dropped at exit; nominal = N*K",
        "rng": type(rng.bit_generator).__name__,
    }
    try:
        from threadpoolctl import threadpool_info
        extra["blas"] = [{k: i.get(k) for k in ("internal_api", "num_threads", "version")}
                         for i in threadpool_info()]
    except ImportError:
        pass
    print(bc.result_line(
        cfg, "numpy", seconds=seconds, cpu_s=cpu_s, d=model.d, stayed=stayed,
        converged=converged, exit_steps_sum=exit_sum, exited=exited, final_loss_sum=final_sum,
        extra=extra), flush=True)


if __name__ == "__main__":
    main()
