/* vigil__protocol_diff.c: what changed between two versions of a protocol, in the
 * terms a clinical reviewer uses (`vigil protocol diff`).
 *
 * Both versions are loaded and compiled; the comparison is of what they
 * declare (params, phases, items, schedules, rules, gates, hooks), not of
 * their text, so moving a file or reformatting says nothing while a changed
 * default says "sbp_alert: default 180 -> 190 mm[Hg]". Rule, gate and hook
 * code is compared as text without comments and spacing; helper files (lib.lua)
 * are compared line by line, and each change is named by the function (or
 * top-level table) it is in.
 */
#include "author/protocol_diff.h"

#include <dirent.h>
#include <jansson.h>
#include <lauxlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "author/behaviour_diff.h"
#include "author/spec.h"
#include "base/buf.h"
#include "base/intern.h"
#include "lang/rule_code.h"
#include "vigil/vigil.h"

typedef struct differ {
  const protocol *a, *b;
  diff_line_fn fn;
  void *ud;
  int changes;
  const char *section; /* printed before its first line */
  int oom;             /* a text compared could not be made: the diff is not all of it */
} differ;

/* AP3: defaults.latch as the protocol says it: the lowest priority that latches, or none. */
static const char *latch_name(int from) {
  return from == PRIORITY_HIGH ? "high" : from == PRIORITY_MEDIUM ? "medium" : from == PRIORITY_LOW ? "low" : "none";
}

static void say(differ *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(differ *d, const char *fmt, ...) {
  if (d->section) {
    d->fn(d->ud, d->section);
    d->section = NULL;
  }
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  d->fn(d->ud, line);
  d->changes++;
}

static int same_str(const char *x, const char *y) { return (!x && !y) || (x && y && !strcmp(x, y)); }

/* Whether two texts made for comparing differ; when either could not be made
 * (out of memory) the differ is marked and nothing is said of them: a text
 * lost is never a change (fourth review, item 3). */
static int texts_differ(differ *d, const buf *x, const buf *y) {
  if (x->oom || y->oom) {
    d->oom = 1;
    return 0;
  }
  return strcmp(x->p ? x->p : "", y->p ? y->p : "") != 0;
}

/* "1h30m" for a duration in ms; "none" for -1. */
static const char *dur(char *out, size_t n, int64_t ms) {
  if (ms < 0) return snprintf(out, n, "none"), out;
  if (ms == 0) return snprintf(out, n, "0s"), out;
  size_t used = 0;
  static const struct {
    int64_t ms;
    char unit;
  } units[] = {{86400000, 'd'}, {3600000, 'h'}, {60000, 'm'}, {1000, 's'}};
  out[0] = '\0';
  for (size_t i = 0; i < 4 && used < n; i++)
    if (ms >= units[i].ms) {
      used += (size_t)snprintf(out + used, n - used, "%lld%c", (long long)(ms / units[i].ms), units[i].unit);
      ms %= units[i].ms;
    }
  return out;
}

static const char *range_text(char *out, size_t n, int has, double lo, double hi) {
  if (!has)
    snprintf(out, n, "none");
  else
    snprintf(out, n, "%g..%g", lo, hi);
  return out;
}

static void options_text(buf *b, const char **o, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    vigil__buf_printf(b, "%s\"%s\"", i ? ", " : "", o[i]);
}

static int same_options(const char **x, uint32_t nx, const char **y, uint32_t ny) {
  if (nx != ny) return 0;
  for (uint32_t i = 0; i < nx; i++)
    if (strcmp(x[i], y[i])) return 0;
  return 1;
}

/* A score field's points as a form shows them: "2 (moves 4 extremities), 1, 0". */
static void points_text(buf *b, const score_point *p, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    vigil__buf_printf(b, "%s%g", i ? ", " : "", p[i].value);
    if (p[i].label) vigil__buf_printf(b, " (%s)", p[i].label);
  }
}

static int same_points(const field_spec *x, const field_spec *y) {
  if (x->n_points != y->n_points) return 0;
  for (uint32_t i = 0; i < x->n_points; i++)
    if (x->points[i].value != y->points[i].value || !same_str(x->points[i].label, y->points[i].label)) return 0;
  return 1;
}

/* ---- code -------------------------------------------------------------------- */

/* The path of a source file relative to its protocol's folder. */
static const char *relative(const protocol *p, const char *path) {
  size_t n = strlen(p->sb->dir);
  if (!strncmp(path, p->sb->dir, n) && path[n] == '/') return path + n + 1;
  return path;
}

/* Compares two functions; says what changed as "<what>: code changed (where)". */
static void compare_code(differ *d, const char *what, int ref_a, int ref_b) {
  buf x, y;
  vigil__buf_init(&x);
  vigil__buf_init(&y);
  char wa[512], wb[512];
  vigil__function_code(d->a, ref_a, &x, wa, sizeof wa);
  vigil__function_code(d->b, ref_b, &y, wb, sizeof wb);
  int has_a = ref_a != LUA_NOREF && ref_a != LUA_REFNIL, has_b = ref_b != LUA_NOREF && ref_b != LUA_REFNIL;
  if (has_a && !has_b)
    say(d, "  ~ %s: removed (was %s)", what, wa);
  else if (!has_a && has_b)
    say(d, "  ~ %s: added (%s)", what, wb);
  else if (has_a && texts_differ(d, &x, &y))
    say(d, "  ~ %s: code changed (%s, was %s)", what, wb, wa);
  vigil__buf_free(&x);
  vigil__buf_free(&y);
}

/* The priorities a function's code raises (v.alert.high(...), ...), also
 * through the helpers it calls (lib.spo2_low), as "high, low", "" when none:
 * a demotion in the code is named, not only "code changed" (G10). The
 * analysis is the engine's and lint's (lang/rule_code.h). */
static void code_priorities(differ *d, const protocol *p, int ref, char *out, size_t n) {
  code_raises cr;
  vigil__code_raises(p, ref, &cr);
  if (cr.oom) d->oom = 1; /* the priorities below are not all: compared, they would say a false change */
  static const char *names[] = {"high", "medium", "low"};
  size_t o = 0;
  out[0] = '\0';
  for (int i = 0; i < 3; i++)
    if ((cr.priorities & (1u << (PRIORITY_HIGH - i))) && o < n)
      o += (size_t)snprintf(out + o, n - o, "%s%s", o ? ", " : "", names[i]);
}

/* ---- params ------------------------------------------------------------------ */

static const param_spec *find_param(const protocol *p, const char *name) {
  for (uint32_t i = 0; i < p->n_params; i++)
    if (!strcmp(p->params[i].name, name)) return &p->params[i];
  return NULL;
}

static void value_text(buf *b, val v) {
  if (v.type == VAL_NIL)
    vigil__buf_puts(b, "none (required)");
  else if (v.type == VAL_NUMBER)
    vigil__buf_printf(b, "%g", v.u.num);
  else
    vigil__val_to_json(b, v);
}

static void diff_params(differ *d) {
  d->section = "Parameters (thresholds and per-visit values):";
  for (uint32_t i = 0; i < d->b->n_params; i++) {
    const param_spec *y = &d->b->params[i], *x = find_param(d->a, y->name);
    buf b;
    vigil__buf_init(&b);
    if (!x) {
      value_text(&b, y->def);
      say(d, "  + %s \"%s\": default %s%s%s", y->name, y->title ? y->title : y->name, b.p, y->unit ? " " : "",
          y->unit ? y->unit : "");
      vigil__buf_free(&b);
      continue;
    }
    buf xa, ya;
    vigil__buf_init(&xa);
    vigil__buf_init(&ya);
    value_text(&xa, x->def);
    value_text(&ya, y->def);
    if (texts_differ(d, &xa, &ya))
      say(d, "  ~ %s \"%s\": default %s -> %s%s%s", y->name, y->title ? y->title : y->name, xa.p, ya.p,
          y->unit ? " " : "", y->unit ? y->unit : "");
    char r1[64], r2[64];
    if (x->has_range != y->has_range || (y->has_range && (x->lo != y->lo || x->hi != y->hi)))
      say(d, "  ~ %s: allowed range %s -> %s", y->name, range_text(r1, sizeof r1, x->has_range, x->lo, x->hi),
          range_text(r2, sizeof r2, y->has_range, y->lo, y->hi));
    if (!same_str(x->unit, y->unit))
      say(d, "  ~ %s: unit %s -> %s", y->name, x->unit ? x->unit : "none", y->unit ? y->unit : "none");
    if (x->prescribed != y->prescribed)
      say(d, "  ~ %s: prescribed %s -> %s%s", y->name, x->prescribed ? "yes" : "no", y->prescribed ? "yes" : "no",
          y->prescribed ? " (only a clinician changes it)" : " (a nurse may now change it)");
    if (x->kind != y->kind)
      say(d, "  ~ %s: kind %s -> %s", y->name, vigil__field_kind_name(x->kind), vigil__field_kind_name(y->kind));
    if (!same_str(x->title, y->title))
      say(d, "  ~ %s: title \"%s\" -> \"%s\"", y->name, x->title ? x->title : "", y->title ? y->title : "");
    if (!same_options(x->options, x->n_options, y->options, y->n_options)) {
      vigil__buf_reset(&b);
      options_text(&b, y->options, y->n_options);
      say(d, "  ~ %s: options now %s", y->name, b.p ? b.p : "none");
    }
    vigil__buf_free(&xa);
    vigil__buf_free(&ya);
    vigil__buf_free(&b);
  }
  for (uint32_t i = 0; i < d->a->n_params; i++)
    if (!find_param(d->b, d->a->params[i].name))
      say(d, "  - %s \"%s\"", d->a->params[i].name, d->a->params[i].title ? d->a->params[i].title : "");
}

