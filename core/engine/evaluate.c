/* evaluate.c: every call from the engine into a protocol's Lua.
 *
 * Each call runs under the sandbox's budget with `visit` bound to one visit.
 * A call that fails never stops the engine: it becomes a technical alert
 * naming the rule and the file:line where it failed, and the visit goes on. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evaluate.h"
#include "model.h"
#include "alerts.h"
#include "clock.h"
#include "emit.h"
#include "fail.h"
#include "late_entry.h"
#include "outcome.h"
#include "recover.h"
#include "visit.h"
#include "base/buf.h"
#include "base/intern.h"
#include "lang/value_convert.h"

static void outcomes_free(outcomes *o) {
  for (int i = 0; i < o->n; i++)
    free(o->v[i].message);
  o->n = 0;
}

int vigil__lua_pool_arm(vigil_engine *e) {
  if (e->lua_pool.armed) return 0;
  uint64_t per_call = e->opts.lua_instruction_budget ? e->opts.lua_instruction_budget : SANDBOX_DEFAULT_BUDGET;
  e->lua_pool.size = e->opts.lua_entry_budget ? e->opts.lua_entry_budget : 2 * per_call;
  e->lua_pool.left = e->lua_pool.size;
  e->lua_pool.time_limit_ns = (uint64_t)e->opts.lua_entry_time_limit_ms * 1000000u;
  e->lua_pool.deadline = 0; /* the entry's time begins at its first call */
  e->lua_pool.armed = 1;
  return 1;
}

void vigil__lua_pool_disarm(vigil_engine *e, int armed) {
  if (armed) e->lua_pool.armed = 0;
}

static int bind_call(vigil_engine *e, visit *v, int fn_ref) {
  lua_State *L = v->p->sb->L;
  e->cur = v;
  lua_rawgeti(L, LUA_REGISTRYINDEX, fn_ref);
  return lua_type(L, -1) == LUA_TFUNCTION;
}

/* Whether the call just made ran out of the machine's memory (sandbox.h):
 * then the command is out of memory (e->oom, command.c undoes it), and no
 * technical alert blames the rule for it. */
static int host_oom(vigil_engine *e, sandbox *sb) {
  if (!sb->oom) return 0;
  sb->oom = 0;
  e->oom = 1;
  return 1;
}

static void push_view(visit *v) { lua_rawgeti(v->p->sb->L, LUA_REGISTRYINDEX, v->p->view_ref); }

/* t[key] without metamethods: what a rule returned is data, and reading it
 * must not run protocol code outside the budget. An outcome the protocol
 * keeps (`local CLEAR = v.note(...)` of its file) is frozen: its contents
 * are read (AM5). */
static int rawfield(lua_State *L, int idx, const char *key) {
  vigil__sandbox_push_contents(L, idx);
  lua_pushstring(L, key);
  int type = lua_rawget(L, -2);
  lua_remove(L, -2);
  return type;
}

#define MAX_MESSAGE 1000 /* what a rule may say, in bytes */

/* A finite number at t[key], or nothing (0). */
static int finite_field(lua_State *L, int idx, const char *key, double *out) {
  int ok = rawfield(L, idx, key) == LUA_TNUMBER;
  *out = ok ? lua_tonumber(L, -1) : 0;
  lua_pop(L, 1);
  return ok && *out == *out && *out - *out == 0; /* not NaN, not infinite */
}

/* J4 of docs/hl7.md: the alert's `observed` (v.alert.* made it from field,
 * reading and limit): absent is none; a table made by hand that is not
 * whole (no field, no finite reading, no limit) is refused (-1), so that an
 * alarm manager never gets half an observation. */
