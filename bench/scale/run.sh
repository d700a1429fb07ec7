#!/bin/bash
# run.sh — start a local Ceph cluster in a temporary directory and measure what an idle tiered
# LUN costs a gateway process: for each LUN count N, scale_bench (one process per measure) opens
# the N LUNs through handler_rbdtier.so (ours: tiered, two tier pools) or Debian's handler_rbd.so
# (the same images untiered), leaves them idle SETTLE_S seconds after the last open, and reads the
# process's threads, RSS and C heap. rbdtier's cost per LUN = (RSS ours - RSS handler_rbd) / N.
#
# The targets are measured in pairs, handler_rbd then ours, back to back, and each at the same
# mean age of its LUNs: idle LUNs' RSS grows with the time they are open (librbd's and ours, by
# tens of KiB per LUN and minute), and opening 1,000 LUNs takes from half a minute to several on
# a busy machine, ours longer than handler_rbd (it reads its tiering): measured at the same time
# after the last open, the target that opened slower would have older LUNs. So each process
# waits SETTLE_S after its last open and until its LUNs have been open MEAN_AGE_S on average
# (scale_bench --mean-age-s; both ages printed). A machine shared with other work drifts: each
# pair sees the same conditions and the cost is the median of the pairs' differences; every
# run and every pair's difference is printed. Per N:
#   first: the first tiered open of LUNs 0..N-1 in this cluster sets their tiering up (tier
#     images created and tagged, placement maps written): ours_first, paired with a handler_rbd
#     run just before it (handler_rbd_first); both opened after check_config, as when targetcli
#     creates the backstores (FIRST_CHECK=0: the open alone, as ceph-iscsi or targetcli
#     restoreconfig make them). Once per N (the tiering exists afterwards).
#   runs 1..RUNS: handler_rbd, ours (warm reopen: the tiering exists, as a gateway reopens its
#     LUNs after a restart), both by the open alone as tcmu-runner opens the LUNs it finds at its
#     start; then plain librbd opens of the same images (LIBRBD=0: not), for reference.
# The summary: per target the medians (threads, RSS, C heap in use and free, open time), then per
# N the cost per idle LUN of the warm reopen (median, every run's, and the differences of the C
# heap in use and free), of the first open, and the threads of both. The heap's free bytes are
# malloc's books (mallinfo2): free pages it gave back to the OS (malloc_trim) count there, not in
# the RSS.
# Stops the cluster by PID even on failure.
#
#   bench/scale/run.sh BUILD_DIR [N ...]      (default N: 10 50 200)
#   env: RUNS (3), SETTLE_S (10), MEAN_AGE_S (60), SIZE_GIB (100), POLICY (predictive),
#        FIRST_CHECK (1), LIBRBD (1), NICE (5: the benchmark's processes run under nice -n NICE),
#        OURS (handler_rbdtier.so to measure, default: BUILD_DIR/handler/handler_rbdtier.so),
#        STOCK (/usr/lib/x86_64-linux-gnu/tcmu-runner/handler_rbd.so),
#        RBDTIER_CLUSTER_SH (tests/cluster/cluster.sh)
#
#   CYCLES=K bench/scale/run.sh BUILD_DIR [N ...]      (default N: 10; SETTLE_S default 1)
# Whether a closed LUN's memory comes back: for handler_rbd and ours, RUNS processes each open
# the N LUNs, use them (ours: the policy moves the extents written), close them, K times
# (scale_bench --cycles). Prints every run (RSS before the first open, after the first and the
# last close, growth per cycle: least-squares slope of RSS after close over the last half of the
# cycles; ours: extents moved), then per N the medians and ours against handler_rbd.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:?usage: run.sh BUILD_DIR [N ...]}
shift
build=$(cd "$build" && pwd)
counts=("$@")
[[ ${#counts[@]} -gt 0 ]] || counts=(10 50 200)
runs=${RUNS:-3}
source "$here/targets.bash"

cycles=${CYCLES:-0}
[[ $cycles =~ ^[0-9]+$ ]] || { echo "run.sh: CYCLES must be a number of cycles" >&2; exit 2; }
[[ $cycles -eq 0 || -n ${1:-} ]] || counts=(10)

source "$here/../lib/cluster.bash"
bench_cluster_start scale
# The gateway's defaults, without an admin socket or metrics of the machine's configuration.
: >"$dir/rbdtier.conf"
export RBDTIER_CONF=$dir/rbdtier.conf

results=$dir/results
: >"$results"
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
field() { sed -n "s/.* $1=\([0-9.-]*\).*/\1/p"; }

if [[ $cycles -gt 0 ]]; then
    # One summary line per run, from scale_bench's "cycle=i ... rss_kib=R base_rss_kib=B" lines.
    summarize() {
        awk -v k="$cycles" '
            /^cycle=/ {
                for (i = 1; i <= NF; ++i) { split($i, kv, "="); f[kv[1]] = kv[2] }
                c = f["cycle"]; rss[c] = f["rss_kib"]; base = f["base_rss_kib"]
            }
            /^moved_extents=/ { split($0, kv, "="); moved = kv[2] }
            END {
                from = int(k / 2) + 1; n = 0; sx = sy = sxx = sxy = 0
                for (c = from; c <= k; ++c) { ++n; sx += c; sy += rss[c]; sxx += c * c; sxy += c * rss[c] }
                slope = (n > 1 && n * sxx != sx * sx) ? (n * sxy - sx * sy) / (n * sxx - sx * sx) : 0
                printf "base_kib=%d first_close_kib=%d last_close_kib=%d slope_kib_per_cycle=%.1f moved=%s\n",
                    base, rss[1], rss[k], slope, (moved == "" ? "-" : moved)
            }'
    }
    for n in "${counts[@]}"; do
        for r in $(seq "$runs"); do
            for target in handler_rbd ours; do
                so=(--so "$stock")
                [[ $target == ours ]] && so=(--so "$ours" --policy "${POLICY:-predictive}")
                line=$("$bench" --conf "$conf" --settle-s "${SETTLE_S:-1}" --size-gib "${SIZE_GIB:-100}" \
                    --target "$target" --luns "$n" --cycles "$cycles" "${so[@]}" | summarize)
                echo "run $r: target=$target luns=$n cycles=$cycles $line"
                echo "target=$target luns=$n $line" >>"$results"
            done
        done
    done
    printf '\n%-12s %5s %7s %10s %16s %15s %14s\n' target luns cycles "base MiB" "1st close MiB" \
        "last close MiB" "KiB/cycle"
    for n in "${counts[@]}"; do
        declare -A first=() last=()
        for target in handler_rbd ours; do
            rows=$(grep "target=$target luns=$n " "$results")
            base=$(field base_kib <<<"$rows" | median)
            first[$target]=$(field first_close_kib <<<"$rows" | median)
            last[$target]=$(field last_close_kib <<<"$rows" | median)
            slope=$(field slope_kib_per_cycle <<<"$rows" | median)
            printf '%-12s %5s %7s %10.1f %16.1f %15.1f %14s\n' "$target" "$n" "$cycles" \
                "$(echo "$base / 1024" | bc -l)" "$(echo "${first[$target]} / 1024" | bc -l)" \
                "$(echo "${last[$target]} / 1024" | bc -l)" "$slope"
        done
        printf 'N=%s after the first close: ours - handler_rbd %.1f MiB (x%.2f); after the last: %.1f MiB (x%.2f)\n' \
            "$n" "$(echo "(${first[ours]} - ${first[handler_rbd]}) / 1024" | bc -l)" \
            "$(echo "${first[ours]} / ${first[handler_rbd]}" | bc -l)" \
            "$(echo "(${last[ours]} - ${last[handler_rbd]}) / 1024" | bc -l)" \
            "$(echo "${last[ours]} / ${last[handler_rbd]}" | bc -l)"
    done
    exit 0
fi

common=(--conf "$conf" --settle-s "${SETTLE_S:-10}" --size-gib "${SIZE_GIB:-100}")
age=(--mean-age-s "${MEAN_AGE_S:-60}")
ours_args=(--so "$ours" --policy "${POLICY:-predictive}" "${age[@]}")
first_check=()
[[ ${FIRST_CHECK:-1} == 0 ]] && first_check=(--no-check-config)
# One process: target, N, a label for the results and the run's lines, scale_bench's options.
measure() {
    local target=$1 n=$2 label=$3 line
    shift 3
    line=$(nice -n "${NICE:-5}" "$bench" "${common[@]}" --target "$target" --luns "$n" "$@")
    line=${line/target=$target /target=$label }
    echo "$line" >>"$results"
    echo "$line"
}
# Per LUN, KiB: (field of `a` - field of `b`) / n, from two result lines.
per_lun() { echo "($(field "$1" <<<"$2") - $(field "$1" <<<"$3")) / $4" | bc -l; }
pair_line() {
    printf 'rss %.1f heap_used %.1f heap_free %.1f KiB/LUN (mean age %s s and %s s)' \
        "$(per_lun rss_kib "$1" "$2" "$3")" "$(per_lun heap_used_kib "$1" "$2" "$3")" \
        "$(per_lun heap_free_kib "$1" "$2" "$3")" "$(field mean_age_s <<<"$1")" \
        "$(field mean_age_s <<<"$2")"
}
for n in "${counts[@]}"; do
    # The first tiered open of LUNs 0..n-1 in this cluster sets their tiering up (tier images
    # created and tagged, placement maps written); handler_rbd opens them just before, the same
    # way, as its pair.
    h=$(measure handler_rbd "$n" handler_rbd_first --so "$stock" "${age[@]}" "${first_check[@]}")
    echo "first: $h"
    o=$(measure ours "$n" ours_first "${ours_args[@]}" "${first_check[@]}")
    echo "first: $o"
    echo "first: ours_first - handler_rbd_first: $(pair_line "$o" "$h" "$n")"
    echo "pair=first luns=$n rss_kib_per_lun=$(per_lun rss_kib "$o" "$h" "$n")" >>"$results"
    for r in $(seq "$runs"); do
        h=$(measure handler_rbd "$n" handler_rbd --so "$stock" "${age[@]}" --no-check-config)
        echo "run $r: $h"
        o=$(measure ours "$n" ours "${ours_args[@]}" --no-check-config)
        echo "run $r: $o"
        echo "run $r: ours - handler_rbd: $(pair_line "$o" "$h" "$n")"
        echo "pair=warm luns=$n rss_kib_per_lun=$(per_lun rss_kib "$o" "$h" "$n")" \
            "heap_used_kib_per_lun=$(per_lun heap_used_kib "$o" "$h" "$n")" \
            "heap_free_kib_per_lun=$(per_lun heap_free_kib "$o" "$h" "$n")" >>"$results"
        if [[ ${LIBRBD:-1} == 1 ]]; then
            echo "run $r: $(measure librbd "$n" librbd)"
        fi
    done
done

mib() { [[ -n $1 ]] && printf '%.1f' "$(echo "$1 / 1024" | bc -l)" || echo -; }
# Medians per (target, N), then the cost of a LUN: the median of the runs' differences ours -
# handler_rbd (each pair measured back to back, so that what drifts on a shared machine drifts
# for both), every run's difference listed.
printf '\n%-18s %6s %8s %12s %14s %14s %14s %8s %8s\n' target luns threads "RSS MiB" \
    "RSS KiB/LUN" "heap used MiB" "heap free MiB" "open s" "age s"
for n in "${counts[@]}"; do
    declare -A thr=()
    for target in librbd handler_rbd_first ours_first handler_rbd ours; do
        rows=$(grep "target=$target luns=$n " "$results" || true)
        [[ -n $rows ]] || continue
        rss=$(field rss_kib <<<"$rows" | median)
        thr[$target]=$(field threads <<<"$rows" | median)
        used=$(field heap_used_kib <<<"$rows" | median)
        free=$(field heap_free_kib <<<"$rows" | median)
        age_s=$(field mean_age_s <<<"$rows" | median)
        printf '%-18s %6s %8s %12.1f %14.1f %14s %14s %8s %8s\n' "$target" "$n" \
            "${thr[$target]}" "$(echo "$rss / 1024" | bc -l)" "$(echo "$rss / $n" | bc -l)" \
            "$(mib "$used")" "$(mib "$free")" "$(field open_s <<<"$rows" | median)" "${age_s:--}"
    done
    warm=$(grep "pair=warm luns=$n " "$results")
    printf 'N=%s rbdtier per idle LUN, warm reopen (ours - handler_rbd, median of %s runs): %.1f KiB (runs: %s); C heap in use %.1f KiB, heap free %.1f KiB\n' \
        "$n" "$runs" "$(field rss_kib_per_lun <<<"$warm" | median)" \
        "$(field rss_kib_per_lun <<<"$warm" | xargs printf '%.1f ' | sed 's/ $//')" \
        "$(field heap_used_kib_per_lun <<<"$warm" | median)" \
        "$(field heap_free_kib_per_lun <<<"$warm" | median)"
    printf 'N=%s rbdtier per LUN, first open (tier images created; ours_first - handler_rbd_first): %.1f KiB\n' \
        "$n" "$(grep "pair=first luns=$n " "$results" | field rss_kib_per_lun)"
    printf 'N=%s threads: ours %s, handler_rbd %s (ours - handler_rbd: %s)\n' "$n" "${thr[ours]}" \
        "${thr[handler_rbd]}" "$((thr[ours] - thr[handler_rbd]))"
done
