/* schedule.c: what happens when a visit's deadline is reached (when it is
 * due is deadline.c's), and the clocks that reach them: the loop's timer and
 * the simulated clock (which fires after a commit what the commit made due,
 * as the timer would).
 *
 * What a deadline decides is an event (overdue, or not applicable when the
 * item's `when` did not hold), so a restart never decides it again on a
 * later state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schedule.h"
#include "model.h"
#include "alerts.h"
#include "clock.h"
#include "course.h"
#include "deadline.h"
#include "recover.h"
#include "emit.h"
#include "evaluate.h"
#include "fail.h"
#include "lifetime.h"
#include "journal.h"
#include "prescription.h"
#include "visit.h"
#include "base/intern.h"

/* K8 in docs/safety.md: the phase's checkpoints were missed unmonitored_after
 * times in a row. An abandoned visit would write overdue events and alerts
 * every few minutes for ever; instead its schedule stops (vigil__deadline_next) and
 * one high alert says so, escalating as alerts do, until an entry resumes it. */
static void fire_unmonitored(vigil_engine *e, visit *v) {
  const phase_spec *ph = &v->p->phases[v->phase];
  char key[300], msg[1600], title[1024], since[32];
  time_t t = (time_t)(v->documented_at / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(since, sizeof since, "%Y-%m-%d %H:%M", &tm);
  snprintf(key, sizeof key, "unmonitored:%s", ph->id);
  const char *k = vigil__intern(key);
  if (!k) {
    e->oom = 1;
    return;
  }
  for (uint32_t i = 0; i < v->n_alerts; i++)
    if (v->alerts[i]->key == k && !v->alerts[i]->acked && !v->alerts[i]->cleared) return; /* still on screen */
  snprintf(msg, sizeof msg,
           "No readings recorded since %s UTC (%s: %u checkpoints missed in a row): monitoring stopped being "
           "documented; its overdue alerts stop until the next entry",
           since, vigil__visit_text(v, ph->title, title, sizeof title), v->missed_run);
  vigil__raise_alert(e, v, SRC_PHASE, ph->id, k, PRIORITY_HIGH, msg, v->p->latching, v->p->escalate, -1, NULL);
}

/* Every item of the phase whose overdue deadline is d->at goes overdue (or is
 * passed over when its `when` does not hold) now. The items due at one
 * checkpoint that go overdue together are one alert (H2 in docs/safety.md):
 * one banner, one acknowledgement, one escalation, at the highest priority,
 * the shortest escalation and latching if any of theirs is. */
static void fire_overdue(vigil_engine *e, visit *v, const deadline *d, int64_t now) {
  const phase_spec *ph = &v->p->phases[v->phase];
  int group[256];
  int n = 0;
  uint64_t follows = 0; /* the acknowledged overdue alert this one announces again */
  int stopped = 0;      /* this checkpoint is the last the schedule makes overdue (K8) */
  for (uint16_t j = 0; j < ph->n_items; j++) {
    const item_spec *it = &v->p->items[ph->first_item + j];
    uint32_t k = 0;
    if (vigil__deadline_overdue_at(v, it, &k) != d->at) continue;
    int64_t due = d->at - it->sched.grace;
    if (!vigil__eval_when(e, v, it)) {
      /* It does not apply now: nothing is overdue. Said in an event, as is
       * every decision, for the fold to pass this occurrence over (visit.c). */
      vigil__emit(
          e, v, EV_ITEM_NOT_APPLICABLE, K(vigil),
          vigil__val_recordv(3, K(item), val_atom(it->qid), K(occurrence), val_num(k), K(due), val_num((double)due)));
      continue;
    }
    val data = vigil__val_recordv(4, K(item), val_atom(it->qid), K(occurrence), val_num(k), K(due),
                                  val_num((double)due), K(late_ms), val_num((double)(now - d->at)));
    if (!vigil__emit(e, v, EV_ITEM_OVERDUE, K(vigil), data)) return;
    if (vigil__unmonitored(v)) stopped = 1;
    /* Still unresolved from an earlier occurrence: that alert stands for it,
     * unless it was acknowledged. An acknowledgement covers the checkpoints
     * missed so far, not the next one (F6 in docs/safety.md: an hour without
     * monitoring after one acknowledgement raised nothing). */
    alert *open = vigil__overdue_alert(v, it->index);
    if ((!open || open->acked) && n < (int)(sizeof group / sizeof group[0])) {
      group[n++] = it->index;
      if (open && !follows) follows = open->id;
    }
  }
  if (stopped) fire_unmonitored(e, v);
  if (n == 0) return;
  const item_spec *first = &v->p->items[group[0]];
  int64_t due = d->at - first->sched.grace;
  long long minutes = (long long)((due - vigil__phase_clock(v)) / 60000);
  /* Titles that quote a param ({dose_mg_per_kg}) say the visit's value (F8). */
  char phase_title[1024], title[1024];
  const char *ph_title = vigil__visit_text(v, ph->title, phase_title, sizeof phase_title);
  alert_more more = {.items = group, .n_items = n, .follows = follows};
  if (n == 1) {
    char msg[2200];
    snprintf(msg, sizeof msg, "%s overdue: due %lld min into %s",
             vigil__visit_text(v, first->title, title, sizeof title), minutes, ph_title);
    vigil__raise_alert(e, v, SRC_OVERDUE, first->qid, first->overdue_key, first->overdue_priority, msg,
                       first->overdue_latching, first->overdue_escalate, first->index, &more);
    return;
  }
  buf msg, key;
  vigil__buf_init(&msg);
  vigil__buf_init(&key);
  vigil__buf_printf(&msg, "Checkpoint at %lld min into %s overdue: ", minutes, ph_title);
  vigil__buf_puts(&key, first->overdue_key);
  priority prio = first->overdue_priority;
  int latching = first->overdue_latching;
  int64_t escalate = first->overdue_escalate;
  for (int i = 0; i < n; i++) {
    const item_spec *it = &v->p->items[group[i]];
    vigil__buf_printf(&msg, "%s%s", i ? ", " : "", vigil__visit_text(v, it->title, title, sizeof title));
    if (i) vigil__buf_printf(&key, "+%s", it->id);
    if (it->overdue_priority > prio) prio = it->overdue_priority;
    latching |= it->overdue_latching;
    if (it->overdue_escalate > 0 && (escalate <= 0 || it->overdue_escalate < escalate)) escalate = it->overdue_escalate;
  }
  char *m = vigil__buf_take(&msg), *k = vigil__buf_take(&key);
  const char *ik = k ? vigil__intern(k) : NULL;
  if (m && ik)
    vigil__raise_alert(e, v, SRC_OVERDUE, first->qid, ik, prio, m, latching, escalate, first->index, &more);
  else
    e->oom = 1; /* the overdue alert cannot be made: the firing is undone and tried again */
  free(m);
  free(k);
}

static void fire_maximum(vigil_engine *e, visit *v) {
  const phase_spec *ph = &v->p->phases[v->phase];
  char key[300], msg[1200];
  snprintf(key, sizeof key, "duration:%s", ph->id);
  char title[1024];
  snprintf(msg, sizeof msg, "%s has passed its maximum duration of %lld min",
           vigil__visit_text(v, ph->title, title, sizeof title), (long long)(ph->max / 60000));
  const char *k = vigil__intern(key);
  if (!k) {
    e->oom = 1; /* the firing is undone and tried again (visit_tick) */
    return;
  }
  vigil__raise_alert(e, v, SRC_PHASE, ph->id, k, PRIORITY_MEDIUM, msg, v->p->latching, v->p->escalate, -1, NULL);
}

/* Escalation re-notifies and raises the level (who is told); it raises the
 * priority a step only when the protocol says so (escalation_raises_priority). */
static void fire_escalation(vigil_engine *e, visit *v, alert *a) {
  priority prio = a->prio;
  if (v->p->escalation_raises_priority && prio < PRIORITY_HIGH) prio = (priority)(prio + 1);
  val data = vigil__val_recordv(3, K(alert), val_num((double)a->id), K(level), val_num(a->level + 1), K(priority),
                                val_atom(vigil__priority_atom(prio)));
  vigil__emit(e, v, EV_ALERT_ESCALATED, K(vigil), data);
}

/* AN11 (docs/safety.md): acknowledged alert a's cause still holds the
 * protocol's realert_after after the acknowledgement: it is raised again, a
 * new active alert that follows it (as a worse reading's does, H1), saying
 * what it is, when and by whom it was acknowledged and how many times it has
 * come back; from the protocol's realert_clinician on, only a clinician
 * acknowledges it, with a reason. It escalates as any alert; the
 * acknowledged one stays until its cause clears, and both resolve then. */
static void fire_realert(vigil_engine *e, visit *v, const alert *a) {
  static const char mark[] = " [acknowledged at ";
  const char *said = a->latest ? a->latest : a->message; /* what its rule says now (G7) */
  const char *cut = strstr(said, mark);                  /* raised again before: its first words */
  int len = cut ? (int)(cut - said) : (int)strlen(said);
  uint32_t n = a->realert + 1;
  int clinician = v->p->realert_clinician > 0 && n >= v->p->realert_clinician;
  char when[32], msg[2400], times[32] = "";
  time_t t = (time_t)(a->acked_at / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(when, sizeof when, "%H:%M UTC", &tm);
  if (n > 1) snprintf(times, sizeof times, " (%u times running)", (unsigned)n);
  snprintf(msg, sizeof msg, "%.*s%s%s by %s, still so %lld min later: raised again%s%s]", len, said, mark, when,
           a->acked_by ? a->acked_by : "?", (long long)((vigil__engine_now(e) - a->acked_at) / 60000), times,
           clinician ? "; a clinician acknowledges it, with a reason" : "");
  int items[256];
  int n_items = 0;
  for (uint32_t i = 0; i < a->n_items && n_items < (int)(sizeof items / sizeof items[0]); i++)
    items[n_items++] = a->items[i];
  alert_more more = {.has_value = a->has_value && !a->value_text,
                     .value = a->value,
                     .value_text = a->value_text,
                     .follows = a->id,
                     .items = items,
                     .n_items = n_items,
                     .phase = a->phase != v->phase ? v->p->phases[a->phase].id : NULL,
                     .realert = n,
                     .clinician = clinician,
                     .latch = a->latch ? 1 : -1};
  vigil__raise_alert(e, v, a->source, a->rule, a->key, a->prio, msg, a->latching, a->escalate_ms, a->item, &more);
}

/* Handles every deadline of v that is due at engine time, in order. */
static int visit_tick(vigil_engine *e, visit *v) {
  int64_t now = vigil__engine_now(e);
  /* A deadline's firing is all or nothing, as a command is (command.c). */
  engine_mark mark = vigil__engine_mark(e);
  int oom = e->oom;
  e->oom = 0;
  /* One budget for the calls into Lua of this visit's deadlines (AC3). */
  int pool = vigil__lua_pool_arm(e);
  /* Bounded: each step moves some deadline forward, but a protocol bug must
   * not hang the engine. */
  for (int guard = 0; guard < 10000 && !e->oom; guard++) {
    deadline d = vigil__deadline_next(v);
    if (d.kind == DL_NONE || d.at > now) break;
    switch (d.kind) {
    case DL_OVERDUE:
      fire_overdue(e, v, &d, now);
      break;
    case DL_MINIMUM:
      vigil__emit(e, v, EV_PHASE_MINIMUM_REACHED, K(vigil),
                  vigil__val_recordv(1, K(phase), val_atom(v->p->phases[v->phase].id)));
      break;
    case DL_MAXIMUM:
      fire_maximum(e, v);
      break;
    case DL_ESCALATE:
      fire_escalation(e, v, d.alert);
      break;
    case DL_REALERT:
      fire_realert(e, v, d.alert);
      break;
    case DL_NONE:
      break;
    }
  }
  if (e->oom) {
    vigil__engine_log(e, VIGIL_LOG_ERROR, "out of memory firing a deadline of visit %llu: tried again later",
                      (unsigned long long)v->id);
    vigil__lua_pool_disarm(e, pool);
    vigil__engine_undo(e, &mark); /* v is folded again: do not touch it */
    e->oom = oom;
    return VIGIL_ENOMEM;
  }
  vigil__lua_pool_disarm(e, pool);
  e->oom = oom;
  vigil__schedule_visit(e, v);
  return 0;
}

/* ---- the clocks ---------------------------------------------------------- */

int vigil__deadline_tick(vigil_engine *e, heap_entry *h) {
  return h == heap_min(&e->course_deadlines) ? vigil__course_tick(e, (course *)h) : visit_tick(e, (visit *)h);
}

/* Visits a failed commit dropped while the store could not be read are
 * folded again first: their deadlines, due meanwhile, fire late, not never
 * (issue 17's try, finding 1). While the store still does not answer, wait
 * as after a failed commit. */
static int refold_missing(vigil_engine *e, int64_t now) {
  if (!e->n_unfolded || vigil__engine_refold_missing(e) == 0) return 0;
  e->retry_ms = e->retry_ms ? (e->retry_ms * 2 > 30000 ? 30000 : e->retry_ms * 2) : 1000;
  e->retry_at = now + e->retry_ms;
  return -1;
}

/* 0, or VIGIL_ENOMEM when a deadline could not be fired. */
static int fire_due(vigil_engine *e) {
  int64_t now = vigil__engine_now(e);
  heap_entry *h;
  if (refold_missing(e, now) < 0) return 0; /* said; tried again at the retry */
  while ((h = vigil__deadline_min(e)) && h->due <= now)
    if (vigil__deadline_tick(e, h) < 0) {
      /* Out of memory: the same deadline is due again at once; wait as after
       * a failed commit. */
      e->retry_ms = e->retry_ms ? (e->retry_ms * 2 > 30000 ? 30000 : e->retry_ms * 2) : 1000;
      e->retry_at = now + e->retry_ms;
      return VIGIL_ENOMEM;
    }
  return 0;
}

int vigil_engine_fire_due(vigil_engine *e) {
  int here = vigil__engine_here(e);
  if (here < 0) return here;
  vigil__engine_enter(e); /* a subscriber may free it (lifetime.h) */
  int rc = fire_due(e) < 0
               ? vigil__engine_fail(e, VIGIL_ENOMEM, NULL, "out of memory firing a deadline; it is due again")
               : vigil__journal_done(e);
  return vigil__engine_leave(e, rc);
}

static void on_timer(uv_timer_t *t) {
  vigil_engine *e = t->data;
  vigil__engine_enter(e); /* a subscriber may free it (lifetime.h) */
  (void)fire_due(e);      /* out of memory: said by the retry's wait */
  vigil_engine_commit(e);
  vigil__engine_leave(e, 0);
}

int vigil__clock_timer(vigil_engine *e) {
  if (e->opts.clock != VIGIL_CLOCK_REAL || !e->loop || e->uv_timer) return 0;
  uv_timer_t *t = malloc(sizeof *t);
  if (!t)
    return vigil__engine_fail(e, VIGIL_ENOMEM, NULL,
                              "out of memory making the engine's timer; nothing of this command was recorded");
  int rc = uv_timer_init(e->loop, t);
  if (rc < 0) {
    free(t);
    return vigil__engine_fail(e, VIGIL_EIO, NULL, "cannot make the engine's timer: %s", uv_strerror(rc));
  }
  t->data = e;
  e->uv_timer = t;
  return 0;
}

/* The simulated clock has no timer and moves only when told to: a deadline
 * a commit made due now (a course's close frees another course's
 * missed-session alert, docs/safety.md AD1) fires after that commit, as the
 * real clock's timer fires it at once, not at the clock's next move. Not
 * inside itself (its own commit arms again), not after a failure the clock
 * waits on (retry_ms: a failed commit, or out of memory firing; the next
 * commit that succeeds tries again), and not inside vigil_engine_open: what
 * fell due while the engine was down waits for the first move or command,
 * when the embedder's subscribers can hear it. */
static void sim_fire_due(vigil_engine *e) {
  if (!e->opened || e->sim_firing || e->retry_ms || e->free_when_done) return;
  heap_entry *h = vigil__deadline_min(e);
  if (!h || h->due > vigil__engine_now(e)) return;
  vigil__engine_enter(e); /* a subscriber may free it (lifetime.h) */
  e->sim_firing = 1;
  (void)fire_due(e);
  (void)vigil__journal_done(e); /* its failure is the engine's error, as the timer's */
  e->sim_firing = 0;
  vigil__engine_leave(e, 0);
}

void vigil__clock_arm(vigil_engine *e) {
  if (e->opts.clock == VIGIL_CLOCK_SIMULATED) {
    sim_fire_due(e);
    return;
  }
  if (e->opts.clock != VIGIL_CLOCK_REAL || !e->loop) return;
  heap_entry *h = vigil__deadline_min(e);
  if (!h && !e->n_unfolded) {
    if (e->uv_timer) uv_timer_stop(e->uv_timer);
    return;
  }
  if (vigil__clock_timer(e) < 0) {
    /* Only where no command came first (a restart's recovered deadlines):
     * said, and tried again at the next command. */
    vigil__engine_log(e, VIGIL_LOG_ERROR, "deadlines not armed: %s", e->errmsg);
    return;
  }
  int64_t at = h ? h->due : INT64_MAX;
  if (e->n_unfolded && at > e->retry_at) at = e->retry_at; /* visits to fold again: try then */
  if (e->retry_ms && at < e->retry_at) at = e->retry_at;   /* the store failed: give it time */
  int64_t delay = at - vigil__engine_now(e);
  uv_timer_start(e->uv_timer, on_timer, delay > 0 ? (uint64_t)delay : 0, 0);
}

int64_t vigil_engine_next_deadline(const vigil_engine *e) {
  heap_entry *h = vigil__deadline_min(e);
  return h ? h->due : INT64_MAX;
}

static int advance_to(vigil_engine *e, int64_t to) {
  if (e->opts.clock != VIGIL_CLOCK_SIMULATED)
    return vigil__engine_fail(e, VIGIL_ECLOCK, NULL, "time can be moved only on the simulated clock");
  if (to < e->sim_now) return vigil__engine_fail(e, VIGIL_EINVAL, NULL, "the simulated clock cannot go back");
  heap_entry *h;
  int rc = 0;
  refold_missing(e, e->sim_now);
  while ((h = vigil__deadline_min(e)) && h->due <= to) {
    e->sim_now = h->due;
    if ((rc = vigil__deadline_tick(e, h)) < 0)
      return vigil__engine_fail(e, rc, NULL, "out of memory firing a deadline; nothing of it was recorded");
    /* Each deadline's events are durable, and heard, at their own time. */
    if (!e->batch && (rc = vigil_engine_commit(e)) < 0) return rc;
    if (e->free_when_done) return 0; /* a subscriber freed it: nothing more */
  }
  e->sim_now = to;
  return e->batch ? 0 : vigil_engine_commit(e);
}

int vigil_engine_advance_to(vigil_engine *e, int64_t to) {
  int here = vigil__engine_here(e);
  if (here < 0) return here;
  vigil__engine_enter(e); /* a subscriber may free it (lifetime.h) */
  return vigil__engine_leave(e, advance_to(e, to));
}

static int clock_advance(vigil_engine *e, int64_t to, const char *actor) {
  int64_t from = vigil__engine_now(e);
  int rc = advance_to(e, to);
  if (rc < 0 || to <= from || e->free_when_done) return rc;
  /* L6 (docs/safety.md): the advance is an event at its end, so a restart's
   * time floor (the newest event, G11) is where the clock was moved to. */
  val data = vigil__val_recordv(2, K(from), val_num((double)from), K(by), val_num((double)(to - from)));
  const char *who = vigil__intern(actor && *actor ? actor : "vigil");
  if (!vigil__val_ok(data) || !who) {
    vigil__val_release(data);
    return vigil__engine_fail(e, VIGIL_ENOMEM, NULL, "out of memory recording the clock's advance");
  }
  if (!vigil__emit(e, NULL, EV_CLOCK_ADVANCED, who, data))
    return vigil__engine_fail(e, VIGIL_ENOMEM, NULL, "out of memory recording the clock's advance");
  return vigil__journal_done(e);
}

int vigil_engine_clock_advance(vigil_engine *e, int64_t to, const char *actor) {
  int here = vigil__engine_here(e);
  if (here < 0) return here;
  vigil__engine_enter(e);
  return vigil__engine_leave(e, clock_advance(e, to, actor));
}
