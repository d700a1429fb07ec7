#!/usr/bin/env bash
# cluster_selftest.sh CLUSTER_SH — self-test of the local-cluster script (tests/cluster/cluster.sh).
#
# Starts two clusters side by side (in parallel, ports picked by the script) in temporary directories,
# the second --steady, and checks: both healthy; the second's OSDs keep objects in pages and cap
# their PG logs, the first's do neither (Ceph's defaults); different ports, isolated from each other; every pool maps to its own
# OSD; latency injection makes hdd-a measurably slower than nvme-a (median of 4 KiB ops, >= 2 ms)
# and turning it off restores it; osd-stop makes a pool unreachable and osd-start brings it back
# with its data, in both modes (kill and --freeze); stop leaves no process behind (checked by PID).
# Cleans up (stops both clusters, removes the directories) on success and on failure.
set -euo pipefail

SH=${1:?usage: cluster_selftest.sh path/to/cluster.sh}
TMP=$(mktemp -d /tmp/rbdtier-cluster-selftest.XXXXXX)
A=$TMP/a
B=$TMP/b
PIDS=()

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
step() { echo "--- $*"; }

cleanup() {
    "$SH" stop "$A" >/dev/null 2>&1 || true
    "$SH" stop "$B" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT

# median_of POOL FIELD BENCH_OUTPUT: the number after FIELD on POOL's line.
median_of() {
    awk -v pool="$1" -v field="$2" '$1 == pool { for (i = 2; i < NF; i++) if ($i == field) print $(i + 1) }' <<<"$3"
}

# at_least X Y: X >= Y (decimals)
at_least() { awk -v x="$1" -v y="$2" 'BEGIN { exit !(x >= y) }'; }

step "start two clusters side by side"
mkdir -p "$A" "$B"
"$SH" start "$A" >"$TMP/start-a.log" 2>&1 &
pa=$!
"$SH" start "$B" --steady >"$TMP/start-b.log" 2>&1 &
pb=$!
wait "$pa" || fail "start A: $(cat "$TMP/start-a.log")"
wait "$pb" || fail "start B: $(cat "$TMP/start-b.log")"
grep -h 'started in' "$TMP/start-a.log" "$TMP/start-b.log"

step "both healthy, on different ports, isolated"
for d in "$A" "$B"; do
    "$SH" check "$d"
    health=$(ceph -c "$d/ceph.conf" health)
    [[ $health == HEALTH_OK ]] || fail "$d: $health"
done
port_a=$(awk '$1 == "mon" {print $2}' "$A/ports")
port_b=$(awk '$1 == "mon" {print $2}' "$B/ports")
[[ -n $port_a && -n $port_b && $port_a != "$port_b" ]] || fail "ports: A=$port_a B=$port_b"
grep -q "mon host = v2:127.0.0.1:$port_a" "$A/ceph.conf" || fail "A's ceph.conf lacks its port"
fsid_a=$(ceph -c "$A/ceph.conf" fsid)
fsid_b=$(ceph -c "$B/ceph.conf" fsid)
[[ $fsid_a != "$fsid_b" ]] || fail "both clients reach the same cluster ($fsid_a)"
echo only-in-a | rados -c "$A/ceph.conf" -p nvme-a put isolation -
if timeout 30 rados -c "$B/ceph.conf" -p nvme-a stat isolation 2>/dev/null; then
    fail "object written in A is visible in B"
fi

step "pools map to their OSDs, in their datacenters"
for spec in nvme-a:0:site-a:nvme hdd-a:1:site-a:hdd nvme-b:2:site-b:nvme hdd-b:3:site-b:hdd; do
    IFS=: read -r pool osd site class <<<"$spec"
    for obj in one two three; do
        acting=$(ceph -c "$A/ceph.conf" osd map "$pool" "$obj" -f json | jq -c .acting)
        [[ $acting == "[$osd]" ]] || fail "$pool/$obj is on $acting, want [$osd]"
    done
    loc=$(ceph -c "$A/ceph.conf" osd find "$osd" -f json | jq -r '.crush_location.datacenter')
    [[ $loc == "$site" ]] || fail "osd.$osd is in datacenter $loc, want $site"
    cls=$(ceph -c "$A/ceph.conf" osd crush get-device-class "osd.$osd")
    [[ $cls == "$class" ]] || fail "osd.$osd has class $cls, want $class"
done

step "--steady: B's OSDs keep objects in pages and cap PG logs; A's run Ceph's defaults"
# osd_config DIR N OPTION: the value osd.N runs with.
osd_config() { timeout 15 ceph --admin-daemon "$1/run/osd.$2.asok" config get "$3" | jq -r ".$3"; }
for n in 0 1 2 3; do
    [[ $(osd_config "$B" "$n" memstore_page_set) == true ]] || fail "B osd.$n: memstore_page_set not on"
    [[ $(osd_config "$B" "$n" osd_max_pg_log_entries) == 500 ]] || fail "B osd.$n: PG log not capped"
    [[ $(osd_config "$B" "$n" osd_pg_log_dups_tracked) == 500 ]] || fail "B osd.$n: dups not capped"
    [[ $(osd_config "$A" "$n" memstore_page_set) == false ]] || fail "A osd.$n: memstore_page_set on"
    [[ $(osd_config "$A" "$n" osd_max_pg_log_entries) == 10000 ]] || fail "A osd.$n: PG log capped"
done

step "latency injection: hdd-a (osd.1) slower than nvme-a (osd.0)"
base=$("$SH" bench "$A" -n 40 nvme-a hdd-a)
echo "$base"
"$SH" latency "$A" hdd-a 0.004
slow=$("$SH" bench "$A" -n 40 nvme-a hdd-a)
echo "$slow"
for op in write_ms read_ms; do
    fast_ms=$(median_of nvme-a $op "$slow")
    slow_ms=$(median_of hdd-a $op "$slow")
    at_least "$slow_ms" "$(awk -v f="$fast_ms" 'BEGIN { print f + 2 }')" ||
        fail "$op: hdd-a $slow_ms ms is not >= nvme-a $fast_ms ms + 2 ms"
done
"$SH" latency "$A" hdd-a 0
off=$("$SH" bench "$A" -n 40 hdd-a)
echo "$off"
for op in write_ms read_ms; do
    off_ms=$(median_of hdd-a $op "$off")
    on_ms=$(median_of hdd-a $op "$slow")
    at_least "$(awk -v o="$on_ms" 'BEGIN { print o / 2 }')" "$off_ms" ||
        fail "$op: hdd-a still slow after latency 0 ($off_ms ms, was $on_ms ms)"
done

# osd_cycle DIR N POOL [--freeze]: stop osd.N, its pool must not answer; start it, data is back.
osd_cycle() {
    local dir=$1 n=$2 pool=$3 mode=()
    [[ -n ${4:-} ]] && mode=("$4")
    head -c 1048576 /dev/urandom >"$TMP/blob"
    rados -c "$dir/ceph.conf" -p "$pool" put blob "$TMP/blob"
    "$SH" osd-stop "$dir" "$n" "${mode[@]}"
    if timeout 30 rados -c "$dir/ceph.conf" --rados-osd-op-timeout 3 -p "$pool" stat blob 2>/dev/null; then
        fail "pool $pool answers while osd.$n is stopped (${mode[*]:-kill})"
    fi
    # the other pools still work
    local other=nvme-a
    [[ $pool == nvme-a ]] && other=hdd-b
    echo x | timeout 30 rados -c "$dir/ceph.conf" --rados-osd-op-timeout 10 -p "$other" put alive - ||
        fail "pool $other does not answer while osd.$n is stopped"
    "$SH" osd-start "$dir" "$n"
    rados -c "$dir/ceph.conf" --rados-osd-op-timeout 10 -p "$pool" get blob "$TMP/blob.back"
    cmp -s "$TMP/blob" "$TMP/blob.back" ||
        fail "data in $pool changed across osd-stop/start (${mode[*]:-kill})"
}

step "osd-stop / osd-start keep the data (kill mode, osd.2 of B)"
osd_cycle "$B" 2 nvme-b
step "osd-stop --freeze / osd-start keep the data (osd.3 of B)"
osd_cycle "$B" 3 hdd-b --freeze
"$SH" check "$B"

step "stop both; no process of theirs remains"
for d in "$A" "$B"; do
    while read -r _ pid; do PIDS+=("$pid"); done <"$d/run/daemons"
done
((${#PIDS[@]} >= 10)) || fail "only ${#PIDS[@]} daemon PIDs recorded"
"$SH" stop "$A"
"$SH" stop "$B"
"$SH" stop "$B" # idempotent
for pid in "${PIDS[@]}"; do
    if [[ -e /proc/$pid ]]; then
        state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo gone)
        cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" || true)
        [[ $state == Z || $state == gone || $cmd != *"$TMP"* ]] ||
            fail "process $pid ($cmd) still runs after stop"
    fi
done
for p in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline" || true)
    [[ $cmd != *"$TMP/"?"/ceph.conf"* ]] || fail "process ${p#/proc/} ($cmd) still runs after stop"
done
echo "PASS"
