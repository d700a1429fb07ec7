#!/bin/bash
# tests/e2e/guest.sh: the guest half of the end-to-end test (run by the guest's init from the 9p share
# mounted at /e2e; the host half is run.sh). Contract:
#   in:  /e2e/params (shell variables written by run.sh), /e2e/handler/handler_<subtype>.so, or
#        with DEB set, /e2e/$DEB: the handler's Debian package, installed with dpkg -i (tcmu-runner
#        then loads the handler from its own handler directory, as on a gateway),
#        /e2e/lib/ (host libraries the guest lacks), /e2e/ceph.conf (guest view of the cluster),
#        /e2e/pattern.py (the deterministic data pattern shared with the host check),
#        with README_LUN=1 /e2e/readme_lun.sh: the README's targetcli line that creates the tiered
#        LUN (backstore BACKSTORE), its parameters assigned by run.sh.
#   out: /e2e/result (key=value lines: phase timings, fio figures, status), exit status 0 only if every
#        step passed.
#   TIERED=1 (a tiered LUN): after writing the pattern, keeps reading it back with direct I/O and
#        comparing, and asks the host (/e2e/want_moved) to watch the placement map; stops once the
#        host answers (/e2e/moved: every extent of the pattern is away from home) and compares once
#        more, or fails after MOVE_WAIT_SECONDS. Every failure names its step in "FAIL: <reason>" and exits non-zero.
#   SUBTYPE=rbdtier: the LUN is exported to two initiator names only (an ACL each, no demo mode):
#        INITIATOR_IQN (the default iface) does the pattern, moves and fio phases; then a second
#        iface with its own InitiatorName (INITIATOR_B_IQN) logs in and writes its own region
#        (B_OFFSET, B_BYTES). Before each initiator's I/O the guest waits (bounded) until the
#        handler's admin socket says the LUN's commands are that initiator's alone (exact
#        attribution from configfs), and at the end it checks with `lun show` that each region
#        is attributed to its initiator and not to the other (initiators.py).
#   MULTIPATH=1 (after the user:rbdtier phases, before RBD_MODE): two gateways of the LUN in this
#        target (multipath.py setup: backstores gw1 and gw2 of CFGSTRING with the WWN MP_WWN, tpg1 on
#        MP_IP1 in ALUA group ao, tpg2 on MP_IP2 in group ano2 of MP_TARGET_IQN); checks the
#        configfs ALUA groups; udevd and multipathd (/e2e/multipath.conf) join the two logins into
#        one map with paths of prio 50 and 10; checks both paths' VPD 0x80/0x83; switches the map
#        to gw1's path group (multipathd may have made gw2's the first); writes MP_WRITES random
#        writes (seed MP_SEED) in [MP_OFFSET, +MP_BYTES) through the map, reading it all back,
#        through gw1, through gw2 after tpg1 is disabled, through gw1 after tpg1 is enabled and
#        tpg2 disabled, each round's read-back counted by LIO on that gateway's target port alone;
#        leaves the shadow copy as /e2e/mp_shadow and the gateways and initiator gone. Each
#        tcmu-runner's log is kept as /e2e/tcmu-runner.NAME.log before the next one starts.
#   RBD_MODE=1 (after the user:rbdtier phases, in the same boot): serves a second image as user:rbd,
#        as ceph-iscsi creates LUNs: Debian's handler_rbd.so diverted out of tcmu-runner's handler
#        directory with dpkg-divert, rbdtier.conf handler_subtype = rbd, our handler in that
#        directory (the package's place), tcmu-runner restarted, targetcli
#        /backstores/user:rbd create with handler_rbd's cfgstring (RBD_CFGSTRING). Proves our
#        handler serves it (its log: "registered as subtype rbd", the LUN opened with the tiers
#        its image metadata names, RBD_TIERS; its admin socket lists the LUN) and writes a
#        pattern (seed SEED, RBD_PATTERN_BYTES at offset 0) through iSCSI, read back and compared.
#   GW_MODE=1 (after RBD_MODE, same boot, handler still subtype rbd): ceph-iscsi 3.5 manages a
#        LUN. The guest is named GW_NAME (resolving to GW_IP, the portal), /etc/ceph/ceph.conf and
#        /etc/ceph/iscsi-gateway.cfg (gateway.conf in GW_CONFIG_POOL, API user GW_API_USER,
#        minimum_gateways 1) are written, tcmu-runner and rbd-target-api started. Through the REST
#        API (curl, as gwcli and the dashboard call it) it creates the target GW_TARGET_IQN and the
#        gateway; `gwcli /disks create` the disk GW_POOL/GW_IMAGE (an existing image whose
#        metadata tiers it: GW_TIERS, reactive); the API adds it to the target and gives
#        INITIATOR_IQN an ACL for it; GET /api/config must show all four. Proves our handler serves
#        ceph-iscsi's user:rbd backstore (its tiered "opened:" log line, its admin socket), logs in
#        to GW_IP, writes a pattern (seed GW_SEED, GW_PATTERN_BYTES at offset 0) and reads it
#        until the admin socket shows an extent away from home (MOVE_WAIT_SECONDS at most). Still
#        logged in, it waits (90 s at most) until rbd-target-api reports the disk Online with
#        GW_NAME as lock owner, runs `gwcli ls` once (kept as /e2e/gwcli-ls.txt, the API's disk as
#        /e2e/gw-disk.json) and checks with gwcli_check.py that it shows the disk, target,
#        gateway, client and pool as configured, and that the check fails for an absent disk;
#        and reads rbd-target-gw's metrics (started with rbd-target-api, syslogd.py taking its
#        syslog) for the LUN's size and mapping. Then
#        stops rbd-target-api (which removes its LIO objects: checked) and tcmu-runner, starts
#        both, and requires the LUN restored by rbd-target-api from gateway.conf, opened tiered by
#        our handler again, the pattern read back through a new login. Records the time of each
#        ceph-iscsi step (gw_*_ms).
# It serves the RBD image through the real kernel path: LIO (target_core_mod) -> TCMU
# (target_core_user) -> tcmu-runner -> the handler -> librbd -> the host's cluster, and reaches it as an
# iSCSI initiator (open-iscsi) on the guest's loopback portal.
set -euo pipefail
# shellcheck source=/dev/null
source /e2e/params

RESULT=/e2e/result
: >"$RESULT"
STEP=init
TCMU_PID=""
ISCSID_PID=""
API_PID="" # ceph-iscsi's rbd-target-api (GW_MODE)
GWD_PID=""    # ceph-iscsi's rbd-target-gw, its metrics exporter (GW_MODE)
SYSLOG_PID="" # syslogd.py, the guest's stand-in for syslogd (GW_MODE)

log() { echo "guest: $*"; }
record() { echo "$1=${2//$'\n'/ | }" >>"$RESULT"; } # one line per key
# targetcli with its harmless first-run warning removed.
tcli() { targetcli "$@" 2>&1 | grep -v 'Could not load preferences file'; return "${PIPESTATUS[0]}"; }
fail() {
  log "FAIL: $STEP: $*"
  record status "FAIL: $STEP: $*"
  exit 1
}
now_ms() { date +%s%3N; }
T0=$(now_ms)
phase_start() {
  STEP=$1
  PHASE_T=$(now_ms)
  log "== $STEP"
}
phase_end() { record "time_$STEP" "$(($(now_ms) - PHASE_T))"; }

