/* bench.c: vigil-bench, the reference workload (shared/bench/WORKLOAD.md) run
 * on the vigil engine.
 *
 *   vigil-bench --n N [--mode m1|m2] [--batch B|instant] [--dir DIR] [--protocol PATH]
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
#include "vigil/vigil.h"
#include "workload.h"

/* A fixed origin (2025-01-01T00:00:00Z) so that every run sees the same times. */
#define SIM_ORIGIN_MS INT64_C(1735689600000)
#define ACTOR "bench"

/* ---- counting subscribers -------------------------------------------------- */

typedef struct counts {
  uint64_t events, alerts, discharged, held;
} counts;

static int on_any(void *ud, const vigil_event *ev) {
  counts *c = ud;
  const char *type = vigil_event_type(ev);
  c->events++;
  if (!strcmp(type, "alert.raised")) c->alerts++;
  else if (!strcmp(type, "visit.discharged")) c->discharged++;
  else if (!strcmp(type, "gate.blocked")) c->held++;
  return 0;
}

/* Both alert subscribers share one counter: deliveries, 2 per alert. */
static int on_alert(void *ud, const vigil_event *ev) {
  (void)ev;
  (*(uint64_t *)ud)++;
  return 0;
}

/* ---- the timeline ------------------------------------------------------------ */

/* Every visit does the same five things at the same offsets from its start,
 * and starts are increasing in the visit index, so each kind of action is
 * already in time order across visits: the timeline is a merge of five
 * cursors, with no queue and no per-action memory. */
enum { ACT_START, ACT_CHECKPOINT_1, ACT_CHECKPOINT_2, ACT_CHECKPOINT_3, ACT_DISCHARGE, ACT_COUNT };

static const int64_t act_offset_ms[ACT_COUNT] = {0, 1 * WL_CHECKPOINT_EVERY_MS, 2 * WL_CHECKPOINT_EVERY_MS,
                                                 3 * WL_CHECKPOINT_EVERY_MS, WL_OBSERVATION_END_MS};

typedef struct run {
  vigil_engine *e;
  const char *protocol; /* "id@version" */
  uint64_t n;
  uint64_t *visit_ids;  /* by visit index */
  uint64_t cursor[ACT_COUNT];
  /* Group commit (M2): up to batch_max commands per transaction, and with
   * per_instant only those of one simulated instant. batch_max 1: none, every
   * command (and every deadline) commits itself, as in M1. */
  uint32_t batch_max;
  int per_instant;
  uint64_t batches; /* transactions the driver opened and committed */
} run;

static int64_t act_time(const run *r, int act) {
  uint64_t i = r->cursor[act];
  return i < r->n ? SIM_ORIGIN_MS + wl_start_ms(i, r->n) + act_offset_ms[act] : INT64_MAX;
}

/* The kind of action that comes next, or -1 when the timeline is done. */
static int next_act(const run *r, int64_t *at) {
  int best = -1;
  *at = INT64_MAX;
  for (int a = 0; a < ACT_COUNT; a++) {
    int64_t t = act_time(r, a);
    if (t < *at) {
      *at = t;
      best = a;
    }
  }
  return best;
}

static int engine_error(const run *r, const char *what, uint64_t i, int rc) {
  fprintf(stderr, "vigil-bench: %s (visit index %" PRIu64 "): %s: %s\n", what, i, vigil_err_name(rc),
          vigil_engine_errmsg(r->e));
  return rc;
}

static int start_visit(run *r, uint64_t i) {
  char patient[32];
  snprintf(patient, sizeof patient, "bench-%" PRIu64, i);
  int rc = vigil_visit_start(r->e, r->protocol, patient, ACTOR, NULL, &r->visit_ids[i]);
  if (rc < 0) return engine_error(r, "start", i, rc);
  /* Screening is one entry (one event) in the same instant as the start. */
  wl_screening s = wl_screening_of((uint32_t)i);
  const vigil_input in[] = {
      {.item = "consent", .type = VIGIL_INPUT_BOOL, .boolean = s.consent},
      {.item = "npo_hours", .type = VIGIL_INPUT_NUMBER, .number = s.npo_hours},
      {.item = "baseline_sbp", .type = VIGIL_INPUT_NUMBER, .number = s.baseline_sbp},
      {.item = "contraindication", .type = VIGIL_INPUT_BOOL, .boolean = s.contraindication},
      {.item = "iv_access", .type = VIGIL_INPUT_BOOL, .boolean = s.iv_access},
  };
  rc = vigil_visit_record(r->e, r->visit_ids[i], ACTOR, in, sizeof in / sizeof in[0]);
  return rc < 0 ? engine_error(r, "screening", i, rc) : 0;
}

