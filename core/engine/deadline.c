/* deadline.c: when things are due for a visit. Nothing here is stored or
 * decided: a visit's deadlines are computed from its state (phase entry
 * time, the schedule of each item, alerts), so after a restart folding the
 * log is enough to re-arm them all. Each visit has one entry in the
 * engine's deadline heap, at the earliest of its deadlines; what happens
 * when one is reached is schedule.c's. */
#include <stdint.h>
#include <string.h>

#include "deadline.h"
#include "model.h"
#include "fail.h"
#include "visit.h"

static uint32_t max3(uint32_t a, uint32_t b, uint32_t c) {
  uint32_t m = a > b ? a : b;
  return m > c ? m : c;
}

/* The first occurrence not yet dealt with (recorded, skipped, or passed over
 * because it did not apply). */
static uint32_t first_open(const item_state *s) { return s->sat > s->passed ? s->sat : s->passed; }

int64_t vigil__item_next_due(const visit *v, const item_spec *it, uint32_t *occurrence) {
  const item_state *s = &v->items[it->index];
  if (!it->scheduled || it->phase != v->phase || s->skipped_for_good) return -1;
  uint32_t k = first_open(s);
  int64_t due = vigil__schedule_due(&it->sched, k), clock = vigil__phase_clock(v);
  if (due < 0 || clock < 0) return -1;
  if (occurrence) *occurrence = k;
  return clock + due;
}

int64_t vigil__item_skip_occurrence(const visit *v, const item_spec *it, int64_t at) {
  uint32_t k = first_open(&v->items[it->index]);
  int64_t due, clock = vigil__phase_clock(v);
  if (vigil__schedule_due(&it->sched, k) < 0 || clock < 0) return -1;
  /* Not the next one when it is only within its grace, as a reading would:
   * a skip says why one checkpoint was not done, not the one after. */
  while ((due = vigil__schedule_due(&it->sched, k + 1)) >= 0 && clock + due <= at)
    k++;
  return k;
}

static void consider(deadline *best, int64_t at, deadline_kind kind) {
  if (at < best->at) {
    best->at = at;
    best->kind = kind;
  }
}

/* The occurrence of an item that goes overdue next. After a stopped schedule
 * (K8) the checkpoints before the entry that resumed it are passed over: the
 * one high alert said they were not documented. */
static uint32_t next_overdue(const visit *v, const item_spec *it) {
  const item_state *s = &v->items[it->index];
  uint32_t k = max3(s->sat, s->overdue, s->passed);
  int64_t due, clock = vigil__phase_clock(v);
  while (v->resumed_at && (due = vigil__schedule_due(&it->sched, k)) >= 0 &&
         clock + due + it->sched.grace <= v->resumed_at && k < UINT32_MAX)
    k++;
  return k;
}

/* Whether an alert raised later announces a's cause again already: one that
 * follows it (a worse reading, H1; the next missed checkpoint, F6; a raising
 * again, AN11), one of the same cause (K8's after a resumed schedule), or an
 * open overdue alert for one of its items. */
static int announced_again(const visit *v, uint32_t i) {
  const alert *a = v->alerts[i];
  for (uint32_t j = i + 1; j < v->n_alerts; j++) {
    const alert *b = v->alerts[j];
    if (b->follows == a->id || (b->key == a->key && b->phase == a->phase)) return 1;
    if (a->source != SRC_OVERDUE || b->source != SRC_OVERDUE || b->cleared) continue;
    for (uint32_t x = 0; x < a->n_items; x++)
      for (uint32_t y = 0; y < b->n_items; y++)
        if (a->items[x] == b->items[y]) return 1;
    if (a->item >= 0 && a->item == b->item) return 1;
  }
  return 0;
}

/* AN11 (docs/safety.md): when acknowledged alert i of v is raised again, its
 * cause still holding: the protocol's realert_after after its
 * acknowledgement; INT64_MAX: never. Its cause holds while it is not
 * resolved (a rule's alert resolves when its rule no longer says it, an
 * overdue one when its items are recorded or skipped, a phase's maximum when
 * the visit leaves the phase), and for K8's alert (monitoring no longer
 * documented) while the schedule stays stopped; meanwhile the overdue alerts
 * it stands for are not raised again. Findings (no key: a hook's, one per
 * reading) end by their acknowledgement. */
