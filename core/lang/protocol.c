/* protocol.c: loading a protocol version into its sandbox and compiling the
 * normalised declarations into C structures. */
#include "lang/protocol.h"

#include <lauxlib.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/intern.h"
#include "lang/rule_code.h"
#include "lang/text_format.h"

typedef struct problem {
  char *file, *message;
  long line;
} problem;

typedef struct problems {
  problem *v;
  size_t n, cap;
  size_t lost; /* problems found but not kept (out of memory): never a clean lint */
} problems;

static void problems_truncate(problems *ps, size_t n) {
  for (; ps->n > n; ps->n--) {
    free(ps->v[ps->n - 1].file);
    free(ps->v[ps->n - 1].message);
  }
}

static void problems_add(problems *ps, const char *where, const char *message) {
  if (ps->n == ps->cap) {
    problem *v = vigil__grow(ps->v, ps->cap, ps->n + 1, sizeof *v, 8, &ps->cap);
    if (!v) {
      ps->lost++;
      return;
    }
    ps->v = v;
  }
  problem *p = &ps->v[ps->n];
  const char *colon = strrchr(where, ':');
  p->file = colon ? strndup(where, (size_t)(colon - where)) : strdup(where);
  p->line = colon ? strtol(colon + 1, NULL, 10) : 0;
  p->message = strdup(message);
  if (p->file && p->message)
    ps->n++;
  else {
    free(p->file);
    free(p->message);
    ps->lost++;
  }
}

/* Every problem found, kept or not. */
static size_t problems_found(const problems *ps) { return ps->n + ps->lost; }

/* A Lua error is "file:line: message" when it has a position. */
static void problems_add_error(problems *ps, const char *msg, const char *fallback_file) {
  const char *s = msg;
  while ((s = strchr(s, ':'))) {
    const char *d = s + 1;
    while (*d >= '0' && *d <= '9')
      d++;
    if (d > s + 1 && d[0] == ':' && d[1] == ' ') {
      char where[1024];
      snprintf(where, sizeof where, "%.*s", (int)(d - msg), msg);
      problems_add(ps, where, d + 2);
      return;
    }
    s++;
  }
  char where[1024];
  snprintf(where, sizeof where, "%s:1", fallback_file);
  problems_add(ps, where, msg);
}

static int problem_cmp(const void *a, const void *b) {
  const problem *x = a, *y = b;
  int c = strcmp(x->file, y->file);
  if (c) return c;
  return (x->line > y->line) - (x->line < y->line);
}

/* path: the protocol's main file, where the problems that were lost are said. */
static void problems_report(problems *ps, const char *path, problem_fn fn, void *ud) {
  if (ps->n > 1) qsort(ps->v, ps->n, sizeof *ps->v, problem_cmp);
  for (size_t i = 0; i < ps->n; i++) {
    char where[1100];
    snprintf(where, sizeof where, "%s:%ld", ps->v[i].file, ps->v[i].line);
    /* The same problem found twice (at declaration and at compile) is said once. */
    if (i && problem_cmp(&ps->v[i], &ps->v[i - 1]) == 0 && !strcmp(ps->v[i].message, ps->v[i - 1].message)) continue;
    if (fn) fn(ud, where, ps->v[i].message);
  }
  if (ps->lost && fn) {
    char where[5300], message[128];
    snprintf(where, sizeof where, "%s:0", path);
    snprintf(message, sizeof message, "out of memory: %zu problem%s found could not be said", ps->lost,
             ps->lost == 1 ? "" : "s");
    fn(ud, where, message);
  }
}

static void problems_free(problems *ps) {
  for (size_t i = 0; i < ps->n; i++) {
    free(ps->v[i].file);
    free(ps->v[i].message);
  }
  free(ps->v);
}

/* ---- reading the normalised Lua table ----------------------------------- */

/* Something read could not be kept for want of memory (a name, a text, a
 * list): marked on the sandbox (sb->oom), so that the protocol does not load
 * (out of memory) rather than load without it (an item without its id reads
 * as "unknown item", a choice without its options takes none). */
static void lost(lua_State *L) {
  void *sb;
  lua_getallocf(L, &sb);
  ((sandbox *)sb)->oom = 1;
}

/* x, or lost() when a value to keep came back NULL. */
static void *kept(lua_State *L, const void *x) {
  if (!x) lost(L);
  return (void *)x;
}

static char *get_str(lua_State *L, int idx, const char *key) {
  lua_getfield(L, idx, key);
  char *s = lua_type(L, -1) == LUA_TSTRING ? kept(L, strdup(lua_tostring(L, -1))) : NULL;
  lua_pop(L, 1);
  return s;
}

static const char *get_interned(lua_State *L, int idx, const char *key) {
  lua_getfield(L, idx, key);
  const char *s = lua_type(L, -1) == LUA_TSTRING ? kept(L, vigil__intern(lua_tostring(L, -1))) : NULL;
  lua_pop(L, 1);
  return s;
}

static int64_t get_int(lua_State *L, int idx, const char *key, int64_t dflt) {
  lua_getfield(L, idx, key);
  int64_t x = lua_isnumber(L, -1) ? (int64_t)lua_tonumber(L, -1) : dflt;
  lua_pop(L, 1);
  return x;
}

static int get_num(lua_State *L, int idx, const char *key, double *out) {
  lua_getfield(L, idx, key);
  int ok = lua_isnumber(L, -1);
  if (ok) *out = lua_tonumber(L, -1);
  lua_pop(L, 1);
  return ok;
}

static int get_bool(lua_State *L, int idx, const char *key, int dflt) {
  lua_getfield(L, idx, key);
  int x = lua_isnil(L, -1) ? dflt : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return x;
}

