#!/bin/sh
# Replays every real trace of the shared trace folder (not tpcc_small: too short to judge a
# policy) in a two-tier model: fast tier 0.3 ms holding FAST of the working set, slow home
# 8 ms, BW MiB/s of migration bandwidth, at most CONC migrations at once. Prints one line per
# trace: each policy's mean latency (ms) with the share of the none->oracle gap it closes, then
# forecast (the engine alone) and predictive (the selector over none, reactive, frequency and
# forecast) against the best of reactive and frequency, and predictive against none (ratios of
# mean latencies; above 1.02 is marked LOSS).
# Usage: real_traces.sh RBDTIER [FAST=0.1] [BW=50] [CONC=32] [POLICIES=...]
set -eu
rbdtier=$1
fast=${2:-0.1}
bw=${3:-50}
conc=${4:-32}
policies=${5:-none,reactive,frequency,forecast,predictive,oracle}
traces=${TRACES:-$(dirname "$0")/../../../shared/data/traces}
model=$(mktemp)
trap 'rm -f "$model"' EXIT
cat >"$model" <<JSON
{"tiers": [{"name": "fast", "read_latency_us": 300, "write_latency_us": 300,
            "capacity_fraction": $fast},
           {"name": "slow", "read_latency_us": 8000, "write_latency_us": 8000}],
 "home": "slow", "bandwidth_mib_s": $bw, "max_concurrent": $conc}
JSON
for t in "$traces"/*; do
    case $t in *README* | *tpcc_small*) continue ;; esac
    "$rbdtier" replay "$t" --tiers "$model" --policy "$policies" --json |
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
print("%s fast=%s bw=%s conc=%s | %s" % (sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4],
                                        " | ".join(cells)), flush=True)
' "$(basename "$t")" "$fast" "$bw" "$conc"
done
