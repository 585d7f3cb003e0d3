/* visit.h: state and the fold (visit.c). Private to core/engine/
 * (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_VISIT_H
#define VIGIL_CORE_ENGINE_VISIT_H

#include "model.h"

visit *vigil__visit_new(vigil_engine *e, uint64_t id, protocol *p);
void vigil__visit_free(vigil_engine *e, visit *v);
void vigil__visit_apply(vigil_engine *e, visit *v, const vigil_event *ev);
const reading *vigil__visit_latest(const visit *v, int item);
/* When the current phase's clock started: its minimum and maximum time and
 * its checkpoints count from it. Entering the phase, or (`timed_from`, P7 in
 * docs/safety.md) when its check was first observed yes; -1: not yet. */
int64_t vigil__phase_clock(const visit *v);
int vigil__alert_is_open(const alert *a); /* not yet closed: shown to the nurse */
/* A carried alert that only a clinician's assessment ends (H4): carried, and
 * not raised on a reading of a left phase (S2, T1), which ends as its reading does. */
static inline int vigil__alert_awaits_assessment(const alert *a) { return a->carry && !a->left_reading; }
/* Open and not acknowledged: someone must still look at it. */
int vigil__alert_is_active(const alert *a);
val vigil__visit_param(const visit *v, const char *name);
/* Whether a reading of a dose item says the dose was given (P1, AL3 in
 * docs/safety.md): neither null, false nor the number 0 (a pump whose
 * volume infused is 0 gave nothing). */
int vigil__val_says_given(val value);

#endif
