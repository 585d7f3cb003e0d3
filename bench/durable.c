/* durable.c: vigil-durable-bench, how many events per second the engine makes
 * durable when many writers share one store, next to what the disk and
 * SQLite alone can do, measured in the same run on the same folder.
 *
 *   vigil-durable-bench [--writers 1,100,1000] [--seconds S] [--rows 1,100]
 *                       [--row-bytes B] [--limits 0|1] [--repeat R] [--dir DIR]
 *                       [--protocol PATH]
 *
 * One JSON line per measurement, in this order, the whole sequence R times
 * (a virtual disk's rate drifts: rounds interleave the measurements, and
 * each line says its round):
 *  - "fsync": write 4 KiB and fdatasync (then fsync) in a loop for S seconds,
 *    on a file in the temporary folder: the disk's own rate of durable writes.
 *  - "sqlite": a bare table (no vigil) in WAL mode with synchronous=FULL, as
 *    the engine's store opens it, R rows of B bytes per transaction, for S
 *    seconds: SQLite's own rows/s.
 *  - "writers": W visits, each issuing one record command (vitals, from the
 *    workload's generator) per turn. With W > 1 a turn's W commands are one
 *    transaction (vigil_engine_begin / vigil_engine_commit: group commit, as
 *    one libuv loop turn of a server would do); a single writer's command
 *    commits itself. The engine is on the simulated clock, which does not
 *    move, so only the commands make events.
 * Commits and fsyncs are counted below SQLite by the VFS shim of measure.c.
 * Exit 1 if an engine run's store does not hold every event heard, 2 on a
 * usage or setup error. Targets missed do not fail the run: the figures
 * depend on the disk. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "limits.h"
#include "measure.h"
#include "vigil/vigil.h"
#include "workload.h"

#define SIM_ORIGIN_MS INT64_C(1735689600000)
#define ACTOR "bench"
#define MAX_LIST 16

typedef struct config {
  const char *dir;      /* the temporary folder, made by main */
  const char *protocol; /* path */
  double seconds;
  uint64_t row_bytes;
  uint64_t round; /* 1..R */
} config;

static int failed; /* a check failed: exit 1 */

/* ---- the disk: write + fdatasync / fsync ------------------------------------- */

/* Returns the rate measured (syncs per second), or -1. */
static double measure_fsync(const config *cf, int data_only) {
  char path[4096];
  snprintf(path, sizeof path, "%s/fsync.bin", cf->dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    fprintf(stderr, "vigil-durable-bench: cannot open %s: %s\n", path, strerror(errno));
    return -1;
  }
  char block[4096];
  memset(block, 'v', sizeof block);
  bench_samples lat = {0};
  uint64_t n = 0;
  double cpu0 = bench_cpu_seconds(), t0 = bench_seconds(), t = t0;
  /* As a WAL does: appended blocks at first, then the same 4 MiB reused. */
  while (t - t0 < cf->seconds) {
    double s = t;
    if (pwrite(fd, block, sizeof block, (off_t)(n % 1024) * (off_t)sizeof block) != (ssize_t)sizeof block ||
        (data_only ? fdatasync(fd) : fsync(fd)) < 0) {
      fprintf(stderr, "vigil-durable-bench: writing %s: %s\n", path, strerror(errno));
      close(fd);
      bench_samples_free(&lat);
      return -1;
    }
    t = bench_seconds();
    bench_samples_add(&lat, t - s);
    n++;
  }
  double wall = t - t0, cpu = bench_cpu_seconds() - cpu0;
  close(fd);
  unlink(path);
  printf("{\"bench\":\"fsync\",\"round\":%" PRIu64
         ",\"call\":\"%s\",\"block_bytes\":4096,\"seconds\":%.3f,\"cpu_s\":%.3f,\"syncs\":%" PRIu64
         ",\"syncs_per_s\":%.0f,\"latency_us_p50\":%.0f,\"latency_us_p99\":%.0f,\"latency_us_max\":%.0f}\n",
         cf->round, data_only ? "fdatasync" : "fsync", wall, cpu, n, (double)n / wall,
         bench_samples_pct(&lat, 50) * 1e6, bench_samples_pct(&lat, 99) * 1e6, bench_samples_pct(&lat, 100) * 1e6);
  fflush(stdout);
  bench_samples_free(&lat);
  return (double)n / wall;
}

/* ---- SQLite alone: a bare table, WAL + synchronous=FULL ----------------------- */

