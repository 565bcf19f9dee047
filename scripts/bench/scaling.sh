#!/usr/bin/env bash
# Scaling of lojasim alone (issue 5, docs/performance.md): cost in N and in K, 1 vs 2 threads, and
# peak memory against N. Prints markdown tables. Run on a quiet machine:
#   scripts/bench/scaling.sh            # all four tables
#   scripts/bench/scaling.sh threads    # one of: n k threads memory
# W2/W3 θ0 files are written with `lojasim init` as compare.py does (seed 0; W3 pre-trained).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
cargo build --release --quiet
bin=target/release/lojasim
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$bin" init --problem mlp --data data/teacher.csv --hidden 32,32 --activation tanh \
    --init-seed 0 --init-steps 0 --out "$work/w2.txt" --force
"$bin" init --problem mlp --data data/diabetes.csv --hidden 32,32 --activation tanh \
    --init-seed 0 --init-steps 50000 --init-eta 0.12 --out "$work/w3.txt" --force

W1=(--problem quadratic --dim 100 --curvature 1 --theta0 0.05 --noise ml --sigma 1 --eta 0.1 --radius 1)
W2=(--problem mlp --data data/teacher.csv --hidden 32,32 --activation tanh --theta0-file "$work/w2.txt"
    --noise ml --sigma 1 --eta 0.1 --radius 1)
W3=(--problem mlp --data data/diabetes.csv --hidden 32,32 --activation tanh --theta0-file "$work/w3.txt"
    --noise minibatch --batch 4 --eta 0.05 --radius 0.5)

# elapsed_s of one run (simulation only, as compare.py uses), given N, K, threads and a workload.
elapsed() {
    local n=$1 k=$2 t=$3
    shift 3
    "$bin" run "$@" --trajectories "$n" --steps "$k" --threads "$t" --seed 0 --out - --quiet 2>/dev/null |
        python3 -c 'import csv,sys; print(next(csv.DictReader(sys.stdin))["elapsed_s"])'
}

rate() { python3 -c "print(f'{$1 * $2 / $3 / 1e6:.3f}')"; }

what="${1:-all}"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ $what == all || $what == n ]]; then
    echo; echo "Cost in N (K = 1000, 2 threads)"; echo
    echo "| workload | N | seconds | M steps/s |"; echo "|---|---|---|---|"
    for w in W1 W2; do
        declare -n args=$w
        for n in 1024 4096 16384; do
            s=$(elapsed "$n" 1000 2 "${args[@]}")
            echo "| $w | $n | $s | $(rate "$n" 1000 "$s") |"
        done
    done
fi

if [[ $what == all || $what == k ]]; then
    echo; echo "Cost in K (N = 4096, 2 threads)"; echo
    echo "| workload | K | seconds | M steps/s |"; echo "|---|---|---|---|"
    for w in W1 W2; do
        declare -n args=$w
        for k in 250 1000 4000; do
            s=$(elapsed 4096 "$k" 2 "${args[@]}")
            echo "| $w | $k | $s | $(rate 4096 "$k" "$s") |"
        done
    done
fi

if [[ $what == all || $what == threads ]]; then
    # Five alternating 1- and 2-thread runs each; medians, so that a run disturbed by the host
    # (the vCPUs share it with other guests) does not decide.
    reps=${REPS:-5}
    echo; echo "1 vs 2 threads (N = 4096, K = 1000; W1 N = 10000; median of $reps runs each)"; echo
    echo "| workload | 1 thread s (median; min–max) | 2 threads s (median; min–max) | speed-up of medians |"
    echo "|---|---|---|---|"
    for w in W1 W2 W3; do
        declare -n args=$w
        n=4096; [[ $w == W1 ]] && n=10000
        one=(); two=()
        for ((r = 0; r < reps; r++)); do
            one+=("$(elapsed "$n" 1000 1 "${args[@]}")")
            two+=("$(elapsed "$n" 1000 2 "${args[@]}")")
        done
        python3 - "$w" "${one[*]}" "${two[*]}" <<'PY'
import statistics, sys
w, one, two = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
m1, m2 = statistics.median(one), statistics.median(two)
print(f"| {w} | {m1:.3f} ({min(one):.3f}–{max(one):.3f}) | {m2:.3f} ({min(two):.3f}–{max(two):.3f}) | {m1 / m2:.2f} |")
PY
    done
fi

if [[ $what == all || $what == memory ]]; then
    echo; echo "Peak memory (maximum resident set size, /usr/bin/time -v; K = 1000, 2 threads)"; echo
    echo "| workload | N | max RSS (MB) |"; echo "|---|---|---|"
    for w in W1 W2; do
        declare -n args=$w
        big=65536; [[ $w == W2 ]] && big=8192
        for n in 1024 $big; do
            /usr/bin/time -v -o "$work/time.txt" "$bin" run "${args[@]}" --trajectories "$n" \
                --steps 1000 --threads 2 --out - --quiet >/dev/null 2>&1
            kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time.txt")
            echo "| $w | $n | $(python3 -c "print(f'{$kb / 1024:.1f}')") |"
        done
    done
fi
