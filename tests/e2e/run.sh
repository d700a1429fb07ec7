#!/bin/bash
# tests/e2e/run.sh: real-kernel end-to-end test of a tcmu-runner handler. Contract:
#   Boots a Debian 12 guest (Debian's kernel, a debootstrap root file system as initramfs, cached in
#   --cache keyed by the package list and this script's version) under QEMU software emulation. In
#   the guest, Debian's tcmu-runner loads the handler given with --handler, targetcli creates a
#   user:<subtype> LUN on a fresh RBD image of a Ceph cluster running on this host, LIO exports it
#   over iSCSI on the guest's loopback and open-iscsi drives I/O on it (a pattern with direct I/O, fio
#   with crc32c verification). The host then finds the pattern in the RBD image, and proves its own
#   check can fail by corrupting one byte of the image. With --bad-cfgstring, targetcli must refuse
#   that cfgstring with the handler's check_config reason (as "cfgstring invalid: <reason>" matching
#   --bad-cfg-expect; both options may be repeated, in pairs). For user:rbdtier, two such checks are
#   on by default: a malformed option and an image that does not exist (found by asking the cluster).
#   With user:rbdtier the LUN is tiered by default (--tiers, --no-tiers): cfgstring
#   "hdd-a/<image>;tiers=hdd-a+nvme-a+nvme-b+hdd-b;policy=reactive;quota=nvme-a=16M"; with those
#   tiers the image and the LUN are made by the README's own lines ("Creating a LUN": `rbd create`
#   here, `targetcli` in the guest, with this run's values for their parameters), on a cluster.sh
#   cluster with its latency profile (hdd-a slow, nvme-a fast), so the handler moves the extents the
#   guest uses to faster tiers while it uses them. The guest keeps reading and comparing the pattern
#   until this script has seen, in the placement map, every extent of the pattern away from home;
#   fio's verified random I/O then runs on extents that move under it. The host reads the LUN back
#   with lun_export (--lun-export; each extent from the tier image the map names) instead of
#   `rbd export`, requires at least one extent away from home, and the self-check corrupts the byte
#   in whichever image holds it (and, when that is home, a second byte in a tier image).
#   With user:rbdtier the same guest then serves a second image as user:rbd, the way ceph-iscsi's
#   gwcli/rbd-target-api create LUNs: the handler switched to subtype rbd (rbdtier.conf
#   handler_subtype = rbd), Debian's handler_rbd.so diverted out of tcmu-runner's handler directory
#   with dpkg-divert (the README's recipe), targetcli /backstores/user:rbd with handler_rbd's
#   cfgstring "<pool>/<image>-rbd;osd_op_timeout=30;conf=...", tiering enabled only by the image's
#   metadata (rbdtier.tiers, rbdtier.policy, set here with `rbd image-meta set`). The guest proves
#   our handler serves it: its "registered as subtype rbd" and tiered "opened:" log lines, and its
#   admin socket listing the LUN; a pattern written over iSCSI is then found in the image.
#   Then ceph-iscsi 3.5 (Debian's package: rbd-target-api, gwcli) manages a third image in that
#   guest, against this host's cluster, with its gateway.conf object in the home pool: its REST API
#   and gwcli create the target, the gateway (the guest), the disk (the image, tiered by its
#   metadata as above) and a client ACL; our handler must serve the user:rbd backstore ceph-iscsi
#   makes, an extent must move to the tier, and after rbd-target-api and tcmu-runner restart,
#   ceph-iscsi must restore the LUN from gateway.conf and the pattern read back. Before the
#   restart, with the client logged in, one `gwcli ls` must show the disk (image, size, state
#   Online), the target with the disk's LUN and owner, the gateway UP, the client with its LUN,
#   and the disk's pool with `ceph df`'s capacity; rbd-target-api must report the disk's
#   backstore user:rbd and its status Online with the guest as lock owner (from the service map
#   entries our handler publishes); gwcli_check.py does this and is shown to fail on the same
#   output for a disk that is not there; ceph-iscsi's rbd-target-gw (its syslog taken by
#   syslogd.py) must export the LUN's size and mapping in its metrics. The cluster therefore runs
#   a mgr (cluster.sh start --mgr; a --ceph-conf cluster must have one). The host finds the
#   pattern with lun_export (an extent away from home), the disk, target, gateway and client in
#   gateway.conf, and prints the gwcli ls tree.
#   Unless RBDTIER_E2E_MULTIPATH=0 (and only for a tiered LUN), between the user:rbdtier and user:rbd
#   phases the guest plays two gateways of the tiered LUN (README "Two gateways, one LUN"): two
#   backstores of its image with one WWN, on two TPGs and addresses, implicit ALUA groups ao (id 1)
#   and ano2 (id 2); multipathd (multipath.conf) joins the paths into one map; the guest checks the
#   configfs ALUA groups, the VPD pages of both paths, and writes random data through the map
#   (seed printed) through gw1, through gw2 after gw1's TPG is disabled, through gw1 after gw2's
#   is, reading all back each time (multipath.py), each round's reads counted on that gateway's
#   target port alone; the host finds the guest's shadow copy in the LUN (lun_export). Phase
#   times mp_round, mp_failover, mp_reinstate and mp_failback are printed. On a failure, the
#   warnings and errors of each tcmu-runner the guest ran are printed.
#   targetcli cannot create a LUN whose cfgstring has ',' or ':' (rtslib refuses ':', the kernel's
#   control file splits at ','), so a tiered LUN is created through configfs attrib/dev_config,
#   which takes the string verbatim (target.py create), and shown with targetcli ls.
#   Prints phase timings, fio figures and one last line "e2e: PASS" or "e2e: FAIL: <reason>"; the
#   exit status is 0 only on PASS. The VM and any cluster it started are stopped by PID, also on
#   failure or interruption; its temporary directory is removed unless --keep.
# Usage: run.sh [--handler SO] [--subtype NAME] [--ceph-conf CONF] [--pool POOL] [--cache DIR]
#               [--bad-cfgstring STR] [--bad-cfg-expect REGEX] [--smp N] [--keep]
#               [--cluster auto|script|mini] [--tiers POOLS | --no-tiers] [--lun-export PATH]
#               [--deb PATH]
#   --ceph-conf: use this running cluster (default: $RBDTIER_CEPH_CONF). Otherwise the test starts
#   its own: with tests/cluster/cluster.sh (script), or a one-OSD cluster of its own (mini); auto
#   (the default) takes the script when it exists. A tiered LUN needs the script's four pools; the
#   script's cluster is started with --mgr and --latency (a --ceph-conf cluster must make the home pool slower
#   than another tier itself, or nothing moves and the test fails saying so).
#   --lun-export: default <dir of --handler>/../tests/e2e/lun_export (a build tree).
#   --deb: install the handler in the guest from this Debian package (dpkg -i; tcmu-runner loads it
#   from its own handler directory) instead of copying --handler there; --handler then only names
#   the subtype and where lun_export is. The package's dependencies must be in the guest image
#   (GUEST_PACKAGES): dpkg -i fails otherwise, which is part of the test.
set -euo pipefail

SCRIPT_VERSION=5 # bump when the guest image recipe changes
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

