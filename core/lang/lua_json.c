/* lua_json.c: JSON values into Lua. */
#include "lang/lua_json.h"

#include <lauxlib.h>

/* Pushes a JSON value as the Lua value it reads as (null: nil). */
void vigil__lua_json_push(lua_State *L, json_t *j) {
  luaL_checkstack(L, 4, "JSON too deep");
  switch (json_typeof(j)) {
  case JSON_OBJECT: {
    lua_createtable(L, 0, (int)json_object_size(j));
    const char *k;
    json_t *x;
    json_object_foreach(j, k, x) {
      vigil__lua_json_push(L, x);
      lua_setfield(L, -2, k);
    }
    break;
  }
  case JSON_ARRAY: {
    lua_createtable(L, (int)json_array_size(j), 0);
    size_t i;
    json_t *x;
    json_array_foreach(j, i, x) {
      vigil__lua_json_push(L, x);
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    break;
  }
  case JSON_STRING:
    lua_pushlstring(L, json_string_value(j), json_string_length(j));
    break;
  case JSON_INTEGER:
    lua_pushinteger(L, (lua_Integer)json_integer_value(j));
    break;
  case JSON_REAL:
    lua_pushnumber(L, json_real_value(j));
    break;
  case JSON_TRUE:
    lua_pushboolean(L, 1);
    break;
  case JSON_FALSE:
    lua_pushboolean(L, 0);
    break;
  default:
    lua_pushnil(L);
    break;
  }
}
