/* value_convert.c: values to and from Lua and JSON. */
#include "lang/value_convert.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "base/intern.h"
#include "lang/sandbox.h"
#include "vigil/errors.h"

#define MAX_DEPTH 16

void vigil__val_push_lua(lua_State *L, val v) {
  switch (v.type) {
  case VAL_NIL:
    lua_pushnil(L);
    return;
  case VAL_BOOL:
    lua_pushboolean(L, v.u.b);
    return;
  case VAL_NUMBER:
    /* A whole number is a Lua integer: JSON and the store keep every number
     * as a double, and a protocol checking math.type(x) == "integer" (points
     * of a score) must see 2 as 2, not 2.0. */
    if (v.u.num >= -9007199254740992.0 && v.u.num <= 9007199254740992.0 && v.u.num == (double)(lua_Integer)v.u.num)
      lua_pushinteger(L, (lua_Integer)v.u.num);
    else
      lua_pushnumber(L, v.u.num);
    return;
  case VAL_ATOM:
    lua_pushstring(L, v.u.s);
    return;
  case VAL_STRING:
    lua_pushlstring(L, val_str(v), v.u.o->n);
    return;
  case VAL_RECORD:
    lua_createtable(L, 0, (int)v.u.o->n);
    for (uint32_t i = 0; i < v.u.o->n; i++) {
      vigil__val_push_lua(L, val_fields(v)[i].v);
      lua_setfield(L, -2, val_fields(v)[i].key);
    }
    return;
  case VAL_LIST:
    lua_createtable(L, (int)v.u.o->n, 0);
    for (uint32_t i = 0; i < v.u.o->n; i++) {
      vigil__val_push_lua(L, val_items(v)[i]);
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return;
  }
}

void vigil__val_push_lua_arg(sandbox *sb, val v) {
  lua_State *L = sb->L;
  if (v.type != VAL_RECORD || sb->in_call) {
    vigil__val_push_lua(L, v);
    return;
  }
  if (sb->arg_ref == LUA_NOREF) {
    lua_createtable(L, 0, (int)v.u.o->n);
    lua_pushvalue(L, -1);
    sb->arg_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  } else {
    lua_rawgeti(L, LUA_REGISTRYINDEX, sb->arg_ref);
    int t = lua_gettop(L);
    lua_pushnil(L);
    lua_setmetatable(L, t); /* the C API's: a __metatable field does not stop it */
    /* Setting a field met to nil during the traversal is allowed (lua_next). */
    lua_pushnil(L);
    while (lua_next(L, t)) {
      lua_pop(L, 1);
      lua_pushvalue(L, -1);
      lua_pushnil(L);
      lua_rawset(L, t);
    }
  }
  for (uint32_t i = 0; i < v.u.o->n; i++) {
    vigil__val_push_lua(L, val_fields(v)[i].v);
    lua_setfield(L, -2, val_fields(v)[i].key);
  }
}

static int from_lua(lua_State *L, int idx, val *out, char *err, size_t errlen, int depth) {
  idx = lua_absindex(L, idx);
  switch (lua_type(L, idx)) {
  case LUA_TNIL:
    *out = VAL_NIL_;
    return 0;
  case LUA_TBOOLEAN:
    *out = val_bool(lua_toboolean(L, idx));
    return 0;
  case LUA_TNUMBER:
    *out = val_num(lua_tonumber(L, idx));
    return 0;
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    *out = vigil__val_string(s, n);
    if (!vigil__val_ok(*out)) goto nomem;
    return 0;
  }
  case LUA_TTABLE:
    break;
  default:
    snprintf(err, errlen, "a %s cannot be a value", luaL_typename(L, idx));
    return -1;
  }
  if (depth >= MAX_DEPTH) {
    snprintf(err, errlen, "value nested too deeply");
    return -1;
  }
  lua_Integer len = (lua_Integer)lua_rawlen(L, idx);
  uint32_t count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    count++;
  }
  if (len > 0 && (lua_Integer)count == len) {
    val list = vigil__val_list(count);
    if (!vigil__val_ok(list)) goto nomem;
    for (lua_Integer i = 1; i <= len; i++) {
      lua_rawgeti(L, idx, i);
      int rc = from_lua(L, -1, &val_items(list)[i - 1], err, errlen, depth + 1);
      lua_pop(L, 1);
      if (rc < 0) {
        vigil__val_release(list);
        return -1;
      }
    }
    *out = list;
    return 0;
  }
  val rec = vigil__val_record(count);
  if (!vigil__val_ok(rec)) goto nomem;
  uint32_t i = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      lua_pop(L, 2);
      vigil__val_release(rec);
      snprintf(err, errlen, "a record's keys must be strings");
      return -1;
    }
    size_t kn;
    const char *k = lua_tolstring(L, -2, &kn);
    field *f = &val_fields(rec)[i++];
    f->key = vigil__intern_n(k, kn);
    int rc = f->key ? from_lua(L, -1, &f->v, err, errlen, depth + 1) : -1;
    lua_pop(L, 1);
    if (rc < 0) {
      lua_pop(L, 1);
      vigil__val_release(rec);
      if (!f->key) goto nomem;
      return -1;
    }
  }
  *out = rec;
  return 0;
