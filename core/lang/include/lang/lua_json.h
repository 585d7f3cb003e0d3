/* lua_json.h: JSON values as the Lua values they read as, for the C code
 * that hands JSON to Lua (spec.c's events, plugin_lua.c's events). */
#ifndef VIGIL_LUA_JSON_H
#define VIGIL_LUA_JSON_H

#include <jansson.h>
#include <lua.h>

/* Pushes j: objects and arrays as tables, null as nil. */
void vigil__lua_json_push(lua_State *L, json_t *j);

#endif
