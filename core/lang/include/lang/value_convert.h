/* value_convert.h: values to and from Lua and parsed JSON (jansson).
 * Parsing JSON text straight into a value is base/value_json.h. */
#ifndef VIGIL_VALUE_CONVERT_H
#define VIGIL_VALUE_CONVERT_H

#include <jansson.h>
#include <lua.h>

#include "base/value.h"
#include "base/value_json.h"

/* Pushes v onto the Lua stack (records become tables keyed by field name). */
void vigil__val_push_lua(lua_State *L, val v);
/* Converts the Lua value at idx. Returns 0, or -1 with a reason in err. */
int vigil__val_from_lua(lua_State *L, int idx, val *out, char *err, size_t errlen);
/* Converts parsed JSON. Returns 0, or with a reason in err VIGIL_ENOMEM
 * when memory ran out, VIGIL_EINVAL when the value is nested too deeply. */
int vigil__val_from_json(const json_t *j, val *out, char *err, size_t errlen);
#endif