nomem:
  snprintf(err, errlen, "out of memory");
  return -1;
}

int vigil__val_from_lua(lua_State *L, int idx, val *out, char *err, size_t errlen) {
  return from_lua(L, idx, out, err, errlen, 0);
}

static int from_json(const json_t *j, val *out, char *err, size_t errlen, int depth) {
  if (depth >= MAX_DEPTH) {
    snprintf(err, errlen, "value nested too deeply");
    return VIGIL_EINVAL;
  }
  switch (json_typeof(j)) {
  case JSON_NULL:
    *out = VAL_NIL_;
    return 0;
  case JSON_TRUE:
    *out = val_bool(1);
    return 0;
  case JSON_FALSE:
    *out = val_bool(0);
    return 0;
  case JSON_INTEGER:
    *out = val_num((double)json_integer_value(j));
    return 0;
  case JSON_REAL:
    *out = val_num(json_real_value(j));
    return 0;
  case JSON_STRING:
    *out = vigil__val_string(json_string_value(j), json_string_length(j));
    break;
  case JSON_ARRAY: {
    size_t n = json_array_size(j);
    *out = vigil__val_list((uint32_t)n);
    if (!vigil__val_ok(*out)) break;
    for (size_t i = 0; i < n; i++) {
      int rc = from_json(json_array_get(j, i), &val_items(*out)[i], err, errlen, depth + 1);
      if (rc < 0) {
        /* Nil, not the freed list: the caller releases what holds it. */
        vigil__val_release(*out);
        *out = VAL_NIL_;
        return rc;
      }
    }
    return 0;
  }
  case JSON_OBJECT: {
    *out = vigil__val_record((uint32_t)json_object_size(j));
    if (!vigil__val_ok(*out)) break;
    const char *k;
    json_t *x;
    uint32_t i = 0;
    json_object_foreach((json_t *)j, k, x) {
      field *f = &val_fields(*out)[i++];
      if (!(f->key = vigil__intern(k))) {
        vigil__val_release(*out);
        *out = VAL_NIL_;
        snprintf(err, errlen, "out of memory");
        return VIGIL_ENOMEM;
      }
      int rc = from_json(x, &f->v, err, errlen, depth + 1);
      if (rc < 0) {
        vigil__val_release(*out);
        *out = VAL_NIL_;
        return rc;
      }
    }
    return 0;
  }
  }
  if (!vigil__val_ok(*out)) {
    snprintf(err, errlen, "out of memory");
    return VIGIL_ENOMEM;
  }
  return 0;
}

int vigil__val_from_json(const json_t *j, val *out, char *err, size_t errlen) {
  return from_json(j, out, err, errlen, 0);
}
