/* coverage.c: what a protocol's specs reached (`vigil test --coverage`). */
#include "author/coverage.h"

#include <jansson.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "engine/inspect.h"

/* Per line of a protocol file: it can run (is in a function), it ran. */
enum { LINE_CODE = 1, LINE_RAN = 2 };

typedef struct cov_file {
  char *path;
  uint8_t *lines; /* indexed by line number */
  int n;
} cov_file;

typedef struct cov_entry {
  char *name, *where;   /* "phase.rule" or "phase.item", and where it is declared */
  uint64_t runs, fired; /* rules: calls and calls with an outcome; items: recordings */
} cov_entry;

typedef struct cov_protocol {
  char *ref;
  cov_entry *rules, *items;
  uint32_t n_rules, n_items;
} cov_protocol;

struct spec_coverage {
  cov_file *files;
  int n_files;
  cov_protocol *protocols;
  int n_protocols;
  cov_file *last; /* the file of the last traced line: lines come in runs */
};

spec_coverage *vigil__coverage_new(void) { return calloc(1, sizeof(spec_coverage)); }

void vigil__coverage_free(spec_coverage *c) {
  if (!c) return;
  for (int i = 0; i < c->n_files; i++) {
    free(c->files[i].path);
    free(c->files[i].lines);
  }
  free(c->files);
  for (int i = 0; i < c->n_protocols; i++) {
    cov_protocol *p = &c->protocols[i];
    for (uint32_t j = 0; j < p->n_rules; j++)
      free(p->rules[j].name), free(p->rules[j].where);
    for (uint32_t j = 0; j < p->n_items; j++)
      free(p->items[j].name), free(p->items[j].where);
    free(p->rules);
    free(p->items);
    free(p->ref);
  }
  free(c->protocols);
  free(c);
}

static cov_file *file_of(spec_coverage *c, const char *path) {
  if (c->last && !strcmp(c->last->path, path)) return c->last;
  for (int i = 0; i < c->n_files; i++)
    if (!strcmp(c->files[i].path, path)) return c->last = &c->files[i];
  cov_file *grown = realloc(c->files, (size_t)(c->n_files + 1) * sizeof *grown);
  if (!grown) return NULL;
  c->files = grown;
  cov_file *f = &c->files[c->n_files];
  *f = (cov_file){.path = strdup(path)};
  if (!f->path) return NULL;
  c->n_files++;
  return c->last = f;
}

static void mark(spec_coverage *c, const char *source, int line, uint8_t what) {
  if (source[0] != '@' || line <= 0) return; /* the embedded language, not the protocol */
  cov_file *f = file_of(c, source + 1);
  if (!f) return;
  if (line >= f->n) {
    int n = line + 64;
    uint8_t *grown = realloc(f->lines, (size_t)n);
    if (!grown) return;
    memset(grown + f->n, 0, (size_t)(n - f->n));
    f->lines = grown, f->n = n;
  }
  f->lines[line] |= what;
}

