#!/usr/bin/env bash
# check-readme-commands.sh: the README's first code block holds exactly the two commands a new
# user types, `./tools/demo.sh` and `./tools/test.sh`, as written (no sudo in front: the scripts
# run themselves again through sudo when not root). Checks, in a few seconds:
#   - the block's commands are exactly those two, and .ci/run runs the second one;
#   - each is an executable file of the tree with a shebang, whose first lines source
#     tools/lib/as-root.bash;
#   - not root, with a stand-in sudo first in PATH: each runs itself again through it (sudo's
#     arguments: --preserve-env with CI and RBDTIER_*, then the script) and does nothing else;
#   - not root, with no sudo in PATH: each stops at once, exit 1, saying it needs root.
# Run as root, the last two run as user nobody (setpriv), on a copy of tools/ that nobody can
# read. Prints "N passed, N failed".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

# The first fenced block of the README, comments and blank lines dropped.
mapfile -t commands < <(awk '/^```/ { if (open) exit; open = 1; next } open' README.md |
    sed 's/[[:space:]]*#.*$//; s/[[:space:]]*$//' | grep -v '^$')
expected=(./tools/demo.sh ./tools/test.sh)
if [[ "${commands[*]}" == "${expected[*]}" ]]; then
    ok "README's first block is: ${commands[*]}"
else
    bad "README's first block is '${commands[*]}', expected '${expected[*]}'"
fi
if grep -qxF "exec ${expected[1]}" .ci/run; then
    ok ".ci/run runs ${expected[1]}"
else
    bad ".ci/run does not run '${expected[1]}'"
fi

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
# A stand-in sudo that records its arguments and the variables it was given.
mkdir "$work/with-sudo" "$work/no-sudo"
cat >"$work/with-sudo/sudo" <<EOF
#!/bin/sh
printf '%s\n' "\$@" >"$work/sudo.args"
EOF
chmod 755 "$work/with-sudo/sudo"
# No sudo: just what starting a script needs (env for the shebang, bash).
ln -s "$(command -v env)" "$work/no-sudo/env"
ln -s "$(command -v bash)" "$work/no-sudo/bash"
# The scripts run from a copy of tools/ that any user can read (the checkout may not be).
mkdir "$work/tree"
cp -r "$root/tools" "$work/tree/"
chmod -R a+rX "$work/tree"
chmod 777 "$work"
as_user=()
if ((EUID == 0)); then as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups); fi

for cmd in "${commands[@]}"; do
    script=${cmd#./}
    if [[ ! -f $script || ! -x $script ]]; then
        bad "$cmd: no executable file $script"
        continue
    fi
    if [[ $(head -c2 "$script") != '#!' ]]; then
        bad "$cmd: no shebang"
        continue
    fi
    if head -n 30 "$script" | grep -q '^source .*lib/as-root.bash"$'; then
        ok "$cmd: sources tools/lib/as-root.bash"
    else
        bad "$cmd: does not source tools/lib/as-root.bash in its first lines"
    fi

    rm -f "$work/sudo.args"
    out=$(cd "$work/tree" && "${as_user[@]}" env -i PATH="$work/with-sudo:/usr/bin:/bin" CI=true \
        RBDTIER_CHECK_MARK=1 "$cmd" --no-such-option 2>&1 </dev/null) || true
    args=$(tr '\n' ' ' <"$work/sudo.args" 2>/dev/null || true)
    if [[ $args == "--preserve-env=CI,RBDTIER_CHECK_MARK -- $cmd --no-such-option " ]]; then
        ok "$cmd, not root: runs again as 'sudo $args'"
    else
        bad "$cmd, not root: sudo called with '${args:-nothing}'; output: $out"
    fi

    rc=0
    out=$(cd "$work/tree" && "${as_user[@]}" env -i PATH="$work/no-sudo" "$cmd" 2>&1 </dev/null) || rc=$?
    if ((rc == 1)) && [[ $out == *"needs root"* ]]; then
        ok "$cmd, not root, no sudo: exit 1, '$out'"
    else
        bad "$cmd, not root, no sudo: exit $rc, '$out'"
    fi
done
echo "$passed passed, $failed failed"
((failed == 0))