# Wait until a command succeeds, at most $1 seconds.
wait_for() {
  local limit=$1
  shift
  local deadline=$(($(date +%s) + limit))
  until "$@" >/dev/null 2>&1; do
    (($(date +%s) < deadline)) || return 1
    sleep 0.2
  done
}

# keep_tcmu_log NAME: the log of the tcmu-runner that served the phases so far, kept as
# /e2e/tcmu-runner.NAME.log before the next tcmu-runner starts with an empty one.
keep_tcmu_log() { cp /var/log/tcmu-runner.log "/e2e/tcmu-runner.$1.log" 2>/dev/null || true; }

# True when process $1 has exited (a zombie child counts as exited).
gone() { [[ ! -e /proc/$1 ]] || [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]]; }

MP_ACTIVE=0   # the multipath phase has made its gateways and initiator (MULTIPATH)
MPATHD_PID="" # multipathd
UDEVD_STARTED=0
MP_NAME=""
# mp_teardown: the multipath phase's initiator and gateways gone, as found before it. Queued I/O
# is failed first (no_path_retry queue would hold it forever once the paths are gone).
mp_teardown() {
  ((MP_ACTIVE)) || return 0
  if [[ -n $MP_NAME ]]; then
    dmsetup message "$MP_NAME" 0 fail_if_no_path >/dev/null 2>&1
    multipath -f "$MP_NAME" >/dev/null 2>&1 || dmsetup remove --force "$MP_NAME" >/dev/null 2>&1
    MP_NAME=""
  fi
  if [[ -n $MPATHD_PID ]]; then
    kill "$MPATHD_PID" 2>/dev/null && wait_for 20 gone "$MPATHD_PID"
    MPATHD_PID=""
  fi
  iscsiadm -m node -T "$MP_TARGET_IQN" --logout >/dev/null 2>&1
  iscsiadm -m node -T "$MP_TARGET_IQN" -o delete >/dev/null 2>&1
  if ((UDEVD_STARTED)); then
    udevadm control --exit >/dev/null 2>&1
    UDEVD_STARTED=0
  fi
  python3 /e2e/target.py clear >/dev/null 2>&1
  ip addr del "$MP_IP2/24" dev eth0 >/dev/null 2>&1
  MP_ACTIVE=0
}

on_exit() {
  local rc=$?
  set +e # cleanup runs to its end: a daemon slow to stop must not keep the logs from the host
  if ((rc != 0)); then
    grep -q '^status=' "$RESULT" || record status "FAIL: $STEP: exited with status $rc"
    echo "guest: last kernel messages:"
    dmesg | tail -20
    [[ -e /var/log/tcmu-runner.out ]] && { echo "guest: tcmu-runner output:"; tail -20 /var/log/tcmu-runner.out; }
  fi
  mp_teardown
  cp /var/log/multipathd.log /e2e/ 2>/dev/null
  # Leave the target as found so that the image is closed cleanly (releases its RBD lock).
  iscsiadm -m node --logoutall=all >/dev/null 2>&1 || true
  if [[ -n $API_PID ]]; then
    kill "$API_PID" 2>/dev/null && wait_for 60 gone "$API_PID"
  fi
  [[ -n $GWD_PID ]] && kill "$GWD_PID" 2>/dev/null && wait_for 20 gone "$GWD_PID"
  python3 /e2e/target.py clear >/dev/null 2>&1 || true
  [[ -n $TCMU_PID ]] && kill "$TCMU_PID" 2>/dev/null && wait_for 20 gone "$TCMU_PID"
  [[ -n $ISCSID_PID ]] && kill "$ISCSID_PID" 2>/dev/null
  cp /var/log/tcmu-runner.log /e2e/tcmu-runner.log 2>/dev/null || true
  cp /var/log/rbd-target-api.out /e2e/rbd-target-api.out 2>/dev/null || true
  cp /var/log/rbd-target-gw/rbd-target-gw.log /e2e/rbd-target-gw.log 2>/dev/null || true
  [[ -n $SYSLOG_PID ]] && kill "$SYSLOG_PID" 2>/dev/null && wait_for 10 gone "$SYSLOG_PID"
  cp /var/log/syslog /e2e/syslog 2>/dev/null || true
  sync
}
trap on_exit EXIT

phase_start modules
mkdir -p /etc/target # target_core_mod's db_root
modprobe configfs || fail "modprobe configfs"
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config || fail "mount configfs"
for m in virtio_net target_core_mod target_core_user iscsi_target_mod iscsi_tcp sd_mod nft_chain_nat nft_nat \
  crc32c_generic; do
  modprobe "$m" || fail "modprobe $m"
done
phase_end

