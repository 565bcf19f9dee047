#!/usr/bin/env python3
"""Writes data/bench200.csv: the 200-row, 5-feature regression set of the constants benchmark.

    python3 scripts/bench/make_constants_data.py

Inputs x ~ N(0, I_5); target y = w2^T tanh(W1 x) + 0.1 * noise from a fixed random teacher
5 -> 8 -> 1 (weights N(0, 1/fan_in)), all from numpy's PCG64 generator with seed 20261203.
Deterministic: rerunning it rewrites identical bytes.
"""

import csv
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "data", "bench200.csv")
ROWS, FEATURES, HIDDEN = 200, 5, 8


def main():
    rng = np.random.Generator(np.random.PCG64(20261203))
    x = rng.standard_normal((ROWS, FEATURES))
    w1 = rng.standard_normal((HIDDEN, FEATURES)) / np.sqrt(FEATURES)
    w2 = rng.standard_normal(HIDDEN) / np.sqrt(HIDDEN)
    y = np.tanh(x @ w1.T) @ w2 + 0.1 * rng.standard_normal(ROWS)
    with open(OUT, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([f"x{j + 1}" for j in range(FEATURES)] + ["y"])
        for row, target in zip(x, y):
            w.writerow([repr(float(v)) for v in row] + [repr(float(target))])


if __name__ == "__main__":
    main()
