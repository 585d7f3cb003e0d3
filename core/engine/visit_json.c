/* visit_json.c: a visit's whole state as JSON, for people and programs:
 * where it is, what is due and overdue, what blocks the gate, its alerts. */
#include <stdlib.h>
#include <string.h>

#include "visit_json.h"
#include "model.h"
#include "alerts.h"
#include "amend_only.h"
#include "course.h"
#include "deadline.h"
#include "evaluate.h"
#include "fail.h"
#include "gate.h"
#include "prescription.h"
#include "recover.h"
#include "signature.h"
#include "visit.h"
#include "engine/gate.h"

static const char *status_name(visit_status s) {
  return s == VISIT_ACTIVE ? "active" : s == VISIT_DISCHARGED ? "discharged" : "aborted";
}

static void time_field(buf *b, const char *name, int64_t ms) {
  vigil__buf_printf(b, ",\"%s\":\"", name);
  vigil__buf_iso_time(b, ms);
  vigil__buf_putc(b, '"');
}

void vigil__alert_fields(buf *b, const alert *a) {
  vigil__buf_puts(b, ",\"rule\":");
  vigil__buf_json_string(b, a->rule ? a->rule : "");
  vigil__buf_printf(b,
                    ",\"priority\":\"%s\",\"level\":%d,\"source\":\"%s\",\"message\":", vigil__priority_name(a->prio),
                    a->level, vigil__alert_source_name(a->source));
  /* AP4: what its rule says now, when it says other words than those it raised the alert
   * with (the newest reading's), and those words as raised_with. */
  vigil__buf_json_string(b, a->latest ? a->latest : a->message ? a->message : "");
  if (a->latest) {
    vigil__buf_puts(b, ",\"raised_with\":");
    vigil__buf_json_string(b, a->message ? a->message : "");
  }
  vigil__buf_printf(b, ",\"state\":\"%s\",\"acknowledged\":%s,\"latching\":%s", vigil__alert_state_name(a),
                    a->acked ? "true" : "false", a->latching ? "true" : "false");
  if (a->latch) vigil__buf_puts(b, ",\"latch\":true");   /* AP3: active and escalating until acknowledged */
  if (a->carry) vigil__buf_puts(b, ",\"carried\":true"); /* G7 */
  time_field(b, "raised_at", a->raised_at);
  if (a->level > 0) time_field(b, "escalated_at", a->escalated_at);
  if (a->acked) {
    time_field(b, "acknowledged_at", a->acked_at);
    vigil__buf_puts(b, ",\"acknowledged_by\":");
    vigil__buf_json_string(b, a->acked_by ? a->acked_by : "");
  }
  if (a->cleared) time_field(b, "resolved_at", a->cleared_at);
  if (a->follows) vigil__buf_printf(b, ",\"follows\":%llu", (unsigned long long)a->follows);
  if (a->realert) vigil__buf_printf(b, ",\"raised_again\":%u", (unsigned)a->realert); /* AN11 */
  if (a->clinician) vigil__buf_puts(b, ",\"for_clinician\":true");
  if (a->failures > 1) { /* a technical alert whose rule failed again (AB4, evaluate.c) */
    vigil__buf_printf(b, ",\"failures\":%u", (unsigned)a->failures);
    time_field(b, "last_failed_at", a->last_failed_at);
    if (a->last_failure) {
      vigil__buf_puts(b, ",\"last_failure\":");
      vigil__buf_json_string(b, a->last_failure);
    }
  }
}

static void alert_json(buf *b, const alert *a) {
  vigil__buf_printf(b, "{\"id\":%llu", (unsigned long long)a->id);
  vigil__alert_fields(b, a);
  vigil__buf_putc(b, '}');
}

void vigil__location_field(buf *b, const visit *v) {
  vigil__buf_puts(b, ",\"location\":");
  if (v->location)
    vigil__buf_json_string(b, v->location);
  else
    vigil__buf_puts(b, "null");
}

void vigil__limits_json(buf *b, int has_range, double lo, double hi, const char *const *options, uint32_t n_options) {
  if (has_range) {
    vigil__buf_puts(b, ",\"range\":[");
    vigil__buf_json_number(b, lo);
    vigil__buf_putc(b, ',');
    vigil__buf_json_number(b, hi);
    vigil__buf_putc(b, ']');
  }
  if (n_options) {
    vigil__buf_puts(b, ",\"options\":[");
    for (uint32_t o = 0; o < n_options; o++) {
      if (o) vigil__buf_putc(b, ',');
      vigil__buf_json_string(b, options[o]);
    }
    vigil__buf_putc(b, ']');
  }
}

