#!/bin/sh
# `rbdtier replay` end to end: generate, replay (table and JSON), exit codes 0 / 1 / 2 and
# error messages with line numbers. Usage: replay_command_test.sh /path/to/rbdtier
set -u
RBDTIER=$1
DIR=$(mktemp -d "${TMPDIR:-/tmp}/rbdtier-cli-XXXXXX") || exit 1
trap 'rm -rf "$DIR"' EXIT
. "$(dirname "$0")/cli_lib.sh"

expect_rc 0 "generate" "$RBDTIER" replay --generate shifting --seed 5 --duration 300 --iops 100 \
    --out "$DIR/s.csv"
[ -s "$DIR/s.csv" ] || fail "no trace written"
lines=$(wc -l <"$DIR/s.csv")
[ "$lines" -gt 25000 ] && [ "$lines" -lt 35000 ] || fail "unexpected trace size $lines"

expect_rc 0 "replay table" "$RBDTIER" replay "$DIR/s.csv" --policy none,reactive,oracle
grep -q '^none ' "$DIR/out" && grep -q '^reactive ' "$DIR/out" && grep -q '^oracle ' "$DIR/out" \
    || fail "table lacks a policy row"
grep -q '(msr)' "$DIR/out" || fail "format not detected as msr"

# The selector explains which candidate each LUN followed, in the table and in the JSON.
expect_rc 0 "replay explain" "$RBDTIER" replay "$DIR/s.csv" --policy predictive --explain \
    --limit 5000
grep -q '^predictive follows, per LUN' "$DIR/out" && grep -q '^  LUN 0: lrfu [0-9]' "$DIR/out" \
    || fail "--explain lacks the selector's choices"
expect_rc 0 "replay json selection" "$RBDTIER" replay "$DIR/s.csv" --policy predictive,forecast \
    --json --limit 5000
grep -q '"rounds_followed"' "$DIR/out" || fail "JSON lacks the selector's choices"

expect_rc 0 "replay json" "$RBDTIER" replay "$DIR/s.csv" --policy none --json --limit 1000
grep -q '"policy": "none"' "$DIR/out" || fail "JSON lacks the policy"
grep -q '"events": 1000' "$DIR/out" || fail "--limit not applied"

# Given with --tiers, --fast-fraction, --bandwidth and --concurrency override the tier model's
# values, as --sweep does: the fast tier's capacity follows the option, not the file.
cat >"$DIR/tiers.json" <<'JSON'
{"tiers": [{"name": "fast", "read_latency_us": 300, "capacity_fraction": 0.1},
           {"name": "slow", "read_latency_us": 8000}],
 "home": "slow", "bandwidth_mib_s": 50, "max_concurrent": 32}
JSON
fast_capacity() { sed -n 's/.*"capacity_bytes": \([0-9]*\).*/\1/p' "$DIR/out" | head -1; }
expect_rc 0 "replay tier model" "$RBDTIER" replay "$DIR/s.csv" --policy none --json \
    --tiers "$DIR/tiers.json"
model_capacity=$(fast_capacity)
[ -n "$model_capacity" ] && [ "$model_capacity" -gt 0 ] || fail "no capacity of the fast tier"
expect_rc 0 "replay tier model, options over it" "$RBDTIER" replay "$DIR/s.csv" --policy none \
    --json --tiers "$DIR/tiers.json" --fast-fraction 0.4 --bandwidth 20 --concurrency 3
given_capacity=$(fast_capacity)
[ -n "$given_capacity" ] && [ "$given_capacity" -gt $((3 * model_capacity)) ] &&
    [ "$given_capacity" -lt $((5 * model_capacity)) ] ||
    fail "--fast-fraction 0.4 over the model's 0.1 gave ${given_capacity:-no} bytes, not 4x $model_capacity"
grep -q '"max_concurrent": 3,' "$DIR/out" || fail "--concurrency 3 did not override the model's"
grep -q '"bandwidth_bytes_per_s": 20971520' "$DIR/out" ||
    fail "--bandwidth 20 did not override the model's"

# --window replays a part of the trace as a trace of its own (the shifting trace: 100 I/Os/s).
expect_rc 0 "replay window" "$RBDTIER" replay "$DIR/s.csv" --policy none --json --window 100:50
events=$(sed -n 's/.*"events": \([0-9]*\).*/\1/p' "$DIR/out")
[ -n "$events" ] && [ "$events" -gt 4000 ] && [ "$events" -lt 6000 ] ||
    fail "--window 100:50 replayed ${events:-no} I/Os, not about 5000"
expect_rc 0 "replay window of LUN 0" "$RBDTIER" replay "$DIR/s.csv" --policy none --json \
    --window 100:50 --lun 0
grep -q "\"events\": $events," "$DIR/out" || fail "--lun 0 of a one-LUN trace changed the I/Os"
expect_rc 1 "window past the end" "$RBDTIER" replay "$DIR/s.csv" --policy none --window 400
grep -q 'holds no I/O' "$DIR/err" || fail "empty window not named: $(cat "$DIR/err")"
expect_rc 1 "window of a LUN the trace lacks" "$RBDTIER" replay "$DIR/s.csv" --policy none --lun 3
expect_rc 2 "bad window" "$RBDTIER" replay "$DIR/s.csv" --policy none --window 10:abc
grep -q "length '10:abc'\|length 'abc'" "$DIR/err" || fail "bad window not named: $(cat "$DIR/err")"

printf '1,R,0,4096,1\n1,R,4096,4096,2\n1,Q,0,4096,3\n' >"$DIR/bad.csv"
expect_rc 1 "malformed trace" "$RBDTIER" replay "$DIR/bad.csv"
grep -q 'line 3' "$DIR/err" || fail "error does not name line 3: $(cat "$DIR/err")"

: >"$DIR/empty.csv"
expect_rc 1 "empty trace" "$RBDTIER" replay "$DIR/empty.csv"
expect_rc 1 "missing trace" "$RBDTIER" replay "$DIR/nope.csv"
expect_rc 2 "unknown policy" "$RBDTIER" replay "$DIR/s.csv" --policy bogus
expect_rc 2 "unknown option" "$RBDTIER" replay "$DIR/s.csv" --bogus
expect_rc 2 "unknown format" "$RBDTIER" replay "$DIR/s.csv" --format xyz
expect_rc 2 "generate without --out" "$RBDTIER" replay --generate periodic
expect_rc 2 "unknown workload" "$RBDTIER" replay --generate nope --out "$DIR/x.csv"
expect_rc 2 "no trace" "$RBDTIER" replay

printf '{"tiers":[{"name":"fast","read_latency_us":100,"capacity_fraction":0.2},' >"$DIR/t.json"
printf '{"name":"slow","read_latency_us":5000}],"home":"slow","bandwidth_mib_s":50}' >>"$DIR/t.json"
expect_rc 0 "tier model file" "$RBDTIER" replay "$DIR/s.csv" --tiers "$DIR/t.json" --policy reactive
grep -q 'fast 0.1 ms cap' "$DIR/out" || fail "tier model not used"
printf '{"tiers":[{"name":"x","speed":1}]}' >"$DIR/bad.json"
expect_rc 1 "bad tier model" "$RBDTIER" replay "$DIR/s.csv" --tiers "$DIR/bad.json"
grep -q "unknown key 'speed'" "$DIR/err" || fail "bad tier model message: $(cat "$DIR/err")"
echo "cli_test: all passed"
