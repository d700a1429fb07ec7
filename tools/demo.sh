#!/usr/bin/env bash
# demo.sh: rbdtier on the embedded default, from a fresh machine.
#   1. installs what is missing and builds (build/),
#   2. starts a local Ceph cluster (.run/demo-cluster) with slow media and distance emulated:
#      nvme-a fast, hdd-a slow, nvme-b and hdd-b at the remote site,
#   3. serves a LUN through handler_rbdtier.so (driven by the harness, as tcmu-runner would)
#      and measures it on a fast and a slow pool,
#   4. serves a tiered LUN (home hdd-a; may use nvme-a, nvme-b, hdd-b) whose hot set moves
#      predictably, with tiering off, then the reactive policy, then the predictive engine
#      moving extents on the live cluster: read latency, share served from nvme-a, bytes moved,
#   5. shows the engine predicting on a longer horizon: a replay of a workload with a recurring
#      hot set under none / reactive / frequency / predictive / oracle placement.
# The cluster is stopped by PID at the end, also on failure.
set -euo pipefail
# Not root: run again through sudo (tools/lib/as-root.bash).
source "$(cd "${BASH_SOURCE[0]%/*}" && pwd)/lib/as-root.bash"
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
run="$root/.run"
cluster="$run/demo-cluster"
mkdir -p "$run"

"$root/tools/install-deps.sh"
echo "== build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON >/dev/null
cmake --build "$build" -j 2 --target handler_rbdtier tcmu-harness rbdtier tiering_bench >/dev/null

stop() { "$root/tests/cluster/cluster.sh" stop "$cluster" >/dev/null 2>&1 || true; }
trap stop EXIT
echo "== local Ceph cluster (1 mon, 4 memstore OSDs, latency emulated)"
"$root/tests/cluster/cluster.sh" start "$cluster" --latency
conf="$cluster/ceph.conf"
"$root/tests/cluster/cluster.sh" bench "$cluster" -n 20

echo "== a LUN served through handler_rbdtier.so: 4 KiB random reads, queue depth 16, 5 s"
for pool in nvme-a hdd-a; do
    rbd -c "$conf" create --size 1G "$pool/demo"
    rbd -c "$conf" bench --io-type write --io-size 4M --io-total 64M "$pool/demo" >/dev/null
    echo "-- $pool/demo"
    "$build/tests/harness/tcmu-harness" --handler "$build/handler/handler_rbdtier.so" \
        --cfg "$pool/demo;conf=$conf" --size $((1 << 30)) --bench randread --qd 16 --seconds 5
done

echo "== a tiered LUN on the live cluster: tiering off, reactive, predictive (20 s each)"
"$build/bench/tiering/tiering_bench" --conf "$conf" --seconds 20

echo "== the engine predicting: replay of a periodic batch job (hot set returns every period)"
trace="$run/periodic.csv"
"$build/cli/rbdtier" replay --generate periodic --out "$trace"
"$build/cli/rbdtier" replay "$trace"
