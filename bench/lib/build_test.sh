#!/bin/bash
# bench/lib/build.bash: bench_built takes the target where CMake puts it, not another file of
# that name elsewhere in the build tree (a packaging test's older build), and refuses a tree
# where it is not built.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/build.bash"
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# A tree where a stale copy comes first in directory order and by name.
mkdir -p "$tree/a-rpm-test/BUILD/handler" "$tree/handler"
echo stale >"$tree/a-rpm-test/BUILD/handler/handler_rbdtier.so"
echo built >"$tree/handler/handler_rbdtier.so"
got=$(bench_built "$tree" handler/handler_rbdtier.so)
[[ $got == "$tree/handler/handler_rbdtier.so" ]] || fail "took $got"
[[ $(cat "$got") == built ]] || fail "took the stale copy"

# Not built where CMake puts it: refused, whatever else the tree holds.
rm "$tree/handler/handler_rbdtier.so"
if (bench_built "$tree" handler/handler_rbdtier.so >/dev/null 2>&1); then
    fail "accepted a tree without the target"
fi
[[ $(bench_describe "$tree/a-rpm-test/BUILD/handler/handler_rbdtier.so") == *"6 bytes"* ]] ||
    fail "bench_describe"

# bench/scale/run.sh measures nothing from such a tree: it stops before starting a cluster.
mkdir -p "$tree/bench/scale"
printf '#!/bin/sh\nexit 0\n' >"$tree/bench/scale/scale_bench"
chmod +x "$tree/bench/scale/scale_bench"
if err=$(RBDTIER_CLUSTER_SH=/nonexistent "$here/../scale/run.sh" "$tree" 10 2>&1 >/dev/null); then
    fail "run.sh ran on a tree without handler_rbdtier.so"
fi
[[ $err == *"handler/handler_rbdtier.so is not built in"* ]] ||
    fail "run.sh took the stale copy: $err"

# Nor does bench/handler/run.sh.
mkdir -p "$tree/bench/handler"
printf '#!/bin/sh\nexit 0\n' >"$tree/bench/handler/handler_bench"
chmod +x "$tree/bench/handler/handler_bench"
if err=$(RBDTIER_CLUSTER_SH=/nonexistent "$here/../handler/run.sh" "$tree" 2>&1 >/dev/null); then
    fail "handler/run.sh ran on a tree without handler_rbdtier.so"
fi
[[ $err == *"handler/handler_rbdtier.so is not built in"* ]] ||
    fail "handler/run.sh took the stale copy: $err"
echo ok