/* A score field's points, each with what it means: the form shows them. */
static void points_json(buf *b, const field_spec *f) {
  if (!f->n_points) return;
  vigil__buf_puts(b, ",\"points\":[");
  for (uint32_t i = 0; i < f->n_points; i++) {
    vigil__buf_puts(b, i ? ",{\"value\":" : "{\"value\":");
    vigil__buf_json_number(b, f->points[i].value);
    if (f->points[i].label) vigil__buf_puts(b, ",\"label\":"), vigil__buf_json_string(b, f->points[i].label);
    vigil__buf_putc(b, '}');
  }
  vigil__buf_putc(b, ']');
}

/* What signing the signature item it would attest now (the values and the
 * calculation the signer sees): 1 with it in *now (release it), 0 when there
 * is nothing to sign, VIGIL_ENOMEM when memory ran out making it (in C or in
 * the protocol's calculation: e->oom), another error when the calculation
 * failed. current: it is of the active visit's current phase. */
static int to_attest(vigil_engine *e, visit *v, const item_spec *it, int current, val *now) {
  if (it->of_item < 0) return 0;
  const signature_state *sg = v->sigs ? &v->sigs[it->index] : NULL;
  /* A void signature of a phase the visit has left is signed again (G5),
   * and one a change since requires is recorded (AI1, AL7). */
  int signable =
      current || (v->status == VISIT_ACTIVE && it->phase < v->phase &&
                  ((sg && sg->void_reason && sg->attests.type != VAL_NIL) || vigil__signature_owed(e, v, it->index)));
  if (!signable || !vigil__visit_latest(v, it->of_item)) return 0;
  int oom_was = e->oom;
  e->oom = 0;
  int rc = vigil__signature_attests(e, v, it, now);
  int oom = e->oom;
  e->oom = oom_was | oom; /* a command running still fails for it (command.c) */
  if (rc == 0 && !oom) return 1;
  if (rc == 0) vigil__val_release(*now);
  return oom ? VIGIL_ENOMEM : rc;
}

