/* deadline.h: when things are due for a visit (deadline.c). Private to
 * core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_DEADLINE_H
#define VIGIL_CORE_ENGINE_DEADLINE_H

#include "model.h"

typedef enum deadline_kind { DL_NONE, DL_OVERDUE, DL_MINIMUM, DL_MAXIMUM, DL_ESCALATE, DL_REALERT } deadline_kind;

typedef struct deadline {
  int64_t at;
  deadline_kind kind;
  const item_spec *item;
  uint32_t occurrence;
  alert *alert;
} deadline;

/* v's earliest deadline (kind DL_NONE, at INT64_MAX: none). */
deadline vigil__deadline_next(const visit *v);
/* Arms v's entry in the deadline heap at its earliest deadline, or takes it off. */
void vigil__schedule_visit(vigil_engine *e, visit *v);
/* The overdue deadline of an item, as vigil__deadline_next computes it (-1: none). */
int64_t vigil__deadline_overdue_at(const visit *v, const item_spec *it, uint32_t *occurrence);
/* The occurrence of a scheduled item that is next due, or -1. */
int64_t vigil__item_next_due(const visit *v, const item_spec *it, uint32_t *occurrence);
/* A repeating item (`every`): a skip covers one of its occurrences. */
static inline int item_repeats(const item_spec *it) { return it->scheduled && it->sched.every > 0; }
/* The occurrence of a repeating item that a skip at `at` covers: the latest
 * one due by then (with any earlier one still open, as a late reading would
 * cover them), else the next one. -1 when none is left. */
int64_t vigil__item_skip_occurrence(const visit *v, const item_spec *it, int64_t at);
/* The earliest deadline of a visit or a course. */
heap_entry *vigil__deadline_min(const vigil_engine *e);

#endif
