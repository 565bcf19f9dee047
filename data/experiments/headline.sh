#!/usr/bin/env bash
# The headline experiment of issue 6, in one command (see docs/headline.md):
#
#     data/experiments/headline.sh
#
# Runs lojasim on the shipped teacher–student network (mlp 8 → 16 → 1, tanh, data/teacher.csv)
# and on the ring, writes every CSV into $HEADLINE_OUT (default target/headline/, gitignored) and
# the figures into docs/figures/ (PNG). Every run has a fixed seed, so the numbers are the same on
# every machine and thread count (only elapsed_s differs). Under a minute on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=${HEADLINE_OUT:-target/headline}
FIG=docs/figures
DPI=${HEADLINE_DPI:-90}
LOJASIM=./target/release/lojasim
PLOT="python3 scripts/plot.py"

say() { printf '\n== %s\n' "$*"; }
run() { printf '+ %s\n' "$*"; "$@"; }

mkdir -p "$OUT" "$FIG"
say "build lojasim (release)"
run cargo build --release --quiet
start=$(date +%s)

# ---------------------------------------------------------------------------------------------
# The network. data/teacher.csv: 16 rows, 8 inputs, targets from a fixed 8 → 4 → 1 teacher, so
# min F = 0 exactly; the student 8 → 16 → 1 has d = 161 parameters. θ0 = the seed-0 LeCun init
# after --init-steps gradient-descent steps of size 0.12: 0, 10, …, 3000 steps give F(θ0) from
# 0.2 down to 8e-14. Ball radius r = 1 (GD from the raw init travels 0.83 in 1000 steps of 0.1, so
# a noiseless run stays in the ball from every start: exits are the noise's doing).
NET=(--problem mlp --data data/teacher.csv --hidden 16 --activation tanh --radius 1
     --steps 1000 --eps 1e-6 --trajectories 1000 --seed 1 --quiet --force)
INIT=(--init-steps 0,10,30,60,100,300,1000,3000)
# Robbins–Monro η_k = γ/(k + n0)^q with η_0 = 1.585/100^0.6 = 0.1, the constant step's size, and
# a slow decay (η_1000 = 0.024) so that GD itself still converges within K = 1000 steps.
RM=(--schedule robbins-monro --gamma 1.585 --n0 100 --q 0.6)

say "constants of the two shipped data sets (why the teacher set: docs/headline.md)"
run "$LOJASIM" constants --data data/teacher.csv --radius 1 --init-steps 300 --out "$OUT/constants-teacher.csv" --force
run "$LOJASIM" constants --init-steps 50000 --out "$OUT/constants-diabetes.csv" --force

say "(1a) network: P(stay), P(converge) against F(θ0), per noise model"
run "$LOJASIM" sweep "${NET[@]}" "${INIT[@]}" --noise ml --eta 0.1 --sigma 10,80,1000 \
    --out "$OUT/net-f0-ml.csv"
# A step small enough for ρ < 1 with the estimated constants: the only place the bound applies.
run "$LOJASIM" sweep "${NET[@]}" "${INIT[@]}" --noise ml --eta 2e-4 --sigma 1 \
    --out "$OUT/net-f0-ml-small-step.csv"
run "$LOJASIM" sweep "${NET[@]}" "${INIT[@]}" --noise bounded "${RM[@]}" --sigma 0.3,0.5 \
    --out "$OUT/net-f0-bounded-rm.csv"
run "$LOJASIM" sweep "${NET[@]}" "${INIT[@]}" --noise minibatch --eta 0.1 --batch 1,4 \
    --out "$OUT/net-f0-minibatch.csv"
run $PLOT sweep "$OUT/net-f0-ml.csv" "$OUT/net-f0-ml-small-step.csv" "$OUT/net-f0-bounded-rm.csv" \
    "$OUT/net-f0-minibatch.csv" --x f0 --dpi "$DPI" --out "$FIG/headline-f0"

say "(1b) network: P(stay), P(converge) against σ from a fixed start (300 GD steps, F(θ0) = 1.2e-4)"
SIG=(--init-steps 300 --sigma log:1e-3:1e3:13)
run "$LOJASIM" sweep "${NET[@]}" "${SIG[@]}" --noise ml --eta 0.1 --out "$OUT/net-sigma-ml.csv"
run "$LOJASIM" sweep "${NET[@]}" "${SIG[@]}" --noise bounded --eta 0.1 --out "$OUT/net-sigma-bounded.csv"
run "$LOJASIM" sweep "${NET[@]}" "${SIG[@]}" --noise bounded "${RM[@]}" --out "$OUT/net-sigma-bounded-rm.csv"
run $PLOT sweep "$OUT/net-sigma-ml.csv" "$OUT/net-sigma-bounded.csv" "$OUT/net-sigma-bounded-rm.csv" \
    --x sigma --dpi "$DPI" --out "$FIG/headline-sigma"

