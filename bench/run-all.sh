#!/bin/bash
# run-all.sh: the full side-by-side run behind `make bench`: vigil against
# XState and bpmn-engine in interleaved rounds, vigil's durable modes next to
# the same round's limits (disk, SQLite alone), and CPU instructions per event
# under callgrind. Every program prints JSON lines, collected in
# $OUT/results.jsonl, from which results.mjs writes bench/RESULTS.md, the
# charts and README.md's table.
#
#   bench/run-all.sh BUILD_DIR [OUT_DIR]
#
# How a comparison is made (bench/README.md, "How vigil is compared"): the
# machine is a shared 2-core VM whose speed drifts, so no figure comes from a
# ratio of medians of separate runs. Each comparison is a pair in one round:
# the peer runs once, and around it vigil runs again and again (a block
# before and one after) for as much clock time as the peer's run took, so
# that both sides are exposed to the machine for about as long. The ratio is taken
# within the round (vigil's events over its runs' summed time, against the
# peer's run); results.mjs reports the median and the range (min-max) of the
# per-round ratios, with the 1-min load average at the start and the end of
# each round. Vigil's block is split around the peer's run (vigil, peer,
# vigil), so that a load rising or falling during the round does not favour
# one side. Rounds of every pair are interleaved (round 1 of every N, then
# round 2, ...).
#
# Settings (environment):
#   ROUNDS          rounds of every vigil/XState pair (default 5; REPEAT is an old name)
#   NS              N of the M1 pairs against XState (default "1000 10000 100000")
#   M2_N            N of the pair M2 (durable) against XState in memory (default 10000, "" for none)
#   BPMN_N          N of the pairs against bpmn-engine (default "100 1000", "" for none)
#   BPMN_ROUNDS     rounds of those (default 3: bpmn-engine takes about 0.1 s per visit)
#   DURABLE_ROUNDS  rounds of the durable group: limits, M2, M4, M5 at 10,000 (default ROUNDS, 0 for none)
#   ONCE            1 (default) to run M2 at 100,000 and M3 once at the end, 0 not to
#   INSTR           1 (default) to run instructions.mjs (callgrind; about 4 minutes a repetition), 0 not to
#   INSTR_N         its two N (default "1000 10000")
#   INSTR_REPEAT    its repetitions (default 3)
set -euo pipefail

BUILD=${1:?usage: bench/run-all.sh BUILD_DIR [OUT_DIR]}
OUT=${2:-$BUILD/bench/results}
ROUNDS=${ROUNDS:-${REPEAT:-5}}
NS=${NS-1000 10000 100000}
M2_N=${M2_N-10000}
BPMN_N=${BPMN_N-100 1000}
BPMN_ROUNDS=${BPMN_ROUNDS:-3}
DURABLE_ROUNDS=${DURABLE_ROUNDS:-$ROUNDS}
ONCE=${ONCE:-1}
INSTR=${INSTR:-1}
export INSTR_N=${INSTR_N:-1000 10000}
export INSTR_REPEAT=${INSTR_REPEAT:-3}
MAX_BLOCK_RUNS=${MAX_BLOCK_RUNS:-20000}
SRC=$(cd "$(dirname "$0")" && pwd)
export LOAD_AT_START=${LOAD_AT_START:-$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")}
# The tree the binaries were built from (`make bench` builds just before):
# the commit, and how many files outside bench/ and README.md differ from it.
export BENCH_COMMIT=${BENCH_COMMIT:-$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo "?")}
export BENCH_DIRTY=${BENCH_DIRTY:-$(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null | grep -cv ' bench/\| README\.md$' || true)}
BENCH="$BUILD/bench/vigil-bench"
TMP="$BUILD/bench/tmp"
mkdir -p "$OUT" "$TMP"
LINES="$OUT/results.jsonl"
LAST="$TMP/last.jsonl"
: > "$LINES"
export ROUNDS BPMN_ROUNDS DURABLE_ROUNDS

now_ms() { date +%s%3N; }
load1() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo null; }
# The value of KEY in the last program's first JSON line.
last_field() { grep -o "\"$1\":[0-9.eE+-]*" "$LAST" | head -1 | cut -d: -f2; }