static void item_json(vigil_engine *e, buf *b, visit *v, const item_spec *it, int current) {
  const item_state *s = &v->items[it->index];
  vigil__buf_puts(b, "{\"id\":");
  vigil__buf_json_string(b, it->id);
  vigil__buf_printf(b, ",\"kind\":\"%s\",\"title\":", vigil__item_kind_name(it->kind));
  char title[1024];
  vigil__buf_json_string(b, it->title ? vigil__visit_text(v, it->title, title, sizeof title) : it->id);
  vigil__buf_printf(b, ",\"required\":%s,\"count\":%u", it->required ? "true" : "false", s->n);
  /* Only a clinician enters it (AL6): the workstation leaves it to one. */
  if (it->clinician) vigil__buf_puts(b, ",\"clinician\":true");
  if (current) vigil__buf_printf(b, ",\"applies\":%s", vigil__eval_when(e, v, it) ? "true" : "false");
  if (s->n) {
    vigil__buf_puts(b, ",\"value\":");
    vigil__val_to_json(b, s->r[s->n - 1].v);
    /* A late entry: observed earlier than it was typed, and said so. */
    const reading *r = &s->r[s->n - 1];
    time_field(b, "recorded_at", r->recorded_at ? r->recorded_at : r->at);
    time_field(b, "observed_at", r->at);
    if (r->recorded_at > r->at) vigil__buf_puts(b, ",\"late\":true");
    vigil__buf_puts(b, ",\"recorded_by\":");
    vigil__buf_json_string(b, s->r[s->n - 1].actor);
    /* Changed only by an amendment (G1, U11): the workstation offers Amend. */
    if (current && vigil__item_amend_only(v, it->index)) vigil__buf_puts(b, ",\"amend_only\":true");
  }
  if (it->of_item >= 0) {
    vigil__buf_puts(b, ",\"of\":");
    vigil__buf_json_string(b, v->p->items[it->of_item].qid);
    vigil__buf_puts(b, ",\"meaning\":");
    vigil__buf_json_string(b, it->meaning ? it->meaning : "");
    /* What it attests: as signed, and (in the current phase) what signing now
     * would attest, the values and the calculation the signer sees. */
    vigil__buf_puts(b, ",\"attest_params\":[");
    for (uint32_t i = 0; i < it->n_attest_params; i++) {
      int pa = vigil__protocol_find_param(v->p, it->attest_params[i]);
      vigil__buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
      vigil__buf_json_string(b, it->attest_params[i]);
      if (pa >= 0 && v->p->params[pa].title)
        vigil__buf_puts(b, ",\"title\":"), vigil__buf_json_string(b, v->p->params[pa].title);
      if (pa >= 0 && v->p->params[pa].unit)
        vigil__buf_puts(b, ",\"unit\":"), vigil__buf_json_string(b, v->p->params[pa].unit);
      vigil__buf_putc(b, '}');
    }
    vigil__buf_putc(b, ']');
    const signature_state *sg = v->sigs ? &v->sigs[it->index] : NULL;
    if (sg && sg->attests.type != VAL_NIL) {
      vigil__buf_puts(b, ",\"attests\":");
      vigil__val_to_json(b, sg->attests);
      if (sg->void_reason) vigil__buf_puts(b, ",\"void\":"), vigil__buf_json_string(b, sg->void_reason);
    }
    val now;
    if (to_attest(e, v, it, current, &now) > 0) {
      vigil__buf_puts(b, ",\"to_attest\":");
      vigil__val_to_json(b, now);
      vigil__val_release(now);
    }
  }
  /* Owed (AI1): a signature of a phase the visit has left, unrecorded, that
   * a change since requires; the workstation offers it where the visit is (AL7). */
  if (v->status == VISIT_ACTIVE && it->phase < v->phase && vigil__signature_owed(e, v, it->index))
    vigil__buf_puts(b, ",\"owed\":true");
  if (s->skipped) {
    vigil__buf_puts(b, ",\"skipped\":");
    vigil__buf_json_string(b, s->skipped);
  }
  /* The item's schedule, in every phase: a flowsheet's rows, and how old a
   * value may be before it is stale (every + grace). */
  if (it->scheduled)
    vigil__buf_printf(b, ",\"schedule\":{\"at_ms\":%lld,\"every_ms\":%lld,\"grace_ms\":%lld}", (long long)it->sched.at,
                      (long long)it->sched.every, (long long)it->sched.grace);
  if (current && it->scheduled) {
    int64_t due = vigil__item_next_due(v, it, NULL);
    if (due >= 0) {
      time_field(b, "due_at", due);
      vigil__buf_printf(b, ",\"overdue\":%s", s->overdue > s->sat ? "true" : "false");
    }
  }
  vigil__buf_puts(b, ",\"fields\":[");
  for (uint32_t i = 0; i < it->n_fields; i++) {
    const field_spec *f = &it->fields[i];
    vigil__buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
    vigil__buf_json_string(b, f->name);
    vigil__buf_printf(b, ",\"kind\":\"%s\",\"required\":%s", vigil__field_kind_name(f->kind),
                      f->required ? "true" : "false");
    if (f->title) vigil__buf_puts(b, ",\"title\":"), vigil__buf_json_string(b, f->title);
    if (f->unit) vigil__buf_puts(b, ",\"unit\":"), vigil__buf_json_string(b, f->unit);
    if (f->loinc) vigil__buf_puts(b, ",\"loinc\":"), vigil__buf_json_string(b, f->loinc);
    vigil__limits_json(b, f->has_range, f->lo, f->hi, f->options, f->n_options);
    points_json(b, f);
    vigil__buf_putc(b, '}');
  }
  vigil__buf_puts(b, "]}");
}

/* V1 (docs/safety.md): the required items of the phase an override would
 * pass unrecorded (or its signature void): each one it names ("items"). */
static void gate_unrecorded(vigil_engine *e, buf *b, visit *v) {
  const phase_spec *ph = &v->p->phases[v->phase];
  vigil__buf_puts(b, ",\"unrecorded\":[");
  int n = 0;
  for (uint16_t j = 0; j < ph->n_items; j++) {
    const item_spec *it = &v->p->items[ph->first_item + j];
    gate_item g = vigil__gate_item(e, v, it);
    if (g != GATE_ITEM_UNRECORDED && g != GATE_ITEM_VOID) continue;
    char title[1024];
    vigil__buf_puts(b, n++ ? ",{\"item\":" : "{\"item\":");
    vigil__buf_json_string(b, it->qid);
    vigil__buf_puts(b, ",\"title\":");
    vigil__buf_json_string(b, vigil__visit_text(v, it->title, title, sizeof title));
    vigil__buf_printf(b, ",\"void\":%s}", g == GATE_ITEM_VOID ? "true" : "false");
  }
  vigil__buf_putc(b, ']');
}

