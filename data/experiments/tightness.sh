#!/usr/bin/env bash
# How tight is δ where exits are rare, in one command (docs/tightness.md):
#
#     data/experiments/tightness.sh
#
# Splitting (--estimator ams) against σ on the 1-D quadratic (ml noise, Rademacher Z: exact
# references in scripts/reference/rare_exit_values.txt) and on the ring in d = 10 (ml noise),
# and against the radius r on the ring; on the shipped network (ml noise) against σ, and the
# bound of the same network where its step is small enough for the theorem. Writes the CSVs into $TIGHTNESS_OUT (default
# target/tightness/, gitignored) and the figures, P(exit) and δ on one log axis, into
# docs/figures/. Fixed seeds: the numbers are the same on every machine and thread count (only
# elapsed_s differs). A few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=${TIGHTNESS_OUT:-target/tightness}
FIG=docs/figures
DPI=${TIGHTNESS_DPI:-90}
LOJASIM=./target/release/lojasim
PLOT="python3 scripts/plot.py"

say() { printf '\n== %s\n' "$*"; }
run() { printf '+ %s\n' "$*"; "$@"; }

mkdir -p "$OUT" "$FIG"
say "build lojasim (release)"
run cargo build --release --quiet
start=$(date +%s)

AMS=(--estimator ams --replicas 100 --seed 0 --quiet --force)

say "1-D quadratic F = t²/2 from t0 = 0.3, r = 0.3, η = 0.05, K = 200: P(exit) from 1e-3 to 1e-12"
run $LOJASIM sweep --problem quadratic --dim 1 --theta0 0.3 --radius 0.3 --noise ml \
    --noise-dist rademacher --eta 0.05 --steps 200 --sigma 3.7,4.4,5.8,8,11 "${AMS[@]}" \
    --out "$OUT/quadratic-sigma.csv"
run $PLOT sweep "$OUT/quadratic-sigma.csv" --x sigma --dpi "$DPI" --out "$FIG/tightness-quadratic-sigma"

say "ring F = ¼(|θ|² − 1)², d = 10, θ0 = 0.3225·(1, …, 1), r = 0.3, η = 0.01, K = 1000"
run $LOJASIM sweep --problem ring --dim 10 --noise ml --eta 0.01 --steps 1000 \
    --sigma 370,470,700,1500 "${AMS[@]}" --out "$OUT/ring-sigma.csv"
run $PLOT sweep "$OUT/ring-sigma.csv" --x sigma --dpi "$DPI" --out "$FIG/tightness-ring-sigma"
run $LOJASIM sweep --problem ring --dim 10 --noise ml --eta 0.01 --steps 1000 --sigma 700 \
    --radius 0.25,0.3,0.35,0.4 "${AMS[@]}" --out "$OUT/ring-radius.csv"
run $PLOT sweep "$OUT/ring-radius.csv" --x radius --dpi "$DPI" --out "$FIG/tightness-ring-radius"

NET=(--problem mlp --noise ml --estimator ams --replicas 40 --seed 0 --quiet --force)
say "shipped network (diabetes.csv, 4 → 16 → 1, tanh, pre-trained to F ≤ 1e-4), default η and r = 0.3"
run $LOJASIM sweep "${NET[@]}" --sigma 60,65,70,85,100 --out "$OUT/network-sigma.csv"
run $PLOT sweep "$OUT/network-sigma.csv" --x sigma --dpi "$DPI" --out "$FIG/tightness-network-sigma"
say "the same network at a step small enough for ρ < 1 (η = 1e-5, σ = 1): δ for F(θ0) = 1e-4, 1e-9, 1e-10"
for loss in 1e-4 1e-9 1e-10; do
    run $LOJASIM bound --problem mlp --noise ml --sigma 1 --eta 1e-5 --init-loss $loss
done

say "done in $(( $(date +%s) - start )) s; CSVs in $OUT, figures in $FIG"
