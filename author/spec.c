/* spec.c: protocol tests in simulated time, the C side.
 *
 * The runner's logic (reading a spec, matching expectations against events,
 * wording failures) is Lua, in core/lang/lua/spec.lua, in a plain state of its own:
 * a spec is its author's own test file, not protocol code, so it needs no
 * sandbox beyond an instruction budget. This file hands that state the engine
 * (host.start, host.step, ...) and gives each result back to C. */
#include "author/spec.h"

#include <jansson.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "author/coverage.h"
#include "lang/embedded_lua.h"
#include "lang/lua_json.h"
#include "lang/sandbox.h"
#include "author/scenario.h"
#include "shared_state.h"
#include "lang/value_convert.h"

#define SPEC_T0 1767600000000LL /* 2026-01-05T08:00:00Z, as vigil simulate */
#define SPEC_BUDGET 200000000   /* instructions for a whole spec file */

typedef struct spec_run {
  vigil_engine *e;
  const char *ref;
  lua_State *L;
  int events_ref; /* registry: the list of decoded events */
  spec_result_fn fn;
  void *ud;
  int failed;
  const char *params; /* a JSON object set on every visit started, over the spec's own; NULL: none */
} spec_run;

static void budget_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  luaL_error(L, "the spec runs too long (an endless loop?)");
}

static int push_json_text(lua_State *L, const char *text) {
  json_t *j = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
  if (!j) return 0;
  vigil__lua_json_push(L, j);
  json_decref(j);
  return 1;
}

/* Every event, decoded, with time in ms since the epoch. */
static int on_event(void *ud, const vigil_event *ev) {
  spec_run *r = ud;
  lua_State *L = r->L;
  char *text = vigil_event_json(r->e, ev);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->events_ref);
  if (push_json_text(L, text)) {
    lua_pushinteger(L, (lua_Integer)vigil_event_time(ev));
    lua_setfield(L, -2, "time");
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  }
  lua_pop(L, 1);
  vigil_free(text);
  return 0;
}

static spec_run *run_of(lua_State *L) { return lua_touserdata(L, lua_upvalueindex(1)); }

/* host.start(patient, actor, params) -> visit, start_ms | nil, message */
static int host_start(lua_State *L) {
  spec_run *r = run_of(L);
  const char *patient = luaL_checkstring(L, 1), *actor = luaL_checkstring(L, 2);
  char *params = NULL;
  if (lua_istable(L, 3)) {
    val v;
    char err[256];
    if (vigil__val_from_lua(L, 3, &v, err, sizeof err) < 0) {
      lua_pushnil(L);
      lua_pushfstring(L, "params: %s", err);
      return 2;
    }
    buf b;
    vigil__buf_init(&b);
    vigil__val_to_json(&b, v);
    vigil__val_release(v);
    params = vigil__buf_take(&b);
  }
  if (r->params) {
    /* What a nurse may set at a start, over what the spec set (S5: vigil protocol diff). */
    json_t *mine = params ? json_loads(params, 0, NULL) : json_object(), *over = json_loads(r->params, 0, NULL);
    if (json_is_object(mine) && json_is_object(over)) json_object_update(mine, over);
    free(params);
    params = json_is_object(mine) ? json_dumps(mine, JSON_COMPACT) : NULL;
    json_decref(mine);
    json_decref(over);
  }
  uint64_t visit = 0;
  int64_t t0 = vigil_engine_now(r->e);
  int rc = vigil_visit_start(r->e, r->ref, patient, actor, params, &visit);
  free(params);
  if (rc < 0) {
    lua_pushnil(L);
    lua_pushstring(L, vigil_engine_errmsg(r->e));
    return 2;
  }
  lua_pushinteger(L, (lua_Integer)visit);
  lua_pushinteger(L, (lua_Integer)t0);
  return 2;
}

static int host_advance_to(lua_State *L) {
  spec_run *r = run_of(L);
  int64_t to = (int64_t)luaL_checkinteger(L, 1);
  if (to > vigil_engine_now(r->e)) vigil_engine_advance_to(r->e, to);
  return 0;
}

