/* timeline.c: see timeline.h. */
#include "timeline.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "measure.h"

/* ---- counting subscribers -------------------------------------------------- */

static int on_any(void *ud, const vigil_event *ev) {
  counts *c = ud;
  const char *type = vigil_event_type(ev);
  c->events++;
  if (!strcmp(type, "alert.raised"))
    c->alerts++;
  else if (!strcmp(type, "visit.discharged"))
    c->discharged++;
  else if (!strcmp(type, "gate.blocked"))
    c->held++;
  return 0;
}

/* Both alert subscribers share one counter: deliveries, 2 per alert. */
static int on_alert(void *ud, const vigil_event *ev) {
  (void)ev;
  ((counts *)ud)->delivered++;
  return 0;
}

int counts_subscribe(vigil_engine *e, counts *c) {
  int rc;
  if ((rc = vigil_engine_subscribe(e, "*", on_any, c)) < 0 ||
      (rc = vigil_engine_subscribe(e, "alert.*", on_alert, c)) < 0 ||
      (rc = vigil_engine_subscribe(e, "alert.*", on_alert, c)) < 0)
    return rc;
  return 0;
}

/* ---- the timeline ------------------------------------------------------------ */

const int64_t act_offset_ms[ACT_COUNT] = {0, 1 * WL_CHECKPOINT_EVERY_MS, 2 * WL_CHECKPOINT_EVERY_MS,
                                          3 * WL_CHECKPOINT_EVERY_MS, WL_OBSERVATION_END_MS};

static int64_t act_time(const run *r, int act) {
  uint64_t i = r->cursor[act];
  return i < r->n ? SIM_ORIGIN_MS + wl_start_ms(i, r->n) + act_offset_ms[act] : INT64_MAX;
}

int next_act(const run *r, int64_t *at) {
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

int engine_error(const run *r, const char *what, uint64_t i, int rc) {
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

int do_act(run *r, int act) {
  uint64_t i = r->cursor[act]++;
  switch (act) {
  case ACT_START:
    return start_visit(r, i);
  case ACT_DISCHARGE:
    return discharge(r, i);
  default:
    return record_vitals(r, i, (uint32_t)(act - ACT_CHECKPOINT_1 + 1));
  }
}

int run_timeline(run *r, int64_t until, live_sample *sample) {
  const int64_t live_at = SIM_ORIGIN_MS + WL_SPREAD_MS;
  int open = 0;
  uint32_t in_batch = 0;
  int64_t at, batch_at = 0;
  int act, rc;
  while ((act = next_act(r, &at)) >= 0 && at <= until) {
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
    if (sample && !sample->sampled && at >= live_at) {
      if ((rc = vigil_engine_advance_to(r->e, live_at)) < 0)
        return engine_error(r, "moving the clock", r->cursor[act], rc);
      vigil_stats st;
      vigil_engine_stats(r->e, &st);
      sample->rss_live = bench_rss_bytes();
      sample->lua_bytes = st.lua_bytes;
      sample->sampled = 1;
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

wl_checksums predict(uint64_t n) {
  wl_checksums c = {.events = 0, .alerts = 0, .alerts_delivered = 0, .discharged = 0};
  for (uint64_t i = 0; i < n; i++) {
    for (uint32_t k = 1; k <= WL_CHECKPOINTS; k++)
      c.alerts += (uint64_t)wl_vitals_alert(wl_vitals_of((uint32_t)i, k));
    c.discharged += !wl_vitals_alert(wl_vitals_of((uint32_t)i, WL_CHECKPOINTS));
  }
  c.events = WL_EVENTS_PER_VISIT * n + c.alerts;
  c.alerts_delivered = 2 * c.alerts;
  return c;
}

int compare(const char *what, const char *name, uint64_t want, uint64_t got) {
  if (want == got) return 1;
  fprintf(stderr, "vigil-bench: %s %s: expected %" PRIu64 ", got %" PRIu64 "\n", what, name, want, got);
  return 0;
}

int checksums_match(const char *what, const wl_checksums *want, const wl_checksums *got) {
  int ok = compare(what, "events", want->events, got->events);
  ok &= compare(what, "alerts", want->alerts, got->alerts);
  ok &= compare(what, "alerts delivered", want->alerts_delivered, got->alerts_delivered);
  if (want->discharged >= 0) ok &= compare(what, "discharged", (uint64_t)want->discharged, (uint64_t)got->discharged);
  return ok;
}

int counts_ok(uint64_t n, const counts *c) {
  wl_checksums got = {
      .events = c->events, .alerts = c->alerts, .alerts_delivered = c->delivered, .discharged = (int64_t)c->discharged};
  wl_checksums predicted = predict(n), published;
  int ok = checksums_match("engine vs generator:", &predicted, &got);
  if (wl_expected(n, &published)) ok &= checksums_match("engine vs WORKLOAD.md:", &published, &got);
  /* Every visit ends one way or the other. */
  ok &= compare("internal:", "discharged + held vs visits", n, c->discharged + c->held);
  return ok;
}

/* ---- the store ----------------------------------------------------------------- */

int read_store(const char *db, stored *out) {
  sqlite3 *h;
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(h,
                            "SELECT coalesce(sum(visit != 0), 0), coalesce(sum(type = 'alert.raised'), 0), "
                            "coalesce(sum(type = 'visit.discharged'), 0), count(*), coalesce(max(seq), 0) FROM events",
                            -1, &st, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    out->events = (uint64_t)sqlite3_column_int64(st, 0);
    out->alerts = (uint64_t)sqlite3_column_int64(st, 1);
    out->discharged = (uint64_t)sqlite3_column_int64(st, 2);
    out->rows = (uint64_t)sqlite3_column_int64(st, 3);
    out->max_seq = (uint64_t)sqlite3_column_int64(st, 4);
    rc = SQLITE_OK;
  }
  if (rc != SQLITE_OK) fprintf(stderr, "vigil-bench: cannot read back %s: %s\n", db, sqlite3_errmsg(h));
  sqlite3_finalize(st);
  sqlite3_close(h);
  return rc == SQLITE_OK ? 0 : -1;
}