static int measure_sqlite(const config *cf, uint64_t rows_per_commit) {
  char path[4096];
  snprintf(path, sizeof path, "%s/sqlite-%" PRIu64 "-%" PRIu64 ".db", cf->dir, rows_per_commit, cf->round);
  sqlite_limit l;
  if (sqlite_limit_run(path, rows_per_commit, cf->row_bytes, cf->seconds, 0, &l) < 0) return -1;
  bench_io io = l.io;
  printf("{\"bench\":\"sqlite\",\"round\":%" PRIu64 ",\"rows_per_commit\":%" PRIu64 ",\"row_bytes\":%" PRIu64
         ",\"seconds\":%.3f,\"cpu_s\":%.3f,\"rows\":%" PRIu64 ",\"commits\":%" PRIu64 ",\"rows_per_s\":%.0f"
         ",\"commits_per_s\":%.0f,\"fsyncs\":%" PRIu64 ",\"fsyncs_per_commit\":%.3f,\"wal_frames_per_commit\":%.2f"
         ",\"commit_ms_p50\":%.3f,\"commit_ms_p99\":%.3f,\"commit_ms_max\":%.3f}\n",
         cf->round, rows_per_commit, cf->row_bytes, l.seconds, l.cpu_s, l.rows, l.commits, (double)l.rows / l.seconds,
         (double)l.commits / l.seconds, bench_io_syncs(&io),
         l.commits ? (double)bench_io_syncs(&io) / (double)l.commits : 0.0,
         l.commits ? (double)io.frames / (double)l.commits : 0.0, bench_samples_pct(&l.commit_s, 50) * 1e3,
         bench_samples_pct(&l.commit_s, 99) * 1e3, bench_samples_pct(&l.commit_s, 100) * 1e3);
  fflush(stdout);
  if (io.commits != l.commits)
    fprintf(stderr, "vigil-durable-bench: note: %" PRIu64 " commits counted on disk for %" PRIu64 "\n", io.commits,
            l.commits);
  bench_samples_free(&l.commit_s);
  return 0;
}

/* ---- the engine: W writers ---------------------------------------------------- */

typedef struct heard {
  uint64_t events, alerts;
} heard;

static int on_any(void *ud, const vigil_event *ev) {
  heard *h = ud;
  h->events++;
  h->alerts += !strcmp(vigil_event_type(ev), "alert.raised");
  return 0;
}