static int get_ref(lua_State *L, int idx, const char *key) {
  lua_getfield(L, idx, key);
  if (lua_type(L, -1) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return LUA_NOREF;
  }
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

static size_t get_len(lua_State *L, int idx, const char *key) {
  lua_getfield(L, idx, key);
  size_t n = lua_istable(L, -1) ? lua_rawlen(L, -1) : 0;
  lua_pop(L, 1);
  return n;
}

/* A list of names under key (interned); NULL and 0 when absent. */
static const char **get_names(lua_State *L, int idx, const char *key, uint32_t *n) {
  *n = 0;
  lua_getfield(L, idx, key);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return NULL;
  }
  size_t len = lua_rawlen(L, -1);
  const char **v = kept(L, calloc(len ? len : 1, sizeof *v));
  size_t k = 0;
  for (size_t i = 0; v && i < len; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i + 1);
    if (lua_type(L, -1) == LUA_TSTRING) v[k++] = kept(L, vigil__intern(lua_tostring(L, -1))); /* vigil.lua checked */
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  *n = v ? (uint32_t)k : 0;
  return v;
}

static const char **get_options(lua_State *L, int idx, uint32_t *n) { return get_names(L, idx, "options", n); }

/* A score field's points: { {value = 2, label = "..."}, ... } (vigil.lua
 * checked them). */
static score_point *get_points(lua_State *L, int idx, uint32_t *n) {
  *n = 0;
  lua_getfield(L, idx, "points");
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return NULL;
  }
  size_t len = lua_rawlen(L, -1);
  score_point *v = kept(L, calloc(len ? len : 1, sizeof *v));
  int t = lua_gettop(L);
  for (size_t i = 0; v && i < len; i++) {
    lua_rawgeti(L, t, (lua_Integer)i + 1);
    get_num(L, t + 1, "value", &v[i].value);
    v[i].label = get_str(L, t + 1, "label");
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  *n = v ? (uint32_t)len : 0;
  return v;
}

static field_kind parse_field_kind(const char *s) {
  if (!s) return FIELD_TEXT;
  if (!strcmp(s, "number")) return FIELD_NUMBER;
  if (!strcmp(s, "choice")) return FIELD_CHOICE;
  if (!strcmp(s, "check")) return FIELD_CHECK;
  return FIELD_TEXT;
}

static const char *const item_kinds[] = {"check", "number", "choice", "text", "vitals", "score", "signature"};
static const char *const field_kinds[] = {"check", "number", "choice", "text"};

const char *vigil__item_kind_name(item_kind k) { return item_kinds[k]; }
const char *vigil__field_kind_name(field_kind k) { return field_kinds[k]; }

static item_kind parse_item_kind(const char *s) {
  for (int i = 0; i < (int)(sizeof item_kinds / sizeof *item_kinds); i++)
    if (!strcmp(s, item_kinds[i])) return (item_kind)i;
  return KIND_TEXT;
}

const char *vigil__priority_name(priority p) {
  return p == PRIORITY_HIGH ? "high" : p == PRIORITY_MEDIUM ? "medium" : "low";
}

int vigil__priority_parse(const char *s, priority *out) {
  if (!s) return -1;
  if (!strcmp(s, "high"))
    *out = PRIORITY_HIGH;
  else if (!strcmp(s, "medium"))
    *out = PRIORITY_MEDIUM;
  else if (!strcmp(s, "low"))
    *out = PRIORITY_LOW;
  else
    return -1;
  return 0;
}

static void read_field(lua_State *L, int idx, field_spec *f) {
  f->name = get_interned(L, idx, "name");
  f->title = get_str(L, idx, "title");
  f->unit = get_str(L, idx, "unit");
  f->loinc = get_str(L, idx, "loinc");
  char *kind = get_str(L, idx, "kind");
  f->kind = parse_field_kind(kind);
  free(kind);
  f->has_range = get_num(L, idx, "lo", &f->lo) && get_num(L, idx, "hi", &f->hi);
  f->options = get_options(L, idx, &f->n_options);
  f->points = get_points(L, idx, &f->n_points);
  f->required = (uint8_t)get_bool(L, idx, "required", 1);
  f->computed = (uint8_t)get_bool(L, idx, "computed", 0);
  f->pattern = get_str(L, idx, "pattern");
  f->pattern_says = get_str(L, idx, "pattern_says");
}

