#!/usr/bin/env python3
"""Runs lojasim and the JAX and NumPy peers on the same workloads, on the same machine, in one go,
and prints steps per second, the ratios lojasim/JAX and lojasim/NumPy, and each program's stay
and converge estimates with 95 % Wilson intervals and whether they agree.

Agreement: the streams differ, so the estimates are compared statistically — a two-sided pooled
two-proportion z-test at level 0.01 (--level) of the peer's count against lojasim's; "agree" means
it does not reject. Whether the two 95 % Wilson intervals overlap is printed as well.

Steps per second are "useful" steps (Σ over trajectories of the steps actually taken: K, or the
exit step) over wall time of the simulation, excluding lojasim's start-up and JAX's compilation;
nominal N·K per second is in the JSON. The ratio uses useful steps/s.

Usually started through compare.sh (which builds lojasim first):

    scripts/bench/compare.sh                              # W1, W2, W3 at their full sizes
    scripts/bench/compare.sh --workloads W1 -N 2000 -K 200 # quick cross-check
    scripts/bench/compare.sh --cpus 0                      # everything pinned to CPU 0, 1 thread
"""

import argparse
import csv
import io
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_common as bc

PYTHON = sys.executable
# A row of a large network carries long fields (its θ0 file's contents in the config echo).
csv.field_size_limit(sys.maxsize)


# ----------------------------------------------------------------------------------------------
# lojasim's flags for a workload: adjust here when the CLI changes.

def lojasim_flags(w, threads):
    """`lojasim run` flags for the (effective) workload `w`."""
    f = ["--problem", w["problem"], "--noise", w["noise"],
         "--eta", repr(w["eta"]), "--radius", repr(w["radius"]), "--eps", repr(w["eps"]),
         "--trajectories", str(w["trajectories"]), "--steps", str(w["steps"]),
         "--seed", str(w.get("seed", 0)), "--threads", str(threads)]
    if w["problem"] == "quadratic":
        f += ["--dim", str(w["dim"]), "--curvature", repr(w["curvature"]),
              "--theta0", repr(w["theta0"])]
    else:
        f += network_flags(w) + ["--theta0-file", w["theta0_file"]]
    if "alpha" in w and "c_l" in w:
        # Given constants: the run is the simulation alone, as the peers' is.
        f += ["--alpha", repr(w["alpha"]), "--c-l", repr(w["c_l"])]
    if w["noise"] == "ml":
        f += ["--sigma", repr(w["sigma"]), "--noise-dist", "gaussian"]
    elif w["noise"] == "minibatch":
        f += ["--batch", str(w["batch"]), "--batch-mode", "with-replacement"]
        if "sigma" in w:
            # Given σ: no estimate of the minibatch noise's σ before the run.
            f += ["--sigma", repr(w["sigma"])]
    return f + ["--out", "-", "--quiet"]


def lojasim_init_flags(w, out):
    """`lojasim init` flags writing the θ0 of an MLP workload to `out`."""
    return ["--problem", "mlp"] + network_flags(w) + [
        "--init-seed", str(w["init_seed"]), "--init-steps", str(w["init_steps"]),
        "--init-eta", repr(w["init_eta"]), "--out", out, "--force"]


def network_flags(w):
    """The data and network flags of an MLP workload, shared by `run` and `init`."""
    f = ["--data", w["data"], "--hidden", ",".join(map(str, w["hidden"])),
         "--activation", w["activation"], "--standardize", "true" if w["standardize"] else "false"]
    if w.get("one_hot"):
        f.append("--one-hot")
    if w.get("rows"):
        f += ["--rows", str(w["rows"])]
    return f

# ----------------------------------------------------------------------------------------------


