/* recover.c: the engine's state from its log.
 *
 * At start every open visit is folded from its events (protocol versions
 * loaded from the sources the store kept), deadlines are re-armed, and those
 * that passed while the engine was down fire at once, in order, each saying
 * how late it is. After a failed commit, the visits it touched are folded
 * again from what is durable, so memory never runs ahead of the disk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recover.h"
#include "model.h"
#include "clock.h"
#include "course.h"
#include "engine.h"
#include "fail.h"
#include "schedule.h"
#include "tables.h"
#include "visit.h"
#include "base/intern.h"

static void ignore_problem(void *ud, const char *where, const char *message) {
  buf *b = ud;
  vigil__buf_printf(b, "%s%s: %s", b->len ? "; " : "", where, message);
}

protocol *vigil__engine_protocol_by_sha(vigil_engine *e, const char *sha256, char *err, size_t errlen) {
  for (uint32_t i = 0; i < e->n_protocols; i++)
    if (!strcmp(e->protocols[i]->sha256, sha256)) return e->protocols[i];
  char *dir;
  source_file *files;
  uint32_t n;
  if (e->store->ops->get_protocol(e->store, sha256, &dir, &files, &n, err, errlen) < 0) return NULL;
  buf problems;
  vigil__buf_init(&problems);
  protocol *p = vigil__protocol_load_stored(dir, files, n, e->opts.lua_memory_cap, e->opts.lua_instruction_budget,
                                            ignore_problem, &problems);
  if (!p)
    snprintf(err, errlen, "the stored protocol %s does not load: %s", sha256, problems.p ? problems.p : "");
  else if (strcmp(p->sha256, sha256) != 0) {
    snprintf(err, errlen, "the stored protocol %s does not match its fingerprint", sha256);
    vigil__protocol_free(p);
    p = NULL;
  } else if (vigil__engine_add_protocol(e, p) < 0) {
    snprintf(err, errlen, "out of memory");
    p = NULL;
  }
  vigil__buf_free(&problems);
  free(dir);
  return p;
}

typedef struct fold {
  vigil_engine *e;
  visit *only; /* folding one visit */
  uint64_t only_id;
  uint64_t count;
  int rc;
  char err[1024];
} fold;

/* Applies one stored event to its visit, creating the visit at its start. */
static int fold_event(void *ud, const vigil_event *ev) {
  fold *f = ud;
  vigil_engine *e = f->e;
  if (ev->time > e->time_floor) e->time_floor = ev->time;
  if (!ev->visit) return 0;
  visit *v = f->only_id ? f->only : e->visits[ev->visit - 1];
  if (!v) {
    val *sha = vigil__val_get(ev->data, K(sha256));
    if (ev->type != EV_VISIT_STARTED || !sha || !val_text(*sha)) {
      f->rc = VIGIL_ECORRUPT;
      snprintf(f->err, sizeof f->err, "visit %llu has events before its start", (unsigned long long)ev->visit);
      return 1;
    }
    protocol *p = vigil__engine_protocol_by_sha(e, val_text(*sha), f->err, sizeof f->err);
    if (!p || !(v = vigil__visit_new(e, ev->visit, p))) {
      f->rc = p ? VIGIL_ENOMEM : VIGIL_ECORRUPT;
      return 1;
    }
    if (f->only_id)
      f->only = v;
    else
      e->visits[ev->visit - 1] = v;
    f->count++;
  }
  vigil__visit_apply(e, v, ev);
  if (e->oom) {
    /* The visit would be missing part of this event: the fold fails. */
    e->oom = 0;
    f->rc = VIGIL_ENOMEM;
    snprintf(f->err, sizeof f->err, "out of memory applying event %llu", (unsigned long long)ev->seq);
    return 1;
  }
  return 0;
}

static int note_time(void *ud, const vigil_event *ev) {
  vigil_engine *e = ud;
  if (ev->time > e->time_floor) e->time_floor = ev->time;
  return 0;
}

