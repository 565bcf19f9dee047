#!/usr/bin/env python3
"""Exit 0 if two lojasim sweep CSVs hold the same rows, comparing every column but the times.

usage: same_rows.py EXPECTED.csv ACTUAL.csv

The times (elapsed_s and the phases' init_s, constants_s, total_s) are wall-clock seconds, the only
columns that vary between identical runs (README.md, CSV columns), so they are left out; every
other cell must be the same text. On a difference, prints
which file, row, config_id and columns differ, and exits 1.
"""

import csv
import sys

IGNORED = {"elapsed_s", "init_s", "constants_s", "total_s"}


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        sys.exit(f"error: {path} is empty")
    return rows[0], rows[1:]


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    expected_path, actual_path = argv[1], argv[2]
    header, expected = read(expected_path)
    actual_header, actual = read(actual_path)
    if actual_header != header:
        print(f"error: {actual_path} has another header than {expected_path}:\n"
              f"  {','.join(actual_header)}\n  {','.join(header)}", file=sys.stderr)
        return 1
    if len(actual) != len(expected):
        print(f"error: {actual_path} has {len(actual)} rows, {expected_path} {len(expected)}",
              file=sys.stderr)
        return 1
    compared = [i for i, name in enumerate(header) if name not in IGNORED]
    id_col = header.index("config_id") if "config_id" in header else None
    bad = 0
    for n, (want, got) in enumerate(zip(expected, actual), start=2):
        diff = [header[i] for i in compared if want[i] != got[i]]
        if diff:
            bad += 1
            where = f"line {n}" + (f" (config_id {want[id_col]})" if id_col is not None else "")
            cells = "; ".join(f"{c}: {want[header.index(c)]!r} vs {got[header.index(c)]!r}"
                              for c in diff)
            print(f"error: {actual_path} {where} differs from {expected_path} in {cells}",
                  file=sys.stderr)
    if bad:
        return 1
    print(f"same rows: {actual_path} = {expected_path} ({len(expected)} rows, "
          f"{len(compared)} columns compared, the times left out)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
