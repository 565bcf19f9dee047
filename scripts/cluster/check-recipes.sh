#!/usr/bin/env bash
# Runs docs/sweeps.md's scale-out recipes for real and checks that each merged result equals the
# unsharded sweep in every column but the times (elapsed_s, init_s, constants_s, total_s):
#   1. the sweep unsharded,
#   2. sweep-array.sbatch as a 4-task Slurm job array, merged (needs a running Slurm cluster:
#      local-slurm.sh start makes one on this machine),
#   3. sweep-parallel.sh, 4 shards under GNU parallel, merged (installs parallel if missing).
# usage: check-recipes.sh BINARY      (e.g. target/release/lojasim)
# Exits non-zero with a message on any failure or difference. CHECK_RECIPES_KEEP=1 keeps the
# working directory.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BINARY" >&2; exit 2; }
[ -x "$1" ] || { echo "check-recipes: error: $1 is not an executable lojasim binary" >&2; exit 2; }
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
say() { echo "check-recipes: $*" >&2; }
die() { say "error: $*"; exit 1; }

# A small sweep: the ring, 2 points, a fixed seed; about a second in all.
export GRID="--problem ring --noise ml,bounded --steps 500 --trajectories 4000 --seed 7"
export LOJASIM=$bin
shards=4
timeout=${CHECK_RECIPES_TIMEOUT:-120}

# The local cluster's configuration, unless the caller points at another Slurm.
if [ -z "${SLURM_CONF:-}" ] && [ -f "${LOJASIM_SLURM_DIR:-/var/spool/lojasim-slurm}/slurm.conf" ]; then
    export SLURM_CONF=${LOJASIM_SLURM_DIR:-/var/spool/lojasim-slurm}/slurm.conf
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/check-recipes.XXXXXX")
chmod 0755 "$work" # Slurm runs the tasks as the submitting user, but let any user read them
cleanup() {
    if [ "${CHECK_RECIPES_KEEP:-0}" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
mkdir "$work/full" "$work/slurm" "$work/parallel"

t0=$(date +%s%N)
elapsed() { local ms=$((($(date +%s%N) - t0) / 1000000)); printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100)); }

# 1. Unsharded.
(cd "$work/full" && "$bin" sweep $GRID --quiet --out full.csv >/dev/null) \
    || die "the unsharded sweep failed: $bin sweep $GRID --quiet --out full.csv"
say "unsharded sweep: $(($(wc -l <"$work/full/full.csv") - 1)) rows ($(elapsed))"

# 2. The Slurm job array, exactly the script docs/sweeps.md shows.
command -v sbatch >/dev/null 2>&1 || die "sbatch not found: start a cluster with scripts/cluster/local-slurm.sh start"
sinfo -h >/dev/null 2>&1 || die "no Slurm controller answers (SLURM_CONF=${SLURM_CONF:-unset}): run scripts/cluster/local-slurm.sh start"
job=$(cd "$work/slurm" && sbatch --parsable --array=0-$((shards - 1)) --cpus-per-task=1 \
    "$here/sweep-array.sbatch") || die "sbatch refused the job array"
job=${job%%;*}
say "submitted job array $job (tasks 0-$((shards - 1)))"
waited=0
while [ -n "$(squeue -h -j "$job" -o %i 2>/dev/null)" ]; do
    if [ "$waited" -ge $((timeout * 5)) ]; then
        squeue -j "$job" >&2 || true
        scancel "$job" || true
        die "job array $job not finished after ${timeout}s"
    fi
    sleep 0.2
    waited=$((waited + 1))
done
# No accounting on the local cluster: the tasks' states come from the controller's memory.
task_states=$(scontrol -o show job "$job" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 || true)
summary=$(echo "$task_states" | sort | uniq -c | awk '{ printf "%s%s %s", sep, $1, $2; sep = ", " }')
if [ "$(echo "$task_states" | grep -c '^COMPLETED$')" -ne "$shards" ]; then
    cat "$work"/slurm/slurm-*.out >&2 2>/dev/null || true
    die "not every array task of job $job completed (tasks: ${summary:-none known})"
fi
for k in $(seq 0 $((shards - 1))); do
    [ -s "$work/slurm/shard-$k.csv" ] || die "array task $k completed but wrote no shard-$k.csv"
done
(cd "$work/slurm" && "$bin" merge shard-*.csv --out sweep.csv 2>&1) || die "merging the Slurm shards failed"
say "Slurm job array: all $shards tasks COMPLETED, merged ($(elapsed))"

# 3. GNU parallel, exactly the script docs/sweeps.md shows.
if ! command -v parallel >/dev/null 2>&1; then
    say "installing GNU parallel"
    bash "$here/apt-install.sh" parallel || die "GNU parallel is missing and could not be installed"
fi
if ! (cd "$work/parallel" && SHARDS=$shards JOBS=2 THREADS=1 bash "$here/sweep-parallel.sh" \
    </dev/null >log.txt 2>&1); then
    cat "$work/parallel/log.txt" >&2
    die "the GNU parallel recipe failed"
fi
say "GNU parallel: $shards shards done and merged ($(elapsed))"

# Each merged file must be the unsharded one, the times aside.
python3 "$here/same_rows.py" "$work/full/full.csv" "$work/slurm/sweep.csv" \
    || die "the Slurm job array's merged sweep differs from the unsharded one"
python3 "$here/same_rows.py" "$work/full/full.csv" "$work/parallel/sweep.csv" \
    || die "the GNU parallel recipe's merged sweep differs from the unsharded one"
say "both recipes reproduce the unsharded sweep ($(elapsed))"
