# cli_lib.sh: what the CLI's shell tests share, sourced after setting DIR (their scratch
# directory, removed by the caller's trap). fail MESSAGE: says FAIL and exits 1.
# expect_rc RC WHAT COMMAND...: runs COMMAND with its output in $DIR/out and $DIR/err; fails
# (showing the error output) unless it exits RC.
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() {
    want=$1; what=$2; shift 2
    "$@" >"$DIR/out" 2>"$DIR/err"; rc=$?
    [ "$rc" -eq "$want" ] || { cat "$DIR/err" >&2; fail "$what: exit $rc, expected $want"; }
}
