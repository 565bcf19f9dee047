#!/usr/bin/env python3
"""Times `lojasim constants` of two binaries side by side, interleaved, on the 200-row case.

    python3 scripts/bench/make_constants_data.py          # data/bench200.csv (fixed seed)
    git worktree add /tmp/lojasim-base <old-rev>          # the old binary, once
    cargo build --release --manifest-path /tmp/lojasim-base/Cargo.toml
    cargo build --release
    python3 scripts/bench/constants_bench.py --old /tmp/lojasim-base/target/release/lojasim \
        --new target/release/lojasim [--repeats 5] [--threads 1,2]

The case: the 200-row, 5-feature CSV, a 5 -> 32 -> 32 -> 1 tanh network (d = 1281) at its
LeCun initialisation (--init-steps 0, so pre-training is not timed), radius 0.3, the default
64 + 64 points and ML noise. Runs alternate old/new so that the machine's drift hits both;
each prints min, median and max wall time over the repeats, and the ratio of the medians with
the range min(old)/max(new) .. max(old)/min(new).
"""

import argparse
import os
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "data", "bench200.csv")
FLAGS = ["constants", "--problem", "mlp", "--data", DATA, "--hidden", "32,32",
         "--init-steps", "0"]


def once(binary, threads):
    start = time.perf_counter()
    subprocess.run([binary, *FLAGS, "--threads", str(threads)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--old", required=True)
    p.add_argument("--new", required=True)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", default="1,2")
    a = p.parse_args()
    if a.repeats < 3:
        p.error("--repeats must be >= 3 to show a spread")
    print(f"{'threads':>7}  {'old min/median/max (s)':>24}  {'new min/median/max (s)':>24}  "
          f"{'old/new median [range]':>24}")
    for threads in [int(t) for t in a.threads.split(",")]:
        old, new = [], []
        for _ in range(a.repeats):
            old.append(once(a.old, threads))
            new.append(once(a.new, threads))
        fmt = lambda v: f"{min(v):.2f}/{statistics.median(v):.2f}/{max(v):.2f}"
        ratio = statistics.median(old) / statistics.median(new)
        print(f"{threads:>7}  {fmt(old):>24}  {fmt(new):>24}  "
              f"{ratio:>8.1f} [{min(old) / max(new):.1f}, {max(old) / min(new):.1f}]")


if __name__ == "__main__":
    main()
