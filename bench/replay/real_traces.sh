#!/bin/sh
# Replays every real trace of the shared trace folder (not tpcc_small: too short to judge a
# policy) in the two-tier model of two_tier.json beside this script (a fast tier and a slow
# home; the share of the working set the fast tier holds, the migration bandwidth and the
# migrations at once are the model's unless FAST, BW (MiB/s) and CONC are given). Prints one
# line per trace: each policy's mean latency (ms) with the share of the none->oracle gap it
# closes, then forecast (the engine alone) and predictive (the selector over none, reactive,
# frequency and forecast) against the best of reactive and frequency, and predictive against
# none (ratios of mean latencies; above 1.02 is marked LOSS).
# Usage: real_traces.sh RBDTIER [FAST] [BW] [CONC] [POLICIES=...] (an empty argument: the
# model's value)
# Environment: TRACES (folder), ROUND (planning round of every policy, seconds; default the
# replay's).
set -eu
rbdtier=$1
fast=${2:-}
bw=${3:-}
conc=${4:-}
policies=${5:-none,reactive,frequency,forecast,predictive,oracle}
traces=${TRACES:-$(dirname "$0")/../../../shared/data/traces}
model=$(dirname "$0")/two_tier.json
for t in "$traces"/*; do
    case $t in *README* | *tpcc_small*) continue ;; esac
    "$rbdtier" replay "$t" --tiers "$model" ${fast:+--fast-fraction "$fast"} \
        ${bw:+--bandwidth "$bw"} ${conc:+--concurrency "$conc"} ${ROUND:+--round "$ROUND"} \
        --policy "$policies" --json |
        python3 -c '
import json, sys
j = json.load(sys.stdin)
r = {x["policy"]: x["mean_latency_us"] / 1000 for x in j["results"]}
none, oracle = r.get("none"), r.get("oracle")
cells = []
for p, v in r.items():
    gap = ""
    if none is not None and oracle is not None and none - oracle > 0:
        gap = " (%.0f%%)" % (100 * (none - v) / (none - oracle))
    cells.append("%s %.2f%s" % (p, v, gap))
simple = [r[p] for p in ("reactive", "frequency") if p in r]
if simple:
    best = min(simple)
    for p in ("forecast", "predictive"):
        if p in r and best > 0:
            ratio = r[p] / best
            cells.append("%s/best %.3f%s" % (p, ratio, " LOSS" if ratio > 1.02 else ""))
if "predictive" in r and none:
    ratio = r["predictive"] / none
    cells.append("predictive/none %.3f%s" % (ratio, " LOSS" if ratio > 1.02 else ""))
m = json.load(open(sys.argv[2]))
fast = sys.argv[3] or next(t["capacity_fraction"] for t in m["tiers"] if "capacity_fraction" in t)
bw = sys.argv[4] or m["bandwidth_mib_s"]
conc = sys.argv[5] or m["max_concurrent"]
print("%s fast=%s bw=%s conc=%s | %s" % (sys.argv[1], fast, bw, conc, " | ".join(cells)),
      flush=True)
' "$(basename "$t")" "$model" "$fast" "$bw" "$conc"
done