/* ---- phases, items, rules ------------------------------------------------------ */

static const phase_spec *find_phase(const protocol *p, const char *id, uint32_t *index) {
  for (uint32_t i = 0; i < p->n_phases; i++)
    if (!strcmp(p->phases[i].id, id)) {
      if (index) *index = i;
      return &p->phases[i];
    }
  return NULL;
}

static void schedule_text(buf *b, const item_spec *it) {
  char t[64];
  if (!it->scheduled) {
    vigil__buf_puts(b, "not scheduled");
    return;
  }
  const schedule *s = &it->sched;
  if (s->every) {
    vigil__buf_printf(b, "every %s", dur(t, sizeof t, s->every));
    if (s->at != s->every) vigil__buf_printf(b, " from %s", dur(t, sizeof t, s->at));
  } else {
    vigil__buf_printf(b, "at %s", dur(t, sizeof t, s->at));
  }
  if (s->count > 0 && s->every) vigil__buf_printf(b, ", %d times", s->count);
  if (s->until >= 0) vigil__buf_printf(b, " until %s", dur(t, sizeof t, s->until));
  vigil__buf_printf(b, ", overdue after %s", dur(t, sizeof t, s->grace));
}

static const field_spec *find_field(const item_spec *it, const char *name) {
  for (uint32_t i = 0; i < it->n_fields; i++)
    if (!strcmp(it->fields[i].name, name)) return &it->fields[i];
  return NULL;
}

static void diff_fields(differ *d, const char *q, const item_spec *x, const item_spec *y) {
  char r1[64], r2[64];
  for (uint32_t i = 0; i < y->n_fields; i++) {
    const field_spec *fy = &y->fields[i], *fx = find_field(x, fy->name);
    const char *label = y->scalar ? "" : fy->name;
    const char *sep = y->scalar ? "" : " ";
    if (!fx) {
      if (!fy->computed) say(d, "  ~ %s: field %s added", q, fy->name);
      continue;
    }
    if (fx->has_range != fy->has_range || (fy->has_range && (fx->lo != fy->lo || fx->hi != fy->hi)))
      say(d, "  ~ %s:%s%s range %s -> %s", q, sep, label, range_text(r1, sizeof r1, fx->has_range, fx->lo, fx->hi),
          range_text(r2, sizeof r2, fy->has_range, fy->lo, fy->hi));
    if (!same_str(fx->unit, fy->unit))
      say(d, "  ~ %s:%s%s unit %s -> %s", q, sep, label, fx->unit ? fx->unit : "none", fy->unit ? fy->unit : "none");
    if (!same_options(fx->options, fx->n_options, fy->options, fy->n_options)) {
      buf b;
      vigil__buf_init(&b);
      options_text(&b, fy->options, fy->n_options);
      say(d, "  ~ %s:%s%s options now %s", q, sep, label, b.p ? b.p : "none");
      vigil__buf_free(&b);
    }
    if (!same_points(fx, fy)) {
      buf b;
      vigil__buf_init(&b);
      points_text(&b, fy->points, fy->n_points);
      say(d, "  ~ %s:%s%s points now %s", q, sep, label, b.p ? b.p : "any in its range");
      vigil__buf_free(&b);
    }
    if (!same_str(fx->title, fy->title))
      say(d, "  ~ %s:%s%s now called \"%s\"", q, sep, label, fy->title ? fy->title : fy->name);
    if (fx->required != fy->required)
      say(d, "  ~ %s:%s%s %s", q, sep, label, fy->required ? "now required" : "now optional");
  }
  for (uint32_t i = 0; i < x->n_fields; i++)
    if (!find_field(y, x->fields[i].name) && !x->fields[i].computed)
      say(d, "  ~ %s: field %s removed", q, x->fields[i].name);
}

static void diff_item(differ *d, const item_spec *x, const item_spec *y) {
  const char *q = y->qid;
  if (x->kind != y->kind)
    say(d, "  ~ %s: kind %s -> %s", q, vigil__item_kind_name(x->kind), vigil__item_kind_name(y->kind));
  if (!same_str(x->title, y->title)) say(d, "  ~ %s: title \"%s\" -> \"%s\"", q, x->title, y->title);
  if (x->required != y->required) say(d, "  ~ %s: %s", q, y->required ? "now required" : "now optional");
  buf sx, sy;
  vigil__buf_init(&sx);
  vigil__buf_init(&sy);
  schedule_text(&sx, x);
  schedule_text(&sy, y);
  if (texts_differ(d, &sx, &sy)) say(d, "  ~ %s: schedule %s -> %s", q, sx.p, sy.p);
  vigil__buf_free(&sx);
  vigil__buf_free(&sy);
  char t1[64], t2[64];
  if (x->overdue_priority != y->overdue_priority)
    say(d, "  ~ %s: overdue alert priority %s -> %s", q, vigil__priority_name(x->overdue_priority),
        vigil__priority_name(y->overdue_priority));
  if (x->overdue_escalate != y->overdue_escalate)
    say(d, "  ~ %s: overdue alert escalates after %s -> %s", q, dur(t1, sizeof t1, x->overdue_escalate),
        dur(t2, sizeof t2, y->overdue_escalate));
  if (x->kind == y->kind) diff_fields(d, q, x, y);
  char what[600];
  snprintf(what, sizeof what, "%s: condition (when)", q);
  compare_code(d, what, x->when_ref, y->when_ref);
  snprintf(what, sizeof what, "%s: score computation", q);
  compare_code(d, what, x->compute_ref, y->compute_ref);
}

static const item_spec *find_item(const protocol *p, const char *qid) {
  for (uint32_t i = 0; i < p->n_items; i++)
    if (!strcmp(p->items[i].qid, qid)) return &p->items[i];
  return NULL;
}

static const rule_spec *find_rule(const phase_spec *ph, const char *id) {
  for (uint32_t i = 0; ph && i < ph->n_rules; i++)
    if (!strcmp(ph->rules[i].id, id)) return &ph->rules[i];
  return NULL;
}

static void rule_on(buf *b, const protocol *p, const rule_spec *r) {
  for (uint32_t i = 0; i < r->n_on; i++)
    vigil__buf_printf(b, "%s%s", i ? ", " : "", p->items[r->on[i]].qid);
}

static void diff_phases(differ *d) {
  char t1[64], t2[64];
  d->section = "Phases:";
  for (uint32_t i = 0; i < d->b->n_phases; i++) {
    const phase_spec *y = &d->b->phases[i];
    uint32_t ai;
    const phase_spec *x = find_phase(d->a, y->id, &ai);
    if (!x) {
      say(d, "  + %s \"%s\" (phase %u of %u)", y->id, y->title ? y->title : y->id, i + 1, d->b->n_phases);
      continue;
    }
    if (ai != i) say(d, "  ~ %s: now phase %u (was %u)", y->id, i + 1, ai + 1);
    if (!same_str(x->title, y->title)) say(d, "  ~ %s: title \"%s\" -> \"%s\"", y->id, x->title, y->title);
    if (x->min != y->min)
      say(d, "  ~ %s: minimum duration %s -> %s", y->id, dur(t1, sizeof t1, x->min), dur(t2, sizeof t2, y->min));
    if (x->max != y->max)
      say(d, "  ~ %s: maximum duration %s -> %s", y->id, dur(t1, sizeof t1, x->max), dur(t2, sizeof t2, y->max));
    char what[300];
    snprintf(what, sizeof what, "%s: gate", y->id);
    compare_code(d, what, x->gate_ref, y->gate_ref);
    snprintf(what, sizeof what, "%s: before_dose", y->id);
    compare_code(d, what, x->before_dose_ref, y->before_dose_ref);
  }
  for (uint32_t i = 0; i < d->a->n_phases; i++)
    if (!find_phase(d->b, d->a->phases[i].id, NULL)) say(d, "  - %s", d->a->phases[i].id);

  d->section = "Items:";
  for (uint32_t i = 0; i < d->b->n_items; i++) {
    const item_spec *y = &d->b->items[i], *x = find_item(d->a, y->qid);
    if (!x) {
      buf s;
      vigil__buf_init(&s);
      schedule_text(&s, y);
      if (s.oom || !s.p)
        d->oom = 1; /* its schedule could not be written: nothing said rather than a line without it */
      else
        say(d, "  + %s: %s \"%s\"%s, %s", y->qid, vigil__item_kind_name(y->kind), y->title ? y->title : y->id,
            y->required ? "" : " (optional)", s.p);
      vigil__buf_free(&s);
    } else {
      diff_item(d, x, y);
    }
  }
  for (uint32_t i = 0; i < d->a->n_items; i++)
    if (!find_item(d->b, d->a->items[i].qid))
      say(d, "  - %s: %s \"%s\"", d->a->items[i].qid, vigil__item_kind_name(d->a->items[i].kind), d->a->items[i].title);

  d->section = "Rules:";
  for (uint32_t i = 0; i < d->b->n_phases; i++) {
    const phase_spec *py = &d->b->phases[i], *px = find_phase(d->a, py->id, NULL);
    for (uint32_t j = 0; j < py->n_rules; j++) {
      const rule_spec *y = &py->rules[j], *x = find_rule(px, y->id);
      buf on;
      vigil__buf_init(&on);
      rule_on(&on, d->b, y);
      if (!x && (on.oom || !on.p)) {
        d->oom = 1;
      } else if (!x) {
        say(d, "  + %s.%s (on %s, %s)", py->id, y->id, on.p, relative(d->b, y->where));
      } else {
        buf was;
        vigil__buf_init(&was);
        rule_on(&was, d->a, x);
        if (texts_differ(d, &on, &was)) say(d, "  ~ %s.%s: runs on %s (was %s)", py->id, y->id, on.p, was.p);
        vigil__buf_free(&was);
        if (x->priority != y->priority)
          say(d, "  ~ %s.%s: priority (its technical alert's) %s -> %s", py->id, y->id,
              vigil__priority_name(x->priority), vigil__priority_name(y->priority));
        if (x->worse != y->worse || x->margin != y->margin || x->worse_off != y->worse_off)
          say(d, "  ~ %s.%s: worse %s by %g -> %s by %g (announced again after an acknowledgement)", py->id, y->id,
              x->worse > 0   ? "higher"
              : x->worse < 0 ? "lower"
              : x->worse_off ? "false"
                             : "(not said)",
              x->margin,
              y->worse > 0   ? "higher"
              : y->worse < 0 ? "lower"
              : y->worse_off ? "false"
                             : "(not said)",
              y->margin);
        char pa[64], pb[64];
        code_priorities(d, d->a, x->fn_ref, pa, sizeof pa);
        code_priorities(d, d->b, y->fn_ref, pb, sizeof pb);
        if (!d->oom && strcmp(pa, pb))
          say(d, "  ~ %s.%s: the alerts its code raises are %s (were %s)", py->id, y->id, *pb ? pb : "none",
              *pa ? pa : "none");
        char what[300];
        snprintf(what, sizeof what, "%s.%s", py->id, y->id);
        compare_code(d, what, x->fn_ref, y->fn_ref);
      }
      vigil__buf_free(&on);
    }
    for (uint32_t j = 0; px && j < px->n_rules; j++)
      if (!find_rule(py, px->rules[j].id)) say(d, "  - %s.%s", px->id, px->rules[j].id);
  }
  for (uint32_t i = 0; i < d->a->n_phases; i++)
    if (!find_phase(d->b, d->a->phases[i].id, NULL))
      for (uint32_t j = 0; j < d->a->phases[i].n_rules; j++)
        say(d, "  - %s.%s", d->a->phases[i].id, d->a->phases[i].rules[j].id);
}

