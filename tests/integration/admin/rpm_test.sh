#!/bin/sh
# rpm_test.sh SOURCE_DIR WORK_DIR: builds the binary RPM from rpm/rbdtier.spec with rpmbuild, from
# a tarball of the committed tree (git archive HEAD), and checks its file list, its config files
# and that the packaged handler exports handler_init. Exit 77 (skipped) when rpmbuild is missing.
# %check (unit tests) is skipped here (--nocheck) since CI runs them anyway; RBDTIER_RPM_CHECK=1
# runs it too. It builds unoptimized (optflags -O0) to check packaging in little time;
# RBDTIER_RPM_OPTFLAGS="-O2 -g" builds as the package would ship. RBDTIER_RPM_CCACHE_DIR=DIR
# compiles through ccache, reading objects from DIR and storing none: tools/test.sh sets it and
# RBDTIER_RPM_OPTFLAGS to build/'s cache and flags, so that build/'s compile serves the package
# too (build/ccache/ccache.conf keys the cache the same for both trees). Debian's rpmbuild lacks Fedora's
# %cmake macros: tests/packaging/fedora-cmake.macros stands in for them. rpmlint checks the spec
# first (errors fail).
set -eu

src=${1:?usage: rpm_test.sh SOURCE_DIR WORK_DIR}
work=${2:?usage: rpm_test.sh SOURCE_DIR WORK_DIR}

if ! command -v rpmbuild >/dev/null 2>&1; then
    echo "rpm_test: rpmbuild not found (Debian package 'rpm'); skipped" >&2
    exit 77
fi

if ! git -C "$src" rev-parse --verify -q HEAD >/dev/null 2>&1; then
    echo "rpm_test: $src is not a git checkout (the source tarball is made with git archive); skipped" >&2
    exit 77
fi

spec=$src/rpm/rbdtier.spec
if command -v rpmlint >/dev/null 2>&1; then
    rpmlint -c "$src/rpm/rpmlint.toml" "$spec" >"${TMPDIR:-/tmp}/rpmlint.$$" 2>&1 || {
        cat "${TMPDIR:-/tmp}/rpmlint.$$" >&2
        rm -f "${TMPDIR:-/tmp}/rpmlint.$$"
        echo "rpm_test: rpmlint found errors in $spec" >&2
        exit 1
    }
    echo "rpm_test: rpmlint: $(tail -n 1 "${TMPDIR:-/tmp}/rpmlint.$$" | sed 's/^ *//')"
    rm -f "${TMPDIR:-/tmp}/rpmlint.$$"
else
    echo "rpm_test: rpmlint not found; spec not linted" >&2
fi
version=$(sed -n 's/^Version:[[:space:]]*//p' "$spec")
rm -rf "$work"
mkdir -p "$work/SOURCES" "$work/SPECS"
cleanup() {
    status=$?
    [ "$status" -eq 0 ] && rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

git -C "$src" archive --format=tar.gz --prefix="rbdtier-$version/" -o "$work/SOURCES/rbdtier-$version.tar.gz" HEAD
cp "$spec" "$work/SPECS/"

check=--nocheck
[ "${RBDTIER_RPM_CHECK:-0}" = 1 ] && check=
if [ -n "${RBDTIER_RPM_CCACHE_DIR:-}" ] && command -v ccache >/dev/null 2>&1; then
    # rpmbuild's %build runs CMake in this environment: CMake takes its compiler launchers from it.
    export CCACHE_DIR="$RBDTIER_RPM_CCACHE_DIR" CCACHE_READONLY=1 CCACHE_STATSLOG="$work/ccache.log"
    export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
fi
# At nice 10: CTest runs this beside the cluster tests, which must keep the CPU when they want it.
# shellcheck disable=SC2086 # $check is one word or none
nice -n 10 rpmbuild -bb --nodeps $check \
    --load "$src/tests/packaging/fedora-cmake.macros" \
    --define "_topdir $work" \
    --define "debug_package %{nil}" \
    --define "_smp_mflags -j2" \
    --define "optflags ${RBDTIER_RPM_OPTFLAGS:--O0}" \
    "$work/SPECS/rbdtier.spec" >"$work/rpmbuild.log" 2>&1 || {
    tail -50 "$work/rpmbuild.log" >&2
    echo "rpm_test: rpmbuild failed (log: $work/rpmbuild.log)" >&2
    exit 1
}

rpmfile=$(find "$work/RPMS" -name "rbdtier-$version-*.rpm" | head -n 1)
[ -n "$rpmfile" ] || { echo "rpm_test: no binary RPM produced" >&2; exit 1; }

libdir=$(rpm --eval '%{_libdir}')
expected=$(printf '%s\n' \
    /etc/ceph/rbdtier.conf \
    /usr/bin/rbdtier \
    "$libdir/tcmu-runner/handler_rbdtier.so" \
    /usr/lib/systemd/system/tcmu-runner.service.d \
    /usr/lib/systemd/system/tcmu-runner.service.d/rbdtier.conf \
    /usr/share/bash-completion/completions/rbdtier \
    /usr/share/doc/rbdtier/README.md \
    /usr/share/doc/rbdtier/tcmu.conf.note \
    /usr/share/licenses/rbdtier \
    /usr/share/licenses/rbdtier/LICENSE \
    /usr/share/man/man8/rbdtier.8.gz \
    /usr/share/rbdtier \
    /usr/share/rbdtier/grafana \
    /usr/share/rbdtier/grafana/rbdtier.json | sort)
# Fedora's rpm gzips man pages after %install; Debian's rpmbuild may not: either is right.
actual=$(rpm -qlp "$rpmfile" 2>/dev/null | grep -v '/\.build-id' | sed 's|/man8/rbdtier\.8$|/man8/rbdtier.8.gz|' | sort)
if [ "$expected" != "$actual" ]; then
    echo "rpm_test: file list differs (expected vs actual):" >&2
    diff -u "$(printf '%s' "$expected" > "$work/expected"; echo "$work/expected")" \
            "$(printf '%s' "$actual" > "$work/actual"; echo "$work/actual")" >&2 || true
    exit 1
fi

configs=$(rpm -qcp "$rpmfile" 2>/dev/null | sort | tr '\n' ' ')
[ "$configs" = "/etc/ceph/rbdtier.conf " ] || {
    echo "rpm_test: config files are '$configs'" >&2
    exit 1
}

mkdir -p "$work/root"
(cd "$work/root" && rpm2cpio "$rpmfile" | cpio -idm --quiet)
nm -D --defined-only "$work/root$libdir/tcmu-runner/handler_rbdtier.so" | grep -qw handler_init || {
    echo "rpm_test: the packaged handler does not export handler_init" >&2
    exit 1
}
"$work/root/usr/bin/rbdtier" --version

if [ -n "${CCACHE_STATSLOG:-}" ]; then
    echo "rpm_test: through ccache: $(grep -c '_cache_hit$' "$CCACHE_STATSLOG" || true) objects" \
        "from the cache, $(grep -c '^cache_miss$' "$CCACHE_STATSLOG" || true) compiled"
fi
echo "rpm_test: $(basename "$rpmfile") OK: $(echo "$actual" | wc -l) files"
