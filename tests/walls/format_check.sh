#!/bin/sh
# `make format-check` outside git (a tarball): it checks the files it finds
# and fails on one that differs; with none found it fails instead of passing
# having checked nothing (sixth review, item 10). Build folders are skipped:
# build*, and any folder with a CMakeCache.txt (seventh review, item 9).
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
# The seventh review's item 9: a CMake build folder of any name (b/, with
# its CMakeCache.txt) holds generated files, not the project's.
mkdir -p "$tmp/b/gen"
: >"$tmp/b/CMakeCache.txt"
printf 'int  h( void ){return 0;}\n' >"$tmp/b/gen/h.c"
check 0 "a build folder named b"
echo "$out" | grep -q "format-check: 1 files" || { echo "FAIL: not 1 file checked with b/: $out"; failed=1; }
[ $failed -eq 0 ] && echo "format-check outside git: refuses none found, names a file that differs, skips build folders"
exit $failed