# run TAGS CMD...: runs CMD; each JSON line it prints gets TAGS (a JSON
# fragment: round, group, side) and goes to $LINES. A run whose checksums
# differ (exit 1) is kept (results.mjs lists it and leaves its round out) and
# the whole run exits 1 at the end; any other failure stops everything.
# QUIET=1 (vigil's blocks) leaves out the line on stderr and the echo.
mismatched=0
QUIET=0
run() {
  local tags=$1
  shift
  [ "$QUIET" = 1 ] || echo "bench: $* {$tags}" >&2
  local rc=0
  "$@" > "$LAST" || rc=$?
  local line
  while IFS= read -r line; do
    case $line in
    "{"*)
      printf '{%s,%s\n' "$tags" "${line#\{}" >> "$LINES"
      [ "$QUIET" = 1 ] || printf '%s\n' "$line"
      ;;
    *) printf '%s\n' "$line" ;;
    esac
  done < "$LAST"
  if [ "$rc" -eq 1 ]; then
    echo "bench: $* {$tags}: checksums differ" >&2
    mismatched=1
  elif [ "$rc" -ne 0 ]; then
    echo "bench: $* {$tags}: exit status $rc" >&2
    exit "$rc"
  fi
}

peer() {
  node --expose-gc --max-old-space-size=16384 "$SRC/peers/$1.js" --n "$2"
}

# block TAGS TARGET_MS CMD...: CMD again and again, until TARGET_MS of clock
# time has passed since the block began (at least once). Sets BLOCK_RUNS and
# BLOCK_MS.
block() {
  local tags=$1 target=${2%.*}
  shift 2
  local start k=0 elapsed
  start=$(now_ms)
  QUIET=1
  while :; do
    k=$((k + 1))
    run "$tags" "$@"
    elapsed=$(($(now_ms) - start))
    if [ "$elapsed" -ge "${target:-0}" ] || [ "$k" -ge "$MAX_BLOCK_RUNS" ]; then break; fi
  done
  QUIET=0
  BLOCK_RUNS=$k
  BLOCK_MS=$elapsed
  echo "bench: $* {$tags}: $k runs in $elapsed ms (target ${target:-0} ms)" >&2
}

# round_line BASE N PEER ORDER LOAD0 T0 PEER_MS: the round's own line, with
# the 1-min load average at its start (LOAD0) and now, and vigil's blocks
# (PRE_* before the peer, BLOCK_* after).
round_line() {
  printf '{%s,"side":"round","bench":"round","n":%s,"peer":"%s","order":"%s","load1_start":%s,"load1_end":%s,"vigil_runs":%s,"vigil_block_ms":%s,"vigil_before":[%s,%s],"vigil_after":[%s,%s],"peer_wall_ms":%s,"round_ms":%s}\n' \
    "$1" "$2" "$3" "$4" "$5" "$(load1)" "$((PRE_RUNS + BLOCK_RUNS))" "$((PRE_MS + BLOCK_MS))" \
    "$PRE_RUNS" "$PRE_MS" "$BLOCK_RUNS" "$BLOCK_MS" "${7:-null}" "$(($(now_ms) - $6))" | tee -a "$LINES"
}

# pair GROUP ROUND PEER N VIGIL_ARGS...: one round of vigil against PEER at N,
# vigil on both sides of the peer's run: a block of half the group's previous
# peer run (one run in the first round), the peer, then a block at least as
# long as the first and long enough for the two to add up to the peer's run.
declare -A PEER_MS
pair() {
  local group=$1 r=$2 name=$3 n=$4
  shift 4
  local base="\"rep\":$r,\"group\":\"$group\"" l0 t0 pw prev rest
  l0=$(load1)
  t0=$(now_ms)
  prev=${PEER_MS[$group]:-0}
  block "$base,\"side\":\"vigil\"" "$((${prev%.*} / 2))" "$BENCH" --n "$n" "$@"
  PRE_RUNS=$BLOCK_RUNS PRE_MS=$BLOCK_MS
  run "$base,\"side\":\"peer\"" peer "$name" "$n"
  pw=$(last_field wall_ms)
  PEER_MS[$group]=$pw
  rest=$((${pw%.*} - PRE_MS))
  [ "$rest" -ge "$PRE_MS" ] || rest=$PRE_MS
  block "$base,\"side\":\"vigil\"" "$rest" "$BENCH" --n "$n" "$@"
  round_line "$base" "$n" "$name" "vigil, peer, vigil" "$l0" "$t0" "$pw"
}

