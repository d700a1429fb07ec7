#!/bin/sh
# What bounds a policy on each real trace of the shared trace folder (not tpcc_small): replays the
# trace in the two-tier model of two_tier.json beside this script three times, lifting one limit
# after the other, and prints per policy the share of the model's none->oracle gap it closes:
#   model    the model as the file says (its channel, a planning round of 1 s);
#   channel  the same with a channel that never waits (100,000 MiB/s, 4,096 migrations at once):
#            what a policy gains here is what the channel cost it;
#   round    that unbounded channel and a planning round of 0.1 s: what a policy gains here is
#            what waiting for the next round after an access cost it.
# A policy that promotes on access cannot serve from the fast tier the accesses that come before
# its promotion lands (the rest of a burst on an extent): what is left between its "round" share
# and the oracle's is reachable only by placing extents before they are accessed (prediction) or
# by keeping the ones whose next access comes soonest (retention). Shares are of the model's gap
# (none - oracle in the model), so a lifted limit can take a policy past 100%.
# Usage: bounds.sh RBDTIER [POLICIES=reactive,slru,predictive,oracle]
# Environment: TRACES (folder).
set -eu
rbdtier=$1
policies=${2:-reactive,slru,predictive,oracle}
traces=${TRACES:-$(dirname "$0")/../../../shared/data/traces}
model=$(dirname "$0")/two_tier.json
exec nice -n 19 python3 - "$rbdtier" "$traces" "$model" "none,$policies" <<'PY'
import json, os, subprocess, sys

rbdtier, folder, model, policies = sys.argv[1:5]
unbounded = ["--bandwidth", "100000", "--concurrency", "4096"]
settings = [("model", []), ("channel", unbounded), ("round", unbounded + ["--round", "0.1"])]


def mean_ms(path, args):
    out = subprocess.run([rbdtier, "replay", path, "--json", "--tiers", model, "--policy",
                          policies] + args, capture_output=True, text=True, check=True)
    return {r["policy"]: r["mean_latency_us"] / 1000 for r in json.loads(out.stdout)["results"]}


for name in sorted(os.listdir(folder)):
    if "README" in name or "tpcc_small" in name:
        continue
    path = os.path.join(folder, name)
    runs = [(label, mean_ms(path, args)) for label, args in settings]
    base = runs[0][1]
    room = base["none"] - base.get("oracle", 0)
    print("%s (none %.2f ms, model oracle %.2f ms)" % (name, base["none"], base.get("oracle", 0)))
    for p in policies.split(",")[1:]:
        cells = []
        for label, r in runs:
            share = 100 * (base["none"] - r[p]) / room if room > 1e-9 else 0.0
            cells.append("%s %.2f ms %3.0f%%" % (label, r[p], share))
        print("  %-11s %s" % (p, " | ".join(cells)), flush=True)
PY
