#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, so that docs/sweeps.md's job-array recipe can be run
# for real (CI does: scripts/cluster/check-recipes.sh), on a Debian or Ubuntu machine, as root.
#
#   local-slurm.sh start    install slurm-wlm and munge if missing, start munged (unless it runs),
#                           slurmctld and slurmd, wait until the node is idle
#   local-slurm.sh status   the daemons' pids and sinfo
#   local-slurm.sh stop     stop the daemons this script started
#
# Everything lives in $LOJASIM_SLURM_DIR (default /var/spool/lojasim-slurm): slurm.conf, state,
# spool, logs and pid files. The system's /etc/slurm is not touched; clients find this cluster
# through SLURM_CONF=$LOJASIM_SLURM_DIR/slurm.conf (check-recipes.sh sets it). Ports 6817 and
# 6818 by default (LOJASIM_SLURM_PORT, LOJASIM_SLURMD_PORT). Start waits at most
# $LOJASIM_SLURM_TIMEOUT seconds (default 60) for the node.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=${LOJASIM_SLURM_DIR:-/var/spool/lojasim-slurm}
conf=$dir/slurm.conf
ctld_port=${LOJASIM_SLURM_PORT:-6817}
slurmd_port=${LOJASIM_SLURMD_PORT:-6818}
timeout=${LOJASIM_SLURM_TIMEOUT:-60}
export SLURM_CONF=$conf

say() { echo "local-slurm: $*" >&2; }
die() { say "error: $*"; exit 1; }

# The pid in $dir/NAME.pid, if that process is alive and is NAME: a pid file left by a machine's
# earlier life may name a pid that another program has since been given.
live_pid() {
    local name=$1 pid
    [ -s "$dir/$name.pid" ] || return 1
    pid=$(cat "$dir/$name.pid")
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] && echo "$pid"
}

install_packages() {
    local missing=()
    command -v slurmctld >/dev/null 2>&1 && command -v slurmd >/dev/null 2>&1 \
        && command -v sbatch >/dev/null 2>&1 || missing+=(slurm-wlm)
    command -v munged >/dev/null 2>&1 || missing+=(munge)
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]}"
    bash "$here/apt-install.sh" "${missing[@]}"
}

start_munge() {
    if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
        say "munged is already running; using it"
        return 0
    fi
    local key=/etc/munge/munge.key
    if [ ! -s "$key" ]; then
        say "creating $key"
        install -d -o munge -g munge -m 0700 /etc/munge
        if command -v mungekey >/dev/null 2>&1; then
            mungekey --create --keyfile="$key"
        else
            dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
        fi
        chown munge:munge "$key"
        chmod 0400 "$key"
    fi
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do
        if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
            # Ours to stop: munged writes its pid here by default.
            cp /run/munge/munged.pid "$dir/munged.pid" || die "munged runs but left no /run/munge/munged.pid"
            return 0
        fi
        sleep 0.1
    done
    die "munged did not start (see /var/log/munge/munged.log)"
}

write_conf() {
    local host cpus mem_mb
    host=$(hostname -s)
    cpus=$(nproc)
    # 95 % of the memory the kernel reports: slurmd drains a node that has less than its RealMemory.
    mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.95 }' /proc/meminfo)
    cat >"$conf" <<EOF
# Written by scripts/cluster/local-slurm.sh: one node, this machine, no accounting.
ClusterName=lojasim-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    chmod 0644 "$conf"
}

node_state() {
    sinfo -h -N -o '%T' 2>/dev/null | head -n 1
}

start() {
    [ "$(id -u)" -eq 0 ] || die "start needs root (sudo): it installs packages and runs the daemons"
    if live_pid slurmctld >/dev/null || live_pid slurmd >/dev/null; then
        die "already running (pids in $dir); run '$0 stop' first"
    fi
    install_packages
    # A fresh cluster each time: no jobs or node states left from an earlier start.
    rm -rf "$dir/state" "$dir/spool"
    install -d -m 0755 "$dir" "$dir/state" "$dir/spool" "$dir/log"
    rm -f "$dir/munged.pid"
    start_munge
    write_conf
    slurmctld -f "$conf" || die "slurmctld did not start (see $dir/log/slurmctld.log)"
    slurmd -f "$conf" || die "slurmd did not start (see $dir/log/slurmd.log)"
    local waited=0 state=""
    while :; do
        state=$(node_state)
        case "$state" in
            idle) break ;; # not "idle*": that one is not responding
            drain* | down* | fail*)
                sinfo -N -l >&2 || true
                die "node $(hostname -s) is $state (logs in $dir/log)" ;;
        esac
        if [ "$waited" -ge $((timeout * 10)) ]; then
            tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
            die "node $(hostname -s) not idle after ${timeout}s (state: ${state:-unknown}; logs in $dir/log)"
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    say "up: node $(hostname -s), $(nproc) CPUs, partition local; export SLURM_CONF=$conf"
}

# Send SIGTERM to the named daemons (those with a live pid file in $dir) and wait up to 10 s for
# them to go; SIGKILL any that stay. A pid file whose process is gone is only removed.
stop_daemons() {
    local name pid pids=() files=()
    for name in "$@"; do
        if pid=$(live_pid "$name"); then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
        files+=("$dir/$name.pid")
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "pid $pid ignored SIGTERM for 10 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    rm -f "${files[@]}"
}

stop() {
    [ -d "$dir" ] || { say "nothing to stop ($dir does not exist)"; return 0; }
    # The Slurm daemons first, while munged can still sign their last messages.
    stop_daemons slurmd slurmctld
    stop_daemons munged
    say "stopped"
}

status() {
    local name pid rc=0
    for name in munged slurmctld slurmd; do
        if pid=$(live_pid "$name"); then
            echo "$name: running (pid $pid)"
        elif [ "$name" = munged ] && munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
            echo "munged: running (not started by this script)"
        else
            echo "$name: not running"
            rc=1
        fi
    done
    if live_pid slurmctld >/dev/null; then sinfo -N -l || true; fi
    return "$rc"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
