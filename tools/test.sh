#!/usr/bin/env bash
# test.sh: the whole test suite, from a fresh machine to a verdict.
#   1. installs what is missing (tools/install-deps.sh),
#   2. builds everything (build/; RelWithDebInfo with line tables only, -g1) and runs every test
#      with CTest: unit tests, then the integration tests, which start a real local Ceph cluster
#      (tests/cluster/cluster.sh) and stop it afterwards,
#      Among them the packages (label packaging): the README's first commands, the man page and
#      bash completion against the CLI, the .deb (dpkg-buildpackage + lintian, errors fail; built
#      as a Release build, -O3 and -Werror over Debian's flags; the VM test installs it) and the
#      RPM (rpmlint on the spec, rpmbuild),
#   3. builds the unit tests again with clang 14, AddressSanitizer + UndefinedBehaviorSanitizer
#      (build-asan/), and with them the libFuzzer targets of tests/fuzz (one per parser of
#      outside input); runs the unit tests but those labelled long (hour-scale simulations, run
#      in step 2), then each fuzzer over its checked-in corpus and for 10 s from it (CTest label
#      fuzz; tests/fuzz/run.sh runs them longer).
#      That build runs while step 2's tests do, at idle priority (tools/lib/at-idle-priority.sh),
#      on the CPU they leave unused (the cluster tests run one at a time and mostly wait on
#      Ceph); its output is printed when it is done, and its tests start once both are.
# Each step's header line says when it started (seconds since the start).
# Exit status 0 only if every step passed. Options: --no-asan, --jobs N,
# -R/-E/-L/-LE (to ctest), --no-rpm (skip the binary RPM build, label rpm: rpmbuild from a
# tarball of HEAD, ~2 min).
set -euo pipefail
# Not root: run again through sudo (tools/lib/as-root.bash).
source "$(cd "${BASH_SOURCE[0]%/*}" && pwd)/lib/as-root.bash"
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=2
asan=1
rpm=1
ctest_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --no-asan) asan=0 ;;
        --no-rpm) rpm=0 ;;
        --jobs) jobs=$2; shift ;;
        -R|-E|-L|-LE) ctest_args+=("$1" "$2"); shift ;;
        *) echo "test.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

"$root/tools/install-deps.sh"

build="$root/build"
cluster_dir="$build/test-cluster"
stop_cluster() {
    if [ -x "$root/tests/cluster/cluster.sh" ] && [ -d "$cluster_dir" ]; then
        "$root/tests/cluster/cluster.sh" stop "$cluster_dir" >/dev/null 2>&1 || true
    fi
}
# The sanitizer build running beside the tests: its own process group, stopped with them.
asan_build="$root/build-asan"
asan_pgid=""
stop_asan_build() {
    if [ -n "$asan_pgid" ]; then
        kill -- "-$asan_pgid" 2>/dev/null || true
        wait "$asan_pgid" 2>/dev/null || true
        asan_pgid=""
    fi
}
trap 'stop_asan_build; stop_cluster' EXIT

start=$(date +%s)
since_start() { echo "at $(($(date +%s) - start)) s"; }
echo "== build ($build; $(since_start))"
# Debug information as line tables only (-g1): GCC generates the same code at every -g level, so
# the tests run what a full -g build runs, and backtraces (gdb, addr2line) still give file and
# line; what is left out is the variable and type information, a quarter of the compile time and
# most of the objects' size, which the linker would otherwise read and write for every test.
debug_lines="-O2 -g1 -DNDEBUG"
# One compile serves build/ and the binary RPM (rpm.build): build/ compiles through ccache into
# build/ccache, and rpm_test.sh builds the package's handler and CLI with the same flags, reading
# their objects from that cache (read only: only build/'s -Werror compiles are ever stored).
# The cache keys leave out what differs between the two trees and not the objects: the
# directories (base_dir, hash_dir) and -Werror (the package builds without it).
launcher=()
if command -v ccache >/dev/null 2>&1; then
    mkdir -p "$build/ccache"
    printf '%s\n' "base_dir = $root" "hash_dir = false" "ignore_options = -Werror" \
        >"$build/ccache/ccache.conf"
    export CCACHE_DIR="$build/ccache"
    export RBDTIER_RPM_CCACHE_DIR="$build/ccache" RBDTIER_RPM_OPTFLAGS="$debug_lines"
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON "${launcher[@]}" \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$debug_lines" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=$debug_lines" >/dev/null
# LANG=C: ccache keys the locale (the compiler's messages), and rpmbuild runs %build with LANG=C.
LANG=C cmake --build "$build" -j "$jobs"

if [ "$asan" -eq 1 ]; then
    echo "== sanitizer build ($asan_build), beside the tests at idle priority; $(since_start)"
    # A build dir configured with another compiler (GCC, before) cannot switch in place.
    if [ -f "$asan_build/CMakeCache.txt" ] &&
        ! grep -q '^CMAKE_CXX_COMPILER:.*clang++-14$' "$asan_build/CMakeCache.txt"; then
        rm -rf "$asan_build"
    fi
    CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$asan_build" -DCMAKE_BUILD_TYPE=Debug \
        -DRBDTIER_SANITIZE=ON -DRBDTIER_UNIT_ONLY=ON -DRBDTIER_FUZZ=ON >/dev/null
    # It takes only the CPU the tests leave (lib/at-idle-priority.sh); its output is shown once
    # it is done.
    setsid "$root/tools/lib/at-idle-priority.sh" cmake --build "$asan_build" -j "$jobs" \
        </dev/null >"$build/asan-build.log" 2>&1 &
    asan_pgid=$!
fi
echo "== tests; $(since_start)"
if [ "$rpm" -eq 0 ]; then ctest_args+=(-LE rpm); fi
# Tests that use the cluster hold its resource lock, the VM test takes both cores: -j is safe.
(cd "$build" && ctest --output-on-failure --timeout 900 -j "$jobs" "${ctest_args[@]}")
stop_cluster

if [ "$asan" -eq 1 ]; then
    echo "== sanitizer build: waiting for it; $(since_start)"
    # Nothing of this run competes with it now: back to the ordinary priority.
    echo 0 2>/dev/null >"/proc/$asan_pgid/autogroup" || true
    renice -n 0 -g "$asan_pgid" >/dev/null 2>&1 || true
    asan_rc=0
    wait "$asan_pgid" || asan_rc=$?
    asan_pgid=""
    cat "$build/asan-build.log"
    if [ "$asan_rc" -ne 0 ]; then
        echo "test.sh: the sanitizer build failed (rc=$asan_rc; log above, $build/asan-build.log)" >&2
        exit 1
    fi
    echo "== unit tests and fuzzers under AddressSanitizer + UndefinedBehaviorSanitizer" \
        "($asan_build); $(since_start)"
    # Label long: hour-scale policy simulations, a few seconds each in build/ (run above) and
    # minutes under the sanitizers; shorter tests run the same code here.
    (cd "$asan_build" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --output-on-failure -j "$jobs" -LE long)
fi
echo "== all tests passed in $(( $(date +%s) - start )) s"