HANDLER=/usr/lib/x86_64-linux-gnu/tcmu-runner/handler_rbd.so
SUBTYPE=""
CEPH_CONF=${RBDTIER_CEPH_CONF:-}
POOL=""
TIERS=""     # empty: hdd-a,nvme-a,nvme-b,hdd-b for user:rbdtier
NO_TIERS=0
LUN_EXPORT=""
DEB=""
CACHE=${RBDTIER_E2E_CACHE:-/var/cache/rbdtier-e2e}
BAD_CFGSTRINGS=()
BAD_CFG_EXPECTS=()
SMP=2
KEEP=0
CLUSTER_KIND=auto
MULTIPATH=${RBDTIER_E2E_MULTIPATH:-1} # 0: without the multipath phases (see the header)
DEADLINE=840 # seconds for the whole run: fail cleanly before CTest's TIMEOUT (900) kills us
while (($#)); do
  case $1 in
  --handler) HANDLER=$2; shift 2 ;;
  --subtype) SUBTYPE=$2; shift 2 ;;
  --ceph-conf) CEPH_CONF=$2; shift 2 ;;
  --pool) POOL=$2; shift 2 ;;
  --cache) CACHE=$2; shift 2 ;;
  --bad-cfgstring) BAD_CFGSTRINGS+=("$2"); shift 2 ;;
  --bad-cfg-expect) BAD_CFG_EXPECTS+=("$2"); shift 2 ;;
  --smp) SMP=$2; shift 2 ;;
  --keep) KEEP=1; shift ;;
  --cluster) CLUSTER_KIND=$2; shift 2 ;;
  --tiers) TIERS=$2; shift 2 ;;
  --no-tiers) NO_TIERS=1; shift ;;
  --lun-export) LUN_EXPORT=$2; shift 2 ;;
  --deb) DEB=$2; shift 2 ;;
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
  *) echo "e2e: FAIL: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n $SUBTYPE ]] || { SUBTYPE=$(basename "$HANDLER" .so); SUBTYPE=${SUBTYPE#handler_}; }
TIERED=0
if [[ $SUBTYPE == rbdtier ]] && ((!NO_TIERS)); then
  TIERED=1
  TIERS=${TIERS:-hdd-a,nvme-a,nvme-b,hdd-b}
  POOL=${POOL:-${TIERS%%,*}} # the first tier is home
  LUN_EXPORT=${LUN_EXPORT:-$(dirname "$HANDLER")/../tests/e2e/lun_export}
