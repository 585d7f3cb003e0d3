/* code_changes.c: the code of a new version that `vigil protocol diff`
 * cannot vouch for (docs/safety.md, AI2).
 *
 * The diff names a rule or a gate weakened when one of the cases it tries
 * shows it (behaviour_diff.c: the readings, the time in the phase, the
 * clock, the course). Code can read anything else: the visit's id, another
 * answer, the minute of the hour. A gate that returns true for visits past
 * the twentieth passed every case and was approved with the password alone.
 * So every function whose code changed, with the helpers it calls, is named
 * here, and an approval needs these read and confirmed, as it needs the
 * weakened ones: the diff says where to look, the approver looks. */
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "author/behaviour_diff.h"
#include "author/protocol_diff.h"
#include "base/buf.h"
#include "lang/rule_code.h"
#include "vigil/vigil.h"

typedef struct changes {
  const protocol *a, *b;
  diff_line_fn fn;
  void *ud;
  int n, oom;
} changes;

static int has_fn(int ref) { return ref != LUA_NOREF && ref != LUA_REFNIL; }

/* Names what when its code (with its helpers) in b is not its code in a; a
 * function b adds counts when added_counts (a condition added to an item can
 * take it away; a rule or a gate added cannot weaken what was there). */
static void compare(changes *c, int ref_a, int ref_b, int added_counts, const char *what) {
  if (!has_fn(ref_b) || (!has_fn(ref_a) && !added_counts)) return;
  buf x, y;
  vigil__buf_init(&x);
  vigil__buf_init(&y);
  if (has_fn(ref_a)) vigil__function_code_closure(c->a, ref_a, &x);
  vigil__function_code_closure(c->b, ref_b, &y);
  char where[512];
  buf own;
  vigil__buf_init(&own);
  vigil__function_code(c->b, ref_b, &own, where, sizeof where);
  if (x.oom || y.oom || own.oom)
    c->oom = 1; /* not all of it read: nothing said rather than a false "unchanged" */
  else if (strcmp(x.p ? x.p : "", y.p ? y.p : "")) {
    char line[1024];
    snprintf(line, sizeof line, "%s: %s (%s)", what,
             has_fn(ref_a) ? "its code, or a function it calls, changed" : "added", where);
    c->fn(c->ud, line);
    c->n++;
  }
  vigil__buf_free(&x);
  vigil__buf_free(&y);
  vigil__buf_free(&own);
}

static const phase_spec *phase_in(const protocol *p, const char *id) {
  for (uint32_t i = 0; i < p->n_phases; i++)
    if (!strcmp(p->phases[i].id, id)) return &p->phases[i];
  return NULL;
}

static int rule_ref_in(const phase_spec *ph, const char *id) {
  for (uint32_t i = 0; ph && i < ph->n_rules; i++)
    if (!strcmp(ph->rules[i].id, id)) return ph->rules[i].fn_ref;
  return LUA_NOREF;
}

static const item_spec *item_in(const protocol *p, const char *qid) {
  for (uint32_t i = 0; i < p->n_items; i++)
    if (!strcmp(p->items[i].qid, qid)) return &p->items[i];
  return NULL;
}

int vigil__protocol_code_changes(const protocol *a, const protocol *b, diff_line_fn fn, void *ud) {
  if (!a || !b || !strcmp(a->sha256, b->sha256) || vigil__protocol_same_but_version(a, b)) return 0;
  changes c = {.a = a, .b = b, .fn = fn, .ud = ud};
  char what[600];
  for (uint32_t i = 0; i < b->n_phases; i++) {
    const phase_spec *y = &b->phases[i], *x = phase_in(a, y->id);
    if (!x) continue; /* a new phase: the diff's Phases say so */
    snprintf(what, sizeof what, "gate of phase %s", y->id);
    compare(&c, x->gate_ref, y->gate_ref, 0, what);
    snprintf(what, sizeof what, "before_dose of phase %s", y->id);
    compare(&c, x->before_dose_ref, y->before_dose_ref, 0, what);
    for (uint32_t j = 0; j < y->n_rules; j++) {
      snprintf(what, sizeof what, "rule %s.%s", y->id, y->rules[j].id);
      compare(&c, rule_ref_in(x, y->rules[j].id), y->rules[j].fn_ref, 0, what);
    }
  }
  for (uint32_t i = 0; i < b->n_items; i++) {
    const item_spec *y = &b->items[i], *x = item_in(a, y->qid);
    if (!x) continue;
    snprintf(what, sizeof what, "condition (when) of item %s", y->qid);
    compare(&c, x->when_ref, y->when_ref, 1, what);
    snprintf(what, sizeof what, "score computation of item %s", y->qid);
    compare(&c, x->compute_ref, y->compute_ref, 0, what);
  }
  static const char *const hooks[HOOK_COUNT] = {"hook on.alert", "hook on.phase_enter", "hook on.phase_exit",
                                                "hook on.overdue"};
  for (int h = 0; h < HOOK_COUNT; h++)
    compare(&c, a->hooks[h], b->hooks[h], 0, hooks[h]);
  return c.oom ? VIGIL_ENOMEM : c.n;
}
