#!/bin/sh
# Held-out-style evidence from the shared real traces: replays windows of each trace as if each
# were a trace of its own (rbdtier replay --window): 60 s windows from three start points (the
# start, a third in, two thirds in), 10 min windows from the start and the middle of traces of
# at least 20 min, and the whole trace; in the two-tier model of two_tier.json beside this script
# (a fast tier holding a share of the window's working set, a slow home) at each SETTING: "model"
# as the file says, FAST/BW/CONC its fast share, migration bandwidth (MiB/s) and migrations at
# once instead of the file's, "default" the default tier settings. One line per window and setting:
# each policy's mean latency (ms), the share of the none->oracle gap that predictive and the
# best of reactive and frequency close, predictive/best (above 1.02: LOSS) and LOW when
# predictive closes 10 points less of the gap than reactive. Then a summary per half: the
# windows of the traces named in DEV (the development half: choose parameters on it) and of
# the others (held out).
# Usage: windows.sh RBDTIER [SETTINGS="model 0.05/20/1 0.2/200/32 default"]
# Environment: TRACES (folder), DEV (trace name parts; default "webserver-2 msnfs cut1370"),
# ONLY (a trace name part: only those traces), WHOLE=0 (leave the whole traces out: real_traces.sh
# replays them), ROUND (planning round of every policy, seconds; default the replay's).
set -eu
rbdtier=$1
settings=${2:-model 0.05/20/1 0.2/200/32 default}
traces=${TRACES:-$(dirname "$0")/../../../shared/data/traces}
exec nice -n 19 python3 - "$rbdtier" "$traces" "$(dirname "$0")/two_tier.json" \
    "${DEV:-webserver-2 msnfs cut1370}" "${ONLY:-}" "${WHOLE:-1}" "${ROUND:-}" $settings <<'PY'
import json, os, subprocess, sys

rbdtier, folder, model, dev, only, whole, round_s = sys.argv[1:8]
settings = sys.argv[8:]
dev = dev.split()
policies = "none,reactive,frequency,predictive,oracle"


def tier_options(setting):
    """The replay's options for a SETTING (see the top of the script)."""
    if setting == "default":
        return []
    if setting == "model":
        return ["--tiers", model]
    fast, bw, conc = setting.split("/")
    return ["--tiers", model, "--fast-fraction", fast, "--bandwidth", bw, "--concurrency", conc]


def run(path, args):
    rounds = ["--round", round_s] if round_s else []
    out = subprocess.run([rbdtier, "replay", path, "--json"] + rounds + args, capture_output=True,
                         text=True)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)


def windows(duration):
    out = []
    if duration >= 60:
        for start in (0, duration / 3, 2 * duration / 3):
            if start + 60 <= duration:
                out.append(("60s@%d" % start, "%d:60" % start))
    if duration >= 1200:
        for start in (0, duration / 2):
            out.append(("10m@%d" % start, "%d:600" % start))
    if whole != "0":
        out.append(("whole", None))
    return out


rows = []
for name in sorted(os.listdir(folder)):
    if "README" in name or "tpcc_small" in name or (only and only not in name):
        continue
    path = os.path.join(folder, name)
    probe = run(path, ["--policy", "none"])
    if probe is None:
        continue
    short = next((d for d in dev + [""] if d and d in name), None)
    half = "dev" if short else "held-out"
    for wname, window in windows(probe["trace"]["duration_s"]):
        for s in settings:
            args = ["--policy", policies]
            if window:
                args += ["--window", window]
            j = run(path, args + tier_options(s))
            if j is None:
                print("%s %s %s | no I/O" % (name[:40], wname, s), flush=True)
                continue
            r = {x["policy"]: x["mean_latency_us"] / 1000 for x in j["results"]}
            none, oracle = r["none"], r["oracle"]
            room = none - oracle
            share = {p: (100 * (none - v) / room if room > 1e-9 else 0.0) for p, v in r.items()}
            best = min(("reactive", "frequency"), key=lambda p: r[p])
            ratio = r["predictive"] / r[best] if r[best] > 0 else 1.0
            flags = []
            if ratio > 1.02:
                flags.append("LOSS")
            if share["predictive"] < share["reactive"] - 10:
                flags.append("LOW")
            rows.append((half, ratio, share["predictive"], share[best], share["reactive"],
                         flags))
            print("%-8s %-40s %-9s %-11s | %s | pred %.0f%% best(%s) %.0f%% | pred/best %.3f %s"
                  % (half, name[:40], wname, s,
                     " ".join("%s %.2f" % (p[:4], r[p]) for p in r), share["predictive"],
                     best[:4], share[best], ratio, " ".join(flags)), flush=True)
for half in ("dev", "held-out"):
    h = [x for x in rows if x[0] == half]
    if not h:
        continue
    n = len(h)
    print("%s: %d cases | LOSS %d | LOW %d | pred/best mean %.3f max %.3f | gap share: pred mean "
          "%.1f%%, best simple mean %.1f%%, reactive mean %.1f%% | pred - best min %.1f points"
          % (half, n, sum("LOSS" in x[5] for x in h), sum("LOW" in x[5] for x in h),
             sum(x[1] for x in h) / n, max(x[1] for x in h), sum(x[2] for x in h) / n,
             sum(x[3] for x in h) / n, sum(x[4] for x in h) / n,
             min(x[2] - x[3] for x in h)))
PY
