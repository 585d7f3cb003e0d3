/* value_convert.h: values to and from Lua and JSON. */
#ifndef VIGIL_VALUE_CONVERT_H
#define VIGIL_VALUE_CONVERT_H

#include <jansson.h>
#include <lua.h>

#include "value.h"

/* Pushes v onto the Lua stack (records become tables keyed by field name). */
void val_push_lua(lua_State *L, val v);
/* Converts the Lua value at idx. Returns 0, or -1 with a reason in err. */
int val_from_lua(lua_State *L, int idx, val *out, char *err, size_t errlen);
/* Converts parsed JSON. Returns 0, or -1 with a reason in err. */
int val_from_json(const json_t *j, val *out, char *err, size_t errlen);
/* Parses JSON text (len bytes) into a val, the same as json_loads and
 * val_from_json but without a json_t in between (value_json.c). Returns 0,
 * or -1 with a reason in err and *out nil. */
int val_parse_json(const char *text, size_t len, val *out, char *err, size_t errlen);

#endif
