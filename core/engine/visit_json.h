/* visit_json.h: pieces of a visit's JSON (visit_json.c). Private to
 * core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_VISIT_JSON_H
#define VIGIL_CORE_ENGINE_VISIT_JSON_H

#include "model.h"

/* An alert's members after its id (and its visit or course): `,"rule":...`
 * to `"follows"`, the one writer of GET /visits/{id}'s alerts and GET
 * /alerts' (issue 12, item 8). */
void vigil__alert_fields(buf *b, const alert *a);
/* `,"location":"..."` (null when not said), in a visit and its summary. */
void vigil__location_field(buf *b, const visit *v);
/* `,"range":[lo,hi],"options":[...]` of a field or param, when it has them. */
void vigil__limits_json(buf *b, int has_range, double lo, double hi, const char *const *options, uint32_t n_options);

#endif