static uint64_t stored_events(const char *path) {
  sqlite3 *db;
  sqlite3_stmt *st = NULL;
  uint64_t n = UINT64_MAX;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    n = (uint64_t)sqlite3_column_int64(st, 0);
  else
    fprintf(stderr, "vigil-durable-bench: cannot read back %s: %s\n", path, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

static int engine_error(vigil_engine *e, const char *what, int rc) {
  fprintf(stderr, "vigil-durable-bench: %s: %s: %s\n", what, vigil_err_name(rc), vigil_engine_errmsg(e));
  return rc;
}

static int record(vigil_engine *e, uint64_t visit, uint32_t sid, uint32_t k) {
  wl_vitals x = wl_vitals_of(sid, k);
  const vigil_input in[] = {
      {.item = "vitals", .field = "sbp", .type = VIGIL_INPUT_NUMBER, .number = x.sbp},
      {.item = "vitals", .field = "spo2", .type = VIGIL_INPUT_NUMBER, .number = x.spo2},
      {.item = "vitals", .field = "hr", .type = VIGIL_INPUT_NUMBER, .number = x.hr},
  };
  int rc = vigil_visit_record(e, visit, ACTOR, in, sizeof in / sizeof in[0]);
  return rc < 0 ? engine_error(e, "record", rc) : 0;
}

static int measure_writers(const config *cf, uint64_t w, double fsync_rate) {
  char path[4096];
  snprintf(path, sizeof path, "%s/writers-%" PRIu64 "-%" PRIu64 ".db", cf->dir, w, cf->round);
  vigil_options opts = {
      .clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = SIM_ORIGIN_MS, .db_path = path, .db_vfs = BENCH_VFS};
  vigil_engine *e;
  const char *ref;
  int rc = vigil_engine_new(&opts, &e);
  if (rc < 0) {
    fprintf(stderr, "vigil-durable-bench: cannot create the engine: %s\n", vigil_strerror(rc));
    return -1;
  }
  uint64_t *ids = calloc(w, sizeof *ids);
  heard h = {0, 0};
  bench_samples turn_s = {0};
  if (!ids) goto fail;
  if ((rc = vigil_engine_load(e, cf->protocol, &ref)) < 0) {
    fprintf(stderr, "vigil-durable-bench: cannot load %s:\n%s\n", cf->protocol, vigil_engine_errmsg(e));
    goto fail;
  }
  if ((rc = vigil_engine_subscribe(e, "*", on_any, &h)) < 0) goto fail;
  /* The writers' visits, started before the clock runs, 1,000 a transaction. */
  for (uint64_t i = 0; i < w; i++) {
    if (i % 1000 == 0) vigil_engine_begin(e);
    char patient[32];
    snprintf(patient, sizeof patient, "writer-%" PRIu64, i);
    if ((rc = vigil_visit_start(e, ref, patient, ACTOR, NULL, &ids[i])) < 0) {
      engine_error(e, "start", rc);
      goto fail;
    }
    if ((i % 1000 == 999 || i + 1 == w) && (rc = vigil_engine_commit(e)) < 0) {
      engine_error(e, "commit", rc);
      goto fail;
    }
  }

  heard h0 = h;
  bench_io io0, io1;
  bench_vfs_counts(&io0);
  uint64_t turns = 0;
  double cpu0 = bench_cpu_seconds(), t0 = bench_seconds(), t = t0;
  while (t - t0 < cf->seconds) {
    double s = t;
    uint32_t k = 1 + (uint32_t)(turns % WL_CHECKPOINTS);
    if (w > 1) vigil_engine_begin(e);
    for (uint64_t i = 0; i < w; i++)
      if ((rc = record(e, ids[i], (uint32_t)i, k)) < 0) goto fail;
    if (w > 1 && (rc = vigil_engine_commit(e)) < 0) {
      engine_error(e, "commit", rc);
      goto fail;
    }
    t = bench_seconds();
    bench_samples_add(&turn_s, t - s);
    turns++;
  }
  double wall = t - t0, cpu = bench_cpu_seconds() - cpu0;
  bench_vfs_counts(&io1);
  bench_io io = bench_io_diff(&io1, &io0);
  uint64_t events = h.events - h0.events, commands = turns * w, fsyncs = bench_io_syncs(&io);
  double eps = (double)events / wall;
  vigil_engine_free(e);
  e = NULL;

  uint64_t on_disk = stored_events(path);
  remove_db(path);
  int ok = on_disk == h.events;
  if (!ok)
    fprintf(stderr, "vigil-durable-bench: writers %" PRIu64 ": %" PRIu64 " events on disk, %" PRIu64 " heard\n", w,
            on_disk, h.events);
  failed |= !ok;

  /* The targets: group commit at 1,000 writers >= 20,000 events/s;
   * a single writer within 2x of one fsync per event. */
  char target[256] = "";
  if (w >= 1000)
    snprintf(target, sizeof target, ",\"target\":\"events_per_s >= 20000\",\"target_met\":%s",
             eps >= 20000 ? "true" : "false");
  else if (w == 1 && fsync_rate > 0)
    snprintf(target, sizeof target,
             ",\"fsync_rate\":%.0f,\"events_per_fsync_time\":%.3f,\"target\":\"events_per_s >= fsync_rate / 2\""
             ",\"target_met\":%s",
             fsync_rate, eps / fsync_rate, eps >= fsync_rate / 2 ? "true" : "false");
  printf("{\"bench\":\"writers\",\"round\":%" PRIu64 ",\"writers\":%" PRIu64
         ",\"policy\":\"%s\",\"seconds\":%.3f,\"cpu_s\":%.3f"
         ",\"turns\":%" PRIu64 ",\"commands\":%" PRIu64 ",\"events\":%" PRIu64 ",\"alerts\":%" PRIu64
         ",\"commits\":%" PRIu64 ",\"fsyncs\":%" PRIu64 ",\"events_per_s\":%.0f,\"commands_per_s\":%.0f"
         ",\"commits_per_s\":%.0f,\"fsyncs_per_event\":%.5f,\"wal_frames_per_commit\":%.2f,\"turn_ms_p50\":%.2f,\"turn_"
         "ms_p99\":%.2f"
         ",\"turn_ms_max\":%.2f,\"peak_rss_kib\":%ld,\"stored_events\":%" PRIu64 "%s,\"checksums_ok\":%s}\n",
         cf->round, w, w > 1 ? "one transaction per turn of all writers' commands" : "every command commits itself",
         wall, cpu, turns, commands, events, h.alerts - h0.alerts, io.commits, fsyncs, eps, (double)commands / wall,
         (double)io.commits / wall, events ? (double)fsyncs / (double)events : 0.0,
         io.commits ? (double)io.frames / (double)io.commits : 0.0, bench_samples_pct(&turn_s, 50) * 1e3,
         bench_samples_pct(&turn_s, 99) * 1e3, bench_samples_pct(&turn_s, 100) * 1e3, bench_peak_rss_kib(), on_disk,
         target, ok ? "true" : "false");
  fflush(stdout);
  bench_samples_free(&turn_s);
  free(ids);
  return 0;
fail:
  if (e) vigil_engine_free(e);
  bench_samples_free(&turn_s);
  free(ids);
  return -1;
}

/* ---- main ------------------------------------------------------------------------ */

static char *temp_dir;

static void remove_temp_dir(void) {
  if (!temp_dir) return;
  if (bench_rmtree(temp_dir) < 0)
    fprintf(stderr, "vigil-durable-bench: cannot remove %s: %s\n", temp_dir, strerror(errno));
  free(temp_dir);
  temp_dir = NULL;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: vigil-durable-bench [--writers 1,100,1000] [--seconds S] [--rows 1,100] [--row-bytes B]\n"
          "                           [--limits 0|1] [--repeat R] [--dir DIR] [--protocol PATH]\n"
          "  Durable events/s with W concurrent writers (group commit per turn), next to the\n"
          "  same run's fsync rate and SQLite rows/s (WAL, synchronous=FULL) at R rows per\n"
          "  commit. One JSON line per measurement; each lasts S seconds (default 1).\n"
          "  --limits 0 skips the fsync and SQLite measurements; --repeat R runs the whole\n"
          "  sequence R times (default 1). Default protocol: %s\n",
          VIGIL_BENCH_PROTOCOL);
}

/* "1,100,1000" -> up to MAX_LIST whole numbers from 1 to max. */
static int parse_list(const char *s, uint64_t max, uint64_t *out, int *n) {
  *n = 0;
  while (*s) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || v == 0 || v > max || *s == '-' || *n == MAX_LIST || (*end && *end != ',')) return -1;
    out[(*n)++] = v;
    s = *end ? end + 1 : end;
  }
  return *n ? 0 : -1;
}