int vigil__engine_recover(vigil_engine *e, char *err, size_t errlen) {
  uint64_t last_seq, visits, alerts;
  int unclean;
  int rc = e->store->ops->summary(e->store, &last_seq, &visits, &alerts, &unclean, err, errlen);
  if (rc < 0) return rc;
  e->seq = e->durable_seq = last_seq;
  if (vigil__engine_grow_visits(e, visits) < 0 || vigil__engine_grow_alerts(e, alerts) < 0) {
    snprintf(err, errlen, "out of memory");
    return VIGIL_ENOMEM;
  }
  e->n_visits = e->durable_visits = visits;
  e->n_alerts = e->durable_alerts = alerts;
  if (last_seq == 0) return 0; /* a new store: nothing to recover, nothing to say */
  /* G11 (docs/safety.md): time resumes no earlier than the newest event (the
   * last one, and every one folded below): a simulated clock started from
   * wall time, or a real one set back, would otherwise stamp new readings
   * older than stored ones and restart the phases' timers. */
  if ((rc = e->store->ops->scan(e->store, last_seq - 1, 0, note_time, e, err, errlen)) < 0) return rc;
  int64_t clock = e->opts.clock == VIGIL_CLOCK_SIMULATED ? e->sim_now : vigil__engine_now(e);
  if (clock < e->time_floor) {
    vigil__engine_log(
        e, VIGIL_LOG_WARN, "the %s clock is %lld s behind the newest stored event: time resumes from that event",
        e->opts.clock == VIGIL_CLOCK_SIMULATED ? "simulated" : "system", (long long)((e->time_floor - clock) / 1000));
    if (e->opts.clock == VIGIL_CLOCK_SIMULATED) e->sim_now = e->time_floor;
  }
  /* The patients' courses first: a visit's rules may read its course. */
  if ((rc = vigil__courses_fold(e, 0, err, errlen)) < 0) return rc;

  fold f = {.e = e};
  rc = e->store->ops->scan_open(e->store, fold_event, &f, err, errlen);
  if (rc == 0 && f.rc < 0) {
    rc = f.rc;
    snprintf(err, errlen, "%s", f.err);
  }
  if (rc < 0) return rc;
  if (e->opts.clock == VIGIL_CLOCK_SIMULATED && e->sim_now < e->time_floor) e->sim_now = e->time_floor;
  for (uint64_t i = 0; i < e->n_visits; i++)
    if (e->visits[i]) vigil__schedule_visit(e, e->visits[i]);
  /* A reader shows the log as it is: it says nothing and decides nothing. */
  if (e->opts.read_only) return 0;
  /* Say that the engine started, and how the last run ended. */
  val data = vigil__val_recordv(3, vigil__intern("unclean"), val_bool(unclean), vigil__intern("visits"),
                                val_num((double)f.count), K(version), val_atom(vigil__intern(VIGIL_VERSION_STRING)));
  if (!vigil__emit(e, NULL, EV_ENGINE_STARTED, K(vigil), data)) return VIGIL_ENOMEM;
  if ((rc = vigil_engine_commit(e)) < 0) {
    snprintf(err, errlen, "%s", vigil_engine_errmsg(e));
    return rc;
  }
  vigil__engine_log(e, VIGIL_LOG_INFO, "recovered %llu open visits from %llu events%s", (unsigned long long)f.count,
                    (unsigned long long)last_seq, unclean ? " after an unclean stop" : "");
  /* What fell due while the engine was down fires now, in order. */
  heap_entry *h;
  int64_t now = vigil__engine_now(e);
  while ((h = vigil__deadline_min(e)) && h->due <= now)
    if (vigil__deadline_tick(e, h) < 0) {
      snprintf(err, errlen, "out of memory firing the deadlines that passed");
      return VIGIL_ENOMEM;
    }
  if ((rc = vigil_engine_commit(e)) < 0) snprintf(err, errlen, "%s", vigil_engine_errmsg(e));
  return rc;
}

