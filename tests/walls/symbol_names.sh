#!/bin/sh
# The naming rule `make lint` keeps (scripts/symbol-names): the libraries
# given pass it, and an object defining an unprefixed function, an unprefixed
# variable and a vigil_ name that include/vigil/ does not declare is refused,
# each named.
# Usage: symbol_names.sh CC SCRIPTS_DIR LIBRARY...
set -u
cc=$1
scripts=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

if ! "$scripts/symbol-names" "$@" >"$tmp/out" 2>&1; then
  echo "FAIL: the libraries break the naming rule:"
  cat "$tmp/out"
  failed=1
fi

cat >"$tmp/clash.c" <<'C'
int emit(void);
int emit(void) { return 0; }
int intern_count = 1;
extern const char vigil_openapi_json[];
const char vigil_openapi_json[] = "{}";
static int fine(void) { return 2; }
int vigil__fine(void);
int vigil__fine(void) { return fine(); }
C
"$cc" -c "$tmp/clash.c" -o "$tmp/clash.o" || exit 1
if "$scripts/symbol-names" "$tmp/clash.o" >"$tmp/out" 2>&1; then
  echo "FAIL: symbol-names passed unprefixed names:"
  cat "$tmp/out"
  failed=1
fi
for name in ' emit:' ' intern_count:' ' vigil_openapi_json:'; do
  grep -qF -- "$name" "$tmp/out" || { echo "FAIL: symbol-names did not name$name"; cat "$tmp/out"; failed=1; }
done
for name in ' fine:' ' vigil__fine:'; do
  ! grep -qF -- "$name" "$tmp/out" || { echo "FAIL: symbol-names refused$name"; cat "$tmp/out"; failed=1; }
done
[ $failed = 0 ] && echo "symbol_names: the libraries keep the rule; the clashing names were refused"
exit $failed
