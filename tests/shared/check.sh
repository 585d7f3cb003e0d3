#!/bin/sh
# check.sh LIBRARY PROGRAM: libvigil.so exports the functions of
# include/vigil/vigil.h and nothing else (no vigil__ name, no unprefixed
# one: -fvisibility=hidden and VIGIL_EXPORT, docs/architecture.md), and a
# program linked against it (tests/shared/embed.c) runs. Runs from the
# repository root (ctest's WORKING_DIRECTORY).
set -eu
lib=$1
prog=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0
# Defined dynamic symbols, less the linker's own and what a sanitizer adds.
nm -D --defined-only "$lib" | awk '{ print $NF }' | sed 's/@.*//' |
  grep -v -E '^(_init|_fini|_edata|_end|__bss_start)$|^(__odr_asan|__asan|___asan|__ubsan|__sanitizer)' |
  sort -u >"$tmp/exported"
# vigil_ then a letter or digit: public; vigil__ (internal) and the rest are strays.
grep -v -E '^vigil_[a-z0-9]' "$tmp/exported" >"$tmp/stray" || true
if [ -s "$tmp/stray" ]; then
  echo "shared library: $lib exports $(wc -l <"$tmp/stray") names that include/vigil/vigil.h does not declare:" >&2
  head -20 "$tmp/stray" | sed 's/^/  /' >&2
  bad=1
fi
# Every function vigil.h declares is exported (VIGIL_EXPORT on each).
sed -n 's/^VIGIL_EXPORT [^(]*[ *]\(vigil_[a-z0-9_]*\)(.*/\1/p' include/vigil/vigil.h | sort -u >"$tmp/declared"
# A static inline wrapper (vigil_engine_new) is compiled into the program, not exported.
n_declared=$(grep -c '^vigil_[a-z0-9_]*(' include/vigil/vigil.h || true)
n_plain=$(grep -v '^static inline ' include/vigil/vigil.h | grep -c -E '^[a-z][a-z0-9_ ]*[ *]+vigil_[a-z0-9_]+\(' || true)
if [ "$n_plain" -gt 0 ] || [ "$n_declared" -gt 0 ]; then
  echo "shared library: include/vigil/vigil.h declares $((n_plain + n_declared)) functions without VIGIL_EXPORT:" >&2
  grep -E '^[a-z][a-z0-9_ ]*[ *]+vigil_[a-z0-9_]+\(|^vigil_[a-z0-9_]*\(' include/vigil/vigil.h | grep -v '^typedef' | sed 's/^/  /' >&2 || true
  bad=1
fi
comm -23 "$tmp/declared" "$tmp/exported" >"$tmp/missing"
if [ -s "$tmp/missing" ]; then
  echo "shared library: $lib does not export these functions of include/vigil/vigil.h:" >&2
  sed 's/^/  /' "$tmp/missing" >&2
  bad=1
fi
# The program is linked against the shared library, not the rooms' archives.
if ! readelf -d "$prog" | grep -q "NEEDED.*\\[$(basename "$(readlink -f "$lib")" | sed 's/\.so.*/.so/')"; then
  echo "shared library: $prog is not linked against $lib" >&2
  bad=1
fi
[ $bad = 0 ] || exit 1
LD_LIBRARY_PATH=$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$prog"
echo "shared library: $(wc -l <"$tmp/exported") functions exported, the $(wc -l <"$tmp/declared") of include/vigil/vigil.h"
