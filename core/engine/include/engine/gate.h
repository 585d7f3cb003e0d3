/* gate.h: what the server may ask of a visit's gate and signatures, beyond
 * vigil.h, without rendering the whole visit. */
#ifndef VIGIL_ENGINE_GATE_H
#define VIGIL_ENGINE_GATE_H

#include <stdint.h>

#include "vigil/vigil.h"

/* The reasons an active visit's gate does not hold now, as the JSON array
 * of its view's gate.reasons (null when memory ran out while finding them;
 * free with vigil_free), or NULL when there is no such active visit: for an
 * answer that names them without rendering the whole visit. */
char *vigil__visit_gate_reasons_json(vigil_engine *e, uint64_t id);

/* What signing ref (a signature item of the visit's current phase, or
 * "phase.item" of a past phase's void signature, G5) would attest now, as
 * the JSON of its to_attest in the visit, in *out (free with vigil_free):
 * 0, with *out NULL when there is no such visit or item, or nothing to sign;
 * VIGIL_ENOMEM when memory ran out rendering it (never taken for "nothing
 * to sign": fifth review, item 9); another error when its calculation
 * failed (the engine's message says why). */
int vigil__visit_to_attest_json(vigil_engine *e, uint64_t id, const char *ref, char **out);

#endif
