#!/bin/sh
# Smoke test of `tiering_bench --trace` on the test cluster (no timing asserted): a short
# synthetic trace replayed once per mode; the output must have a row per mode, the medians and
# the live and replay ratios. Usage: trace_smoke.sh RBDTIER TIERING_BENCH (RBDTIER_CEPH_CONF set).
set -u
RBDTIER=$1
BENCH=$2
: "${RBDTIER_CEPH_CONF:?set by the cluster fixture}"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/rbdtier-trace-smoke-XXXXXX") || exit 1
trap 'rm -rf "$DIR"' EXIT
fail() { echo "FAIL: $*" >&2; cat "$DIR/out" >&2; exit 1; }
"$RBDTIER" replay --generate shifting --seed 3 --duration 60 --iops 20 --out "$DIR/t.csv" ||
    fail "cannot generate the trace"
"$BENCH" --conf "$RBDTIER_CEPH_CONF" --trace "$DIR/t.csv" --runs 1 --target-seconds 5 \
    --limit 300 --extents 16 --fast-capacity 4 --readers 4 >"$DIR/out" 2>"$DIR/err" ||
    { cat "$DIR/err" >&2; fail "tiering_bench --trace failed"; }
for mode in none reactive predictive; do
    grep -q "^1 *$mode  *300 " "$DIR/out" || fail "no run of $mode with 300 I/Os"
    grep -q "^$mode  *[0-9.]*  *[0-9.]*  *[0-9.]*  *[0-9.]*$" "$DIR/out" || fail "no median of $mode"
done
grep -q '^predictive/reactive mean latency: live [0-9.]*, replay [0-9.]*' "$DIR/out" ||
    fail "no predictive/reactive ratios"
grep -q '^predictive/none mean latency: live' "$DIR/out" || fail "no predictive/none ratios"
# Bad input: a clear error, no crash.
printf 'not a trace\n' >"$DIR/bad.csv"
"$BENCH" --conf "$RBDTIER_CEPH_CONF" --trace "$DIR/bad.csv" >"$DIR/out" 2>"$DIR/err" &&
    fail "a bad trace was accepted"
grep -q 'cannot replay the trace' "$DIR/err" || fail "bad trace message: $(cat "$DIR/err")"
echo "trace_smoke: passed"
