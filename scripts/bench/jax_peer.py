#!/usr/bin/env python3
"""The JAX peer of lojasim (issue 5): what a researcher would otherwise write.

jit(vmap(trajectory)) over one PRNG key per trajectory, lax.scan over the K steps, float64,
gradients by jax.value_and_grad. A trajectory that leaves the ball B(θ0, r) (or whose iterate is
not finite) is masked by an `alive` flag from then on: vmap runs every trajectory for all K steps,
so the nominal N·K steps are executed, while "useful" steps count only those lojasim takes
(K for a trajectory that stays, its exit step for one that leaves).

Compile time is excluded: the jitted function is lowered and compiled ahead of time (reported as
compile_s), called once on the same inputs as a warm-up, then timed. Prints one JSON line.

    python3 scripts/bench/jax_peer.py --workload W1 -N 2000 -K 200
"""

import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402  (x64 must be enabled before any array exists)
from jax import lax  # noqa: E402

import bench_common as bc  # noqa: E402


def mlp_forward(shapes, activation):
    """f(X; θ) for a flat θ in lojasim's order, X of shape (rows, inputs) → (rows, outputs)."""
    phi = {"tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid, "softplus": jax.nn.softplus}[activation]

    def f(theta, X):
        a, off = X, 0
        for layer, (o, i) in enumerate(shapes):
            W = theta[off:off + o * i].reshape(o, i)
            off += o * i
            b = theta[off:off + o]
            off += o
            z = a @ W.T + b
            a = phi(z) if layer < len(shapes) - 1 else z
        return a

    return f


def build(cfg):
    """(loss F, noisy gradient g(θ, key) → (g, F or None), θ0, d, description)."""
    if cfg["problem"] == "quadratic":
        d = cfg["dim"]
        a = jnp.full(d, cfg["curvature"], dtype=jnp.float64)
        theta0 = jnp.full(d, cfg["theta0"], dtype=jnp.float64)

        def loss(theta):
            return 0.5 * jnp.sum(a * theta * theta)

        source = f"{cfg['theta0']} in every coordinate"
    else:
        X, y, shapes, theta0, source = bc.mlp_problem(cfg)
        X, y, theta0 = jnp.asarray(X), jnp.asarray(y), jnp.asarray(theta0)
        d = theta0.size
        f = mlp_forward(shapes, cfg["activation"])

        def per_sample_mean_loss(theta, Xs, ys):
            # ½‖f(x) − y‖² averaged over the rows, ys of shape (rows, outputs).
            r = f(theta, Xs) - ys
            return 0.5 * jnp.sum(r * r) / r.shape[0]

        def loss(theta):
            return per_sample_mean_loss(theta, X, y)

    if cfg["noise"] == "ml":
        sigma, sqrt_d = cfg["sigma"], jnp.sqrt(float(d))
        value_and_grad = jax.value_and_grad(loss)

        def noisy_grad(theta, key):
            F, g = value_and_grad(theta)
            z = jax.random.normal(key, (d,), dtype=jnp.float64) / sqrt_d
            return g + jnp.sqrt(sigma * jnp.maximum(F, 0.0)) * z

    elif cfg["noise"] == "minibatch":
        B, n = cfg["batch"], X.shape[0]
        batch_grad = jax.grad(per_sample_mean_loss)

        def noisy_grad(theta, key):
            idx = jax.random.randint(key, (B,), 0, n)
            return batch_grad(theta, X[idx], y[idx])

    else:
        raise SystemExit(f"error: noise {cfg['noise']!r} is not a benchmark workload")
    return loss, noisy_grad, theta0, d, source


def make_run(cfg, loss, noisy_grad, theta0):
    K, eta, eps = cfg["K"], cfg["eta"], cfg["eps"]
    r2 = cfg["radius"] ** 2

    def trajectory(key):
        def step(carry, k):
            theta, alive, exit_step, key = carry
            key, sub = jax.random.split(key)
            new = theta - eta * noisy_grad(theta, sub)
            dist2 = jnp.sum((new - theta0) ** 2)
            left = jnp.isnan(dist2) | (dist2 > r2) | jnp.isinf(dist2)
            exit_step = jnp.where(alive & left, k + 1, exit_step)
            theta = jnp.where(alive & ~left, new, theta)
            return (theta, alive & ~left, exit_step, key), None

        init = (theta0, jnp.bool_(True), jnp.int64(0), key)
        (theta, alive, exit_step, _), _ = lax.scan(step, init, jnp.arange(K, dtype=jnp.int64))
        final = loss(theta)
        converged = alive & (final <= eps)
        return alive, converged, exit_step, jnp.where(alive, final, 0.0)

    @jax.jit
    def run(keys):
        alive, converged, exit_step, final = jax.vmap(trajectory)(keys)
        return (jnp.sum(alive), jnp.sum(converged), jnp.sum(exit_step),
                jnp.sum(~alive), jnp.sum(final))

    return run


def main():
    p = bc.build_parser(__doc__.splitlines()[1])
    p.add_argument("--prng-impl", default="threefry2x32", choices=["threefry2x32", "rbg", "unsafe_rbg"],
                   help="JAX's PRNG (default: JAX's own default, threefry2x32)")
    p.add_argument("--cpu-devices", type=int, default=1,
                   help="split the trajectories over this many XLA CPU devices (sharded jit; "
                   "default 1: plain jit(vmap), XLA's own thread pool)")
    p.add_argument("--no-warmup", action="store_true",
                   help="skip the warm-up call (compile is still excluded; for quick checks only)")
    cfg = bc.resolve(p.parse_args())
    jax.config.update("jax_default_prng_impl", cfg["prng_impl"])
    devices = cfg["cpu_devices"]
    if devices < 1 or cfg["N"] % devices:
        raise SystemExit(f"error: --cpu-devices must be ≥ 1 and divide N = {cfg['N']} (got {devices})")
    jax.config.update("jax_num_cpu_devices", devices)
    loss, noisy_grad, theta0, d, source = build(cfg)
    run = make_run(cfg, loss, noisy_grad, theta0)
    keys = jax.random.split(jax.random.PRNGKey(cfg["seed"]), cfg["N"])
    if devices > 1:
        from jax.sharding import NamedSharding, PartitionSpec
        mesh = jax.sharding.Mesh(jax.devices()[:devices], ("trajectories",))
        keys = jax.device_put(keys, NamedSharding(mesh, PartitionSpec("trajectories")))

    t0 = time.perf_counter()
    compiled = run.lower(keys).compile()
    compile_s = time.perf_counter() - t0
    if not cfg["no_warmup"]:
        jax.block_until_ready(compiled(keys))

    c0, t0 = bc.cpu_seconds(), time.perf_counter()
    out = jax.block_until_ready(compiled(keys))
    seconds = time.perf_counter() - t0
    cpu_s = bc.cpu_seconds() - c0

    stayed, converged, exit_sum, exited, final_sum = (x.item() for x in out)
    dev = jax.devices()[0]
    print(bc.result_line(
        cfg, "jax", seconds=seconds, cpu_s=cpu_s, d=d, stayed=int(stayed),
        converged=int(converged), exit_steps_sum=int(exit_sum), exited=int(exited),
        final_loss_sum=float(final_sum),
        extra={
            "theta0": source,
            "compile_s": compile_s,
            "warmup": not cfg["no_warmup"],
            "counted": "nominal = N*K steps executed (masked after exit); useful = steps lojasim takes",
            "jax_version": jax.__version__,
            "device": f"{dev.platform}:{getattr(dev, 'device_kind', '')}",
            "cpu_devices": devices,
            "prng_impl": str(jax.config.jax_default_prng_impl),
            "x64": bool(jax.config.jax_enable_x64),
        }), flush=True)


if __name__ == "__main__":
    main()