static int read_item(protocol *p, lua_State *L, int idx, item_spec *it, uint16_t phase) {
  it->id = get_interned(L, idx, "id");
  char qid[512];
  snprintf(qid, sizeof qid, "%s.%s", p->phases[phase].id, it->id);
  it->qid = kept(L, vigil__intern(qid));
  char key[600];
  snprintf(key, sizeof key, "overdue:%s", it->qid);
  it->overdue_key = kept(L, vigil__intern(key));
  it->title = get_str(L, idx, "title");
  it->help = get_str(L, idx, "help");
  it->where = get_str(L, idx, "where");
  it->meaning = get_str(L, idx, "meaning");
  char *kind = get_str(L, idx, "kind");
  it->kind = parse_item_kind(kind ? kind : "text");
  free(kind);
  it->phase = phase;
  it->required = (uint8_t)get_bool(L, idx, "required", 1);
  it->skippable = (uint8_t)get_bool(L, idx, "skippable", 1);
  it->clinician = (uint8_t)get_bool(L, idx, "clinician", 0);
  it->when_ref = get_ref(L, idx, "when");
  it->compute_ref = get_ref(L, idx, "compute");
  it->calc_ref = get_ref(L, idx, "calculation");
  it->attest_params = get_names(L, idx, "params", &it->n_attest_params);
  it->second_person = (uint8_t)get_bool(L, idx, "second_person", 1);
  it->of_item = -1;
  it->after_item = -1;

  lua_getfield(L, idx, "fields");
  /* Each count is set once its array exists: vigil__protocol_free walks it. */
  uint32_t n_fields = (uint32_t)lua_rawlen(L, -1);
  it->fields = calloc(n_fields ? n_fields : 1, sizeof *it->fields);
  if (!it->fields) return -1;
  it->n_fields = n_fields;
  for (uint32_t i = 0; i < it->n_fields; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i + 1);
    read_field(L, lua_gettop(L), &it->fields[i]);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  it->scalar = (uint8_t)get_bool(L, idx, "scalar", 0);
  for (uint32_t i = 0; i < it->n_fields; i++) {
    char q[512];
    snprintf(q, sizeof q, "%s.%s", it->id, it->fields[i].name);
    it->fields[i].qname = it->scalar ? it->id : kept(L, vigil__intern(q));
  }

  lua_getfield(L, idx, "schedule");
  if (lua_istable(L, -1)) {
    int s = lua_gettop(L);
    it->scheduled = 1;
    it->sched.at = get_int(L, s, "at", 0);
    it->sched.every = get_int(L, s, "every", 0);
    it->sched.grace = get_int(L, s, "grace", 0);
    it->sched.until = get_int(L, s, "until", -1);
    it->sched.count = (int32_t)get_int(L, s, "count", -1);
  }
  lua_pop(L, 1);

  lua_getfield(L, idx, "overdue");
  int o = lua_gettop(L);
  char *prio = get_str(L, o, "priority");
  if (vigil__priority_parse(prio, &it->overdue_priority) < 0) it->overdue_priority = PRIORITY_MEDIUM;
  free(prio);
  it->overdue_escalate = get_int(L, o, "escalate", p->escalate);
  it->overdue_latching = get_bool(L, o, "latching", p->latching);
  lua_pop(L, 1);
  return 0;
}

static int read_rule(protocol *p, lua_State *L, int idx, rule_spec *r, uint16_t phase, problems *ps) {
  r->id = get_interned(L, idx, "id");
  r->where = get_str(L, idx, "where");
  r->carry = (uint8_t)get_bool(L, idx, "carry", 0);
  r->worse_off = (uint8_t)get_bool(L, idx, "worse_off", 0);
  lua_getfield(L, idx, "check");
  r->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  char *prio = get_str(L, idx, "priority");
  if (vigil__priority_parse(prio, &r->priority) < 0) r->priority = PRIORITY_HIGH; /* unknown: the highest */
  free(prio);
  char *worse = get_str(L, idx, "worse");
  r->worse = !worse ? 0 : !strcmp(worse, "higher") ? 1 : !strcmp(worse, "lower") ? -1 : 0;
  free(worse);
  if (!get_num(L, idx, "margin", &r->margin)) r->margin = 0;
  lua_getfield(L, idx, "on");
  r->n_on = (uint32_t)lua_rawlen(L, -1);
  r->on = calloc(r->n_on ? r->n_on : 1, sizeof *r->on);
  if (!r->on) return -1;
  for (uint32_t i = 0; i < r->n_on; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i + 1);
    int item = vigil__protocol_find_item(p, lua_tostring(L, -1), phase);
    if (item < 0) problems_add(ps, r->where ? r->where : "?:0", "rule refers to an unknown item");
    r->on[i] = (uint16_t)(item < 0 ? 0 : item);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return 0;
}

static int read_param(lua_State *L, int idx, param_spec *pa) {
  pa->name = get_interned(L, idx, "name");
  pa->title = get_str(L, idx, "title");
  pa->unit = get_str(L, idx, "unit");
  char *kind = get_str(L, idx, "kind");
  pa->kind = parse_field_kind(kind);
  free(kind);
  pa->has_range = get_num(L, idx, "lo", &pa->lo) && get_num(L, idx, "hi", &pa->hi);
  pa->options = get_options(L, idx, &pa->n_options);
  pa->required = (uint8_t)get_bool(L, idx, "required", 1);
  pa->prescribed = (uint8_t)get_bool(L, idx, "prescribed", 0);
  pa->less_than = get_names(L, idx, "less_than", &pa->n_less_than);
  lua_getfield(L, idx, "default");
  switch (lua_type(L, -1)) {
  case LUA_TNUMBER:
    pa->def = val_num(lua_tonumber(L, -1));
    break;
  case LUA_TBOOLEAN:
    pa->def = val_bool(lua_toboolean(L, -1));
    break;
  case LUA_TSTRING:
    pa->def = vigil__val_cstring(lua_tostring(L, -1));
    break;
  default:
    pa->def = VAL_NIL_;
  }
  lua_pop(L, 1);
  return vigil__val_ok(pa->def) ? 0 : -1;
}

