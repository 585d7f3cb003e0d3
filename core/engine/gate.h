/* gate.h: what stops a visit from leaving its phase (gate.c). Private to
 * core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_GATE_H
#define VIGIL_CORE_ENGINE_GATE_H

#include "model.h"

int vigil__gate_reasons(vigil_engine *e, visit *v, val *reasons);
/* What the gate says of a required item of the current phase: met (or not
 * asked: not required, skipped, its `when` false, of another phase), due or
 * overdue (a checkpoint), not recorded, or a void signature. An override
 * passes the last two by name (V1, docs/safety.md). */
typedef enum gate_item { GATE_ITEM_MET, GATE_ITEM_DUE, GATE_ITEM_UNRECORDED, GATE_ITEM_VOID } gate_item;
gate_item vigil__gate_item(vigil_engine *e, visit *v, const item_spec *it);
/* N7: whether the visit's dose was given (a dose_given item of its course
 * recorded, neither false nor null, whatever it was amended to since: P1). */
int vigil__dose_given_already(const visit *v);
/* N7: 1 when item (an index) is of the phase that gives the dose, not an
 * observation nor a signature, the dose is not given yet and a hold is open
 * (a carried alert, an unacknowledged high alert (Q2), a void signature,
 * a left phase's signature a change since requires (AI1), a rule's block, the
 * phase's `before_dose` not met (AN13)): text names them. */
int vigil__dose_hold(vigil_engine *e, visit *v, int item, char *text, size_t len);
/* Q5: whether an override naming these holds (rule keys, as the visit's
 * blocks give them) may pass the phase: 0, or the engine's error: a standing
 * hold not named (VIGIL_ESTATE, naming each), a name of no standing hold
 * (VIGIL_EINVAL). */
int vigil__gate_override_holds(vigil_engine *e, const visit *v, const char *const *holds, size_t n);
/* V1: the required items of the phase an override passes unrecorded or
 * void, their entries in passed (a list, VAL_NIL_ when none; the caller's).
 * With confirm each is named in items, else VIGIL_EINVAL naming the first
 * not named, or a name of no such item; nothing is passed. */
int vigil__gate_override_items(vigil_engine *e, visit *v, const char *const *items, size_t n, int confirm, val *passed);

#endif
