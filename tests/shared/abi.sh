#!/bin/sh
# abi.sh LIBRARY: libvigil.so's binary interface (the functions and types of
# include/vigil/, as the compiler's debugging information has them) is the
# one recorded in tests/shared/libvigil.abi, by libabigail's abidiff. A
# program built against vigil.h runs against the library it was built for and
# any later one of the same soname; a change to the interface, even one that
# keeps old programs running, is made on purpose: `make abi-baseline` records
# it, and the diff shows it to the reviewer (docs/architecture.md, "The
# library's interface"). Runs from the repository root.
set -eu
lib=$1
baseline=tests/shared/libvigil.abi
if ! command -v abidiff >/dev/null; then
  echo "abi: abidiff is not installed (Debian's abigail-tools: make deps)" >&2
  exit 77
fi
rc=0
report=$(abidiff --no-show-locs "$baseline" "$lib" 2>&1) || rc=$?
# abidiff exits 0 for a change it deems harmless to old programs (a field put
# in the struct's tail padding, a function added) but lists it: a listed
# change counts too. The baseline holds the public types alone
# (--drop-private-types): the library's private structs are never compared.
if [ $rc -eq 0 ] && ! printf '%s\n' "$report" | grep -q -E '^ *\[[ACD]\] |SONAME changed'; then
  echo "abi: $(basename "$lib") has the interface of $baseline"
  exit 0
fi
echo "$report" >&2
# abidiff's status is a bit field: 4 a change, 8 one that breaks a program
# built against the recorded interface, 1 and 2 its own errors.
if [ $((rc & 3)) -ne 0 ]; then
  echo "abi: abidiff could not compare $lib with $baseline (status $rc)" >&2
elif [ $((rc & 8)) -ne 0 ]; then
  echo "abi: $lib breaks programs built against the recorded vigil.h. If that is meant, raise" >&2
  echo "     VIGIL_SOVERSION in CMakeLists.txt and record the interface: make abi-baseline" >&2
else
  echo "abi: $lib's interface changed (old programs still run). If that is meant, record it:" >&2
  echo "     make abi-baseline" >&2
fi
exit 1