/* The course (v.course) at idx, as vigil.lua normalised it. */
static int read_course(protocol *p, lua_State *L, int idx) {
  course_spec *c = calloc(1, sizeof *c);
  if (!c) return -1;
  p->course = c;
  c->visits = get_names(L, idx, "visits", &c->n_visits);
  c->dose_given = get_names(L, idx, "dose_given", &c->n_dose_given);
  c->dose_recorded = get_names(L, idx, "dose_recorded", &c->n_dose_recorded);
  c->sessions = (int32_t)get_int(L, idx, "sessions", 1);
  c->within = get_int(L, idx, "within", 0);
  c->min_interval = get_int(L, idx, "min_interval", 0);
  c->interval = get_int(L, idx, "interval", 0);
  c->grace = get_int(L, idx, "grace", 0);
  c->maintenance_interval = get_int(L, idx, "maintenance_interval", 0);
  c->maintenance_max = get_int(L, idx, "maintenance_max", 0);
  c->maintenance_sessions = (int32_t)get_int(L, idx, "maintenance_sessions", 0);
  c->priority_missed = get_interned(L, idx, "priority_missed_session");
  c->priority_non_response = get_interned(L, idx, "priority_non_response");
  c->priority_series = get_interned(L, idx, "priority_series_incomplete");
  c->priority_rems_form = get_interned(L, idx, "priority_rems_form");
  c->rems_form_due = get_int(L, idx, "rems_form_due", 0);
  c->rems_form_alert = get_int(L, idx, "rems_form_alert", 0);
  c->where = get_str(L, idx, "where");
  c->response_measure = get_interned(L, idx, "response_measure");
  get_num(L, idx, "response_fall_pct", &c->response_fall_pct);
  c->remission_measure = get_interned(L, idx, "remission_measure");
  get_num(L, idx, "remission_below", &c->remission_below);
  c->n_measures = (uint32_t)get_len(L, idx, "measures");
  if (!(c->measures = calloc(c->n_measures ? c->n_measures : 1, sizeof *c->measures))) return -1;
  lua_getfield(L, idx, "measures");
  for (uint32_t i = 0; i < c->n_measures; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i + 1);
    int m = lua_gettop(L);
    course_measure *x = &c->measures[i];
    x->name = get_interned(L, m, "name");
    x->item = get_interned(L, m, "item");
    x->field = get_interned(L, m, "field");
    x->param = get_interned(L, m, "param");
    x->otherwise = get_interned(L, m, "otherwise");
    lua_pop(L, 1);
    if (!x->name) return -1;
  }
  lua_pop(L, 1);
  return c->visits || c->n_visits == 0 ? 0 : -1;
}