static int record_vitals(run *r, uint64_t i, uint32_t k) {
  wl_vitals x = wl_vitals_of((uint32_t)i, k);
  const vigil_input in[] = {
      {.item = "vitals", .field = "sbp", .type = VIGIL_INPUT_NUMBER, .number = x.sbp},
      {.item = "vitals", .field = "spo2", .type = VIGIL_INPUT_NUMBER, .number = x.spo2},
      {.item = "vitals", .field = "hr", .type = VIGIL_INPUT_NUMBER, .number = x.hr},
  };
  int rc = vigil_visit_record(r->e, r->visit_ids[i], ACTOR, in, sizeof in / sizeof in[0]);
  return rc < 0 ? engine_error(r, "vitals", i, rc) : 0;
}

static int discharge(run *r, uint64_t i) {
  int rc = vigil_visit_discharge(r->e, r->visit_ids[i], ACTOR);
  /* A refused gate is the workload's "held" outcome, recorded as gate.blocked. */
  return rc < 0 && rc != VIGIL_EGATE ? engine_error(r, "discharge", i, rc) : 0;
}

static int do_act(run *r, int act) {
  uint64_t i = r->cursor[act]++;
  switch (act) {
  case ACT_START: return start_visit(r, i);
  case ACT_DISCHARGE: return discharge(r, i);
  default: return record_vitals(r, i, (uint32_t)(act - ACT_CHECKPOINT_1 + 1));
  }
}

typedef struct live_sample {
  int64_t rss_before, rss_live; /* bytes: before the first visit, and at t = 60 min */
  size_t lua_bytes;             /* at t = 60 min */
} live_sample;

/* Runs the whole timeline. At t = 60 min, when every visit has started and
 * none has ended, it samples memory. */
static int run_timeline(run *r, live_sample *sample) {
  const int64_t live_at = SIM_ORIGIN_MS + WL_SPREAD_MS;
  int sampled = 0, open = 0;
  uint32_t in_batch = 0;
  int64_t at, batch_at = 0;
  int act, rc;
  while ((act = next_act(r, &at)) >= 0) {
    uint32_t commands = act == ACT_START ? 2 : 1; /* a start and its screening */
    if (r->batch_max > 1) {
      /* Close the transaction when it is full, or, per instant, when time
       * moves on; the next command opens one. Deadlines that fall due
       * before the command fire inside it, each at its own time. */
      if (open && (in_batch + commands > r->batch_max || (r->per_instant && at != batch_at))) {
        if ((rc = vigil_engine_commit(r->e)) < 0) return engine_error(r, "commit", r->cursor[act], rc);
        open = 0;
      }
      if (!open) {
        vigil_engine_begin(r->e);
        r->batches++;
        open = 1;
        in_batch = 0;
        batch_at = at;
      }
    }
    if (!sampled && at >= live_at) {
      if ((rc = vigil_engine_advance_to(r->e, live_at)) < 0) return engine_error(r, "moving the clock", r->cursor[act], rc);
      vigil_stats st;
      vigil_engine_stats(r->e, &st);
      sample->rss_live = bench_rss_bytes();
      sample->lua_bytes = st.lua_bytes;
      sampled = 1;
    }
    /* Deadlines due up to this instant fire first, each at its own time: the
     * observation end of a visit comes before its discharge decision. In M1
     * each command then commits, and is published, by itself: batching the
     * commands of one instant made no measurable difference there. */
    if ((rc = vigil_engine_advance_to(r->e, at)) < 0) return engine_error(r, "moving the clock", r->cursor[act], rc);
    if ((rc = do_act(r, act)) < 0) return rc;
    in_batch += commands;
  }
  if (open && (rc = vigil_engine_commit(r->e)) < 0) return engine_error(r, "commit", r->n, rc);
  return 0;
}