/* V1 (docs/safety.md): the required items a clinician's override passed
 * unrecorded (or void), for the rest of the visit: the visit page, the
 * board and the printed summary show them. recorded_since: a reading of it
 * came later (a late entry), the override stays in the record. */
static void passed_by_override(buf *b, visit *v) {
  const protocol *p = v->p;
  vigil__buf_puts(b, ",\"passed_by_override\":[");
  for (uint32_t i = 0; i < v->n_passed; i++) {
    const passed_item *x = &v->passed[i];
    const item_spec *it = &p->items[x->item];
    char title[1024];
    vigil__buf_puts(b, i ? ",{\"item\":" : "{\"item\":");
    vigil__buf_json_string(b, it->qid);
    vigil__buf_puts(b, ",\"title\":");
    vigil__buf_json_string(b, vigil__visit_text(v, it->title, title, sizeof title));
    vigil__buf_puts(b, ",\"phase\":");
    vigil__buf_json_string(b, p->phases[it->phase].id);
    time_field(b, "overridden_at", x->at);
    vigil__buf_puts(b, ",\"overridden_by\":");
    vigil__buf_json_string(b, x->actor ? x->actor : "");
    vigil__buf_printf(b, ",\"recorded_since\":%s}", v->items[x->item].n > x->n_then ? "true" : "false");
  }
  vigil__buf_putc(b, ']');
}

char *vigil_visit_json(vigil_engine *e, uint64_t id) {
  visit *v = vigil__engine_visit(e, id);
  if (!v) {
    vigil__engine_fail(e, VIGIL_ENOENT, "visit", "no visit %llu", (unsigned long long)id);
    return NULL;
  }
  const protocol *p = v->p;
  buf b;
  vigil__buf_init(&b);
  vigil__buf_printf(&b, "{\"id\":%llu,\"patient\":", (unsigned long long)v->id);
  vigil__buf_json_string(&b, v->patient);
  vigil__location_field(&b, v);
  vigil__buf_puts(&b, ",\"protocol\":");
  vigil__buf_json_string(&b, p->ref);
  vigil__buf_printf(&b, ",\"sha256\":\"%s\",\"status\":\"%s\",\"phase\":", p->sha256, status_name(v->status));
  vigil__buf_json_string(&b, p->phases[v->phase].id);
  time_field(&b, "started_at", v->started_at);
  time_field(&b, "phase_started_at", v->phase_at);
  /* AN1: the current phase's maximum, once its clock runs (from entering it,
   * or its timed_from check): when the visit should have moved on, and
   * whether its alert has come. The board's "Next due" when it is first. */
  const phase_spec *now_ph = &p->phases[v->phase];
  int64_t clock = v->status == VISIT_ACTIVE && now_ph->max >= 0 ? vigil__phase_clock(v) : -1;
  if (clock >= 0) {
    time_field(&b, "leave_by", clock + now_ph->max);
    vigil__buf_printf(&b, ",\"leave_overdue\":%s", v->max_alerted ? "true" : "false");
  }
  if (v->status != VISIT_ACTIVE) time_field(&b, "ended_at", v->ended_at);
  vigil__buf_puts(&b, ",\"params\":");
  vigil__val_to_json(&b, v->params);
  vigil__changed_params_field(&b, v);
  vigil__course_visit_field(e, &b, v);
  if (v->status == VISIT_ACTIVE) {
    val reasons;
    int n = vigil__gate_reasons(e, v, &reasons);
    if (n < 0) b.oom = 1; /* out of memory: the visit is not rendered (NULL), never with its gate unknown */
    vigil__buf_printf(&b, ",\"gate\":{\"ok\":%s,\"reasons\":", n == 0 ? "true" : "false");
    vigil__val_to_json(&b, n < 0 ? VAL_NIL_ : reasons);
    gate_unrecorded(e, &b, v);
    vigil__buf_putc(&b, '}');
    if (n >= 0) vigil__val_release(reasons);
  }
  vigil__buf_puts(&b, ",\"phases\":[");
  for (uint32_t i = 0; i < p->n_phases; i++) {
    const phase_spec *ph = &p->phases[i];
    vigil__buf_puts(&b, i ? ",{\"id\":" : "{\"id\":");
    vigil__buf_json_string(&b, ph->id);
    vigil__buf_puts(&b, ",\"title\":");
    char title[1024];
    vigil__buf_json_string(&b, ph->title ? vigil__visit_text(v, ph->title, title, sizeof title) : ph->id);
    vigil__buf_puts(&b, ",\"items\":[");
    for (uint16_t j = 0; j < ph->n_items; j++) {
      if (j) vigil__buf_putc(&b, ',');
      item_json(e, &b, v, &p->items[ph->first_item + j], v->status == VISIT_ACTIVE && i == v->phase);
    }
    /* Each rule and the items it runs on: what an alert's rule (its
     * alert.raised names only the rule) is about, so that the workstation
     * flags the cards of those items, not every item of the entry. */
    vigil__buf_puts(&b, "],\"rules\":[");
    for (uint32_t r = 0; r < ph->n_rules; r++) {
      const rule_spec *rs = &ph->rules[r];
      vigil__buf_puts(&b, r ? ",{\"id\":" : "{\"id\":");
      vigil__buf_json_string(&b, rs->id);
      vigil__buf_puts(&b, ",\"on\":[");
      for (uint32_t k = 0; k < rs->n_on; k++) {
        if (k) vigil__buf_putc(&b, ',');
        vigil__buf_json_string(&b, p->items[rs->on[k]].qid);
      }
      vigil__buf_puts(&b, "]}");
    }
    vigil__buf_puts(&b, "]}");
  }
  vigil__buf_puts(&b, "],\"alerts\":[");
  for (uint32_t i = 0; i < v->n_alerts; i++) {
    if (i) vigil__buf_putc(&b, ',');
    alert_json(&b, v->alerts[i]);
  }
  vigil__buf_puts(&b, "],\"blocks\":[");
  for (uint32_t i = 0; i < v->n_blocks; i++) {
    if (i) vigil__buf_putc(&b, ',');
    vigil__buf_puts(&b, "{\"rule\":");
    vigil__buf_json_string(&b, v->blocks[i].key);
    vigil__buf_puts(&b, ",\"reason\":");
    vigil__buf_json_string(&b, v->blocks[i].reason);
    vigil__buf_putc(&b, '}');
  }
  vigil__buf_putc(&b, ']');
  passed_by_override(&b, v);
  vigil__buf_putc(&b, '}');
  return vigil__buf_take(&b);
}