static int64_t realert_at(const visit *v, uint32_t i) {
  const alert *a = v->alerts[i];
  if (!a->acked || a->cleared || !a->key || v->p->realert_after <= 0) return INT64_MAX;
  int unmonitored = vigil__unmonitored(v);
  if (a->source == SRC_OVERDUE && unmonitored) return INT64_MAX;
  if (a->source == SRC_PHASE && !strncmp(a->key, "unmonitored:", 12) && !unmonitored) return INT64_MAX;
  if (announced_again(v, i)) return INT64_MAX;
  return a->acked_at + v->p->realert_after;
}

deadline vigil__deadline_next(const visit *v) {
  deadline best = {.at = INT64_MAX, .kind = DL_NONE};
  /* An aborted visit's active alerts escalate until acknowledged (G3 in
   * docs/safety.md): the patient is still there; nothing else is due. */
  if (v->status == VISIT_ABORTED) goto escalations;
  if (v->status != VISIT_ACTIVE) return best;
  const protocol *p = v->p;
  const phase_spec *ph = &p->phases[v->phase];
  /* P7: a phase timed from a check has nothing due before it is recorded. */
  int64_t clock = vigil__phase_clock(v);
  if (clock < 0) goto escalations;
  for (uint16_t j = 0; j < ph->n_items; j++) {
    const item_spec *it = &p->items[ph->first_item + j];
    const item_state *s = &v->items[it->index];
    if (!it->scheduled || s->skipped_for_good || vigil__unmonitored(v)) continue;
    uint32_t k = next_overdue(v, it);
    int64_t due = vigil__schedule_due(&it->sched, k);
    if (due < 0) continue;
    int64_t at = clock + due + it->sched.grace;
    if (at < best.at) {
      consider(&best, at, DL_OVERDUE);
      best.item = it;
      best.occurrence = k;
    }
  }
  if (!v->min_reached && ph->min >= 0) consider(&best, clock + ph->min, DL_MINIMUM);
  if (!v->max_alerted && ph->max >= 0) consider(&best, clock + ph->max, DL_MAXIMUM);
escalations:
  for (uint32_t i = 0; i < v->n_alerts; i++) {
    alert *a = v->alerts[i];
    /* AP3: a latched alert escalates after its cause cleared, until acknowledged. */
    if (a->acked || (a->cleared && !a->latch) || a->escalate_ms <= 0 || a->level >= ALERT_MAX_LEVEL) continue;
    int64_t at = (a->escalated_at ? a->escalated_at : a->raised_at) + a->escalate_ms;
    if (at < best.at) {
      consider(&best, at, DL_ESCALATE);
      best.alert = a;
    }
  }
  /* An aborted visit's acknowledged alerts are not raised again: the
   * monitoring has ended (its active ones escalate, G3). */
  for (uint32_t i = 0; v->status == VISIT_ACTIVE && i < v->n_alerts; i++) {
    int64_t at = realert_at(v, i);
    if (at < best.at) {
      consider(&best, at, DL_REALERT);
      best.alert = v->alerts[i];
    }
  }
  return best;
}

void vigil__schedule_visit(vigil_engine *e, visit *v) {
  int64_t at = vigil__deadline_next(v).at;
  if (at == INT64_MAX)
    vigil__heap_remove(&e->deadlines, &v->timer);
  else if (vigil__heap_set(&e->deadlines, &v->timer, at) < 0)
    vigil__engine_log(e, VIGIL_LOG_ERROR, "out of memory arming a deadline");
}

/* The overdue deadline of an item, as vigil__deadline_next computes it (-1: none). */
int64_t vigil__deadline_overdue_at(const visit *v, const item_spec *it, uint32_t *occurrence) {
  const item_state *s = &v->items[it->index];
  if (!it->scheduled || s->skipped_for_good) return -1;
  uint32_t k = next_overdue(v, it);
  int64_t due = vigil__schedule_due(&it->sched, k), clock = vigil__phase_clock(v);
  if (due < 0 || clock < 0) return -1;
  *occurrence = k;
  return clock + due + it->sched.grace;
}

/* Visits and courses have a heap each; the earliest of both fires first. */
heap_entry *vigil__deadline_min(const vigil_engine *e) {
  heap_entry *v = heap_min(&e->deadlines), *c = heap_min(&e->course_deadlines);
  return c && (!v || c->due < v->due) ? c : v;
}
