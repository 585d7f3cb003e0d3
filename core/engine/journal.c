/* journal.c: the events not yet durable, and what becomes of them.
 *
 * Emitted events wait in e->pending (emit.c). A command takes a mark when it
 * begins; undoing to it forgets every event emitted since and folds the
 * visits they touched again (command.c, a deadline's firing, a course
 * alert's close: each all or nothing). A commit runs the protocols' hooks on
 * the batch and appends it, with what they added, to the store in one
 * transaction; only then are its events published to the bus; a failed
 * append rolls back to the last commit. A command a subscriber issues while
 * it hears them commits itself at once, and is heard after them (flush).
 *
 * The journal sits below what decides: it calls up only through e->up,
 * which vigil_engine_new sets (the courses folded again after an undo that
 * took course events away, course.c; the timer armed after a commit,
 * schedule.c), as libuv's handles call their callbacks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "model.h"
#include "bus.h"
#include "clock.h"
#include "deadline.h"
#include "evaluate.h"
#include "fail.h"
#include "lifetime.h"
#include "recover.h"

engine_mark vigil__engine_mark(const vigil_engine *e) {
  return (engine_mark){.n_pending = e->n_pending, .seq = e->seq, .n_visits = e->n_visits, .n_alerts = e->n_alerts};
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
    /* When the store cannot be read (the outage that failed the commit),
     * the visit is remembered and folded again once it answers. */
    visit *v = vigil__engine_refold_dropped(e, id, m->n_pending);
    e->oom = oom;
    e->visits[id - 1] = v;
    if (v) vigil__schedule_visit(e, v);
  }
  if (courses) {
    char err[1024];
    int oom = e->oom;
    if (e->up.fold_courses(e, m->n_pending, err, sizeof err) < 0) {
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

/* After a failed append: forget what was not made durable. */
static void rollback(vigil_engine *e) {
  /* Everything not durable goes: the mark of the last commit. */
  engine_mark durable = {
      .n_pending = 0, .seq = e->durable_seq, .n_visits = e->durable_visits, .n_alerts = e->durable_alerts};
  vigil__engine_undo(e, &durable);
}

static void free_event(vigil_event *ev) {
  vigil__event_clear(ev);
  free(ev);
}

/* Runs the protocol's hooks on the pending events and appends them, with
 * what the hooks added, to the store in one transaction. Durable, they wait
 * in e->unpublished for flush to publish them. 0; or the failure, reported
 * as the call's own (vigil__engine_fail), and nothing of it kept. */
static int commit_pending(vigil_engine *e) {
  if (!e->n_pending) return 0;
  char err[1024];
  /* The protocol's hooks hear the events before they are stored, and what
   * they add is stored with them, in the same transaction: a hook's note
   * or alert that cannot be made (out of memory) fails the commit as its
   * cause's own events would, instead of being lost once its cause was
   * durable (an overdue hook's note dropped). Hooks see the visit as
   * they did after the commit: every event of the batch folded. */
  /* A commit outside a command (a deadline's) runs its hooks under one
   * budget, as a command does (AC3). */
  int pool = vigil__lua_pool_arm(e);
  for (size_t i = 0; i < e->n_pending && !e->oom; i++)
    vigil__eval_hooks(e, e->pending[i]);
  vigil__lua_pool_disarm(e, pool);
  size_t n = e->n_pending;
  int failed = 0;
  if (e->oom) {
    /* Something emitted outside a command (a hook) lost an event: none of
     * it is stored, as for a failed commit. */
    e->oom = 0;
    failed = VIGIL_ENOMEM;
    snprintf(err, sizeof err, "out of memory making events");
  } else if (e->cap_unpublished - e->n_unpublished < n) {
    /* Room to wait in once durable, made before: nothing durable is dropped. */
    size_t cap = e->n_unpublished + n < 64 ? 64 : 2 * (e->n_unpublished + n);
    vigil_event **grown = realloc(e->unpublished, cap * sizeof *grown);
    if (grown) {
      e->unpublished = grown;
      e->cap_unpublished = cap;
    } else {
      failed = VIGIL_ENOMEM;
      snprintf(err, sizeof err, "out of memory committing events");
    }
  }
  if (!failed) {
    vigil_event **batch = e->unpublished + e->n_unpublished;
    memcpy(batch, e->pending, n * sizeof *batch);
    err[0] = 0;
    failed = e->store->ops->append(e->store, batch, n, err, sizeof err);
    /* A store that fails for want of memory may have no words left for it. */
    if (failed < 0 && !err[0])
      snprintf(err, sizeof err, "%s",
               failed == VIGIL_ENOMEM ? "out of memory recording events" : "cannot record events");
  }
  if (failed < 0) {
    e->stats.write_failures++;
    vigil__engine_log(e, VIGIL_LOG_ERROR, "%s%s", e->publishing ? "a command from a subscriber: " : "", err);
    int rc = vigil__engine_fail(e, failed, NULL, "%s; nothing was recorded", err);
    rollback(e);
    /* With the real clock, deadlines whose events could not be stored are
     * due again at once: wait before trying, longer each time. */
    e->retry_ms = e->retry_ms ? (e->retry_ms * 2 > 30000 ? 30000 : e->retry_ms * 2) : 1000;
    e->retry_at = vigil__engine_now(e) + e->retry_ms;
    return rc;
  }
  e->stats.writes++;
  e->retry_ms = 0;
  e->n_pending = 0;
  e->n_unpublished += n;
  if (e->n_unfolded) vigil__engine_refold_missing(e); /* the store answers again */
  e->durable_seq = e->unpublished[e->n_unpublished - 1]->seq;
  e->durable_visits = e->n_visits;
  e->durable_alerts = e->n_alerts;
  e->stats.events += n;
  return 0;
}

/* The commit, then the publishing of what it made durable.
 *
 * A command that a subscriber issues while it hears an event (the seventh
 * review's item 1, docs/reviews/architecture.md) is committed at once, in its own transaction, and
 * answers for itself: 0 only once its events are durable, else the store's
 * failure and nothing of it kept. Its events are heard after the events
 * being published, in their order. (Its events used to wait for the loop
 * below and answer 0: a later failure was only logged, and an entry the
 * embedder had been told was recorded was lost.) */
static int flush(vigil_engine *e) {
  if (e->publishing) return commit_pending(e);
  e->publishing = 1;
  int rc = commit_pending(e);
  /* By index, re-read each time: a subscriber's command appends to the
   * array (and may move it) while it is walked. */
  for (size_t i = 0; i < e->n_unpublished && !e->free_when_done;
       i++) { /* freed by a subscriber: heard by no one else */
    /* Its JSON built at most once, by the first subscriber that reads it,
     * through the event the journal lends for its publishing (a database's
     * append built it already); a subscriber that never reads it costs no
     * serialising. */
    vigil_event *ev = e->unpublished[i];
    ev->lent = ev;
    vigil__bus_publish(e, ev);
    ev->lent = NULL;
  }
  for (size_t i = 0; i < e->n_unpublished; i++) {
    vigil_event *ev = e->unpublished[i];
    if (ev->type == EV_VISIT_DISCHARGED || ev->type == EV_VISIT_ABORTED) vigil__engine_keep_closed(e, ev->visit);
    free_event(ev); /* every store keeps its own copy */
  }
  e->n_unpublished = 0;
  e->publishing = 0;
  e->up.arm(e); /* the timer, for the earliest deadline now (schedule.c) */
  return rc;
}

void vigil_engine_begin(vigil_engine *e) { e->batch++; }

int vigil_engine_commit(vigil_engine *e) {
  int here = vigil__engine_here(e);
  if (here < 0) return here;
  if (e->batch > 0) e->batch--;
  if (e->batch) return 0;
  vigil__engine_enter(e); /* a subscriber may free it (lifetime.h) */
  return vigil__engine_leave(e, flush(e));
}

int vigil__journal_done(vigil_engine *e) { return e->batch ? 0 : flush(e); }
