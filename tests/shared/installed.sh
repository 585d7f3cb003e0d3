#!/bin/sh
# installed.sh BUILD CC: `cmake --install` of the build into a fresh prefix,
# then tests/shared/embed.c built as an embedder outside this tree builds it,
# with nothing but `pkg-config --cflags --libs vigil` of the installed
# vigil.pc, and run against the installed libvigil.so. Runs from the
# repository root (embed.c reads protocols/ketamine_iv).
set -eu
build=$1
cc=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 || {
  cat "$tmp/install.log" >&2
  exit 1
}
pc=$(find "$tmp/prefix" -name vigil.pc)
[ -n "$pc" ] || { echo "installed: no vigil.pc under the prefix" >&2; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")"
# shellcheck disable=SC2046 # pkg-config's words are separate arguments
"$cc" -std=c11 -Wall -Werror -o "$tmp/embed" tests/shared/embed.c $(pkg-config --cflags --libs vigil)
libdir=$(pkg-config --variable=libdir vigil)
LD_LIBRARY_PATH="$libdir" "$tmp/embed"
echo "installed: embed.c built with pkg-config vigil ($(cd "$libdir" && ls libvigil.so.*[0-9] | head -1)) and ran"