/* ---- checksums ------------------------------------------------------------- */

/* What the generator alone says the run must produce, whatever the engine. */
static wl_checksums predict(uint64_t n) {
  wl_checksums c = {.events = 0, .alerts = 0, .alerts_delivered = 0, .discharged = 0};
  for (uint64_t i = 0; i < n; i++) {
    for (uint32_t k = 1; k <= WL_CHECKPOINTS; k++) c.alerts += (uint64_t)wl_vitals_alert(wl_vitals_of((uint32_t)i, k));
    c.discharged += !wl_vitals_alert(wl_vitals_of((uint32_t)i, WL_CHECKPOINTS));
  }
  c.events = WL_EVENTS_PER_VISIT * n + c.alerts;
  c.alerts_delivered = 2 * c.alerts;
  return c;
}

static int compare(const char *what, const char *name, uint64_t want, uint64_t got) {
  if (want == got) return 1;
  fprintf(stderr, "vigil-bench: %s %s: expected %" PRIu64 ", got %" PRIu64 "\n", what, name, want, got);
  return 0;
}

static int checksums_match(const char *what, const wl_checksums *want, const wl_checksums *got) {
  int ok = compare(what, "events", want->events, got->events);
  ok &= compare(what, "alerts", want->alerts, got->alerts);
  ok &= compare(what, "alerts delivered", want->alerts_delivered, got->alerts_delivered);
  if (want->discharged >= 0) ok &= compare(what, "discharged", (uint64_t)want->discharged, (uint64_t)got->discharged);
  return ok;
}

/* ---- the store (M2) ----------------------------------------------------------- */

typedef struct stored {
  uint64_t events, alerts, discharged;
} stored;

/* Reads the closed store back, with SQLite alone: what is on disk. */
static int read_store(const char *db, stored *out) {
  sqlite3 *h;
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(h,
                            "SELECT count(*), coalesce(sum(type = 'alert.raised'), 0), "
                            "coalesce(sum(type = 'visit.discharged'), 0) FROM events",
                            -1, &st, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    out->events = (uint64_t)sqlite3_column_int64(st, 0);
    out->alerts = (uint64_t)sqlite3_column_int64(st, 1);
    out->discharged = (uint64_t)sqlite3_column_int64(st, 2);
    rc = SQLITE_OK;
  }
  if (rc != SQLITE_OK) fprintf(stderr, "vigil-bench: cannot read back %s: %s\n", db, sqlite3_errmsg(h));
  sqlite3_finalize(st);
  sqlite3_close(h);
  return rc == SQLITE_OK ? 0 : -1;
}

/* The temporary folder goes however the run ends. */
static char *temp_dir;

static void remove_temp_dir(void) {
  if (!temp_dir) return;
  if (bench_rmtree(temp_dir) < 0) fprintf(stderr, "vigil-bench: cannot remove %s: %s\n", temp_dir, strerror(errno));
  free(temp_dir);
  temp_dir = NULL;
}

