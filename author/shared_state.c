/* shared_state.c: a fingerprint of what protocol code keeps between calls
 * (shared_state.h says why).
 *
 * The roots are the upvalues of the protocol's functions (rules, gates,
 * hooks, `when`, `compute`) and of every function of the protocol's files
 * they reach, each variable once (lua_upvalueid). A root's hash covers
 * everything its value reaches: tables by their contents (an order-free
 * combination of their pairs, so that the same contents hash alike), values
 * by their bytes, functions of the protocol's files by where they are (their
 * own upvalues are roots of their own) and anything else by identity. The
 * walk reads without running any Lua code or metamethod. */
#include "shared_state.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "engine/inspect.h"
#include "lang/protocol.h"
#include "lang/sandbox.h"

#define MAX_NODES 200000 /* tables hashed per protocol: a bound on time, not a limit on protocols */
#define MAX_DEPTH 64

typedef struct shared_walk {
  lua_State *L;
  shared_state *out;
  int seen;   /* stack index: the tables hashed under the current root */
  int queued; /* stack index: functions whose upvalues are roots, in order */
  int known;  /* stack index: the functions already queued */
  lua_Integer n_queued;
  size_t nodes;
} walk;

static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static uint64_t bytes_hash(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
  return h;
}

/* A Lua function of the protocol's own files ("@path" chunks), not of the
 * embedded language or library ("=vigil.lua"). */
static int protocol_code(lua_State *L, int idx, lua_Debug *ar) {
  if (lua_type(L, idx) != LUA_TFUNCTION || lua_iscfunction(L, idx)) return 0;
  lua_pushvalue(L, idx);
  lua_getinfo(L, ">S", ar);
  return ar->source[0] == '@';
}

static void enqueue(walk *w, int idx) {
  lua_State *L = w->L;
  lua_Debug ar;
  if (!protocol_code(L, idx, &ar)) return;
  lua_pushvalue(L, idx);
  if (lua_rawget(L, w->known) != LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 1);
  lua_rawset(L, w->known);
  lua_pushvalue(L, idx);
  lua_rawseti(L, w->queued, ++w->n_queued);
}

static uint64_t hash_value(walk *w, int idx, int depth) {
  lua_State *L = w->L;
  idx = lua_absindex(L, idx);
  switch (lua_type(L, idx)) {
  case LUA_TNIL:
    return 1;
  case LUA_TBOOLEAN:
    return lua_toboolean(L, idx) ? 2 : 3;
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) return mix((uint64_t)lua_tointeger(L, idx) ^ 4);
    {
      lua_Number x = lua_tonumber(L, idx);
      uint64_t bits;
      memcpy(&bits, &x, sizeof bits);
      return mix(bits ^ 5);
    }
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n); /* a string already: nothing converted */
    return bytes_hash(s, n) ^ 6;
  }
  case LUA_TFUNCTION: {
    lua_Debug ar;
    if (!protocol_code(L, idx, &ar)) return mix((uint64_t)(uintptr_t)lua_topointer(L, idx) ^ 7);
    enqueue(w, idx);
    return mix(bytes_hash(ar.source, strlen(ar.source)) ^ (uint64_t)ar.linedefined);
  }
  case LUA_TTABLE: {
    if (++w->nodes > MAX_NODES || depth > MAX_DEPTH) return 8;
    lua_pushvalue(L, idx);
    if (lua_rawget(L, w->seen) != LUA_TNIL) {
      lua_pop(L, 1);
      return 9;
    }
    lua_pop(L, 1);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, w->seen);
    luaL_checkstack(L, 5, "a protocol table nested too deep");
    uint64_t h = 10;
    vigil__sandbox_push_contents(L, idx); /* a frozen table's are elsewhere (AM5) */
    idx = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      uint64_t k = hash_value(w, -2, depth + 1), v = hash_value(w, -1, depth + 1);
      h ^= mix(k * 31 + v); /* order-free: the same pairs, the same hash */
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return mix(h);
  }
  default: /* userdata, threads: by identity */
    return mix((uint64_t)(uintptr_t)lua_topointer(L, idx) ^ 11);
  }
}

