#!/bin/sh
# `rbdtier replay --sweep` end to end: a what-if sweep over a synthetic trace and (when present)
# over a shared real trace; the JSON parsed and checked (every point and every policy present,
# the swept values as asked, oracle's and reactive's mean latency never worse when only the fast
# share grows); the table and the plot; bad sweep specs refused as usage errors (exit 2).
# Usage: replay_sweep_test.sh /path/to/rbdtier [TRACES_DIR (default: ../shared/data/traces beside
# the project)]
set -u
RBDTIER=$1
TRACES=${2:-$(dirname "$0")/../../../../shared/data/traces}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/rbdtier-sweep-XXXXXX") || exit 1
trap 'rm -rf "$DIR"' EXIT
. "$(dirname "$0")/cli_lib.sh"

# check_json FILE POINTS POLICIES FAST_VALUES: every point x policy present, latencies sane, the
# fast share's effect monotone for oracle and reactive at every (bandwidth, concurrency).
check_json() {
    python3 - "$@" <<'PY' || fail "sweep JSON check: $1"
import json, sys
path, want_points, policies, fasts = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), \
    [float(x) for x in sys.argv[4].split(",")]
doc = json.load(open(path))
points = doc["points"]
assert len(points) == want_points, "points: %d, expected %d" % (len(points), want_points)
seen = set()
for p in points:
    key = (p["fast_fraction"], p["bandwidth_mib_s"], p["concurrency"])
    assert key not in seen, "point twice: %s" % (key,)
    seen.add(key)
    got = [r["policy"] for r in p["results"]]
    assert got == policies, "policies %s, expected %s" % (got, policies)
    for r in p["results"]:
        assert 0 < r["mean_latency_us"] <= r["p99_latency_us"] * 1.0001 or \
            r["mean_latency_us"] <= r["p99_latency_us"] + 1e-6, r
    best = min((r for r in p["results"] if r["policy"] != "oracle"),
               key=lambda r: r["mean_latency_us"])
    assert p["winner"] == best["policy"], "winner %s, best %s" % (p["winner"], best["policy"])
assert sorted({p["fast_fraction"] for p in points}) == sorted(fasts), "fast values"
# Only the fast share grows: reactive must not get slower (1% slack for rounding), nor oracle
# where the migration channel is not what limits it (200 MiB/s). At 20 MiB/s the channel is
# full and the oracle's look-ahead, a heuristic and not an optimum, fills the larger tier with
# promotions that crowd out more useful ones (e.g. shifting seed 11: 1.40 ms at 10%, 1.66 ms
# at 20%), so it is not asserted there.
for name in ("oracle", "reactive"):
    if name not in policies:
        continue
    groups = {}
    for p in points:
        if name == "oracle" and p["bandwidth_mib_s"] < 200:
            continue
        mean = next(r["mean_latency_us"] for r in p["results"] if r["policy"] == name)
        groups.setdefault((p["bandwidth_mib_s"], p["concurrency"]), []).append(
            (p["fast_fraction"], mean))
    for key, series in groups.items():
        series.sort()
        for (f0, m0), (f1, m1) in zip(series, series[1:]):
            assert m1 <= m0 * 1.01, "%s at %s: mean %.0f us at fast %.2f > %.0f us at %.2f" % (
                name, key, m1, f1, m0, f0)
print("ok %s: %d points x %d policies" % (path, len(points), len(policies)))
PY
}

# Synthetic: 3 fast shares x 2 bandwidths x 2 concurrencies = 12 points.
expect_rc 0 "generate" "$RBDTIER" replay --generate shifting --seed 11 --duration 200 --iops 50 \
    --out "$DIR/s.csv"
expect_rc 0 "sweep json" "$RBDTIER" replay "$DIR/s.csv" --policy none,reactive,frequency,oracle \
    --sweep fast=5%,10%,20% --sweep bandwidth=20,200 --sweep concurrency=1,32 --json
check_json "$DIR/out" 12 none,reactive,frequency,oracle 0.05,0.1,0.2

expect_rc 0 "sweep table and plot" "$RBDTIER" replay "$DIR/s.csv" --policy none,reactive,oracle \
    --sweep fast=5%,20% --sweep bandwidth=50,200 --plot "$DIR/sweep.html"
[ "$(grep -c '^point ' "$DIR/out")" -eq 4 ] || fail "table: expected 4 points: $(cat "$DIR/out")"
grep -q '^point 1/4: fast 5%' "$DIR/out" || fail "table lacks the first point"
grep -q 'best: ' "$DIR/out" || fail "table does not say which policy wins"
grep -q '^  reactive ' "$DIR/out" || fail "table lacks a policy row"
grep -q '<svg' "$DIR/sweep.html" && grep -q 'fast share' "$DIR/sweep.html" &&
    grep -q 'bandwidth' "$DIR/sweep.html" || fail "plot lacks a chart per swept dimension"
grep -q '<script' "$DIR/sweep.html" && fail "plot is not script-free"

# Bad specs: usage errors (exit 2) with a message naming the problem.
bad() {  # message-fragment sweep-args...
    frag=$1; shift
    expect_rc 2 "bad sweep $*" "$RBDTIER" replay "$DIR/s.csv" --policy none "$@"
    grep -q -- "$frag" "$DIR/err" || fail "bad sweep $*: message lacks '$frag': $(cat "$DIR/err")"
}
bad "unknown sweep dimension 'speed'" --sweep speed=1,2
bad "no values" --sweep fast=
bad "no values" --sweep bandwidth
bad "fast share" --sweep fast=0%,10%
bad "fast share" --sweep fast=10%,150%
bad "fast share" --sweep fast=10
bad "bandwidth" --sweep bandwidth=-5,10
bad "bandwidth" --sweep bandwidth=abc
bad "concurrency" --sweep concurrency=0,4
bad "concurrency" --sweep concurrency=1.5
bad "twice" --sweep fast=5%,5%
bad "twice" --sweep bandwidth=20,50 --sweep bandwidth=100
bad "points" --sweep fast=1%,2%,3%,4%,5%,6%,7%,8% --sweep bandwidth=10,20,30,40,50,60,70,80,90
bad "both" --sweep bandwidth=20,50 --bandwidth 30

# The shared real trace, when present.
if [ -f "$TRACES/msrc-flashnet_cut105-rw20-80_replayer-ms.trace" ]; then
    expect_rc 0 "real trace sweep" "$RBDTIER" replay \
        "$TRACES/msrc-flashnet_cut105-rw20-80_replayer-ms.trace" \
        --policy none,reactive,frequency,predictive,oracle --sweep fast=5%,10%,20% \
        --sweep bandwidth=20,200 --json
    check_json "$DIR/out" 6 none,reactive,frequency,predictive,oracle 0.05,0.1,0.2
else
    echo "no shared traces in $TRACES: real-trace sweep skipped"
fi
echo "replay_sweep_test: all passed"
