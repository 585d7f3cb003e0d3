#!/bin/sh
# spec_tap.sh VIGIL: `vigil test` as ctest and CI read it. The bundled blood
# pressure spec, run against a copy of ketamine_iv whose marked-hypertension
# flag a clinic raised to 190, must exit 1 and print TAP version 13 whose
# first failure names the spec's file:line with the expected and actual
# timelines in a YAML block; against the protocol itself it must pass.
set -eu
vigil=$1
spec=protocols/ketamine_iv/specs/blood_pressure_spec.lua
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
cp protocols/ketamine_iv/*.lua "$copy"/
sed -i 's/title = "Marked hypertension: systolic at or above", default = 180,/title = "Marked hypertension: systolic at or above", default = 190,/' "$copy/protocol.lua"
grep -q 'default = 190,' "$copy/protocol.lua"

fail() { echo "spec_tap: $*"; cat "$copy/out"; exit 1; }

status=0
"$vigil" test --protocol "$copy" "$spec" > "$copy/out" 2> "$copy/err" || status=$?
[ "$status" = 1 ] || fail "exit status $status, expected 1"
line=$(grep -n 'expect "30m" { alert = "bp_high", id = "bp_high_unconfirmed"' "$spec" | cut -d: -f1)
[ "$(head -1 "$copy/out")" = "TAP version 13" ] || fail "no TAP version line"
first=$(grep -m1 '^not ok' "$copy/out")
[ "$first" = "not ok 1 - $spec:$line: expected a medium alert from bp_high (id bp_high_unconfirmed) saying \"repeat the reading in 5 minutes\" at 30m" ] \
  || fail "first failure is: $first"
grep -q "^  at: $spec:$line\$" "$copy/out" || fail "no YAML at: line"
grep -q '^  expected: |$' "$copy/out" || fail "no expected block"
grep -q '^        30m  a medium alert from bp_high' "$copy/out" || fail "no expected timeline line"
grep -q '^        34m  alert.raised       medium alert from bp_high (id bp_high_unconfirmed): BP 188/112 is at or above 190/110' "$copy/out" \
  || fail "no actual timeline line"
plan=$(grep -c '^\(not \)\{0,1\}ok ' "$copy/out")
grep -q "^1\.\.$plan\$" "$copy/out" || fail "the plan does not count $plan test points"
grep -q "^$spec:$line: expected a medium alert" "$copy/err" || fail "no file:line on stderr"

"$vigil" test "$spec" > "$copy/out" 2>&1 || fail "the unchanged protocol fails its spec"
! grep -q '^not ok' "$copy/out" || fail "a not ok against the unchanged protocol"
echo "spec_tap: ok"