/* ---- main -------------------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f,
          "usage: vigil-bench --n N [--mode m1|m2] [--batch B|instant] [--dir DIR] [--protocol PATH]\n"
          "  Runs the reference workload (shared/bench/WORKLOAD.md) with N visits and\n"
          "  prints one JSON line.\n"
          "  --mode m1      in memory, simulated time (the default)\n"
          "  --mode m2      durable (SQLite, WAL, synchronous=FULL), simulated time, group commit\n"
          "  --batch B      m2: up to B consecutive commands per transaction (default 1000;\n"
          "                 1: every command commits itself)\n"
          "  --batch instant  m2: the commands due at one simulated instant (up to 1000)\n"
          "  --dir DIR      m2: where the temporary folder for the store goes (default $TMPDIR or /tmp)\n"
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
  const char *mode = "m1", *path = VIGIL_BENCH_PROTOCOL, *dir = NULL;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      usage(stdout);
      return 0;
    }
    const char *value = i + 1 < argc ? argv[++i] : NULL;
    if (!value || (strcmp(arg, "--n") && strcmp(arg, "--mode") && strcmp(arg, "--protocol") &&
                   strcmp(arg, "--batch") && strcmp(arg, "--dir"))) {
      fprintf(stderr, "vigil-bench: %s '%s'\n", value ? "unknown option" : "missing value or unknown option", arg);
      usage(stderr);
      return 2;
    }
    if (!strcmp(arg, "--mode")) mode = value;
    else if (!strcmp(arg, "--protocol")) path = value;
    else if (!strcmp(arg, "--dir")) dir = value;
    else if (!strcmp(arg, "--batch")) {
      if (!strcmp(value, "instant")) per_instant = 1, batch = 1000;
      else if (parse_count(value, UINT32_MAX, &batch) < 0) {
        fprintf(stderr, "vigil-bench: --batch takes a whole number of commands from 1, or 'instant', not '%s'\n", value);
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
  if (!durable && strcmp(mode, "m1") != 0) {
    fprintf(stderr, "vigil-bench: mode '%s' is not implemented (m1: in memory; m2: durable; both on simulated time)\n",
            mode);
    return 2;
  }

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
    if (bench_vfs_register() != SQLITE_OK) {
      fprintf(stderr, "vigil-bench: cannot register the counting SQLite VFS\n");
      return 2;
    }
    if (!(temp_dir = bench_tempdir(dir))) {
      fprintf(stderr, "vigil-bench: cannot make a temporary folder in %s: %s\n", dir ? dir : "/tmp", strerror(errno));
      return 2;
    }
    atexit(remove_temp_dir);
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
  uint64_t delivered = 0;
  if ((rc = vigil_engine_subscribe(e, "*", on_any, &c)) < 0 ||
      (rc = vigil_engine_subscribe(e, "alert.*", on_alert, &delivered)) < 0 ||
      (rc = vigil_engine_subscribe(e, "alert.*", on_alert, &delivered)) < 0) {
    fprintf(stderr, "vigil-bench: subscribe: %s\n", vigil_engine_errmsg(e));
    return 2;
  }

  run r = {.e = e,
           .protocol = ref,
           .n = n,
           .visit_ids = ids,
           .batch_max = durable ? (uint32_t)batch : 1,
           .per_instant = durable && per_instant};
  live_sample sample = {.rss_before = bench_rss_bytes(), .rss_live = -1};
  bench_io io0, io1;
  bench_vfs_counts(&io0);
  double wall0 = bench_seconds(), cpu0 = bench_cpu_seconds();
  rc = run_timeline(&r, &sample);
  double wall = bench_seconds() - wall0, cpu = bench_cpu_seconds() - cpu0;
  bench_vfs_counts(&io1);
  if (rc < 0) return 2;
  bench_io io = bench_io_diff(&io1, &io0);

  vigil_stats st;
  vigil_engine_stats(e, &st);
  wl_checksums got = {.events = c.events,
                      .alerts = c.alerts,
                      .alerts_delivered = delivered,
                      .discharged = (int64_t)c.discharged};
  wl_checksums predicted = predict(n), published;
  int ok = checksums_match("engine vs generator:", &predicted, &got);
  if (wl_expected(n, &published)) ok &= checksums_match("engine vs WORKLOAD.md:", &published, &got);
  /* The bus and the store must agree, and every visit must end one way or the other. */
  ok &= compare("internal:", "events stored vs heard", st.events, c.events);
  ok &= compare("internal:", "discharged + held vs visits", n, c.discharged + c.held);
  ok &= compare("internal:", "subscriber failures", 0, st.subscriber_failures);
  long peak = bench_peak_rss_kib();
  vigil_engine_free(e);

  char extra[1024] = "";
  if (durable) {
    /* What is on disk once the engine has closed the store. */
    stored on_disk = {0, 0, 0};
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
    if (r.batch_max == 1) snprintf(policy, sizeof policy, "none: every command and deadline commits itself");
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
         ",\"lua_heap_per_visit\":%.2f,\"alerts\":%" PRIu64 ",\"alerts_delivered\":%" PRIu64
         ",\"discharged\":%" PRIu64 "%s,\"checksums_ok\":%s}\n",
         mode, n, wall * 1e3, cpu, c.events, c.events / wall, peak,
         (double)(sample.rss_live - sample.rss_before) / (double)n, sample.lua_bytes,
         (double)sample.lua_bytes / (double)n, c.alerts, delivered, c.discharged, extra, ok ? "true" : "false");

  free(ids);
  return ok ? 0 : 1;
}