/* ---- hooks, defaults, helper files ------------------------------------------- */

static void diff_protocol(differ *d) {
  char t1[64], t2[64];
  d->section = "Protocol:";
  if (!same_str(d->a->title, d->b->title)) say(d, "  ~ title \"%s\" -> \"%s\"", d->a->title, d->b->title);
  if (d->a->escalate != d->b->escalate)
    say(d, "  ~ unacknowledged alerts escalate after %s -> %s", dur(t1, sizeof t1, d->a->escalate),
        dur(t2, sizeof t2, d->b->escalate));
  if (d->a->latching != d->b->latching)
    say(d, "  ~ alerts %s", d->b->latching ? "now latch until acknowledged" : "no longer latch by default");
  if (d->a->latch_from != d->b->latch_from) /* AP3 */
    say(d, "  ~ alerts that stay active and escalate until acknowledged: %s -> %s", latch_name(d->a->latch_from),
        latch_name(d->b->latch_from));
  if (d->a->realert_after != d->b->realert_after)
    say(d, "  ~ acknowledged alerts whose cause holds are raised again after %s -> %s",
        d->a->realert_after > 0 ? dur(t1, sizeof t1, d->a->realert_after) : "never",
        d->b->realert_after > 0 ? dur(t2, sizeof t2, d->b->realert_after) : "never");
  if (d->a->realert_clinician != d->b->realert_clinician)
    say(d, "  ~ an alert raised again is a clinician's to acknowledge from its raising %u -> %u (0: never)",
        (unsigned)d->a->realert_clinician, (unsigned)d->b->realert_clinician);
  /* A course: the series its visits make (sessions, their interval, the response). */
  if (!d->a->course && d->b->course) say(d, "  + course (its visits make a series of sessions: review it)");
  if (d->a->course && !d->b->course) say(d, "  - course (its visits no longer make a series)");
  static const char *hooks[HOOK_COUNT] = {"on.alert", "on.phase_enter", "on.phase_exit", "on.overdue"};
  for (int h = 0; h < HOOK_COUNT; h++)
    compare_code(d, hooks[h], d->a->hooks[h], d->b->hooks[h]);
}

/* A declaration on a line: v.rule "bp_high" -> "rule bp_high"; 0 if none. */
static int declaration(const char *line, char *out, size_t n) {
  for (const char *v = strstr(line, "v."); v; v = strstr(v + 2, "v.")) {
    if (v > line && (v[-1] == '_' || (v[-1] >= 'a' && v[-1] <= 'z'))) continue;
    const char *k = v + 2;
    size_t klen = strspn(k, "abcdefghijklmnopqrstuvwxyz_");
    const char *q = k + klen;
    while (*q == ' ' || *q == '(')
      q++;
    if (!klen || *q != '"') continue;
    size_t ilen = strcspn(q + 1, "\"");
    int item = strncmp(k, "rule", klen) && strncmp(k, "phase", klen) && strncmp(k, "param", klen) &&
               strncmp(k, "protocol", klen);
    snprintf(out, n, "%s %.*s", item ? "item" : "", (int)ilen, q + 1);
    if (!item) snprintf(out, n, "%.*s %.*s", (int)klen, k, (int)ilen, q + 1);
    return 1;
  }
  return 0;
}

/* What a changed line belongs to: the nearest named function or declaration
 * at or above it ("function lib.bp_high", "rule bp_high", "param sbp_alert"). */
static void enclosing_function(char **lines, int line, char *out, size_t n) {
  const char *role = NULL; /* "gate", "check", "when"...: the option holding an anonymous function */
  int outside = 0;         /* a top-level line other than a table's start lies between */
  for (int l = line; l >= 0; l--) {
    char decl[200];
    if (declaration(lines[l], decl, sizeof decl)) {
      /* A gate belongs to its phase, declared above the phase's rules. */
      if (role && !strcmp(role, "gate") && strncmp(decl, "phase ", 6)) continue;
      /* "the gate of phase screening" says more than "phase screening"; a
       * rule's check is just the rule. */
      if (role && !strcmp(role, "gate"))
        snprintf(out, n, "the gate of %s", decl);
      else
        snprintf(out, n, "%s", decl);
      return;
    }
    static const char *roles[] = {"gate", "check", "rule", "when", "compute"};
    for (size_t r = 0; !role && r < sizeof roles / sizeof *roles; r++) {
      const char *at = strstr(lines[l], roles[r]);
      if (!at) continue;
      const char *q = at + strlen(roles[r]);
      while (*q == ' ')
        q++;
      if (*q == '=' && strstr(q, "function")) role = roles[r];
    }
    if (role) continue;
    /* A top-level table ("lib.worse = {"): a change below it, with no other
     * top-level line between, is in that table, not in the function above. */
    const char *t = lines[l];
    if (!strncmp(t, "local ", 6)) t += 6;
    size_t tlen = strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.");
    if (tlen && !strncmp(t + tlen, " = {", 4)) {
      if (!outside) {
        snprintf(out, n, "table %.*s", (int)tlen, t);
        return;
      }
    } else if (l < line && *lines[l] && !strchr(" \t", *lines[l]) && strncmp(lines[l], "--", 2))
      outside = 1;
    const char *f = strstr(lines[l], "function");
    if (!f || (f > lines[l] && (f[-1] == '_' || (f[-1] >= 'a' && f[-1] <= 'z')))) continue;
    const char *name = f + 8;
    while (*name == ' ')
      name++;
    size_t len = strcspn(name, "( ");
    if (len == 0) continue; /* an anonymous function: what holds it is above */
    snprintf(out, n, "function %.*s", (int)len, name);
    return;
  }
  snprintf(out, n, "top-level code (line %d)", line + 1);
}

/* A comment or blank line belongs to the code below it (a rule's source
 * comment to that rule): the line to name a change at l by. */
static int comment_owner(char **lines, int n, int l) {
  for (int k = l; k < n; k++) {
    const char *s = lines[k] + strspn(lines[k], " \t");
    if (*s && strncmp(s, "--", 2)) return k;
  }
  return l;
}

/* Splits text into lines (pointers into a copy; caller frees both). NULL
 * (nothing to free) when out of memory: never some of the lines, which
 * would name functions that did not change. */
static char **split_lines(const char *text, int *n, char **copy) {
  *copy = strdup(text);
  size_t cap = 64;
  char **lines = malloc(cap * sizeof *lines);
  *n = 0;
  if (!*copy || !lines) {
    free(*copy);
    free(lines);
    *copy = NULL;
    return NULL;
  }
  for (char *s = *copy; s;) {
    if ((size_t)*n == cap) {
      char **grown = vigil__grow(lines, cap, cap + 1, sizeof *lines, 64, &cap);
      if (!grown) {
        free(*copy);
        free(lines);
        *copy = NULL;
        return NULL;
      }
      lines = grown;
    }
    lines[(*n)++] = s;
    s = strchr(s, '\n');
    if (s) *s++ = '\0';
  }
  return lines;
}

#define MAX_DIFF_LINES 4000

