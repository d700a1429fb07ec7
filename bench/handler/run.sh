#!/bin/bash
# run.sh — start a local Ceph cluster in a temporary directory, run handler_bench on it
# (ours vs Debian's handler_rbd.so vs raw librbd), stop the cluster by PID even on failure.
#
#   bench/handler/run.sh BUILD_DIR [handler_bench options, e.g. --seconds 10 --qd 1,16]
#
# Uses tests/cluster/cluster.sh (start DIR / stop DIR); RBDTIER_CLUSTER_SH overrides it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:?usage: run.sh BUILD_DIR [handler_bench options]}
shift
build=$(cd "$build" && pwd)
cluster_sh=${RBDTIER_CLUSTER_SH:-$repo/tests/cluster/cluster.sh}
bench=$(find "$build" -name handler_bench -type f -perm -u+x | head -n1)
ours=$(find "$build" -name handler_rbdtier.so -type f | head -n1)
[[ -x $cluster_sh ]] || { echo "run.sh: no cluster script at $cluster_sh" >&2; exit 2; }
[[ -n $bench ]] || { echo "run.sh: handler_bench not built in $build" >&2; exit 2; }

dir=$(mktemp -d /tmp/rbdtier-bench.XXXXXX)
stop_cluster() {
    "$cluster_sh" stop "$dir" >/dev/null 2>&1 || true
    # Whatever is still running from this cluster: stop it by the PIDs it recorded.
    local f pid
    while IFS= read -r f; do
        pid=$(cat "$f" 2>/dev/null || true)
        # Only a process started for this cluster (its command line names DIR), never a
        # process that reused the PID.
        if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir"; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
    done < <(find "$dir" -name '*.pid' 2>/dev/null)
    rm -rf "$dir"
}
trap stop_cluster EXIT

echo "starting cluster in $dir" >&2
"$cluster_sh" start "$dir" >&2
conf=$dir/ceph.conf
[[ -f $conf ]] || { echo "run.sh: cluster has no $conf" >&2; exit 2; }

args=(--conf "$conf" --pool nvme-a)
[[ -n $ours ]] && args+=(--ours "$ours")
"$bench" "${args[@]}" "$@"
