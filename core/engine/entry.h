/* entry.h: what a nurse enters, checked (entry.c). Private to core/engine/
 * (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_ENTRY_H
#define VIGIL_CORE_ENGINE_ENTRY_H

#include <jansson.h>

#include "model.h"

int vigil__entry_check_scalar(vigil_engine *e, const char *what, const field_spec *f, const vigil_input *in, val *out);
/* One item's value from the inputs that name it (actor: who enters it). */
int vigil__entry_build_value(vigil_engine *e, visit *v, const item_spec *it, const vigil_input *in, size_t n,
                             const char *actor, val *out);
/* JSON {"item": value, "vitals": {"sbp": 120}} as inputs that point into it. */
int vigil__entry_inputs_from_json(vigil_engine *e, const char *item, const json_t *x, vigil_input *in, size_t cap,
                                  size_t *n);
json_t *vigil__entry_parse_json(vigil_engine *e, const char *text, const char *about, int *rc);

#endif
