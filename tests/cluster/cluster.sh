#!/usr/bin/env bash
# cluster.sh — a real, throw-away Ceph 16.2 cluster on loopback for rbdtier's tests, demo and
# benchmarks, built from Debian's ceph-mon/ceph-osd packages (and ceph-mgr, --mgr).
#
# Contract
#   cluster.sh start DIR [--port-base N] [--latency] [--mgr] [--steady]
#       1 monitor (mon.a) + 4 memstore OSDs, no mgr, auth none, msgr2 only, everything under DIR
#       (conf, data, logs, admin sockets, pid files, crash dumps). A cluster still running in DIR is
#       stopped and DIR wiped first (only if it holds nothing but a cluster.sh cluster).
#       --mgr (or RBDTIER_CLUSTER_MGR=1): also a manager, mgr.x, for what only a mgr answers
#       (`ceph df` and the pgmap figures of `ceph -s` come from its reports, `ceph service
#       dump|status` from it: gwcli and ceph-iscsi's disk status need them). Its data in
#       DIR/mgr.x; its port from the cluster's block like the OSDs' (DIR/ports names it once it is
#       active). Its module path, DIR/mgr-modules, holds only the modules Ceph keeps always on
#       (their absence is HEALTH_ERR MGR_MODULE_ERROR), devicehealth with its monitoring off (no
#       device_health_metrics pool); none of the others (prometheus, restful, influx, ...: start-up
#       time, network) is loaded. start then also waits until the mgr is active and `ceph df` shows
#       every pool's statistics. Without --mgr the cluster runs no manager.
#       --steady: a cluster whose cost per op does not drift as I/O accumulates, for benchmarks
#       that compare figures taken minutes apart. By default memstore keeps an object as one
#       bufferlist that every small overwrite splits further (a 4 KiB write or read walks up to
#       1,024 pieces of a 4 MiB object), and each PG's log grows to 10,000 entries (plus 3,000
#       dups) before it trims: the OSD's CPU per 4 KiB op grows by half or more over the first
#       ~100,000 writes. --steady sets `memstore page set = true` (objects in fixed 64 KiB pages:
#       a write copies into its page whatever came before) and caps each PG's log at 500 entries
#       and 500 dups, reached within the first few thousand writes.
#       Ports: the monitor listens on BASE, the OSDs bind in BASE+1..BASE+99; without --port-base a
#       free block is picked (under a machine-wide lock, so several clusters can start side by side)
#       and recorded in DIR/ports. Takes ~5 s on an idle machine, 9-17 s with load 14 on 2 cores.
#       CRUSH: root default > datacenter site-a > host a-nvme > osd.0 (class nvme)
#                                                > host a-hdd  > osd.1 (class hdd)
#                           > datacenter site-b > host b-nvme > osd.2 (class nvme)
#                                                > host b-hdd  > osd.3 (class hdd)
#       one rule and one size-1 pool per (class, site): nvme-a, hdd-a, nvme-b, hdd-b (8 PGs each,
#       application rbd), and meta-a on nvme-a's rule (so on osd.0): the pool for the header (and
#       so the placement map and settings) of a home image whose data is elsewhere (`rbd create
#       --data-pool hdd-a meta-a/IMAGE`). The OSDs drop a client's watch 10 s after its last ping (Ceph: 30 s;
#       a watch that sets its own timeout, like the placement map's 30 s, keeps it), so a killed
#       client stops delaying librbd's lock notifications sooner.
#       Returns once every pool takes a write and a read on its intended OSD; prints the time taken.
#       --latency applies the default latency profile (see `latency`).
#   cluster.sh stop DIR            stop every daemon started in DIR, by PID; idempotent.
#   cluster.sh status DIR          daemons (pid, running/frozen/stopped), OSD map, pools, latencies.
#   cluster.sh env DIR             shell `export` lines (CEPH_CONF, RBDTIER_CEPH_CONF, ...).
#   cluster.sh check DIR           exit 0 iff 4 OSDs up/in and each pool maps to, writes and reads
#                                  on its intended OSD.
#   cluster.sh latency DIR OSD|POOL SECONDS
#       emulate slow media / distance: sets osd_debug_inject_dispatch_delay_probability=1 and
#       _duration=SECONDS (0 = off) at runtime through the OSD's admin socket; remembered and
#       re-applied when the OSD is restarted. Note: the OSD sleeps that long at each of several
#       points an op passes (fast dispatch, op dequeue, ...), so a 4 KiB op costs about
#       3 x SECONDS (measured: 0.001 -> 3.7 ms, 0.004 -> 13 ms, 0.005 -> 16 ms).
#       Default profile (--latency): nvme-a 0, hdd-a 0.004, nvme-b 0.001, hdd-b 0.005.
#   cluster.sh bench DIR [-n OPS] [POOL...]
#       median latency of OPS (default 50) sequential 4 KiB writes and reads per pool, one line per
#       pool: "POOL write_ms W read_ms R" (python3-rados, one client connection).
#   cluster.sh osd-stop DIR N [--freeze]   /   cluster.sh osd-start DIR N
#       Make osd.N unreachable without losing its data, and bring it back.
#       Default (kill): SIGTERM to the OSD, which runs with `osd fast shutdown = false` so that it
#       unmounts its store and memstore writes its objects to DIR/osd.N (memstore keeps nothing
#       after a *fast* shutdown, Pacific's default, or a SIGKILL: the data is then gone and its PGs
#       never come back). Clients get connection refused; the monitor marks the OSD down at once.
#       osd-start runs the daemon again (memstore reloads its objects), re-applies its latency,
#       waits until it is up and its pool answers. (512 MiB of data: stop 5.7 s, start 2.9 s.)
#       --freeze: SIGSTOP the OSD and mark it down (`ceph osd down`): TCP stays open but nothing
#       answers, like a hung host. osd-start sends SIGCONT; the OSD notices it was marked down and
#       boots again.
#       Both modes leave the OSD in the map (`mon osd down out interval = 0`), so its PGs wait for
#       it (size 1: I/O to its pools blocks until it returns or the client's osd_op_timeout fires).
#
# Exit status: 0 on success; otherwise non-zero with one message on stderr.
set -euo pipefail

