/* behaviour_diff.c: two versions of a protocol compared by what their rules do
 * (docs/safety.md T3, T4).
 *
 * The text of a rule says little of what it does: a shared helper
 * (lib.sedation) that lowers MOAA/S 0 from high to medium only when
 * visit.phase() is "observation" changes no rule's code, and a limit loosened
 * through a param (a new prescribed check subtracted from spo2_min, spo2_min's
 * range widened to 50) changes no rule at all. So both versions' rules are run
 * over the same synthetic visits, phase by phase (lang.behaviour_cases,
 * vigil.lua: the visits of lint's exercise, with the newest reading's fields
 * swept over their ranges), and every visit on which the new version raises
 * less than the previous one is a weakening, named once per rule with the
 * visit's values.
 */
#include "author/behaviour_diff.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "lang/sandbox.h"
#include "vigil/vigil.h"

/* One version's run: the tables lang.behaviour_cases returned, held in the
 * registry of that version's sandbox. */
typedef struct run {
  lua_State *L;
  int results, reads, order; /* registry refs; LUA_NOREF when the run failed */
  char failed[400];          /* why a case (or the run) could not be run; "" when all ran */
  int oom;                   /* the machine's memory ran out (sb->oom), not the sandbox's cap */
} run;

/* A param set on every synthetic visit of a run (name NULL: none). */
typedef struct behaviour_setting {
  const char *name;
  field_kind kind;
  double num;
  int flag;
  const char *str;
} setting;

static void push_setting(lua_State *L, const setting *s) {
  if (s->kind == FIELD_CHECK)
    lua_pushboolean(L, s->flag);
  else if (s->kind == FIELD_NUMBER)
    lua_pushnumber(L, s->num);
  else
    lua_pushstring(L, s->str ? s->str : "");
}

static void run_free(run *r) {
  if (!r->L) return;
  luaL_unref(r->L, LUA_REGISTRYINDEX, r->results);
  luaL_unref(r->L, LUA_REGISTRYINDEX, r->reads);
  luaL_unref(r->L, LUA_REGISTRYINDEX, r->order);
  r->results = r->reads = r->order = LUA_NOREF;
}

/* Runs p's rules (only those named in only, NULL-ended; NULL: all) with s
 * set. 0 on success; -1 when the cases could not be made (r holds nothing).
 * A case stopped by its budget leaves its visits out: they are compared with
 * nothing, and r->failed says so (unchecked: a weakened line). */
static int run_cases(const protocol *p, const setting *s, char **only, run *r);

/* The diff's runs are bounded by the version's instruction budget, as lint's
 * exercise is, never by the site's time limit for live rules (tens of
 * milliseconds): a case that takes 40 ms on an idle machine and 60 ms under
 * load would be stopped on one call and not on the next, and whether
 * approval needs confirm_weakened would depend on the machine's load
 * (docs/safety.md U7). Instructions are counted the same on every call; the
 * wall clock stays only as lint's guard against a call into C that runs for
 * seconds (a stop by it is still a weakened line). */
static int run_behaviour(const protocol *p, const setting *s, char **only, run *r) {
  sandbox *sb = p->sb;
  uint64_t site_limit = sb ? sb->time_limit_ns : 0;
  if (sb) sb->time_limit_ns = SANDBOX_TIME_LIMIT_NS;
  int rc = run_cases(p, s, only, r);
  if (sb) sb->time_limit_ns = site_limit;
  return rc;
}

