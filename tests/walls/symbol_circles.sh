#!/bin/sh
# The engine's circles by symbols (scripts/symbol-circles): the engine's
# library has no pair of objects calling each other but those
# docs/architecture.md lists; two objects calling each other are refused,
# naming both and the symbols; a listed pair that no longer calls both ways
# is refused too (the list only shrinks). Every other room's library given
# has no pair either (the API's files called each other until answer.c and
# body.c).
# Usage: symbol_circles.sh CC AR SCRIPTS_DIR ENGINE_LIBRARY [LIBRARY...]
set -u
cc=$1
ar=$2
scripts=$3
engine=$4
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

if ! "$scripts/symbol-circles" "$engine" >"$tmp/out" 2>&1; then
  echo "FAIL: the engine's objects call each other beyond the listed pairs:"
  cat "$tmp/out"
  failed=1
fi
for lib in "$@"; do
  if ! "$scripts/symbol-circles" "$lib" >"$tmp/out" 2>&1; then
    echo "FAIL: the objects of $lib call each other:"
    cat "$tmp/out"
    failed=1
  fi
done

# ping.o and pong.o call each other; solo.o calls ping.o only.
printf 'int vigil__pong(int);\nint vigil__ping(int);\nint vigil__ping(int n) { return n ? vigil__pong(n - 1) : 0; }\n' >"$tmp/ping.c"
printf 'int vigil__ping(int);\nint vigil__pong(int);\nint vigil__pong(int n) { return n ? vigil__ping(n - 1) : 1; }\n' >"$tmp/pong.c"
printf 'int vigil__ping(int);\nint vigil__solo(void);\nint vigil__solo(void) { return vigil__ping(3); }\n' >"$tmp/solo.c"
for f in ping pong solo; do "$cc" -c "$tmp/$f.c" -o "$tmp/$f.o" || exit 1; done
"$ar" rc "$tmp/libvigil_engine.a" "$tmp/ping.o" "$tmp/pong.o" "$tmp/solo.o" || exit 1
printf '# doc\n<!-- symbol-circles: engine -->\n<!-- /symbol-circles -->\n' >"$tmp/none.md"
if VIGIL_SYMBOL_CIRCLES_DOC="$tmp/none.md" "$scripts/symbol-circles" "$tmp/libvigil_engine.a" >"$tmp/out" 2>&1; then
  echo "FAIL: symbol-circles passed ping <-> pong:"
  cat "$tmp/out"
  failed=1
fi
for what in 'ping <-> pong' 'vigil__pong' 'vigil__ping'; do
  grep -qF -- "$what" "$tmp/out" || { echo "FAIL: symbol-circles did not name '$what':"; cat "$tmp/out"; failed=1; }
done
grep -qF 'solo' "$tmp/out" && { echo "FAIL: symbol-circles named solo, which only calls:"; cat "$tmp/out"; failed=1; }

# Listed, ping <-> pong passes; a listed pair that is no circle fails.
printf '<!-- symbol-circles: engine -->\n- `pong ↔ ping`: why\n<!-- /symbol-circles -->\n' >"$tmp/listed.md"
# (The engine's own list is empty, its ceiling 0: these lists hold two.)
if ! VIGIL_SYMBOL_CIRCLES_CEILING=2 VIGIL_SYMBOL_CIRCLES_DOC="$tmp/listed.md" "$scripts/symbol-circles" "$tmp/libvigil_engine.a" >"$tmp/out" 2>&1; then
  echo "FAIL: symbol-circles refused a listed pair:"
  cat "$tmp/out"
  failed=1
fi
printf '<!-- symbol-circles: engine -->\n- `ping ↔ pong`: why\n- `ping ↔ solo`: cut already\n<!-- /symbol-circles -->\n' \
  >"$tmp/stale.md"
if VIGIL_SYMBOL_CIRCLES_CEILING=2 VIGIL_SYMBOL_CIRCLES_DOC="$tmp/stale.md" "$scripts/symbol-circles" "$tmp/libvigil_engine.a" >"$tmp/out" 2>&1 ||
  ! grep -qF 'ping <-> solo' "$tmp/out"; then
  echo "FAIL: symbol-circles kept a listed pair that is no circle:"
  cat "$tmp/out"
  failed=1
fi
# The real ceiling holds: the same list over the engine's ceiling (0) is refused.
if VIGIL_SYMBOL_CIRCLES_DOC="$tmp/listed.md" "$scripts/symbol-circles" "$tmp/libvigil_engine.a" >"$tmp/out" 2>&1 ||
  ! grep -qF 'more than its ceiling 0' "$tmp/out"; then
  echo "FAIL: symbol-circles let a list grow past its ceiling:"
  cat "$tmp/out"
  failed=1
fi
[ $failed = 0 ] && echo "symbol_circles: the engine keeps to its list; a new pair and a stale entry were refused"
exit $failed
