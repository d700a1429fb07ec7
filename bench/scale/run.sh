#!/bin/bash
# run.sh — start a local Ceph cluster in a temporary directory, run scale_bench for each LUN
# count and target (ours: handler_rbdtier.so, tiered; handler_rbd: Debian's handler_rbd.so;
# librbd: plain image opens), RUNS times each, one process per run; print every run, then per
# LUN count the medians and rbdtier's cost per LUN = (RSS ours - RSS handler_rbd) / N.
# The LUNs' tiering is set up (tier images created and tagged, placement maps written) by the
# first process that opens them tiered: that process is measured apart, once per LUN count, as
# target ours_first; the RUNS of ours open LUNs whose tiering exists, as a gateway does after
# a restart. Both costs per LUN are printed. Opened as tcmu-runner opens them: ours_first after
# check_config, as when targetcli creates the backstores (FIRST_CHECK=0: the open alone, as
# ceph-iscsi or targetcli restoreconfig make them); ours and handler_rbd by the open alone, as
# tcmu-runner opens the LUNs it finds at its start.
# Also per target the medians of the C heap in use and of the open time: idle LUNs grow with the
# time they have been open (bench/scale/scale_bench.cc --sample-s shows how), so a target that
# opens slower is measured older.
# Stops the cluster by PID even on failure.
#
#   bench/scale/run.sh BUILD_DIR [N ...]      (default N: 10 50 200)
#   env: RUNS (3), SETTLE_S (3), SIZE_GIB (100), POLICY (predictive), FIRST_CHECK (1),
#        OURS (handler_rbdtier.so to measure, default: the one in BUILD_DIR),
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
stock=${STOCK:-/usr/lib/x86_64-linux-gnu/tcmu-runner/handler_rbd.so}
bench=$(find "$build" -name scale_bench -type f -perm -u+x | head -n1)
ours=${OURS:-$(find "$build" -name handler_rbdtier.so -type f | head -n1)}
[[ -n $bench ]] || { echo "run.sh: scale_bench not built in $build" >&2; exit 2; }
[[ -n $ours ]] || { echo "run.sh: handler_rbdtier.so not built in $build" >&2; exit 2; }

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

common=(--conf "$conf" --settle-s "${SETTLE_S:-3}" --size-gib "${SIZE_GIB:-100}")
ours_args=(--so "$ours" --policy "${POLICY:-predictive}")
for n in "${counts[@]}"; do
    # The first tiered open of LUNs 0..n-1 in this cluster sets their tiering up.
    first_check=()
    [[ ${FIRST_CHECK:-1} == 0 ]] && first_check=(--no-check-config)
    line=$("$bench" "${common[@]}" --target ours --luns "$n" "${ours_args[@]}" "${first_check[@]}")
    line=${line/target=ours /target=ours_first }
    echo "first: $line"
    echo "$line" >>"$results"
    for r in $(seq "$runs"); do
        for target in librbd handler_rbd ours; do
            so=()
            [[ $target == ours ]] && so=("${ours_args[@]}" --no-check-config)
            [[ $target == handler_rbd ]] && so=(--so "$stock" --no-check-config)
            line=$("$bench" "${common[@]}" --target "$target" --luns "$n" "${so[@]}")
            echo "run $r: $line"
            echo "$line" >>"$results"
        done
    done
done

# Medians per (target, N), then the cost of a LUN. Idle LUNs' RSS grows with the time they have
# been open (librbd's and ours), so the open time is printed with it; the C heap in use (malloc's
# live bytes, mallinfo2) depends on it much less.
printf '\n%-12s %6s %8s %12s %16s %14s %8s\n' target luns threads "RSS MiB" "RSS KiB/LUN" \
    "heap used MiB" "open s"
for n in "${counts[@]}"; do
    declare -A rss=() thr=() used=()
    for target in librbd handler_rbd ours_first ours; do
        rows=$(grep "target=$target luns=$n " "$results")
        rss[$target]=$(field rss_kib <<<"$rows" | median)
        thr[$target]=$(field threads <<<"$rows" | median)
        used[$target]=$(field heap_used_kib <<<"$rows" | median)
        printf '%-12s %6s %8s %12.1f %16.1f %14s %8s\n' "$target" "$n" "${thr[$target]}" \
            "$(echo "${rss[$target]} / 1024" | bc -l)" "$(echo "${rss[$target]} / $n" | bc -l)" \
            "$([[ -n ${used[$target]} ]] && printf '%.1f' "$(echo "${used[$target]} / 1024" | bc -l)" || echo -)" \
            "$(field open_s <<<"$rows" | median)"
    done
    for ours_target in ours_first ours; do
        [[ -n ${used[$ours_target]} && -n ${used[handler_rbd]} ]] &&
            printf 'N=%s rbdtier heap in use per LUN: %.1f KiB (%s - handler_rbd)\n' "$n" \
                "$(echo "(${used[$ours_target]} - ${used[handler_rbd]}) / $n" | bc -l)" "$ours_target"
        printf 'N=%s rbdtier per LUN: %.1f KiB (%s - handler_rbd), %.1f KiB (%s - librbd); threads %s %s, handler_rbd %s\n' \
            "$n" "$(echo "(${rss[$ours_target]} - ${rss[handler_rbd]}) / $n" | bc -l)" "$ours_target" \
            "$(echo "(${rss[$ours_target]} - ${rss[librbd]}) / $n" | bc -l)" "$ours_target" \
            "$ours_target" "${thr[$ours_target]}" "${thr[handler_rbd]}"
    done
done
