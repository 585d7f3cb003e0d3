/* plugin_lua.c: Lua site plugins, for clinics that do not write C.
 *
 * A site plugin is plugin_dir/NAME.lua, run in the same sandbox as
 * protocols (sandbox.c: allow-listed read-only globals, no io or os, text
 * chunks only, require of its own folder's files only, a memory cap, an
 * instruction budget on every call). Its body runs once and returns what it
 * subscribes to:
 *
 *   return { on = { ["alert.raised"] = function(event, ctx) ... end } }
 *
 * Each function is a subscription of the plugin ABI (the host cannot tell
 * it from a C plugin's): it gets the event as a table (docs/events.md) and
 * ctx, whose functions are the ABI's seen from Lua: log, warn, count (a
 * counter in /metrics), get and put (the plugin's durable key-value
 * namespace), settings. An error, or the budget running out, fails that
 * call only: it is logged with file:line and counted. */
#define _GNU_SOURCE
#include "plugin_lua.h"

#include <jansson.h>
#include <lauxlib.h>
#include <libgen.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lua_json.h"
#include "lang/sandbox.h"
#include "vigil/vigil.h"

typedef struct counter {
  char *name, *labels;
  double value;
} counter;

typedef struct lua_plugin lua_plugin;

typedef struct lua_sub {
  lua_plugin *lp;
  int fn_ref;
} lua_sub;

struct lua_plugin {
  vigil_plugin *p;
  const vigil_api *api;
  sandbox *sb;
  int ctx_ref;
  lua_sub **subs;
  size_t n_subs;
  counter *counters;
  size_t n_counters;
};

/* ---- ctx ---------------------------------------------------------------------------- */

static lua_plugin *self(lua_State *L) { return lua_touserdata(L, lua_upvalueindex(1)); }

static int ctx_log(lua_State *L) {
  lua_plugin *lp = self(L);
  lp->api->log(lp->p, VIGIL_PLUGIN_LOG_INFO, luaL_checkstring(L, 1));
  return 0;
}

static int ctx_warn(lua_State *L) {
  lua_plugin *lp = self(L);
  lp->api->log(lp->p, VIGIL_PLUGIN_LOG_WARN, luaL_checkstring(L, 1));
  return 0;
}

static int by_key(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Appends name="value" to out (Prometheus' escaping). 0, or -1 when it does not fit. */
static int add_label(char *out, size_t cap, size_t *len, const char *name, const char *value) {
  int n = snprintf(out + *len, cap - *len, "%s%s=\"", *len ? "," : "", name);
  if (n < 0 || (size_t)n >= cap - *len) return -1;
  *len += (size_t)n;
  for (; *value; value++) {
    if (*value == '\n') continue;
    if (*len + 3 >= cap) return -1;
    if (*value == '"' || *value == '\\') out[(*len)++] = '\\';
    out[(*len)++] = *value;
  }
  if (*len + 2 >= cap) return -1;
  out[(*len)++] = '"';
  out[*len] = '\0';
  return 0;
}

/* count(name [, labels]): adds 1 to vigil_plugin_<name>{plugin=..., labels}. */
static int ctx_count(lua_State *L) {
  lua_plugin *lp = self(L);
  const char *name = luaL_checkstring(L, 1);
  char labels[512] = "";
  size_t len = 0;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    /* Labels in key order, so that the same labels are the same series. */
    const char *keys[16] = {0};
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "count: label names are text");
      if (n == 16) return luaL_error(L, "count: at most 16 labels");
      keys[n++] = lua_tostring(L, -1); /* kept alive by the table */
    }
    qsort(keys, (size_t)n, sizeof *keys, by_key);
    for (int i = 0; i < n; i++) {
      for (const char *c = keys[i]; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || *c == '_' || (c > keys[i] && *c >= '0' && *c <= '9')))
          return luaL_error(L, "count: label '%s' is not [a-z_][a-z0-9_]*", keys[i]);
      lua_getfield(L, 2, keys[i]);
      int bad = add_label(labels, sizeof labels, &len, keys[i], luaL_tolstring(L, -1, NULL));
      lua_pop(L, 2);
      if (bad) return luaL_error(L, "count: labels longer than %d bytes", (int)sizeof labels);
    }
  }
  counter *c = NULL;
  for (size_t i = 0; i < lp->n_counters && !c; i++)
    if (!strcmp(lp->counters[i].name, name) && !strcmp(lp->counters[i].labels, labels)) c = &lp->counters[i];
  if (!c) {
    counter *grown = realloc(lp->counters, (lp->n_counters + 1) * sizeof *grown);
    if (!grown) return luaL_error(L, "count: out of memory");
    lp->counters = grown;
    c = &lp->counters[lp->n_counters];
    *c = (counter){strdup(name), strdup(labels), 0};
    if (!c->name || !c->labels) {
      free(c->name), free(c->labels);
      return luaL_error(L, "count: out of memory");
    }
    lp->n_counters++;
  }
  c->value += 1;
  if (lp->api->metric_set(lp->p, name, "counter", "Counted by a site plugin.", *labels ? labels : NULL, c->value) < 0)
    return luaL_error(
        L, "count: metric '%s' refused: its name is not [a-z0-9_], or /metrics has it already (the log says)", name);
  return 0;
}

static int ctx_get(lua_State *L) {
  lua_plugin *lp = self(L);
  void *v;
  size_t len;
  int rc = lp->api->kv_get(lp->p, luaL_checkstring(L, 1), &v, &len);
  if (rc < 0) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushlstring(L, v, len);
  lp->api->free(v);
  return 1;
}