static int known_root(const shared_state *s, const void *id) {
  for (size_t i = 0; i < s->n; i++)
    if (s->roots[i].id == id) return 1;
  return 0;
}

static state_root *new_root(shared_state *s) {
  if (s->n == s->cap) {
    state_root *r = vigil__grow(s->roots, s->cap, s->n + 1, sizeof *r, 64, &s->cap);
    if (!r) return NULL;
    s->roots = r;
  }
  return &s->roots[s->n++];
}

/* Under lua_pcall: (walk, protocol) as light userdata. Raises on out of
 * memory, which the caller reports. */
static int walk_protocol(lua_State *L) {
  walk *w = lua_touserdata(L, 1);
  const protocol *p = lua_touserdata(L, 2);
  lua_newtable(L);
  w->queued = lua_gettop(L);
  lua_newtable(L);
  w->known = lua_gettop(L);
  vigil__protocol_push_code(p);
  int code = lua_gettop(L);
  for (lua_Integer i = 1, n = (lua_Integer)lua_rawlen(L, code); i <= n; i++) {
    lua_rawgeti(L, code, i);
    enqueue(w, -1);
    lua_pop(L, 1);
  }
  /* Hashing finds more functions of the protocol's files: the queue grows
   * while it is walked. */
  for (lua_Integer q = 1; q <= w->n_queued; q++) {
    lua_rawgeti(L, w->queued, q);
    int fn = lua_gettop(L);
    lua_Debug ar;
    protocol_code(L, fn, &ar);
    const char *name;
    for (int u = 1; (name = lua_getupvalue(L, fn, u)) != NULL; u++) {
      const void *id = lua_upvalueid(L, fn, u);
      if (!strcmp(name, "_ENV") || known_root(w->out, id)) {
        lua_pop(L, 1);
        continue;
      }
      int value = lua_gettop(L);
      lua_newtable(L);
      w->seen = lua_gettop(L);
      uint64_t hash = hash_value(w, value, 0);
      state_root *r = new_root(w->out);
      if (!r) return luaL_error(L, "out of memory");
      r->id = id;
      r->hash = hash;
      snprintf(r->where, sizeof r->where, "%s:%d", ar.source + 1, ar.linedefined);
      snprintf(r->name, sizeof r->name, "%s", *name ? name : "?");
      lua_settop(L, fn);
    }
    lua_settop(L, fn - 1);
  }
  return 0;
}

int vigil__shared_state_take(vigil_engine *e, shared_state *out) {
  *out = (shared_state){0};
  for (uint32_t i = 0; i < vigil__engine_protocol_count(e); i++) {
    lua_State *L = vigil__engine_protocol(e, i)->sb->L;
    walk w = {.L = L, .out = out};
    int top = lua_gettop(L);
    lua_pushcfunction(L, walk_protocol);
    lua_pushlightuserdata(L, &w);
    lua_pushlightuserdata(L, vigil__engine_protocol(e, i));
    int rc = lua_pcall(L, 2, 0, 0);
    lua_settop(L, top);
    if (rc != LUA_OK) {
      vigil__shared_state_free(out);
      return VIGIL_ENOMEM;
    }
  }
  return 0;
}

const state_root *vigil__shared_state_changed(const shared_state *before, const shared_state *after) {
  for (size_t i = 0; i < before->n; i++)
    for (size_t j = 0; j < after->n; j++)
      if (after->roots[j].id == before->roots[i].id) {
        if (after->roots[j].hash != before->roots[i].hash) return &before->roots[i];
        break;
      }
  return NULL;
}

void vigil__shared_state_free(shared_state *s) {
  free(s->roots);
  *s = (shared_state){0};
}

const char *vigil__shared_state_kept_write(vigil_engine *e) {
  for (uint32_t i = 0; i < vigil__engine_protocol_count(e); i++) {
    const sandbox *sb = vigil__engine_protocol(e, i)->sb;
    if (sb->kept_writes) return sb->kept_write;
  }
  return NULL;
}