/* Copies the normalised tree at idx into p. */
static int compile(protocol *p, lua_State *L, int idx, problems *ps) {
  p->id = get_str(L, idx, "id");
  p->version = get_str(L, idx, "version");
  p->title = get_str(L, idx, "title");
  p->description = get_str(L, idx, "description");
  p->latching = get_bool(L, idx, "latching", 1);
  lua_getfield(L, idx, "latch"); /* AP3: a priority name, checked by vigil.lua */
  priority from;
  p->latch_from =
      lua_type(L, -1) == LUA_TSTRING && vigil__priority_parse(lua_tostring(L, -1), &from) == 0 ? (int)from : -1;
  lua_pop(L, 1);
  p->escalate = get_int(L, idx, "escalate", 0);
  p->escalation_raises_priority = get_bool(L, idx, "escalation_raises_priority", 0);
  p->realert_after = get_int(L, idx, "realert_after", 0);
  p->realert_clinician = (uint32_t)get_int(L, idx, "realert_clinician", 0);
  if (!p->id || !p->version) return -1;
  size_t n = strlen(p->id) + strlen(p->version) + 2;
  if (!(p->ref = malloc(n))) return -1;
  snprintf(p->ref, n, "%s@%s", p->id, p->version);

  /* Each count is set once its array exists: vigil__protocol_free walks it. */
  uint32_t n_params = (uint32_t)get_len(L, idx, "params");
  p->params = calloc(n_params ? n_params : 1, sizeof *p->params);
  if (!p->params) return -1;
  p->n_params = n_params;
  lua_getfield(L, idx, "params");
  for (uint32_t i = 0; i < p->n_params; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i + 1);
    int rc = read_param(L, lua_gettop(L), &p->params[i]);
    lua_pop(L, 1);
    if (rc < 0) return -1;
  }
  lua_pop(L, 1);

  /* Phases first (names), then their items, so references resolve. */
  lua_getfield(L, idx, "phases");
  int phs = lua_gettop(L);
  uint32_t n_phases = (uint32_t)lua_rawlen(L, phs);
  p->phases = calloc(n_phases ? n_phases : 1, sizeof *p->phases);
  if (!p->phases) return -1;
  p->n_phases = n_phases;
  uint32_t n_items = 0;
  for (uint32_t i = 0; i < p->n_phases; i++) {
    lua_rawgeti(L, phs, (lua_Integer)i + 1);
    int ph = lua_gettop(L);
    phase_spec *s = &p->phases[i];
    s->id = get_interned(L, ph, "id");
    s->title = get_str(L, ph, "title");
    s->help = get_str(L, ph, "help");
    s->where = get_str(L, ph, "where");
    s->min = get_int(L, ph, "min", -1);
    s->max = get_int(L, ph, "max", -1);
    s->gate_ref = get_ref(L, ph, "gate");
    s->before_dose_ref = get_ref(L, ph, "before_dose");
    s->hold_missed = (uint8_t)get_bool(L, ph, "hold_missed", 0);
    s->unmonitored_after = (uint32_t)get_int(L, ph, "unmonitored_after", 6);
    s->unacknowledged_allowed = (uint8_t)get_bool(L, ph, "unacknowledged_allowed", 0);
    s->first_item = (uint16_t)n_items;
    s->n_items = (uint16_t)get_len(L, ph, "items");
    n_items += s->n_items;
    lua_pop(L, 1);
  }
  p->items = calloc(n_items ? n_items : 1, sizeof *p->items);
  if (!p->items) return -1;
  p->n_items = n_items;
  for (uint32_t i = 0; i < p->n_phases; i++) {
    phase_spec *s = &p->phases[i];
    lua_rawgeti(L, phs, (lua_Integer)i + 1);
    lua_getfield(L, -1, "items");
    for (uint16_t j = 0; j < s->n_items; j++) {
      item_spec *it = &p->items[s->first_item + j];
      it->index = (uint16_t)(s->first_item + j);
      lua_rawgeti(L, -1, j + 1);
      int rc = read_item(p, L, lua_gettop(L), it, (uint16_t)i);
      lua_pop(L, 1);
      if (rc < 0) return -1;
      if (it->scheduled) it->sched_slot = s->n_scheduled++;
    }
    lua_pop(L, 2);
    if (s->n_scheduled > p->max_scheduled) p->max_scheduled = s->n_scheduled;
  }
  /* A text field's format must compile: a bad pattern is the author's
   * mistake, said at its file:line when the protocol loads, not at a
   * nurse's entry (docs/safety.md H7). */
  for (uint32_t i = 0; i < p->n_items; i++) {
    const item_spec *it = &p->items[i];
    for (uint32_t k = 0; k < it->n_fields; k++) {
      char why[256], msg[700];
      int rc = it->fields[k].pattern ? vigil__text_format_check(it->fields[k].pattern, why, sizeof why) : 0;
      if (rc == 0) continue;
      if (rc == -2) { /* out of memory: the load fails, not as the author's mistake */
        p->sb->oom = 1;
        continue;
      }
      snprintf(msg, sizeof msg, "text '%s': format.pattern \"%.100s\" is not a POSIX extended regular expression: %s",
               it->id, it->fields[k].pattern, why);
      problems_add(ps, it->where ? it->where : "?:0", msg);
    }
  }
  /* Rules and signatures need every item to exist. */
  for (uint32_t i = 0; i < p->n_phases; i++) {
    phase_spec *s = &p->phases[i];
    lua_rawgeti(L, phs, (lua_Integer)i + 1);
    /* P7: the item whose recording starts the phase's clock (vigil.lua checked it). */
    lua_getfield(L, -1, "timed_from");
    s->timed_from = lua_isstring(L, -1) ? vigil__protocol_find_item(p, lua_tostring(L, -1), (int)i) : -1;
    lua_pop(L, 1);
    lua_getfield(L, -1, "rules");
    uint32_t n_rules = (uint32_t)lua_rawlen(L, -1);
    s->rules = calloc(n_rules ? n_rules : 1, sizeof *s->rules);
    if (!s->rules) return -1;
    s->n_rules = n_rules;
    for (uint32_t j = 0; j < s->n_rules; j++) {
      lua_rawgeti(L, -1, (lua_Integer)j + 1);
      int rc = read_rule(p, L, lua_gettop(L), &s->rules[j], (uint16_t)i, ps);
      lua_pop(L, 1);
      if (rc < 0) return -1;
    }
    lua_getfield(L, -2, "items");
    for (uint16_t j = 0; j < s->n_items; j++) {
      item_spec *it = &p->items[s->first_item + j];
      lua_rawgeti(L, -1, j + 1);
      if (it->kind == KIND_SIGNATURE) {
        lua_getfield(L, -1, "of");
        it->of_item = vigil__protocol_find_item(p, lua_tostring(L, -1), (int)i);
        lua_pop(L, 1);
        lua_getfield(L, -1, "attest_items");
        uint32_t n_at = lua_istable(L, -1) ? (uint32_t)lua_rawlen(L, -1) : 0;
        if (n_at && !(it->attest_items = calloc(n_at, sizeof *it->attest_items))) return -1;
        for (uint32_t k = 0; k < n_at; k++) {
          lua_rawgeti(L, -1, (lua_Integer)k + 1);
          int at = vigil__protocol_find_item(p, lua_tostring(L, -1), (int)i);
          lua_pop(L, 1);
          if (at >= 0) it->attest_items[it->n_attest_items++] = at; /* vigil.lua checked them */
        }
        lua_pop(L, 1);
      }
      /* AO1: the check of the phase it is recorded after (vigil.lua checked it). */
      lua_getfield(L, -1, "after");
      if (lua_isstring(L, -1)) it->after_item = vigil__protocol_find_item(p, lua_tostring(L, -1), (int)i);
      lua_pop(L, 1);
      lua_getfield(L, -1, "from");
      if (lua_istable(L, -1)) {
        it->n_from = (uint32_t)lua_rawlen(L, -1);
        if (!(it->from = calloc(it->n_from, sizeof *it->from))) return -1;
        for (uint32_t k = 0; k < it->n_from; k++) {
          lua_rawgeti(L, -1, (lua_Integer)k + 1);
          int src = vigil__protocol_find_item(p, lua_tostring(L, -1), (int)i);
          it->from[k] = (uint16_t)(src < 0 ? it->index : src); /* vigil.lua checked them */
          lua_pop(L, 1);
        }
      }
      lua_pop(L, 2);
    }
    lua_pop(L, 3);
  }
  lua_pop(L, 1);

  lua_getfield(L, idx, "course");
  if (lua_istable(L, -1) && read_course(p, L, lua_gettop(L)) < 0) return -1;
  lua_pop(L, 1);

  /* The drug it gives (docs/protocols.md, "The drug"): names and codes an
   * allergy on the patient's record is matched against. */
  lua_getfield(L, idx, "drug");
  if (lua_istable(L, -1)) {
    int d = lua_gettop(L);
    p->drug_names = get_names(L, d, "names", &p->n_drug_names);
    p->drug_codes = get_names(L, d, "codes", &p->n_drug_codes);
    if (!p->drug_names || !p->drug_codes) return -1;
  }
  lua_pop(L, 1);

  static const char *hooks[HOOK_COUNT] = {"alert", "phase_enter", "phase_exit", "overdue"};
  lua_getfield(L, idx, "hooks");
  for (int i = 0; i < HOOK_COUNT; i++)
    p->hooks[i] = get_ref(L, lua_gettop(L), hooks[i]);
  lua_pop(L, 1);
  return 0;
}

