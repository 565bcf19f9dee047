#!/usr/bin/env python3
"""Writes the data sets shipped in data/ (see data/README.md).

    python3 scripts/make_data.py            # needs scikit-learn (pip install scikit-learn)

1. data/diabetes.csv: the first 48 rows of the diabetes data shipped inside scikit-learn
   (Efron, Hastie, Johnstone & Tibshirani, "Least Angle Regression", Ann. Statist. 2004), unscaled
   (`load_diabetes(scaled=False)`), features age, bmi, bp, s5 and the target `progression`.
2. data/teacher.csv: a teacher-student set, 16 rows x 8 inputs. Inputs are standard normal; the
   target is a fixed random tanh network 8 -> 4 -> 1 (weights N(0, 1/fan_in), biases 0), all drawn
   from numpy's PCG64 generator with seed 20240417. No scikit-learn needed.
3. data/digits.csv: the 1 797 8x8 handwritten digits shipped inside scikit-learn (`load_digits`,
   a copy of the test set of the UCI "Optical Recognition of Handwritten Digits" data), 64 pixel
   columns p0 ... p63 (row-major, the integer counts 0..16 divided by 16, so in [0, 1] and exact)
   and the class `digit` (0..9).

Both are deterministic: running the script again rewrites identical files.
"""

import csv
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data")
ROWS = 48
FEATURES = ["age", "bmi", "bp", "s5"]


def fmt(x):
    # Shortest round-trip representation, so the file holds exactly the values used.
    return repr(float(x))


def diabetes():
    from sklearn.datasets import load_diabetes

    d = load_diabetes(scaled=False)
    cols = [d.feature_names.index(f) for f in FEATURES]
    with open(os.path.join(OUT, "diabetes.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(FEATURES + ["progression"])
        for i in range(ROWS):
            w.writerow([fmt(d.data[i, c]) for c in cols] + [fmt(d.target[i])])


def teacher():
    rng = np.random.Generator(np.random.PCG64(20240417))
    n, p, h = 16, 8, 4
    x = rng.standard_normal((n, p))
    w1 = rng.standard_normal((h, p)) / np.sqrt(p)
    w2 = rng.standard_normal((1, h)) / np.sqrt(h)
    y = (w2 @ np.tanh(w1 @ x.T)).ravel()
    with open(os.path.join(OUT, "teacher.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([f"x{j + 1}" for j in range(p)] + ["y"])
        for i in range(n):
            w.writerow([fmt(v) for v in x[i]] + [fmt(y[i])])


def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    with open(os.path.join(OUT, "digits.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([f"p{j}" for j in range(d.data.shape[1])] + ["digit"])
        for x, y in zip(d.data, d.target):
            # Integer counts 0..16, scaled to [0, 1]: k/16 is exact in binary and in decimal.
            assert all(v == int(v) for v in x)
            w.writerow([fmt(v / 16) if v % 16 else str(int(v // 16)) for v in x] + [int(y)])


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    diabetes()
    teacher()
    digits()