/* host.step(visit, actor, step) -> ok, description, error */
static int host_step(lua_State *L) {
  spec_run *r = run_of(L);
  uint64_t visit = (uint64_t)luaL_checkinteger(L, 1);
  const char *actor = luaL_checkstring(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  buf desc;
  vigil__buf_init(&desc);
  int rc = vigil__scenario_step(r->e, L, 3, visit, actor, &desc);
  lua_settop(L, 3);
  lua_pushboolean(L, rc >= 0);
  lua_pushstring(L, desc.p ? desc.p : "");
  if (rc >= 0) {
    vigil__buf_free(&desc);
    return 2;
  }
  /* The reason, always (G7: an acknowledgement of no open alert said nothing). */
  const char *why = vigil_engine_errmsg(r->e);
  if (rc == VIGIL_ENOENT && desc.p && !strncmp(desc.p, "acknowledge ", 12))
    lua_pushfstring(L,
                    "no alert of %s is there to acknowledge (none was raised, it is acknowledged already, or it "
                    "closed)",
                    desc.p + 12);
  else if (!why || !*why)
    lua_pushstring(L, vigil_strerror(rc));
  else
    lua_pushstring(L, why);
  vigil__buf_free(&desc);
  return 3;
}

static int host_state(lua_State *L) {
  spec_run *r = run_of(L);
  char *text = vigil_visit_json(r->e, (uint64_t)luaL_checkinteger(L, 1));
  int n = push_json_text(L, text);
  vigil_free(text);
  if (!n) return luaL_error(L, "the visit's state cannot be read: %s", vigil_engine_errmsg(r->e));
  return 1;
}

static int host_events(lua_State *L) {
  spec_run *r = run_of(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->events_ref);
  return 1;
}

/* host.patient(patient) -> the patient's courses, decoded, or nil (none). */
static int host_patient(lua_State *L) {
  spec_run *r = run_of(L);
  char *text = vigil_patient_json(r->e, luaL_checkstring(L, 1));
  int n = push_json_text(L, text);
  vigil_free(text);
  if (!n) lua_pushnil(L);
  return 1;
}

static const char *opt_field(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  const char *s = lua_tostring(L, -1);
  lua_pop(L, 1); /* the string stays alive in the table */
  return s;
}

/* report(result): hands one result to the C caller. */
static int report(lua_State *L) {
  spec_run *r = run_of(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "ok");
  spec_result res = {.ok = lua_toboolean(L, -1)};
  lua_pop(L, 1);
  res.spec = opt_field(L, 1, "spec");
  res.name = opt_field(L, 1, "name");
  res.where = opt_field(L, 1, "where");
  res.message = opt_field(L, 1, "message");
  res.expected = opt_field(L, 1, "expected");
  res.actual = opt_field(L, 1, "actual");
  if (!res.ok) r->failed++;
  if (r->fn) r->fn(r->ud, &res);
  return 0;
}

static lua_State *runner_state(spec_run *r, char *err, size_t errlen) {
  lua_State *L = luaL_newstate();
  if (!L) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  r->L = L;
  vigil__sandbox_open_libs(L);
  lua_newtable(L);
  r->events_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  if (luaL_loadbufferx(L, vigil__spec_lua_src, vigil__spec_lua_len, "=spec.lua", "t") != LUA_OK) {
    snprintf(err, errlen, "%s", lua_tostring(L, -1));
    return NULL;
  }
  /* The protocol language, for durations and file:line (as protocols read them). */
  if (luaL_loadbufferx(L, vigil__vigil_lua_src, vigil__vigil_lua_len, "=vigil.lua", "t") != LUA_OK) {
    snprintf(err, errlen, "%s", lua_tostring(L, -1));
    return NULL;
  }
  lua_newtable(L);
  lua_getglobal(L, "debug");
  lua_getfield(L, -1, "getinfo");
  lua_setfield(L, -3, "getinfo");
  lua_pop(L, 1);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    snprintf(err, errlen, "%s", lua_tostring(L, -1));
    return NULL;
  }
  static const luaL_Reg host[] = {{"start", host_start}, {"advance_to", host_advance_to}, {"step", host_step},
                                  {"state", host_state}, {"events", host_events},         {"patient", host_patient},
                                  {NULL, NULL}};
  lua_newtable(L);
  lua_pushlightuserdata(L, r);
  luaL_setfuncs(L, host, 1);
  lua_insert(L, -2); /* spec.lua, host, lang */
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
    snprintf(err, errlen, "%s", lua_tostring(L, -1));
    return NULL;
  }
  return L; /* the runner module is on the stack */
}

