#!/bin/sh
# Runs real_traces.sh (every real trace of the shared trace folder, every policy, the two-tier
# model: fast tier 0.3 ms, slow home 8 ms) across a sweep of fast-tier share, migration
# bandwidth and concurrency, one line per trace and setting, as real_traces.sh prints them.
# Usage: sweep.sh RBDTIER [FASTS="0.05 0.1 0.2"] [BWS="20 50 200"] [CONCS="1 32"]
# Environment: TRACES (folder), POLICIES (comma list), ROUND (planning round, seconds).
set -eu
rbdtier=$1
fasts=${2:-0.05 0.1 0.2}
bws=${3:-20 50 200}
concs=${4:-1 32}
policies=${POLICIES:-none,reactive,frequency,forecast,predictive,oracle}
here=$(dirname "$0")
for fast in $fasts; do
    for bw in $bws; do
        for conc in $concs; do
            "$here/real_traces.sh" "$rbdtier" "$fast" "$bw" "$conc" "$policies"
        done
    done
done
