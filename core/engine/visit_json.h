/* visit_json.h: pieces of a visit's JSON (visit_json.c). Private to
 * core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_VISIT_JSON_H
#define VIGIL_CORE_ENGINE_VISIT_JSON_H

#include "model.h"

/* `,"location":"..."` (null when not said), in a visit and its summary. */
void vigil__location_field(buf *b, const visit *v);
/* `,"range":[lo,hi],"options":[...]` of a field or param, when it has them. */
void vigil__limits_json(buf *b, int has_range, double lo, double hi, const char *const *options, uint32_t n_options);

#endif
