/* late_entry.c: how the rules judge a reading that is not the patient's
 * state now (docs/safety.md G4, K4, R1, R2).
 *
 * The current state is the newest observed reading's. A reading observed
 * before it (typed late, or one series' older reading) is judged as of its
 * own time, and what the rules say of it is a finding about that reading:
 * an alert to acknowledge, never a block set or lifted, nothing resolved.
 * One exception, R1: a late entry of a phase the visit has left whose
 * readings are the newest of their items is what that phase's blocks judge,
 * as its amendment is (F4): its alerts are carried (S1), its blocks are set
 * (a low pre-dose reading entered late holds the dose, N7), none lifted; what
 * an older reading of its vitals raised, the newest resolves (S2, alerts.c).
 * Which of these holds while rules run is e->late (model.h), set here only. */
#include "late_entry.h"
#include "visit.h"

/* G4: a late entry's readings are judged by the rules. When each is the
 * newest of its item, as any entry (its alerts say when it was observed);
 * when one is not, as of its time: the view holds the readings observed up to
 * it and its time is then. A late entry of a phase the visit has left is a
 * finding too (K4), which sets its blocks when its readings are the newest
 * (R1). */
void vigil__late_entry_begin(vigil_engine *e, visit *v, const int *items, int n_items, int64_t observed_at,
                             int64_t entered_at, int left_phase, uint32_t *kept) {
  int older = 0;
  for (int k = 0; k < n_items; k++) {
    item_state *s = &v->items[items[k]];
    kept[k] = s->n;
    /* The reading this entry added: observed then, entered now. */
    for (uint32_t i = s->n; i-- > 0;)
      if (s->r[i].at == observed_at && s->r[i].recorded_at == entered_at) {
        if (i + 1 < s->n) {
          s->n = i + 1; /* the view ends at it */
          older = 1;
        }
        break;
      }
  }
  e->late = older ? LATE_FINDING : left_phase ? LATE_FINDING_HOLDS : LATE_NONE;
  e->late_at = observed_at;
  e->view_now = e->late != LATE_NONE ? observed_at : 0;
  e->late_items = items;
  e->late_kept = kept;
  e->late_n_items = n_items;
}

void vigil__late_entry_end(vigil_engine *e, visit *v, const int *items, int n_items, const uint32_t *kept) {
  e->late_at = e->view_now = 0;
  e->late = LATE_NONE;
  e->late_items = NULL;
  e->late_kept = NULL;
  e->late_n_items = 0;
  for (int k = 0; k < n_items; k++)
    v->items[items[k]].n = kept[k];
}

uint32_t vigil__late_record_n(const vigil_engine *e, const visit *v, int item) {
  for (int k = 0; k < e->late_n_items; k++)
    if (e->late_items[k] == item) return e->late_kept[k];
  return v->items[item].n;
}

/* Whether item is one of the patient's vital signs: readings of one series
 * when one rule reads several (answers, scores and signatures are each their
 * own fact, current whenever they were given). */
static int is_vitals(const visit *v, int item) { return v->p->items[item].kind == KIND_VITALS; }

void vigil__late_rule_begin(vigil_engine *e, visit *v, const rule_spec *r, int trigger, late_saved *saved) {
  saved->late = e->late;
  saved->late_at = e->late_at;
  saved->view_now = e->view_now;
  saved->on = 0;
  const reading *rd = vigil__visit_latest(v, trigger);
  if (!rd || !is_vitals(v, trigger) || r->n_on > 16) return;
  int newer = 0;
  for (uint32_t j = 0; j < r->n_on; j++) {
    const reading *other = r->on[j] != trigger && is_vitals(v, r->on[j]) ? vigil__visit_latest(v, r->on[j]) : NULL;
    /* A late reading tied with another's entered earlier is not newer (S3). */
    newer |= other && (other->at > rd->at ||
                       (other->at == rd->at && rd->at < rd->recorded_at && other->recorded_at < rd->recorded_at));
  }
  if (!newer) return;
  /* R2: the series' newest reading is another item's; this one is judged as
   * of its time, a finding (its alerts say when it was observed when it was
   * entered late, e->late_at already set). */
  for (uint32_t j = 0; j < r->n_on; j++) {
    item_state *s = &v->items[r->on[j]];
    saved->n[j] = s->n;
    if (r->on[j] == trigger || !is_vitals(v, r->on[j])) continue;
    while (s->n && s->r[s->n - 1].at > rd->at)
      s->n--;
  }
  saved->on = 1;
  e->late = LATE_FINDING;
  e->view_now = rd->at;
}

void vigil__late_rule_end(vigil_engine *e, visit *v, const rule_spec *r, const late_saved *saved) {
  if (saved->on)
    for (uint32_t j = 0; j < r->n_on; j++)
      v->items[r->on[j]].n = saved->n[j];
  e->late = saved->late;
  e->late_at = saved->late_at;
  e->view_now = saved->view_now;
}
