/* realtime.c: vigil-bench --mode m3 (real time) and --mode m4 (burst), on
 * libuv and the engine's real clock, each next to the same run's limits.
 *
 * The workload's times are compressed 900 times (15 min = 1 s): visits start
 * over 4 s, record vitals at +1, +2 and +3 s, and reach the end of
 * observation at +11 s. The protocol is bench/workload with those durations
 * (written to the run's temporary folder). The nurse is a libuv timer per
 * visit, armed for the visit's next action; a timer that fires queues its
 * action, and a uv_prepare handle, which runs right after the loop's timers,
 * does the queued actions in one transaction (group commit, as the server
 * does per loop turn) and commits it. Subscribers hear each event once its
 * transaction is durable. The end of observation is the engine's own
 * deadline, on its own timer in the same loop; when it is heard the visit's
 * discharge is queued.
 *
 * M3: 10,000 live visits (--n). First the limits: the same timers on a loop
 * of their own doing nothing but note how late they fire (raw libuv), and
 * 300 single-row commits of SQLite alone. Then the engine: checkpoint
 * lateness (a timer's due time to its action done by the engine), alert
 * latency (the checkpoint's due time to the alert heard by a subscriber, so
 * lateness + the rule + the commit), and the end of observation heard.
 *
 * M4: --n visits started beforehand, then --n checkpoints due in the same
 * millisecond: the time from that millisecond until every reading is
 * recorded, committed and every alert delivered, next to the same run's
 * limits for that work: raw libuv firing as many timers due together, and
 * SQLite alone inserting as many rows as the burst has events, in one
 * transaction. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <uv.h>

#include "limits.h"
#include "measure.h"
#include "modes.h"
#include "timeline.h"

#define RT_SPREAD_MS 4000       /* the first hour: 60 min / 900 */
#define RT_CHECKPOINT_MS 1000   /* 15 min */
#define RT_OBSERVATION_MS 11000 /* 165 min */
#define RT_LEAD_MS 200          /* from arming the timers to the first start */
#define ROW_BYTES 330           /* about a vigil event row, as vigil-durable-bench */

static int64_t rt_start_ms(uint64_t i, uint64_t n) { return (int64_t)(i * RT_SPREAD_MS / n); }

/* ---- the compressed protocol -------------------------------------------------- */

static int replace_once(char **text, const char *from, const char *to) {
  char *at = strstr(*text, from);
  if (!at) return -1;
  size_t head = (size_t)(at - *text), fl = strlen(from), tl = strlen(to), len = strlen(*text);
  char *s = malloc(len - fl + tl + 1);
  if (!s) return -1;
  memcpy(s, *text, head);
  memcpy(s + head, to, tl);
  memcpy(s + head + tl, at + fl, len - head - fl + 1);
  free(*text);
  *text = s;
  return 0;
}

/* Writes the workload protocol with its durations compressed to
 * dir/realtime/protocol.lua; the folder's path goes to out. */
static int write_rt_protocol(const char *src, const char *dir, char *out, size_t outlen) {
  char path[4096 + 32];
  snprintf(path, sizeof path, "%s/protocol.lua", src);
  FILE *f = fopen(path, "rb");
  char *text = NULL;
  long len = -1;
  if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
      (text = malloc((size_t)len + 1)) && fread(text, 1, (size_t)len, f) == (size_t)len)
    text[len] = '\0';
  else
    len = -1;
  if (f) fclose(f);
  if (len < 0) {
    fprintf(stderr, "vigil-bench: cannot read %s: %s\n", path, strerror(errno));
    free(text);
    return -1;
  }
  /* Grace 5 min would be 333 ms; durations are whole seconds, so 1 s: an
   * overdue checkpoint is never reached in this workload either way. */
  if (replace_once(&text, "duration = { min = \"165m\" }", "duration = { min = \"11s\" }") < 0 ||
      replace_once(&text, "at = \"15m\", every = \"15m\", count = 3, grace = \"5m\"",
                   "at = \"1s\", every = \"1s\", count = 3, grace = \"1s\"") < 0) {
    fprintf(stderr, "vigil-bench: %s: not the workload's durations (165m minimum; vitals at 15m every 15m, grace 5m)\n",
            path);
    free(text);
    return -1;
  }
  snprintf(out, outlen, "%s/realtime", dir);
  snprintf(path, sizeof path, "%s/protocol.lua", out);
  int rc = -1;
  if (mkdir(out, 0700) == 0 && (f = fopen(path, "wb"))) {
    rc = fputs(text, f) < 0 ? -1 : 0;
    if (fclose(f) != 0) rc = -1;
  }
  if (rc < 0) fprintf(stderr, "vigil-bench: cannot write %s: %s\n", path, strerror(errno));
  free(text);
  return rc;
}

