/* gate.h: what the server may ask of a visit's gate, beyond vigil.h. */
#ifndef VIGIL_ENGINE_GATE_H
#define VIGIL_ENGINE_GATE_H

#include <stdint.h>

#include "vigil/vigil.h"

/* The reasons an active visit's gate does not hold now, as the JSON array
 * of its view's gate.reasons (null when memory ran out while finding them;
 * free with vigil_free), or NULL when there is no such active visit: for an
 * answer that names them without rendering the whole visit. */
char *vigil__visit_gate_reasons_json(vigil_engine *e, uint64_t id);

#endif