readonly PY=/usr/bin/python3 # Debian's python, which has the rados module (not a pyenv one)
readonly NUM_OSDS=4
readonly OSD_CLASS=(nvme hdd nvme hdd)
readonly OSD_SITE=(a a b b)
# Pools of their own on an OSD's rule (pool:rule), beside the one pool per OSD.
readonly EXTRA_POOLS=(meta-a:nvme-a)
readonly DEFAULT_LATENCY=(0 0.004 0.001 0.005)
readonly PORT_SPAN=100
readonly PORT_LOCK=/tmp/rbdtier-cluster-ports.lock
readonly MEMSTORE_BYTES=${RBDTIER_MEMSTORE_BYTES:-2147483648}
readonly MGR=mgr.x

die() {
    echo "cluster.sh: $*" >&2
    exit 1
}
log() { echo "cluster.sh: $*" >&2; }
phase() { # progress of start, with RBDTIER_CLUSTER_TRACE=1
    [[ -z ${RBDTIER_CLUSTER_TRACE:-} ]] || echo "cluster.sh: [$(date +%T.%N | cut -c1-12)] $*" >&2
}
now() { date +%s.%N; }

pool_of_osd() { echo "${OSD_CLASS[$1]}-${OSD_SITE[$1]}"; }

# wait_for SECONDS WHAT CMD...: poll CMD every 0.1 s until it succeeds or the deadline passes.
wait_for() {
    local secs=$1 what=$2
    shift 2
    local deadline
    deadline=$(($(date +%s%N) + secs * 1000000000))
    until "$@" >/dev/null 2>&1; do
        if (($(date +%s%N) > deadline)); then
            log "timed out after ${secs}s waiting for: $what"
            return 1
        fi
        sleep 0.1
    done
}

abs_dir() { # abs_dir DIR CREATE(0|1): DIR as an absolute path
    [[ -n ${1:-} ]] || die "missing DIR"
    if [[ ! -d $1 ]]; then
        (($2)) || return 1
        mkdir -p "$1"
    fi
    (cd "$1" && pwd -P)
}

# The cluster's client commands; every one bounded in time.
cephc() { timeout 60 ceph -c "$DIR/ceph.conf" --connect-timeout 20 "$@"; }
radosc() { timeout 60 rados -c "$DIR/ceph.conf" "$@"; }
asok() { timeout 15 ceph --admin-daemon "$DIR/run/$1.asok" "${@:2}"; }

# --- processes -------------------------------------------------------------------------------

# pid_of NAME: the live PID of daemon NAME started in DIR, or nothing. A PID is trusted only if
# /proc shows a ceph daemon using this DIR's ceph.conf (guards against PID reuse).
pid_of() {
    local name=$1 pid
    for f in "$DIR/run/$name.pid" "$DIR/run/$name.started"; do
        [[ -s $f ]] || continue
        pid=$(<"$f")
        if [[ $pid =~ ^[0-9]+$ ]] && owns_pid "$pid"; then
            echo "$pid"
            return
        fi
    done
}

owns_pid() {
    local cmd
    cmd=$(tr "\\0" " " 2>/dev/null <"/proc/$1/cmdline") || return 1
    [[ $cmd == @(ceph-mon|ceph-osd|ceph-mgr)" -c $DIR/ceph.conf "* ]]
}

daemon_names() {
    local i
    for ((i = 0; i < NUM_OSDS; i++)); do echo "osd.$i"; done
    [[ ! -d $DIR/$MGR ]] || echo "$MGR" # only in a cluster started with --mgr
    echo mon.a
}

proc_state() { awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo X; }