# durable ROUND: the limits (fdatasync, SQLite alone at 1 and 100 rows per
# commit, vigil's 1,000 durable writers) with M2 at 10,000 on both sides, at
# least 0.5 s each (as long as SQLite's 1 s at 100 rows per commit together;
# the ratio M2 / SQLite is taken within the round), then M4 and M5 (their
# ratios are within each run).
durable() {
  local r=$1 base="\"rep\":$1,\"group\":\"durable\"" l0 t0
  l0=$(load1)
  t0=$(now_ms)
  block "$base,\"side\":\"vigil\"" 500 "$BENCH" --n 10000 --mode m2 --dir "$TMP"
  PRE_RUNS=$BLOCK_RUNS PRE_MS=$BLOCK_MS
  run "$base,\"side\":\"limits\"" "$BUILD/bench/vigil-durable-bench" --writers 1000 --rows 1,100 --seconds 1 --dir "$TMP"
  block "$base,\"side\":\"vigil\"" 500 "$BENCH" --n 10000 --mode m2 --dir "$TMP"
  round_line "$base" 10000 limits "M2, limits, M2" "$l0" "$t0" null
  run "$base,\"side\":\"vigil\"" "$BENCH" --n 10000 --mode m4 --dir "$TMP"
  run "$base,\"side\":\"vigil\"" "$BENCH" --n 10000 --mode m5 --dir "$TMP"
}

# once NAME CMD...: a run made once (M2 at 100,000, M3), with the load
# average beside it.
once() {
  local base="\"rep\":1,\"group\":\"once-$1\"" l0 t0
  shift
  l0=$(load1)
  t0=$(now_ms)
  run "$base,\"side\":\"vigil\"" "$@"
  PRE_RUNS=0 PRE_MS=0 BLOCK_RUNS=1 BLOCK_MS=$(($(now_ms) - t0))
  round_line "$base" "$(last_field n)" none once "$l0" "$t0" null
}

r=1
while [ "$r" -le "$ROUNDS" ] || [ "$r" -le "$BPMN_ROUNDS" -a -n "$BPMN_N" ] || [ "$r" -le "$DURABLE_ROUNDS" ]; do
  if [ "$r" -le "$ROUNDS" ]; then
    for n in $NS; do
      pair "xstate-m1-$n" $r xstate "$n"
    done
    for n in $M2_N; do
      pair "xstate-m2-$n" $r xstate "$n" --mode m2 --dir "$TMP"
    done
  fi
  if [ "$r" -le "$BPMN_ROUNDS" ]; then
    for n in $BPMN_N; do
      pair "bpmn-m1-$n" $r bpmn "$n"
    done
  fi
  if [ "$r" -le "$DURABLE_ROUNDS" ]; then
    durable $r
  fi
  r=$((r + 1))
done

# Once: M2 at 100,000 and M3 (22 s whatever N), which are not compared with a
# peer; M3's ratios to raw libuv and SQLite alone are within its run.
if [ "$ONCE" = 1 ]; then
  once m2 "$BENCH" --n 100000 --mode m2 --dir "$TMP"
  once m3 "$BENCH" --n 10000 --mode m3 --dir "$TMP"
fi

# CPU instructions per event under callgrind, vigil and XState: a measure
# that does not depend on the machine's load.
if [ "$INSTR" = 1 ]; then
  run "\"rep\":1,\"group\":\"instructions\",\"side\":\"both\"" node "$SRC/instructions.mjs" "$BUILD" --n "${INSTR_N// /,}" --repeat "$INSTR_REPEAT"
fi

node "$SRC/results.mjs" "$LINES" "$SRC"
exit "$mismatched"
