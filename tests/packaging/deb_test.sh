#!/bin/sh
# deb_test.sh SOURCE_DIR WORK_DIR: builds the Debian package from debian/ with
# `dpkg-buildpackage -us -uc -b`, in a copy of the committed tree (git archive HEAD), runs lintian
# on it (any error fails; warnings are printed), and checks its file list, its conffiles, its
# Depends and that the packaged handler exports handler_init. Leaves WORK_DIR/rbdtier.deb (a
# link to the built package) for the VM test, which installs it in its guest.
# Exit 77 (skipped) when dpkg-buildpackage, debhelper or lintian is missing or the source is
# not a git checkout.
set -eu

src=${1:?usage: deb_test.sh SOURCE_DIR WORK_DIR}
work=${2:?usage: deb_test.sh SOURCE_DIR WORK_DIR}

for tool in dpkg-buildpackage dh lintian; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "deb_test: $tool not found (tools/install-deps.sh installs it); skipped" >&2
        exit 77
    fi
done
if ! git -C "$src" rev-parse --verify -q HEAD >/dev/null 2>&1; then
    echo "deb_test: $src is not a git checkout (the source is taken with git archive); skipped" >&2
    exit 77
fi

rm -rf "$work"
mkdir -p "$work/src"
git -C "$src" archive HEAD | tar -x -C "$work/src"
start=$(date +%s)
# Also the project's Release build: -O3 and -Werror on top of Debian's flags. At nice 10: CTest
# runs this beside the cluster tests, which must keep the CPU when they want it.
# Without debug information (-g taken out of Debian's flags, no -dbgsym package): what the .deb
# installs is stripped of it anyway and GCC generates the same code with or without -g, so the
# package is the same product; what is saved is the DWARF that the compiler, assembler and linker
# would write for every object and that dh_strip and dh_dwz would then process and throw away.
(cd "$work/src" && DEB_BUILD_OPTIONS="parallel=2 nocheck noautodbgsym" \
    DEB_CFLAGS_STRIP=-g DEB_CXXFLAGS_STRIP=-g RBDTIER_BUILD_TYPE=Release \
    RBDTIER_WERROR=ON nice -n 10 dpkg-buildpackage -us -uc -b) \
    >"$work/build.log" 2>&1 || {
    tail -40 "$work/build.log" >&2
    echo "deb_test: dpkg-buildpackage failed (log: $work/build.log)" >&2
    exit 1
}
deb=$(find "$work" -maxdepth 1 -name 'rbdtier_*.deb' | head -n 1)
[ -n "$deb" ] || { echo "deb_test: no .deb produced" >&2; exit 1; }
echo "deb_test: built $(basename "$deb") in $(($(date +%s) - start)) s"

# lintian: errors fail, warnings and info are shown.
changes=$(find "$work" -maxdepth 1 -name 'rbdtier_*.changes' | head -n 1)
lintian --fail-on error --info "$changes" >"$work/lintian.log" 2>&1 || {
    cat "$work/lintian.log" >&2
    echo "deb_test: lintian found errors" >&2
    exit 1
}
echo "deb_test: lintian: $(grep -c '^E:' "$work/lintian.log" || true) errors," \
    "$(grep -c '^W:' "$work/lintian.log" || true) warnings"
grep -E '^(W|I):' "$work/lintian.log" || true

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
expected=$(printf '%s\n' \
    /etc/ceph/rbdtier.conf \
    /lib/systemd/system/tcmu-runner.service.d/rbdtier.conf \
    /usr/bin/rbdtier \
    "/usr/lib/$multiarch/tcmu-runner/handler_rbdtier.so" \
    /usr/share/bash-completion/completions/rbdtier \
    /usr/share/doc/rbdtier/README.md.gz \
    /usr/share/doc/rbdtier/changelog.gz \
    /usr/share/doc/rbdtier/copyright \
    /usr/share/doc/rbdtier/tcmu.conf.note \
    /usr/share/man/man8/rbdtier.8.gz \
    /usr/share/rbdtier/grafana/rbdtier.json | sort)
actual=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {sub(/^\./, "", $6); print $6}' | sort)
if [ "$expected" != "$actual" ]; then
    echo "deb_test: file list differs (- expected, + actual):" >&2
    printf '%s\n' "$expected" >"$work/expected"
    printf '%s\n' "$actual" >"$work/actual"
    diff -u "$work/expected" "$work/actual" >&2 || true
    exit 1
fi
conffiles=$(dpkg-deb -f "$deb" Package >/dev/null && dpkg-deb --ctrl-tarfile "$deb" |
    tar -xO ./conffiles 2>/dev/null | tr '\n' ' ')
[ "$conffiles" = "/etc/ceph/rbdtier.conf " ] || {
    echo "deb_test: conffiles are '$conffiles'" >&2
    exit 1
}
depends=$(dpkg-deb -f "$deb" Depends)
for dep in tcmu-runner librados2 librbd1; do
    echo "$depends" | grep -q "$dep" || { echo "deb_test: Depends lacks $dep: $depends" >&2; exit 1; }
done
mkdir -p "$work/root"
dpkg-deb -x "$deb" "$work/root"
nm -D --defined-only "$work/root/usr/lib/$multiarch/tcmu-runner/handler_rbdtier.so" | grep -qw handler_init || {
    echo "deb_test: the packaged handler does not export handler_init" >&2
    exit 1
}
"$work/root/usr/bin/rbdtier" --version
ln -sf "$(basename "$deb")" "$work/rbdtier.deb"
rm -rf "$work/src" "$work/root"
echo "deb_test: $(basename "$deb") OK: $(echo "$actual" | wc -l) files; Depends: $depends"