static int run_cases(const protocol *p, const setting *s, char **only, run *r) {
  r->L = p->sb ? p->sb->L : NULL;
  r->results = r->reads = r->order = LUA_NOREF;
  r->failed[0] = '\0';
  r->oom = 0;
  if (!r->L) {
    snprintf(r->failed, sizeof r->failed, "the version's rules are not loaded");
    return -1;
  }
  lua_State *L = r->L;
  int top = lua_gettop(L);
  char err[512];
  vigil__sandbox_push_lang(p->sb);
  lua_getfield(L, -1, "behaviour_cases");
  lua_newtable(L);
  if (s && s->name) {
    push_setting(L, s);
    lua_setfield(L, -2, s->name);
  }
  if (only) {
    lua_newtable(L);
    for (char **o = only; *o; o++) {
      lua_pushboolean(L, 1);
      lua_setfield(L, -2, *o);
    }
  } else {
    lua_pushnil(L);
  }
  if (vigil__sandbox_call(p->sb, 2, 4, err, sizeof err) != LUA_OK) {
    r->oom |= p->sb->oom;
    snprintf(r->failed, sizeof r->failed, "%.390s", err);
    lua_settop(L, top);
    return -1;
  }
  int cases = top + 2;
  lua_Integer n = (lua_Integer)lua_rawlen(L, cases);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, cases, i);
    if (vigil__sandbox_call(p->sb, 0, 0, err, sizeof err) != LUA_OK) {
      r->oom |= p->sb->oom;
      if (!r->failed[0]) snprintf(r->failed, sizeof r->failed, "%.390s", err);
      lua_settop(L, top + 5);
      /* Stopped by the 2 s guard (calls into C, docs/security.md AC1): the
       * run is named already (unchecked), and its other cases would hold
       * the server 2 s each; they are not run. */
      if (strstr(err, "time limit of")) break;
    }
  }
  r->order = luaL_ref(L, LUA_REGISTRYINDEX);
  r->reads = luaL_ref(L, LUA_REGISTRYINDEX);
  r->results = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, top);
  return 0;
}

/* An outcome code of vigil.lua's outcome_code: -1 a failure, else
 * ((high * 64 + medium) * 64 + low) * 2 + block. */
typedef struct behaviour_outcome {
  int high, medium, low, block;
} outcome;

static outcome decode(lua_Integer c) {
  outcome o = {(int)(c / 2 / 64 / 64), (int)(c / 2 / 64 % 64), (int)(c / 2 % 64), (int)(c % 2)};
  return o;
}

static const char *highest(const outcome *o) { return o->high ? "high" : o->medium ? "medium" : o->low ? "low" : NULL; }

/* Whether y raises less than x: fewer alerts at or above any priority, or no
 * block where x blocked. Says how in out. */
static int weaker(const outcome *x, const outcome *y, char *out, size_t n) {
  int at_x[3] = {x->high, x->high + x->medium, x->high + x->medium + x->low};
  int at_y[3] = {y->high, y->high + y->medium, y->high + y->medium + y->low};
  const char *hx = highest(x), *hy = highest(y);
  if (x->block && !y->block) {
    snprintf(out, n, "no longer blocks");
    return 1;
  }
  for (int i = 0; i < 3; i++)
    if (at_y[i] < at_x[i]) {
      if (!hy)
        snprintf(out, n, "no longer fires (it raised %s)", hx);
      else if (strcmp(hx, hy))
        snprintf(out, n, "raises %s where it raised %s", hy, hx);
      else
        snprintf(out, n, "raises fewer alerts (%d high, %d medium, %d low where it raised %d, %d, %d)", y->high,
                 y->medium, y->low, x->high, x->medium, x->low);
      return 1;
    }
  return 0;
}

typedef struct namer {
  void (*fn)(void *ud, const char *line);
  void *ud;
  int n;
  int oom;      /* a list or a text could not be kept: not all was judged */
  char **named; /* "phase.rule" said already in this comparison */
  size_t n_named, cap;
} namer;

static int said(namer *w, const char *rule) {
  for (size_t i = 0; i < w->n_named; i++)
    if (!strcmp(w->named[i], rule)) return 1;
  if (w->n_named == w->cap) {
    size_t cap = w->cap ? 2 * w->cap : 16;
    char **grown = realloc(w->named, cap * sizeof *grown);
    if (!grown) return w->oom = 1;
    w->named = grown, w->cap = cap;
  }
  if ((w->named[w->n_named] = strdup(rule)) != NULL)
    w->n_named++;
  else
    w->oom = 1;
  return 0;
}

/* Forgets the rules named after the first keep. */
static void forget(namer *w, size_t keep) {
  for (size_t i = keep; i < w->n_named; i++)
    free(w->named[i]);
  w->n_named = keep;
}

/* Says one weakening (text formatted by the caller). */
static void say_line(namer *w, const char *text) {
  w->fn(w->ud, text);
  w->n++;
}

/* A run that could not run every case compared less than it should: said
 * as a weakening to confirm, never passed over in silence. */
static void unchecked(namer *w, const protocol *p, const run *r) {
  if (r->oom) w->oom = 1;
  if (!r->failed[0] || r->oom) return;
  char text[1024];
  snprintf(text, sizeof text,
           "%s: its rules could not all be run on the synthetic visits (%s): what they do is not all compared; "
           "review the rules' changes by hand",
           p->ref, r->failed);
  say_line(w, text);
}