int vigil__visit_to_attest_json(vigil_engine *e, uint64_t id, const char *ref, char **out) {
  *out = NULL;
  visit *v = vigil__engine_visit(e, id);
  if (!v) return 0;
  const protocol *p = v->p;
  const item_spec *found = NULL;
  int found_current = 0;
  for (uint32_t i = 0; i < p->n_phases; i++) {
    /* An item of the current phase, or phase.item (a past phase's void signature, G5). */
    const phase_spec *ph = &p->phases[i];
    size_t pl = strlen(ph->id);
    int qualified = !strncmp(ref, ph->id, pl) && ref[pl] == '.';
    if (i != v->phase && !qualified) continue;
    for (uint16_t j = 0; j < ph->n_items; j++)
      if (!strcmp(p->items[ph->first_item + j].id, qualified ? ref + pl + 1 : ref)) {
        found = &p->items[ph->first_item + j];
        found_current = v->status == VISIT_ACTIVE && i == v->phase;
      }
  }
  val now;
  int rc = found ? to_attest(e, v, found, found_current, &now) : 0;
  if (rc <= 0) return rc;
  buf b;
  vigil__buf_init(&b);
  vigil__val_to_json(&b, now);
  vigil__val_release(now);
  *out = vigil__buf_take(&b);
  return *out ? 0 : VIGIL_ENOMEM;
}

char *vigil__visit_gate_reasons_json(vigil_engine *e, uint64_t id) {
  visit *v = vigil__engine_visit(e, id);
  if (!v || v->status != VISIT_ACTIVE) return NULL;
  val reasons;
  int n = vigil__gate_reasons(e, v, &reasons);
  if (n < 0) return NULL; /* out of memory */
  buf b;
  vigil__buf_init(&b);
  vigil__val_to_json(&b, n < 0 ? VAL_NIL_ : reasons);
  if (n >= 0) vigil__val_release(reasons);
  return vigil__buf_take(&b);
}
