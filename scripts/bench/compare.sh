#!/usr/bin/env bash
# One command for issue 5's side-by-side benchmark: builds lojasim in release, then runs lojasim,
# the JAX peer and the NumPy peer on the same workloads on this machine and prints the table.
# Flags go to compare.py (see its --help), e.g.:
#   scripts/bench/compare.sh                                # W1, W2, W3, full size
#   scripts/bench/compare.sh --workloads W1 -N 2000 -K 200  # quick W1 cross-check
#   scripts/bench/compare.sh --cpus 0                       # one CPU for every program
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
cargo build --release --quiet
# The FMA peak bench compare.py runs after network runs: built now, so that it measures right away.
if ! out="$(cargo bench --no-run --quiet --bench fma_peak 2>&1)"; then echo "$out" >&2; exit 1; fi
exec python3 scripts/bench/compare.py "$@"
