/* bench.c: vigil-bench, the reference workload (shared/bench/WORKLOAD.md) run
 * on the vigil engine.
 *
 *   vigil-bench --n N [--mode m1|m2|m3|m4|m5] [--batch B|instant] [--dir DIR] [--protocol PATH]
 *
 * Mode M1: in memory, simulated time. The driver walks the whole timeline of
 * N visits in time order, moving the engine's simulated clock from one action
 * to the next so that the engine's own deadlines (the end of observation)
 * fire in between, each at its own time.
 *
 * Mode M2: the same timeline, durable: the engine writes every event to a
 * SQLite store (WAL, synchronous=FULL) in a temporary folder, and the driver
 * groups commands into transactions (group commit) with vigil_engine_begin /
 * vigil_engine_commit: by default up to 1,000 consecutive commands of the
 * timeline per transaction; `--batch instant` closes a transaction whenever
 * the simulated instant changes; `--batch 1` lets every command commit
 * itself. Commits and fsyncs are counted below SQLite, by a VFS shim
 * (measure.c). After the run the store is read back: it must hold every
 * event heard.
 *
 * Modes M3 and M4 (real time, burst) are in realtime.c, M5 (crash and
 * recovery) in crash.c; the timeline they share is timeline.c.
 *
 * It prints one JSON line; exit 1 if the checksums differ, 2 on a usage or
 * engine error. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "measure.h"
#include "modes.h"
#include "timeline.h"

/* The temporary folder goes however the run ends. */
static char *temp_dir;

static void remove_temp_dir(void) {
  if (!temp_dir) return;
  if (bench_rmtree(temp_dir) < 0) fprintf(stderr, "vigil-bench: cannot remove %s: %s\n", temp_dir, strerror(errno));
  free(temp_dir);
  temp_dir = NULL;
}

/* The counting VFS, and a temporary folder for the store under `parent`. */
static int make_temp_dir(const char *parent) {
  if (bench_vfs_register() != SQLITE_OK) {
    fprintf(stderr, "vigil-bench: cannot register the counting SQLite VFS\n");
    return -1;
  }
  if (!(temp_dir = bench_tempdir(parent))) {
    fprintf(stderr, "vigil-bench: cannot make a temporary folder in %s: %s\n", parent ? parent : "/tmp",
            strerror(errno));
    return -1;
  }
  atexit(remove_temp_dir);
  return 0;
}