say "(3) network: sample paths from the same start, machine-learning vs bounded noise"
TR=(--problem mlp --data data/teacher.csv --hidden 16 --radius 1 --steps 1000 --eps 1e-6
    --init-steps 300 --trajectories 10 --seed 1 --quiet --force)
run "$LOJASIM" run "${TR[@]}" --noise ml --eta 0.1 --sigma 100 \
    --trace 10 "$OUT/trace-ml.csv" --out "$OUT/trace-ml-run.csv"
run "$LOJASIM" run "${TR[@]}" --noise bounded "${RM[@]}" --sigma 0.5 \
    --trace 10 "$OUT/trace-bounded-rm.csv" --out "$OUT/trace-bounded-rm-run.csv"
run $PLOT traces "$OUT/trace-ml.csv" --run-csv "$OUT/trace-ml-run.csv" --dpi "$DPI" \
    --out "$FIG/traces-ml"
run $PLOT traces "$OUT/trace-bounded-rm.csv" --run-csv "$OUT/trace-bounded-rm-run.csv" \
    --dpi "$DPI" --out "$FIG/traces-bounded-rm"

# ---------------------------------------------------------------------------------------------
# The ring F = ¼(|θ|² − 1)², d = 10, r = 0.3: exact constants, non-isolated minima (the unit
# sphere), and a bound that is non-vacuous near the minimum set. θ0 = c·(1, …, 1) with
# |θ0| = c·√10 = 1.005 … 1.2.
RING=(--problem ring --dim 10 --radius 0.3 --steps 1000 --eps 1e-6 --trajectories 10000 --seed 1
      --quiet --force)
THETA=(--theta0 0.3178,0.3194,0.3226,0.332,0.3479,0.3795)

say "(1c) ring: P(stay), P(converge) against F(θ0), with the bound where it applies"
run "$LOJASIM" sweep "${RING[@]}" "${THETA[@]}" --noise ml --eta 0.05 --sigma 1,10 \
    --out "$OUT/ring-f0-ml.csv"
run "$LOJASIM" sweep "${RING[@]}" "${THETA[@]}" --noise bounded --eta 0.05 --sigma 1 \
    --out "$OUT/ring-f0-bounded.csv"
run "$LOJASIM" sweep "${RING[@]}" "${THETA[@]}" --noise bounded --schedule robbins-monro \
    --gamma 0.05 --sigma 1 --out "$OUT/ring-f0-bounded-rm.csv"
run $PLOT sweep "$OUT/ring-f0-ml.csv" "$OUT/ring-f0-bounded.csv" "$OUT/ring-f0-bounded-rm.csv" \
    --x f0 --dpi "$DPI" --out "$FIG/ring-f0"

say "(2) ring: survival and contraction curves from |θ0| = 1.02 (F(θ0) = 4.0e-4)"
CUR=(--theta0 0.3225 --sigma 1)
run "$LOJASIM" sweep "${RING[@]}" "${CUR[@]}" --noise ml --eta 0.02,0.05 \
    --out "$OUT/ring-curves-ml.csv" --curves-out "$OUT/ring-curves-ml.curves.csv"
run "$LOJASIM" sweep "${RING[@]}" "${CUR[@]}" --noise bounded --eta 0.05 \
    --out "$OUT/ring-curves-bounded.csv" --curves-out "$OUT/ring-curves-bounded.curves.csv"
run "$LOJASIM" sweep "${RING[@]}" "${CUR[@]}" --noise bounded --schedule robbins-monro --gamma 0.05 \
    --out "$OUT/ring-curves-bounded-rm.csv" --curves-out "$OUT/ring-curves-bounded-rm.curves.csv"
# One curves file (same header) for one figure.
{ head -n 1 "$OUT/ring-curves-ml.curves.csv"
  for f in ml bounded bounded-rm; do tail -n +2 "$OUT/ring-curves-$f.curves.csv"; done
} > "$OUT/ring-curves.all.csv"
run $PLOT curves "$OUT/ring-curves.all.csv" --sweep "$OUT/ring-curves-ml.csv" \
    --sweep "$OUT/ring-curves-bounded.csv" --sweep "$OUT/ring-curves-bounded-rm.csv" \
    --logk --dpi "$DPI" --out "$FIG/ring-curves"

say "done in $(( $(date +%s) - start )) s (after the build); CSVs in $OUT, figures in $FIG:"
ls -l "$FIG"