# start_daemon NAME BINARY ARGS...: run a daemon (it forks), record its PID.
start_daemon() {
    local name=$1 bin=$2
    shift 2
    rm -f "$DIR/run/$name.pid"
    "$bin" -c "$DIR/ceph.conf" "$@" >>"$DIR/log/$name.out" 2>&1 9>&- ||
        die "$name failed to start (see $DIR/log/$name.out, $DIR/log/$name.log)"
    wait_for 20 "$name pid file" test -s "$DIR/run/$name.pid" || die "$name wrote no pid file"
    local pid
    pid=$(<"$DIR/run/$name.pid")
    owns_pid "$pid" || die "$name exited at start (see $DIR/log/$name.log)"
    echo "$pid" >"$DIR/run/$name.started"
    echo "$name $pid" >>"$DIR/run/daemons"
}

# stop_pids SECONDS PID...: SIGTERM (and SIGCONT, in case frozen), wait, then SIGKILL.
stop_pids() {
    local secs=$1
    shift
    (($# > 0)) || return 0
    kill -TERM "$@" 2>/dev/null || true
    kill -CONT "$@" 2>/dev/null || true
    local deadline=$(($(date +%s%N) + secs * 1000000000)) p alive
    while :; do
        alive=()
        for p in "$@"; do still_ours "$p" && alive+=("$p"); done
        ((${#alive[@]} == 0)) && return 0
        if (($(date +%s%N) > deadline)); then
            log "SIGKILL to ${alive[*]} (no exit after ${secs}s)"
            kill -KILL "${alive[@]}" 2>/dev/null || true
            wait_for 10 "SIGKILLed daemons to go" no_pid_alive "${alive[@]}" ||
                die "daemons ${alive[*]} survive SIGKILL"
            return 0
        fi
        sleep 0.1
    done
}

no_pid_alive() {
    local p
    for p in "$@"; do still_ours "$p" && return 1; done
    return 0
}

# still_ours PID: a PID we already knew as ours has not finished exiting. An exiting process loses
# its cmdline before it closes its files; a zombie has finished (only its parent's reaping is left).
still_ours() {
    [[ -e /proc/$1 && $(proc_state "$1") != Z ]] || return 1
    local cmd
    cmd=$(tr "\\0" " " 2>/dev/null <"/proc/$1/cmdline") || return 1
    [[ -z $cmd ]] || owns_pid "$1"
}

# --- configuration ---------------------------------------------------------------------------

port_busy() { # port_busy FROM TO: some socket uses a local port in [FROM, TO]
    ss -Htan | awk -v lo="$1" -v hi="$2" '
        { n = split($4, a, ":"); p = a[n] + 0; if (p >= lo && p <= hi) f = 1 } END { exit !f }'
}

pick_port_base() {
    local base
    for ((base = 21000; base + PORT_SPAN <= 32700; base += PORT_SPAN)); do
        port_busy "$base" $((base + PORT_SPAN - 1)) || {
            echo "$base"
            return
        }
    done
    die "no free block of $PORT_SPAN ports in 21000-32700"
}

write_conf() { # write_conf FSID BASE MGR(0|1) STEADY(0|1)
    local fsid=$1 base=$2 mgr=$3 steady=$4
    cat >"$DIR/ceph.conf" <<EOF
# Generated by cluster.sh for a throw-away test cluster; ports $base-$((base + PORT_SPAN - 1)).
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$base
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind msgr2 = true
ms bind port min = $((base + 1))
ms bind port max = $((base + PORT_SPAN - 1))
auth cluster required = none
auth service required = none
auth client required = none
run dir = $DIR/run
crash dir = $DIR/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd crush update on start = false
osd class update on start = false
mon osd down out interval = 0
mon warn on osd down out interval zero = false
mon warn on insecure global id reclaim allowed = false
mon data avail warn = 2
mon data avail crit = 1
osd max markdown count = 1000
paxos propose interval = 0.01
paxos min wait = 0.001

[mon]
mon data = $DIR/\$name
mon cluster log file = $DIR/log/cluster.log
log file = $DIR/log/\$name.log
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid

[osd]
osd data = $DIR/\$name
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd fast shutdown = false
# A killed client's watches go after 10 s instead of 30 (clients ping every 5 s): until then
# every lock notification librbd sends on the image waits 5 s for the dead one's answer. Only
# watches that name no timeout of their own (librbd's): the placement map's asks for 30 s.
osd client watch timeout = 10
log file = $DIR/log/\$name.log
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
EOF
    if ((steady)); then
        cat >>"$DIR/ceph.conf" <<EOF
# --steady: the same cost per op after 1,000 writes as after 1,000,000.
memstore page set = true
osd min pg log entries = 100
osd max pg log entries = 500
osd pg log dups tracked = 500
EOF
    fi
    ((mgr)) || return 0
    # The monitor reads this when its store is made: the mgr map enables no module.
    sed -i '/^\[mon\]$/a mgr initial modules =' "$DIR/ceph.conf"
    cat >>"$DIR/ceph.conf" <<EOF

[mgr]
mgr data = $DIR/\$name
# Only the always-on modules (setup_mgr_modules); \`ceph df\`, \`ceph service dump|status\` and
# the pgmap are the mgr's own.
mgr module path = $DIR/mgr-modules
mgr standby modules = false
log file = $DIR/log/\$name.log
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
EOF
}

# The CRUSH tree, rules and pools, as monitor commands sent over one client connection (each
# ceph CLI call costs 0.2-1 s of python start-up on a loaded machine; this costs one).
setup_crush_and_pools() {
    local i s c cmds=()
    for s in a b; do
        cmds+=("$(jq -nc --arg dc "site-$s" '{prefix: "osd crush add-bucket", name: $dc,
                                              type: "datacenter"}')")
        cmds+=("$(jq -nc --arg dc "site-$s" '{prefix: "osd crush move", name: $dc,
                                              args: ["root=default"]}')")
    done
    for ((i = 0; i < NUM_OSDS; i++)); do
        s=${OSD_SITE[$i]} c=${OSD_CLASS[$i]}
        cmds+=("$(jq -nc --argjson id "$i" --arg s "$s" --arg c "$c" '{prefix: "osd crush add",
            id: $id, weight: 0.002,
            args: ["root=default", "datacenter=site-\($s)", "host=\($s)-\($c)"]}')")
        cmds+=("$(jq -nc --arg osd "osd.$i" '{prefix: "osd crush rm-device-class", ids: [$osd]}')")
        cmds+=("$(jq -nc --arg osd "osd.$i" --arg c "$c" '{prefix: "osd crush set-device-class",
                                                           class: $c, ids: [$osd]}')")
    done
    for ((i = 0; i < NUM_OSDS; i++)); do
        s=${OSD_SITE[$i]} c=${OSD_CLASS[$i]}
        cmds+=("$(jq -nc --arg s "$s" --arg c "$c" '{prefix: "osd crush rule create-replicated",
            name: "\($c)-\($s)", root: "site-\($s)", type: "osd", class: $c}')")
        cmds+=("$(jq -nc --arg p "$c-$s" '{prefix: "osd pool create", pool: $p, pg_num: 8,
            pgp_num: 8, pool_type: "replicated", rule: $p}')")
        cmds+=("$(jq -nc --arg p "$c-$s" '{prefix: "osd pool application enable", pool: $p,
                                           app: "rbd"}')")
    done
    local extra
    for extra in "${EXTRA_POOLS[@]}"; do
        cmds+=("$(jq -nc --arg p "${extra%%:*}" --arg r "${extra#*:}" '{prefix: "osd pool create",
            pool: $p, pg_num: 8, pgp_num: 8, pool_type: "replicated", rule: $r}')")
        cmds+=("$(jq -nc --arg p "${extra%%:*}" '{prefix: "osd pool application enable",
                                                 pool: $p, app: "rbd"}')")
    done
    pytool mon "${cmds[@]}"
}

# The mgr's module directory: only the modules Ceph keeps always on (the monitor reports any it
# cannot load as HEALTH_ERR MGR_MODULE_ERROR) and the helpers they import, linked from the
# package's directory; the mgr imports every module in its path at start, enabled or not.
# devicehealth would create a device_health_metrics pool: its monitoring is off.
setup_mgr_modules() {
    local src m mods
    src=$(ceph-conf -c /dev/null --show-config-value mgr_module_path) || return 1
    mods=$(pytool mgr-modules) || return 1
    mkdir -p "$DIR/mgr-modules"
    for m in "$src"/*.py $mods; do
        [[ $m == /* ]] || m=$src/$m
        [[ -e $m ]] || {
            log "mgr module $m not found (package ceph-mgr-modules-core)"
            return 1
        }
        ln -s "$m" "$DIR/mgr-modules/"
    done
}

# --- checks ----------------------------------------------------------------------------------

osds_up_in() { # osds_up_in N: the OSD map shows N OSDs up and N in
    local j
    j=$(cephc osd stat -f json) || return 1
    [[ $(jq -r '"\(.num_up_osds) \(.num_in_osds)"' <<<"$j") == "$1 $1" ]]
}

osd_is_up() { # osd_is_up N [0|1]: osd.N is (1, default) / is not (0) up in the OSD map
    local want=${2:-1} j
    j=$(cephc osd dump -f json) || return 1
    [[ $(jq -r --argjson n "$1" '.osds[] | select(.osd == $n) | .up' <<<"$j") == "$want" ]]
}

mgr_port() { # the port of the active mgr's address
    cephc mgr dump -f json | jq -r '.active_addrs.addrvec[0].addr | split(":") | last'
}

pool_answers() { # read the probe object in POOL
    radosc --rados-osd-op-timeout 5 -p "$1" stat rbdtier-probe >/dev/null
}

# healthy: 4 OSDs up and in, each pool maps to its own OSD only and takes a write and a read there.
# Returns non-zero (and says why on stderr) rather than exiting, so wait_for can retry it.
healthy() {
    local i extra spec=()
    for ((i = 0; i < NUM_OSDS; i++)); do spec+=("$(pool_of_osd "$i"):$i"); done
    for extra in "${EXTRA_POOLS[@]}"; do spec+=("${extra%%:*}:$(osd_arg "${extra#*:}")"); done
    pytool healthy "$NUM_OSDS" "${spec[@]}"
}

cmd_check() {
    healthy || die "cluster in $DIR is not healthy"
    echo "cluster in $DIR is healthy: $NUM_OSDS OSDs up/in, pools on their OSDs, all serving"
}

# --- latency ---------------------------------------------------------------------------------

osd_arg() { # osd number from "N", "osd.N" or a pool name
    local a=${1#osd.} i
    if [[ $a =~ ^[0-9]+$ ]] && ((a < NUM_OSDS)); then
        echo "$a"
        return
    fi
    for ((i = 0; i < NUM_OSDS; i++)); do
        [[ $(pool_of_osd "$i") == "$1" ]] && {
            echo "$i"
            return
        }
    done
    die "no such OSD or pool: $1"
}

apply_latency() { # apply_latency N SECONDS
    local prob=1
    [[ $2 =~ ^[0-9]*\.?[0-9]+$ ]] || die "latency must be seconds (e.g. 0.004), got: $2"
    [[ $2 =~ ^0*\.?0*$ ]] && prob=0
    if ! asok "osd.$1" config set osd_debug_inject_dispatch_delay_duration "$2" >/dev/null ||
        ! asok "osd.$1" config set osd_debug_inject_dispatch_delay_probability "$prob" \
            >/dev/null; then
        die "osd.$1: admin socket did not take the latency setting"
    fi
    echo "$2" >"$DIR/run/osd.$1.latency"
}

cmd_latency() {
    (($# == 2)) || die "usage: cluster.sh latency DIR OSD|POOL SECONDS"
    local n
    n=$(osd_arg "$1")
    [[ -n $(pid_of "osd.$n") ]] || die "osd.$n is not running"
    apply_latency "$n" "$2"
    log "osd.$n ($(pool_of_osd "$n")): injected dispatch delay $2 s"
}

# --- commands --------------------------------------------------------------------------------

cmd_start() {
    local base="" latency=0 mgr=0 steady=0
    [[ ${RBDTIER_CLUSTER_MGR:-0} == 0 ]] || mgr=1
    while (($#)); do
        case $1 in
        --port-base)
            base=${2:-}
            [[ $base =~ ^[0-9]+$ ]] || die "--port-base needs a number"
            shift 2
            ;;
        --latency)
            latency=1
            shift
            ;;
        --mgr)
            mgr=1
            shift
            ;;
        --steady)
            steady=1
            shift
            ;;
        *) die "start: unknown option $1" ;;
        esac
    done
    local t0 n
    t0=$(now)
    for n in $(daemon_names); do
        if [[ -n $(pid_of "$n") ]]; then # left over, e.g. by an interrupted test run
            log "a cluster is still running in $DIR; stopping it first"
            cmd_stop
            break
        fi
    done
    if [[ -n $(ls -A "$DIR") ]]; then # only ever wipe a directory this script made
        head -1 "$DIR/ceph.conf" 2>/dev/null | grep -q '^# Generated by cluster.sh' ||
            die "$DIR is not empty and holds no cluster.sh cluster; refusing to wipe it"
        find "$DIR" -mindepth 1 -delete
    fi
    mkdir -p "$DIR/run" "$DIR/log" "$DIR/crash"
    trap 'log "start failed; stopping what was started"; cmd_stop >/dev/null 2>&1 || true' EXIT

    # Ports: chosen and bound under one machine-wide lock, so parallel starts never collide.
    exec 9>"$PORT_LOCK"
    flock -w 120 9 || die "could not take $PORT_LOCK"
    local t_lock
    t_lock=$(now)
    if [[ -z $base ]]; then
        base=$(pick_port_base)
    elif port_busy "$base" $((base + PORT_SPAN - 1)); then
        die "ports $base-$((base + PORT_SPAN - 1)) are in use"
    fi
    printf 'mon %s\nosd_min %s\nosd_max %s\n' "$base" $((base + 1)) $((base + PORT_SPAN - 1)) \
        >"$DIR/ports"

    phase "ports chosen"
    local fsid
    fsid=$(uuidgen)
    write_conf "$fsid" "$base" "$mgr" "$steady"
    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$base]" "$DIR/monmap" \
        >"$DIR/log/monmaptool.out"
    ceph-mon -c "$DIR/ceph.conf" --mkfs -i a --monmap "$DIR/monmap" >"$DIR/log/mon.a.out" 2>&1 ||
        die "ceph-mon --mkfs failed (see $DIR/log)"
    phase "mon started"
    start_daemon mon.a ceph-mon -i a
    wait_for 20 "monitor answers" cephc osd stat || die "monitor does not answer"

    phase "mon answers"
    if ((mgr)); then # started now, so that it boots while the OSDs are made
        setup_mgr_modules || die "could not set up the mgr's modules"
        mkdir -p "$DIR/$MGR"
        start_daemon "$MGR" ceph-mgr -i "${MGR#mgr.}"
        phase "mgr started"
    fi
    local i uuids=() mkfs=() cmds=()
    for ((i = 0; i < NUM_OSDS; i++)); do
        uuids[i]=$(uuidgen)
        cmds+=("$(jq -nc --arg u "${uuids[i]}" --argjson id "$i" '{prefix: "osd new", uuid: $u,
                                                                    id: $id}')")
    done
    pytool mon "${cmds[@]}" || die "could not create the OSDs in the OSD map"
    for ((i = 0; i < NUM_OSDS; i++)); do
        mkdir -p "$DIR/osd.$i"
        ceph-osd -c "$DIR/ceph.conf" -i "$i" --mkfs --osd-uuid "${uuids[i]}" \
            >"$DIR/log/osd.$i.mkfs" 2>&1 9>&- &
        mkfs+=($!)
    done
    phase "osds created"
    for i in "${!mkfs[@]}"; do wait "${mkfs[$i]}" || die "ceph-osd --mkfs for osd.$i failed"; done
    phase "osds mkfs done"
    setup_crush_and_pools || die "could not set up CRUSH and pools"
    phase "crush and pools done"
    for ((i = 0; i < NUM_OSDS; i++)); do start_daemon "osd.$i" ceph-osd -i "$i"; done
    phase "osds started"
    wait_for 30 "$NUM_OSDS OSDs up and in" osds_up_in "$NUM_OSDS" || die "OSDs did not come up"
    phase "osds up"
    local t_ready
    t_ready=$(now)
    wait_for 30 "every pool serving on its OSD" healthy || die "pools are not healthy"
    phase "healthy"
    local t_mgr="" mgr_at=""
    if ((mgr)); then
        pytool mgr-ready 60 || die "$MGR is not serving"
        t_mgr=$(now)
        mgr_at=$(mgr_port) || die "no address of $MGR in the mgr map"
        printf 'mgr %s\n' "$mgr_at" >>"$DIR/ports"
        phase "mgr active"
    fi
    flock -u 9
    exec 9>&-
    if ((latency)); then
        for ((i = 0; i < NUM_OSDS; i++)); do apply_latency "$i" "${DEFAULT_LATENCY[$i]}"; done
    fi
    trap - EXIT
    awk -v t0="$t0" -v tl="$t_lock" -v t1="$t_ready" -v t2="$(now)" -v b="$base" \
        -v e=$((base + PORT_SPAN - 1)) -v l="$( ((latency)) && echo on || echo off)" 'BEGIN {
        printf "cluster.sh: started in %.1f s (%.1f s waiting for the port lock, OSDs up " \
               "after %.1f s); ports %s-%s; latency profile %s\n",
            t2 - t0, tl - t0, t1 - t0, b, e, l }' >&2
    [[ -z $t_mgr ]] || awk -v t0="$t0" -v t="$t_mgr" -v p="$mgr_at" 'BEGIN {
        printf "cluster.sh: mgr.x active, answering `ceph df`, %.1f s after start; port %s\n",
            t - t0, p }' >&2
    echo "export CEPH_CONF=$DIR/ceph.conf"
}

cmd_stop() {
    [[ -d $DIR/run ]] || return 0
    local n p osds=() mgrs=() mons=()
    for n in $(daemon_names); do
        p=$(pid_of "$n")
        [[ -n $p ]] || continue
        case $n in
        osd.*) osds+=("$p") ;;
        mgr.*) mgrs+=("$p") ;;
        *) mons+=("$p") ;;
        esac
    done
    # Whole-cluster stop discards data: no memstore save. Frozen OSDs are resumed first.
    if ((${#osds[@]})); then kill -CONT "${osds[@]}" 2>/dev/null || true; fi
    for n in $(daemon_names); do
        [[ $n == osd.* && -n $(pid_of "$n") ]] &&
            { asok "$n" config set osd_fast_shutdown true >/dev/null 2>&1 || true; } &
    done
    wait
    stop_pids 30 "${osds[@]}" # OSDs first: they tell the monitor they are going
    stop_pids 30 "${mgrs[@]}"
    stop_pids 30 "${mons[@]}"
    # Anything ever recorded in DIR/run/daemons must be gone.
    if [[ -s $DIR/run/daemons ]]; then
        local left=()
        while read -r n p; do owns_pid "$p" && left+=("$p"); done <"$DIR/run/daemons"
        stop_pids 10 "${left[@]}"
    fi
    rm -f "$DIR"/run/*.pid "$DIR"/run/*.stopped
    log "stopped cluster in $DIR"
}

cmd_osd_stop() {
    (($# >= 1)) || die "usage: cluster.sh osd-stop DIR N [--freeze]"
    local n mode=kill p
    n=$(osd_arg "$1")
    [[ ${2:-} == --freeze ]] && mode=freeze
    p=$(pid_of "osd.$n")
    [[ -n $p ]] || die "osd.$n is not running"
    [[ -e $DIR/run/osd.$n.stopped ]] && die "osd.$n is already stopped"
    if [[ $mode == freeze ]]; then
        kill -STOP "$p"
        echo freeze >"$DIR/run/osd.$n.stopped"
        cephc osd down "$n" >/dev/null 2>&1
    else
        echo kill >"$DIR/run/osd.$n.stopped"
        stop_pids 60 "$p"
        # A clean shutdown has told the monitor; make sure (it must not wait for a grace period).
        osd_is_up "$n" 0 || cephc osd down "$n" >/dev/null 2>&1
    fi
    wait_for 30 "osd.$n marked down" osd_is_up "$n" 0 || die "osd.$n is still up in the map"
    log "osd.$n ($(pool_of_osd "$n")) stopped ($mode)"
}

cmd_osd_start() {
    (($# == 1)) || die "usage: cluster.sh osd-start DIR N"
    local n mode p
    n=$(osd_arg "$1")
    [[ -e $DIR/run/osd.$n.stopped ]] || die "osd.$n was not stopped by osd-stop"
    mode=$(<"$DIR/run/osd.$n.stopped")
    if [[ $mode == freeze ]]; then
        p=$(pid_of "osd.$n")
        [[ -n $p ]] || die "frozen osd.$n has gone"
        kill -CONT "$p"
    else
        [[ -z $(pid_of "osd.$n") ]] || die "osd.$n is still running"
        start_daemon "osd.$n" ceph-osd -i "$n"
    fi
    rm -f "$DIR/run/osd.$n.stopped"
    wait_for 60 "osd.$n up" osd_is_up "$n" 1 || die "osd.$n did not come back up"
    if [[ -s $DIR/run/osd.$n.latency && $mode == kill ]]; then
        apply_latency "$n" "$(<"$DIR/run/osd.$n.latency")"
    fi
    wait_for 60 "pool $(pool_of_osd "$n") answering" pool_answers "$(pool_of_osd "$n")" ||
        die "pool $(pool_of_osd "$n") does not answer after osd.$n restarted"
    log "osd.$n ($(pool_of_osd "$n")) started ($mode)"
}

cmd_status() {
    [[ -f $DIR/ceph.conf ]] || die "no cluster in $DIR"
    local n p state lat
    echo "dir $DIR"
    sed 's/^/ports: /' "$DIR/ports"
    for n in $(daemon_names); do
        p=$(pid_of "$n")
        if [[ -z $p ]]; then
            state=stopped
        elif [[ $(proc_state "$p") == T ]]; then
            state=frozen
        else
            state=running
        fi
        lat=""
        [[ -s $DIR/run/$n.latency ]] && lat=" latency=$(<"$DIR/run/$n.latency")s"
        echo "$n pid=${p:--} $state$lat"
    done
    [[ -n $(pid_of mon.a) ]] || return 0
    cephc osd stat
    cephc osd tree
    local rules
    rules=$(cephc osd crush rule dump -f json)
    cephc osd pool ls detail -f json | jq -r --argjson rules "$rules" '.[] |
        . as $p | ($rules[] | select(.rule_id == $p.crush_rule) | .rule_name) as $r |
        "pool \(.pool_name): rule \($r), size \(.size), pg_num \(.pg_num), " +
        "application \(.application_metadata | keys | join(","))"'
}

cmd_env() {
    echo "export CEPH_CONF=$DIR/ceph.conf"
    echo "export RBDTIER_CEPH_CONF=$DIR/ceph.conf"
    echo "export RBDTIER_CLUSTER_DIR=$DIR"
    local self
    self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
    echo "export RBDTIER_CLUSTER_SH=$self"
}

cmd_bench() {
    local ops=50
    if [[ ${1:-} == -n ]]; then
        ops=${2:?}
        shift 2
    fi
    local pools=("$@") i
    if ((${#pools[@]} == 0)); then
        for ((i = 0; i < NUM_OSDS; i++)); do pools+=("$(pool_of_osd "$i")"); done
    fi
    pytool bench "$ops" "${pools[@]}"
}

# pytool SUB ARGS...: the client-side work that is cheaper in one librados connection than in many
# CLI calls. SUB is one of
#   mon JSON...            send monitor commands in order; stop at the first that fails
#   healthy N POOL:OSD...  N OSDs up and in; each POOL maps to OSD only; write+read a probe object
#   bench OPS POOL...      median latency of OPS sequential 4 KiB writes and reads per pool
#   mgr-modules            turn devicehealth's monitoring off (the mgr reads it at start) and
#                          print the modules Ceph keeps always on, one a line
#   mgr-ready SECONDS      wait until the mgr map has an available mgr and `df` shows every
#                          pool's statistics (which the mgr reports), polling every 0.1 s
pytool() {
    timeout 300 "$PY" - "$DIR/ceph.conf" "$@" <<'EOF'
import json, statistics, sys, time
import rados

conf, sub, args = sys.argv[1], sys.argv[2], sys.argv[3:]


def fail(msg):
    print('cluster.sh: ' + msg, file=sys.stderr)
    sys.exit(1)


def mon(cluster, cmd):
    ret, out, err = cluster.mon_command(json.dumps(cmd), b'', timeout=30)
    if ret != 0:
        fail('monitor command %s failed: %s (%d)' % (json.dumps(cmd), err, ret))
    return out


def healthy(cluster, n, specs):
    stat = json.loads(mon(cluster, {'prefix': 'osd stat', 'format': 'json'}))
    if (stat['num_up_osds'], stat['num_in_osds']) != (n, n):
        fail('%d OSDs up, %d in; want %d' % (stat['num_up_osds'], stat['num_in_osds'], n))
    for spec in specs:
        pool, osd = spec.rsplit(':', 1)
        m = json.loads(mon(cluster, {'prefix': 'osd map', 'pool': pool,
                                     'object': 'rbdtier-probe', 'format': 'json'}))
        if m['up'] != [int(osd)] or m['acting'] != [int(osd)]:
            fail('pool %s maps to up %s acting %s, not [%s]' % (pool, m['up'], m['acting'], osd))
        data = ('probe %s %d' % (pool, time.time_ns())).encode()
        with cluster.open_ioctx(pool) as io:
            io.write_full('rbdtier-probe', data)
            if io.read('rbdtier-probe', 4096) != data:
                fail('pool %s: probe object reads back wrong' % pool)


def mgr_modules(cluster):
    # Before the mgr has reported its modules' options the monitor knows none: force.
    mon(cluster, {'prefix': 'config set', 'who': 'mgr', 'force': True,
                  'name': 'mgr/devicehealth/enable_monitoring', 'value': 'false'})
    always_on = json.loads(mon(cluster, {'prefix': 'mgr dump', 'format': 'json'}))['always_on_modules']
    # The newest release the monitor knows: Ceph's release names go in alphabetical order.
    print('\n'.join(always_on[max(always_on)]))


def mgr_ready(cluster, seconds):
    deadline, why = time.monotonic() + seconds, 'no answer'
    while time.monotonic() < deadline:
        try:
            if json.loads(mon(cluster, {'prefix': 'mgr stat', 'format': 'json'}))['available']:
                # The monitor answers df from the statistics the mgr sends it.
                df = json.loads(mon(cluster, {'prefix': 'df', 'format': 'json'}))
                if df['pools'] and all(p['stats']['max_avail'] > 0 for p in df['pools']):
                    return
                why = 'df shows no pool statistics yet'
            else:
                why = 'the mgr map has no available mgr'
        except rados.Error as e:
            why = str(e)
        time.sleep(0.1)
    fail('timed out after %ds waiting for the mgr: %s' % (seconds, why))


def bench(cluster, ops, pools):
    data = bytes(range(256)) * 16  # 4 KiB
    for pool in pools:
        with cluster.open_ioctx(pool) as io:
            names = ['rbdtier-bench.%d' % i for i in range(ops)]
            io.write_full(names[0], data)  # warm up the session to the OSD
            io.read(names[0], len(data))
            w, r = [], []
            for name in names:
                t = time.perf_counter()
                io.write_full(name, data)
                w.append(time.perf_counter() - t)
            for name in names:
                t = time.perf_counter()
                got = io.read(name, len(data))
                r.append(time.perf_counter() - t)
                if got != data:
                    fail('%s: read back differs from what was written' % pool)
            for name in names:
                io.remove_object(name)
            print('%s write_ms %.3f read_ms %.3f' % (
                pool, statistics.median(w) * 1e3, statistics.median(r) * 1e3), flush=True)


cluster = rados.Rados(conffile=conf, conf={
    'client_mount_timeout': '15', 'rados_osd_op_timeout': '10', 'rados_mon_op_timeout': '15'})
try:
    cluster.connect(timeout=15)
except rados.Error as e:
    fail('cannot connect to the cluster: %s' % e)
try:
    if sub == 'mon':
        for c in args:
            mon(cluster, json.loads(c))
    elif sub == 'healthy':
        healthy(cluster, int(args[0]), args[1:])
    elif sub == 'bench':
        bench(cluster, int(args[0]), args[1:])
    elif sub == 'mgr-modules':
        mgr_modules(cluster)
    elif sub == 'mgr-ready':
        mgr_ready(cluster, int(args[0]))
    else:
        fail('pytool: unknown subcommand ' + sub)
except rados.Error as e:
    fail('%s: %s' % (sub, e))
finally:
    cluster.shutdown()
EOF
}

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    exit 2
}

main() {
    (($# >= 2)) || usage
    local cmd=$1
    [[ $cmd == @(start|stop|status|env|check|latency|bench|osd-stop|osd-start) ]] || usage
    if ! DIR=$(abs_dir "$2" "$([[ $cmd == start ]] && echo 1 || echo 0)"); then
        [[ $cmd == stop ]] && exit 0 # nothing was ever started there
        die "no cluster directory $2"
    fi
    shift 2
    case $cmd in
    start) cmd_start "$@" ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    check) cmd_check ;;
    latency) cmd_latency "$@" ;;
    bench) cmd_bench "$@" ;;
    osd-stop) cmd_osd_stop "$@" ;;
    osd-start) cmd_osd_start "$@" ;;
    *) usage ;;
    esac
}

main "$@"
