#!/bin/sh
# Smoke test of `tiering_bench --trace` on the test cluster (no timing asserted): a short
# synthetic trace replayed once per mode with hdd-a's latency emulated; the output must have a
# row per mode, the medians, tiered LUNs whose policy heard nothing before the trace, the
# oracle's replay, the live and replay ratios, and, as a live migration then takes longer than
# its bytes at the LUN's bandwidth, the replay again with its channel at the live migrations'
# pace; rounds that keep their pace while extents move; and, on a trace of reads only, a LUN
# that moves extents. Usage: trace_smoke.sh RBDTIER
# TIERING_BENCH
# (RBDTIER_CEPH_CONF, RBDTIER_CLUSTER_SH and RBDTIER_CLUSTER_DIR set by the cluster fixture).
set -u
RBDTIER=$1
BENCH=$2
: "${RBDTIER_CEPH_CONF:?set by the cluster fixture}"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/rbdtier-trace-smoke-XXXXXX") || exit 1
: "${RBDTIER_CLUSTER_SH:?set by the cluster fixture}" "${RBDTIER_CLUSTER_DIR:?set by the cluster fixture}"
LATENCY=$(cat "$RBDTIER_CLUSTER_DIR/run/osd.1.latency" 2>/dev/null || echo 0)
trap '"$RBDTIER_CLUSTER_SH" latency "$RBDTIER_CLUSTER_DIR" hdd-a "$LATENCY" >/dev/null; rm -rf "$DIR"' EXIT
fail() { echo "FAIL: $*" >&2; cat "$DIR/out" >&2; exit 1; }
# hdd-a as the emulated hdd (~13 ms an op): a migration does several ops on it one after another.
"$RBDTIER_CLUSTER_SH" latency "$RBDTIER_CLUSTER_DIR" hdd-a 0.004 >/dev/null ||
    fail "cannot set hdd-a's latency"
"$RBDTIER" replay --generate shifting --seed 3 --duration 60 --iops 20 --out "$DIR/t.csv" ||
    fail "cannot generate the trace"
"$BENCH" --conf "$RBDTIER_CEPH_CONF" --trace "$DIR/t.csv" --runs 1 --target-seconds 5 \
    --limit 300 --extents 16 --fast-capacity 4 --readers 4 >"$DIR/out" 2>"$DIR/err" ||
    { cat "$DIR/err" >&2; fail "tiering_bench --trace failed"; }
for mode in none reactive predictive; do
    grep -q "^1 *$mode  *300 " "$DIR/out" || fail "no run of $mode with 300 I/Os"
    grep -q "^$mode  *[0-9.]*  *[0-9.]*  *[0-9.]*  *[0-9.]*  *[0-9]*  *[0-9]*$" "$DIR/out" ||
        fail "no median of $mode"
done
# The live LUN's policy hears the trace alone, as the replay beside it does: nothing before it
# (the LUN's data is written before the LUN opens), so nothing moved and nvme-a empty.
for mode in reactive predictive; do
    awk -v mode="$mode" '$1 == 1 && $2 == mode { row = 1; next }
        row && /before the trace the policy heard/ { found = 1; ok = $7 == 0 && $10 == 0 && $14 == 0; exit }
        END { exit !(found && ok) }' "$DIR/out" ||
        fail "the $mode LUN's policy heard I/O or moved extents before the trace"
done
# The LUNs' rounds keep their pace while extents move (the migrations run on the gateway's
# executor, as handler_rbdtier.so runs them, not inside the rounds): at least half of the rounds
# the run's length allows.
awk '/^ *rounds [0-9]+ in [0-9.]+ s, one per [0-9.]+ s planned$/ {
         found = 1; if ($2 < $4 / $8 / 2) slow = 1 }
     END { exit !(found && !slow) }' "$DIR/out" ||
    fail "the rounds did not keep their pace while extents moved"
grep -q '^oracle  *-  *-  *[0-9.]*  *[0-9.]*  *-  *[0-9]*$' "$DIR/out" || fail "no replay of oracle"
grep -q '^oracle/none mean latency in replay: [0-9.]*$' "$DIR/out" || fail "no oracle/none ratio"
# The replay at the live migrations' pace: its channel moves 4 MiB per live migration time.
# Both figures are printed to 0.1: the time's rounding (up to 0.05 ms) moves the pace by up to
# want * 0.05 / ms, the pace's own by 0.05.
awk '/^live migrations took [0-9.]+ ms each/ { ms = $4; next }
     ms && /^replay model:/ { split($0, a, "extents, "); split(a[2], b, " MiB/s");
                              want = 4000 / ms; got = b[1] + 0; found = 1
                              tol = want * 0.05 / ms + 0.051
                              exit !(got > want - tol && got < want + tol) }
     END { if (!found) exit 1 }' "$DIR/out" ||
    fail "no replay at the live migrations' pace (a migration takes > 20 ms on the emulated hdd)"
grep -q '^predictive/reactive mean latency: live [0-9.]*, replay [0-9.]*' "$DIR/out" ||
    fail "no predictive/reactive ratios"
grep -q '^predictive/none mean latency: live' "$DIR/out" || fail "no predictive/none ratios"
# A trace of reads only: the LUN takes its lock when it opens, as tcmu-runner's implicit ALUA
# failover does on the first command of any kind, so its extents move without a write.
grep ',Read,' "$DIR/t.csv" >"$DIR/reads.csv" || fail "no read in the trace"
"$BENCH" --conf "$RBDTIER_CEPH_CONF" --trace "$DIR/reads.csv" --modes reactive --runs 1 \
    --target-seconds 5 --limit 300 --extents 16 --fast-capacity 4 --readers 4 >"$DIR/out" \
    2>"$DIR/err" || { cat "$DIR/err" >&2; fail "tiering_bench --trace of reads failed"; }
awk '$1 == 1 && $2 == "reactive" { found = 1; moved = $8 } END { exit !(found && moved > 0) }' \
    "$DIR/out" || fail "the reactive LUN moved nothing on a trace of reads"
# Bad input: a clear error, no crash.
printf 'not a trace\n' >"$DIR/bad.csv"
"$BENCH" --conf "$RBDTIER_CEPH_CONF" --trace "$DIR/bad.csv" >"$DIR/out" 2>"$DIR/err" &&
    fail "a bad trace was accepted"
grep -q 'cannot replay the trace' "$DIR/err" || fail "bad trace message: $(cat "$DIR/err")"
echo "trace_smoke: passed"
