#!/usr/bin/env bash
# run.sh: runs every libFuzzer target of tests/fuzz (or the ones named) for a while, from its
# checked-in corpus, and prints per target the executions, the coverage (libFuzzer's cov:,
# edges) and the crashes it found. Needs a build with the fuzzers (RBDTIER_FUZZ=ON, e.g. the
# sanitizer build that tools/test.sh makes in build-asan/).
#   tests/fuzz/run.sh [--minutes N] [--seconds N] [--build DIR] [--jobs J] [--work DIR] [TARGET...]
# Targets are named without fuzz_ (lun_config, trace_msr, ...). Each gets its own work dir
# (default <build>/tests/fuzz/long/<target>/): new inputs in corpus/, crash-*/leak-*/timeout-*/
# oom-* beside it, the log in fuzz.log. Exit status 1 when any target found a crash.
# admin_tiered needs the local cluster ($RBDTIER_CEPH_CONF, from `cluster.sh env DIR`): without it
# it is left out of "every target".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=60
build="$root/build-asan"
jobs=1
work=""
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) seconds=$(( $2 * 60 )); shift ;;
        --seconds) seconds=$2; shift ;;
        --build) build=$2; shift ;;
        --jobs) jobs=$2; shift ;;
        --work) work=$2; shift ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1") ;;
    esac
    shift
done
bin="$build/tests/fuzz"
work=${work:-$bin/long}
if [ ${#targets[@]} -eq 0 ]; then
    for dir in "$here"/corpus/*/; do
        t=$(basename "$dir")
        # admin_tiered serves a LUN of the local cluster: only with one running.
        if [ "$t" = admin_tiered ] && [ -z "${RBDTIER_CEPH_CONF:-}" ]; then
            echo "run.sh: skipping admin_tiered (RBDTIER_CEPH_CONF not set: no cluster)" >&2
            continue
        fi
        targets+=("$t")
    done
fi
for t in "${targets[@]}"; do
    if [ ! -x "$bin/fuzz_$t" ]; then
        echo "run.sh: $bin/fuzz_$t is not built (cmake -DRBDTIER_FUZZ=ON ...)" >&2
        exit 2
    fi
done

# One target: fuzz for $seconds s, then one line of figures.
run_one() {
    local t=$1 dir="$work/$1"
    mkdir -p "$dir/corpus"
    local dict=()
    if [ -f "$here/dict/$t.dict" ]; then dict=(-dict="$here/dict/$t.dict"); fi
    "$bin/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$dir/" "${dict[@]}" \
        "$dir/corpus" "$here/corpus/$t" >"$dir/fuzz.log" 2>&1 || true
    # Figures from the log (a target that crashed while loading its corpus has none: "?").
    local execs cov crashes
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' "$dir/fuzz.log" | tail -1)
    crashes=$(find "$dir" -maxdepth 1 -type f \
        \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    printf '%-24s executions %12s  cov %6s  crashes %3s  %s\n' "$t" "${execs:-?}" "${cov:-?}" \
        "$crashes" "$dir"
}

echo "fuzzing ${#targets[@]} targets, ${seconds} s each, $jobs at a time ($work)"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
running=0
for t in "${targets[@]}"; do
    run_one "$t" | tee -a "$results" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait
echo "== summary"
sort "$results"
if awk '$7 != 0 { bad = 1 } END { exit !bad }' "$results"; then
    echo "run.sh: crashes found: see the work dirs above" >&2
    exit 1
fi