engine_mark vigil__engine_mark(const vigil_engine *e) {
  return (engine_mark){.n_pending = e->n_pending, .seq = e->seq, .n_visits = e->n_visits, .n_alerts = e->n_alerts};
}

visit *vigil__engine_refold(vigil_engine *e, uint64_t id, size_t n_kept) {
  fold f = {.e = e, .only_id = id};
  char err[1024];
  int rc = id <= e->durable_visits ? e->store->ops->scan(e->store, 0, id, fold_event, &f, err, sizeof err) : 0;
  for (size_t i = 0; rc == 0 && f.rc == 0 && i < n_kept; i++)
    if (e->pending[i]->visit == id) fold_event(&f, e->pending[i]);
  if (rc < 0 || f.rc < 0) {
    vigil__engine_log(e, VIGIL_LOG_ERROR, "cannot rebuild visit %llu: %s", (unsigned long long)id,
                      rc < 0 ? err : f.err);
    if (f.only) vigil__visit_free(e, f.only);
    return NULL;
  }
  return f.only;
}

void vigil__engine_undo(vigil_engine *e, const engine_mark *m) {
  if (m->n_pending > e->n_pending) return; /* committed meanwhile: nothing of the command is pending */
  int courses = 0;                         /* a course event is undone: the courses are folded again */
  for (size_t i = m->n_pending; i < e->n_pending; i++)
    courses |= vigil__is_course_event(e->pending[i]);
  /* The visits the lost events touched leave memory (without allocating:
   * this runs when memory is short), and alerts raised since never existed. */
  for (size_t i = m->n_pending; i < e->n_pending; i++) {
    uint64_t id = e->pending[i]->visit;
    visit *v = id && id <= e->n_visits ? e->visits[id - 1] : NULL;
    if (v) vigil__engine_drop_visit(e, v);
  }
  for (uint64_t id = m->n_alerts + 1; id <= e->n_alerts; id++)
    e->alerts[id - 1] = NULL;
  for (uint64_t id = m->n_visits + 1; id <= e->n_visits; id++)
    if (e->visits[id - 1]) vigil__engine_drop_visit(e, e->visits[id - 1]); /* made, its start not emitted */
  e->seq = m->seq;
  e->n_visits = m->n_visits;
  e->n_alerts = m->n_alerts;
  /* Each touched visit folded again (once: a folded one is in e->visits). */
  for (size_t i = m->n_pending; i < e->n_pending; i++) {
    uint64_t id = e->pending[i]->visit;
    if (!id || id > e->n_visits || e->visits[id - 1]) continue;
    int oom = e->oom;
    e->oom = 0;
    visit *v = vigil__engine_refold(e, id, m->n_pending);
    e->oom = oom;
    e->visits[id - 1] = v;
    if (v) vigil__schedule_visit(e, v);
  }
  if (courses) {
    char err[1024];
    int oom = e->oom;
    if (vigil__courses_fold(e, m->n_pending, err, sizeof err) < 0) {
      vigil__engine_log(e, VIGIL_LOG_ERROR, "cannot rebuild the courses: %s", err);
      e->courses_stale = 1;
    } else {
      e->courses_stale = 0;
    }
    e->oom = oom;
  }
  for (size_t i = m->n_pending; i < e->n_pending; i++) {
    vigil__event_clear(e->pending[i]);
    free(e->pending[i]);
  }
  e->n_pending = m->n_pending;
}

void vigil__engine_rollback(vigil_engine *e) {
  /* Everything not durable goes: the mark of the last commit. */
  engine_mark durable = {
      .n_pending = 0, .seq = e->durable_seq, .n_visits = e->durable_visits, .n_alerts = e->durable_alerts};
  vigil__engine_undo(e, &durable);
}