static int ctx_put(lua_State *L) {
  lua_plugin *lp = self(L);
  const char *key = luaL_checkstring(L, 1);
  size_t len = 0;
  const char *v = lua_isnil(L, 2) ? NULL : luaL_checklstring(L, 2, &len);
  if (lp->api->kv_put(lp->p, key, v, len) < 0) return luaL_error(L, "put: '%s' could not be stored", key);
  return 0;
}

static void push_ctx(lua_plugin *lp) {
  lua_State *L = lp->sb->L;
  static const luaL_Reg fns[] = {{"log", ctx_log}, {"warn", ctx_warn}, {"count", ctx_count},
                                 {"get", ctx_get}, {"put", ctx_put},   {NULL, NULL}};
  lua_newtable(L);
  lua_pushlightuserdata(L, lp);
  luaL_setfuncs(L, fns, 1);
  json_t *s = json_loads(lp->api->settings(lp->p), 0, NULL);
  vigil__lua_json_push(L, s);
  json_decref(s);
  lua_setfield(L, -2, "settings");
}

/* ---- events ------------------------------------------------------------------------- */

static int on_event(void *ud, const vigil_plugin_event *ev) {
  lua_sub *s = ud;
  lua_plugin *lp = s->lp;
  lua_State *L = lp->sb->L;
  json_t *j = json_loadb(ev->json, ev->json_len, 0, NULL);
  if (!j) return -1;
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->fn_ref);
  vigil__lua_json_push(L, j);
  json_decref(j);
  lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ctx_ref);
  char err[1024];
  if (vigil__sandbox_call(lp->sb, 2, 0, err, sizeof err) != LUA_OK) {
    char msg[1200];
    snprintf(msg, sizeof msg, "on %s (event %llu): %s", ev->type, (unsigned long long)ev->seq, err);
    lp->api->log(lp->p, VIGIL_PLUGIN_LOG_WARN, msg);
    return -1;
  }
  return 0;
}

static void on_close(void *ud) {
  lua_plugin *lp = ud;
  for (size_t i = 0; i < lp->n_subs; i++)
    free(lp->subs[i]);
  free(lp->subs);
  for (size_t i = 0; i < lp->n_counters; i++)
    free(lp->counters[i].name), free(lp->counters[i].labels);
  free(lp->counters);
  vigil__sandbox_close(lp->sb);
  free(lp);
}

int vigil__plugin_lua_run(sandbox *sb, const char *file, char *err, size_t errlen) {
  lua_State *L = sb->L;
  /* Its body runs once, and may require files of its folder only then. */
  sb->loading = 1;
  lua_rawgeti(L, LUA_REGISTRYINDEX, sb->sandbox_ref);
  lua_getfield(L, -1, "run_main");
  lua_remove(L, -2);
  lua_pushstring(L, file);
  int rc = vigil__sandbox_call(sb, 1, 1, err, errlen);
  sb->loading = 0;
  return rc;
}

static int refuse(char **err, const char *what) {
  *err = strdup(what);
  return VIGIL_EINVAL;
}

int vigil__plugin_lua_init(vigil_plugin *p, const vigil_api *api, const char *path, char **err) {
  char dir[4096], file[4096], msg[1024];
  snprintf(dir, sizeof dir, "%s", path);
  snprintf(file, sizeof file, "%s", path);
  lua_plugin *lp = calloc(1, sizeof *lp);
  if (!lp) return VIGIL_ENOMEM;
  lp->p = p;
  lp->api = api;
  lp->ctx_ref = LUA_NOREF;
  lp->sb = vigil__sandbox_open(dirname(dir), NULL, 0, LUA_PLUGIN_CAP, LUA_PLUGIN_BUDGET, msg, sizeof msg);
  if (!lp->sb) {
    free(lp);
    return refuse(err, msg);
  }
  int rc = api->on_close(p, on_close, lp);
  if (rc < 0) {
    on_close(lp);
    return rc;
  }
  lua_State *L = lp->sb->L;
  if (vigil__plugin_lua_run(lp->sb, basename(file), msg, sizeof msg) != LUA_OK) return refuse(err, msg);
  int decl = lua_gettop(L);
  if (!lua_istable(L, decl) || (lua_getfield(L, decl, "on"), !lua_istable(L, -1))) {
    snprintf(msg, sizeof msg, "%s: should return { on = { [\"alert.raised\"] = function(event, ctx) ... end } }", path);
    lua_settop(L, 0);
    return refuse(err, msg);
  }
  push_ctx(lp);
  lp->ctx_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushnil(L);
  while (lua_next(L, decl + 1)) {
    if (lua_type(L, -2) != LUA_TSTRING || !lua_isfunction(L, -1)) {
      snprintf(msg, sizeof msg, "%s: on: each entry is [\"pattern\"] = function(event, ctx)", path);
      lua_settop(L, 0);
      return refuse(err, msg);
    }
    lua_sub *s = calloc(1, sizeof *s);
    lua_sub **grown = s ? realloc(lp->subs, (lp->n_subs + 1) * sizeof *grown) : NULL;
    if (!grown) {
      free(s);
      lua_settop(L, 0);
      return VIGIL_ENOMEM;
    }
    lp->subs = grown;
    lp->subs[lp->n_subs++] = s;
    s->lp = lp;
    lua_pushvalue(L, -1);
    s->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    const char *pattern = lua_tostring(L, -2);
    if ((rc = api->subscribe(p, pattern, on_event, s)) < 0) {
      snprintf(msg, sizeof msg, "%s: on: '%s' matches no event type (try \"*\", \"alert.*\" or \"item.overdue\")", path,
               pattern);
      lua_settop(L, 0);
      return refuse(err, msg);
    }
    lua_pop(L, 1);
  }
  lua_settop(L, 0);
  return 0;
}
