#!/usr/bin/env bash
# install-deps.sh: installs, from Debian 12's own packages, everything rbdtier needs to build, test,
# benchmark and demo. Installs only what is missing, so a prepared machine pays a few dpkg queries.
# Must run as root on a fresh machine (CI runs it so).
set -euo pipefail

packages=(
    # build (ccache: build/'s compile also serves the RPM package test, tools/test.sh)
    cmake g++ make pkg-config clang-format ccache
    # the sanitizer build and the fuzzers (tools/test.sh step 3, tests/fuzz): clang and libFuzzer
    clang-14 libclang-rt-14-dev
    # libraries
    librados-dev librbd-dev libtbb-dev libboost-dev nlohmann-json3-dev libcli11-dev libisal-dev
    libgtest-dev libgmock-dev libbenchmark-dev
    # the local cluster, the reference handler, workloads
    ceph-mon ceph-osd ceph-mgr ceph-common python3-rados tcmu-runner fio jq uuid-runtime iproute2
    # the metrics test reads the exposition with a real Prometheus parser
    python3-prometheus-client
    # end-to-end test in a VM (tests/e2e)
    qemu-system-x86 debootstrap cpio
    # the package tests: .deb (tests/packaging/deb_test.sh), RPM (tests/integration/admin/rpm_test.sh)
    dpkg-dev debhelper devscripts lintian rpm rpmlint
    # the bash completion test (tests/packaging)
    bash-completion
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}; run as root to install them" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
