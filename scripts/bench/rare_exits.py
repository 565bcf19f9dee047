#!/usr/bin/env python3
"""Rare exits: what splitting costs against crude Monte Carlo, and how the cost grows with -log p.

For each case, lojasim's splitting estimator runs to a relative half-width of 10 % (95 %,
`run --estimator ams --target-relative-error 0.1`); crude Monte Carlo runs a fixed number of
trajectories of the same setting, side by side in the same repeat, to measure its rate. The time
crude Monte Carlo would need for the same relative half-width is (1.96/0.1)^2 (1 - p)/p
trajectories at that rate; where it sees exits, its estimate is printed beside splitting's. Each repeat runs every case once; the table gives the median and the
range over repeats. Exact values (scripts/reference/rare_exit_values.txt) are printed where they
exist, with whether the interval covers them.

    python3 scripts/bench/rare_exits.py                 # every case, 3 repeats
    python3 scripts/bench/rare_exits.py --repeats 1 --cases quad-1e-9,ring-1e-9

Builds lojasim in release first (cargo build --release --quiet) unless --bin is given.
"""

import argparse
import csv
import io
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

QUAD = [
    "--problem", "quadratic", "--dim", "1", "--theta0", "0.3", "--radius", "0.3",
    "--noise", "ml", "--noise-dist", "rademacher", "--eta", "0.05", "--steps", "200",
]
RING = ["--problem", "ring", "--dim", "10", "--noise", "ml", "--eta", "0.01", "--steps", "1000"]

# name, flags, exact P(exit) or None, crude-MC trajectories for the rate
CASES = [
    ("quad-1e-3", QUAD + ["--sigma", "11"], 1.3288591092003707e-03, 200_000),
    ("quad-1e-6", QUAD + ["--sigma", "5.8"], 1.0279216209651112e-06, 200_000),
    ("quad-1e-9", QUAD + ["--sigma", "4.4"], 1.4615335200915291e-09, 200_000),
    ("quad-1e-12", QUAD + ["--sigma", "3.7"], 2.1282290600555798e-12, 200_000),
    ("ring-1e-3", RING + ["--sigma", "1500"], None, 200_000),
    ("ring-1e-6", RING + ["--sigma", "700"], None, 20_000),
    ("ring-1e-9", RING + ["--sigma", "470"], None, 20_000),
    ("ring-1e-12", RING + ["--sigma", "370"], None, 20_000),
]

Z95 = 1.959963984540054
TARGET = 0.1


def run_row(binary, flags):
    """Runs lojasim with --out -, returns the CSV row (dict) and the wall-clock seconds."""
    start = time.perf_counter()
    out = subprocess.run(
        [binary, "run", *flags, "--quiet", "--out", "-"],
        check=True, capture_output=True, text=True,
    ).stdout
    seconds = time.perf_counter() - start
    rows = list(csv.DictReader(io.StringIO(out)))
    if len(rows) != 1:
        sys.exit(f"rare_exits: expected one CSV row from lojasim, got {len(rows)}")
    return rows[0], seconds


def median_range(values, fmt):
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", help="lojasim binary (default: build target/release/lojasim)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cases", help="comma-separated subset of: " + ",".join(c[0] for c in CASES))
    args = ap.parse_args()
    if args.repeats < 1:
        sys.exit("rare_exits: --repeats must be >= 1")
    cases = CASES
    if args.cases:
        wanted = args.cases.split(",")
        unknown = set(wanted) - {c[0] for c in CASES}
        if unknown:
            sys.exit(f"rare_exits: unknown --cases {sorted(unknown)}")
        cases = [c for c in CASES if c[0] in wanted]
    binary = args.bin
    if binary is None:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
        binary = str(REPO / "target/release/lojasim")

    results = {name: [] for name, *_ in cases}
    for _ in range(args.repeats):
        for name, flags, exact, mc_n in cases:
            ams, t_ams = run_row(binary, flags + [
                "--estimator", "ams", "--target-relative-error", str(TARGET),
            ])
            mc, t_mc = run_row(binary, flags + ["--trajectories", str(mc_n)])
            results[name].append((ams, t_ams, mc_n / t_mc, mc))

    print("| case | exact | P(exit) [95 %] | covers | replicas × paths | levels/replica "
          "| splitting s | crude MC P(exit) [95 %] | crude MC traj/s | crude MC to 10 % | crude / splitting |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, flags, exact, _ in cases:
        runs = results[name]
        ams = runs[0][0]
        mc = runs[0][3]
        mc_cell = f"{int(mc['exit_count']):,} of {int(mc['trajectories']):,}"
        if int(mc["exit_count"]) > 0:
            mc_cell += f": {float(mc['exit_p']):.3e} [{float(mc['exit_lo']):.3e}, {float(mc['exit_hi']):.3e}]"
        p, lo, hi = (float(ams[k]) for k in ("exit_p", "exit_lo", "exit_hi"))
        met = ams["target_met"]
        times = [r[1] for r in runs]
        rates = [r[2] for r in runs]
        crude_traj = (Z95 / TARGET) ** 2 * (1 - p) / p
        crude_s = [crude_traj / rate for rate in rates]
        ratios = [c / t for c, t in zip(crude_s, times)]
        covers = "" if exact is None else ("yes" if lo <= exact <= hi else "NO")
        print(
            f"| {name} | {'' if exact is None else f'{exact:.4e}'} "
            f"| {p:.4e} [{lo:.3e}, {hi:.3e}]{'' if met == 'true' else ' (target not met)'} "
            f"| {covers} | {ams['replicas']} × {ams['particles']} "
            f"| {float(ams['ams_iterations_mean']):.0f} "
            f"| {median_range(times, lambda x: f'{x:.1f}')} "
            f"| {mc_cell} "
            f"| {median_range(rates, lambda x: f'{x:,.0f}')} "
            f"| {crude_traj:.2e} traj = {median_range(crude_s, lambda x: f'{x:.1e}')} s "
            f"| {median_range(ratios, lambda x: f'{x:.1e}')} |"
        )
    print()
    print(f"command: python3 scripts/bench/rare_exits.py --repeats {args.repeats}"
          + (f" --cases {args.cases}" if args.cases else "")
          + f"; rows of the first repeat; times are wall-clock, median (range) over repeats")


if __name__ == "__main__":
    main()
