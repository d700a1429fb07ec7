#!/bin/bash
# requests.sh — what idle LUNs ask the cluster: start a local Ceph cluster in a temporary
# directory, open N LUNs in one scale_bench process through handler_rbdtier.so (ours: tiered,
# two tier pools, as bench/scale/run.sh) and through Debian's handler_rbd.so (the same images
# untiered), each process with every RADOS client logging the messages it sends (debug_ms 1, to
# a file of the run's), leave them idle SETTLE_S after the last open, and count the messages
# each process sent in the last WINDOW_S seconds of that idle time, by kind: OSD ops by object
# (ids folded: rbd_header.*) and op, monitor and OSD commands by prefix, other messages by type.
# Prints one table per target, per LUN and minute (the process's shared work, such as the pool
# samples every LUN of a gateway shares, divided by N too), and the totals side by side.
# Stops the cluster by PID even on failure.
#
#   bench/scale/requests.sh BUILD_DIR [N]      (default N: 20)
#   env: SETTLE_S (80), WINDOW_S (60), POLICY (predictive), NICE (19), OWNER (0; 1: the LUNs
#        idle as their lock's holder, written once: scale_bench --owner; else as standbys),
#        OURS (handler_rbdtier.so to measure, default: BUILD_DIR/handler/handler_rbdtier.so),
#        STOCK (/usr/lib/x86_64-linux-gnu/tcmu-runner/handler_rbd.so), KEEP_LOGS (a directory to
#        copy the message logs to), RBDTIER_CLUSTER_SH (tests/cluster/cluster.sh)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:?usage: requests.sh BUILD_DIR [N]}
build=$(cd "$build" && pwd)
n=${2:-20}
settle=${SETTLE_S:-80}
window=${WINDOW_S:-60}
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "requests.sh: N must be a positive number" >&2; exit 2; }
((window <= settle)) || { echo "requests.sh: WINDOW_S must not exceed SETTLE_S" >&2; exit 2; }
source "$here/targets.bash"

source "$here/../lib/cluster.bash"
bench_cluster_start requests
: >"$dir/rbdtier.conf"
export RBDTIER_CONF=$dir/rbdtier.conf

for target in handler_rbd ours; do
    # The cluster's configuration with the clients' message log on; every client of the
    # process (one per LUN, and the gateway's own) reads it from the LUN's cfgstring.
    traced=$dir/$target.conf
    log=$dir/$target.messages.log
    cp "$conf" "$traced"
    printf '\n[client]\ndebug ms = 1\nlog file = %s\n' "$log" >>"$traced"
    so=(--so "$stock")
    [[ $target == ours ]] && so=(--so "$ours" --policy "${POLICY:-predictive}")
    # --exit-open: the process ends at the measure, so the log ends with the idle time.
    [[ ${OWNER:-0} == 1 ]] && so+=(--owner)
    nice -n "${NICE:-19}" "$bench" --conf "$traced" --target "$target" --luns "$n" "${so[@]}" \
        --settle-s "$settle" --no-check-config --exit-open --prefix requests
    echo
    echo "target=$target luns=$n: messages sent per LUN per minute, the last $window s of $settle s idle"
    python3 "$here/count_requests.py" "$log" "$n" "$window" | tee "$dir/$target.table"
    echo
    [[ -z ${KEEP_LOGS:-} ]] || cp "$log" "$KEEP_LOGS/"
done
printf '%-12s %12s\n' target "per LUN/min"
for target in handler_rbd ours; do
    printf '%-12s %12s\n' "$target" "$(awk '$NF == "total" {print $1}' "$dir/$target.table")"
done