/* Names the functions of a helper file whose lines changed (an LCS of lines). */
static void diff_file(differ *d, const char *rel, const char *ta, const char *tb) {
  char *ca, *cb;
  int na, nb;
  char **la = split_lines(ta, &na, &ca), **lb = split_lines(tb, &nb, &cb);
  if (!la || !lb) {
    d->oom = 1; /* out of memory: where it changed is not known */
    goto out;
  }
  if (na > MAX_DIFF_LINES || nb > MAX_DIFF_LINES) {
    say(d, "  ~ %s: changed", rel);
    goto out;
  }
  /* lcs[i][j]: the longest common subsequence of la[i..] and lb[j..]. */
  uint16_t *lcs = calloc((size_t)(na + 1) * (size_t)(nb + 1), sizeof *lcs);
  if (!lcs) {
    d->oom = 1;
    goto out;
  }
#define LCS(i, j) lcs[(size_t)(i) * (size_t)(nb + 1) + (size_t)(j)]
  for (int i = na - 1; i >= 0; i--)
    for (int j = nb - 1; j >= 0; j--)
      LCS(i, j) = !strcmp(la[i], lb[j])           ? LCS(i + 1, j + 1) + 1
                  : LCS(i + 1, j) > LCS(i, j + 1) ? LCS(i + 1, j)
                                                  : LCS(i, j + 1);
  /* Walk it; every line only in b (or only in a) is a change, named by its function in b (or a). */
  char names[16][256];
  int n_names = 0, i = 0, j = 0;
  while (i < na || j < nb) {
    char name[256];
    if (i < na && j < nb && !strcmp(la[i], lb[j])) {
      i++, j++;
      continue;
    }
    if (j < nb && (i == na || LCS(i, j + 1) >= LCS(i + 1, j))) {
      enclosing_function(lb, comment_owner(lb, nb, j), name, sizeof name);
      j++;
    } else {
      enclosing_function(la, comment_owner(la, na, i), name, sizeof name);
      i++;
    }
    int seen = 0;
    for (int k = 0; k < n_names && !seen; k++)
      seen = !strcmp(names[k], name);
    if (!seen && n_names < 16) snprintf(names[n_names++], sizeof names[0], "%s", name);
  }
#undef LCS
  free(lcs);
  buf b;
  vigil__buf_init(&b);
  for (int k = 0; k < n_names; k++)
    vigil__buf_printf(&b, "%s%s", k ? ", " : "", names[k]);
  if (b.oom || !b.p)
    d->oom = 1;
  else
    say(d, "  ~ %s: changed in %s", rel, b.p);
  vigil__buf_free(&b);
out:
  free(la);
  free(lb);
  free(ca);
  free(cb);
}

static const source_file *source_by_rel(const protocol *p, const char *rel) {
  for (uint32_t i = 0; i < p->n_sources; i++)
    if (!strcmp(relative(p, p->sources[i].path), rel)) return &p->sources[i];
  return NULL;
}

/* The specs of a protocol's folder (specs/ *_spec.lua, sorted): -1 when the
 * folder cannot be read (a version known only from the store). */
static int spec_names(const protocol *p, char names[][128], int max) {
  char path[4200];
  snprintf(path, sizeof path, "%s/specs", p->sb && p->sb->dir ? p->sb->dir : "");
  DIR *dir = opendir(path);
  if (!dir) {
    snprintf(path, sizeof path, "%s/protocol.lua", p->sb && p->sb->dir ? p->sb->dir : "");
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    fclose(f);
    return 0; /* the folder is there, without specs/ */
  }
  int n = 0;
  struct dirent *de;
  while ((de = readdir(dir)) && n < max) {
    size_t len = strlen(de->d_name);
    if (len < 9 || len >= 128 || strcmp(de->d_name + len - 9, "_spec.lua")) continue;
    int at = n++;
    while (at > 0 && strcmp(names[at - 1], de->d_name) > 0) {
      memcpy(names[at], names[at - 1], 128);
      at--;
    }
    memcpy(names[at], de->d_name, len + 1); /* len < 128, checked above */
  }
  closedir(dir);
  return n;
}

/* Specs added and removed, and a version without any (G10): what shows that
 * the version does what it says. */
static void diff_specs(differ *d) {
  static char na[64][128], nb[64][128];
  int a = spec_names(d->a, na, 64), b = spec_names(d->b, nb, 64);
  d->section = "Specs (what shows the version does what it says):";
  if (b == 0) say(d, "  ! %s has no specs (specs/*_spec.lua): nothing shows it works", d->b->ref);
  if (a < 0 || b < 0) return;
  for (int i = 0; i < b; i++) {
    int found = 0;
    for (int j = 0; j < a; j++)
      found |= !strcmp(nb[i], na[j]);
    if (!found) say(d, "  + specs/%s", nb[i]);
  }
  for (int j = 0; j < a; j++) {
    int found = 0;
    for (int i = 0; i < b; i++)
      found |= !strcmp(nb[i], na[j]);
    if (!found) say(d, "  - specs/%s (removed)", na[j]);
  }
}

static void diff_files(differ *d) {
  d->section = "Files (the code behind the rules; review these changes too):";
  for (uint32_t i = 0; i < d->b->n_sources; i++) {
    const char *rel = relative(d->b, d->b->sources[i].path);
    const source_file *x = source_by_rel(d->a, rel);
    if (!x)
      say(d, "  + %s", rel);
    else if (strcmp(x->text, d->b->sources[i].text))
      diff_file(d, rel, x->text, d->b->sources[i].text);
  }
  for (uint32_t i = 0; i < d->a->n_sources; i++) {
    const char *rel = relative(d->a, d->a->sources[i].path);
    if (!source_by_rel(d->b, rel)) say(d, "  - %s", rel);
  }
}

/* ---- safety controls removed or weakened (G10, K6) --------------------------------- */

typedef struct weak {
  diff_line_fn fn;
  void *ud;
  int n;
  int oom; /* a code or a text it compares could not be read (out of memory): not all was judged */
} weak;

