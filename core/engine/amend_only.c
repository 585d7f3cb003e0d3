/* amend_only.c: which recorded answers are changed only by an amendment,
 * with a reason, in the history as one (G1, U11 in docs/safety.md). */
#include <string.h>

#include "amend_only.h"
#include "course.h"
#include "visit.h"

/* Whether a block of v was set by a rule that reads item (its own rule, or a
 * rule of its phase whose `on` names it). */
static int holds_by_rule(const visit *v, int item) {
  const item_spec *it = &v->p->items[item];
  const phase_spec *ph = &v->p->phases[it->phase];
  for (uint32_t b = 0; b < v->n_blocks; b++) {
    if (!strcmp(v->blocks[b].key, it->id)) return 1;
    for (uint32_t r = 0; r < ph->n_rules; r++) {
      if (strcmp(ph->rules[r].id, v->blocks[b].key)) continue;
      for (uint32_t o = 0; o < ph->rules[r].n_on; o++)
        if (ph->rules[r].on[o] == item) return 1;
    }
  }
  return 0;
}

/* U11: an answer the protocol says cannot be skipped (the screening's
 * contraindications, the REMS form's "respiratory depression occurred") is
 * given once: changed, it is amended with a reason even when it holds
 * nothing, or a "no" on the form became "yes" with no reason and no
 * amendment in the history. So is such a score (Y1: ketamine_iv's PHQ-9,
 * whose item 9 recorded again as 0 lifted the suicide-risk assessment); a
 * score the protocol lets be skipped is scored again (the discharge's
 * Aldrete). A check is not one (G1): its false is "not yet" (the ride is not
 * here), true is the thing done, and false after it is news (the ride
 * cancelled), a new reading; but see dose_said_given. */
static int one_off_answer(const item_spec *it) {
  return !it->skippable &&
         (it->kind == KIND_CHOICE || it->kind == KIND_NUMBER || it->kind == KIND_TEXT || it->kind == KIND_SCORE);
}

/* AI5, AL5: a check of its course's dose_given items (the infusion started,
 * the devices administered) whose latest answer is yes. A dose given is not
 * undone: a "no" after it is not news but a correction of the record (the
 * REMS form's dosed_at was emptied by a late entry), so it is an amendment
 * with a reason, a clinician's (P1); a "no" before it is still "not yet". */
static int dose_said_given(const visit *v, int item) {
  if (v->p->items[item].kind != KIND_CHECK || !vigil__course_dose_item(v, item)) return 0;
  const reading *r = vigil__visit_latest(v, item);
  return r && r->v.type == VAL_BOOL && r->v.u.b;
}

int vigil__item_amend_only(const visit *v, int item) {
  const item_spec *it = &v->p->items[item];
  if (it->kind == KIND_SIGNATURE || it->scheduled || it->kind == KIND_VITALS || !vigil__visit_latest(v, item)) return 0;
  return holds_by_rule(v, item) || one_off_answer(it) || dose_said_given(v, item);
}
