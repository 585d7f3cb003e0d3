#!/bin/bash
# run-all.sh: the full side-by-side run behind `make bench`. Every program
# runs alone, one after another (the machine has 2 cores): the same run's
# limits (disk, SQLite alone), vigil in every mode, XState and bpmn-engine;
# each prints JSON lines, collected in $OUT/results.jsonl, from which
# results.mjs writes bench/RESULTS.md, the charts and README.md's table.
#
#   bench/run-all.sh BUILD_DIR [OUT_DIR]
#
# REPEAT (default 3) sets how many times each quick measurement is repeated
# (medians are reported); NS the N of M1 (default "1000 10000 100000");
# BPMN_N (default "100 1000") the bpmn-engine runs.
set -euo pipefail

BUILD=${1:?usage: bench/run-all.sh BUILD_DIR [OUT_DIR]}
OUT=${2:-$BUILD/bench/results}
REPEAT=${REPEAT:-3}
BPMN_N=${BPMN_N:-100 1000}
NS=${NS:-1000 10000 100000}
SRC=$(cd "$(dirname "$0")" && pwd)
# How busy the machine was as the run began (results.mjs says it): the
# absolute figures depend on it, the same-run ratios much less.
export LOAD_AT_START=${LOAD_AT_START:-$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")}
BENCH="$BUILD/bench/vigil-bench"
TMP="$BUILD/bench/tmp"
mkdir -p "$OUT" "$TMP"
LINES="$OUT/results.jsonl"
: > "$LINES"

# Each line gets the repetition it came from. A run whose checksums differ
# (exit 1) does not count: results.mjs lists it and leaves it out, and the
# whole run exits 1 at the end; any other failure stops everything.
mismatched=0
run() {
  rep=$1
  shift
  echo "bench: $* (repetition $rep)" >&2
  rc=0
  "$@" | while IFS= read -r line; do
    case $line in
    "{"*) printf '{"rep":%s,%s\n' "$rep" "${line#\{}" | tee -a "$LINES" ;;
    *) printf '%s\n' "$line" ;;
    esac
  done || rc=$?
  if [ "$rc" -eq 1 ]; then
    echo "bench: $* (repetition $rep): checksums differ" >&2
    mismatched=1
  elif [ "$rc" -ne 0 ]; then
    exit "$rc"
  fi
}

peer() {
  node --expose-gc --max-old-space-size=16384 "$SRC/peers/$1.js" --n "$2"
}

r=1
while [ "$r" -le "$REPEAT" ]; do
  # The limits: fdatasync rate, SQLite alone at 1 and 100 rows per commit
  # (and vigil's 1,000 durable writers next to them).
  run $r "$BUILD/bench/vigil-durable-bench" --writers 1000 --rows 1,100 --seconds 1 --dir "$TMP"
  for n in $NS; do
    run $r "$BENCH" --n $n
    run $r peer xstate $n
  done
  run $r "$BENCH" --n 10000 --mode m2 --dir "$TMP"
  run $r "$BENCH" --n 10000 --mode m4 --dir "$TMP"
  run $r "$BENCH" --n 10000 --mode m5 --dir "$TMP"
  r=$((r + 1))
done
# Once: M2 at 100,000, M3 (22 s whatever N) and bpmn-engine (about 0.1 s and
# 3.5 MiB per visit).
run 1 "$BENCH" --n 100000 --mode m2 --dir "$TMP"
run 1 "$BENCH" --n 10000 --mode m3 --dir "$TMP"
for n in $BPMN_N; do
  run 1 peer bpmn $n
done

node "$SRC/results.mjs" "$LINES" "$SRC"
exit "$mismatched"