/* ---- raw libuv: the same timers doing nothing ----------------------------------- */

typedef struct raw_timer {
  uv_timer_t t;
  struct raw *r;
  uint32_t i;
  uint8_t k; /* 0: start; 1-3: checkpoints */
} raw_timer;

typedef struct raw {
  uv_loop_t *loop;
  uint64_t n, base_ms, fired, last_ns;
  bench_samples late; /* seconds */
  int burst;
} raw;

static uint64_t raw_due_ms(const raw *r, uint32_t i, uint8_t k) {
  return r->burst ? r->base_ms : r->base_ms + (uint64_t)rt_start_ms(i, r->n) + (uint64_t)k * RT_CHECKPOINT_MS;
}

/* libuv's due times are in whole ms of uv_now (uv_hrtime() / 1e6, truncated). */
static uint64_t arm(uv_timer_t *t, uv_timer_cb cb, uint64_t due_ms) {
  uint64_t now = uv_now(t->loop);
  uv_timer_start(t, cb, due_ms > now ? due_ms - now : 0, 0);
  return due_ms * 1000000u;
}

static void on_raw(uv_timer_t *t) {
  raw_timer *x = (raw_timer *)t;
  raw *r = x->r;
  uint64_t now = uv_hrtime();
  bench_samples_add(&r->late, ((double)now - (double)raw_due_ms(r, x->i, x->k) * 1e6) / 1e9);
  r->fired++;
  r->last_ns = now;
  if (!r->burst && x->k < WL_CHECKPOINTS) {
    x->k++;
    arm(t, on_raw, raw_due_ms(r, x->i, x->k));
  }
}

/* Runs n timers (4 per visit on M3's schedule, or all due together for M4)
 * on a loop of their own. */
