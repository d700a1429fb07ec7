#!/usr/bin/env bash
# run.sh [tiering_bench options]: starts a local cluster with latency emulated in its own
# directory, runs bench/tiering/tiering_bench (off, reactive, predictive; after each tiered mode
# the same requests with the engine migrating vs paused), stops the cluster by PID even on
# failure. Build first (cmake --build build --target tiering_bench; RBDTIER_BUILD=<build dir>).
# With --trace FILE it replays that trace live instead (none, reactive, predictive; --runs N,
# default 3, median reported) beside the replay simulator's figures for the same I/Os, e.g.
#   bench/tiering/run.sh --trace ../shared/data/traces/msprod_msnfs-disk5_disksim-ms.trace \
#       --limit 6000 --time-factor 0.05
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${RBDTIER_BUILD:-$root/build}/bench/tiering/tiering_bench
dir=$(mktemp -d /tmp/rbdtier-tierbench.XXXXXX)
cleanup() { "$root/tests/cluster/cluster.sh" stop "$dir/cluster" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
"$root/tests/cluster/cluster.sh" start "$dir/cluster" --latency
"$bin" --conf "$dir/cluster/ceph.conf" "$@"
