#!/usr/bin/env python3
"""Times the start-up phases of two binaries side by side, interleaved, on the 200-row case.

    python3 scripts/bench/make_constants_data.py          # data/bench200.csv (fixed seed)
    git worktree add /tmp/lojasim-base <old-rev>          # the old binary, once
    cargo build --release --manifest-path /tmp/lojasim-base/Cargo.toml
    cargo build --release
    python3 scripts/bench/constants_bench.py --old /tmp/lojasim-base/target/release/lojasim \
        --new target/release/lojasim [--repeats 5] [--threads 1,2] [--phase constants|pretrain]

The case: the 200-row, 5-feature CSV, a 5 -> 32 -> 32 -> 1 tanh network (d = 1281), radius 0.3,
the default 64 + 64 points and ML noise.
- `--phase constants` (the default) times `lojasim constants` at the LeCun initialisation
  (--init-steps 0, so pre-training is not timed), wall clock of the whole command;
- `--phase pretrain` times pre-training to the default start (`lojasim run` with the default
  --init-loss and its cap, 64 trajectories x 100 steps), as the `pre-training` time the summary's
  `elapsed` line reports. Runs alternate old/new so that the machine's drift hits both;
each prints min, median and max wall time over the repeats, and the ratio of the medians with
the range min(old)/max(new) .. max(old)/min(new).
"""

import argparse
import os
import re
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "data", "bench200.csv")
FLAGS = {
    "constants": ["constants", "--problem", "mlp", "--data", DATA, "--hidden", "32,32",
                  "--init-steps", "0"],
    "pretrain": ["run", "--problem", "mlp", "--data", DATA, "--hidden", "32,32",
                 "--trajectories", "64", "--steps", "100"],
}


def once(binary, threads, phase):
    command = [binary, *FLAGS[phase], "--threads", str(threads)]
    if phase == "constants":
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    m = re.search(r"pre-training ([0-9.]+) s", out)
    if m is None:
        raise SystemExit(f"{binary}: no 'pre-training N s' in the summary")
    return float(m.group(1))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--old", required=True)
    p.add_argument("--new", required=True)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--phase", choices=sorted(FLAGS), default="constants")
    a = p.parse_args()
    if a.repeats < 3:
        p.error("--repeats must be >= 3 to show a spread")
    print(f"{'threads':>7}  {'old min/median/max (s)':>24}  {'new min/median/max (s)':>24}  "
          f"{'old/new median [range]':>24}")
    for threads in [int(t) for t in a.threads.split(",")]:
        old, new = [], []
        for _ in range(a.repeats):
            old.append(once(a.old, threads, a.phase))
            new.append(once(a.new, threads, a.phase))
        fmt = lambda v: f"{min(v):.2f}/{statistics.median(v):.2f}/{max(v):.2f}"
        ratio = statistics.median(old) / statistics.median(new)
        print(f"{threads:>7}  {fmt(old):>24}  {fmt(new):>24}  "
              f"{ratio:>8.1f} [{min(old) / max(new):.1f}, {max(old) / min(new):.1f}]")


if __name__ == "__main__":
    main()