static int run_raw(raw *r) {
  uv_loop_t loop;
  raw_timer *ts = calloc(r->n, sizeof *ts);
  if (!ts || uv_loop_init(&loop) < 0) {
    free(ts);
    return -1;
  }
  r->loop = &loop;
  uv_update_time(&loop);
  r->base_ms = uv_now(&loop) + RT_LEAD_MS;
  for (uint64_t i = 0; i < r->n; i++) {
    ts[i] = (raw_timer){.r = r, .i = (uint32_t)i, .k = 0};
    uv_timer_init(&loop, &ts[i].t);
    arm(&ts[i].t, on_raw, raw_due_ms(r, (uint32_t)i, 0));
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  for (uint64_t i = 0; i < r->n; i++)
    uv_close((uv_handle_t *)&ts[i].t, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  free(ts);
  return 0;
}

/* ---- the engine --------------------------------------------------------------- */

enum { DO_START, DO_VITALS, DO_DISCHARGE };

typedef struct nurse {
  uv_timer_t t;
  struct rt *ctx;
  uint32_t i;
  uint8_t k;            /* the next action: 0 start, 1-3 checkpoints */
  uint64_t due_ns;      /* of the action armed */
  uint64_t done_due_ns; /* of the last action done, and when it was done */
  uint64_t done_ns;
  uint64_t start_ns; /* when the start was done */
} nurse;

typedef struct rt {
  uv_loop_t loop;
  uv_prepare_t prepare;
  vigil_engine *e;
  run r;
  nurse *v;
  uint64_t n, base_ms;
  int burst;
  /* Queued actions: visit index << 2 | what; at most one timer action and
   * one discharge per visit are queued at once. */
  uint64_t *queue;
  size_t q_head, q_len, q_cap;
  counts heard;
  uint64_t decided, commits, commit_failures, last_heard_ns;
  bench_samples late, alert, alert_after, deadline, commit_s;
  int failed;
} rt;

static void enqueue(rt *c, uint32_t i, int what) {
  c->queue[(c->q_head + c->q_len++) % c->q_cap] = (uint64_t)i << 2 | (uint64_t)what;
}

static void on_nurse(uv_timer_t *t) {
  nurse *x = (nurse *)t;
  enqueue(x->ctx, x->i, x->k == 0 ? DO_START : DO_VITALS);
}

static uint64_t nurse_due_ms(const rt *c, uint32_t i, uint8_t k) {
  return c->burst ? c->base_ms : c->base_ms + (uint64_t)rt_start_ms(i, c->n) + (uint64_t)k * RT_CHECKPOINT_MS;
}

static int visit_index(const rt *c, const vigil_event *ev, uint32_t *i) {
  uint64_t id = vigil_event_visit(ev);
  if (id < 1 || id > c->n) return -1;
  *i = (uint32_t)(id - 1);
  return 0;
}

static int on_alert_heard(void *ud, const vigil_event *ev) {
  rt *c = ud;
  uint32_t i;
  uint64_t now = uv_hrtime();
  c->last_heard_ns = now;
  if (visit_index(c, ev, &i) < 0) return 1;
  bench_samples_add(&c->alert, ((double)now - (double)c->v[i].done_due_ns) / 1e9);
  bench_samples_add(&c->alert_after, ((double)now - (double)c->v[i].done_ns) / 1e9);
  return 0;
}

static int on_minimum(void *ud, const vigil_event *ev) {
  rt *c = ud;
  uint32_t i;
  if (visit_index(c, ev, &i) < 0) return 1;
  double due = (double)c->v[i].start_ns + RT_OBSERVATION_MS * 1e6;
  bench_samples_add(&c->deadline, ((double)uv_hrtime() - due) / 1e9);
  enqueue(c, i, DO_DISCHARGE);
  return 0;
}

static int on_decided(void *ud, const vigil_event *ev) {
  (void)ev;
  ((rt *)ud)->decided++;
  return 0;
}

static int do_action(rt *c, uint32_t i, int what) {
  nurse *x = &c->v[i];
  run *r = &c->r;
  int rc;
  if (what == DO_DISCHARGE) {
    r->cursor[ACT_DISCHARGE] = i;
    return do_act(r, ACT_DISCHARGE);
  }
  uint64_t now = uv_hrtime();
  bench_samples_add(&c->late, ((double)now - (double)x->due_ns) / 1e9);
  x->done_ns = now;
  x->done_due_ns = x->due_ns;
  int act = what == DO_START ? ACT_START : ACT_CHECKPOINT_1 + x->k - 1;
  r->cursor[act] = i;
  if ((rc = do_act(r, act)) < 0) return rc;
  if (what == DO_START) {
    x->start_ns = now;
    if (r->visit_ids[i] != (uint64_t)i + 1) {
      fprintf(stderr, "vigil-bench: visit index %u started as id %" PRIu64 ", not in order\n", i, r->visit_ids[i]);
      return -1;
    }
  }
  if (!c->burst && x->k < WL_CHECKPOINTS) {
    x->k++;
    x->due_ns = arm(&x->t, on_nurse, nurse_due_ms(c, i, x->k));
  }
  return 0;
}

/* After the loop's timers: the queued actions, one transaction, its commit.
 * A commit's subscribers may queue discharges: they go in the next one. */
static void on_prepare(uv_prepare_t *h) {
  rt *c = h->data;
  while (c->q_len > 0 && !c->failed) {
    vigil_engine_begin(c->e);
    while (c->q_len > 0) {
      uint64_t a = c->queue[c->q_head];
      c->q_head = (c->q_head + 1) % c->q_cap;
      c->q_len--;
      if (do_action(c, (uint32_t)(a >> 2), (int)(a & 3)) < 0) c->failed = 1;
    }
    uint64_t t0 = uv_hrtime();
    if (vigil_engine_commit(c->e) < 0) {
      fprintf(stderr, "vigil-bench: commit: %s\n", vigil_engine_errmsg(c->e));
      c->failed = 1;
    }
    bench_samples_add(&c->commit_s, (double)(uv_hrtime() - t0) / 1e9);
    c->commits++;
  }
  if (c->failed || (!c->burst && c->decided == c->n) || (c->burst && c->q_len == 0 && c->heard.events >= 3 * c->n))
    uv_stop(&c->loop);
}

static void free_rt(rt *c) {
  if (c->e) vigil_engine_free(c->e);
  if (c->v) {
    for (uint64_t i = 0; i < c->n; i++)
      uv_close((uv_handle_t *)&c->v[i].t, NULL);
    uv_close((uv_handle_t *)&c->prepare, NULL);
    uv_run(&c->loop, UV_RUN_DEFAULT);
    uv_loop_close(&c->loop);
  }
  free(c->v);
  free(c->queue);
  free(c->r.visit_ids);
  bench_samples_free(&c->late);
  bench_samples_free(&c->alert);
  bench_samples_free(&c->alert_after);
  bench_samples_free(&c->deadline);
  bench_samples_free(&c->commit_s);
}

/* The engine on the real clock with a store in the run's folder, the
 * compressed protocol, the subscribers and one nurse timer per visit. */
static int open_rt(rt *c, const bench_args *a, int burst) {
  memset(c, 0, sizeof *c);
  c->n = a->n;
  c->burst = burst;
  c->q_cap = 2 * a->n;
  if (uv_loop_init(&c->loop) < 0) return -1;
  c->v = calloc(a->n, sizeof *c->v);
  c->queue = calloc(c->q_cap, sizeof *c->queue);
  c->r.visit_ids = calloc(a->n, sizeof *c->r.visit_ids);
  if (!c->v || !c->queue || !c->r.visit_ids) {
    fprintf(stderr, "vigil-bench: out of memory\n");
    return -1;
  }
  for (uint64_t i = 0; i < a->n; i++) {
    c->v[i] = (nurse){.ctx = c, .i = (uint32_t)i};
    uv_timer_init(&c->loop, &c->v[i].t);
  }
  uv_prepare_init(&c->loop, &c->prepare);
  c->prepare.data = c;

  char proto[4096], db[4096];
  if (write_rt_protocol(a->protocol, a->dir, proto, sizeof proto) < 0) return -1;
  snprintf(db, sizeof db, "%s/%s.db", a->dir, burst ? "m4" : "m3");
  vigil_options opts = {.clock = VIGIL_CLOCK_REAL, .loop = &c->loop, .db_path = db, .db_vfs = BENCH_VFS};
  const char *ref;
  int rc = vigil_engine_new(&opts, &c->e);
  if (rc < 0 || (rc = vigil_engine_load(c->e, proto, &ref)) < 0 || (rc = counts_subscribe(c->e, &c->heard)) < 0 ||
      (rc = vigil_engine_subscribe(c->e, "alert.raised", on_alert_heard, c)) < 0 ||
      (rc = vigil_engine_subscribe(c->e, "phase.minimum_reached", on_minimum, c)) < 0 ||
      (rc = vigil_engine_subscribe(c->e, "visit.discharged", on_decided, c)) < 0 ||
      (rc = vigil_engine_subscribe(c->e, "gate.blocked", on_decided, c)) < 0) {
    fprintf(stderr, "vigil-bench: engine: %s: %s\n", vigil_strerror(rc), c->e ? vigil_engine_errmsg(c->e) : "");
    return -1;
  }
  c->r = (run){.e = c->e, .protocol = ref, .n = a->n, .visit_ids = c->r.visit_ids, .batch_max = 1};
  return 0;
}

static double ms(bench_samples *s, double p) { return bench_samples_pct(s, p) * 1e3; }

/* ---- M3 ------------------------------------------------------------------------- */

int mode_realtime(const bench_args *a) {
  /* The limits first, on their own. */
  raw lim = {.n = a->n, .burst = 0};
  if (run_raw(&lim) < 0) return 2;
  char path[4096];
  snprintf(path, sizeof path, "%s/commit1.db", a->dir);
  sqlite_limit one;
  if (sqlite_limit_run(path, 1, ROW_BYTES, 5.0, 300, &one) < 0) return 2;

  rt c;
  if (open_rt(&c, a, 0) < 0) {
    free_rt(&c);
    return 2;
  }
  uv_update_time(&c.loop);
  c.base_ms = uv_now(&c.loop) + RT_LEAD_MS;
  for (uint64_t i = 0; i < a->n; i++)
    c.v[i].due_ns = arm(&c.v[i].t, on_nurse, nurse_due_ms(&c, (uint32_t)i, 0));
  uv_prepare_start(&c.prepare, on_prepare);
  bench_io io0, io1;
  bench_vfs_counts(&io0);
  double wall0 = bench_seconds(), cpu0 = bench_cpu_seconds();
  uv_run(&c.loop, UV_RUN_DEFAULT);
  double wall = bench_seconds() - wall0, cpu = bench_cpu_seconds() - cpu0;
  bench_vfs_counts(&io1);
  bench_io io = bench_io_diff(&io1, &io0);
  vigil_stats st;
  vigil_engine_stats(c.e, &st);
  int ok = !c.failed && counts_ok(a->n, &c.heard);
  ok &= compare("internal:", "subscriber failures", 0, st.subscriber_failures);

  double raw_p99 = ms(&lim.late, 99), commit1_p99 = ms(&one.commit_s, 99);
  double late_p99 = ms(&c.late, 99), late_max = ms(&c.late, 100), alert_p99 = ms(&c.alert, 99);
  int late_met = late_p99 <= 2 * raw_p99 && late_max < 10.0;
  int alert_met = alert_p99 <= raw_p99 + commit1_p99 + 0.5;
  uint64_t fsyncs = bench_io_syncs(&io);
  printf("{\"mode\":\"m3\",\"n\":%" PRIu64 ",\"time_scale\":\"15 min = 1 s\",\"wall_ms\":%.1f,\"cpu_s\":%.3f"
         ",\"events\":%" PRIu64 ",\"events_per_s\":%.0f,\"peak_rss_kib\":%ld,\"commits\":%" PRIu64
         ",\"events_per_commit\":%.2f,\"fsyncs\":%" PRIu64 ",\"fsyncs_per_event\":%.4f"
         ",\"commit_ms_p50\":%.3f,\"commit_ms_p99\":%.3f"
         ",\"raw_libuv_lateness_ms_p50\":%.3f,\"raw_libuv_lateness_ms_p99\":%.3f,\"raw_libuv_lateness_ms_max\":%.3f"
         ",\"sqlite_commit1_ms_p50\":%.3f,\"sqlite_commit1_ms_p99\":%.3f"
         ",\"lateness_ms_p50\":%.3f,\"lateness_ms_p99\":%.3f,\"lateness_ms_max\":%.3f"
         ",\"alert_latency_ms_p50\":%.3f,\"alert_latency_ms_p99\":%.3f,\"alert_latency_ms_max\":%.3f"
         ",\"alert_after_command_ms_p50\":%.3f,\"alert_after_command_ms_p99\":%.3f"
         ",\"deadline_heard_ms_p50\":%.3f,\"deadline_heard_ms_p99\":%.3f,\"deadline_heard_ms_max\":%.3f"
         ",\"lateness_target\":\"p99 <= 2 x raw libuv p99 and max < 10 ms\",\"lateness_target_met\":%s"
         ",\"alert_target\":\"p99 <= raw libuv p99 + single-row commit p99 + 0.5 ms\",\"alert_target_met\":%s"
         ",\"alerts\":%" PRIu64 ",\"alerts_delivered\":%" PRIu64 ",\"discharged\":%" PRIu64 ",\"checksums_ok\":%s}\n",
         a->n, wall * 1e3, cpu, c.heard.events, (double)c.heard.events / wall, bench_peak_rss_kib(), c.commits,
         c.commits ? (double)c.heard.events / (double)c.commits : 0.0, fsyncs, (double)fsyncs / (double)c.heard.events,
         ms(&c.commit_s, 50), ms(&c.commit_s, 99), ms(&lim.late, 50), raw_p99, ms(&lim.late, 100),
         ms(&one.commit_s, 50), commit1_p99, ms(&c.late, 50), late_p99, late_max, ms(&c.alert, 50), alert_p99,
         ms(&c.alert, 100), ms(&c.alert_after, 50), ms(&c.alert_after, 99), ms(&c.deadline, 50), ms(&c.deadline, 99),
         ms(&c.deadline, 100), late_met ? "true" : "false", alert_met ? "true" : "false", c.heard.alerts,
         c.heard.delivered, c.heard.discharged, ok ? "true" : "false");
  bench_samples_free(&lim.late);
  bench_samples_free(&one.commit_s);
  free_rt(&c);
  return ok ? 0 : 1;
}

/* ---- M4 ------------------------------------------------------------------------- */

int mode_burst(const bench_args *a) {
  rt c;
  if (open_rt(&c, a, 1) < 0) {
    free_rt(&c);
    return 2;
  }
  /* The visits, beforehand: started and screened, 1,000 to a transaction. */
  double setup0 = bench_seconds();
  for (uint64_t i = 0; i < a->n; i++) {
    if (i % 1000 == 0) vigil_engine_begin(c.e);
    c.v[i].due_ns = uv_hrtime();
    if (do_action(&c, (uint32_t)i, DO_START) < 0) {
      free_rt(&c);
      return 2;
    }
    if ((i % 1000 == 999 || i + 1 == a->n) && vigil_engine_commit(c.e) < 0) {
      fprintf(stderr, "vigil-bench: commit: %s\n", vigil_engine_errmsg(c.e));
      free_rt(&c);
      return 2;
    }
  }
  double setup_s = bench_seconds() - setup0;
  uint64_t setup_events = c.heard.events;
  bench_samples_free(&c.late);
  memset(&c.late, 0, sizeof c.late);

  /* The burst's alerts, from the generator: its limit inserts as many rows. */
  uint64_t alerts = 0;
  for (uint64_t i = 0; i < a->n; i++)
    alerts += (uint64_t)wl_vitals_alert(wl_vitals_of((uint32_t)i, 1));
  uint64_t rows = a->n + alerts;
  raw lim = {.n = a->n, .burst = 1};
  if (run_raw(&lim) < 0) return 2;
  char path[4096];
  snprintf(path, sizeof path, "%s/burst.db", a->dir);
  sqlite_limit ins;
  if (sqlite_limit_run(path, rows, ROW_BYTES, 60.0, 1, &ins) < 0) return 2;
  double raw_ms = ((double)lim.last_ns - (double)lim.base_ms * 1e6) / 1e6;
  double sqlite_ms = ins.seconds * 1e3;

  /* Every visit's first checkpoint, due in the same millisecond. */
  uv_update_time(&c.loop);
  c.base_ms = uv_now(&c.loop) + RT_LEAD_MS;
  for (uint64_t i = 0; i < a->n; i++) {
    c.v[i].k = 1;
    c.v[i].due_ns = arm(&c.v[i].t, on_nurse, c.base_ms);
  }
  uv_prepare_start(&c.prepare, on_prepare);
  bench_io io0, io1;
  bench_vfs_counts(&io0);
  double cpu0 = bench_cpu_seconds();
  uv_run(&c.loop, UV_RUN_DEFAULT);
  double cpu = bench_cpu_seconds() - cpu0;
  bench_vfs_counts(&io1);
  bench_io io = bench_io_diff(&io1, &io0);
  double due_ns = (double)c.base_ms * 1e6;
  double done_ms = (c.last_heard_ns > 0 ? (double)c.last_heard_ns - due_ns : 0) / 1e6;
  /* Committed: the burst's commit returned (its subscribers ran inside it). */
  double committed_ms = ms(&c.late, 100) + ms(&c.commit_s, 100);
  double total_ms = done_ms > committed_ms ? done_ms : committed_ms;
  double limit_ms = raw_ms + sqlite_ms;

  wl_checksums want = {
      .events = setup_events + rows, .alerts = alerts, .alerts_delivered = 2 * alerts, .discharged = -1};
  wl_checksums got = {
      .events = c.heard.events, .alerts = c.heard.alerts, .alerts_delivered = c.heard.delivered, .discharged = -1};
  int ok = !c.failed && checksums_match("burst vs generator:", &want, &got);
  int met = total_ms <= 2.5 * limit_ms;
  printf("{\"mode\":\"m4\",\"n\":%" PRIu64 ",\"setup_s\":%.3f,\"burst_events\":%" PRIu64 ",\"commits\":%" PRIu64
         ",\"fsyncs\":%" PRIu64 ",\"cpu_s\":%.3f,\"first_done_ms\":%.3f,\"last_done_ms\":%.3f,\"commit_ms\":%.3f"
         ",\"delivered_ms\":%.3f,\"burst_ms\":%.3f,\"raw_libuv_ms\":%.3f,\"sqlite_one_transaction_ms\":%.3f"
         ",\"sqlite_rows\":%" PRIu64 ",\"limit_ms\":%.3f,\"ratio_to_limit\":%.2f"
         ",\"target\":\"burst_ms <= 2.5 x (raw libuv + SQLite alone)\",\"target_met\":%s"
         ",\"alerts\":%" PRIu64 ",\"alerts_delivered\":%" PRIu64 ",\"checksums_ok\":%s}\n",
         a->n, setup_s, c.heard.events - setup_events, c.commits, bench_io_syncs(&io), cpu, ms(&c.late, 0),
         ms(&c.late, 100), ms(&c.commit_s, 100), done_ms, total_ms, raw_ms, sqlite_ms, rows, limit_ms,
         limit_ms > 0 ? total_ms / limit_ms : 0.0, met ? "true" : "false", c.heard.alerts, c.heard.delivered,
         ok ? "true" : "false");
  bench_samples_free(&lim.late);
  bench_samples_free(&ins.commit_s);
  free_rt(&c);
  return ok ? 0 : 1;
}