fi
POOL=${POOL:-nvme-a}
((${#BAD_CFGSTRINGS[@]} == ${#BAD_CFG_EXPECTS[@]})) || { echo "e2e: FAIL: --bad-cfgstring and --bad-cfg-expect come in pairs" >&2; exit 2; }

# Guest packages. Libraries the handler needs that these lack are copied from the host per run;
# libtbb12 and libisal2 are there for the rbdtier package's dependencies (--deb). ceph-iscsi
# (rbd-target-api, gwcli) and what it runs: ceph-common (rbd-target-api's start runs
# `ceph osd blocklist ls`) and curl (the REST calls gwcli and the dashboard make);
# python3-cffi-backend by name: debootstrap does not resolve the virtual package
# python3-cryptography depends on.
GUEST_PACKAGES=(kmod tcmu-runner targetcli-fb python3-rtslib-fb python3-dbus python3-gi open-iscsi
  dbus fio librbd1 librados2 libtbb12 libisal2 nftables iproute2 procps util-linux python3
  ceph-iscsi ceph-common curl python3-cffi-backend multipath-tools)
# Kernel modules the guest loads (with their dependencies).
GUEST_MODULES=(configfs target_core_mod target_core_user iscsi_target_mod iscsi_tcp libiscsi_tcp libiscsi
  scsi_transport_iscsi sd_mod uio 9p 9pnet_virtio virtio_pci virtio_net nf_tables nft_nat nft_chain_nat
  nf_nat nf_conntrack crc32c_generic crc32c_intel crc_t10dif dm_multipath dm_queue_length scsi_dh_alua)
MIRROR=${RBDTIER_E2E_MIRROR:-http://deb.debian.org/debian}

TMP=""
QEMU_PID=""
OWN_CLUSTER=""      # directory of a cluster this run started
OWN_CLUSTER_KIND="" # cluster.sh | mini
IMAGE=""
RBD_IMAGE=""  # the image served as user:rbd (tiered by its metadata), when TIERED
RBD_TIER=""   # the tier its metadata names besides home
GW_IMAGE=""   # the image ceph-iscsi's rbd-target-api and gwcli serve (tiered by its metadata)
T_START=$(date +%s%3N)
PHASES=()

say() { echo "e2e: $*"; }
die() {
  say "FAIL: $*"
  exit 1
}
ms() { date +%s%3N; }
phase() { # phase NAME START_MS
  PHASES+=("$1=$(($(ms) - $2))ms")
  say "phase $1: $(($(ms) - $2)) ms"
}
wait_for() { # wait_for SECONDS CMD...: run CMD until it succeeds or the deadline passes
  local deadline=$(($(date +%s) + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    (($(date +%s) < deadline)) || return 1
    sleep 0.3
  done
}
alive() { [[ -e /proc/$1 ]] && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }
stop_pid() { # stop_pid PID: TERM, then KILL after 10 s
  local pid=$1
  alive "$pid" || return 0
  kill "$pid" 2>/dev/null || return 0
  wait_for 10 bash -c "! { [[ -e /proc/$pid ]] && [[ \$(awk '{print \$3}' /proc/$pid/stat) != Z ]]; }" ||
    kill -9 "$pid" 2>/dev/null || true
}

# lun_names: sets TIER_IMAGE and MAP_OBJECT, the names of $POOL/$IMAGE's tier images and
# placement map (format 2: from the LUN's identity, its pool id and RBD image id).
TIER_IMAGE=""
MAP_OBJECT=""
lun_names() { # lun_names [IMAGE]: of $IMAGE by default
  local id pool_id
  id=$(timeout 60 rbd -c "$CEPH_CONF" info --format json "$POOL/${1:-$IMAGE}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || return 1
  pool_id=$(timeout 60 ceph -c "$CEPH_CONF" osd pool ls detail --format json |
    python3 -c 'import json,sys; print([p["pool_id"] for p in json.load(sys.stdin) if p["pool_name"] == sys.argv[1]][0])' "$POOL") ||
    return 1
  TIER_IMAGE="rbdtier.$pool_id.$id"
  MAP_OBJECT="rbdtier_map.$id"
}

cleanup() {
  local rc=$?
  set +e
  if [[ -n $QEMU_PID ]]; then stop_pid "$QEMU_PID"; fi
  if [[ -n $IMAGE && -n $CEPH_CONF && -z $OWN_CLUSTER ]]; then
    if ((TIERED)) && lun_names; then
      local tier
      for tier in ${TIERS//,/ }; do
        [[ $tier == "$POOL" ]] || timeout 60 rbd -c "$CEPH_CONF" rm "$tier/$TIER_IMAGE" >/dev/null 2>&1
      done
      timeout 60 rados -c "$CEPH_CONF" -p "$POOL" rm "$MAP_OBJECT" >/dev/null 2>&1
    fi
    timeout 60 rbd -c "$CEPH_CONF" rm "$POOL/$IMAGE" >/dev/null 2>&1
    if [[ -n $RBD_IMAGE ]]; then
      if lun_names "$RBD_IMAGE"; then
        timeout 60 rbd -c "$CEPH_CONF" rm "$RBD_TIER/$TIER_IMAGE" >/dev/null 2>&1
        timeout 60 rados -c "$CEPH_CONF" -p "$POOL" rm "$MAP_OBJECT" >/dev/null 2>&1
      fi
      timeout 60 rbd -c "$CEPH_CONF" rm "$POOL/$RBD_IMAGE" >/dev/null 2>&1
    fi
    if [[ -n $GW_IMAGE ]]; then
      if lun_names "$GW_IMAGE"; then
        timeout 60 rbd -c "$CEPH_CONF" rm "$RBD_TIER/$TIER_IMAGE" >/dev/null 2>&1
        timeout 60 rados -c "$CEPH_CONF" -p "$POOL" rm "$MAP_OBJECT" >/dev/null 2>&1
      fi
      timeout 60 rbd -c "$CEPH_CONF" rm "$POOL/$GW_IMAGE" >/dev/null 2>&1
      timeout 60 rados -c "$CEPH_CONF" -p "$POOL" rm gateway.conf >/dev/null 2>&1
    fi
  fi
  if [[ -n $OWN_CLUSTER ]]; then
    case $OWN_CLUSTER_KIND in
    cluster.sh) "$REPO/tests/cluster/cluster.sh" stop "$OWN_CLUSTER" >/dev/null 2>&1 ;;
    mini) mini_cluster_stop "$OWN_CLUSTER" ;;
    esac
  fi
  if [[ -n $TMP ]]; then
    if ((KEEP)); then say "kept $TMP"; else rm -rf "$TMP"; fi
  fi
  say "phases: ${PHASES[*]} total=$(($(ms) - T_START))ms"
  if ((rc == 0)); then say PASS; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'die "interrupted"' INT TERM HUP

# ---------------------------------------------------------------------------------------------------
# Host prerequisites
need_host_tools() {
  local missing=()
  command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v cpio >/dev/null || missing+=(cpio)
  command -v depmod >/dev/null || missing+=(kmod)
  command -v rbd >/dev/null || missing+=(ceph-common)
  command -v ceph-mon >/dev/null || missing+=(ceph-mon)
  command -v ceph-osd >/dev/null || missing+=(ceph-osd)
  command -v python3 >/dev/null || missing+=(python3)
  command -v flock >/dev/null || missing+=(util-linux)
  if ((${#missing[@]})); then
    say "installing host packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; } ||
      die "cannot install ${missing[*]}"
  fi
}

# ---------------------------------------------------------------------------------------------------
# Guest image: $CACHE/<key>/{vmlinuz,rootfs.cpio,files.txt}
kernel_package() {
  apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'
}

guest_init() {
  cat <<'EOF'
#!/bin/bash
# PID 1 of the e2e guest: mount the basics and the 9p share, run its guest.sh, power off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /run /tmp
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
for m in virtio_pci 9pnet_virtio 9p; do modprobe $m; done
mkdir -p /e2e
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 e2e /e2e; then
  bash /e2e/guest.sh 2>&1 | tee /e2e/guest.log
else
  echo "guest: FAIL: cannot mount the 9p share"
fi
sync
echo o >/proc/sysrq-trigger
sleep 30
EOF
}

build_image() { # build_image DIR KERNEL_PKG
  local out=$1 kpkg=$2 work root kver scratch_base=$CACHE
  work=$(mktemp -d "$CACHE/build.XXXXXX")
  # Unpack in memory when there is room: dpkg's fsyncs cost minutes on a busy disk.
  local avail
  avail=$(df --output=avail -k /dev/shm 2>/dev/null | tail -1 | tr -d ' ')
  if [[ $avail =~ ^[0-9]+$ ]] && ((avail > 2 * 1024 * 1024)); then scratch_base=/dev/shm; fi
  BUILD_SCRATCH=$(mktemp -d "$scratch_base/rbdtier-e2e-build.XXXXXX")
  root=$BUILD_SCRATCH/root
  say "building guest image in $work (debootstrap, kernel $kpkg)"
  (cd "$work" && apt-get download -q "$kpkg" >/dev/null 2>&1) ||
    { apt-get update -q >/dev/null && (cd "$work" && apt-get download -q "$kpkg" >/dev/null); } ||
    { rm -rf "$work"; die "cannot download $kpkg"; }
  local include
  include=$(IFS=,; echo "${GUEST_PACKAGES[*]}")
  mkdir -p "$CACHE/debs" # downloaded packages, kept for the next rebuild (a month at most)
  find "$CACHE/debs" -name "*.deb" -mtime +30 -delete
  if ! debootstrap --variant=minbase --cache-dir="$CACHE/debs" --include="$include" bookworm "$root" "$MIRROR" \
    >"$work/debootstrap.log" 2>&1; then
    tail -20 "$work/debootstrap.log"
    rm -rf "$work"
    die "debootstrap failed"
  fi
  local k=$BUILD_SCRATCH/k
  mkdir "$k"
  dpkg-deb -x "$work"/linux-image-*.deb "$k"
  kver=$(ls "$k/lib/modules")
  depmod -b "$k" "$kver"
  # Copy the modules we load and what they depend on; nothing else (keeps the initramfs small).
  local m verb ko rest
  for m in "${GUEST_MODULES[@]}"; do
    modprobe -d "$k" -S "$kver" --show-depends "$m" 2>/dev/null || true # "builtin m" lines: skip
  done | while read -r verb ko rest; do
    if [[ $verb == insmod ]]; then
      mkdir -p "$root$(dirname "${ko#"$k"}")"
      cp "$ko" "$root${ko#"$k"}"
    fi
  done
  cp "$k/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$kver/" 2>/dev/null || true
  depmod -b "$root" "$kver"
  cp "$k/boot/vmlinuz-$kver" "$work/vmlinuz"
  # The uncompressed ELF kernel boots through its PVH entry: saves the ~10 s that the bzImage
  # spends decompressing itself under emulation.
  python3 - "$work/vmlinuz" "$work/vmlinux" <<'EOF' || rm -f "$work/vmlinux"
import lzma, sys, zlib
data = open(sys.argv[1], "rb").read()
for magic, make in ((b"\xfd7zXZ\x00", lzma.LZMADecompressor),
                    (b"\x1f\x8b\x08", lambda: zlib.decompressobj(31))):
    at = data.find(magic)
    if at < 0:
        continue
    try:
        out = make().decompress(data[at:])
    except (lzma.LZMAError, zlib.error):
        continue
    if out[:4] == b"\x7fELF":
        open(sys.argv[2], "wb").write(out)
        sys.exit(0)
sys.exit(1)
EOF
  # Trim what a test guest never reads.
  rm -rf "$root"/usr/share/{doc,man,info,locale,i18n,zoneinfo} "$root"/usr/lib/udev/hwdb.bin \
    "$root"/etc/localtime "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/*
  guest_init >"$root/init"
  chmod 755 "$root/init"
  (cd "$root" && find . -type f -o -type l | sed 's|^\.||' | sort) >"$work/files.txt"
  (cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$work/rootfs.cpio"
  rm -rf "$BUILD_SCRATCH" "$work"/*.deb
  mv "$work" "$out"
}

ensure_image() {
  local kpkg key
  kpkg=$(kernel_package)
  [[ -n $kpkg ]] || { apt-get update -q >/dev/null; kpkg=$(kernel_package); }
  [[ -n $kpkg ]] || die "no linux-image-amd64 candidate in apt"
  key=$( { echo "$SCRIPT_VERSION"; echo "$kpkg"; echo "$MIRROR"; printf '%s\n' "${GUEST_PACKAGES[@]}" \
    "${GUEST_MODULES[@]}"; guest_init; } | sha256sum | cut -c1-16)
  IMG=$CACHE/$key
  mkdir -p "$CACHE"
  (
    flock 9
    BUILD_SCRATCH=""
    trap 'rm -rf "$BUILD_SCRATCH" "$CACHE"/build.*' EXIT
    if [[ ! -s $IMG/rootfs.cpio ]]; then
      # Images of other keys and builds that were interrupted are of no further use.
      find "$CACHE" -mindepth 1 -maxdepth 1 -type d ! -name debs -exec rm -rf {} +
      build_image "$IMG" "$kpkg"
    fi
  ) 9>"$CACHE/.lock"
  [[ -s $IMG/rootfs.cpio && -s $IMG/vmlinuz ]] || die "guest image $IMG incomplete"
}

# ---------------------------------------------------------------------------------------------------
# A one-OSD memstore cluster of our own (used only when tests/cluster/cluster.sh is absent).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mini_cluster_start() { # mini_cluster_start DIR: one mon, one memstore OSD, pool $POOL; writes DIR/ceph.conf
  local d=$1 port fsid uuid
  port=$(free_port)
  fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  mkdir -p "$d/run" "$d/log" "$d/mon.a" "$d/osd.0"
  cat >"$d/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$port
auth cluster required = none
auth service required = none
auth client required = none
ms bind msgr1 = false
public addr = 127.0.0.1
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd crush chooseleaf type = 0
osd pool default pg autoscale mode = off
run dir = $d/run
log file = $d/log/\$name.log
admin socket =
[mon]
mon data = $d/mon.\$id
admin socket = $d/run/\$name.asok
[osd]
osd data = $d/osd.\$id
osd objectstore = memstore
memstore device bytes = 1073741824
admin socket = $d/run/\$name.asok
EOF
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$port]" "$d/monmap" >/dev/null
  ceph-mon -c "$d/ceph.conf" --mkfs -i a --monmap "$d/monmap" >/dev/null 2>&1
  # In the foreground (-f) as our children, so that even a test runner killing our process tree
  # takes them along.
  ceph-mon -c "$d/ceph.conf" -i a -f >>"$d/log/mon.a.out" 2>&1 &
  echo $! >"$d/run/mon.a.pid"
  uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  timeout 30 ceph -c "$d/ceph.conf" osd new "$uuid" 0 >/dev/null
  ceph-osd -c "$d/ceph.conf" -i 0 --mkfs --osd-uuid "$uuid" >/dev/null 2>&1
  ceph-osd -c "$d/ceph.conf" -i 0 -f >>"$d/log/osd.0.out" 2>&1 &
  echo $! >"$d/run/osd.0.pid"
  osd_up() { ceph -c "$d/ceph.conf" osd dump -f json | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["osds"][0]["up"] else 1)'; }
  wait_for 60 osd_up || return 1
  timeout 30 ceph -c "$d/ceph.conf" osd pool create "$POOL" 8 8 >/dev/null 2>&1
  timeout 30 ceph -c "$d/ceph.conf" osd pool application enable "$POOL" rbd >/dev/null 2>&1
}

mini_cluster_stop() { # mini_cluster_stop DIR: stop its daemons by their pid files
  local f pid
  for f in "$1"/run/*.pid; do
    [[ -e $f ]] || continue
    pid=$(cat "$f")
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == ceph-* ]] && stop_pid "$pid"
  done
}

ensure_cluster() {
  if [[ -n $CEPH_CONF ]]; then
    [[ -r $CEPH_CONF ]] || die "ceph.conf $CEPH_CONF not readable"
    return
  fi
  OWN_CLUSTER=$TMP/cluster
  if [[ $CLUSTER_KIND == auto ]]; then
    CLUSTER_KIND=mini
    [[ -x $REPO/tests/cluster/cluster.sh ]] && CLUSTER_KIND=script
  fi
  if [[ $CLUSTER_KIND == script ]]; then
    OWN_CLUSTER_KIND=cluster.sh
    local opts=()
    # Slow hdd, fast nvme: what the reactive policy acts on. A mgr: gwcli and ceph-iscsi's disk
    # status need `ceph df` and the service map.
    ((TIERED)) && opts=(--latency --mgr)
    "$REPO/tests/cluster/cluster.sh" start "$OWN_CLUSTER" "${opts[@]}" >"$TMP/cluster.log" 2>&1 ||
      { tail -20 "$TMP/cluster.log"; die "tests/cluster/cluster.sh start failed"; }
    grep '^cluster.sh: .*started in\|^cluster.sh: mgr' "$TMP/cluster.log" | sed 's/^/e2e: /' || true
  else
    ((!TIERED)) || die "a tiered LUN needs tests/cluster/cluster.sh's four pools (or use --no-tiers)"
    OWN_CLUSTER_KIND=mini
    mini_cluster_start "$OWN_CLUSTER" >"$TMP/cluster.log" 2>&1 ||
      { tail -20 "$TMP/cluster.log"; die "could not start a local cluster"; }
  fi
  CEPH_CONF=$OWN_CLUSTER/ceph.conf
}

# Ports of every monitor, OSD and active mgr address on 127.0.0.1 (what the guest must reach).
cluster_ports() {
  { ceph -c "$CEPH_CONF" mon dump -f json 2>/dev/null; echo; ceph -c "$CEPH_CONF" osd dump -f json 2>/dev/null
    echo; timeout 30 ceph -c "$CEPH_CONF" mgr dump -f json 2>/dev/null; } |
    python3 -c '
import json, sys
ports = set()
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"):
        continue
    d = json.loads(line)
    vecs = [m["public_addrs"]["addrvec"] for m in d.get("mons", [])]
    vecs += [o["public_addrs"]["addrvec"] for o in d.get("osds", []) if o.get("up")]
    if d.get("available"):
        vecs.append(d["active_addrs"]["addrvec"])
    for v in vecs:
        for a in v:
            host, _, port = a["addr"].rpartition(":")
            if host == "127.0.0.1" and port != "0":
                ports.add(int(port))
print(" ".join(map(str, sorted(ports))))'
}

# export_lun FILE SUMMARY: the LUN's bytes as an initiator sees them. Tiered: lun_export, each
# extent from the image the placement map names (its summary lines to SUMMARY); else `rbd export`.
export_lun() {
  if ((TIERED)); then
    timeout 120 "$LUN_EXPORT" --conf "$CEPH_CONF" --pool "$POOL" --image "$IMAGE" --out "$1" >"$2" 2>"$2.err" ||
      die "lun_export: $(cat "$2.err")"
  else
    : >"$2"
    timeout 120 rbd -c "$CEPH_CONF" export --no-progress "$POOL/$IMAGE" "$1" >/dev/null 2>&1 || die "rbd export"
  fi
}

# watch_placement: reads the placement map (lun_export --map-only) into PLACE (extent -> pool;
# absent = home) and logs each change in TRAIL (extent -> " -> pool -> ..."), counting MOVES_SEEN.
declare -A PLACE=() TRAIL=()
MOVES_SEEN=0
watch_placement() {
  local out word e pool
  out=$(timeout 10 "$LUN_EXPORT" --conf "$CEPH_CONF" --pool "$POOL" --image "$IMAGE" --map-only 2>/dev/null) ||
    return 1
  local -A now=()
  while read -r word word e pool _; do
    [[ $word == away ]] && now[$e]=$pool
  done <<<"$out"
  for e in $(printf '%s\n' "${!PLACE[@]}" "${!now[@]}" | sort -nu); do
    if [[ ${PLACE[$e]:-} != "${now[$e]:-}" ]]; then
      MOVES_SEEN=$((MOVES_SEEN + 1))
      TRAIL[$e]+=" -> ${now[$e]:-$POOL}"
    fi
  done
  PLACE=()
  for e in "${!now[@]}"; do PLACE[$e]=${now[$e]}; done
}

# corrupt_lun_byte OFFSET SUMMARY: flips one byte of the LUN in the RADOS object holding it (in the
# tier image SUMMARY's "away" lines name, else in the home image); sets CORRUPTED_IN.
CORRUPTED_IN=""
corrupt_lun_byte() {
  local offset=$1 holder="" image=$IMAGE info prefix objsize obj
  if ((TIERED)); then
    holder=$(awk -v e=$((offset / (4 << 20))) '$1 == "lun_export:" && $2 == "away" && $3 == e {print $4}' "$2")
  fi
  holder=${holder:-$POOL}
  if [[ $holder != "$POOL" ]]; then
    lun_names || die "cannot name the tier images of $POOL/$IMAGE"
    image=$TIER_IMAGE
  fi
  info=$(rbd -c "$CEPH_CONF" info --format json "$holder/$image") || die "rbd info $holder/$image"
  prefix=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["block_name_prefix"])' <<<"$info")
  objsize=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["object_size"])' <<<"$info")
  obj=$(printf '%s.%016x' "$prefix" $((offset / objsize)))
  rados -c "$CEPH_CONF" -p "$holder" get "$obj" "$TMP/obj" || die "rados get $holder/$obj"
  python3 - "$TMP/obj" $((offset % objsize)) <<'EOF' || die "cannot corrupt $obj"
import sys
path, off = sys.argv[1], int(sys.argv[2])
data = bytearray(open(path, "rb").read())
data[off] ^= 0x5A
open(path, "wb").write(data)
EOF
  rados -c "$CEPH_CONF" -p "$holder" put "$obj" "$TMP/obj" || die "rados put $holder/$obj"
  CORRUPTED_IN=$holder/$image
}

# The README's tiered LUN, run as documented (README "Creating a LUN"): its fenced block that
# creates a user:rbdtier backstore with tiers=. The block's first line assigns the parameters
# (LUN SIZE POLICY QUOTA) the other lines use; this run assigns its own instead. `rbd` lines run
# here (CEPH_CONF names the cluster), `targetcli` lines in the guest. Before either runs, the
# targetcli line is expanded here with targetcli standing in as a printer: its cfgstring must be
# the one this run serves (README_CFGSTRING). Writes $TMP/readme_host.sh, $TMP/readme_guest.sh.
README_VARS="LUN SIZE POLICY QUOTA"
README_CFGSTRING=""
readme_lun_lines() { # readme_lun_lines LUN SIZE POLICY QUOTA
  local block line cmd assign="" host="" guest="" n=0 argv
  block=$(awk '/^```/ { if (open) { if (b ~ /targetcli \/backstores\/user:rbdtier create/ && b ~ /tiers=/) { printf "%s", b; n++ }; open = 0; b = ""; next } open = 1; next }
    open { b = b $0 "\n" } END { exit (n != 1) }' "$REPO/README.md") ||
    die "README.md: not exactly one fenced block creating a tiered user:rbdtier LUN"
  while IFS= read -r line; do
    while [[ $line == *\\ ]] && IFS= read -r cmd; do line+=$'\n'"$cmd"; done
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    n=$((n + 1))
    if ((n == 1)); then
      # The parameter line: exactly VAR=value for README_VARS, in that order.
      [[ $(sed -E 's/=[^ ]+//g' <<<"$line") == "$README_VARS" ]] ||
        die "README.md's tiered LUN block: first line '$line' does not assign $README_VARS"
      assign="LUN=$1 SIZE=$2 POLICY=$3 QUOTA=$4"
      continue
    fi
    case $line in
    rbd\ *) host+="$line"$'\n' ;;
    targetcli\ *) guest+="$line"$'\n' ;;
    *) die "README.md's tiered LUN block: '$line' is neither an rbd nor a targetcli command" ;;
    esac
  done <<<"$block"
  [[ -n $host && -n $guest ]] || die "README.md's tiered LUN block lacks its rbd create or targetcli line"
  printf '%s\n%s' "$assign" "$host" >"$TMP/readme_host.sh"
  printf '%s\n%s' "$assign" "$guest" >"$TMP/readme_guest.sh"
  argv=$(bash -c 'targetcli() { printf "%s\n" "$@"; }; source "$1"' _ "$TMP/readme_guest.sh") ||
    die "README.md's targetcli line does not run in bash: $(cat "$TMP/readme_guest.sh")"
  [[ $(grep -c '^cfgstring=' <<<"$argv") == 1 ]] || die "README.md's targetcli line has no single cfgstring=: $argv"
  README_CFGSTRING=$(sed -n 's/^cfgstring=//p' <<<"$argv")
  grep -qxF "name=$1" <<<"$argv" && grep -qxF "size=$2" <<<"$argv" ||
    die "README.md's targetcli line does not take name=\$LUN size=\$SIZE: $argv"
  say "README's tiered LUN, as this run runs it: $(tr '\n' ';' <"$TMP/readme_host.sh") then in the guest $(tr '\n' ' ' <<<"$guest")"
}

# ---------------------------------------------------------------------------------------------------
main() {
  [[ $(id -u) == 0 ]] || die "must run as root (debootstrap, apt-get)"
  [[ -r $HANDLER ]] || die "handler $HANDLER not found"
  [[ -z $DEB || -r $DEB ]] || die "package $DEB not found"
  if ((TIERED)); then
    [[ -x $LUN_EXPORT ]] || die "lun_export $LUN_EXPORT not found (build target lun_export, or --lun-export)"
  fi
  local t
  t=$(ms)
  need_host_tools
  TMP=$(mktemp -d /tmp/rbdtier-e2e.XXXXXX)
  IMAGE=e2e-$(basename "$TMP" | tr 'A-Z.' 'a-z-')
  local lun_bytes=$((64 << 20))
  # The README's tiered LUN serves the default tiered run: its pool and tiers are the README's.
  local readme_lun=0
  if ((TIERED)) && [[ $POOL == hdd-a && $TIERS == hdd-a,nvme-a,nvme-b,hdd-b ]]; then
    readme_lun=1
    readme_lun_lines "$IMAGE" 64M reactive 16M
  fi
  ensure_image
  phase image "$t"

  t=$(ms)
  ensure_cluster
  if ((readme_lun)); then
    CEPH_CONF=$CEPH_CONF timeout 60 bash -eu "$TMP/readme_host.sh" || die "the README's rbd line: $(cat "$TMP/readme_host.sh")"
    [[ $(timeout 60 rbd -c "$CEPH_CONF" info --format json "$POOL/$IMAGE" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])') == "$lun_bytes" ]] ||
      die "the README's rbd line did not create $POOL/$IMAGE of $lun_bytes bytes"
  else
    timeout 60 rbd -c "$CEPH_CONF" create --size "${lun_bytes}B" "$POOL/$IMAGE" || die "rbd create $POOL/$IMAGE"
  fi
  local rbd_bytes=$((16 << 20))
  if ((TIERED)); then
    # Served as user:rbd with handler_rbd's cfgstring; tiered only by its image metadata.
    RBD_IMAGE=$IMAGE-rbd
    RBD_TIER=$(tr ',' '\n' <<<"$TIERS" | grep -vxF "$POOL" | head -1)
    timeout 60 rbd -c "$CEPH_CONF" create --size "${rbd_bytes}B" "$POOL/$RBD_IMAGE" ||
      die "rbd create $POOL/$RBD_IMAGE"
    timeout 60 rbd -c "$CEPH_CONF" image-meta set "$POOL/$RBD_IMAGE" rbdtier.tiers "$POOL+$RBD_TIER" >/dev/null &&
      timeout 60 rbd -c "$CEPH_CONF" image-meta set "$POOL/$RBD_IMAGE" rbdtier.policy reactive >/dev/null ||
      die "rbd image-meta set $POOL/$RBD_IMAGE"
    # Served by ceph-iscsi (rbd-target-api, gwcli), tiered the same way. Its gateway.conf object
    # goes in $POOL: none may be there yet.
    if timeout 60 rados -c "$CEPH_CONF" -p "$POOL" stat gateway.conf >/dev/null 2>&1; then
      die "$POOL already holds a gateway.conf object (ceph-iscsi's configuration): use another cluster"
    fi
    # gwcli's pool figures (`ceph df`) and ceph-iscsi's disk status (`service status`) need a mgr.
    timeout 30 ceph -c "$CEPH_CONF" mgr stat -f json 2>/dev/null |
      python3 -c 'import json, sys; sys.exit(not json.load(sys.stdin).get("available"))' ||
      die "the cluster has no available mgr: ceph-iscsi's gwcli and disk status need one (cluster.sh start --mgr)"
    GW_IMAGE=$IMAGE-gw
    timeout 60 rbd -c "$CEPH_CONF" create --size "${rbd_bytes}B" "$POOL/$GW_IMAGE" ||
      die "rbd create $POOL/$GW_IMAGE"
    timeout 60 rbd -c "$CEPH_CONF" image-meta set "$POOL/$GW_IMAGE" rbdtier.tiers "$POOL+$RBD_TIER" >/dev/null &&
      timeout 60 rbd -c "$CEPH_CONF" image-meta set "$POOL/$GW_IMAGE" rbdtier.policy reactive >/dev/null ||
      die "rbd image-meta set $POOL/$GW_IMAGE"
  fi
  local ports
  ports=$(cluster_ports)
  [[ -n $ports ]] || die "no cluster ports on 127.0.0.1 found in the mon and osd maps"
  phase cluster "$t"

  # The share: handler, libraries the guest lacks, guest scripts, a ceph.conf for the guest.
  local share=$TMP/share lib
  mkdir -p "$share/handler" "$share/lib"
  if [[ -n $DEB ]]; then
    cp -L "$DEB" "$share/"
  else
    cp "$HANDLER" "$share/handler/handler_$SUBTYPE.so"
  fi
  cp "$HERE"/{guest.sh,target.py,pattern.py,initiators.py,gwcli_check.py,syslogd.py,multipath.py,multipath.conf} "$share/"
  local copied=()
  while read -r lib; do
    [[ -n $lib ]] || continue
    if ! grep -qxF "$lib" "$IMG/files.txt" && ! grep -qxF "/usr$lib" "$IMG/files.txt"; then
      cp -L "$lib" "$share/lib/"
      copied+=("$(basename "$lib")")
    fi
  done < <(ldd "$HANDLER" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3}')
  ((${#copied[@]})) && say "libraries copied for the guest: ${copied[*]}"
  local mon_host
  mon_host=$(ceph-conf -c "$CEPH_CONF" --lookup mon_host)
  cat >"$share/ceph.conf" <<EOF
[global]
mon host = $mon_host
auth cluster required = none
auth service required = none
auth client required = none
log file = /var/log/ceph-client.log
EOF
  local seed=$((RANDOM * 32768 + RANDOM))
  local pattern_offset=$((3 << 20)) pattern_bytes=$((2 << 20)) # crosses the 4 MiB object boundary
  local fio_offset=$((16 << 20)) fio_bytes=$((32 << 20))
  # The second initiator's region: extent 14, which the first never touches. Extents 0 and 15 are
  # left out of the per-initiator check: each login's partition scan reads the LUN's first and
  # last blocks. The first initiator's: the pattern's second extent and fio's.
  local b_offset=$((56 << 20)) b_bytes=$((2 << 20))
  local a_extents="1,$((fio_offset >> 22))-$(((fio_offset + fio_bytes - 1) >> 22))"
  # The multipath phase's region: 2 MiB across the boundary of extents 12 and 13, which no other
  # phase writes.
  local mp_offset=$((51 << 20)) mp_bytes=$((2 << 20)) mp_wwn
  mp_wwn=$(python3 -c 'import uuid; print(uuid.uuid4())')
  ((TIERED)) || MULTIPATH=0
  local cfgstring="$POOL/$IMAGE;conf=/e2e/ceph.conf"
  # 16 MiB of nvme-a: four extents; what the reactive policy promotes beyond goes to nvme-b.
  if ((TIERED)); then
    # '+' and '=' inside values: targetcli passes the string through the kernel's control
    # file, which splits at ',', and rtslib refuses ':'.
    cfgstring+=";tiers=${TIERS//,/+};policy=reactive"
    [[ ,$TIERS, == *,nvme-a,* ]] && cfgstring+=";quota=nvme-a=16M"
  fi
  local backstore=lun0
  if ((readme_lun)); then
    # The guest creates the LUN with the README's targetcli line (named after its image, as the
    # README's is), which must give this cfgstring; the guest reaches the cluster through
    # /etc/ceph/ceph.conf, as a gateway does, so it has no conf=.
    [[ $README_CFGSTRING == "${cfgstring/;conf=\/e2e\/ceph.conf/}" ]] ||
      die "README.md's targetcli line gives cfgstring '$README_CFGSTRING'; this run serves '$cfgstring' (without conf=)"
    cp "$TMP/readme_guest.sh" "$share/readme_lun.sh"
    backstore=$IMAGE
  fi
  cat >"$share/params" <<EOF
README_LUN=$readme_lun
BACKSTORE=$backstore
SUBTYPE=$SUBTYPE
DEB='${DEB:+$(basename "$DEB")}'
CFGSTRING='$cfgstring'
TIERED=$TIERED
MOVE_WAIT_SECONDS=60
LUN_SIZE=${lun_bytes}
LUN_BYTES=$lun_bytes
TARGET_IQN=iqn.2003-01.org.rbdtier:e2e
INITIATOR_IQN=iqn.2003-01.org.rbdtier:e2e-initiator
CEPH_PORTS='$ports'
SEED=$seed
PATTERN_OFFSET=$pattern_offset
PATTERN_BYTES=$pattern_bytes
FIO_OFFSET=$fio_offset
FIO_BYTES=$fio_bytes
FIO_IO_BYTES=$((6 << 20))
INITIATOR_B_IQN=iqn.2003-01.org.rbdtier:e2e-initiator-b
ASOK=/var/run/ceph/rbdtier.asok
B_OFFSET=$b_offset
B_BYTES=$b_bytes
A_EXTENTS=$a_extents
B_EXTENTS=$((b_offset / (4 << 20)))
RBD_MODE=$TIERED
RBD_CFGSTRING='$POOL/$RBD_IMAGE;osd_op_timeout=30;conf=/e2e/ceph.conf'
RBD_LUN_SIZE=$rbd_bytes
RBD_TIERS='$POOL (home), $RBD_TIER'
RBD_TARGET_IQN=iqn.2003-01.org.rbdtier:e2e-rbd
RBD_PATTERN_BYTES=$((1 << 20))
GW_MODE=$TIERED
GW_NAME=e2e-gw
GW_IP=10.0.2.15
GW_CONFIG_POOL=$POOL
GW_POOL=$POOL
GW_IMAGE=$GW_IMAGE
GW_LUN_SIZE=$rbd_bytes
GW_TIERS='$POOL (home), $RBD_TIER'
GW_TARGET_IQN=iqn.2003-01.org.rbdtier:e2e-gw
GW_API_USER=e2e
GW_API_PASSWORD=e2e-$seed
GW_SEED=$((seed + 1))
GW_PATTERN_BYTES=$((1 << 20))
MULTIPATH=$MULTIPATH
MP_TARGET_IQN=iqn.2003-01.org.rbdtier:e2e-mp
MP_WWN=$mp_wwn
MP_IP1=10.0.2.15
MP_IP2=10.0.2.16
MP_SEED=$((seed + 2))
MP_OFFSET=$mp_offset
MP_BYTES=$mp_bytes
MP_WRITES=16
EOF
  if [[ $SUBTYPE == rbdtier && ${#BAD_CFGSTRINGS[@]} == 0 ]]; then
    BAD_CFGSTRINGS=("$POOL/$IMAGE;osd_op_timeout=soon;conf=/e2e/ceph.conf"
      "$POOL/$IMAGE-absent;conf=/e2e/ceph.conf")
    BAD_CFG_EXPECTS=("cfgstring invalid: .*osd_op_timeout='soon'"
      "cfgstring invalid: .*([Nn]o such|[Nn]ot found|does not exist|ENOENT)")
  fi
  declare -p BAD_CFGSTRINGS BAD_CFG_EXPECTS >>"$share/params"

  # Boot.
  t=$(ms)
  cat "$IMG/rootfs.cpio" >"$TMP/initrd" # own copies: the cache may be rebuilt while we run
  local kernel=$TMP/kernel
  if [[ -s $IMG/vmlinux ]]; then cat "$IMG/vmlinux" >"$kernel"; else cat "$IMG/vmlinuz" >"$kernel"; fi
  say "booting guest (tcg, $SMP vCPU, 2 GiB), handler ${DEB:-$HANDLER} as user:$SUBTYPE, image $POOL/$IMAGE"
  qemu-system-x86_64 -accel tcg -cpu max -smp "$SMP" -m 2048 -nodefaults -no-reboot \
    -display none -serial "file:$TMP/console.log" -monitor none \
    -kernel "$kernel" -initrd "$TMP/initrd" \
    -append "console=ttyS0 rdinit=/init panic=-1 net.ifnames=0 quiet" \
    -netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
    -virtfs "local,path=$share,mount_tag=e2e,security_model=none,id=e2e" \
    </dev/null >"$TMP/qemu.log" 2>&1 &
  QEMU_PID=$!
  local deadline=$((T_START / 1000 + DEADLINE))
  local extent_bytes=$((4 << 20)) # rbd create's default object size: the LUN's extent
  local first_extent=$((pattern_offset / extent_bytes))
  local last_extent=$(((pattern_offset + pattern_bytes - 1) / extent_bytes))
  local next_poll=0 want_t=0
  while alive "$QEMU_PID"; do
    # From the guest's first request (want_moved) on, watch the placement map about once a second
    # and log every change; once every extent under the pattern is away from home, tell the guest
    # (moved), which has kept reading the pattern until then.
    if ((TIERED)) && [[ -e $share/want_moved ]] && (($(ms) >= next_poll)); then
      ((want_t)) || want_t=$(ms)
      next_poll=$(($(ms) + 1000))
      if watch_placement && [[ ! -e $share/moved ]]; then
        local e all=1
        for ((e = first_extent; e <= last_extent; e++)); do [[ -n ${PLACE[$e]:-} ]] || all=0; done
        if ((all)); then
          say "placement map: the pattern's extents $first_extent-$last_extent are away from home" \
            "$(($(ms) - want_t)) ms after the guest started reading them"
          : >"$share/moved"
        fi
      fi
    fi
    if (($(date +%s) > deadline)); then
      tail -30 "$TMP/console.log"
      die "guest still running at the run's deadline (${DEADLINE}s after start)"
    fi
    sleep 0.5
  done
  wait "$QEMU_PID" || true
  QEMU_PID=""
  rm -f "$TMP/initrd" "$kernel"
  phase vm "$t"

  if [[ ! -s $share/result ]]; then
    tail -40 "$TMP/console.log"
    cat "$TMP/qemu.log"
    die "guest produced no result (see console above)"
  fi
  local key val status=""
  local -A fio=()
  while IFS='=' read -r key val; do
    case $key in
    time_*) PHASES+=("guest_${key#time_}=${val}ms") ;;
    fio_*) fio[${key#fio_}]=$val ;;
    negative_*) say "negative path: $val" ;;
    created_via) say "LUN created through $val" ;;
    installed) say "installed in the guest with dpkg -i: $val" ;;
    move_reads) say "guest read and compared the pattern $val times while its extents moved" ;;
    initiators) say "per-initiator view (lun show): $val" ;;
    rbd_mode_*) say "user:rbd: ${key#rbd_mode_}: $val" ;;
    gw_*_ms) PHASES+=("${key%_ms}=${val}ms") ;;
    gw_*) say "ceph-iscsi: ${key#gw_}: $val" ;;
    mp_*_ms) PHASES+=("${key%_ms}=${val}ms") ;;
    mp_*) say "multipath: ${key#mp_}: $val" ;;
    status) status=$val ;;
    esac
  done <"$share/result"
  if [[ -n ${fio[write_iops]:-} ]]; then
    say "fio in the guest (4 KiB random 50/50 read/write, iodepth 8, O_DIRECT, crc32c verified; reads" \
      "include the verify pass): read ${fio[read_iops]} IOPS ${fio[read_kib]} KiB" \
      "lat mean ${fio[read_lat_mean_us]} us p99 ${fio[read_lat_p99_us]} us;" \
      "write ${fio[write_iops]} IOPS ${fio[write_kib]} KiB" \
      "lat mean ${fio[write_lat_mean_us]} us p99 ${fio[write_lat_p99_us]} us"
  fi
  if [[ $status != PASS ]]; then
    grep -E '^(guest|e2e):|tcmu|error|Error' "$share/guest.log" 2>/dev/null | tail -30 || tail -40 "$TMP/console.log"
    [[ -s $share/tcmu-runner.log ]] && tail -15 "$share/tcmu-runner.log"
    local kept
    for kept in "$share"/tcmu-runner*.log; do # the last tcmu-runner's log and the earlier ones
      [[ -s $kept ]] || continue
      say "warnings and errors in ${kept##*/}:"
      grep -E '\[(WARN|ERROR|CRIT)\]' "$kept" | tail -15
    done
    [[ -s $share/rbd-target-api.out ]] && tail -15 "$share/rbd-target-api.out"
    die "guest: ${status:-no status}"
  fi

  # Host side: is the pattern in the RBD image(s)? And can this check fail?
  t=$(ms)
  export_lun "$TMP/image" "$TMP/export.txt"
  local why
  why=$(python3 "$HERE/pattern.py" check "$seed" "$pattern_bytes" "$TMP/image" "$pattern_offset") ||
    die "pattern written in the guest is not in the LUN's image(s): $why"
  say "pattern found in the LUN ($POOL/$IMAGE$( ((TIERED)) && echo " and its tier images")) at offset" \
    "$pattern_offset ($pattern_bytes bytes)"
  if ((TIERED)); then
    local summary away
    summary=$(grep -m1 '^lun_export: extents=' "$TMP/export.txt") || die "lun_export printed no summary"
    away=$(sed -n 's/.* away=\([0-9]*\).*/\1/p' <<<"$summary")
    say "tiered LUN read back with lun_export: ${summary#lun_export: }"
    grep '^lun_export: away ' "$TMP/export.txt" | sed 's/^lun_export: /e2e:   /'
    watch_placement || true # the last moves, made before tcmu-runner closed the LUN
    say "placement changes seen while the guest ran (map read about once a second, so a lower" \
      "bound): $MOVES_SEEN"
    local e
    for e in $(printf '%s\n' "${!TRAIL[@]}" | sort -n); do say "  extent $e: $POOL${TRAIL[$e]}"; done
    PHASES+=("moves_seen=$MOVES_SEEN")
    ((away >= 1)) || die "no extent of the tiered LUN is away from home: the reactive policy moved nothing"
    say "extents of fio's region (extents $((fio_offset / extent_bytes))-$(((fio_offset + fio_bytes - 1) / extent_bytes))," \
      "used by fio's verified random I/O only) away from home:" \
      "$(awk -v a=$((fio_offset / extent_bytes)) -v b=$(((fio_offset + fio_bytes - 1) / extent_bytes)) \
        '$2 == "away" && $3 >= a && $3 <= b {n++} END {print n + 0}' "$TMP/export.txt")"
    PHASES+=("extents_away=$away")
    # Where an extent is away, the home image's copy is not what the initiator sees (discarded).
    rbd -c "$CEPH_CONF" export --no-progress "$POOL/$IMAGE" "$TMP/home" >/dev/null 2>&1 || die "rbd export"
    local differ
    # shellcheck disable=SC2046 # one argument per away extent
    differ=$(python3 -c '
import sys
lun, home, size = open(sys.argv[1], "rb"), open(sys.argv[2], "rb"), int(sys.argv[3])
differ = 0
for e in map(int, sys.argv[4:]):
    lun.seek(e * size)
    home.seek(e * size)
    differ += lun.read(size) != home.read(size)
print(f"{differ} of {len(sys.argv) - 4}")' "$TMP/image" "$TMP/home" "$extent_bytes" \
      $(awk '$2 == "away" {print $3}' "$TMP/export.txt"))
    say "away extents whose bytes differ in the home image (its copy discarded): $differ"
    rm -f "$TMP/home"
  fi
  if ((MULTIPATH)); then
    # What the guest wrote through the multipath map, through both gateways, is in the LUN.
    why=$(python3 - "$share/mp_shadow" "$TMP/image" "$mp_offset" <<'EOF'
import sys
want = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "rb") as f:
    f.seek(int(sys.argv[3]))
    got = f.read(len(want))
if got != want:
    first = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]), min(len(got), len(want)))
    sys.exit(f"differs at offset {int(sys.argv[3]) + first}")
print(f"{len(want)} bytes at offset {sys.argv[3]}")
EOF
    ) || die "the writes through the multipath map are not in the LUN: $why"
    say "multipath: the guest's shadow copy found in the LUN (lun_export): $why"
  fi
  if [[ -n $RBD_IMAGE ]]; then
    # The user:rbd LUN: its pattern (offset 0) as the LUN holds it, wherever its extents are.
    timeout 120 "$LUN_EXPORT" --conf "$CEPH_CONF" --pool "$POOL" --image "$RBD_IMAGE" --out "$TMP/rbd.img" \
      >"$TMP/rbd.txt" 2>&1 || die "lun_export $POOL/$RBD_IMAGE: $(cat "$TMP/rbd.txt")"
    why=$(python3 "$HERE/pattern.py" check "$seed" $((1 << 20)) "$TMP/rbd.img" 0) ||
      die "pattern written over user:rbd is not in $POOL/$RBD_IMAGE: $why"
    say "user:rbd: pattern found in $POOL/$RBD_IMAGE ($(grep -m1 '^lun_export: extents=' "$TMP/rbd.txt" || true))"
    rm -f "$TMP/rbd.img"
  fi
  if [[ -n $GW_IMAGE ]]; then
    # The LUN ceph-iscsi served: its pattern, read wherever its extents are, one at least away.
    timeout 120 "$LUN_EXPORT" --conf "$CEPH_CONF" --pool "$POOL" --image "$GW_IMAGE" --out "$TMP/gw.img" \
      >"$TMP/gw.txt" 2>&1 || die "lun_export $POOL/$GW_IMAGE: $(cat "$TMP/gw.txt")"
    why=$(python3 "$HERE/pattern.py" check "$((seed + 1))" $((1 << 20)) "$TMP/gw.img" 0) ||
      die "pattern written through ceph-iscsi's target is not in $POOL/$GW_IMAGE: $why"
    local gw_summary
    gw_summary=$(grep -m1 '^lun_export: extents=' "$TMP/gw.txt") || die "lun_export printed no summary"
    [[ $gw_summary =~ away=[1-9] ]] || die "no extent of $POOL/$GW_IMAGE is away from home: $gw_summary"
    say "ceph-iscsi: pattern found in $POOL/$GW_IMAGE (${gw_summary#lun_export: })"
    rm -f "$TMP/gw.img"
    # ceph-iscsi's own record of the LUN, from which it restored it: its gateway.conf object.
    timeout 60 rados -c "$CEPH_CONF" -p "$POOL" get gateway.conf "$TMP/gateway.conf" ||
      die "no gateway.conf object in $POOL"
    why=$(python3 - "$TMP/gateway.conf" "$POOL/$GW_IMAGE" iqn.2003-01.org.rbdtier:e2e-gw e2e-gw \
      iqn.2003-01.org.rbdtier:e2e-initiator <<'EOF'
import json, sys
path, disk, target, gateway, client = sys.argv[1:]
c = json.load(open(path))
d = c["disks"].get(disk)
if d is None or d.get("backstore") != "user:rbd":
    sys.exit(f"disk {disk} not in it as user:rbd: {json.dumps(c['disks'])}")
t = c["targets"].get(target)
if t is None or disk not in t["disks"] or gateway not in t["portals"]:
    sys.exit(f"target {target} with {disk} on {gateway} not in it: {json.dumps(c['targets'])}")
if disk not in t["clients"].get(client, {}).get("luns", {}):
    sys.exit(f"client {client} of {disk} not in it: {json.dumps(t['clients'])}")
print(f"gateway.conf epoch {c['epoch']}: disk {disk} ({d['backstore']}, wwn {d['wwn']}, owner {d['owner']}),"
      f" target {target} on {','.join(t['portals'])}, client {client}")
EOF
    ) || die "ceph-iscsi's gateway.conf in $POOL: $why"
    say "ceph-iscsi: $why"
    say "ceph-iscsi: gwcli ls in the guest, with the client logged in:"
    sed 's/\x1b\[[0-9;]*m//g; s/^/e2e:   /' "$share/gwcli-ls.txt"
  fi
  # Self-check: corrupt one byte of the data object that holds it in RADOS and look again.
  local victim
  victim=$((pattern_offset + pattern_bytes / 2 + 1234))
  corrupt_lun_byte "$victim" "$TMP/export.txt"
  export_lun "$TMP/image.bad" "$TMP/export.bad.txt"
  if why=$(python3 "$HERE/pattern.py" check "$seed" "$pattern_bytes" "$TMP/image.bad" "$pattern_offset"); then
    die "self-check: the checker did not notice a corrupted byte at offset $victim"
  fi
  [[ $why == *"offset $victim:"* ]] || die "self-check: corruption at $victim reported as: $why"
  say "self-check: corrupted byte in $CORRUPTED_IN detected ($why)"
  if ((TIERED)) && [[ $CORRUPTED_IN == "$POOL/"* ]]; then
    # The pattern's byte was at home: also corrupt a byte of an extent that is away, and see
    # lun_export's bytes change there (and only there), read from that tier image.
    local away_extent diff
    away_extent=$(awk '$2 == "away" {print $3; exit}' "$TMP/export.txt")
    victim=$((away_extent * extent_bytes + 4321))
    corrupt_lun_byte "$victim" "$TMP/export.txt"
    export_lun "$TMP/image.bad2" "$TMP/export.bad2.txt"
    diff=$(cmp -l "$TMP/image.bad" "$TMP/image.bad2" | awk '{print $1 - 1}' | tr '\n' ' ') || true
    [[ $diff == "$victim " ]] || die "self-check: corrupting offset $victim in $CORRUPTED_IN changed the LUN at: ${diff:-nothing}"
    say "self-check: corrupted byte in $CORRUPTED_IN (extent $away_extent) seen by lun_export at offset $victim"
  fi
  rm -f "$TMP/image" "$TMP/image.bad" "$TMP/image.bad2" "$TMP/obj"
  phase checks "$t"
}

main
