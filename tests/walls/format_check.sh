#!/bin/sh
# `make format-check` outside git (a tarball): it checks the files it finds
# and fails on one that differs; with none found it fails instead of passing
# having checked nothing (sixth review, item 10). Build folders are skipped.
# Usage: format_check.sh SOURCE_DIR
set -u
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
cp "$src/Makefile" "$src/.clang-format" "$tmp/"
check() { # WANT(0|1) WHAT: make format-check in $tmp, its status and output as wanted
  out=$(make -s -C "$tmp" format-check 2>&1)
  rc=$?
  if { [ "$1" = 0 ] && [ $rc -ne 0 ]; } || { [ "$1" = 1 ] && [ $rc -eq 0 ]; }; then
    echo "FAIL: $2: make format-check returned $rc: $out"
    failed=1
  fi
}
check 1 "no C files"
echo "$out" | grep -q "no C files found" || { echo "FAIL: no C files: not said: $out"; failed=1; }
mkdir -p "$tmp/core" "$tmp/build"
printf 'int  f( void ){return 0;}\n' >"$tmp/core/a.c"
check 1 "a file that differs"
echo "$out" | grep -q "core/a.c" || { echo "FAIL: the file that differs is not named: $out"; failed=1; }
clang-format -i "$tmp/core/a.c"
printf 'int  g( void ){return 0;}\n' >"$tmp/build/b.c" # a build folder's: not the project's
check 0 "a formatted file"
echo "$out" | grep -q "format-check: 1 files" || { echo "FAIL: not 1 file checked: $out"; failed=1; }
[ $failed -eq 0 ] && echo "format-check outside git: refuses none found, names a file that differs"
exit $failed
