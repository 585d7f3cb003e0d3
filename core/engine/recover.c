/* recover.c: the engine's visits from its log.
 *
 * At start every open visit is folded from its events (protocol versions
 * loaded from the sources the store kept) and its deadlines are armed
 * (vigil_engine_new then says it started and fires those that passed while
 * it was down). A visit that left memory (closed, or dropped by an undo) is
 * folded again from the log and the pending events when asked for, so
 * memory never runs ahead of the disk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recover.h"
#include "model.h"
#include "clock.h"
#include "deadline.h"
#include "fail.h"
#include "protocols.h"
#include "tables.h"
#include "visit.h"
#include "base/intern.h"

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
    int prc = 0;
    protocol *p = vigil__engine_protocol_by_sha(e, val_text(*sha), &prc, f->err, sizeof f->err);
    if (!p || !(v = vigil__visit_new(e, ev->visit, p))) {
      f->rc = p || prc == VIGIL_ENOMEM ? VIGIL_ENOMEM : VIGIL_ECORRUPT;
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

int vigil__recover_log(vigil_engine *e, uint64_t *last, int *unclean, char *err, size_t errlen) {
  uint64_t last_seq, visits, alerts;
  int rc = e->store->ops->summary(e->store, &last_seq, &visits, &alerts, unclean, err, errlen);
  if (rc < 0) return rc;
  *last = last_seq;
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
  return 0;
}

int vigil__recover_visits(vigil_engine *e, uint64_t *count, char *err, size_t errlen) {
  fold f = {.e = e};
  int rc = e->store->ops->scan_open(e->store, fold_event, &f, err, errlen);
  if (rc == 0 && f.rc < 0) {
    rc = f.rc;
    snprintf(err, errlen, "%s", f.err);
  }
  if (rc < 0) return rc;
  if (e->opts.clock == VIGIL_CLOCK_SIMULATED && e->sim_now < e->time_floor) e->sim_now = e->time_floor;
  for (uint64_t i = 0; i < e->n_visits; i++)
    if (e->visits[i]) vigil__schedule_visit(e, e->visits[i]);
  *count = f.count;
  return 0;
}

/* Visit id as the log and the first n_kept pending events make it; NULL when
 * it cannot be folded now (logged; vigil__engine_visit tries again). */
