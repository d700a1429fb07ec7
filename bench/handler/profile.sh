#!/bin/bash
# profile.sh — what each handler's own code costs per command: handler_bench (by default
# handler_rbd and ours, untiered) on a local cluster of its own under `perf record --call-graph
# dwarf`, then own_cost.py: per handler, the samples whose stack reaches the handler's .so before
# librbd, librados or the harness, in microseconds per operation, and the leaf functions they
# fall in; for ours, by phase too (callout, completion, tiering rounds), which tells what a tiered
# command costs beyond an untiered one when both ran (TARGETS=ours,ours-tiered).
# Stops the cluster by PID even on failure; keeps perf.data and the bench's output in OUT_DIR.
#
#   bench/handler/profile.sh BUILD_DIR OUT_DIR [handler_bench options]
#   bench/handler/profile.sh build /tmp/prof --qd 16 --rounds 1 --seconds 8
#
# OURS names the handler_rbdtier.so to profile (default: BUILD_DIR's; e.g. an older build, to
# compare). TARGETS (default handler_rbd,ours) the handler_bench targets to run, e.g.
# TARGETS=ours,ours-tiered. PERF_HZ (default 1500) sets the sampling rate. Needs perf with DWARF unwinding; the stacks of
# librbd are deep, so a stack cut short by the copy size (10 KiB) still names the handler frame
# closest to the leaf, which is all the attribution needs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: profile.sh BUILD_DIR OUT_DIR [handler_bench options]}" && pwd)
out=${2:?usage: profile.sh BUILD_DIR OUT_DIR [handler_bench options]}
shift 2
mkdir -p "$out"
out=$(cd "$out" && pwd)
hz=${PERF_HZ:-1500}
targets=${TARGETS:-handler_rbd,ours}
source "$here/../lib/build.bash"
bench=$(bench_built "$build" bench/handler/handler_bench)
ours=${OURS:-$(bench_built "$build" handler/handler_rbdtier.so)}

source "$here/../lib/cluster.bash"
bench_cluster_start profile --steady

echo "load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
perf record -q -k monotonic -F "$hz" --call-graph dwarf,10240 -o "$out/perf.data" -- \
    "$bench" --conf "$conf" --pool nvme-a --ours "$ours" --targets "$targets" "$@" \
    >"$out/bench.out" 2>"$out/bench.err"
cat "$out/bench.out"
perf script -i "$out/perf.data" -F comm,tid,time,ip,sym,dso 2>/dev/null >"$out/stacks.txt"
python3 "$here/own_cost.py" "$out/stacks.txt" "$out/bench.err" "$hz" 12 "$(basename "$ours")"
