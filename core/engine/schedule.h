/* schedule.h: deadlines (schedule.c). Private to core/engine/
 * (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_SCHEDULE_H
#define VIGIL_CORE_ENGINE_SCHEDULE_H

#include "model.h"

void vigil__schedule_visit(vigil_engine *e, visit *v);
/* Handles every deadline of v that is due at engine time, in order. */
int vigil__visit_tick(vigil_engine *e, visit *v); /* 0, or VIGIL_ENOMEM with its events undone */
/* The occurrence of a scheduled item that is next due, or -1. */
int64_t vigil__item_next_due(const visit *v, const item_spec *it, uint32_t *occurrence);
/* A repeating item (`every`): a skip covers one of its occurrences. */
static inline int item_repeats(const item_spec *it) { return it->scheduled && it->sched.every > 0; }
/* The occurrence of a repeating item that a skip at `at` covers: the latest
 * one due by then (with any earlier one still open, as a late reading would
 * cover them), else the next one. -1 when none is left. */
int64_t vigil__item_skip_occurrence(const visit *v, const item_spec *it, int64_t at);
void vigil__clock_arm(vigil_engine *e);
/* The earliest deadline of a visit or a course, and its firing. */
heap_entry *vigil__deadline_min(const vigil_engine *e);
int vigil__deadline_tick(vigil_engine *e, heap_entry *h);

#endif
