/* scenario.c: a scripted visit in simulated time. */
#include "author/scenario.h"

#include <jansson.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/intern.h"
#include "engine/json_input.h"
#include "lang/value_convert.h"

/* A scenario is data: it runs with no libraries and a small budget. */
static void scenario_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  luaL_error(L, "the scenario runs too long (it should only return a table)");
}

static int64_t duration_ms(const char *s, int *ok) {
  int64_t total = 0;
  *ok = s && *s;
  while (*ok && *s) {
    char *end;
    long long n = strtoll(s, &end, 10);
    int64_t unit = *end == 's' ? 1000 : *end == 'm' ? 60000 : *end == 'h' ? 3600000 : *end == 'd' ? 86400000 : 0;
    if (end == s || !unit) *ok = 0;
    total += n * unit;
    s = end + 1;
  }
  return total;
}

/* The Lua value at idx as JSON text (caller frees). */
static char *to_json(lua_State *L, int idx) {
  val v;
  char err[256];
  if (vigil__val_from_lua(L, idx, &v, err, sizeof err) < 0) return NULL;
  buf b;
  vigil__buf_init(&b);
  vigil__val_to_json(&b, v);
  vigil__val_release(v);
  return vigil__buf_take(&b);
}

static const char *field_str(lua_State *L, int idx, const char *key) {
  lua_getfield(L, idx, key);
  const char *s = lua_tostring(L, -1);
  lua_pop(L, 1); /* the string stays alive in the table */
  return s;
}

/* Acknowledges the newest unacknowledged alert of a rule (or item), with a
 * reason when given (a carried alert needs one). */
static int ack_rule(vigil_engine *e, uint64_t visit, const char *actor, const char *rule, const char *reason) {
  char *state = vigil_visit_json(e, visit);
  json_t *j = state ? json_loads(state, 0, NULL) : NULL;
  vigil_free(state);
  json_t *alerts = json_object_get(j, "alerts");
  uint64_t id = 0;
  size_t i;
  json_t *a;
  json_array_foreach(alerts, i, a) {
    const char *r = json_string_value(json_object_get(a, "rule"));
    const char *st = json_string_value(json_object_get(a, "state"));
    if (!r || !st || json_is_true(json_object_get(a, "acknowledged")) || !strcmp(st, "closed")) continue;
    const char *dot = strrchr(r, '.');
    if (!strcmp(r, rule) || (dot && !strcmp(dot + 1, rule)))
      id = (uint64_t)json_integer_value(json_object_get(a, "id"));
  }
  json_decref(j);
  if (!id) return VIGIL_ENOENT;
  return vigil_alert_ack(e, id, actor, reason);
}

