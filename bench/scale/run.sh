#!/bin/bash
# run.sh — start a local Ceph cluster in a temporary directory, run scale_bench for each LUN
# count and target (ours: handler_rbdtier.so, tiered; handler_rbd: Debian's handler_rbd.so;
# librbd: plain image opens), RUNS times each, one process per run; print every run, then per
# LUN count the medians and rbdtier's cost per LUN = (RSS ours - RSS handler_rbd) / N.
# Stops the cluster by PID even on failure.
#
#   bench/scale/run.sh BUILD_DIR [N ...]      (default N: 10 50 200)
#   env: RUNS (3), SETTLE_S (3), SIZE_GIB (100), POLICY (predictive), OURS (handler_rbdtier.so
#        to measure, default: the one in BUILD_DIR),
#        STOCK (/usr/lib/x86_64-linux-gnu/tcmu-runner/handler_rbd.so),
#        RBDTIER_CLUSTER_SH (tests/cluster/cluster.sh)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:?usage: run.sh BUILD_DIR [N ...]}
shift
build=$(cd "$build" && pwd)
counts=("$@")
[[ ${#counts[@]} -gt 0 ]] || counts=(10 50 200)
runs=${RUNS:-3}
stock=${STOCK:-/usr/lib/x86_64-linux-gnu/tcmu-runner/handler_rbd.so}
bench=$(find "$build" -name scale_bench -type f -perm -u+x | head -n1)
ours=${OURS:-$(find "$build" -name handler_rbdtier.so -type f | head -n1)}
[[ -n $bench ]] || { echo "run.sh: scale_bench not built in $build" >&2; exit 2; }
[[ -n $ours ]] || { echo "run.sh: handler_rbdtier.so not built in $build" >&2; exit 2; }

source "$here/../lib/cluster.bash"
bench_cluster_start scale
# The gateway's defaults, without an admin socket or metrics of the machine's configuration.
: >"$dir/rbdtier.conf"
export RBDTIER_CONF=$dir/rbdtier.conf

results=$dir/results
: >"$results"
common=(--conf "$conf" --settle-s "${SETTLE_S:-3}" --size-gib "${SIZE_GIB:-100}")
for n in "${counts[@]}"; do
    for r in $(seq "$runs"); do
        for target in librbd handler_rbd ours; do
            so=()
            [[ $target == ours ]] && so=(--so "$ours" --policy "${POLICY:-predictive}")
            [[ $target == handler_rbd ]] && so=(--so "$stock")
            line=$("$bench" "${common[@]}" --target "$target" --luns "$n" "${so[@]}")
            echo "run $r: $line"
            echo "$line" >>"$results"
        done
    done
done

# Medians per (target, N), then the cost of a LUN.
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
printf '\n%-12s %6s %8s %12s %16s\n' target luns threads "RSS MiB" "RSS KiB/LUN"
for n in "${counts[@]}"; do
    declare -A rss=() thr=()
    for target in librbd handler_rbd ours; do
        rows=$(grep "target=$target luns=$n " "$results")
        rss[$target]=$(field rss_kib <<<"$rows" | median)
        thr[$target]=$(field threads <<<"$rows" | median)
        printf '%-12s %6s %8s %12.1f %16.1f\n' "$target" "$n" "${thr[$target]}" \
            "$(echo "${rss[$target]} / 1024" | bc -l)" "$(echo "${rss[$target]} / $n" | bc -l)"
    done
    printf 'N=%s rbdtier per LUN: %.1f KiB (ours - handler_rbd), %.1f KiB (ours - librbd); threads ours %s, handler_rbd %s\n' \
        "$n" "$(echo "(${rss[ours]} - ${rss[handler_rbd]}) / $n" | bc -l)" \
        "$(echo "(${rss[ours]} - ${rss[librbd]}) / $n" | bc -l)" "${thr[ours]}" "${thr[handler_rbd]}"
done
