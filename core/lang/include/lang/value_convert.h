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
struct sandbox;
/* Pushes v as the argument of the next call into sb (vigil__sandbox_call):
 * a record in the one table sb keeps for it, emptied of what the last call
 * left (its keys, a metatable it was given) and filled anew, rather than a
 * new table each call (issue 16). Nothing a call is given outlives it: a
 * protocol cannot keep a table across calls (docs/security.md AM5), so
 * every call sees a table with the record's fields and nothing else, as a
 * new one. Inside a call (a nested one) the kept table may be the outer
 * call's argument: then a new table. Anything but a record as
 * vigil__val_push_lua. */
void vigil__val_push_lua_arg(struct sandbox *sb, val v);
/* Converts the Lua value at idx. Returns 0, or -1 with a reason in err. */
int vigil__val_from_lua(lua_State *L, int idx, val *out, char *err, size_t errlen);
/* Converts parsed JSON. Returns 0, or with a reason in err VIGIL_ENOMEM
 * when memory ran out, VIGIL_EINVAL when the value is nested too deeply. */
int vigil__val_from_json(const json_t *j, val *out, char *err, size_t errlen);
#endif