def two_proportion_p(x1, n1, x2, n2):
    """Two-sided p-value of the pooled two-proportion z-test (1 when both are all-0 or all-n)."""
    pooled = (x1 + x2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if var == 0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / math.sqrt(var)
    return math.erfc(abs(z) / math.sqrt(2))


VERBOSE = False


def run_child(cmd, env=None):
    """(stdout, wall seconds, CPU seconds of the child, all its threads)."""
    if VERBOSE:
        print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc.stdout, wall, cpu


def lojasim_capabilities(binary):
    top = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    run = subprocess.run([binary, "run", "--help"], capture_output=True, text=True).stdout
    return {"init": "\n  init" in top, "mlp": "mlp" in run, "minibatch": "minibatch" in run}


def run_lojasim(binary, w, threads, prefix):
    stdout, wall, cpu = run_child(prefix + [binary, "run"] + lojasim_flags(w, threads))
    row = next(csv.DictReader(io.StringIO(stdout)))
    K, N = int(row["steps"]), int(row["trajectories"])
    stayed, exited = int(row["stay_count"]), int(row["exit_count"])
    mean_exit = float(row["mean_exit_step"]) if row["mean_exit_step"] else 0.0
    useful = stayed * K + round(exited * mean_exit)
    seconds = float(row["elapsed_s"])
    return {
        "peer": "lojasim", "N": N, "K": K, "seconds": seconds,
        "useful_steps": useful, "nominal_steps": N * K,
        "steps_per_s_useful": useful / seconds, "steps_per_s_nominal": N * K / seconds,
        "stay_count": stayed, "converge_count": int(row["converge_count"]),
        "process_wall_s": wall, "cores_busy": cpu / wall, "version": row["version"],
        "threads_flag": threads,
    }


PEERS = {
    # name: (script, extra flags given the number of CPUs)
    "jax": ("jax_peer.py", lambda ncpu: []),
    "jax-sharded": ("jax_peer.py", lambda ncpu: ["--cpu-devices", str(ncpu)]),
    "numpy": ("numpy_peer.py", lambda ncpu: []),
}


def run_peer(peer, name, workloads_file, seed, ncpu, prefix, env):
    script, extra = PEERS[peer]
    cmd = prefix + [PYTHON, str(bc.HERE / script), "--workload", name,
                    "--workloads-file", workloads_file, "--seed", str(seed)] + extra(ncpu)
    stdout, wall, _ = run_child(cmd, env=env)
    out = json.loads(stdout.strip().splitlines()[-1])
    out["peer"] = peer
    out["process_wall_s"] = wall
    return out


def fmt_rate(x):
    return f"{x / 1e6:8.3f}M" if x >= 1e6 else f"{x / 1e3:8.1f}k"


def fmt_est(count, n):
    lo, hi = bc.wilson(count, n)
    return f"{count / n:.4f} [{lo:.4f}, {hi:.4f}]"


def mlp_step_flops(w, data_path):
    """Flops of one full-batch step of one trajectory, as docs/performance.md counts them: a
    multiply–add is 2 flops; per row, the forward products Σ w_l·w_{l+1}, the weight gradients
    as many, and δ back through every weight matrix but the first (not into the inputs; with one
    output not through the last either, a scalar times a vector); biases, activations, noise and
    the update left out. None for minibatch workloads."""
    if w["problem"] != "mlp" or w["noise"] != "ml":
        return None
    X, Y = bc.load_csv(data_path, False, w.get("one_hot", False), w.get("rows"))
    n, inputs, outputs = X.shape[0], X.shape[1], Y.shape[1]
    widths = [inputs] + list(w["hidden"]) + [outputs]
    pairs = [widths[i] * widths[i + 1] for i in range(len(widths) - 1)]
    back = pairs[1:] if outputs > 1 else pairs[1:-1]
    macs = 2 * sum(pairs) + sum(back)
    return 2 * macs * n


def measure_fma_peak(threads, prefix):
    """GFLOP/s from `cargo bench --bench fma_peak -- THREADS` (benches/fma_peak.rs), or None on
    a CPU without AVX2 + FMA (the bench then has nothing to measure)."""
    cmd = prefix + ["cargo", "bench", "--quiet", "--bench", "fma_peak", "--", str(threads)]
    if VERBOSE:
        print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=bc.REPO)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr.strip()}")
    line = next((x for x in proc.stdout.splitlines() if x.startswith("float64 FMA peak")), None)
    return None if line is None else float(line.split(": ")[1].split(" GFLOP/s")[0])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", default="W1,W2,W3")
    p.add_argument("--peers", default="jax,jax-sharded,numpy",
                   help="jax: plain jit(vmap) (what the issue names); jax-sharded: the same jit with "
                   "the trajectories split over one XLA CPU device per CPU; numpy")
    p.add_argument("-N", "--trajectories", type=int, help="override N of every workload")
    p.add_argument("-K", "--steps", type=int, help="override K of every workload")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a workloads.json entry for every workload (JSON value), e.g. radius=0.6")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cpus", help="pin every program to these CPUs (taskset -c LIST); lojasim "
                   "--threads and the BLAS/OpenMP thread counts follow the number of CPUs")
    p.add_argument("--lojasim", default=str(bc.REPO / "target" / "release" / "lojasim"))
    p.add_argument("--level", type=float, default=0.01, help="level of the agreement z-test")
    p.add_argument("--json-out", help="also write every result as JSON lines to this file")
    p.add_argument("--workdir", help="where θ0 files and stand-ins go (default: a temp dir)")
    p.add_argument("--no-peak", action="store_true",
                   help="skip measuring the FMA peak (benches/fma_peak.rs) after network ml runs")
    p.add_argument("-v", "--verbose", action="store_true", help="print every command run (stderr)")
    a = p.parse_args()
    global VERBOSE
    VERBOSE = a.verbose

    names = a.workloads.split(",")
    peers = [x for x in a.peers.split(",") if x]
    for peer in peers:
        if peer not in PEERS:
            sys.exit(f"error: --peers: unknown peer {peer!r} (known: {', '.join(PEERS)})")
    workloads = bc.load_workloads()
    workdir = Path(a.workdir or tempfile.mkdtemp(prefix="lojasim-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    caps = lojasim_capabilities(a.lojasim)

    prefix, env = [], dict(os.environ)
    ncpu = len(os.sched_getaffinity(0))
    threads = 0
    if a.cpus:
        if not shutil.which("taskset"):
            sys.exit("error: --cpus needs taskset (util-linux)")
        prefix = ["taskset", "-c", a.cpus]
        out = subprocess.run(prefix + [PYTHON, "-c", "import os; print(len(os.sched_getaffinity(0)))"],
                             capture_output=True, text=True, check=True).stdout
        ncpu = threads = int(out)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(ncpu)

    cpu_model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                      if line.startswith("model name")), platform.processor())
    load = os.getloadavg()[0]
    print(f"machine: {cpu_model}, {ncpu} CPU(s) used{' (taskset -c ' + a.cpus + ')' if a.cpus else ''}; "
          f"load average {load:.2f}{'  (NOT quiet: timings are indicative only)' if load > 0.5 else ''}")
    print(f"lojasim: {a.lojasim} --threads {threads} (0 = one per CPU); jax: XLA's own thread pool; "
          f"jax-sharded: {ncpu} XLA CPU device(s); numpy: elementwise single-threaded, BLAS {ncpu} thread(s)")

    results, standin = [], None
    for name in names:
        w = dict(workloads[name])
        w["seed"] = a.seed
        if a.trajectories:
            w["trajectories"] = a.trajectories
        if a.steps:
            w["steps"] = a.steps
        for item in a.set:
            key, _, value = item.partition("=")
            w[key] = json.loads(value)
        notes = []
        run_loja = True
        if w["problem"] == "mlp":
            data = bc.REPO / w["data"]
            if not data.exists():
                if standin is None:
                    subprocess.run([PYTHON, str(bc.HERE / "standin.py"), "--out-dir", str(workdir / "standin")],
                                   check=True, capture_output=True)
                    standin = workdir / "standin"
                data = standin / ("teacher.csv" if name == "W2" else "real.csv")
                notes.append(f"{w['data']} missing: stand-in data {data.name}")
            w["data"] = str(data)
            theta0 = workdir / f"theta0_{name}.txt"
            if caps["init"] and caps["mlp"]:
                run_child([a.lojasim, "init"] + lojasim_init_flags(w, str(theta0)))
                notes.append("θ0 from lojasim init")
            else:
                if standin is None:
                    subprocess.run([PYTHON, str(bc.HERE / "standin.py"), "--out-dir", str(workdir / "standin")],
                                   check=True, capture_output=True)
                    standin = workdir / "standin"
                shutil.copy(standin / f"theta0_{name}.txt", theta0)
                notes.append("stand-in θ0 (lojasim has no init)")
            w["theta0_file"] = str(theta0)
            if not caps["mlp"] or (w["noise"] == "minibatch" and not caps["minibatch"]):
                run_loja = False
                notes.append("lojasim lacks --problem mlp / --noise minibatch: not run")
        wfile = workdir / f"workloads_{name}.json"
        peer_w = {k: v for k, v in w.items() if k != "seed"}
        wfile.write_text(json.dumps({name: peer_w}, indent=1))

        row = {"workload": name, "notes": notes, "runs": []}
        if run_loja:
            r = run_lojasim(a.lojasim, w, threads, prefix)
            r["workload"] = name
            row["runs"].append(r)
            flops = mlp_step_flops(w, w.get("data"))
            if flops is not None and not a.no_peak:
                # Measured right after the run, on as many threads, so that the clock is the one
                # the run saw (a guest's TSC frequency is not its cores' clock).
                peak = measure_fma_peak(threads or ncpu, prefix)
                gflops = r["steps_per_s_useful"] * flops / 1e9
                r.update(flops_per_step=flops, gflops=gflops, fma_peak_gflops=peak)
                note = f"lojasim: {flops} flops per step, {gflops:.1f} GFLOP/s"
                if peak is None:
                    note += " (no AVX2 + FMA: no peak measured)"
                else:
                    r["fraction_of_peak"] = gflops / peak
                    note += (f" = {100 * gflops / peak:.1f} % of the FMA peak measured just after "
                             f"({peak:.1f} GFLOP/s)")
                row["notes"].append(note)
        for peer in peers:
            if peer == "jax-sharded" and (ncpu == 1 or w["trajectories"] % ncpu):
                row["notes"].append(f"jax-sharded skipped ({ncpu} CPU(s), N = {w['trajectories']})")
                continue
            row["runs"].append(run_peer(peer, name, str(wfile), a.seed, ncpu, prefix, env))
        results.append(row)
        print_workload(row, w, a.level)

    if a.json_out:
        with open(a.json_out, "w") as f:
            for row in results:
                for r in row["runs"]:
                    f.write(json.dumps(r) + "\n")
    print(f"\nagree = two-sided pooled two-proportion z-test vs lojasim does not reject at level "
          f"{a.level}; overlap = the 95 % Wilson intervals intersect. Work files: {workdir}")


