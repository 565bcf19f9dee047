#!/bin/bash
# A lojasim sweep as SHARDS shards run by GNU parallel, JOBS at a time with THREADS threads each,
# in the current directory, then merged into sweep.csv. Over several machines, add
# -S host1,host2 to parallel and run it in a directory they share. Defaults below; GRID, LOJASIM,
# SHARDS, JOBS and THREADS from the environment override them. Rerunning resumes the shards.
set -euo pipefail
GRID=${GRID:-"--eta log:1e-3:1e-1:9 --radius 0.2,0.3,0.5 --trajectories 10000000 --seed 1"}
LOJASIM=${LOJASIM:-lojasim} SHARDS=${SHARDS:-16} JOBS=${JOBS:-4} THREADS=${THREADS:-2}
# -q: each word reaches lojasim as it is, even with ';' in a vector grid.
parallel -q -j "$JOBS" "$LOJASIM" sweep $GRID --threads "$THREADS" --quiet \
    --shard "{}/$SHARDS" --out "shard-{}.csv" --resume ::: $(seq 0 $((SHARDS - 1)))
"$LOJASIM" merge shard-*.csv --out sweep.csv