static int read_observed(lua_State *L, int idx, observed *ob, int *oom) {
  memset(ob, 0, sizeof *ob);
  int type = rawfield(L, idx, "observed");
  if (type == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  int t = lua_gettop(L), rc = type == LUA_TTABLE ? 0 : -1;
  if (rc == 0) {
    rawfield(L, t, "field");
    rawfield(L, t, "units");
    const char *name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    const char *units = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (!name || !units || strlen(name) > 64 || strlen(units) > 64)
      rc = -1;
    else if (!(ob->field = vigil__intern(name)) || !(ob->units = vigil__intern(units)))
      *oom = 1;
    lua_pop(L, 2);
    ob->has_low = finite_field(L, t, "low", &ob->low);
    ob->has_high = finite_field(L, t, "high", &ob->high);
    if (!finite_field(L, t, "reading", &ob->reading) || (!ob->has_low && !ob->has_high)) rc = -1;
  }
  lua_pop(L, 1);
  if (rc < 0) memset(ob, 0, sizeof *ob);
  return rc;
}

/* Reads one outcome table at idx. *oom is set when part of it could not be
 * kept (out of memory): the rule did nothing wrong, the command fails. */
static int read_outcome(lua_State *L, int idx, outcome *o, int *oom, char *err, size_t errlen) {
  memset(o, 0, sizeof *o);
  o->latching = -1;
  o->latch = -1;
  o->escalate = -1;
  rawfield(L, idx, "outcome");
  const char *kind = lua_tostring(L, -1);
  int rc = 0;
  if (!kind)
    rc = -1;
  else if (!strcmp(kind, "alert"))
    o->kind = OUT_ALERT;
  else if (!strcmp(kind, "block"))
    o->kind = OUT_BLOCK;
  else if (!strcmp(kind, "note"))
    o->kind = OUT_NOTE;
  else
    rc = -1;
  lua_pop(L, 1);
  if (rc < 0) {
    snprintf(err, errlen, "returned a table that is not an outcome (use v.alert.*, v.block or v.note)");
    return -1;
  }
  rawfield(L, idx, o->kind == OUT_BLOCK ? "reason" : "message");
  size_t len = 0;
  const char *text = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : "";
  o->message = strndup(text, len > MAX_MESSAGE ? MAX_MESSAGE : len);
  if (!o->message) *oom = 1;
  lua_pop(L, 1);
  rawfield(L, idx, "id");
  if (lua_type(L, -1) == LUA_TSTRING && !(o->id = vigil__intern(lua_tostring(L, -1)))) *oom = 1;
  lua_pop(L, 1);
  if (o->kind == OUT_ALERT) {
    rawfield(L, idx, "priority");
    vigil__priority_parse(lua_tostring(L, -1), &o->prio);
    rawfield(L, idx, "latching");
    if (!lua_isnil(L, -1)) o->latching = lua_toboolean(L, -1);
    rawfield(L, idx, "latch");
    if (!lua_isnil(L, -1)) o->latch = lua_toboolean(L, -1);
    rawfield(L, idx, "scope");
    const char *scope = lua_tostring(L, -1);
    if (scope && !strcmp(scope, "reading"))
      o->per_reading = 1;
    else if (scope && strcmp(scope, "condition"))
      rc = -1;
    rawfield(L, idx, "value"); /* what the alert is about: a number, or a finding as text */
    if (lua_type(L, -1) == LUA_TNUMBER) {
      o->has_value = 1;
      o->value = lua_tonumber(L, -1);
      if (o->value != o->value) o->has_value = 0; /* NaN compares with nothing */
    } else if (lua_type(L, -1) == LUA_TSTRING) {
      size_t vlen = 0;
      const char *t = lua_tolstring(L, -1, &vlen);
      if (vlen <= MAX_MESSAGE) {
        o->has_value = 1;
        if (!(o->value_text = vigil__intern(t))) *oom = 1;
      }
    }
    lua_pop(L, 1);
    if (read_observed(L, idx, &o->obs, oom) < 0) {
      rc = -2;
      snprintf(err, errlen,
               "alert observed: a vitals field with its reading and limit (v.alert.* field, reading, "
               "limit)");
    }
    rawfield(L, idx, "escalate"); /* ms: v.alert.* parsed the duration */
    /* A table made by hand may hold anything: a week at most, or refused
     * (casting a huge or NaN double to an integer is undefined). */
    double escalate = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : -1;
    int bad_escalate = lua_isnumber(L, -1) && !(escalate >= 0 && escalate <= 7 * 86400000.0);
    if (lua_isnumber(L, -1) && !bad_escalate) o->escalate = (int64_t)escalate;
    lua_pop(L, 4);
    if (rc == -1) snprintf(err, errlen, "alert scope must be \"condition\" or \"reading\"");
    if (rc == 0 && bad_escalate) {
      rc = -1;
      snprintf(err, errlen, "alert escalate must be a duration of at most 7 days");
    }
  }
  if (*oom) rc = -1;
  return rc;
}

/* Reads what a rule returned (at the top of the stack) into o. */
static int read_outcomes(lua_State *L, outcomes *o) {
  int top = lua_gettop(L);
  if (lua_isnil(L, top) || (lua_isboolean(L, top) && !lua_toboolean(L, top))) return 0;
  if (!lua_istable(L, top)) {
    snprintf(o->error, sizeof o->error, "returned a %s, not an outcome", luaL_typename(L, top));
    return -1;
  }
  rawfield(L, top, "outcome");
  int single = !lua_isnil(L, -1);
  lua_pop(L, 1);
  if (single) {
    if (read_outcome(L, top, &o->v[0], &o->oom, o->error, sizeof o->error) < 0) {
      free(o->v[0].message);
      return -1;
    }
    o->n = 1;
    return 0;
  }
  vigil__sandbox_push_contents(L, top);
  int list = lua_gettop(L);
  lua_Integer n = (lua_Integer)lua_rawlen(L, list);
  for (lua_Integer i = 1; i <= n && o->n < (int)(sizeof o->v / sizeof o->v[0]); i++) {
    lua_rawgeti(L, list, i);
    int rc = lua_istable(L, -1) ? read_outcome(L, lua_gettop(L), &o->v[o->n], &o->oom, o->error, sizeof o->error) : -1;
    lua_pop(L, 1);
    if (rc < 0) {
      free(o->v[o->n].message);
      if (!o->error[0]) snprintf(o->error, sizeof o->error, "returned a list with something that is not an outcome");
      lua_settop(L, top);
      return -1;
    }
    o->n++;
  }
  lua_settop(L, top);
  return 0;
}

#define FAILURE_LOG_EVERY_MS 60000 /* a rule failing at every entry logs once a minute, not each time */

/* AB4: the rule failed again while its technical alert is open. The alert
 * is raised once per cause (alerts.c), but a later failure must not pass
 * without a trace: an integrator reading the log, or staff reading the
 * alert, must see that it keeps failing and how (a time limit's "stopped
 * after" of the last run, not only of the first). The visit's alert counts
 * them and keeps the last one's words (`failures`, `last_failure`:
 * visit_json.c); the log says it at the first repeat and then at most once
 * a minute, with how many since it last said so. */
static void failed_again(vigil_engine *e, visit *v, alert *a, const char *msg) {
  int64_t now = vigil__engine_now(e);
  char *copy = strdup(msg);
  if (copy) {
    free(a->last_failure);
    a->last_failure = copy;
  }
  a->failures = (a->failures ? a->failures : 1) + 1;
  a->last_failed_at = now;
  if (a->failures > 2 && now - a->failure_logged_at < FAILURE_LOG_EVERY_MS) return;
  a->failure_logged_at = now;
  vigil__engine_log(e, VIGIL_LOG_WARN, "visit %llu: failed again (%u times while alert %llu is open): %s",
                    (unsigned long long)v->id, (unsigned)a->failures, (unsigned long long)a->id, msg);
}

/* prio: the highest priority of what failed (H6 in docs/safety.md): a rule's
 * failure is as urgent as the alert it can no longer raise. */
static void technical_alert_of(vigil_engine *e, visit *v, int phase, const char *rule, const char *what,
                               const char *where, const char *error, priority prio) {
  char key[600], msg[2000];
  const char *k = NULL;
  if (rule) {
    snprintf(key, sizeof key, "%s!error", rule);
    k = vigil__intern(key);
  }
  if (!k) {
    e->oom = 1; /* the alert cannot be raised: the command fails rather than drop it */
    return;
  }
  alert *open = NULL;
  for (uint32_t i = 0; i < v->n_alerts && !open; i++)
    if (v->alerts[i]->key == k && !v->alerts[i]->cleared && v->alerts[i]->phase == phase) open = v->alerts[i];
  /* One wording (X6): "rule 'x' failed at protocol.lua:9: what". A Lua
   * error carries its own file:line first, which is where it failed; a bad
   * return value, a time limit or a refused pattern does not, and the
   * declaration's place stands for it. */
  size_t file = strcspn(error, ": \t\n"), digits = error[file] == ':' ? strspn(error + file + 1, "0123456789") : 0;
  if (file && digits && !strncmp(error + file + 1 + digits, ": ", 2))
    snprintf(msg, sizeof msg, "%s '%s' failed at %.*s: %s", what, rule, (int)(file + 1 + digits), error,
             error + file + digits + 3);
  else if (where)
    snprintf(msg, sizeof msg, "%s '%s' failed at %s: %s", what, rule, where, error);
  else
    snprintf(msg, sizeof msg, "%s '%s' failed: %s", what, rule, error);
  /* Staff and the log see the protocol's files by their path in its
   * folder, never where the server keeps them (S5, Y7). */
  vigil__text_drop_dir(msg, v->p->sb ? v->p->sb->dir : NULL);
  if (open) {
    failed_again(e, v, open, msg);
    return;
  }
  vigil__engine_log(e, VIGIL_LOG_WARN, "visit %llu: %s", (unsigned long long)v->id, msg);
  alert_more more = {.phase = phase != v->phase ? v->p->phases[phase].id : NULL};
  vigil__raise_alert(e, v, SRC_TECHNICAL, rule, k, prio, msg, v->p->latching, v->p->escalate, -1, &more);
}

static void technical_alert(vigil_engine *e, visit *v, const char *rule, const char *what, const char *where,
                            const char *error, priority prio) {
  technical_alert_of(e, v, v->phase, rule, what, where, error, prio);
}

/* phase: the rule's (an amendment runs the rules of a phase the visit has
 * left: its item references are that phase's); assessed: it runs on a
 * signature's recording (1 + the signature item, else 0). */
static void run_rule(vigil_engine *e, visit *v, rule_spec *r, val x, int phase, int assessed) {
  sandbox *sb = v->p->sb;
  lua_State *L = sb->L;
  outcomes o = {.n = 0};
  if (!bind_call(e, v, r->fn_ref)) {
    lua_pop(L, 1);
    return;
  }
  vigil__val_push_lua_arg(sb, x);
  push_view(v);
  e->stats.lua_calls++;
  r->runs++;
  e->view_phase1 = phase != v->phase ? (uint16_t)(phase + 1) : 0;
  int called = vigil__sandbox_call(sb, 2, 1, o.error, sizeof o.error);
  e->view_phase1 = 0;
  if (host_oom(e, sb)) {
    if (called == LUA_OK) lua_pop(L, 1);
    return;
  }
  if (called != LUA_OK) {
    technical_alert_of(e, v, phase, r->id, "rule", r->where, o.error, vigil__rule_fail_priority(r));
    return;
  }
  int rc = read_outcomes(L, &o);
  if (rc == 0 && o.n > 0) r->fired++;
  lua_pop(L, 1);
  if (o.oom) {
    outcomes_free(&o);
    e->oom = 1; /* an outcome that could not be read is not the rule's error */
    return;
  }
  if (rc < 0) {
    outcomes_free(&o);
    technical_alert_of(e, v, phase, r->id, "rule", r->where, o.error, vigil__rule_fail_priority(r));
    return;
  }
  vigil__apply_outcomes(e, v, phase, r->id, &o, SRC_RULE, 1, assessed);
  outcomes_free(&o);
}

static void eval_rules(vigil_engine *e, visit *v, const int *items, int n_items) {
  vigil__eval_rules_of(e, v, v->phase, items, n_items);
}

void vigil__eval_rules_of(vigil_engine *e, visit *v, int phase, const int *items, int n_items) {
  const phase_spec *ph = &v->p->phases[phase];
  for (uint32_t i = 0; i < ph->n_rules; i++) {
    rule_spec *r = &ph->rules[i];
    int trigger = -1;
    for (uint32_t j = 0; j < r->n_on && trigger < 0; j++)
      for (int k = 0; k < n_items; k++)
        if (r->on[j] == items[k]) trigger = items[k];
    if (trigger < 0) continue;
    const reading *rd = vigil__visit_latest(v, trigger);
    if (!rd) continue;
    /* R2: an older reading of the vitals the rule reads is judged as a finding. */
    late_saved saved;
    vigil__late_rule_begin(e, v, r, trigger, &saved);
    run_rule(e, v, r, rd->v, phase, v->p->items[trigger].kind == KIND_SIGNATURE ? trigger + 1 : 0);
    vigil__late_rule_end(e, v, r, &saved);
    if (v->status != VISIT_ACTIVE) return;
  }
}

int vigil__eval_when(vigil_engine *e, visit *v, const item_spec *it) {
  if (it->when_ref == LUA_NOREF) return 1;
  sandbox *sb = v->p->sb;
  char err[1024];
  bind_call(e, v, it->when_ref);
  push_view(v);
  e->stats.lua_calls++;
  int called = vigil__sandbox_call(sb, 1, 1, err, sizeof err);
  if (host_oom(e, sb)) {
    if (called == LUA_OK) lua_pop(sb->L, 1);
    return 1; /* the command fails (e->oom) */
  }
  if (called != LUA_OK) {
    /* When in doubt the item applies: a missed check is worse than an extra one. */
    technical_alert(e, v, it->id, "condition of item", it->where, err, PRIORITY_MEDIUM);
    return 1;
  }
  int applies = lua_toboolean(sb->L, -1);
  lua_pop(sb->L, 1);
  return applies;
}

/* A gate-shaped function of the phase (ref): true, or false and why. */
static int eval_gate_ref(vigil_engine *e, visit *v, int ref, const char *what, char *reason, size_t len) {
  if (ref == LUA_NOREF) return 1;
  sandbox *sb = v->p->sb;
  lua_State *L = sb->L;
  char err[1024];
  bind_call(e, v, ref);
  push_view(v);
  e->stats.lua_calls++;
  int called = vigil__sandbox_call(sb, 1, 2, err, sizeof err);
  if (host_oom(e, sb)) {
    if (called == LUA_OK) lua_pop(L, 2);
    snprintf(reason, len, "out of memory checking %s", what);
    return 0; /* the command fails (e->oom) */
  }
  if (called != LUA_OK) {
    snprintf(reason, len, "%s could not be checked: %s", what, err);
    return 0;
  }
  int ok = lua_toboolean(L, -2) && lua_type(L, -2) == LUA_TBOOLEAN;
  if (!ok) {
    const char *why = lua_tostring(L, -1);
    snprintf(reason, len, "%s", why ? why : "the phase's gate is not met");
  }
  lua_pop(L, 2);
  return ok;
}

int vigil__eval_gate(vigil_engine *e, visit *v, char *reason, size_t len) {
  return eval_gate_ref(e, v, v->p->phases[v->phase].gate_ref, "the gate", reason, len);
}

/* AN13 (docs/safety.md): the dosing phase's `before_dose`, as a gate: what
 * the dose waits for that time alone changes (pre-dose vitals grown old). A
 * check that fails holds the dose (when in doubt, the dose waits). */
int vigil__eval_before_dose(vigil_engine *e, visit *v, char *reason, size_t len) {
  return eval_gate_ref(e, v, v->p->phases[v->phase].before_dose_ref, "the check before the dose", reason, len);
}

/* The source a Lua position names: its whole path, Lua's shortened "..." and
 * its end, or its path within the protocol's folder (the sandbox makes rule
 * errors folder-relative, security.md S5). NULL for vigil's own code. */
static const char *names_source(const protocol *p, const char *file, size_t len) {
  int tail = len > 3 && !strncmp(file, "...", 3);
  for (uint32_t i = 0; i < p->n_sources; i++) {
    const char *path = p->sources[i].path;
    size_t n = strlen(path);
    if (tail ? n >= len - 3 && !memcmp(path + n - (len - 3), file + 3, len - 3) : n == len && !memcmp(path, file, len))
      return path;
    if (!tail && n > len && path[n - len - 1] == '/' && !memcmp(path + n - len, file, len)) return path;
  }
  return NULL;
}

const char *vigil__eval_error_where(const protocol *p, const char *error, const char *where, char *pos, size_t len) {
  /* "file:line: message", as Lua puts it: the first ':' followed by digits and ": ". */
  for (const char *c = strchr(error, ':'); c && !memchr(error, '\n', (size_t)(c - error)); c = strchr(c + 1, ':')) {
    const char *d = c + 1;
    while (*d >= '0' && *d <= '9')
      d++;
    if (d == c + 1 || d[0] != ':' || d[1] != ' ') continue;
    const char *path = names_source(p, error, (size_t)(c - error));
    if (!path) break; /* vigil's own code (a library): not the author's line */
    /* Said as the declaration's position is, by the source's path. */
    snprintf(pos, len, "%s%.*s", path, (int)(d - c), c);
    return d + 2;
  }
  snprintf(pos, len, "%s", where ? where : p->ref);
  return error;
}

int vigil__eval_compute(vigil_engine *e, visit *v, const item_spec *it, val record, double *total, char *err,
                        size_t errlen) {
  if (it->compute_ref == LUA_NOREF) {
    double sum = 0;
    for (uint32_t i = 0; i < record.u.o->n; i++)
      if (val_fields(record)[i].v.type == VAL_NUMBER) sum += val_fields(record)[i].v.u.num;
    *total = sum;
    return 0;
  }
  sandbox *sb = v->p->sb;
  bind_call(e, v, it->compute_ref);
  vigil__val_push_lua_arg(sb, record);
  push_view(v);
  e->stats.lua_calls++;
  int called = vigil__sandbox_call(sb, 2, 1, err, errlen);
  if (host_oom(e, sb)) {
    if (called == LUA_OK) lua_pop(sb->L, 1);
    return -1; /* the command fails (e->oom) */
  }
  if (called != LUA_OK) return -1;
  int isnum;
  *total = lua_tonumberx(sb->L, -1, &isnum);
  lua_pop(sb->L, 1);
  if (!isnum) {
    snprintf(err, errlen, "compute of score '%s' did not return a number", it->id);
    return -1;
  }
  return 0;
}

/* A score that cannot be computed silences the rules that read it: its
 * technical alert takes the highest priority among them (medium when none). */
static priority score_priority(const phase_spec *ph, int item) {
  int found = 0;
  priority prio = PRIORITY_MEDIUM;
  for (uint32_t i = 0; i < ph->n_rules; i++)
    for (uint32_t j = 0; j < ph->rules[i].n_on; j++)
      if (ph->rules[i].on[j] == item && (!found++ || vigil__rule_fail_priority(&ph->rules[i]) > prio))
        prio = vigil__rule_fail_priority(&ph->rules[i]);
  return prio;
}

void vigil__eval_scores(vigil_engine *e, visit *v, const int *changed, int n) {
  const phase_spec *ph = &v->p->phases[v->phase];
  for (uint16_t j = 0; j < ph->n_items; j++) {
    const item_spec *it = &v->p->items[ph->first_item + j];
    int trigger = -1;
    for (uint32_t k = 0; k < it->n_from && trigger < 0; k++)
      for (int c = 0; c < n; c++)
        if (it->from[k] == changed[c]) trigger = changed[c];
    const reading *src = trigger >= 0 ? vigil__visit_latest(v, trigger) : NULL;
    if (!src) continue;
    double total;
    char err[1024];
    if (vigil__eval_compute(e, v, it, src->v, &total, err, sizeof err) < 0) {
      if (e->oom) return;
      technical_alert(e, v, it->id, "score", it->where, err, score_priority(ph, it->index));
      continue;
    }
    const reading *last = vigil__visit_latest(v, it->index);
    val *was = last ? vigil__val_get(last->v, K(total)) : NULL;
    if (was && was->type == VAL_NUMBER && was->u.num == total) continue;
    val values = vigil__val_recordv(1, it->id, vigil__val_recordv(1, K(total), val_num(total)));
    if (!vigil__emit(e, v, EV_ITEM_RECORDED, K(vigil),
                     vigil__val_recordv(2, K(phase), val_atom(ph->id), K(values), values)))
      return;
    int self = it->index;
    eval_rules(e, v, &self, 1);
  }
}

/* ---- protocol hooks ------------------------------------------------------ */

static void run_hook(vigil_engine *e, visit *v, int hook, const char *name, int nargs) {
  sandbox *sb = v->p->sb;
  lua_State *L = sb->L;
  outcomes o = {.n = 0};
  /* stack: args...; put the function below them and the view after. */
  lua_rawgeti(L, LUA_REGISTRYINDEX, v->p->hooks[hook]);
  lua_insert(L, -nargs - 1);
  push_view(v);
  e->cur = v;
  e->stats.lua_calls++;
  const char *rule = vigil__intern(name);
  int called = vigil__sandbox_call(sb, nargs + 1, 1, o.error, sizeof o.error);
  if (host_oom(e, sb) || !rule) {
    if (called == LUA_OK) lua_pop(L, 1);
    e->oom = 1;
    return;
  }
  if (called != LUA_OK) {
    technical_alert(e, v, rule, "hook", NULL, o.error, PRIORITY_MEDIUM);
    return;
  }
  int rc = read_outcomes(L, &o);
  lua_pop(L, 1);
  if (o.oom) {
    outcomes_free(&o);
    e->oom = 1;
    return;
  }
  if (rc < 0) {
    outcomes_free(&o);
    technical_alert(e, v, rule, "hook", NULL, o.error, PRIORITY_MEDIUM);
    return;
  }
  /* Hooks may add notes and alerts; they cannot block a phase. */
  for (int i = 0; i < o.n; i++)
    if (o.v[i].kind == OUT_BLOCK) o.v[i].kind = OUT_NOTE;
  vigil__apply_outcomes(e, v, v->phase, rule, &o, SRC_HOOK, 0, 0);
  outcomes_free(&o);
}

static const char *data_text(const vigil_event *ev, const char *key) {
  val *x = vigil__val_get(ev->data, key);
  return x ? val_text(*x) : NULL;
}

void vigil__eval_hooks(vigil_engine *e, const vigil_event *ev) {
  visit *v = vigil__engine_visit(e, ev->visit);
  if (!v || e->hook_depth >= 3) return;
  protocol *p = v->p;
  lua_State *L = p->sb->L;
  e->hook_depth++;
  switch ((event_type)ev->type) {
  case EV_ALERT_RAISED:
    if (p->hooks[HOOK_ALERT] != LUA_NOREF &&
        !(vigil__val_get(ev->data, K(source)) && val_text(*vigil__val_get(ev->data, K(source))) == K(hook))) {
      lua_createtable(L, 0, 6);
      val *id = vigil__val_get(ev->data, K(alert));
      lua_pushinteger(L, id ? (lua_Integer)id->u.num : 0);
      lua_setfield(L, -2, "id");
      static const char *keys[] = {"rule", "priority", "message", "source", "item"};
      for (int i = 0; i < 5; i++) {
        const char *s = data_text(ev, vigil__intern(keys[i]));
        if (s) lua_pushstring(L, s), lua_setfield(L, -2, keys[i]);
      }
      run_hook(e, v, HOOK_ALERT, "hook:alert", 1);
    }
    break;
  case EV_PHASE_ENTERED: {
    const char *from = data_text(ev, K(from)), *to = data_text(ev, K(phase));
    if (from && p->hooks[HOOK_PHASE_EXIT] != LUA_NOREF) {
      lua_pushstring(L, from);
      run_hook(e, v, HOOK_PHASE_EXIT, "hook:phase_exit", 1);
    }
    if (to && p->hooks[HOOK_PHASE_ENTER] != LUA_NOREF) {
      lua_pushstring(L, to);
      run_hook(e, v, HOOK_PHASE_ENTER, "hook:phase_enter", 1);
    }
    break;
  }
  case EV_VISIT_STARTED:
    if (p->hooks[HOOK_PHASE_ENTER] != LUA_NOREF) {
      lua_pushstring(L, p->phases[0].id);
      run_hook(e, v, HOOK_PHASE_ENTER, "hook:phase_enter", 1);
    }
    break;
  case EV_VISIT_DISCHARGED:
    if (p->hooks[HOOK_PHASE_EXIT] != LUA_NOREF) {
      lua_pushstring(L, data_text(ev, K(phase)) ? data_text(ev, K(phase)) : "");
      run_hook(e, v, HOOK_PHASE_EXIT, "hook:phase_exit", 1);
    }
    break;
  case EV_ITEM_OVERDUE:
    if (p->hooks[HOOK_OVERDUE] != LUA_NOREF) {
      const char *item = data_text(ev, K(item));
      lua_pushstring(L, item ? item : "");
      /* L6b (docs/safety.md): the hook sees the time its checkpoint went
       * overdue (visit.now(), visit.elapsed()): the event's time, less how
       * late the engine noticed it (a restart). Hooks run at the batch's
       * commit (journal.c), so a clock moved two days would otherwise give
       * each of the batch's notes the time of its end. */
      val *late = vigil__val_get(ev->data, K(late_ms));
      int64_t was = e->view_now;
      e->view_now = ev->time - (late && late->type == VAL_NUMBER && late->u.num > 0 ? (int64_t)late->u.num : 0);
      run_hook(e, v, HOOK_OVERDUE, "hook:overdue", 1);
      e->view_now = was;
    }
    break;
  default:
    break;
  }
  e->hook_depth--;
}

int vigil__eval_text(vigil_engine *e, visit *v, int fn_ref, char *out, size_t len, char *err, size_t errlen) {
  sandbox *sb = v->p->sb;
  bind_call(e, v, fn_ref);
  push_view(v);
  e->stats.lua_calls++;
  int called = vigil__sandbox_call(sb, 1, 1, err, errlen);
  if (host_oom(e, sb)) {
    if (called == LUA_OK) lua_pop(sb->L, 1);
    snprintf(err, errlen, "out of memory");
    return -1; /* the command fails (e->oom) */
  }
  if (called != LUA_OK) return -1;
  const char *text = lua_type(sb->L, -1) == LUA_TSTRING ? lua_tostring(sb->L, -1) : NULL;
  if (text) snprintf(out, len, "%s", text);
  lua_pop(sb->L, 1);
  if (!text) {
    snprintf(err, errlen, "did not return text");
    return -1;
  }
  return 0;
}