/* Every visit of a protocol version runs the same code: a local of the
 * protocol's files that the specs' visits changed carries one patient's
 * visit into the next. One failed check when that happened. */
static void state_kept(spec_run *r, const char *path, const shared_state *before) {
  /* A table it keeps is read-only (AM5): a write failed its rule, which the
   * spec may not have looked at, or a pcall of the protocol swallowed. */
  const char *write = vigil__shared_state_kept_write(r->e);
  if (write) {
    char where[300];
    const char *said = strstr(write, ": cannot set ");
    size_t n = said ? (size_t)(said - write) : 0;
    snprintf(where, sizeof where, "%.*s", (int)(n < sizeof where ? n : sizeof where - 1), write);
    spec_result res = {.ok = 0,
                       .spec = path,
                       .name = "the protocol keeps nothing between visits",
                       .where = said ? where : path,
                       .message = said ? said + 2 : write};
    r->failed++;
    if (r->fn) r->fn(r->ud, &res);
    return;
  }
  shared_state after;
  if (vigil__shared_state_take(r->e, &after) < 0) return;
  const state_root *c = vigil__shared_state_changed(before, &after);
  if (c) {
    char msg[1024];
    snprintf(msg, sizeof msg,
             "'%s', a local that the function at %s closes over, changed while the specs ran: every visit of a "
             "protocol version runs the same code, so what one visit leaves there reaches the next patient's "
             "visit, and a restart does not rebuild it. Keep what a visit needs in the visit (visit.value, "
             "visit.last, visit.count, visit.held)",
             c->name, c->where);
    spec_result res = {
        .ok = 0, .spec = path, .name = "the protocol keeps nothing between visits", .where = c->where, .message = msg};
    r->failed++;
    if (r->fn) r->fn(r->ud, &res);
  }
  vigil__shared_state_free(&after);
}

int vigil__spec_run_file(const char *protocol, const char *path, spec_result_fn fn, void *ud, spec_coverage *cov,
                         char *err, size_t errlen) {
  return vigil__spec_run_file_with(protocol, path, NULL, fn, ud, cov, err, errlen);
}

int vigil__spec_run_file_with(const char *protocol, const char *path, const char *params, spec_result_fn fn, void *ud,
                              spec_coverage *cov, char *err, size_t errlen) {
  spec_run r = {.fn = fn, .ud = ud, .params = params};
  vigil_options opts = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = SPEC_T0};
  int rc = vigil_engine_new(&opts, &r.e);
  if (rc < 0) {
    snprintf(err, errlen, "cannot start an engine: %s", vigil_strerror(rc));
    return rc;
  }
  rc = vigil_engine_load(r.e, protocol, &r.ref);
  if (rc < 0) {
    snprintf(err, errlen, "%s", vigil_engine_errmsg(r.e));
    vigil_engine_free(r.e);
    return rc;
  }
  if (cov) vigil__coverage_attach(cov, r.e);
  lua_State *L = runner_state(&r, err, errlen);
  if (!L) {
    rc = VIGIL_ENOMEM;
    goto out;
  }
  vigil_engine_subscribe(r.e, "*", on_event, &r);
  shared_state before = {0};
  int watched = vigil__shared_state_take(r.e, &before) == 0;
  lua_getfield(L, -1, "run_file");
  lua_pushstring(L, path);
  lua_pushlightuserdata(L, &r);
  lua_pushcclosure(L, report, 1);
  lua_sethook(L, budget_hook, LUA_MASKCOUNT, SPEC_BUDGET);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    /* The runner itself failed (a spec looping, out of memory): one result. */
    spec_result res = {.ok = 0, .spec = path, .name = "spec runs", .where = path, .message = lua_tostring(L, -1)};
    r.failed++;
    if (fn) fn(ud, &res);
  }
  if (watched) state_kept(&r, path, &before);
  vigil__shared_state_free(&before);
  rc = r.failed;
out:
  if (cov) vigil__coverage_detach(cov, r.e);
  if (r.L) lua_close(r.L);
  vigil_engine_free(r.e);
  return rc;
}