/* Compares a's run with b's, visit by visit in the order a's were made; names
 * each rule of a once, at the first visit where b raises less. with: how the
 * params were set, said after the visit ("" for their defaults). */
static void compare(namer *w, const run *ra, const run *rb, const char *with) {
  lua_State *La = ra->L, *Lb = rb->L;
  if (ra->order == LUA_NOREF || rb->results == LUA_NOREF) return;
  int ta = lua_gettop(La), tb = lua_gettop(Lb);
  lua_rawgeti(La, LUA_REGISTRYINDEX, ra->order);
  lua_rawgeti(La, LUA_REGISTRYINDEX, ra->results);
  lua_rawgeti(Lb, LUA_REGISTRYINDEX, rb->results);
  lua_Integer n = (lua_Integer)lua_rawlen(La, ta + 1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(La, ta + 1, i);
    size_t klen;
    const char *key = lua_tolstring(La, -1, &klen);
    lua_pushvalue(La, -1);
    lua_rawget(La, ta + 2);
    lua_Integer ca = lua_tointeger(La, -1);
    lua_pop(La, 1);
    lua_pushlstring(Lb, key, klen);
    lua_rawget(Lb, tb + 1);
    int has_b = lua_isinteger(Lb, -1);
    lua_Integer cb = has_b ? lua_tointeger(Lb, -1) : -1;
    lua_pop(Lb, 1);
    char how[200];
    outcome x = decode(ca), y = decode(cb);
    const char *visit = key + strlen(key) + 1; /* "phase.rule\0what the visit holds" */
    if (ca >= 0 && cb >= 0 && weaker(&x, &y, how, sizeof how) && !said(w, key)) {
      const char *dot = strchr(key, '.');
      char text[2048];
      snprintf(text, sizeof text, "rule %s: %s in phase %.*s on a visit with %s%s (both versions' rules run on it)",
               key, how, dot ? (int)(dot - key) : 0, key, visit, with);
      say_line(w, text);
    }
    lua_pop(La, 1);
  }
  lua_settop(La, ta);
  lua_settop(Lb, tb);
}

/* The rules in only run in a with sa set and in b with sb set, compared. */
static void compare_with(namer *w, const protocol *a, const setting *sa, const protocol *b, const setting *sb,
                         char **only, const char *with) {
  run ra, rb;
  int ok_a = run_behaviour(a, sa, only, &ra) == 0;
  int ok_b = run_behaviour(b, sb, only, &rb) == 0;
  if (ok_a && ok_b) compare(w, &ra, &rb, with);
  unchecked(w, a, &ra);
  unchecked(w, b, &rb);
  if (ok_a) run_free(&ra);
  if (ok_b) run_free(&rb);
}

/* The rules of r that read param name, added to list (NULL-ended, no
 * repeats). */
static void readers(const run *r, const char *name, char ***list, size_t *n, int *oom) {
  if (r->reads == LUA_NOREF) return;
  lua_State *L = r->L;
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->reads);
  lua_pushnil(L);
  while (lua_next(L, top + 1)) {
    lua_getfield(L, -1, name);
    int reads = lua_toboolean(L, -1);
    lua_pop(L, 1);
    const char *rule = lua_tostring(L, -2);
    int have = 0;
    for (size_t i = 0; reads && rule && i < *n && !have; i++)
      have = !strcmp((*list)[i], rule);
    if (reads && rule && !have) {
      char **grown = realloc(*list, (*n + 2) * sizeof **list);
      char *copy = grown ? strdup(rule) : NULL;
      if (grown) *list = grown;
      if (copy) (*list)[(*n)++] = copy;
      if (grown) (*list)[*n] = NULL;
      if (!copy) *oom = 1;
    }
    lua_pop(L, 1);
  }
  lua_settop(L, top);
}