int main(int argc, char **argv) {
  uint64_t writers[MAX_LIST] = {1, 100, 1000}, rows[MAX_LIST] = {1, 100};
  int n_writers = 3, n_rows = 2, limits = 1;
  uint64_t repeat = 1;
  config cf = {.dir = NULL, .protocol = VIGIL_BENCH_PROTOCOL, .seconds = 1.0, .row_bytes = 330};
  const char *parent = NULL;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      usage(stdout);
      return 0;
    }
    const char *value = i + 1 < argc ? argv[++i] : NULL;
    int bad = !value;
    uint64_t one[MAX_LIST];
    int n_one;
    if (bad) {
    } else if (!strcmp(arg, "--writers"))
      bad = parse_list(value, 1000000, writers, &n_writers) < 0;
    else if (!strcmp(arg, "--rows"))
      bad = parse_list(value, 1000000, rows, &n_rows) < 0;
    else if (!strcmp(arg, "--row-bytes")) {
      bad = parse_list(value, 1000000, one, &n_one) < 0 || n_one != 1;
      if (!bad) cf.row_bytes = one[0];
    } else if (!strcmp(arg, "--repeat")) {
      bad = parse_list(value, 1000, one, &n_one) < 0 || n_one != 1;
      if (!bad) repeat = one[0];
    } else if (!strcmp(arg, "--seconds")) {
      char *end;
      cf.seconds = strtod(value, &end);
      bad = end == value || *end || !(cf.seconds > 0 && cf.seconds <= 3600);
    } else if (!strcmp(arg, "--limits")) {
      bad = strcmp(value, "0") && strcmp(value, "1");
      limits = !strcmp(value, "1");
    } else if (!strcmp(arg, "--dir"))
      parent = value;
    else if (!strcmp(arg, "--protocol"))
      cf.protocol = value;
    else
      bad = 1;
    if (bad) {
      fprintf(stderr, "vigil-durable-bench: bad or missing value for '%s'\n", arg);
      usage(stderr);
      return 2;
    }
  }
  if (bench_vfs_register() != SQLITE_OK) {
    fprintf(stderr, "vigil-durable-bench: cannot register the counting SQLite VFS\n");
    return 2;
  }
  if (!(temp_dir = bench_tempdir(parent))) {
    fprintf(stderr, "vigil-durable-bench: cannot make a temporary folder in %s: %s\n", parent ? parent : "/tmp",
            strerror(errno));
    return 2;
  }
  atexit(remove_temp_dir);
  cf.dir = temp_dir;

  for (cf.round = 1; cf.round <= repeat; cf.round++) {
    double fsync_rate = -1;
    if (limits) {
      if ((fsync_rate = measure_fsync(&cf, 1)) < 0 || measure_fsync(&cf, 0) < 0) return 2;
      for (int i = 0; i < n_rows; i++)
        if (measure_sqlite(&cf, rows[i]) < 0) return 2;
    }
    for (int i = 0; i < n_writers; i++)
      if (measure_writers(&cf, writers[i], fsync_rate) < 0) return 2;
  }
  return failed ? 1 : 0;
}