def print_workload(row, w, level):
    name = row["workload"]
    print(f"\n{name}: {w['problem']}, noise {w['noise']}, eta {w['eta']}, radius {w['radius']}, "
          f"N {w['trajectories']}, K {w['steps']}" + "".join(f"; {n}" for n in row["notes"]))
    header = (f"  {'program':11} {'useful/s':>10} {'nominal/s':>10} {'seconds':>8} {'cores':>5} "
              f"{'loja/x':>7}  {'P(stay) [Wilson 95%]':26} {'P(converge) [Wilson 95%]':26} agree")
    print(header)
    loja = next((r for r in row["runs"] if r["peer"] == "lojasim"), None)
    for r in row["runs"]:
        N = r["N"]
        ratio = agree = ""
        if loja is not None and r is not loja:
            ratio = f"{loja['steps_per_s_useful'] / r['steps_per_s_useful']:7.1f}"
            verdicts = []
            for key in ("stay_count", "converge_count"):
                pv = two_proportion_p(r[key], N, loja[key], loja["N"])
                lo1, hi1 = bc.wilson(r[key], N)
                lo2, hi2 = bc.wilson(loja[key], loja["N"])
                overlap = lo1 <= hi2 and lo2 <= hi1
                verdicts.append(f"{'yes' if pv >= level else 'NO'} (p={pv:.2g}{', overlap' if overlap else ', no overlap'})")
                r[f"{key[:-6]}_agree_p"] = pv
            agree = " / ".join(verdicts)
        print(f"  {r['peer']:11} {fmt_rate(r['steps_per_s_useful']):>10} {fmt_rate(r['steps_per_s_nominal']):>10} "
              f"{r['seconds']:8.3f} {r['cores_busy']:5.2f} {ratio:>7}  {fmt_est(r['stay_count'], N):26} "
              f"{fmt_est(r['converge_count'], N):26} {agree}")


if __name__ == "__main__":
    main()
