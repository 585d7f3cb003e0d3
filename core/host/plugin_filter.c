/* plugin_filter.c: a site's predicate over events, in the sandbox of Lua
 * site plugins.
 *
 *   -- plugin_dir/room2_high.lua
 *   return function(event, visit)
 *     return event.data.priority == "high" and (visit and visit.location or ""):match("^Room 2") ~= nil
 *   end
 *
 * The file runs once, when the filter opens, and returns the function. Each
 * test calls it under the budget of one call with the event as a table
 * (docs/events.md) and its visit as a read-only table as it was at that
 * event (visit_at.c): the answer depends on the log alone, so a plugin that
 * evaluates it again after a restart makes the same decision. */
#define _GNU_SOURCE
#include "plugin_filter.h"

#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lang/lua_json.h"
#include "plugin_lua.h"
#include "lang/sandbox.h"
#include "engine/visit_at.h"

/* Visits remembered between tests: alerts of a few chairs interleave. The
 * cache only saves reading a visit's events again; it never decides. */
#define VISITS_KEPT 8

struct plugin_filter {
  vigil_engine *e;
  char *path;
  sandbox *sb;
  int fn_ref;
  visit_at visits[VISITS_KEPT];
  uint64_t used[VISITS_KEPT], uses;
};

static int valid_name(const char *s) {
  if (!s || !*s || strlen(s) > 64) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-')) return 0;
  return 1;
}

int vigil__plugin_filter_open(vigil_engine *e, const char *dir, const char *name, plugin_filter **out, char *err,
                              size_t errlen) {
  *out = NULL;
  if (!valid_name(name)) {
    snprintf(err, errlen, "'%s' is not a filter name (a-z, digits, '_' and '-': the file plugin_dir/NAME.lua)",
             name ? name : "");
    return VIGIL_EINVAL;
  }
  plugin_filter *f = calloc(1, sizeof *f);
  if (!f || asprintf(&f->path, "%s/%s.lua", dir, name) < 0) {
    free(f);
    snprintf(err, errlen, "out of memory");
    return VIGIL_ENOMEM;
  }
  f->e = e;
  f->fn_ref = LUA_NOREF;
  struct stat st;
  if (stat(f->path, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "%s: no such file", f->path);
    vigil__plugin_filter_close(f);
    return VIGIL_ENOENT;
  }
  if (!(f->sb = vigil__sandbox_open(dir, NULL, 0, LUA_PLUGIN_CAP, LUA_PLUGIN_BUDGET, err, errlen))) {
    vigil__plugin_filter_close(f);
    return VIGIL_EINVAL;
  }
  lua_State *L = f->sb->L;
  char rel[80];
  snprintf(rel, sizeof rel, "%s.lua", name);
  if (vigil__plugin_lua_run(f->sb, rel, err, errlen) != LUA_OK) {
    vigil__plugin_filter_close(f);
    return VIGIL_EINVAL;
  }
  if (!lua_isfunction(L, -1)) {
    snprintf(err, errlen, "%s:1: should return function(event, visit) ... end, not a %s", f->path,
             luaL_typename(L, -1));
    vigil__plugin_filter_close(f);
    return VIGIL_EINVAL;
  }
  f->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, 0);
  *out = f;
  return 0;
}

/* The visit as it was at ev, from the cache or the log; NULL with err. */
static const visit_at *visit_of(plugin_filter *f, const vigil_plugin_event *ev, char *err, size_t errlen) {
  size_t slot = 0;
  for (size_t i = 0; i < VISITS_KEPT; i++) {
    if (f->visits[i].id == ev->visit) {
      slot = i;
      break;
    }
    if (f->used[i] < f->used[slot]) slot = i;
  }
  f->used[slot] = ++f->uses;
  if (vigil__visit_at_read(f->e, &f->visits[slot], ev->visit, ev->seq, err, errlen) < 0) return NULL;
  return &f->visits[slot];
}

typedef struct test_call {
  plugin_filter *f;
  json_t *event;
  const visit_at *visit;
} test_call;

static void set_text(lua_State *L, const char *key, const char *value) {
  if (!value) return;
  lua_pushstring(L, value);
  lua_setfield(L, -2, key);
}

/* Inside the protected call: building the arguments may run out of the
 * sandbox's memory too, which must be an error of this call, not a panic. */
static int run_predicate(lua_State *L) {
  test_call *c = lua_touserdata(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->f->fn_ref);
  vigil__lua_json_push(L, c->event);
  if (c->visit) {
    vigil__sandbox_push_lang(c->f->sb);
    lua_getfield(L, -1, "readonly");
    lua_remove(L, -2);
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, (lua_Integer)c->visit->id);
    lua_setfield(L, -2, "id");
    set_text(L, "patient", c->visit->patient);
    set_text(L, "location", c->visit->location);
    set_text(L, "protocol", c->visit->protocol);
    set_text(L, "phase", c->visit->phase);
    set_text(L, "status", c->visit->status);
    lua_pushliteral(L, "visit");
    lua_call(L, 2, 1);
  } else {
    lua_pushnil(L);
  }
  lua_call(L, 2, 1);
  return 1;
}

int vigil__plugin_filter_test(plugin_filter *f, const vigil_plugin_event *ev, char *err, size_t errlen) {
  const visit_at *v = NULL;
  if (ev->visit && !(v = visit_of(f, ev, err, errlen))) return -1;
  json_t *event = json_loadb(ev->json, ev->json_len, 0, NULL);
  if (!event) {
    snprintf(err, errlen, "event %llu: its JSON does not parse", (unsigned long long)ev->seq);
    return -1;
  }
  test_call c = {f, event, v};
  lua_State *L = f->sb->L;
  lua_pushcfunction(L, run_predicate); /* a light C function: allocates nothing */
  lua_pushlightuserdata(L, &c);
  int rc = vigil__sandbox_call(f->sb, 1, 1, err, errlen);
  json_decref(event);
  if (rc != LUA_OK) return -1;
  int yes = lua_toboolean(L, -1);
  lua_settop(L, 0);
  return yes;
}

void vigil__plugin_filter_close(plugin_filter *f) {
  if (!f) return;
  for (size_t i = 0; i < VISITS_KEPT; i++)
    vigil__visit_at_clear(&f->visits[i]);
  vigil__sandbox_close(f->sb);
  free(f->path);
  free(f);
}
