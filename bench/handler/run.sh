#!/bin/bash
# run.sh — start a local Ceph cluster in a temporary directory, run handler_bench on it
# (Debian's handler_rbd.so, ours untiered, ours tiered, raw librbd; interleaved per round), stop
# the cluster by PID even on failure. The cluster is started --steady (memstore in fixed pages,
# short PG logs): its cost per op stays level over the run, so rounds minutes apart compare.
#
#   bench/handler/run.sh BUILD_DIR [handler_bench options, e.g. --seconds 10 --qd 1,16]
#   bench/handler/run.sh build --qd 16 --rounds 3 --seconds 5    # the I/O path bar
#   env: OURS (the handler_rbdtier.so to measure; default BUILD_DIR/handler/handler_rbdtier.so)
#
# Uses tests/cluster/cluster.sh (start DIR / stop DIR); RBDTIER_CLUSTER_SH overrides it. To compare
# two builds of handler_rbdtier.so on one cluster, in turn, use bench/handler/ab.sh; for what each
# handler's own code costs per command (perf call stacks), bench/handler/profile.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:?usage: run.sh BUILD_DIR [handler_bench options]}
shift
build=$(cd "$build" && pwd)
source "$here/../lib/build.bash"
bench=$(bench_built "$build" bench/handler/handler_bench)
ours=${OURS:-$(bench_built "$build" handler/handler_rbdtier.so)}
echo "ours: $(bench_describe "$ours")"

source "$here/../lib/cluster.bash"
bench_cluster_start bench --steady

args=(--conf "$conf" --pool nvme-a --ours "$ours")
"$bench" "${args[@]}" "$@"