static int fingerprint(protocol *p, lua_State *L) {
  /* The files the protocol read, as the sandbox recorded them. */
  lua_rawgeti(L, LUA_REGISTRYINDEX, p->sb->sandbox_ref);
  lua_getfield(L, -1, "sources");
  lua_call(L, 0, 1);
  uint32_t n_sources = (uint32_t)lua_rawlen(L, -1);
  p->sources = calloc(n_sources ? n_sources : 1, sizeof *p->sources);
  if (!p->sources) return -1;
  p->n_sources = n_sources;
  for (uint32_t i = 0; i < p->n_sources; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i + 1);
    p->sources[i].path = get_str(L, -1, "path");
    lua_getfield(L, -1, "text");
    size_t len;
    const char *text = lua_tolstring(L, -1, &len);
    p->sources[i].text = malloc(len + 1);
    if (p->sources[i].text) {
      memcpy(p->sources[i].text, text, len + 1);
      p->sources[i].len = len;
    }
    lua_pop(L, 2);
    if (!p->sources[i].path || !p->sources[i].text) return -1;
  }
  lua_pop(L, 2);
  vigil__protocol_fingerprint(p->sources, p->n_sources, p->sb->dir, p->sha256);
  return p->sha256[0] ? 0 : -1; /* never a version without its fingerprint */
}

/* The path of a file within its protocol folder. */
static const char *relative(const char *path, const char *dir) {
  size_t n = dir ? strlen(dir) : 0;
  return n && !strncmp(path, dir, n) && path[n] == '/' ? path + n + 1 : path;
}

void vigil__protocol_fingerprint(const source_file *files, uint32_t n, const char *dir, char out[65]) {
  /* Sorted by path, so the fingerprint does not depend on require order;
   * paths within the folder, so the same files elsewhere are the same version. */
  const source_file **order = malloc((n ? n : 1) * sizeof *order);
  if (!order) {
    out[0] = '\0';
    return;
  }
  for (uint32_t i = 0; i < n; i++)
    order[i] = &files[i];
  for (uint32_t i = 1; i < n; i++)
    for (uint32_t j = i; j > 0 && strcmp(relative(order[j - 1]->path, dir), relative(order[j]->path, dir)) > 0; j--) {
      const source_file *t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  for (uint32_t i = 0; i < n; i++) {
    char len[32];
    int m = snprintf(len, sizeof len, "%zu", order[i]->len);
    const char *rel = relative(order[i]->path, dir);
    crypto_hash_sha256_update(&st, (const unsigned char *)rel, strlen(rel) + 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)len, (unsigned long long)m + 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)order[i]->text, order[i]->len);
  }
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, h);
  sodium_bin2hex(out, 65, h, sizeof h);
  free(order);
}

static void collect_problems(lua_State *L, problems *ps) {
  /* lang.problems(): the problems found while declaring */
  lua_getfield(L, -1, "problems");
  lua_call(L, 0, 1);
  size_t n = lua_rawlen(L, -1);
  for (size_t i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i);
    lua_getfield(L, -1, "where");
    lua_getfield(L, -2, "message");
    problems_add(ps, lua_tostring(L, -2), lua_tostring(L, -1));
    lua_pop(L, 3);
  }
  lua_pop(L, 1);
}

static protocol *load(const char *dir, const char *main_file, source_file *files, uint32_t n_files, size_t mem_cap,
                      uint64_t budget, problem_fn fn, void *ud);

protocol *vigil__protocol_load(const char *path, size_t mem_cap, uint64_t budget, problem_fn fn, void *ud) {
  char dir[4096], main_file[1024];
  struct stat st;
  if (stat(path, &st) < 0) {
    char where[4200];
    snprintf(where, sizeof where, "%s:0", path);
    if (fn) fn(ud, where, "no such file or folder");
    return NULL;
  }
  if (S_ISDIR(st.st_mode)) {
    snprintf(dir, sizeof dir, "%s", path);
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
      dir[--n] = '\0';
    snprintf(main_file, sizeof main_file, "protocol.lua");
  } else {
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    snprintf(main_file, sizeof main_file, "%s", slash ? slash + 1 : path);
  }
  return load(dir, main_file, NULL, 0, mem_cap, budget, fn, ud);
}

protocol *vigil__protocol_load_stored(const char *dir, source_file *files, uint32_t n, size_t mem_cap, uint64_t budget,
                                      problem_fn fn, void *ud) {
  /* The main file is the one that is not required by another: protocol.lua,
   * or a single-file protocol's own name. */
  const char *main_file = n ? files[0].path : "protocol.lua";
  for (uint32_t i = 0; i < n; i++)
    if (!strcmp(files[i].path, "protocol.lua")) main_file = "protocol.lua";
  return load(dir, main_file, files, n, mem_cap, budget, fn, ud);
}

