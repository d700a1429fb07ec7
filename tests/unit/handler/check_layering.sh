#!/bin/sh
# The plugin links the live placement policies (engine/policy/), never the replay simulator
# (engine/replay/): neither on its link line nor as code inside the module. And engine/ (the
# policies, the LUNs' rounds, the admission) speaks neither Ceph nor tcmu: none of its sources
# includes ceph/, handler/, librados, librbd or tcmu.
# usage: check_layering.sh path/to/handler_rbdtier.so path/to/handler_rbdtier's link.txt
set -eu
so=$1
link=$2
fail=0
# The link line CMake wrote for the module: no replay library on it.
if grep -q 'librbdtier_replay\.a' "$link"; then
    echo "FAIL: $link links librbdtier_replay.a (the replay simulator)" >&2
    fail=1
fi
# The module's own code: nothing of the simulator, the workload generators, the oracle or the
# replay's registry.
replay_code=$(nm -C --defined-only "$so" |
              grep -E 'rbdtier::(ReplaySimulator|OraclePolicy|WorkloadKind|WorkloadParams|generate_workload|replay_policy_registry|replay\(|modelled_latency_us)' |
              cut -c1-160 | sort -u || true)
if [ -n "$replay_code" ]; then
    echo "FAIL: $so holds replay-only code:" >&2
    echo "$replay_code" | head -20 >&2
    fail=1
fi
# engine/'s sources, found from this script's place in the tree.
src=$(cd "$(dirname "$0")/../../.." && pwd)
engine_includes=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](ceph/|handler/|rados/|rbd/|tcmu|libtcmu|scsi)' \
                  "$src/engine" || true)
if [ -n "$engine_includes" ]; then
    echo "FAIL: engine/ includes Ceph, tcmu or the handler:" >&2
    echo "$engine_includes" | head -20 >&2
    fail=1
fi
[ "$fail" -eq 0 ] || exit 1
echo OK