static visit *refold(vigil_engine *e, uint64_t id, size_t n_kept) {
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

/* Remembers a visit an undo could not fold again. */
static void note_unfolded(vigil_engine *e, uint64_t id) {
  for (size_t i = 0; i < e->n_unfolded; i++)
    if (e->unfolded[i] == id) return;
  if (e->n_unfolded == e->cap_unfolded) {
    size_t cap = e->cap_unfolded ? e->cap_unfolded * 2 : 16;
    uint64_t *more = realloc(e->unfolded, cap * sizeof *more);
    if (!more) {
      e->unfolded_lost = 1;
      vigil__engine_log(e, VIGIL_LOG_ERROR,
                        "out of memory: visit %llu is out of memory and will not be rebuilt before a restart",
                        (unsigned long long)id);
      return;
    }
    e->unfolded = more;
    e->cap_unfolded = cap;
  }
  e->unfolded[e->n_unfolded++] = id;
}

static void forget_unfolded(vigil_engine *e, uint64_t id) {
  for (size_t i = 0; i < e->n_unfolded; i++)
    if (e->unfolded[i] == id) {
      e->unfolded[i] = e->unfolded[--e->n_unfolded];
      return;
    }
}

visit *vigil__engine_refold_dropped(vigil_engine *e, uint64_t id, size_t n_kept) {
  visit *v = refold(e, id, n_kept);
  if (v)
    forget_unfolded(e, id);
  else
    note_unfolded(e, id);
  return v;
}

int vigil__engine_refold_missing(vigil_engine *e) {
  size_t before = e->n_unfolded;
  for (size_t i = e->n_unfolded; i-- > 0;) {
    uint64_t id = e->unfolded[i];
    if (id > e->n_visits || e->visits[id - 1]) { /* undone since, or folded by a read */
      forget_unfolded(e, id);
      continue;
    }
    visit *v = refold(e, id, e->n_pending);
    if (!v) return -1; /* the store still does not answer: the rest later */
    e->visits[id - 1] = v;
    forget_unfolded(e, id);
    vigil__schedule_visit(e, v);
    if (v->status != VISIT_ACTIVE) vigil__engine_keep_closed(e, id);
  }
  if (before)
    vigil__engine_log(e, VIGIL_LOG_INFO, "rebuilt %zu visit(s) from the store: their deadlines are armed again",
                      before);
  return 0;
}

int vigil_engine_rebuild(vigil_engine *e) {
  if (e->n_unfolded) {
    if (vigil__engine_refold_missing(e) < 0)
      return vigil__engine_fail(e, VIGIL_EIO, NULL,
                                "the store does not answer: %zu visit(s) a failed write took out of memory cannot be "
                                "read back yet; try again in a few seconds",
                                e->n_unfolded);
    e->up.arm(e); /* their deadlines, which may be due before the timer's retry */
  }
  if (e->unfolded_lost)
    return vigil__engine_fail(e, VIGIL_ENOMEM, NULL,
                              "a visit left memory for want of memory and is read back only by a restart");
  return 0;
}

static int has_pending(const vigil_engine *e, uint64_t id) {
  for (size_t i = 0; i < e->n_pending; i++)
    if (e->pending[i]->visit == id) return 1;
  return 0;
}

/* Remembers that visit id is closed and in memory; the oldest closed visit
 * beyond ENGINE_CLOSED_KEPT leaves memory (the log still holds it). Only
 * called where no caller holds that visit: when another one is folded, or
 * once a closing is durable. */
void vigil__engine_keep_closed(vigil_engine *e, uint64_t id) {
  uint32_t write = e->closed_writes++;
  uint64_t old = e->closed[write % ENGINE_CLOSED_KEPT];
  e->closed[write % ENGINE_CLOSED_KEPT] = id;
  if (id <= e->n_visits && e->visits[id - 1]) e->visits[id - 1]->closed_write = write;
  if (!old || old == id) return;
  visit *v = e->visits[old - 1];
  /* Read again since (folded back from the log, which names it closed
   * anew): kept. A fold on a read names it, so its mark is its newest
   * entry; the entry leaving was written ENGINE_CLOSED_KEPT writes ago. (A
   * visit folded again by an undo, journal.c, has no mark and may leave at
   * its older entry: the log still holds it.) In constant time: a scan of
   * the ring was 1 % of the benchmark's instructions (issue 16). */
  if (v && write - v->closed_write < ENGINE_CLOSED_KEPT) return;
  /* An aborted visit with active alerts stays: they escalate and are listed (G3). */
  for (uint32_t i = 0; v && i < v->n_alerts; i++)
    if (vigil__alert_is_active(v->alerts[i])) return;
  if (v && v->status != VISIT_ACTIVE && !has_pending(e, old)) vigil__engine_drop_visit(e, v);
}

visit *vigil__engine_visit(vigil_engine *e, uint64_t id) {
  if (id < 1 || id > e->n_visits) return NULL;
  if (!e->visits[id - 1]) {
    /* Closed and left memory, or not folded again after an undo. */
    visit *v = refold(e, id, e->n_pending);
    e->visits[id - 1] = v;
    if (v) {
      /* Dropped by an undo whose fold failed: its deadlines count again. */
      forget_unfolded(e, id);
      vigil__schedule_visit(e, v);
    }
    if (v && v->status != VISIT_ACTIVE) vigil__engine_keep_closed(e, id);
  }
  return e->visits[id - 1];
}

void vigil__engine_drop_visit(vigil_engine *e, visit *v) {
  for (uint32_t i = 0; i < v->n_alerts; i++)
    if (v->alerts[i]->id <= e->cap_alerts && e->alerts[v->alerts[i]->id - 1] == v->alerts[i])
      e->alerts[v->alerts[i]->id - 1] = NULL;
  vigil__heap_remove(&e->deadlines, &v->timer);
  if (e->visits[v->id - 1] == v) e->visits[v->id - 1] = NULL;
  vigil__visit_free(e, v);
}