static protocol *load(const char *dir, const char *main_file, source_file *files, uint32_t n_files, size_t mem_cap,
                      uint64_t budget, problem_fn fn, void *ud) {
  problems ps = {0};
  char err[2048];
  char main_path[5200];
  snprintf(main_path, sizeof main_path, "%s/%s", dir, main_file);

  protocol *p = calloc(1, sizeof *p);
  if (!p) {
    /* Said like any other failed load: a lint that is told nothing passes. */
    if (fn) {
      char where[5300];
      snprintf(where, sizeof where, "%s:0", main_path);
      fn(ud, where, "out of memory while loading the protocol");
    }
    vigil__source_files_free(files, n_files);
    return NULL;
  }
  p->stored = files;
  p->n_stored = n_files;
  p->view_ref = LUA_NOREF;
  for (int i = 0; i < HOOK_COUNT; i++)
    p->hooks[i] = LUA_NOREF;
  p->sb = vigil__sandbox_open(dir, files, n_files, mem_cap, budget, err, sizeof err);
  if (!p->sb) {
    problems_add_error(&ps, err, main_path);
    goto fail;
  }
  lua_State *L = p->sb->L;

  /* 1. Run the protocol's body: it declares. */
  p->sb->loading = 1;
  lua_rawgeti(L, LUA_REGISTRYINDEX, p->sb->sandbox_ref);
  lua_getfield(L, -1, "run_main");
  lua_pushstring(L, main_file);
  int rc = vigil__sandbox_call(p->sb, 1, 1, err, sizeof err);
  p->sb->loading = 0;
  vigil__sandbox_push_lang(p->sb);
  if (rc != LUA_OK) {
    problems_add_error(&ps, err, main_path);
    collect_problems(L, &ps);
    lua_settop(L, 0);
    goto fail;
  }
  /* 2. Check and normalise: lang.compile(root, sources) */
  lua_getfield(L, -1, "compile");
  lua_pushvalue(L, -3);
  lua_getfield(L, -5, "sources");
  lua_call(L, 0, 1);
  if (vigil__sandbox_call(p->sb, 2, 2, err, sizeof err) != LUA_OK) {
    problems_add_error(&ps, err, main_path);
    lua_settop(L, 0);
    goto fail;
  }
  lua_pop(L, 1); /* the problems list: lang.problems() has them all */
  int norm = lua_gettop(L);
  lua_pushvalue(L, norm - 1); /* lang */
  collect_problems(L, &ps);
  lua_pop(L, 1);
  if (problems_found(&ps) > 0 || lua_isnil(L, norm)) goto fail_clear;
  /* 3. Into C. What it says of a protocol read without all of its names
   * (out of memory: lost(), sb->oom) is not the protocol's fault. */
  p->sb->oom = 0;
  if (compile(p, L, norm, &ps) < 0 || p->sb->oom) {
    problems_truncate(&ps, 0); /* none before it: checked above */
    ps.lost = 0;
    problems_add(&ps, main_path, "out of memory while compiling the protocol");
    goto fail_clear;
  }
  if (problems_found(&ps) > 0) goto fail_clear;
  lua_settop(L, 0);
  if (fingerprint(p, L) < 0 || p->sb->oom) {
    problems_add(&ps, main_path, "out of memory while reading the sources");
    goto fail;
  }
  /* What each rule's code raises: a failing rule's technical alert is never
   * below it (H6), whatever the rule declares (lint refuses the declaration). */
  for (uint32_t i = 0; i < p->n_phases; i++)
    for (uint32_t j = 0; j < p->phases[i].n_rules; j++) {
      code_raises cr;
      vigil__code_raises(p, p->phases[i].rules[j].fn_ref, &cr);
      p->phases[i].rules[j].code_priority = (int8_t)vigil__code_raises_highest(&cr);
    }
  /* AM5: nothing its code keeps can carry one visit into another. */
  vigil__protocol_push_code(p);
  if (vigil__sandbox_freeze(p->sb, -1, err, sizeof err) < 0) {
    if (p->sb->oom) snprintf(err, sizeof err, "out of memory while loading the protocol");
    problems_add_error(&ps, err, main_path);
    goto fail_clear;
  }
  lua_settop(L, 0);
  p->ref_atom = vigil__intern(p->ref);
  p->sha_atom = vigil__intern(p->sha256);
  uint32_t n_defaults = 0;
  for (uint32_t i = 0; i < p->n_params; i++)
    n_defaults += p->params[i].def.type != VAL_NIL;
  p->defaults = vigil__val_record(n_defaults);
  for (uint32_t i = 0, k = 0; vigil__val_ok(p->defaults) && i < p->n_params; i++)
    if (p->params[i].def.type != VAL_NIL)
      val_fields(p->defaults)[k++] = (field){.key = p->params[i].name, .v = vigil__val_retain(p->params[i].def)};
  if (!p->ref_atom || !p->sha_atom || !vigil__val_ok(p->defaults)) {
    problems_add(&ps, main_path, "out of memory");
    goto fail;
  }
  problems_free(&ps);
  return p;
fail_clear:
  lua_settop(L, 0);
fail:
  problems_report(&ps, main_path, fn, ud);
  if (problems_found(&ps) == 0 && fn) {
    char where[5300];
    snprintf(where, sizeof where, "%s:0", main_path);
    fn(ud, where, "the protocol could not be loaded");
  }
  problems_free(&ps);
  vigil__protocol_free(p);
  return NULL;
}

static void push_ref(lua_State *L, int list, int ref) {
  if (ref == LUA_NOREF || ref == LUA_REFNIL) return;
  if (lua_rawgeti(L, LUA_REGISTRYINDEX, ref) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return;
  }
  lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
}

void vigil__protocol_push_code(const protocol *p) {
  lua_State *L = p->sb->L;
  lua_newtable(L);
  int list = lua_gettop(L);
  for (uint32_t ph = 0; ph < p->n_phases; ph++) {
    push_ref(L, list, p->phases[ph].gate_ref);
    push_ref(L, list, p->phases[ph].before_dose_ref);
    for (uint32_t r = 0; r < p->phases[ph].n_rules; r++)
      push_ref(L, list, p->phases[ph].rules[r].fn_ref);
  }
  for (uint32_t it = 0; it < p->n_items; it++) {
    push_ref(L, list, p->items[it].when_ref);
    push_ref(L, list, p->items[it].compute_ref);
    push_ref(L, list, p->items[it].calc_ref);
  }
  for (int h = 0; h < HOOK_COUNT; h++)
    push_ref(L, list, p->hooks[h]);
}

static const char *main_path_of(const protocol *p) { return p->n_sources ? p->sources[0].path : p->ref; }

/* Lint only: runs every rule, gate, `when` and `compute` of p against the
 * synthetic visits of lang.exercise_cases (vigil.lua), each case under its own
 * budget, and reports what failed. The number of problems found. */