phase_start network
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
# The cluster advertises 127.0.0.1 addresses; QEMU's user network reaches the host's loopback at
# 10.0.2.2. Send the cluster's ports (and only those) there.
sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1
nft -f - <<EOF || fail "nft rules"
table ip e2e {
  chain out {
    type nat hook output priority -100;
    ip daddr 127.0.0.1 tcp dport { ${CEPH_PORTS// /, } } dnat to 10.0.2.2
  }
  chain post {
    type nat hook postrouting priority 100;
    oifname "eth0" ip saddr 127.0.0.1 snat to 10.0.2.15
  }
}
EOF
phase_end

phase_start services
mkdir -p /run/dbus /var/lib/dbus /var/log /etc/tcmu /var/run/ceph # the handler's admin socket
dbus-uuidgen --ensure
dbus-daemon --system --fork || fail "dbus-daemon"
export LD_LIBRARY_PATH=/e2e/lib
handler_path=(--handler-path /e2e/handler)
if [[ -n ${DEB:-} ]]; then
  out=$(dpkg -i "/e2e/$DEB" 2>&1) || fail "dpkg -i $DEB: $(tail -5 <<<"$out")"
  dpkg -s rbdtier >/dev/null 2>&1 || fail "dpkg -i $DEB: rbdtier not installed"
  handler_path=() # tcmu-runner's own handler directory, where the package put the handler
  handler_file=$(dpkg -L rbdtier | grep '/tcmu-runner/handler_rbdtier.so$') ||
    fail "the package has no handler in a tcmu-runner handler directory"
  record installed "$(dpkg-query -W -f='${Package} ${Version}' rbdtier): $(dpkg -L rbdtier | grep -c .) paths, handler $handler_file"
fi
tcmu-runner "${handler_path[@]}" -l /var/log >/var/log/tcmu-runner.out 2>&1 &
TCMU_PID=$!
has_tcmu_name() {
  dbus-send --system --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.ListNames |
    grep -q org.kernel.TCMUService1
}
wait_for 60 has_tcmu_name || fail "tcmu-runner did not register on D-Bus: $(tail -5 /var/log/tcmu-runner.out)"
gone "$TCMU_PID" && fail "tcmu-runner died"
phase_end

if ((${#BAD_CFGSTRINGS[@]})); then
  phase_start negative
  for i in "${!BAD_CFGSTRINGS[@]}"; do
    bad=${BAD_CFGSTRINGS[$i]} expect=${BAD_CFG_EXPECTS[$i]}
    rc=0
    out=$(tcli "/backstores/user:$SUBTYPE" create name="bad$i" size=1M "cfgstring=$bad") || rc=$?
    log "targetcli with bad cfgstring '$bad': rc=$rc: $out"
    ls /sys/kernel/config/target/core/user_*/"bad$i" >/dev/null 2>&1 &&
      fail "a backstore was created from the bad cfgstring '$bad'"
    ((rc != 0)) || fail "targetcli accepted the bad cfgstring '$bad'"
    grep -Eq -- "$expect" <<<"$out" || fail "bad cfgstring '$bad' not refused as expected ($expect): $out"
    record "negative_$i" "'$bad' refused: $(grep -Eo -- 'cfgstring invalid: .*' <<<"$out" | head -1)"
  done
  phase_end
fi

phase_start target
if ((${README_LUN:-0})); then
  # The README's own lines (run.sh took them from README.md, with this run's values for its
  # parameters): the cfgstring names no conf=, so the handler reads /etc/ceph/ceph.conf.
  mkdir -p /etc/ceph
  cp /e2e/ceph.conf /etc/ceph/ceph.conf
  out=$(bash -eu /e2e/readme_lun.sh 2>&1 | grep -v 'Could not load preferences file'; exit "${PIPESTATUS[0]}") ||
    fail "the README's targetcli line: $(tr '\n' ' ' </e2e/readme_lun.sh): $out"
  log "$out"
  record created_via "README.md: $(tail -n +2 /e2e/readme_lun.sh | tr -s '\n\\ ' ' ')"
elif [[ $CFGSTRING == *[,:]* ]]; then
  # A tiered cfgstring lists pools with ',' and quotas with ':'. targetcli cannot pass either:
  # rtslib refuses ':' and the kernel's control file splits at ','. Its attrib/dev_config takes
  # the string verbatim; tcmu-runner opens the LUN from there as from targetcli.
  python3 /e2e/target.py create "$SUBTYPE" "$BACKSTORE" "$LUN_SIZE" "$CFGSTRING" || fail "create (attrib/dev_config)"
  out=$(tcli ls "/backstores/user:$SUBTYPE" 1) || fail "targetcli ls: $out"
  grep -q "$BACKSTORE" <<<"$out" || fail "targetcli does not list $BACKSTORE: $out"
  log "created through attrib/dev_config (',' and ':' in the cfgstring); targetcli sees it: $out"
  record created_via "attrib/dev_config"
else
  out=$(tcli "/backstores/user:$SUBTYPE" create name="$BACKSTORE" size="$LUN_SIZE" "cfgstring=$CFGSTRING") ||
    fail "targetcli create: $out"
  log "$out"
  record created_via targetcli
fi
if [[ $SUBTYPE == rbdtier ]]; then
  # ACLs, not demo mode: the kernel then counts each initiator's commands in configfs.
  python3 /e2e/target.py export "$SUBTYPE" "$BACKSTORE" "$TARGET_IQN" "$INITIATOR_IQN" "$INITIATOR_B_IQN" ||
    fail "iSCSI export"
else
  python3 /e2e/target.py export "$SUBTYPE" "$BACKSTORE" "$TARGET_IQN" || fail "iSCSI export"
fi
if [[ $SUBTYPE == rbdtier ]]; then
  # The handler logs through tcmu-runner: the LUN's open is in its log (info, the default level).
  logged_open() { grep -q 'rbdtier .*: opened: ' /var/log/tcmu-runner.log; }
  wait_for 10 logged_open || fail "no LUN open line of rbdtier in /var/log/tcmu-runner.log"
  opened=$(grep -m1 'rbdtier .*: opened: ' /var/log/tcmu-runner.log)
  log "tcmu-runner.log: $opened"
  record log_open "${opened#*rbdtier }"
fi
phase_end

phase_start login
mkdir -p /etc/iscsi /run/lock/iscsi
echo "InitiatorName=$INITIATOR_IQN" >/etc/iscsi/initiatorname.iscsi
iscsid -f >/var/log/iscsid.log 2>&1 &
ISCSID_PID=$!
iscsid_up() { # iscsiadm reaches iscsid: 0 = sessions, 21 = none yet (20 = cannot connect)
  local rc=0
  iscsiadm -m session >/dev/null 2>&1 || rc=$?
  ((rc == 0 || rc == 21))
}
wait_for 20 iscsid_up || fail "iscsid does not answer: $(tail -3 /var/log/iscsid.log)"
iscsiadm -m discovery -t sendtargets -p 127.0.0.1:3260 || fail "discovery"
iscsiadm -m node -T "$TARGET_IQN" -p 127.0.0.1:3260 --login || fail "login"
find_disk() {
  local d
  for d in /sys/block/sd*; do
    [[ -e $d/device/model ]] || continue
    if grep -q LIO-ORG "$d/device/vendor" && [[ -b /dev/${d##*/} ]]; then
      DISK=/dev/${d##*/}
      return 0
    fi
  done
  return 1
}
DISK=""
wait_for 60 find_disk || fail "no LIO disk appeared"
find_disk
bytes=$(blockdev --getsize64 "$DISK")
log "disk $DISK: $bytes bytes, model $(cat "/sys/block/${DISK#/dev/}/device/model")"
((bytes == LUN_BYTES)) || fail "disk size $bytes != $LUN_BYTES"
record disk "$DISK"
LUN_NAME=${CFGSTRING%%;*} # the handler's name of the LUN: pool/image
if [[ $SUBTYPE == rbdtier ]]; then
  # The login's commands move INITIATOR_IQN's counters: from the next sample on, the handler
  # attributes the LUN's commands to it.
  out=$(python3 /e2e/initiators.py wait "$ASOK" "$LUN_NAME" "$INITIATOR_IQN" 20) ||
    fail "attribution to $INITIATOR_IQN: $out"
  log "after the first login: $out"
fi
phase_end

phase_start pattern
python3 /e2e/pattern.py write "$SEED" "$PATTERN_BYTES" /tmp/pattern
dd if=/tmp/pattern of="$DISK" bs=1M seek="$PATTERN_OFFSET" oflag=direct,seek_bytes conv=fsync status=none ||
  fail "dd write"
dd if="$DISK" of=/tmp/readback bs=1M skip="$PATTERN_OFFSET" count="$PATTERN_BYTES" \
  iflag=direct,skip_bytes,count_bytes status=none || fail "dd read"
cmp /tmp/pattern /tmp/readback || fail "pattern read back differs"
record pattern_sha256 "$(sha256sum </tmp/pattern | cut -d' ' -f1)"
phase_end

if ((TIERED)); then
  # The reactive policy promotes what is read; the host watches the placement map for us.
  phase_start moves
  read_pattern() {
    dd if="$DISK" of=/tmp/readback bs=1M skip="$PATTERN_OFFSET" count="$PATTERN_BYTES" \
      iflag=direct,skip_bytes,count_bytes status=none || fail "dd read (while extents move)"
    cmp /tmp/pattern /tmp/readback || fail "pattern read back differs (while extents move)"
  }
  : >/e2e/want_moved
  reads=0
  deadline=$(($(date +%s) + MOVE_WAIT_SECONDS))
  until [[ -e /e2e/moved ]]; do
    (($(date +%s) < deadline)) ||
      fail "the host saw no move of the pattern's extents within ${MOVE_WAIT_SECONDS}s of reads"
    read_pattern
    reads=$((reads + 1))
  done
  read_pattern # from the tier the extents moved to
  reads=$((reads + 1))
  log "pattern read and compared $reads times; moved: $(tr '\n' ' ' </e2e/moved)"
  record move_reads "$reads"
  phase_end
fi

phase_start fio
fio --name=e2e --filename="$DISK" --direct=1 --ioengine=libaio --rw=randrw --rwmixread=50 --bs=4k \
  --iodepth=8 --offset="$FIO_OFFSET" --size="$FIO_BYTES" --io_size="$FIO_IO_BYTES" \
  --verify=crc32c --verify_fatal=1 --do_verify=1 --randrepeat=0 \
  --output-format=json --output=/tmp/fio.json >/dev/null 2>/tmp/fio.err ||
  fail "fio: $(tail -3 /tmp/fio.err) $(grep -m3 -i -E 'err|verify' /tmp/fio.json || true)"
python3 - /tmp/fio.json >>"$RESULT" <<'EOF' || fail "fio output"
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
if job["error"] != 0:
    sys.exit(f"fio job error {job['error']}")
for op in ("read", "write"):
    s = job[op]
    print(f"fio_{op}_iops={s['iops']:.0f}")
    print(f"fio_{op}_kib={s['io_kbytes']}")
    print(f"fio_{op}_lat_mean_us={s['lat_ns']['mean'] / 1000:.0f}")
    print(f"fio_{op}_lat_p99_us={s['clat_ns'].get('percentile', {}).get('99.000000', 0) / 1000:.0f}")
EOF
phase_end

if [[ $SUBTYPE == rbdtier ]]; then
  # A second initiator name on its own iface, its own region of the same LUN.
  phase_start initiators
  iscsiadm -m iface -I e2e-b --op=new >/dev/null || fail "iface new"
  iscsiadm -m iface -I e2e-b --op=update -n iface.initiatorname -v "$INITIATOR_B_IQN" >/dev/null ||
    fail "iface update"
  iscsiadm -m discovery -t sendtargets -p 127.0.0.1:3260 -I e2e-b >/dev/null || fail "discovery (iface e2e-b)"
  iscsiadm -m node -T "$TARGET_IQN" -p 127.0.0.1:3260 -I e2e-b --login >/dev/null || fail "login (iface e2e-b)"
  find_disk_b() {
    local d
    for d in /sys/block/sd*; do
      [[ -e $d/device/vendor ]] && grep -q LIO-ORG "$d/device/vendor" || continue
      [[ /dev/${d##*/} != "$DISK" && -b /dev/${d##*/} ]] || continue
      DISK_B=/dev/${d##*/}
      return 0
    done
    return 1
  }
  DISK_B=""
  wait_for 60 find_disk_b || fail "no second LIO disk appeared"
  find_disk_b
  out=$(python3 /e2e/initiators.py wait "$ASOK" "$LUN_NAME" "$INITIATOR_B_IQN" 20) ||
    fail "attribution to $INITIATOR_B_IQN: $out"
  log "after the second login: $out"
  dd if=/tmp/pattern of="$DISK_B" bs=1M seek="$B_OFFSET" count="$B_BYTES" \
    oflag=direct,seek_bytes iflag=count_bytes conv=fsync status=none || fail "dd write ($DISK_B)"
  dd if="$DISK_B" of=/tmp/readback_b bs=1M skip="$B_OFFSET" count="$B_BYTES" \
    iflag=direct,skip_bytes,count_bytes status=none || fail "dd read ($DISK_B)"
  head -c "$B_BYTES" /tmp/pattern >/tmp/pattern_b # no /dev/fd in the guest: no <(...)
  cmp /tmp/pattern_b /tmp/readback_b || fail "region of $INITIATOR_B_IQN read back differs"
  out=$(python3 /e2e/initiators.py check "$ASOK" "$LUN_NAME" "$INITIATOR_IQN" "$A_EXTENTS" \
    "$INITIATOR_B_IQN" "$B_EXTENTS") || fail "per-initiator view: $out"
  log "per-initiator view: $out"
  record initiators "$out"
  phase_end
fi

phase_start teardown
sync
iscsiadm -m node -T "$TARGET_IQN" -p 127.0.0.1:3260 --logout >/dev/null || fail "logout"
python3 /e2e/target.py clear || fail "target clear"
phase_end

if ((${MULTIPATH:-0})); then
  # Two gateways of the LUN, as the README's multipath recipe makes them, in this one target:
  # gw1 and gw2, two backstores of the same image and WWN, on tpg1 (MP_IP1, ALUA group ao, id 1)
  # and tpg2 (MP_IP2, group ano2, id 2) of MP_TARGET_IQN. dm-multipath joins the two paths.
  phase_start multipath
  for m in dm_multipath dm_queue_length scsi_dh_alua; do modprobe "$m" || fail "modprobe $m"; done
  MP_ACTIVE=1
  ip addr add "$MP_IP2/24" dev eth0 || fail "second address $MP_IP2"
  out=$(python3 /e2e/multipath.py setup "$SUBTYPE" "$CFGSTRING" "$LUN_SIZE" "$MP_WWN" "$MP_TARGET_IQN" \
    "$INITIATOR_IQN" "$MP_IP1" "$MP_IP2" 2>&1) || fail "two gateways and their configfs ALUA groups: $out"
  log "configfs ALUA groups: $out"
  record mp_alua "$out"
  # The initiator: udev (multipathd learns of paths from its events) and multipathd with the
  # README's /etc/multipath.conf.
  mkdir -p /run/udev /etc/multipath
  /lib/systemd/systemd-udevd --daemon || fail "systemd-udevd"
  UDEVD_STARTED=1
  cp /e2e/multipath.conf /etc/multipath.conf
  # The test's one change to the README's file: paths checked every second (default 5 s, up to
  # 20 s once a path has been healthy a while), so a gateway that comes back is seen at once.
  mkdir -p /etc/multipath/conf.d
  printf 'defaults {\n\tpolling_interval 1\n}\n' >/etc/multipath/conf.d/e2e.conf
  multipathd -d -s >/var/log/multipathd.log 2>&1 &
  MPATHD_PID=$!
  mpathd_up() { multipathd show daemon 2>/dev/null | grep -Eq "pid [0-9]+ (idle|running)"; }
  wait_for 30 mpathd_up || fail "multipathd does not answer: $(tail -5 /var/log/multipathd.log)"
  for ip in "$MP_IP1" "$MP_IP2"; do
    iscsiadm -m discovery -t sendtargets -p "$ip:3260" -I default >/dev/null || fail "discovery ($ip)"
    iscsiadm -m node -T "$MP_TARGET_IQN" -p "$ip:3260" -I default --login >/dev/null || fail "login ($ip)"
  done
  # mp_paths: "dev dm_state checker_state prio" per path of the map, as multipathd sees them.
  mp_paths() { multipathd show paths raw format "%d %t %T %p %w"; }
  mp_map() { # sets MP_DEV (/dev/dm-N) and MP_NAME when one multipath map has two paths
    local d paths
    for d in /sys/block/dm-*; do
      [[ -e $d/dm/uuid && $(cat "$d/dm/uuid") == mpath-* ]] || continue
      paths=("$d"/slaves/*)
      ((${#paths[@]} == 2)) || return 1
      MP_DEV=/dev/${d##*/}
      MP_NAME=$(cat "$d/dm/name")
      return 0
    done
    return 1
  }
  MP_DEV="" MP_NAME=""
  wait_for 60 mp_map || fail "no multipath map with two paths: $(multipath -ll 2>&1 | head -20); $(tail -5 /var/log/multipathd.log)"
  mp_map
  # Both paths ready, gw1's optimized (prio 50) and gw2's non-optimized (prio 10).
  mp_prios() { [[ $(mp_paths | awk '$2 == "active" && $3 == "ready" {print $4}' | sort -n | tr '\n' ' ') == "10 50 " ]]; }
  wait_for 30 mp_prios || fail "paths of $MP_NAME: $(mp_paths | tr '\n' ';')"
  ll=$(multipath -ll "$MP_NAME" 2>&1)
  log "multipath -ll: $ll"
  record mp_map "$ll"
  # The same device through both paths: the logical unit's identification (VPD 0x80, and page
  # 0x83's designators of the logical unit), while the target port's (relative port, port group,
  # port name) are each path's own.
  slaves=("/sys/block/${MP_DEV#/dev/}/slaves"/*)
  slaves=("${slaves[@]##*/}")
  out=$(python3 /e2e/multipath.py vpd "${slaves[@]}") || fail "VPD pages of ${slaves[*]}: $out"
  log "VPD: $out"
  record mp_vpd "$out"
  phase_end

  phase_start multipath_io
  MP_SHADOW=/tmp/mp_shadow
  rm -f "$MP_SHADOW"
  log "random writes through $MP_NAME: seed $MP_SEED"
  # port_mib TAG read|write: MiB the target port of tpgTAG (gwTAG) has carried, as LIO counts them.
  port_mib() { cat "/sys/kernel/config/target/iscsi/$MP_TARGET_IQN/tpgt_$1/lun/lun_0/statistics/scsi_tgt_port/$2_mbytes"; }
  mp_write() { # mp_write ROUND TAG: random writes through the map, everything read back, all through gwTAG
    local other=$((3 - $2)) before_own before_other
    before_own=$(port_mib "$2" read) before_other=$(port_mib "$other" read)
    out=$(python3 /e2e/multipath.py write "$MP_DEV" "$MP_OFFSET" "$MP_BYTES" "$MP_SEED" "$1" "$MP_WRITES" \
      "$MP_SHADOW" 2>&1) || fail "writes through $MP_NAME, read back (round $1): $out"
    # The read-back went through gwTAG's port alone (the path checker's TEST UNIT READY moves no data).
    (($(port_mib "$2" read) - before_own >= MP_BYTES >> 20)) && (($(port_mib "$other" read) == before_other)) ||
      fail "round $1 not served by gw$2 alone: tpg$2 read $((before_own))->$(port_mib "$2" read) MiB," \
        "tpg$other read $before_other->$(port_mib "$other" read) MiB"
  }
  path_of() { mp_paths | awk -v p="$1" '$1 == p {print $2 "/" $3}'; }
  dev1=$(python3 /e2e/multipath.py dev-of "$MP_IP1" "${slaves[@]}") || fail "path of $MP_IP1: $dev1"
  dev2=$(python3 /e2e/multipath.py dev-of "$MP_IP2" "${slaves[@]}") || fail "path of $MP_IP2: $dev2"
  # multipathd may have made the map while gw1's path was still being checked: gw2's path group
  # is then the map's first and carries the I/O until multipathd fails back to gw1's (higher
  # priority) after `failback 60` s. Start from gw1's group, as after that failback; mp_write
  # checks that gw1 carried round 1.
  group1=$(multipath -ll "$MP_NAME" | awk -v p="$dev1" '/policy=/ {g++} $0 ~ " " p " " {print g}')
  [[ -n $group1 ]] || fail "no path group of $MP_NAME holds $dev1: $(multipath -ll "$MP_NAME")"
  out=$(multipathd switchgroup map "$MP_NAME" group "$group1" 2>&1) && [[ $out == ok ]] ||
    fail "switchgroup to gw1's group $group1: $out"
  t=$(now_ms)
  mp_write 1 1
  record mp_round_ms "$(($(now_ms) - t))"
  # gw1 dies: its TPG disabled (sessions dropped, logins refused). I/O goes on through gw2,
  # whose handler takes the image's lock (implicit ALUA) and breaks gw1's.
  t=$(now_ms)
  python3 /e2e/multipath.py tpg "$MP_TARGET_IQN" 1 disable || fail "disable tpg1"
  mp_write 2 2
  record mp_failover_ms "$(($(now_ms) - t))"
  [[ $(path_of "$dev1") == failed/* ]] || fail "gw1's path $dev1 is $(path_of "$dev1") after gw1 died"
  # gw1 comes back; then gw2 dies, and I/O fails back to gw1.
  t=$(now_ms)
  python3 /e2e/multipath.py tpg "$MP_TARGET_IQN" 1 enable || fail "enable tpg1"
  path1_ready() { [[ $(path_of "$dev1") == active/ready ]]; }
  wait_for 60 path1_ready || fail "gw1's path $dev1 not reinstated: $(path_of "$dev1")"
  record mp_reinstate_ms "$(($(now_ms) - t))"
  t=$(now_ms)
  python3 /e2e/multipath.py tpg "$MP_TARGET_IQN" 2 disable || fail "disable tpg2"
  mp_write 3 1
  record mp_failback_ms "$(($(now_ms) - t))"
  [[ $(path_of "$dev2") == failed/* ]] || fail "gw2's path $dev2 is $(path_of "$dev2") after gw2 died"
  cp "$MP_SHADOW" /e2e/mp_shadow
  record mp_io "3 rounds of $MP_WRITES random writes (seed $MP_SEED) through $MP_NAME, each round read back:\
 through gw1, through gw2 after gw1 died ($dev1 failed), through gw1 after gw2 died ($dev2 failed)"
  mp_teardown
  phase_end
fi
phase_start tcmu_stop
kill "$TCMU_PID"
wait_for 30 gone "$TCMU_PID" || fail "tcmu-runner did not stop"
TCMU_PID=""
phase_end

if ((${RBD_MODE:-0})); then
  phase_start rbd_mode
  handler_dir=/usr/lib/x86_64-linux-gnu/tcmu-runner
  diverted_dir=/usr/lib/x86_64-linux-gnu/tcmu-runner-diverted
  [[ -e $handler_dir/handler_rbd.so ]] || fail "Debian's handler_rbd.so is not in $handler_dir"
  # Our handler where tcmu-runner looks by default (the package puts it there).
  [[ -e $handler_dir/handler_rbdtier.so ]] || cp /e2e/handler/handler_rbdtier.so "$handler_dir/" ||
    fail "copy the handler to $handler_dir"
  # The README's swap: divert handler_rbd.so out of the directory (tcmu-runner loads every
  # handler_* file there), then switch our handler to subtype rbd.
  mkdir -p "$diverted_dir" /etc/ceph
  out=$(dpkg-divert --local --rename --divert "$diverted_dir/handler_rbd.so" \
    --add "$handler_dir/handler_rbd.so" 2>&1) || fail "dpkg-divert: $out"
  [[ ! -e $handler_dir/handler_rbd.so && -e $diverted_dir/handler_rbd.so ]] ||
    fail "handler_rbd.so not diverted: $(ls "$handler_dir" "$diverted_dir")"
  if grep -q '^handler_subtype' /etc/ceph/rbdtier.conf 2>/dev/null; then
    sed -i 's/^handler_subtype.*/handler_subtype = rbd/' /etc/ceph/rbdtier.conf
  else
    echo "handler_subtype = rbd" >>/etc/ceph/rbdtier.conf
  fi
  keep_tcmu_log rbdtier
  : >/var/log/tcmu-runner.log
  tcmu-runner -l /var/log >/var/log/tcmu-runner.out 2>&1 &
  TCMU_PID=$!
  wait_for 60 has_tcmu_name || fail "tcmu-runner (rbd mode) did not register on D-Bus"
  gone "$TCMU_PID" && fail "tcmu-runner (rbd mode) died"
  grep -q 'rbdtier: registered as subtype rbd' /var/log/tcmu-runner.log ||
    fail "our handler did not register as subtype rbd: $(grep -m3 rbdtier /var/log/tcmu-runner.log)"
  record rbd_mode_handler "$out; tcmu-runner.log: $(grep -m1 -o 'rbdtier: registered as subtype rbd' /var/log/tcmu-runner.log)"
  out=$(tcli /backstores/user:rbd create name=gw0 size="$RBD_LUN_SIZE" "cfgstring=$RBD_CFGSTRING") ||
    fail "targetcli user:rbd create: $out"
  log "$out"
  python3 /e2e/target.py export rbd gw0 "$RBD_TARGET_IQN" || fail "iSCSI export (user:rbd)"
  RBD_LUN=${RBD_CFGSTRING%%;*}
  opened_rbd() { grep -q "rbdtier $RBD_LUN: opened: .*tiers $RBD_TIERS; policy reactive" /var/log/tcmu-runner.log; }
  wait_for 10 opened_rbd ||
    fail "no tiered open of $RBD_LUN by rbdtier: $(grep -m3 "$RBD_LUN" /var/log/tcmu-runner.log)"
  opened=$(grep -m1 "rbdtier $RBD_LUN: opened: " /var/log/tcmu-runner.log)
  record rbd_mode_log "${opened#*rbdtier }"
  out=$(python3 /e2e/initiators.py luns "$ASOK") || fail "admin socket (rbd mode): $out"
  grep -qxF "$RBD_LUN" <<<"$out" || fail "the admin socket does not list $RBD_LUN: $out"
  record rbd_mode_admin_socket "lists $(tr '\n' ' ' <<<"$out")"
  iscsiadm -m discovery -t sendtargets -p 127.0.0.1:3260 >/dev/null || fail "discovery (user:rbd)"
  iscsiadm -m node -T "$RBD_TARGET_IQN" -p 127.0.0.1:3260 --login >/dev/null || fail "login (user:rbd)"
  DISK=""
  wait_for 60 find_disk || fail "no LIO disk appeared (user:rbd)"
  find_disk
  bytes=$(blockdev --getsize64 "$DISK")
  ((bytes == RBD_LUN_SIZE)) || fail "user:rbd disk size $bytes != $RBD_LUN_SIZE"
  python3 /e2e/pattern.py write "$SEED" "$RBD_PATTERN_BYTES" /tmp/pattern_rbd
  dd if=/tmp/pattern_rbd of="$DISK" bs=1M oflag=direct conv=fsync status=none || fail "dd write (user:rbd)"
  dd if="$DISK" of=/tmp/readback_rbd bs=1M count="$RBD_PATTERN_BYTES" iflag=direct,count_bytes \
    status=none || fail "dd read (user:rbd)"
  cmp /tmp/pattern_rbd /tmp/readback_rbd || fail "pattern read back differs (user:rbd)"
  record rbd_mode_io "$DISK: $RBD_PATTERN_BYTES bytes written and read back through $RBD_TARGET_IQN"
  iscsiadm -m node -T "$RBD_TARGET_IQN" -p 127.0.0.1:3260 --logout >/dev/null || fail "logout (user:rbd)"
  python3 /e2e/target.py clear || fail "target clear (user:rbd)"
  kill "$TCMU_PID"
  wait_for 30 gone "$TCMU_PID" || fail "tcmu-runner (rbd mode) did not stop"
  TCMU_PID=""
  phase_end
fi

if ((${GW_MODE:-0})); then
  # ceph-iscsi's own management of the LUN: rbd-target-api (the REST API gwcli and the Ceph
  # dashboard call) and gwcli create the target, this gateway, the disk and the client ACL; our
  # handler, still subtype rbd with handler_rbd.so diverted, serves the user:rbd backstore that
  # ceph-iscsi makes; then both are restarted and ceph-iscsi restores the LUN from its
  # gateway.conf object.
  phase_start gateway_api
  # What ceph-iscsi needs of the host: a name that resolves to the portal's address (its
  # gateways are named by socket.getfqdn()), /etc/ceph/ceph.conf, iscsi-gateway.cfg.
  hostname "$GW_NAME"
  echo "$GW_NAME" >/etc/hostname
  printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n%s %s\n' "$GW_IP" "$GW_NAME" >/etc/hosts
  cp /e2e/ceph.conf /etc/ceph/ceph.conf
  cat >/etc/ceph/iscsi-gateway.cfg <<EOF
[config]
cluster_client_name = client.admin
pool = $GW_CONFIG_POOL
minimum_gateways = 1
trusted_ip_list = $GW_IP,127.0.0.1
api_secure = false
api_user = $GW_API_USER
api_password = $GW_API_PASSWORD
log_to_stderr = true
log_to_file = false
EOF
  keep_tcmu_log rbd_mode
  : >/var/log/tcmu-runner.log
  tcmu-runner -l /var/log >/var/log/tcmu-runner.out 2>&1 &
  TCMU_PID=$!
  wait_for 60 has_tcmu_name || fail "tcmu-runner (ceph-iscsi) did not register on D-Bus"
  grep -q 'rbdtier: registered as subtype rbd' /var/log/tcmu-runner.log ||
    fail "our handler did not register as subtype rbd: $(grep -m3 -i 'rbd' /var/log/tcmu-runner.log)"
  # api METHOD PATH [curl args]: a REST call as gwcli and the dashboard make it; prints the
  # reply's body, fails unless HTTP 200.
  api() {
    local method=$1 path=$2 out code
    shift 2
    out=$(curl -sS -u "$GW_API_USER:$GW_API_PASSWORD" -X "$method" -w '\n%{http_code}' "$@" \
      "http://127.0.0.1:5000/api/$path" 2>&1) || { echo "$method /api/$path: $out"; return 1; }
    code=${out##*$'\n'}
    out=${out%$'\n'*}
    [[ $code == 200 ]] || { echo "$method /api/$path: HTTP $code: $out"; return 1; }
    echo "$out"
  }
  api_up_or_gone() { gone "$API_PID" || api GET _ping; }
  start_api() { # rbd-target-api as its systemd unit runs it (logging to stderr: no syslog here)
    local t
    t=$(now_ms)
    rbd-target-api >>/var/log/rbd-target-api.out 2>&1 &
    API_PID=$!
    wait_for 180 api_up_or_gone || fail "rbd-target-api did not answer within 180 s: $(tail -5 /var/log/rbd-target-api.out)"
    if gone "$API_PID"; then
      API_PID=""
      fail "rbd-target-api exited: $(tail -5 /var/log/rbd-target-api.out)"
    fi
    API_START_MS=$(($(now_ms) - t))
  }
  start_api
  record gw_api_start_ms "$API_START_MS"
  log "rbd-target-api answers after $API_START_MS ms"
  # rbd-target-gw, ceph-iscsi's metrics exporter, as its systemd unit runs it; it logs to syslog
  # (and its own file), so syslogd.py stands in for the syslogd the guest lacks. Started now so
  # that it comes up while the LUN is made; its metrics are read in gateway_io.
  python3 /e2e/syslogd.py /dev/log /var/log/syslog >/tmp/syslogd.out 2>&1 &
  SYSLOG_PID=$!
  wait_for 30 grep -qx ready /tmp/syslogd.out || fail "syslogd.py: $(cat /tmp/syslogd.out)"
  GWD_T=$(now_ms)
  rbd-target-gw >/var/log/rbd-target-gw.out 2>&1 &
  GWD_PID=$!
  GW_DISK=$GW_POOL/$GW_IMAGE
  t=$(now_ms)
  out=$(api PUT "target/$GW_TARGET_IQN") || fail "create the target: $out"
  out=$(api PUT "gateway/$GW_TARGET_IQN/$GW_NAME" -d "ip_address=$GW_IP") || fail "create the gateway: $out"
  record gw_api_target_gateway_ms "$(($(now_ms) - t))"
  # The disk through gwcli, as an admin types it; gwcli in batch mode exits 0 and logs errors only
  # to ~/gwcli.log, so its effect is checked in the API's view of the configuration.
  t=$(now_ms)
  gwcli /disks create "pool=$GW_POOL" "image=$GW_IMAGE" "size=$((GW_LUN_SIZE >> 20))M" >/tmp/gwcli.out 2>&1 ||
    fail "gwcli /disks create: $(tail -5 /tmp/gwcli.out)"
  record gw_gwcli_disk_create_ms "$(($(now_ms) - t))"
  out=$(api GET "disk/$GW_POOL/$GW_IMAGE") ||
    fail "gwcli /disks create did not define $GW_DISK: $out; $(tail -5 /root/gwcli.log 2>/dev/null)"
  t=$(now_ms)
  out=$(api PUT "targetlun/$GW_TARGET_IQN" -d "disk=$GW_DISK") || fail "add the disk to the target: $out"
  out=$(api PUT "client/$GW_TARGET_IQN/$INITIATOR_IQN") || fail "create the client: $out"
  out=$(api PUT "clientlun/$GW_TARGET_IQN/$INITIATOR_IQN" -d "disk=$GW_DISK") ||
    fail "map the disk to the client: $out"
  record gw_api_lun_client_ms "$(($(now_ms) - t))"
  # The configuration as the dashboard reads it (gwcli's view, `gwcli ls`, is checked in
  # gateway_io, once the disk's status is known).
  out=$(api GET config) || fail "read the configuration: $out"
  out=$(python3 -c '
import json, sys
c = json.loads(sys.stdin.read())
disk, target, gateway, client = sys.argv[1:]
t = c["targets"].get(target, {})
if c["disks"].get(disk, {}).get("backstore") != "user:rbd" or disk not in t.get("disks", {}) \
        or gateway not in t.get("portals", {}) or disk not in t.get("clients", {}).get(client, {}).get("luns", {}):
    sys.exit("not all of " + " ".join(sys.argv[1:]) + " in it: " + json.dumps(c))
wwn = c["disks"][disk]["wwn"]
print(f"disk {disk} (user:rbd, wwn {wwn}) in target {target} on {gateway}, client {client}")
' "$GW_DISK" "$GW_TARGET_IQN" "$GW_NAME" "$INITIATOR_IQN" <<<"$out" 2>&1) || fail "ceph-iscsi's configuration: $out"
  log "ceph-iscsi's configuration: $out"
  record gw_config "$out"
  # What ceph-iscsi made in LIO: a user:rbd backstore with handler_rbd's cfgstring.
  gw_backstore() { python3 -c '
import sys
from rtslib_fb import RTSRoot
for so in RTSRoot().storage_objects:
    if so.plugin == "user" and (so.config or "").startswith("rbd/" + sys.argv[1] + ";"):
        print(so.name, so.config)
' "$GW_DISK"; }
  has_gw_backstore() { [[ -n $(gw_backstore) ]]; }
  has_gw_backstore || fail "no user:rbd backstore of $GW_DISK in LIO"
  backstore=$(gw_backstore)
  record gw_backstore "$backstore"
  opened_gw() { grep -q "rbdtier $GW_DISK: opened: .*tiers $GW_TIERS; policy reactive" /var/log/tcmu-runner.log; }
  wait_for 10 opened_gw ||
    fail "no tiered open of $GW_DISK by rbdtier: $(grep -m3 -e "$GW_DISK" -e 'subtype rbd' /var/log/tcmu-runner.log)"
  record gw_log "$(grep -m1 "rbdtier $GW_DISK: opened: " /var/log/tcmu-runner.log | sed 's/.*rbdtier //')"
  out=$(python3 /e2e/initiators.py luns "$ASOK") || fail "admin socket (ceph-iscsi): $out"
  grep -qxF "$GW_DISK" <<<"$out" || fail "the admin socket does not list $GW_DISK: $out"
  phase_end

  phase_start gateway_io
  # gw_login: logs in to ceph-iscsi's portal and sets DISK to the LUN.
  # The default iface only: INITIATOR_IQN has the ACL (the initiators phase's iface e2e-b has
  # none, and the target refuses it).
  gw_login() {
    iscsiadm -m discovery -t sendtargets -p "$GW_IP:3260" -I default >/dev/null || fail "discovery ($GW_IP)"
    iscsiadm -m node -T "$GW_TARGET_IQN" -p "$GW_IP:3260" -I default --login >/dev/null ||
      fail "login ($GW_TARGET_IQN)"
    DISK=""
    wait_for 60 find_disk || fail "no LIO disk appeared ($GW_TARGET_IQN)"
    find_disk
    bytes=$(blockdev --getsize64 "$DISK")
    ((bytes == GW_LUN_SIZE)) || fail "ceph-iscsi's disk size $bytes != $GW_LUN_SIZE"
  }
  gw_read_compare() { # reads the pattern back through the LUN and compares
    dd if="$DISK" of=/tmp/readback_gw bs=1M count="$GW_PATTERN_BYTES" iflag=direct,count_bytes \
      status=none || fail "dd read ($GW_TARGET_IQN)"
    cmp /tmp/pattern_gw /tmp/readback_gw || fail "pattern read back differs ($GW_TARGET_IQN)"
  }
  gw_login
  python3 /e2e/pattern.py write "$GW_SEED" "$GW_PATTERN_BYTES" /tmp/pattern_gw
  dd if=/tmp/pattern_gw of="$DISK" bs=1M oflag=direct conv=fsync status=none || fail "dd write ($GW_TARGET_IQN)"
  gw_read_compare
  # The reactive policy promotes what is read: read until an extent is in the tier.
  reads=0
  deadline=$(($(date +%s) + MOVE_WAIT_SECONDS))
  until out=$(python3 /e2e/initiators.py away "$ASOK" "$GW_DISK"); do
    (($(date +%s) < deadline)) || fail "no extent of $GW_DISK left home within ${MOVE_WAIT_SECONDS}s of reads: $out;\
 $(grep -F "rbdtier $GW_DISK:" /var/log/tcmu-runner.log | grep -E '\[(WARN|ERROR)\]' | tail -3)"
    gw_read_compare
    reads=$((reads + 1))
  done
  gw_read_compare
  log "$GW_DISK after $reads reads: $out"
  record gw_placement "after $reads reads: $out"
  # The LUN as an admin sees it while the client is logged in: one `gwcli ls` (each gwcli call
  # costs tens of seconds here), the pools' capacity in it from `ceph df` (the mgr's figures),
  # and the disk's status, which rbd-target-api derives from the service map entries our
  # handler publishes (the mgr's `service status`): Online, its lock owned by this gateway.
  gw_disk_status() { # the API's disk, once its status is Online with this gateway the lock owner
    api GET "disk/$GW_POOL/$GW_IMAGE" >/tmp/gw-disk.json &&
      python3 -c 'import json, sys; s = json.load(open(sys.argv[1])).get("status", {})
sys.exit(s.get("state") != "Online" or s.get("lock_owner") != sys.argv[2])' /tmp/gw-disk.json "$GW_NAME"
  }
  t=$(now_ms)
  wait_for 90 gw_disk_status ||
    fail "ceph-iscsi's status of $GW_DISK is not Online with lock owner $GW_NAME: $(cat /tmp/gw-disk.json)"
  record gw_status_wait_ms "$(($(now_ms) - t))"
  t=$(now_ms)
  gwcli ls >/tmp/gwcli-ls.txt 2>&1 || fail "gwcli ls: $(tail -5 /tmp/gwcli-ls.txt)"
  record gw_gwcli_ls_ms "$(($(now_ms) - t))"
  cp /tmp/gwcli-ls.txt /tmp/gw-disk.json /e2e/
  gw_check=(--size "$GW_LUN_SIZE" --target "$GW_TARGET_IQN" --gateway "$GW_NAME" --ip "$GW_IP"
    --client "$INITIATOR_IQN")
  out=$(python3 /e2e/gwcli_check.py /tmp/gwcli-ls.txt /tmp/gw-disk.json --disk "$GW_DISK" "${gw_check[@]}") ||
    fail "gwcli ls does not show the LUN as configured: $out; $(tail -3 /root/gwcli.log 2>/dev/null)"
  log "gwcli ls: $out"
  record gw_gwcli_ls "$out"
  # The check can fail: the same output, asked for a disk that is not there.
  if out=$(python3 /e2e/gwcli_check.py /tmp/gwcli-ls.txt /tmp/gw-disk.json --disk "$GW_POOL/absent-$GW_IMAGE" \
    "${gw_check[@]}"); then
    fail "self-check: gwcli_check.py found a disk that does not exist: $out"
  fi
  [[ $out == *"/disks/$GW_POOL/absent-$GW_IMAGE not in gwcli ls"* ]] || fail "self-check: gwcli_check.py said: $out"
  record gw_gwcli_selfcheck "absent disk: $out"
  # rbd-target-gw's metrics: the LUN's size and mapping, labelled with its backstore's name.
  gw_metrics() { curl -sS -m 20 http://127.0.0.1:9287/metrics >/tmp/gw-metrics.txt 2>&1; }
  wait_for 60 gw_metrics || {
    gone "$GWD_PID" && GWD_PID=""
    fail "rbd-target-gw's metrics: $(tail -3 /tmp/gw-metrics.txt); $(tail -3 /var/log/rbd-target-gw.out)"
  }
  record gw_metrics_up_ms "$(($(now_ms) - GWD_T))"
  out=$(python3 - /tmp/gw-metrics.txt "${backstore%% *}" "$GW_LUN_SIZE" 2>&1 <<'EOF'
import re, sys
text, so, size = open(sys.argv[1]).read(), sys.argv[2], int(sys.argv[3])
def value(metric):
    m = re.search(r'^%s\{[^}]*lun_name="%s"[^}]*\} (\S+)$' % (metric, re.escape(so)), text, re.M)
    if not m:
        sys.exit(f"no {metric} for lun_name {so} in: " + " | ".join(text.splitlines()[:12]))
    return float(m.group(1))
size_seen, mapped = value("ceph_iscsi_lun_size_bytes"), value("ceph_iscsi_lun_mapped")
if size_seen != size or mapped != 1:
    sys.exit(f"{so}: ceph_iscsi_lun_size_bytes {size_seen:.0f}, ceph_iscsi_lun_mapped {mapped:.0f}")
print(f"ceph_iscsi_lun_size_bytes{{lun_name={so}}} {size}, ceph_iscsi_lun_mapped 1")
EOF
  ) || fail "rbd-target-gw's metrics: $out"
  record gw_metrics "$out; syslog lines from rbd-target-gw: $(grep -c . /var/log/syslog || true)"
  iscsiadm -m node -T "$GW_TARGET_IQN" -p "$GW_IP:3260" -I default --logout >/dev/null || fail "logout ($GW_TARGET_IQN)"
  phase_end

  phase_start gateway_restart
  # As at a gateway's reboot: rbd-target-api's stop removes its LIO objects, tcmu-runner stops;
  # both start again and rbd-target-api restores the LUN from its gateway.conf object.
  kill "$API_PID"
  wait_for 60 gone "$API_PID" || fail "rbd-target-api did not stop"
  API_PID=""
  ! has_gw_backstore || fail "the backstore of $GW_DISK is still in LIO after rbd-target-api stopped"
  kill "$TCMU_PID"
  wait_for 30 gone "$TCMU_PID" || fail "tcmu-runner (ceph-iscsi) did not stop"
  keep_tcmu_log gateway
  : >/var/log/tcmu-runner.log
  tcmu-runner -l /var/log >/var/log/tcmu-runner.out 2>&1 &
  TCMU_PID=$!
  wait_for 60 has_tcmu_name || fail "tcmu-runner (restart) did not register on D-Bus"
  start_api
  record gw_api_restart_ms "$API_START_MS"
  has_gw_backstore || fail "rbd-target-api did not restore the backstore of $GW_DISK"
  wait_for 10 opened_gw ||
    fail "no tiered open of $GW_DISK by rbdtier after the restart: $(grep -m3 -e "$GW_DISK" -e 'subtype rbd' /var/log/tcmu-runner.log)"
  record gw_restored "$(gw_backstore); $(grep -m1 "rbdtier $GW_DISK: opened: " /var/log/tcmu-runner.log | sed 's/.*rbdtier //')"
  gw_login
  gw_read_compare
  out=$(python3 /e2e/initiators.py away "$ASOK" "$GW_DISK") || fail "after the restart: $out"
  record gw_after_restart "pattern read back through $DISK; $out"
  iscsiadm -m node -T "$GW_TARGET_IQN" -p "$GW_IP:3260" -I default --logout >/dev/null || fail "logout ($GW_TARGET_IQN, restored)"
  kill "$API_PID"
  wait_for 60 gone "$API_PID" || fail "rbd-target-api did not stop"
  API_PID=""
  kill "$TCMU_PID"
  wait_for 30 gone "$TCMU_PID" || fail "tcmu-runner (ceph-iscsi) did not stop"
  TCMU_PID=""
  phase_end
fi

record time_total "$(($(now_ms) - T0))"
record status PASS
log PASS