/* ---- main -------------------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f,
          "usage: vigil-bench --n N [--mode m1|m2|m3|m4|m5] [--batch B|instant] [--dir DIR] [--protocol PATH]\n"
          "  Runs the reference workload (shared/bench/WORKLOAD.md) with N visits and\n"
          "  prints one JSON line.\n"
          "  --mode m1      in memory, simulated time (the default)\n"
          "  --mode m2      durable (SQLite, WAL, synchronous=FULL), simulated time, group commit\n"
          "  --mode m3      real time (libuv), 15 min = 1 s, durable, next to raw libuv timers\n"
          "  --mode m4      N checkpoints due in the same millisecond, next to libuv and SQLite alone\n"
          "  --mode m5      SIGKILL at t = 60 min, recovery, the rest of the timeline\n"
          "  --batch B      m2, m5: up to B consecutive commands per transaction (default 1000;\n"
          "                 1: every command commits itself)\n"
          "  --batch instant  m2: the commands due at one simulated instant (up to 1000)\n"
          "  --dir DIR      m2-m5: where the temporary folder for the store goes (default $TMPDIR or /tmp)\n"
          "  Default protocol: %s\n",
          VIGIL_BENCH_PROTOCOL);
}

static int parse_count(const char *s, uint64_t max, uint64_t *n) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || v == 0 || v > max || s[0] == '-') return -1;
  *n = v;
  return 0;
}

int main(int argc, char **argv) {
  uint64_t n = 0, batch = 1000;
  int per_instant = 0;
  const char *mode = "m1", *path = NULL, *dir = NULL;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      usage(stdout);
      return 0;
    }
    const char *value = i + 1 < argc ? argv[++i] : NULL;
    if (!value || (strcmp(arg, "--n") && strcmp(arg, "--mode") && strcmp(arg, "--protocol") && strcmp(arg, "--batch") &&
                   strcmp(arg, "--dir"))) {
      fprintf(stderr, "vigil-bench: %s '%s'\n", value ? "unknown option" : "missing value or unknown option", arg);
      usage(stderr);
      return 2;
    }
    if (!strcmp(arg, "--mode"))
      mode = value;
    else if (!strcmp(arg, "--protocol"))
      path = value;
    else if (!strcmp(arg, "--dir"))
      dir = value;
    else if (!strcmp(arg, "--batch")) {
      if (!strcmp(value, "instant"))
        per_instant = 1, batch = 1000;
      else if (parse_count(value, UINT32_MAX, &batch) < 0) {
        fprintf(stderr, "vigil-bench: --batch takes a whole number of commands from 1, or 'instant', not '%s'\n",
                value);
        return 2;
      }
    } else if (parse_count(value, UINT32_MAX, &n) < 0) {
      fprintf(stderr, "vigil-bench: --n takes a whole number from 1 to %u, not '%s'\n", UINT32_MAX, value);
      return 2;
    }
  }
  if (n == 0) {
    usage(stderr);
    return 2;
  }
  int durable = !strcmp(mode, "m2");
  int (*other)(const bench_args *) = !strcmp(mode, "m3")   ? mode_realtime
                                     : !strcmp(mode, "m4") ? mode_burst
                                     : !strcmp(mode, "m5") ? mode_crash
                                                           : NULL;
  if (!durable && !other && strcmp(mode, "m1") != 0) {
    fprintf(stderr, "vigil-bench: no mode '%s' (m1, m2, m3, m4 or m5)\n", mode);
    return 2;
  }
  if (other) {
    if (make_temp_dir(dir) < 0) return 2;
    /* M3 and M4 compress the protocol's times themselves (realtime.c). */
    bench_args a = {.n = n, .protocol = path ? path : VIGIL_BENCH_PROTOCOL, .dir = temp_dir, .batch = (uint32_t)batch};
    return other(&a);
  }
  if (!path) path = VIGIL_BENCH_PROTOCOL;

  /* Before the engine exists, so that the driver's own per-visit memory is
   * resident before the baseline and not counted as the engine's. */
  uint64_t *ids = malloc(n * sizeof *ids);
  if (!ids) {
    fprintf(stderr, "vigil-bench: out of memory\n");
    return 2;
  }
  memset(ids, 0, n * sizeof *ids);

  vigil_options opts = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = SIM_ORIGIN_MS};
  char db[4096] = "";
  if (durable) {
    if (make_temp_dir(dir) < 0) return 2;
    snprintf(db, sizeof db, "%s/bench.db", temp_dir);
    opts.db_path = db;
    opts.db_vfs = BENCH_VFS;
  }
  vigil_engine *e;
  int rc = vigil_engine_new(&opts, &e);
  if (rc < 0) {
    fprintf(stderr, "vigil-bench: cannot create the engine: %s\n", vigil_strerror(rc));
    return 2;
  }
  const char *ref;
  if ((rc = vigil_engine_load(e, path, &ref)) < 0) {
    fprintf(stderr, "vigil-bench: cannot load %s:\n%s\n", path, vigil_engine_errmsg(e));
    return 2;
  }
  counts c = {.events = 0};
  if ((rc = counts_subscribe(e, &c)) < 0) {
    fprintf(stderr, "vigil-bench: subscribe: %s\n", vigil_engine_errmsg(e));
    return 2;
  }

  run r = {.e = e,
           .protocol = ref,
           .n = n,
           .visit_ids = ids,
           .batch_max = durable ? (uint32_t)batch : 1,
           .per_instant = durable && per_instant};
  live_sample sample = {.rss_before = bench_rss_bytes(), .rss_live = -1, .sampled = 0};
  bench_io io0, io1;
  bench_vfs_counts(&io0);
  double wall0 = bench_seconds(), cpu0 = bench_cpu_seconds();
  rc = run_timeline(&r, INT64_MAX, &sample);
  double wall = bench_seconds() - wall0, cpu = bench_cpu_seconds() - cpu0;
  bench_vfs_counts(&io1);
  if (rc < 0) return 2;
  bench_io io = bench_io_diff(&io1, &io0);

  vigil_stats st;
  vigil_engine_stats(e, &st);
  int ok = counts_ok(n, &c);
  /* The bus and the store must agree. */
  ok &= compare("internal:", "events stored vs heard", st.events, c.events);
  ok &= compare("internal:", "subscriber failures", 0, st.subscriber_failures);
  long peak = bench_peak_rss_kib();
  vigil_engine_free(e);

  char extra[1024] = "";
  if (durable) {
    /* What is on disk once the engine has closed the store. */
    stored on_disk = {0, 0, 0, 0, 0};
    int64_t db_bytes = bench_file_bytes(db);
    if (read_store(db, &on_disk) < 0) ok = 0;
    ok &= compare("store:", "events on disk vs heard", c.events, on_disk.events);
    ok &= compare("store:", "alert.raised on disk vs heard", c.alerts, on_disk.alerts);
    ok &= compare("store:", "visit.discharged on disk vs heard", c.discharged, on_disk.discharged);
    /* One more than the batches: the engine stores the protocol's sources,
     * in a transaction of their own, when the first visit starts. */
    if (r.batch_max > 1 && io.commits != r.batches + 1)
      fprintf(stderr, "vigil-bench: note: %" PRIu64 " commits on disk for %" PRIu64 " batches\n", io.commits,
              r.batches);
    char policy[160];
    if (r.batch_max == 1)
      snprintf(policy, sizeof policy, "none: every command and deadline commits itself");
    else if (r.per_instant)
      snprintf(policy, sizeof policy, "the commands due at one simulated instant, up to %u, per transaction",
               r.batch_max);
    else
      snprintf(policy, sizeof policy, "up to %u consecutive commands of the timeline per transaction", r.batch_max);
    uint64_t fsyncs = bench_io_syncs(&io);
    snprintf(extra, sizeof extra,
             ",\"batch_policy\":\"%s\",\"batch_max\":%u,\"commits\":%" PRIu64 ",\"events_per_commit\":%.1f"
             ",\"commits_per_event\":%.5f,\"fsyncs\":%" PRIu64 ",\"fsyncs_wal\":%" PRIu64 ",\"fsyncs_db\":%" PRIu64
             ",\"fsyncs_per_event\":%.5f,\"fsyncs_counted\":\"xSync calls at the VFS, during the timeline\""
             ",\"wal_frames\":%" PRIu64 ",\"bytes_written\":%" PRIu64 ",\"db_bytes\":%" PRId64
             ",\"stored_events\":%" PRIu64,
             policy, r.batch_max, io.commits, io.commits ? (double)c.events / (double)io.commits : 0.0,
             (double)io.commits / (double)c.events, fsyncs, io.syncs_wal, io.syncs_db,
             (double)fsyncs / (double)c.events, io.frames, io.bytes_written, db_bytes, on_disk.events);
  }

  printf("{\"mode\":\"%s\",\"n\":%" PRIu64 ",\"wall_ms\":%.1f,\"cpu_s\":%.3f,\"events\":%" PRIu64
         ",\"events_per_s\":%.0f,\"peak_rss_kib\":%ld,\"rss_per_live_visit_bytes\":%.1f,\"lua_heap_bytes\":%zu"
         ",\"lua_heap_per_visit\":%.2f,\"alerts\":%" PRIu64 ",\"alerts_delivered\":%" PRIu64 ",\"discharged\":%" PRIu64
         "%s,\"checksums_ok\":%s}\n",
         mode, n, wall * 1e3, cpu, c.events, c.events / wall, peak,
         (double)(sample.rss_live - sample.rss_before) / (double)n, sample.lua_bytes,
         (double)sample.lua_bytes / (double)n, c.alerts, c.delivered, c.discharged, extra, ok ? "true" : "false");

  free(ids);
  return ok ? 0 : 1;
}