/* The function on top of L: its lines become code that can run. Pops it. */
static void mark_function_lines(spec_coverage *c, lua_State *L) {
  lua_Debug ar;
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  lua_getinfo(L, ">SL", &ar); /* pops the function, pushes its active lines */
  if (lua_istable(L, -1) && ar.source[0] == '@') {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      int line = (int)lua_tointeger(L, -2);
      /* The closing `end` of a function that always returns early is no
       * branch anyone could take: it counts only when it is the only line. */
      if (line != ar.lastlinedefined || ar.lastlinedefined == ar.linedefined) mark(c, ar.source, line, LINE_CODE);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
}

static void trace(void *ud, lua_State *L, lua_Debug *ar) {
  spec_coverage *c = ud;
  if (ar->event == LUA_HOOKLINE) {
    if (lua_getinfo(L, "S", ar)) mark(c, ar->source, ar->currentline, LINE_RAN);
  } else if (ar->event == LUA_HOOKCALL || ar->event == LUA_HOOKTAILCALL) {
    /* A helper the protocol's functions call: its lines count too. */
    if (lua_getinfo(L, "S", ar) && ar->source[0] == '@' && lua_getinfo(L, "f", ar)) mark_function_lines(c, L);
  }
}

static void mark_ref(spec_coverage *c, lua_State *L, int ref) {
  if (ref == LUA_NOREF || ref == LUA_REFNIL) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  mark_function_lines(c, L);
}

static char *qualified(const char *phase, const char *id) {
  size_t n = strlen(phase) + strlen(id) + 2;
  char *s = malloc(n);
  if (s) snprintf(s, n, "%s.%s", phase, id);
  return s;
}

static cov_protocol *protocol_of(spec_coverage *c, const protocol *p) {
  for (int i = 0; i < c->n_protocols; i++)
    if (!strcmp(c->protocols[i].ref, p->ref)) return &c->protocols[i];
  cov_protocol *grown = realloc(c->protocols, (size_t)(c->n_protocols + 1) * sizeof *grown);
  if (!grown) return NULL;
  c->protocols = grown;
  cov_protocol *cp = &c->protocols[c->n_protocols++];
  *cp = (cov_protocol){.ref = strdup(p->ref)};
  uint32_t n_rules = 0;
  for (uint32_t i = 0; i < p->n_phases; i++)
    n_rules += p->phases[i].n_rules;
  cp->rules = calloc(n_rules ? n_rules : 1, sizeof *cp->rules);
  cp->items = calloc(p->n_items ? p->n_items : 1, sizeof *cp->items);
  if (!cp->ref || !cp->rules || !cp->items) return NULL;
  for (uint32_t i = 0; i < p->n_phases; i++)
    for (uint32_t j = 0; j < p->phases[i].n_rules; j++) {
      const rule_spec *r = &p->phases[i].rules[j];
      cp->rules[cp->n_rules++] = (cov_entry){.name = qualified(p->phases[i].id, r->id), .where = strdup(r->where)};
    }
  for (uint32_t i = 0; i < p->n_items; i++)
    cp->items[cp->n_items++] = (cov_entry){.name = strdup(p->items[i].qid), .where = strdup(p->items[i].where)};
  return cp;
}

static cov_entry *find_entry(cov_entry *list, uint32_t n, const char *name) {
  for (uint32_t i = 0; i < n; i++)
    if (list[i].name && !strcmp(list[i].name, name)) return &list[i];
  return NULL;
}

/* Items reached: every recording and skip, from the events. */
static int on_item(void *ud, const vigil_event *ev) {
  spec_coverage *c = ud;
  char *text = vigil_event_json(NULL, ev);
  json_t *j = text ? json_loads(text, 0, NULL) : NULL;
  vigil_free(text);
  json_t *d = json_object_get(j, "data");
  const char *phase = json_string_value(json_object_get(d, "phase"));
  const char *key;
  json_t *x;
  char name[512];
  for (int i = 0; phase && i < c->n_protocols; i++) {
    cov_protocol *p = &c->protocols[i];
    json_object_foreach(json_object_get(d, "values"), key, x) {
      snprintf(name, sizeof name, "%s.%s", phase, key);
      cov_entry *it = find_entry(p->items, p->n_items, name);
      if (it) it->runs++;
    }
  }
  const char *skipped = json_string_value(json_object_get(d, "item"));
  for (int i = 0; skipped && i < c->n_protocols; i++) {
    cov_protocol *p = &c->protocols[i];
    if (!strchr(skipped, '.') && phase)
      snprintf(name, sizeof name, "%s.%s", phase, skipped);
    else
      snprintf(name, sizeof name, "%s", skipped);
    cov_entry *it = find_entry(p->items, p->n_items, name);
    if (it) it->runs++;
  }
  json_decref(j);
  return 0;
}

void vigil__coverage_attach(spec_coverage *c, vigil_engine *e) {
  for (uint32_t i = 0; i < vigil__engine_protocol_count(e); i++) {
    protocol *p = vigil__engine_protocol(e, i);
    if (!protocol_of(c, p)) continue;
    lua_State *L = p->sb->L;
    for (uint32_t ph = 0; ph < p->n_phases; ph++) {
      mark_ref(c, L, p->phases[ph].gate_ref);
      mark_ref(c, L, p->phases[ph].before_dose_ref);
      for (uint32_t r = 0; r < p->phases[ph].n_rules; r++)
        mark_ref(c, L, p->phases[ph].rules[r].fn_ref);
    }
    for (uint32_t it = 0; it < p->n_items; it++) {
      mark_ref(c, L, p->items[it].when_ref);
      mark_ref(c, L, p->items[it].compute_ref);
    }
    for (int h = 0; h < HOOK_COUNT; h++)
      mark_ref(c, L, p->hooks[h]);
    p->sb->trace = trace;
    p->sb->trace_ud = c;
  }
  vigil_engine_subscribe(e, "item.recorded", on_item, c);
  vigil_engine_subscribe(e, "item.skipped", on_item, c);
}

void vigil__coverage_detach(spec_coverage *c, vigil_engine *e) {
  for (uint32_t i = 0; i < vigil__engine_protocol_count(e); i++) {
    protocol *p = vigil__engine_protocol(e, i);
    p->sb->trace = NULL;
    p->sb->trace_ud = NULL;
    cov_protocol *cp = protocol_of(c, p);
    if (!cp) continue;
    for (uint32_t ph = 0; ph < p->n_phases; ph++)
      for (uint32_t r = 0; r < p->phases[ph].n_rules; r++) {
        rule_spec *rs = &p->phases[ph].rules[r];
        char name[512];
        snprintf(name, sizeof name, "%s.%s", p->phases[ph].id, rs->id);
        cov_entry *ce = find_entry(cp->rules, cp->n_rules, name);
        if (ce) ce->runs += rs->runs, ce->fired += rs->fired;
        rs->runs = rs->fired = 0;
      }
  }
  c->last = NULL;
}

static void emit_line(coverage_line_fn fn, void *ud, buf *b) {
  fn(ud, b->p ? b->p : "");
  vigil__buf_reset(b);
}

int vigil__coverage_report(const spec_coverage *c, coverage_line_fn fn, void *ud) {
  int missed = 0;
  buf b;
  vigil__buf_init(&b);
  for (int i = 0; i < c->n_protocols; i++) {
    const cov_protocol *p = &c->protocols[i];
    uint32_t ran = 0, fired = 0, recorded = 0;
    for (uint32_t j = 0; j < p->n_rules; j++)
      ran += p->rules[j].runs > 0, fired += p->rules[j].fired > 0;
    for (uint32_t j = 0; j < p->n_items; j++)
      recorded += p->items[j].runs > 0;
    vigil__buf_printf(&b, "coverage of %s", p->ref);
    emit_line(fn, ud, &b);
    vigil__buf_printf(&b, "rules: %u of %u ran, %u of them returned an alert, block or note", ran, p->n_rules, fired);
    emit_line(fn, ud, &b);
    for (uint32_t j = 0; j < p->n_rules; j++) {
      const cov_entry *r = &p->rules[j];
      if (r->runs && r->fired) continue;
      vigil__buf_printf(&b, "  rule %s (%s): %s", r->name, r->where,
                        r->runs ? "ran, never returned an outcome" : "never ran");
      emit_line(fn, ud, &b);
      missed++;
    }
    vigil__buf_printf(&b, "items: %u of %u recorded or skipped", recorded, p->n_items);
    emit_line(fn, ud, &b);
    for (uint32_t j = 0; j < p->n_items; j++) {
      if (p->items[j].runs) continue;
      vigil__buf_printf(&b, "  item %s (%s): never recorded", p->items[j].name, p->items[j].where);
      emit_line(fn, ud, &b);
      missed++;
    }
  }
  int code = 0, run = 0;
  for (int i = 0; i < c->n_files; i++)
    for (int l = 0; l < c->files[i].n; l++) {
      code += (c->files[i].lines[l] & LINE_CODE) != 0;
      run += (c->files[i].lines[l] & (LINE_CODE | LINE_RAN)) == (LINE_CODE | LINE_RAN);
    }
  vigil__buf_printf(&b, "lines: %d of %d lines of rules, gates, hooks and their helpers ran", run, code);
  emit_line(fn, ud, &b);
  for (int i = 0; i < c->n_files; i++) {
    const cov_file *f = &c->files[i];
    for (int l = 0; l < f->n; l++) {
      if (f->lines[l] != LINE_CODE) continue;
      int end = l;
      /* One range over lines that never ran, skipping lines that are no code. */
      for (int k = l + 1; k < f->n && !(f->lines[k] & LINE_RAN); k++)
        if (f->lines[k] & LINE_CODE) end = k;
      if (end > l)
        vigil__buf_printf(&b, "  %s:%d-%d: never ran", f->path, l, end);
      else
        vigil__buf_printf(&b, "  %s:%d: never ran", f->path, l);
      emit_line(fn, ud, &b);
      missed++;
      l = end;
    }
  }
  vigil__buf_free(&b);
  return missed;
}
