/* value_json.h: JSON text straight into a value (value_json.c). */
#ifndef VIGIL_VALUE_JSON_H
#define VIGIL_VALUE_JSON_H

#include <stddef.h>

#include "base/value.h"

/* Parses JSON text (len bytes) into a val, the same as json_loads and
 * vigil__val_from_json (lang/value_convert.h) but without a json_t in between (value_json.c). Returns 0,
 * or -1 with a reason in err and *out nil (VIGIL_ENOMEM when memory ran out). */
int vigil__val_parse_json(const char *text, size_t len, val *out, char *err, size_t errlen);

#endif