/* Sorted, so that a line says them in the same order every time. */
static int by_name(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

static void free_list(char **list, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(list[i]);
  free(list);
}

static const param_spec *param_of(const protocol *p, const char *name) {
  for (uint32_t i = 0; i < p->n_params; i++)
    if (!strcmp(p->params[i].name, name)) return &p->params[i];
  return NULL;
}

static int has_option(const param_spec *p, const char *option) {
  for (uint32_t m = 0; m < p->n_options; m++)
    if (!strcmp(p->options[m], option)) return 1;
  return 0;
}

/* A prescribed param of b a clinician may set to values a could not take:
 * new, its range widened or removed, an option added. */
static int loosened(const param_spec *x, const param_spec *y) {
  if (!y->prescribed) return 0; /* a nurse's params: S5, weakened_free_params */
  if (!x) return y->has_range || y->n_options || y->kind == FIELD_CHECK;
  if (x->has_range && (!y->has_range || y->lo < x->lo || y->hi > x->hi)) return 1;
  for (uint32_t k = 0; k < y->n_options; k++)
    if (!has_option(x, y->options[k])) return 1;
  return 0;
}

/* The values of y to try: its range's ends, each option, true and false. */
static uint32_t ends_of(const param_spec *y) {
  return y->n_options ? y->n_options : y->kind == FIELD_CHECK || y->has_range ? 2 : 0;
}

static setting end_of(const param_spec *y, uint32_t k) {
  setting s = {.name = y->name, .kind = y->n_options ? FIELD_CHOICE : y->kind};
  if (y->n_options)
    s.str = y->options[k];
  else if (y->kind == FIELD_CHECK)
    s.flag = (int)(k == 1);
  else
    s.num = k ? y->hi : y->lo;
  return s;
}

static void setting_text(char *out, size_t n, const setting *s) {
  if (s->kind == FIELD_CHECK)
    snprintf(out, n, "%s", s->flag ? "true" : "false");
  else if (s->kind == FIELD_NUMBER)
    snprintf(out, n, "%g", s->num);
  else
    snprintf(out, n, "\"%s\"", s->str ? s->str : "");
}

/* T4: one param of b at each of its values against a at the same end of its
 * own range (a's default when a has no such param, or no range). */
static void try_param(namer *w, const protocol *a, const protocol *b, const param_spec *y, const run *a0,
                      const run *b0) {
  const param_spec *x = param_of(a, y->name);
  char **only = NULL;
  size_t n_only = 0;
  readers(a0, y->name, &only, &n_only, &w->oom);
  readers(b0, y->name, &only, &n_only, &w->oom);
  if (!n_only) {
    free(only);
    return;
  }
  char r1[64], r2[64];
  for (uint32_t k = 0; k < ends_of(y); k++) {
    setting sb = end_of(y, k), sa = {0};
    char with[600], was[200] = "";
    setting_text(r2, sizeof r2, &sb);
    if (x && x->has_range && !y->n_options && y->kind == FIELD_NUMBER) {
      sa = end_of(x, k);
      if (sa.num == sb.num) continue; /* this end did not move: the defaults' run covers it */
      setting_text(r1, sizeof r1, &sa);
      snprintf(was, sizeof was, "%s's was %s", a->ref, r1);
    } else if (x && x->kind == FIELD_CHECK && y->kind == FIELD_CHECK) {
      continue; /* true and false both: nothing new to try */
    } else if (x) {
      snprintf(was, sizeof was, "which %s could not be set to", a->ref);
    } else {
      snprintf(was, sizeof was, "a param %s does not have", a->ref);
    }
    snprintf(with, sizeof with, ", with %s = %s (%s; %s)", y->name, r2,
             y->n_options || y->kind == FIELD_CHECK ? "a value a clinician may prescribe"
             : k                                    ? "the new range's high end"
                                                    : "the new range's low end",
             was);
    compare_with(w, a, sa.name ? &sa : NULL, b, &sb, only, with);
  }
  free_list(only, n_only);
}

/* T4 (b): a param's range widened where a rule reads it: a limit a clinician
 * may now set past what was allowed. */
static void widened_ranges(namer *w, const protocol *a, const protocol *b, const run *a0, const run *b0) {
  for (uint32_t i = 0; i < b->n_params; i++) {
    const param_spec *y = &b->params[i], *x = param_of(a, y->name);
    if (!x || !x->has_range || (y->has_range && y->lo >= x->lo && y->hi <= x->hi)) continue;
    char **list = NULL;
    size_t n = 0;
    readers(a0, y->name, &list, &n, &w->oom);
    readers(b0, y->name, &list, &n, &w->oom);
    if (!n) {
      free(list);
      continue;
    }
    qsort(list, n, sizeof *list, by_name);
    buf rules;
    vigil__buf_init(&rules);
    for (size_t k = 0; k < n; k++)
      vigil__buf_printf(&rules, "%s%s", k ? ", " : "", list[k]);
    if (rules.oom) w->oom = 1;
    char now[64] = "none";
    if (y->has_range) snprintf(now, sizeof now, "%g..%g", y->lo, y->hi);
    char text[2048];
    snprintf(text, sizeof text,
             "param %s: its allowed range widened %g..%g -> %s, and rules read it (%s): it may now be set to a "
             "looser limit than was allowed",
             y->name, x->lo, x->hi, now, rules.p ? rules.p : "");
    say_line(w, text);
    vigil__buf_free(&rules);
    free_list(list, n);
  }
}

/* U1 (docs/safety.md): the synthetic visits are 15 minutes into their phase
 * and alternately a course's first and third session, so a rule that fires
 * only before 30 minutes, or loosens its limit from the fourth session, met
 * no visit where it raised less. The rules that read the time in the phase
 * (a run's reads, "@phase_elapsed") are run again at each of these minutes,
 * and those that read the course ("@course_session") at each session from
 * the first to ten past the induction's last (maintenance), both versions
 * alike, as a prescribed param is tried at its ends. AG3 (the safety try
 * after U1): silent in the evening (visit.now()'s hour), from a date, when
 * the last session was long ago, or when a course measure was high before:
 * the readers of visit.now() ("@now") run at each hour of a day and on dates
 * one, five and twenty years on; the course's readers also at each of these
 * days since the last session, and with every measure's previous value at
 * each of these. */
static const int PHASE_MINUTES[] = {0, 5, 10, 20, 25, 30, 35, 40, 45, 50, 60, 75, 90, 105, 120, 150, 180, 240};
static const double DAYS_SINCE_LAST[] = {0.25, 0.5, 1, 2, 3, 3.5, 4, 5, 7, 10, 14, 21, 28, 42, 60, 90, 180, 365};
static const double MEASURE_BEFORE[] = {0,  1,  2,  3,  4,  5,  8,  10,  15,  20,  25,
                                        27, 30, 35, 40, 50, 60, 75, 100, 150, 200, 300};
#define SYNTHETIC_START 1767225600000.0 /* vigil.lua's EXERCISE_START: 2026-01-01T00:00Z */
#define HOUR_MS 3600000.0
#define DAY_MS 86400000.0

/* One sweep: what is set (a name the synthetic view takes), on whose
 * readers (read), to each value, said after the visit as with[k]. */
typedef struct sweep {
  const char *read, *what;
  double values[64];
  char with[64][64];
  size_t n;
} sweep;

static void add_value(sweep *s, double value, const char *fmt, double shown) {
  if (s->n == sizeof s->values / sizeof *s->values) return;
  s->values[s->n] = value;
  snprintf(s->with[s->n], sizeof s->with[s->n], fmt, shown);
  s->n++;
}

/* Both versions' readers run with the sweep's name set to each value. */
static void try_sweep(namer *w, const protocol *a, const protocol *b, const run *a0, const run *b0, const sweep *s) {
  char **only = NULL;
  size_t n_only = 0;
  readers(a0, s->read, &only, &n_only, &w->oom);
  readers(b0, s->read, &only, &n_only, &w->oom);
  for (size_t k = 0; n_only && k < s->n; k++) {
    setting set = {.name = s->what, .kind = FIELD_NUMBER, .num = s->values[k]};
    compare_with(w, a, &set, b, &set, only, s->with[k]);
  }
  free_list(only, n_only);
}

static void try_moments(namer *w, const protocol *a, const protocol *b, const run *a0, const run *b0) {
  static sweep s; /* 25 KiB: not on the stack; one diff at a time (child.c) */
  s = (sweep){.read = "@phase_elapsed", .what = "@phase_elapsed"};
  for (size_t i = 0; i < sizeof PHASE_MINUTES / sizeof *PHASE_MINUTES; i++)
    add_value(&s, PHASE_MINUTES[i] * 60000.0, ", %g minutes into the phase", PHASE_MINUTES[i]);
  try_sweep(w, a, b, a0, b0, &s);
  s = (sweep){.read = "@now", .what = "@now"};
  for (int h = 0; h < 24; h++)
    add_value(&s, SYNTHETIC_START + h * HOUR_MS, ", at %02g:00 UTC", h);
  for (int y = 1; y <= 20; y = y == 1 ? 5 : y * 4)
    add_value(&s, SYNTHETIC_START + y * 365.25 * DAY_MS,
              y == 1 ? ", a year after 2026-01-01" : ", %g years after 2026-01-01", y);
  try_sweep(w, a, b, a0, b0, &s);
  int32_t last = 0;
  if (a->course && a->course->sessions > last) last = a->course->sessions;
  if (b->course && b->course->sessions > last) last = b->course->sessions;
  s = (sweep){.read = "@course_session", .what = "@course_session"};
  for (int32_t i = 1; i <= last + 10; i++)
    add_value(&s, i, ", in the course's session %g", i);
  try_sweep(w, a, b, a0, b0, &s);
  s = (sweep){.read = "@course_session", .what = "@days_since_last"};
  for (size_t i = 0; i < sizeof DAYS_SINCE_LAST / sizeof *DAYS_SINCE_LAST; i++)
    add_value(&s, DAYS_SINCE_LAST[i], ", %g days after the course's last session", DAYS_SINCE_LAST[i]);
  try_sweep(w, a, b, a0, b0, &s);
  s = (sweep){.read = "@course_session", .what = "@course_measure"};
  for (size_t i = 0; i < sizeof MEASURE_BEFORE / sizeof *MEASURE_BEFORE; i++)
    add_value(&s, MEASURE_BEFORE[i], ", every course measure %g at the sessions before", MEASURE_BEFORE[i]);
  try_sweep(w, a, b, a0, b0, &s);
}

/* The text after `version = "...` in text (its closing quote on), or its
 * end when it has none; before: the length of what comes before it. */
static const char *after_version(const char *text, size_t *before) {
  const char *v = strstr(text, "version = \"");
  if (!v) {
    *before = strlen(text);
    return text + *before;
  }
  *before = (size_t)(v - text);
  const char *end = strchr(v + 11, '"');
  return end ? end : v;
}

/* Whether a and b are the same files but for the version they declare: their
 * rules cannot differ, and running them is not needed (a copy one version
 * down, test_oom's diff). */
int vigil__protocol_same_but_version(const protocol *a, const protocol *b) {
  if (a->n_sources != b->n_sources) return 0;
  size_t da = a->sb && a->sb->dir ? strlen(a->sb->dir) : 0, db = b->sb && b->sb->dir ? strlen(b->sb->dir) : 0;
  for (uint32_t i = 0; i < a->n_sources; i++) {
    const source_file *x = &a->sources[i], *y = &b->sources[i];
    const char *px = strlen(x->path) > da ? x->path + da : x->path, *py = strlen(y->path) > db ? y->path + db : y->path;
    size_t bx, by;
    const char *rx = after_version(x->text, &bx), *ry = after_version(y->text, &by);
    if (strcmp(px, py) || bx != by || strncmp(x->text, y->text, bx) || strcmp(rx, ry)) return 0;
  }
  return 1;
}

int vigil__behaviour_weakened(const protocol *a, const protocol *b, void (*fn)(void *ud, const char *line), void *ud) {
  namer w = {.fn = fn, .ud = ud};
  if (vigil__protocol_same_but_version(a, b)) return 0;
  run a0, b0;
  int ok_a = run_behaviour(a, NULL, NULL, &a0) == 0, ok_b = run_behaviour(b, NULL, NULL, &b0) == 0;
  unchecked(&w, a, &a0);
  unchecked(&w, b, &b0);
  if (!ok_a || !ok_b) {
    run_free(&a0);
    run_free(&b0);
    return w.oom ? VIGIL_ENOMEM : w.n;
  }
  compare(&w, &a0, &b0, "");
  widened_ranges(&w, a, b, &a0, &b0);
  /* A rule named at the defaults is not named again for each param; one that
   * was not is named once per param whose trial finds it. */
  size_t at_defaults = w.n_named;
  for (uint32_t i = 0; i < b->n_params; i++) {
    const param_spec *y = &b->params[i];
    if (!loosened(param_of(a, y->name), y)) continue;
    forget(&w, at_defaults);
    try_param(&w, a, b, y, &a0, &b0);
  }
  forget(&w, at_defaults);
  try_moments(&w, a, b, &a0, &b0);
  forget(&w, 0);
  free(w.named);
  run_free(&a0);
  run_free(&b0);
  return w.oom ? VIGIL_ENOMEM : w.n;
}
