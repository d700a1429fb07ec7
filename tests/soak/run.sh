#!/usr/bin/env bash
# run.sh: the fault soak (tests/soak/soak_test.cc) on a cluster of its own, for as long as asked.
#   tests/soak/run.sh [--minutes N] [--seed S] [--events LIST] [--build DIR]
# Builds what it needs in DIR (default build/), starts a local cluster in DIR/soak-cluster, runs
# the soak for N minutes (default 60), prints its totals and, on failure, the seed and event log,
# and stops the cluster by PID, also when it fails. Exit status: the soak's.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
minutes=60
seed=""
events=""
build="$root/build"
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) minutes=$2; shift ;;
        --seed) seed=$2; shift ;;
        --events) events=$2; shift ;;
        --build) build=$2; shift ;;
        *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
cluster="$build/soak-cluster"
cleanup() { "$root/tests/cluster/cluster.sh" stop "$cluster" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j 2 --target soak_test soak_gateway handler_rbdtier rbdtier
"$root/tests/cluster/cluster.sh" start "$cluster"
eval "$("$root/tests/cluster/cluster.sh" env "$cluster")"
export SOAK_GATEWAY="$build/tests/soak/soak_gateway"
export HANDLER_SO="$build/handler/handler_rbdtier.so"
export RBDTIER_CLI_PATH="$build/cli/rbdtier"
export RBDTIER_SOAK_SECONDS=$((minutes * 60))
[ -n "$seed" ] && export RBDTIER_SOAK_SEED="$seed"
[ -n "$events" ] && export RBDTIER_SOAK_EVENTS="$events"
"$build/tests/soak/soak_test"