int vigil__protocol_exercise(protocol *p, problem_fn fn, void *ud) {
  problems ps = {0};
  lua_State *L = p->sb->L;
  char err[2048];
  /* A rule's declared priority is its technical alert's when it fails (H6):
   * never below what its code raises (a demoted stop rule would fail quietly). */
  for (uint32_t i = 0; i < p->n_phases; i++)
    for (uint32_t j = 0; j < p->phases[i].n_rules; j++) {
      const rule_spec *r = &p->phases[i].rules[j];
      code_raises cr;
      vigil__code_raises(p, r->fn_ref, &cr);
      int highest = vigil__code_raises_highest(&cr);
      if (highest <= (int)r->priority) continue;
      const char *dir = p->sb->dir;
      size_t dl = dir ? strlen(dir) : 0;
      snprintf(err, sizeof err,
               "rule '%s': priority = \"%s\" is lower than what its code raises (%s, %s): a failing rule's technical "
               "alert takes its priority; declare priority = \"%s\"",
               r->id, vigil__priority_name(r->priority),
               cr.blocks                  ? "v.block, which holds the gate"
               : highest == PRIORITY_HIGH ? "v.alert.high"
                                          : "v.alert.medium",
               dl && !strncmp(cr.where, dir, dl) && cr.where[dl] == '/' ? cr.where + dl + 1 : cr.where,
               vigil__priority_name((priority)highest));
      problems_add(&ps, r->where ? r->where : main_path_of(p), err);
    }
  const char *main_path = main_path_of(p);
  vigil__sandbox_push_lang(p->sb);
  int lang = lua_gettop(L);
  lua_getfield(L, lang, "exercise_cases");
  if (vigil__sandbox_call(p->sb, 0, 1, err, sizeof err) != LUA_OK) {
    problems_add_error(&ps, err, main_path);
  } else {
    int cases = lua_gettop(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, cases);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, cases, i);
      if (vigil__sandbox_call(p->sb, 0, 0, err, sizeof err) != LUA_OK) problems_add_error(&ps, err, main_path);
    }
  }
  lua_settop(L, lang);
  collect_problems(L, &ps);
  lua_settop(L, lang - 1);
  size_t found = problems_found(&ps);
  problems_report(&ps, main_path, fn, ud);
  problems_free(&ps);
  return (int)found;
}

static void free_fields(field_spec *f, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    free(f[i].title);
    free(f[i].unit);
    free(f[i].loinc);
    free(f[i].pattern);
    free(f[i].pattern_says);
    free(f[i].options);
    for (uint32_t k = 0; k < f[i].n_points; k++)
      free(f[i].points[k].label);
    free(f[i].points);
  }
  free(f);
}

void vigil__protocol_free(protocol *p) {
  if (!p) return;
  for (uint32_t i = 0; i < p->n_items; i++) {
    item_spec *it = &p->items[i];
    free(it->title);
    free(it->help);
    free(it->where);
    free(it->meaning);
    free(it->from);
    free(it->attest_params);
    free(it->attest_items);
    free_fields(it->fields, it->n_fields);
  }
  free(p->items);
  for (uint32_t i = 0; i < p->n_phases; i++) {
    phase_spec *s = &p->phases[i];
    for (uint32_t j = 0; j < s->n_rules; j++) {
      free(s->rules[j].where);
      free(s->rules[j].on);
    }
    free(s->rules);
    free(s->title);
    free(s->help);
    free(s->where);
  }
  free(p->phases);
  free(p->drug_names);
  free(p->drug_codes);
  if (p->course) {
    free(p->course->visits);
    free(p->course->dose_given);
    free(p->course->dose_recorded);
    free(p->course->measures);
    free(p->course->where);
    free(p->course);
  }
  for (uint32_t i = 0; i < p->n_params; i++) {
    free(p->params[i].title);
    free(p->params[i].unit);
    free(p->params[i].options);
    free(p->params[i].less_than);
    vigil__val_release(p->params[i].def);
  }
  free(p->params);
  vigil__val_release(p->defaults);
  for (uint32_t i = 0; i < p->n_sources; i++) {
    free(p->sources[i].path);
    free(p->sources[i].text);
  }
  free(p->sources);
  vigil__sandbox_close(p->sb);
  vigil__source_files_free(p->stored, p->n_stored);
  free(p->id);
  free(p->version);
  free(p->ref);
  free(p->title);
  free(p->description);
  free(p);
}

void vigil__source_files_free(source_file *files, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    free(files[i].path);
    free(files[i].text);
  }
  free(files);
}

int vigil__protocol_find_item(const protocol *p, const char *ref, int phase) {
  if (!ref) return -1;
  const char *dot = strchr(ref, '.');
  if (dot) {
    const char *q = vigil__intern_find(ref, strlen(ref));
    for (uint32_t i = 0; q && i < p->n_items; i++)
      if (p->items[i].qid == q) return (int)i;
    return -1;
  }
  const char *id = vigil__intern_find(ref, strlen(ref));
  if (!id) return -1;
  if (phase >= 0) {
    const phase_spec *s = &p->phases[phase];
    for (uint16_t j = 0; j < s->n_items; j++)
      if (p->items[s->first_item + j].id == id) return s->first_item + j;
  }
  int found = -1;
  for (uint32_t i = 0; i < p->n_items; i++) {
    if (p->items[i].id != id) continue;
    if (found >= 0) return -1; /* ambiguous: lint says "write phase.item" */
    found = (int)i;
  }
  return found;
}

int vigil__protocol_find_param(const protocol *p, const char *name) {
  for (uint32_t i = 0; i < p->n_params; i++)
    if (!strcmp(p->params[i].name, name)) return (int)i;
  return -1;
}

const field_spec *vigil__item_find_field(const item_spec *it, const char *name) {
  for (uint32_t i = 0; i < it->n_fields; i++)
    if (it->fields[i].name == name || !strcmp(it->fields[i].name, name)) return &it->fields[i];
  return NULL;
}

int64_t vigil__schedule_due(const schedule *s, uint32_t k) {
  if (s->count >= 0 && (int64_t)k >= s->count) return -1;
  if (k > 0 && s->every <= 0) return -1;
  int64_t due = s->at + (int64_t)k * s->every;
  if (s->until >= 0 && due > s->until) return -1;
  return due;
}
