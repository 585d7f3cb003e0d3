/* evaluate.h: calls into the protocol's Lua (evaluate.c). Private to
 * core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_EVALUATE_H
#define VIGIL_CORE_ENGINE_EVALUATE_H

#include "model.h"
#include "outcome.h"

/* The rules of phase (the visit's, or one it has left: an amendment of that
 * phase's item, F4 in docs/safety.md) on the items that changed. */
void vigil__eval_rules_of(vigil_engine *e, visit *v, int phase, const int *items, int n_items);
/* Scores computed from other items follow them: the engine records a new
 * total when one of their sources changed and the total did. */
void vigil__eval_scores(vigil_engine *e, visit *v, const int *changed, int n);
int vigil__eval_when(vigil_engine *e, visit *v, const item_spec *it);
/* 1: the gate holds; 0: it does not, with the reason in reason. */
int vigil__eval_gate(vigil_engine *e, visit *v, char *reason, size_t len);
/* AN13: the current phase's `before_dose`: 1 when it is met (or has none), else 0 and why. */
int vigil__eval_before_dose(vigil_engine *e, visit *v, char *reason, size_t len);
int vigil__eval_compute(vigil_engine *e, visit *v, const item_spec *it, val record, double *total, char *err,
                        size_t errlen);
/* Where a call into the protocol failed, "file:line" into pos: the error's
 * own position when it names one of the protocol's files, else `where` (the
 * declaration of what failed). Returns the error's message without it. */
const char *vigil__eval_error_where(const protocol *p, const char *error, const char *where, char *pos, size_t len);
void vigil__eval_hooks(vigil_engine *e, const vigil_event *ev);
/* Arms the entry's budget (AC3: one budget across all the calls of one
 * command, one visit's deadlines or one commit's hooks) unless it is armed
 * already; returns whether it did, for vigil__lua_pool_disarm. */
int vigil__lua_pool_arm(vigil_engine *e);
void vigil__lua_pool_disarm(vigil_engine *e, int armed);
/* Calls fn_ref(visit), which returns text (a signature's calculation). */
int vigil__eval_text(vigil_engine *e, visit *v, int fn_ref, char *out, size_t len, char *err, size_t errlen);

#endif
