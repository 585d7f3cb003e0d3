/* late_entry.h: how the rules judge a reading that is not the patient's
 * state now (G4, K4, R1, R2 in docs/safety.md): late_entry.c. Private to
 * core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_LATE_ENTRY_H
#define VIGIL_CORE_ENGINE_LATE_ENTRY_H

#include <stdint.h>

#include "model.h"

/* A late entry (observed_at given) of items (at most 64): before its rules
 * run, the view ends at its readings and e->late says what the rules may do
 * (model.h); kept (n_items) saves what _end puts back. left_phase: the visit
 * has left the items' phase (K4). entered_at: when the entry was made. */
void vigil__late_entry_begin(vigil_engine *e, visit *v, const int *items, int n_items, int64_t observed_at,
                             int64_t entered_at, int left_phase, uint32_t *kept);
void vigil__late_entry_end(vigil_engine *e, visit *v, const int *items, int n_items, const uint32_t *kept);
/* How many readings item holds in the record, whatever the view a late
 * entry's judgement cut: what happened to the record (visit.changes) is not
 * the patient's state as of the reading judged (AW1: an older reading entered
 * late, judged as of its time, is not the baseline). The array past the view
 * is intact while the view is cut. */
uint32_t vigil__late_record_n(const vigil_engine *e, const visit *v, int item);

/* Rule r runs on the newest reading of trigger. When r reads other vitals
 * items (one series of the patient's observations, esketamine's bp_40m and
 * bp) and one of them holds a reading observed after that one, the rule
 * judges an older reading (R2): it runs as a finding, as of that reading's
 * time, with the series' later readings out of its view. The state it
 * changes is saved in *saved; vigil__late_rule_end puts it back. */
typedef struct late_saved {
  late_judgement late;
  int64_t late_at, view_now;
  uint32_t n[16];
  int on; /* 1: the view was cut (n holds r->on's counts) */
} late_saved;
void vigil__late_rule_begin(vigil_engine *e, visit *v, const rule_spec *r, int trigger, late_saved *saved);
void vigil__late_rule_end(vigil_engine *e, visit *v, const rule_spec *r, const late_saved *saved);

#endif