static void weak_say(weak *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void weak_say(weak *w, const char *fmt, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  w->fn(w->ud, line);
  w->n++;
}

/* A phase's function (its gate, its check before the dose) removed, named with where it was. */
static void fn_removed(weak *w, const protocol *a, int ref, const char *phase, const char *what) {
  buf code;
  vigil__buf_init(&code);
  char where[512];
  vigil__function_code(a, ref, &code, where, sizeof where);
  weak_say(w, "phase %s: %s removed (was %s)", phase, what, where);
  vigil__buf_free(&code);
}

static int has_fn(int ref) { return ref != LUA_NOREF && ref != LUA_REFNIL; }

/* N1: how a gate or a hold of p rests on item `it`, in words that follow
 * "it" ("cannot be skipped", "is a signature", "is read by the gate of phase
 * predose", "is what rule predose.self_harm holds or alerts high on"), or NULL
 * when nothing does. A condition changed on such an item, or an answer added to it, can
 * take the hold away as surely as removing it. */
static const char *rests_on(weak *w, const protocol *p, const item_spec *it, char *out, size_t n) {
  if (it->kind == KIND_SIGNATURE) return "is a signature";
  if (!it->skippable) return "cannot be skipped";
  const phase_spec *ph = &p->phases[it->phase];
  if (has_fn(ph->gate_ref)) {
    buf code;
    char where[512], lit[300], qlit[300];
    vigil__buf_init(&code);
    vigil__function_code(p, ph->gate_ref, &code, where, sizeof where);
    snprintf(lit, sizeof lit, "\"%s\"", it->id);
    snprintf(qlit, sizeof qlit, "\"%s\"", it->qid);
    int reads = code.p && (strstr(code.p, lit) || strstr(code.p, qlit));
    if (code.oom) w->oom = 1; /* the gate's code not all read: it may read the item */
    vigil__buf_free(&code);
    if (reads) {
      snprintf(out, n, "is read by the gate of phase %s", ph->id);
      return out;
    }
  }
  for (uint32_t i = 0; i < p->n_phases; i++)
    for (uint32_t j = 0; j < p->phases[i].n_rules; j++) {
      const rule_spec *r = &p->phases[i].rules[j];
      int on = 0;
      for (uint32_t k = 0; k < r->n_on && !on; k++)
        on = r->on[k] == it->index;
      if (!on) continue;
      code_raises cr;
      vigil__code_raises(p, r->fn_ref, &cr);
      if (cr.oom) w->oom = 1;
      if (cr.blocks || r->carry || vigil__code_raises_highest(&cr) >= (int)PRIORITY_HIGH) {
        snprintf(out, n, "is what rule %s.%s holds or alerts high on", p->phases[i].id, r->id);
        return out;
      }
    }
  return NULL;
}

/* N1 (a): a condition (when) added to, or changed on, an item a gate or a
 * hold rests on (M3 named it for an item that cannot be skipped; a
 * signature's, such as the suicide-risk assessment's x > 0 made x > 3, was
 * not named) can stop it being asked at all, as a skip would. */
static void weakened_when(weak *w, const protocol *a, const item_spec *x, const protocol *b, const item_spec *y,
                          const char *why) {
  if (!has_fn(y->when_ref)) return;
  buf cx, cy;
  char wx[512], wy[512];
  vigil__buf_init(&cx);
  vigil__buf_init(&cy);
  vigil__function_code(a, x->when_ref, &cx, wx, sizeof wx);
  vigil__function_code(b, y->when_ref, &cy, wy, sizeof wy);
  if (cx.oom || cy.oom)
    w->oom = 1; /* a condition's code not read is no change of it */
  else if (!has_fn(x->when_ref))
    weak_say(w, "item %s: %s, but is now asked only when a condition holds (when added, %s)", x->qid, why, wy);
  else if (!same_str(cx.p ? cx.p : "", cy.p ? cy.p : ""))
    weak_say(w, "item %s: %s, but when it is asked changed (its condition, %s)", x->qid, why, wy);
  vigil__buf_free(&cx);
  vigil__buf_free(&cy);
}

/* N1 (b): an option added to an answer a gate or a hold rests on ("not
 * asked" beside the 0-3 of PHQ-9 item 9): an answer the rules were not
 * written for passes them by. */
static void weakened_options(weak *w, const item_spec *x, const item_spec *y, const char *why) {
  for (uint32_t f = 0; f < y->n_fields; f++) {
    const field_spec *fy = &y->fields[f], *fx = find_field(x, fy->name);
    if (!fx || !fx->n_options) continue;
    for (uint32_t k = 0; k < fy->n_options; k++) {
      int had = 0;
      for (uint32_t m = 0; m < fx->n_options && !had; m++)
        had = !strcmp(fy->options[k], fx->options[m]);
      if (!had)
        weak_say(w, "item %s: option \"%s\" added to an answer that %s (an answer its rules were not written for)",
                 x->qid, fy->options[k], why);
    }
  }
}

/* R4 (docs/safety.md): a param that loses `prescribed` may be set by a nurse
 * at a visit's start (an alarm limit, the dose); that is a control removed,
 * not only a change of the prescription. */
static void weakened_params(weak *w, const protocol *a, const protocol *b) {
  for (uint32_t i = 0; i < a->n_params; i++) {
    const param_spec *x = &a->params[i], *y = find_param(b, x->name);
    if (x->prescribed && y && !y->prescribed)
      weak_say(w,
               "param %s: no longer prescribed (prescribed = true removed: a nurse may now set it at a visit's start)",
               x->name);
  }
}

static void weakened_items(weak *w, const protocol *a, const protocol *b) {
  char t1[64], t2[64];
  for (uint32_t i = 0; i < a->n_items; i++) {
    const item_spec *x = &a->items[i], *y = find_item(b, x->qid);
    const char *q = x->qid;
    char held[300];
    const char *why = rests_on(w, a, x, held, sizeof held);
    if (y && why) {
      weakened_when(w, a, x, b, y, why);
      weakened_options(w, x, y, why);
    }
    if (x->kind == KIND_SIGNATURE) {
      const char *of = x->of_item >= 0 ? a->items[x->of_item].qid : "?";
      if (!y || y->kind != KIND_SIGNATURE) {
        weak_say(w, "%s: signature removed (a second person signed %s%s%s)", q, of, x->meaning ? ": " : "",
                 x->meaning ? x->meaning : "");
        continue;
      }
      const char *of_y = y->of_item >= 0 ? b->items[y->of_item].qid : "?";
      if (strcmp(of, of_y)) weak_say(w, "%s: the signature now confirms %s (was %s)", q, of_y, of);
      if (!same_str(x->meaning, y->meaning))
        weak_say(w, "%s: what the signer attests changed: \"%s\" -> \"%s\"", q, x->meaning ? x->meaning : "",
                 y->meaning ? y->meaning : "(nothing said)");
      for (uint32_t k = 0; k < x->n_attest_params; k++) {
        int kept = 0;
        for (uint32_t m = 0; m < y->n_attest_params; m++)
          kept |= x->attest_params[k] == y->attest_params[m] || !strcmp(x->attest_params[k], y->attest_params[m]);
        if (!kept) weak_say(w, "%s: the signer no longer attests %s", q, x->attest_params[k]);
      }
      for (uint32_t k = 0; k < x->n_attest_items; k++) {
        const char *at = a->items[x->attest_items[k]].qid;
        int kept = 0;
        for (uint32_t m = 0; m < y->n_attest_items; m++)
          kept |= !strcmp(at, b->items[y->attest_items[m]].qid);
        if (!kept) weak_say(w, "%s: the signer no longer attests %s (its change no longer voids the signature)", q, at);
      }
      if (x->second_person && !y->second_person)
        weak_say(w, "%s: who recorded or amended %s may now sign it (second_person = false)", q, of_y);
      if (has_fn(x->calc_ref) && !has_fn(y->calc_ref)) weak_say(w, "%s: the signer no longer sees the calculation", q);
      continue;
    }
    if (!y) {
      if (!x->skippable) weak_say(w, "%s: removed (it could not be skipped)", q);
      continue;
    }
    if (!x->skippable && y->skippable) weak_say(w, "item %s: may now be skipped (skippable = false removed)", q);
    /* AO1: an item recorded only after a check of its phase, no longer. */
    if (x->after_item >= 0 && (y->after_item < 0 || strcmp(a->items[x->after_item].qid, b->items[y->after_item].qid)))
      weak_say(w, "item %s: may now be recorded before %s (after %s)", q, a->items[x->after_item].qid,
               y->after_item < 0 ? "removed" : "changed");
    if (x->clinician && !y->clinician)
      weak_say(w, "item %s: a nurse may now enter it (clinician = true removed: it was a clinician's entry)", q);
    if (x->required && !y->required) weak_say(w, "item %s: now optional (was required)", q);
    if (x->scheduled && (!y->scheduled || (y->sched.every > x->sched.every && x->sched.every)))
      weak_say(w, "item %s: checked less often (every %s -> %s)", q, dur(t1, sizeof t1, x->sched.every),
               y->scheduled && y->sched.every ? dur(t2, sizeof t2, y->sched.every) : "not scheduled");
    if (x->scheduled && y->scheduled && y->sched.grace > x->sched.grace)
      weak_say(w, "item %s: overdue later (after %s -> %s)", q, dur(t1, sizeof t1, x->sched.grace),
               dur(t2, sizeof t2, y->sched.grace));
    if (y->overdue_priority < x->overdue_priority)
      weak_say(w, "item %s: its overdue alert's priority lowered %s -> %s", q,
               vigil__priority_name(x->overdue_priority), vigil__priority_name(y->overdue_priority));
    /* P4: an overdue alert that escalates later, or never, or no longer latches. */
    if (x->scheduled && y->scheduled && x->overdue_escalate > 0 &&
        (y->overdue_escalate <= 0 || y->overdue_escalate > x->overdue_escalate))
      weak_say(w, "item %s: its overdue alert escalates later (after %s -> %s)", q,
               dur(t1, sizeof t1, x->overdue_escalate),
               y->overdue_escalate > 0 ? dur(t2, sizeof t2, y->overdue_escalate) : "never");
    if (x->scheduled && y->scheduled && x->overdue_latching && !y->overdue_latching)
      weak_say(w, "item %s: its overdue alert no longer latches until acknowledged", q);
    /* Q1: a narrowed plausible range refuses readings the previous version
     * took (SpO2 below 70, RR below 6: M6's apnoea again), so no rule sees them. */
    for (uint32_t f = 0; f < x->n_fields; f++) {
      const field_spec *fx = &x->fields[f], *fy = NULL;
      for (uint32_t g = 0; g < y->n_fields && !fy; g++)
        if (!strcmp(y->fields[g].name, fx->name)) fy = &y->fields[g];
      if (!fy || !fy->has_range || (fx->has_range && fy->lo <= fx->lo && fy->hi >= fx->hi)) continue;
      char was[64] = "any";
      if (fx->has_range) snprintf(was, sizeof was, "%g-%g", fx->lo, fx->hi);
      weak_say(w,
               "item %s: the plausible range of %s narrowed %s -> %g-%g (a reading outside it is refused, and "
               "no rule sees it)",
               q, fx->qname ? fx->qname : fx->name, was, fy->lo, fy->hi);
    }
  }
}

/* The rank of a course alert's priority ("high" 3 .. "low" 1; none set is
 * the engine's medium, course.c). */
static int prio_rank(const char *p) {
  return !p ? 2 : !strcmp(p, "high") ? 3 : !strcmp(p, "medium") ? 2 : !strcmp(p, "low") ? 1 : 0;
}

/* P4: the course's settings and the drug a version gives, loosened or taken
 * away. Each was named nowhere (an author set min_interval 1d -> 1m, removed
 * dose_given, lowered missed_session to low, deleted the drug's names). */
static void weakened_course(weak *w, const protocol *a, const protocol *b) {
  char t1[64], t2[64];
  for (uint32_t i = 0; i < a->n_drug_names; i++) {
    int kept = 0;
    for (uint32_t k = 0; k < b->n_drug_names && !kept; k++)
      kept = !strcmp(a->drug_names[i], b->drug_names[k]);
    if (!kept)
      weak_say(w, "drug: %s no longer named (an allergy to it on the hospital record no longer alerts)",
               a->drug_names[i]);
  }
  for (uint32_t i = 0; i < a->n_drug_codes; i++) {
    int kept = 0;
    for (uint32_t k = 0; k < b->n_drug_codes && !kept; k++)
      kept = !strcmp(a->drug_codes[i], b->drug_codes[k]);
    if (!kept) weak_say(w, "drug: code %s no longer named (an allergy coded so no longer alerts)", a->drug_codes[i]);
  }
  const course_spec *x = a->course, *y = b->course;
  if (!x) return;
  if (!y) {
    weak_say(w, "course: removed (its sessions no longer count for the minimum interval, nor are missed sessions "
                "alerted)");
    return;
  }
  for (uint32_t i = 0; i < x->n_dose_given; i++) {
    int kept = 0;
    for (uint32_t k = 0; k < y->n_dose_given && !kept; k++)
      kept = !strcmp(x->dose_given[i], y->dose_given[k]);
    if (!kept)
      weak_say(w,
               "course: dose_given no longer names %s (a session where it was recorded no longer counts as "
               "dosed)",
               x->dose_given[i]);
  }
  if (x->min_interval > 0 && y->min_interval < x->min_interval)
    weak_say(w, "course: the minimum interval between doses shortened %s -> %s", dur(t1, sizeof t1, x->min_interval),
             y->min_interval > 0 ? dur(t2, sizeof t2, y->min_interval) : "none");
  if (x->grace > 0 && (y->grace <= 0 || y->grace > x->grace))
    weak_say(w, "course: a missed session is alerted later (grace %s -> %s)", dur(t1, sizeof t1, x->grace),
             y->grace > 0 ? dur(t2, sizeof t2, y->grace) : "none");
  if (x->interval > 0 && y->interval > x->interval)
    weak_say(w, "course: sessions are due further apart (%s -> %s)", dur(t1, sizeof t1, x->interval),
             dur(t2, sizeof t2, y->interval));
  if (x->sessions > 0 && y->sessions < x->sessions)
    weak_say(w, "course: the induction series shortened %d -> %d sessions", (int)x->sessions, (int)y->sessions);
  if (x->maintenance_max > 0 && (y->maintenance_max <= 0 || y->maintenance_max > x->maintenance_max))
    weak_say(w, "course: maintenance sessions may be further apart (at most %s -> %s)",
             dur(t1, sizeof t1, x->maintenance_max),
             y->maintenance_max > 0 ? dur(t2, sizeof t2, y->maintenance_max) : "no limit");
  const char *names[] = {"missed_session", "non_response", "series_incomplete"};
  const char *px[] = {x->priority_missed, x->priority_non_response, x->priority_series};
  const char *py[] = {y->priority_missed, y->priority_non_response, y->priority_series};
  for (int k = 0; k < 3; k++)
    if (prio_rank(py[k]) < prio_rank(px[k]))
      weak_say(w, "course: the %s alert's priority lowered %s -> %s", names[k], px[k] ? px[k] : "medium",
               py[k] ? py[k] : "medium");
  if (x->response_measure && (!y->response_measure || y->response_fall_pct < x->response_fall_pct)) {
    char now[64] = "not computed";
    if (y->response_measure) snprintf(now, sizeof now, "%g%%", y->response_fall_pct);
    weak_say(w, "course: a response is counted from a smaller fall (%g%% -> %s)", x->response_fall_pct, now);
  }
  if (x->remission_measure && (!y->remission_measure || y->remission_below > x->remission_below)) {
    char now[64] = "not computed";
    if (y->remission_measure) snprintf(now, sizeof now, "%g", y->remission_below);
    weak_say(w, "course: remission is counted below a higher total (%g -> %s)", x->remission_below, now);
  }
}

static void on_text(buf *b, const protocol *p, const rule_spec *r, const protocol *other, const rule_spec *o) {
  for (uint32_t i = 0; i < r->n_on; i++) {
    int kept = 0;
    for (uint32_t k = 0; o && k < o->n_on; k++)
      kept |= !strcmp(p->items[r->on[i]].qid, other->items[o->on[k]].qid);
    if (!kept) vigil__buf_printf(b, "%s%s", b->len ? ", " : "", p->items[r->on[i]].qid);
  }
}

/* The highest priority of the alerts a rule's code raises, its blocks aside; -1: none. */
static int alert_highest(const code_raises *r) {
  for (int i = PRIORITY_HIGH; i >= PRIORITY_LOW; i--)
    if (r->priorities & (1u << i)) return i;
  return -1;
}

static void weakened_phases(weak *w, const protocol *a, const protocol *b) {
  char t1[64], t2[64];
  for (uint32_t i = 0; i < a->n_phases; i++) {
    const phase_spec *x = &a->phases[i], *y = find_phase(b, x->id, NULL);
    if (y) {
      if (x->hold_missed && !y->hold_missed)
        weak_say(w, "phase %s: a missed checkpoint no longer holds the gate (missed = \"hold\" removed)", x->id);
      if (!x->unacknowledged_allowed && y->unacknowledged_allowed)
        weak_say(w, "phase %s: may now be left with medium and low alerts unacknowledged (unacknowledged = \"allow\")",
                 x->id);
      if (y->unmonitored_after > x->unmonitored_after)
        weak_say(w, "phase %s: monitoring is called undocumented later (unmonitored_after %u -> %u missed checkpoints)",
                 x->id, x->unmonitored_after, y->unmonitored_after);
      /* P7: its time counted from a check (the infusion started); now from another, or from entering it. */
      const char *from_x = x->timed_from >= 0 ? a->items[x->timed_from].id : NULL;
      const char *from_y = y->timed_from >= 0 ? b->items[y->timed_from].id : NULL;
      if (from_x && !same_str(from_x, from_y))
        weak_say(w, "phase %s: its minimum time and checkpoints count from %s, not from %s (timed_from %s)", x->id,
                 from_y ? from_y : "entering it", from_x, from_y ? "changed" : "removed");
      if (x->min > 0 && y->min < x->min)
        weak_say(w, "phase %s: minimum time shortened %s -> %s", x->id, dur(t1, sizeof t1, x->min),
                 y->min > 0 ? dur(t2, sizeof t2, y->min) : "none");
      if (has_fn(x->gate_ref) && !has_fn(y->gate_ref)) fn_removed(w, a, x->gate_ref, x->id, "its gate condition");
      if (has_fn(x->before_dose_ref) && !has_fn(y->before_dose_ref)) /* AN13: what the dose waited for */
        fn_removed(w, a, x->before_dose_ref, x->id, "its check before the dose");
    } else if (has_fn(x->gate_ref) || x->hold_missed || x->n_rules) {
      weak_say(w, "phase %s: removed with its gate and rules", x->id);
      continue;
    }
    for (uint32_t j = 0; j < x->n_rules; j++) {
      const rule_spec *rx = &x->rules[j], *ry = find_rule(y, rx->id);
      code_raises cx, cy;
      vigil__code_raises(a, rx->fn_ref, &cx);
      int hx = vigil__code_raises_highest(&cx);
      if (cx.oom) {
        w->oom = 1; /* what its code raised is not all known: nothing said of it */
        continue;
      }
      if (!ry) {
        weak_say(w, "rule %s.%s: removed (it %s)", x->id, rx->id,
                 cx.blocks ? "held the gate"
                 : hx >= 0 ? "raised alerts"
                           : "ran on each entry");
        continue;
      }
      vigil__code_raises(b, ry->fn_ref, &cy);
      if (cy.oom) {
        w->oom = 1;
        continue;
      }
      if (rx->carry && !ry->carry)
        weak_say(w, "rule %s.%s: its alerts no longer outlive the phase (carry = true removed)", x->id, rx->id);
      if (cx.blocks && !cy.blocks)
        weak_say(w, "rule %s.%s: no longer holds the gate (its block removed)", x->id, rx->id);
      buf gone;
      vigil__buf_init(&gone);
      on_text(&gone, a, rx, b, ry);
      if (gone.oom)
        w->oom = 1;
      else if (gone.len)
        weak_say(w, "rule %s.%s: no longer runs on %s", x->id, rx->id, gone.p);
      vigil__buf_free(&gone);
      if (ry->priority < rx->priority)
        weak_say(w, "rule %s.%s: priority lowered %s -> %s", x->id, rx->id, vigil__priority_name(rx->priority),
                 vigil__priority_name(ry->priority));
      /* H1: a worse reading after an acknowledgement is announced again only by
       * the rule's `worse` margin; without it, or with a wider one, it is silent. */
      if (!rx->worse_off && ry->worse_off)
        weak_say(w, "rule %s.%s: a worse reading after an acknowledgement no longer raises a new alert (worse = false)",
                 x->id, rx->id);
      else if (rx->worse && !ry->worse)
        weak_say(w, "rule %s.%s: a worse reading after an acknowledgement no longer raises a new alert (worse removed)",
                 x->id, rx->id);
      else if (rx->worse && ry->worse != rx->worse)
        weak_say(w, "rule %s.%s: a worse reading after an acknowledgement is now a %s one (was %s)", x->id, rx->id,
                 ry->worse > 0 ? "higher" : "lower", rx->worse > 0 ? "higher" : "lower");
      else if (rx->worse && ry->margin > rx->margin)
        weak_say(w,
                 "rule %s.%s: a worse reading after an acknowledgement raises a new alert only after a %s of %g "
                 "instead of %g",
                 x->id, rx->id, rx->worse > 0 ? "rise" : "fall", ry->margin, rx->margin);
      /* Q7: the alerts' own priorities, a block aside (vigil__code_raises_highest
       * counts a block as high, so dose_prescribed's medium alert made low beside
       * its block was named nowhere); a removed block is named above. */
      int ax = alert_highest(&cx), ay = alert_highest(&cy);
      if (ay < ax)
        weak_say(w, "rule %s.%s: the highest alert its code raises lowered %s -> %s", x->id, rx->id,
                 vigil__priority_name((priority)ax), ay >= 0 ? vigil__priority_name((priority)ay) : "none");
    }
  }
}

/* N1 (c): the cases the previous version's own specs pin (L3), run against
 * the new version. A rule whose alert or block an `expect` of those specs
 * names, and that no longer comes on that case, no longer fires where the
 * version in use held: a threshold moved (PHQ-9 item 9 `== 0` made `< 3`), a
 * branch removed. Named once per rule (or gate), with the first case. Needs
 * both versions' folders (a version known only from the store has none: not
 * checked). */
typedef struct held_case {
  weak *w;
  const protocol *a;
  char named[64][320];
  int n_named;
  /* the current spec's failed expectations of a hold, until its end says
   * whether its steps all ran as written */
  char spec[256];
  int steps_refused;
  char refused[512], refused_where[256]; /* the first step refused, or failed expectation of no hold */
  struct {
    char what[320], where[256], name[512];
  } pending[32];
  int n_pending;
} held_case;

/* The rule (or phase gate) an expectation's sentence names, as spec.lua
 * describes it: "a high alert from self_harm ...", "a block from rule x ...",
 * "the predose gate blocked ...". 1 with what in out, 0 for other checks. */
static int held_by(const char *name, char *out, size_t n) {
  const char *p;
  if ((!strncmp(name, "a ", 2) || !strncmp(name, "an ", 3)) && (p = strstr(name, " alert from ")) != NULL) {
    p += strlen(" alert from ");
  } else if (!strncmp(name, "a block from rule ", 18)) {
    p = name + 18;
  } else if (!strncmp(name, "the ", 4) && (p = strstr(name, " gate blocked")) != NULL) {
    if (p - name > 4)
      snprintf(out, n, "phase %.*s: its gate", (int)(p - name - 4), name + 4);
    else
      snprintf(out, n, "the gate of a phase");
    return 1;
  } else {
    return 0;
  }
  size_t len = strcspn(p, " ");
  snprintf(out, n, "rule %.*s", (int)len, p);
  return 1;
}

/* The spec that ended: its holds that did not come, named once each. A spec
 * one of whose steps was refused, or whose other expectations fail, is named
 * itself (Q1): once a hold no longer holds, the case's later steps are often
 * refused (the dose recorded where it was held), so dropping such a spec made
 * the check blind exactly when a hold was taken away. */
static void held_flush(held_case *h) {
  if (h->refused[0])
    weak_say(h->w, "spec \"%s\": a case %s's specs held no longer runs as written (%s: %s)", h->spec, h->a->ref,
             h->refused_where, h->refused);
  h->refused[0] = '\0';
  for (int k = 0; k < h->n_pending && !h->steps_refused; k++) {
    const char *what = h->pending[k].what;
    int named = 0;
    for (int i = 0; i < h->n_named && !named; i++)
      named = !strcmp(h->named[i], what);
    if (named) continue;
    if (h->n_named < 64) snprintf(h->named[h->n_named++], sizeof h->named[0], "%s", what);
    weak_say(h->w, "%s: no longer fires on a case %s's specs held (%s: expected %s)", what, h->a->ref,
             h->pending[k].where, h->pending[k].name);
  }
  h->n_pending = 0;
  h->steps_refused = 0;
}

static void on_held_case(void *ud, const spec_result *r) {
  held_case *h = ud;
  const char *spec = r->spec ? r->spec : "";
  if (strncmp(h->spec, spec, sizeof h->spec - 1) != 0) {
    held_flush(h);
    snprintf(h->spec, sizeof h->spec, "%s", spec);
  }
  if (r->ok || !r->name) return;
  const char *where = r->where ? r->where : "";
  size_t dir = strlen(h->a->sb->dir);
  if (!strncmp(where, h->a->sb->dir, dir) && where[dir] == '/') where += dir + 1;
  char what[320];
  int refused =
      !strncmp(r->name, "step at ", 8) || !strcmp(r->name, "visit starts") || !strcmp(r->name, "spec is well formed");
  if (refused || !held_by(r->name, what, sizeof what)) {
    h->steps_refused |= refused;
    if (!h->refused[0]) {
      /* "step at 0m is accepted" failed: the step was refused, with the engine's message. */
      if (refused && r->message)
        snprintf(h->refused, sizeof h->refused, "%.60s: %.400s", r->name, r->message);
      else
        snprintf(h->refused, sizeof h->refused, "%s%s", refused ? "" : "expected ", r->name);
      snprintf(h->refused_where, sizeof h->refused_where, "%s", where);
    }
    return;
  }
  if (h->n_pending >= 32) return;
  /* "rule self_harm" -> "rule predose.self_harm" when the previous version has
   * it in one phase; "rule spo2_low (screening, infusion)" when in several (the
   * expectation does not say which phase's). */
  if (!strncmp(what, "rule ", 5)) {
    char q[320], phases[256] = "";
    int n = 0, first = -1;
    size_t len = 0;
    for (uint32_t i = 0; i < h->a->n_phases; i++)
      if (find_rule(&h->a->phases[i], what + 5) && len < sizeof phases - 1) {
        if (first < 0) first = (int)i;
        len += (size_t)snprintf(phases + len, sizeof phases - len, "%s%s", n++ ? ", " : "", h->a->phases[i].id);
      }
    if (n == 1)
      snprintf(q, sizeof q, "rule %.150s.%.150s", h->a->phases[first].id, what + 5);
    else if (n > 1)
      snprintf(q, sizeof q, "rule %.60s (%.250s)", what + 5, phases);
    if (n) memcpy(what, q, sizeof what);
  }
  memcpy(h->pending[h->n_pending].what, what, sizeof what);
  snprintf(h->pending[h->n_pending].where, sizeof h->pending[0].where, "%s", where);
  snprintf(h->pending[h->n_pending].name, sizeof h->pending[0].name, "%s", r->name);
  h->n_pending++;
}

static void weakened_holds(weak *w, const protocol *a, const protocol *b) {
  static char names[64][128];
  if (!a->sb || !a->sb->dir || !b->sb || !b->sb->dir) return;
  int n = spec_names(a, names, 64);
  char probe[8400];
  snprintf(probe, sizeof probe, "%.8000s/protocol.lua", b->sb->dir);
  FILE *f = fopen(probe, "r");
  if (!f) return;
  fclose(f);
  held_case *h = calloc(1, sizeof *h);
  /* Each spec's engine retains and releases the interned names: held here,
   * so that the last engine's release does not free a's and b's (a caller
   * with no engine of its own, `vigil protocol diff`, holds them too). */
  if (!h || vigil__intern_retain() < 0) {
    free(h);
    return;
  }
  h->w = w;
  h->a = a;
  for (int i = 0; i < n; i++) {
    char path[8400], err[512];
    snprintf(path, sizeof path, "%.8000s/specs/%.127s", a->sb->dir, names[i]);
    vigil__spec_run_file(b->sb->dir, path, on_held_case, h, NULL, err, sizeof err);
    held_flush(h);
    h->spec[0] = '\0';
  }
  vigil__intern_release();
  free(h);
}

/* S5 (docs/safety.md): a param a nurse may set (not prescribed) can move a
 * limit as surely as editing it: `spo2_probe_offset` subtracted from
 * spo2_min in a lib rule, or spo2_min renamed to an unprescribed spo2_floor.
 * At its default the specs pass, so nothing else names it. Each such param
 * of the new version that is new, lost `prescribed`, or may now take values
 * it could not is tried at each end of its range (each option of a choice):
 * the previous version's specs run against the new one with it set on every
 * visit, and a case that held at the defaults and fails so is named, once
 * per param. One with neither range nor options cannot be tried and is named
 * as such. */
typedef struct probe {
  const protocol *a;
  int baseline;  /* collecting the failures at the defaults */
  char **failed; /* "where|name" of each failure at the defaults */
  int n_failed, cap;
  char first[700]; /* the first case that held at the defaults and fails */
} probe;

static void on_probe(void *ud, const spec_result *r) {
  probe *p = ud;
  if (r->ok || !r->name || p->first[0]) return;
  char key[700];
  snprintf(key, sizeof key, "%.300s|%.390s", r->where ? r->where : "", r->name);
  if (p->baseline) {
    if (p->n_failed == p->cap) {
      int cap = p->cap ? 2 * p->cap : 64;
      char **grown = realloc(p->failed, (size_t)cap * sizeof *grown);
      if (!grown) return;
      p->failed = grown, p->cap = cap;
    }
    if ((p->failed[p->n_failed] = strdup(key)) != NULL) p->n_failed++;
    return;
  }
  for (int i = 0; i < p->n_failed; i++)
    if (!strcmp(p->failed[i], key)) return;
  const char *where = r->where ? r->where : "";
  size_t dir = strlen(p->a->sb->dir);
  if (!strncmp(where, p->a->sb->dir, dir) && where[dir] == '/') where += dir + 1;
  snprintf(p->first, sizeof p->first, "%.200s: %.200s%s%.250s", where, r->name, r->message ? ": " : "",
           r->message ? r->message : "");
}

/* Runs a's specs against b, params (JSON, may be NULL) set on every visit. */
static void probe_run(probe *p, const protocol *b, char (*names)[128], int n, const char *params) {
  for (int i = 0; i < n; i++) {
    char path[8400], err[512];
    snprintf(path, sizeof path, "%.8000s/specs/%.127s", p->a->sb->dir, names[i]);
    vigil__spec_run_file_with(b->sb->dir, path, params, on_probe, p, NULL, err, sizeof err);
  }
}

/* Whether a nurse may give y values she could not give x: x absent or
 * prescribed, a range removed or widened, an option added. */
static int freer(const param_spec *x, const param_spec *y) {
  if (!x || x->prescribed || (x->has_range && !y->has_range)) return 1;
  if (x->has_range && (y->lo < x->lo || y->hi > x->hi)) return 1;
  for (uint32_t k = 0; k < y->n_options; k++) {
    int had = 0;
    for (uint32_t m = 0; m < x->n_options && !had; m++)
      had = !strcmp(y->options[k], x->options[m]);
    if (!had) return 1;
  }
  return 0;
}

static const char *free_why(const param_spec *x) {
  return !x ? "new, not prescribed" : x->prescribed ? "no longer prescribed" : "may take more values";
}

/* Whether b's param y is one a nurse may now set more freely than in a, and
 * with a range or options its ends can be tried at. */
static int triable(const protocol *a, const param_spec *y) {
  return !y->prescribed && freer(find_param(a, y->name), y) && (y->has_range || y->n_options);
}

static void weakened_free_params(weak *w, const protocol *a, const protocol *b) {
  int any = 0;
  for (uint32_t i = 0; i < b->n_params; i++) {
    const param_spec *y = &b->params[i], *x = find_param(a, y->name);
    if (triable(a, y)) any = 1;
    if (y->prescribed || !freer(x, y) || y->has_range || y->n_options) continue;
    weak_say(w,
             "param %s (%s): a nurse may set it at a visit's start to any value, and it has no range or options to "
             "try against %s's specs: what it moves is not checked (give it a range, or prescribed = true)",
             y->name, free_why(x), a->ref);
  }
  if (!any || !a->sb || !a->sb->dir || !b->sb || !b->sb->dir) return;
  char(*names)[128] = calloc(64, sizeof *names);
  probe *p = calloc(1, sizeof *p);
  int n = names ? spec_names(a, names, 64) : -1;
  char probe_path[8400];
  snprintf(probe_path, sizeof probe_path, "%.8000s/protocol.lua", b->sb->dir);
  /* As weakened_holds: the specs' engines retain and release the interned names. */
  if (n <= 0 || !p || access(probe_path, R_OK) != 0 || vigil__intern_retain() < 0) {
    free(names);
    free(p);
    return;
  }
  p->a = a;
  p->baseline = 1;
  probe_run(p, b, names, n, NULL);
  p->baseline = 0;
  for (uint32_t t = 0; t < b->n_params; t++) {
    const param_spec *y = &b->params[t];
    if (!triable(a, y)) continue;
    const char *why = free_why(find_param(a, y->name));
    uint32_t n_values = y->n_options ? y->n_options : 2;
    for (uint32_t k = 0; k < n_values; k++) {
      double end = k ? y->hi : y->lo;
      json_t *value = y->n_options                     ? json_string(y->options[k])
                      : end == (double)(json_int_t)end ? json_integer((json_int_t)end)
                                                       : json_real(end);
      char *text = json_dumps(value, JSON_ENCODE_ANY);
      char shown[128];
      snprintf(shown, sizeof shown, "%s", text ? text : "?");
      json_t *params = json_object();
      json_object_set_new(params, y->name, value);
      char *over = json_dumps(params, JSON_COMPACT);
      json_decref(params);
      free(text);
      p->first[0] = '\0';
      if (over) probe_run(p, b, names, n, over);
      free(over);
      if (p->first[0]) {
        weak_say(w,
                 "param %s (%s): set to %s at a visit's start (a nurse may), a case %s's specs held fails (%s): "
                 "it moves a limit",
                 y->name, why, shown, a->ref, p->first);
        break;
      }
    }
  }
  vigil__intern_release();
  for (int i = 0; i < p->n_failed; i++)
    free(p->failed[i]);
  free(p->failed);
  free(p);
  free(names);
}

int vigil__protocol_weakened(const protocol *a, const protocol *b, diff_line_fn fn, void *ud) {
  weak w = {.fn = fn, .ud = ud};
  if (!a || !b) return 0;
  char t1[64], t2[64];
  if (a->escalate > 0 && (b->escalate <= 0 || b->escalate > a->escalate))
    weak_say(&w, "unacknowledged alerts escalate later (after %s -> %s)", dur(t1, sizeof t1, a->escalate),
             b->escalate > 0 ? dur(t2, sizeof t2, b->escalate) : "never");
  if (a->latching && !b->latching) weak_say(&w, "alerts no longer latch until acknowledged by default");
  if (a->latch_from >= 0 && (b->latch_from < 0 || b->latch_from > a->latch_from)) /* AP3 */
    weak_say(&w, "fewer alerts stay active and escalate after their cause clears until acknowledged (latch %s -> %s)",
             latch_name(a->latch_from), latch_name(b->latch_from));
  /* AN11: an acknowledgement silences an alert whose cause holds for longer, or for good. */
  if (a->realert_after > 0 && (b->realert_after <= 0 || b->realert_after > a->realert_after))
    weak_say(&w, "acknowledged alerts whose cause holds are raised again later (realert_after %s -> %s)",
             dur(t1, sizeof t1, a->realert_after),
             b->realert_after > 0 ? dur(t2, sizeof t2, b->realert_after) : "never");
  if (a->realert_clinician > 0 && (b->realert_clinician == 0 || b->realert_clinician > a->realert_clinician)) {
    snprintf(t2, sizeof t2, "%u", (unsigned)b->realert_clinician);
    weak_say(&w, "an alert raised again reaches a clinician later (realert_clinician %u -> %s)",
             (unsigned)a->realert_clinician, b->realert_clinician ? t2 : "never");
  }
  weakened_params(&w, a, b);
  weakened_items(&w, a, b);
  weakened_phases(&w, a, b);
  weakened_course(&w, a, b);
  weakened_holds(&w, a, b);
  weakened_free_params(&w, a, b);
  /* T3, T4: what the rules do, not their text (author/behaviour_diff.c). */
  int behaviour = vigil__behaviour_weakened(a, b, fn, ud);
  if (behaviour == VIGIL_ENOMEM)
    w.oom = 1;
  else
    w.n += behaviour;
  return w.oom ? VIGIL_ENOMEM : w.n;
}

static void weak_line(void *ud, const char *line) {
  differ *d = ud;
  say(d, "  ! %s", line);
}

static void diff_weakened(differ *d) {
  d->section = "Safety controls removed or weakened (approving needs them confirmed):";
  if (vigil__protocol_weakened(d->a, d->b, weak_line, d) == VIGIL_ENOMEM) d->oom = 1;
}

static void unvouched_line(void *ud, const char *line) {
  differ *d = ud;
  say(d, "  ? %s", line);
}

/* AI2: what no case the diff tries may show; the approver reads it. */
static void diff_code_changes(differ *d) {
  d->section = "Code changed that no case of this diff may show (approving needs it read and confirmed):";
  if (vigil__protocol_code_changes(d->a, d->b, unvouched_line, d) == VIGIL_ENOMEM) d->oom = 1;
}

int vigil__protocol_diff(const protocol *a, const protocol *b, diff_line_fn fn, void *ud) {
  differ d = {.a = a, .b = b, .fn = fn, .ud = ud};
  char head[512];
  snprintf(head, sizeof head, "%s -> %s", a->ref, b->ref);
  fn(ud, head);
  if (!strcmp(a->sha256, b->sha256)) {
    fn(ud, "  identical (the same sources, the same sha256)");
    return 0;
  }
  if (strcmp(a->id, b->id)) {
    snprintf(head, sizeof head, "  note: different protocols (%s, %s)", a->id, b->id);
    fn(ud, head);
  }
  diff_weakened(&d);
  diff_code_changes(&d);
  diff_protocol(&d);
  diff_params(&d);
  diff_phases(&d);
  diff_specs(&d);
  diff_files(&d);
  if (d.oom) return VIGIL_ENOMEM;
  if (!d.changes) fn(ud, "  no change a reviewer would see (comments or layout only)");
  return d.changes;
}

/* ---- the prescription (docs/safety.md, F7) ------------------------------------------ */

/* 1 the same, 0 not, VIGIL_ENOMEM when a default's text could not be made
 * (never "not the same" for want of memory: fourth review, item 3). */
static int same_prescription(const param_spec *x, const param_spec *y) {
  buf xa, ya;
  vigil__buf_init(&xa);
  vigil__buf_init(&ya);
  value_text(&xa, x->def);
  value_text(&ya, y->def);
  int same = xa.oom || ya.oom || !xa.p || !ya.p
                 ? VIGIL_ENOMEM
                 : !strcmp(xa.p, ya.p) && x->prescribed == y->prescribed && x->has_range == y->has_range &&
                       (!x->has_range || (x->lo == y->lo && x->hi == y->hi)) && same_str(x->unit, y->unit);
  vigil__buf_free(&xa);
  vigil__buf_free(&ya);
  return same;
}

/* 0, or VIGIL_ENOMEM when the line could not be made (nothing said). */
static int prescribed_line(diff_line_fn fn, void *ud, const char *sign, const param_spec *x, const param_spec *y) {
  const param_spec *p = y ? y : x;
  buf b, r;
  vigil__buf_init(&b);
  vigil__buf_init(&r);
  char r1[64], r2[64];
  if (x && y) {
    buf xa;
    vigil__buf_init(&xa);
    value_text(&xa, x->def);
    value_text(&r, y->def);
    vigil__buf_printf(&b, "%s %s \"%s\": default %s -> %s%s%s, allowed %s -> %s, prescribed %s -> %s", sign, p->name,
                      p->title ? p->title : p->name, xa.p, r.p, p->unit ? " " : "", p->unit ? p->unit : "",
                      range_text(r1, sizeof r1, x->has_range, x->lo, x->hi),
                      range_text(r2, sizeof r2, y->has_range, y->lo, y->hi), x->prescribed ? "yes" : "no",
                      y->prescribed ? "yes" : "no");
    if (xa.oom || !xa.p) b.oom = 1;
    vigil__buf_free(&xa);
  } else {
    value_text(&r, p->def);
    vigil__buf_printf(&b, "%s %s \"%s\": default %s%s%s, allowed %s", sign, p->name, p->title ? p->title : p->name, r.p,
                      p->unit ? " " : "", p->unit ? p->unit : "",
                      range_text(r1, sizeof r1, p->has_range, p->lo, p->hi));
  }
  int rc = b.oom || r.oom || !b.p || !r.p ? VIGIL_ENOMEM : 0;
  if (!rc) fn(ud, b.p);
  vigil__buf_free(&b);
  vigil__buf_free(&r);
  return rc;
}

int vigil__protocol_prescribed_changes(const protocol *a, const protocol *b, diff_line_fn fn, void *ud) {
  int n = 0, oom = 0;
  for (uint32_t i = 0; i < b->n_params; i++) {
    const param_spec *y = &b->params[i], *x = a ? find_param(a, y->name) : NULL;
    if (!(y->prescribed || (x && x->prescribed))) continue;
    int same = x ? same_prescription(x, y) : 0;
    if (same == VIGIL_ENOMEM) oom = 1;
    if (same) continue;
    if (prescribed_line(fn, ud, x ? "~" : "+", x, y)) oom = 1;
    n++;
  }
  for (uint32_t i = 0; a && i < a->n_params; i++)
    if (a->params[i].prescribed && !find_param(b, a->params[i].name)) {
      if (prescribed_line(fn, ud, "-", &a->params[i], NULL)) oom = 1;
      n++;
    }
  return oom ? VIGIL_ENOMEM : n;
}
