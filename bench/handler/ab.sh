#!/bin/bash
# ab.sh — A/B of two (or more) handler_rbdtier.so builds on one local cluster: starts the cluster
# (--steady, as run.sh), then runs handler_bench with each .so in turn, --passes times over
# (A B A B ...), each run its own rounds (every one printed) and its own ratios tiered/ours, so
# the builds meet the same machine state and a ratio is never taken across runs. Stops the cluster
# by PID even on failure. The load average is printed before every run.
#
#   bench/handler/ab.sh [--passes 2] A.so B.so [-- handler_bench options]
#   bench/handler/ab.sh --passes 2 main/handler_rbdtier.so build/handler/handler_rbdtier.so \
#       -- --targets ours,ours-tiered --qd 16 --rounds 5 --seconds 4
#
# handler_bench is taken from the build of the last .so given (its build directory's
# bench/handler/handler_bench), or from $HANDLER_BENCH.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
passes=2
if [[ ${1:-} == --passes ]]; then
    passes=${2:?--passes N}
    shift 2
fi
sos=()
while [[ $# -gt 0 && $1 != -- ]]; do
    sos+=("$(cd "$(dirname "$1")" && pwd)/$(basename "$1")")
    shift
done
[[ ${1:-} == -- ]] && shift
[[ ${#sos[@]} -ge 1 ]] || { echo "usage: ab.sh [--passes N] A.so B.so [-- options]" >&2; exit 2; }
last_build=$(dirname "$(dirname "${sos[-1]}")")
bench=${HANDLER_BENCH:-$last_build/bench/handler/handler_bench}
[[ -x $bench ]] || { echo "ab.sh: no handler_bench at $bench (set HANDLER_BENCH)" >&2; exit 2; }

source "$here/../lib/cluster.bash"
bench_cluster_start ab --steady

status=0
for pass in $(seq "$passes"); do
    for so in "${sos[@]}"; do
        echo "== pass $pass: $so (load average $(cut -d' ' -f1-3 /proc/loadavg))"
        nice "$bench" --conf "$conf" --pool nvme-a --ours "$so" "$@" || status=$?
    done
done
exit $status