int vigil__scenario_step(vigil_engine *e, lua_State *L, int step, uint64_t visit, const char *actor, buf *desc) {
  /* clinician = true: the step's entry or amendment is a clinician's, as the
   * server says of one (visit.changes, visit.amended: U6, AW1). */
  lua_getfield(L, step, "clinician");
  int clinician = lua_toboolean(L, -1);
  lua_pop(L, 1);
  lua_getfield(L, step, "record");
  if (lua_istable(L, -1)) {
    char *json = to_json(L, -1);
    lua_pop(L, 1);
    vigil__buf_printf(desc, "record %s%s", json ? json : "?", clinician ? ", a clinician's" : "");
    json_t *values = json ? json_loads(json, JSON_PRESERVE_ORDER, NULL) : NULL;
    int rc = values ? vigil__visit_record_value(e, visit, actor, clinician, values) : VIGIL_EINVAL;
    json_decref(values);
    free(json);
    return rc;
  }
  lua_pop(L, 1);
  const char *s;
  if ((s = field_str(L, step, "ack"))) {
    const char *reason = field_str(L, step, "reason");
    vigil__buf_printf(desc, "acknowledge %s%s%s%s", s, reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
    return ack_rule(e, visit, actor, s, reason);
  }
  lua_getfield(L, step, "amend");
  if (lua_istable(L, -1)) {
    int t = lua_gettop(L);
    const char *item = field_str(L, t, "item"), *reason = field_str(L, t, "reason");
    /* clinician = true here too (as the step's): the amendment is a clinician's (U6). */
    lua_getfield(L, t, "clinician");
    clinician |= lua_toboolean(L, -1);
    lua_getfield(L, t, "value");
    char *json = to_json(L, -1);
    lua_pop(L, 3);
    vigil__buf_printf(desc, "amend %s to %s (%s)%s", item ? item : "?", json ? json : "?", reason ? reason : "",
                      clinician ? ", a clinician's" : "");
    json_t *value = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
    int rc = value ? vigil__visit_amend_value(e, visit, actor, clinician, item, value, reason) : VIGIL_EINVAL;
    json_decref(value);
    free(json);
    return rc;
  }
  lua_pop(L, 1);
  lua_getfield(L, step, "skip");
  if (lua_istable(L, -1)) {
    int t = lua_gettop(L);
    const char *item = field_str(L, t, "item"), *reason = field_str(L, t, "reason");
    lua_pop(L, 1);
    vigil__buf_printf(desc, "skip %s (%s)", item ? item : "?", reason ? reason : "");
    return vigil_visit_skip(e, visit, actor, item, reason);
  }
  lua_pop(L, 1);
  lua_getfield(L, step, "rems_submitted");
  if (lua_istable(L, -1)) {
    /* The session's REMS Patient Monitoring Form sent (docs/rems.md), now. */
    int t = lua_gettop(L);
    const char *method = field_str(L, t, "method"), *reference = field_str(L, t, "reference");
    const char *by = field_str(L, t, "by");
    lua_pop(L, 1);
    vigil__buf_printf(desc, "REMS form submitted (%s, %s)", method ? method : "?", reference ? reference : "?");
    return vigil_visit_rems_submitted(e, visit, actor, by, 0, method, reference);
  }
  lua_pop(L, 1);
  lua_getfield(L, step, "advance");
  int advance = lua_toboolean(L, -1);
  lua_getfield(L, step, "discharge");
  int discharge = lua_toboolean(L, -1);
  lua_pop(L, 2);
  if (advance) {
    vigil__buf_puts(desc, "leave the phase");
    return vigil_visit_advance(e, visit, actor);
  }
  if (discharge) {
    vigil__buf_puts(desc, "discharge");
    return vigil_visit_discharge(e, visit, actor);
  }
  if ((s = field_str(L, step, "override"))) {
    /* holds = { "dose_calc", ... }: the rule holds it passes, each named (Q5). The
     * strings stay in the step's table, which the caller keeps. */
    const char *holds[64];
    size_t n = 0;
    lua_getfield(L, step, "holds");
    if (lua_istable(L, -1))
      for (lua_Integer k = 1; n < 64; k++) {
        lua_rawgeti(L, -1, k);
        const char *h = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        lua_pop(L, 1);
        if (!h) break;
        holds[n++] = h;
      }
    lua_pop(L, 1);
    vigil__buf_printf(desc, "override the gate (%s)", s);
    for (size_t k = 0; k < n; k++)
      vigil__buf_printf(desc, "%s%s", k ? ", " : " passing ", holds[k]);
    return vigil_visit_override_holds(e, visit, actor, s, holds, n);
  }
  if ((s = field_str(L, step, "abort"))) {
    vigil__buf_printf(desc, "abort (%s)", s);
    return vigil_visit_abort(e, visit, actor, s);
  }
  vigil__buf_puts(desc, "(a step that does nothing)");
  return VIGIL_EINVAL;
}

typedef struct step_ref {
  int64_t at;
  int index;
} step_ref;

static int step_cmp(const void *a, const void *b) {
  const step_ref *x = a, *y = b;
  if (x->at != y->at) return x->at < y->at ? -1 : 1;
  return x->index - y->index; /* same time: file order */
}

int vigil__scenario_run(vigil_engine *e, const char *protocol, const char *path, scenario_step_fn fn, void *ud,
                        uint64_t *visit_out, char *err, size_t errlen) {
  lua_State *L = luaL_newstate();
  if (!L) {
    snprintf(err, errlen, "out of memory");
    return VIGIL_ENOMEM;
  }
  int rc = 0;
  step_ref *steps = NULL;
  if (luaL_loadfilex(L, path, "t") != LUA_OK) {
    snprintf(err, errlen, "%s", lua_tostring(L, -1));
    rc = VIGIL_EINVAL;
    goto out;
  }
  lua_newtable(L); /* an empty environment */
  lua_setupvalue(L, -2, 1);
  lua_sethook(L, scenario_hook, LUA_MASKCOUNT, 10000000);
  if (lua_pcall(L, 0, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
    snprintf(err, errlen, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "the scenario must return a table");
    rc = VIGIL_EINVAL;
    goto out;
  }
  lua_sethook(L, NULL, 0, 0);
  int sc = lua_gettop(L);
  const char *patient = field_str(L, sc, "patient");
  const char *actor = field_str(L, sc, "actor");
  if (!actor) actor = "nurse";
  lua_getfield(L, sc, "params");
  char *params = lua_istable(L, -1) ? to_json(L, -1) : NULL;
  lua_pop(L, 1);
  int64_t start = vigil_engine_now(e);
  uint64_t visit = 0;
  rc = vigil_visit_start(e, protocol, patient ? patient : "scenario", actor, params, &visit);
  free(params);
  if (rc < 0) {
    snprintf(err, errlen, "cannot start the visit: %s", vigil_engine_errmsg(e));
    goto out;
  }
  if (visit_out) *visit_out = visit;

  lua_getfield(L, sc, "steps");
  int st = lua_gettop(L);
  int n = lua_istable(L, st) ? (int)lua_rawlen(L, st) : 0;
  steps = calloc(n ? (size_t)n : 1, sizeof *steps);
  if (!steps) {
    rc = VIGIL_ENOMEM;
    goto out;
  }
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, st, i + 1);
    int ok = 0;
    const char *at = lua_istable(L, -1) ? field_str(L, lua_gettop(L), "at") : NULL;
    steps[i] = (step_ref){.at = duration_ms(at, &ok), .index = i};
    lua_pop(L, 1);
    if (!ok) {
      snprintf(err, errlen, "%s: step %d needs at = \"15m\" (a duration from the visit's start)", path, i + 1);
      rc = VIGIL_EINVAL;
      goto out;
    }
  }
  qsort(steps, (size_t)n, sizeof *steps, step_cmp);
  int64_t end = 0;
  for (int i = 0; i < n; i++) {
    vigil_engine_advance_to(e, start + steps[i].at);
    lua_rawgeti(L, st, steps[i].index + 1);
    int t = lua_gettop(L);
    const char *who = field_str(L, t, "actor");
    buf desc;
    vigil__buf_init(&desc);
    int src = vigil__scenario_step(e, L, t, visit, who ? who : actor, &desc);
    if (fn) fn(ud, steps[i].at, desc.p ? desc.p : "", src, src < 0 ? vigil_engine_errmsg(e) : NULL);
    vigil__buf_free(&desc);
    lua_settop(L, st);
    end = steps[i].at;
  }
  int ok = 0;
  const char *until = field_str(L, sc, "run_until");
  int64_t run_until = until ? duration_ms(until, &ok) : 0;
  if (until && !ok) {
    snprintf(err, errlen, "%s: run_until must be a duration such as \"4h\"", path);
    rc = VIGIL_EINVAL;
    goto out;
  }
  vigil_engine_advance_to(e, start + (run_until > end ? run_until : end));
  rc = 0;
out:
  free(steps);
  lua_close(L);
  return rc;
}
