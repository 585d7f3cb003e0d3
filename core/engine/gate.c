/* gate.c: what stops a visit from leaving its phase.
 *
 * Every reason is listed, not just the first, so the nurse sees at once all
 * that is left to do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "model.h"
#include "clock.h"
#include "course.h"
#include "deadline.h"
#include "evaluate.h"
#include "fail.h"
#include "patient_record.h"
#include "prescription.h"
#include "signature.h"
#include "visit.h"

#define MAX_REASONS 64

typedef struct reasons {
  char *text[MAX_REASONS];
  uint32_t n;
  int oom; /* a reason could not be kept: the list is not given (a gate never opens for want of memory) */
} reasons;

static void add(reasons *r, const char *text) {
  if (r->n >= MAX_REASONS) return;
  if ((r->text[r->n] = strdup(text)))
    r->n++;
  else
    r->oom = 1;
}

/* The reasons as a list value (taking their text). */
static int to_list(reasons *r, val *out) {
  *out = vigil__val_list(r->n);
  int ok = !r->oom && vigil__val_ok(*out);
  for (uint32_t i = 0; i < r->n; i++) {
    if (ok) {
      val s = vigil__val_cstring(r->text[i]);
      ok = vigil__val_ok(s);
      val_items(*out)[i] = ok ? s : VAL_NIL_;
    }
    free(r->text[i]);
  }
  if (!ok && vigil__val_ok(*out)) vigil__val_release(*out);
  return ok ? (int)r->n : -1;
}

static int gate_reasons(vigil_engine *e, visit *v, val *list);

/* What the gate says of one item of the current phase (one reading of the
 * conditions, for the gate's reasons and for what an override passes, V1). */
gate_item vigil__gate_item(vigil_engine *e, visit *v, const item_spec *it) {
  const item_state *s = &v->items[it->index];
  if (!it->required || s->skipped_for_good || it->phase != v->phase) return GATE_ITEM_MET;
  if (!vigil__eval_when(e, v, it)) return GATE_ITEM_MET;
  if (it->scheduled) {
    /* A skipped occurrence is dealt with; the next one is due as usual. */
    int64_t due = vigil__item_next_due(v, it, NULL);
    if (due >= 0 && due <= vigil__engine_now(e)) return GATE_ITEM_DUE;
    return !s->n && !s->skipped && due < 0 ? GATE_ITEM_UNRECORDED : GATE_ITEM_MET;
  }
  if (!s->n) return GATE_ITEM_UNRECORDED;
  return vigil__signature_void(v, it->index) ? GATE_ITEM_VOID : GATE_ITEM_MET;
}

/* The reasons, or -1 when memory ran out finding them: a `when` or the
 * gate that could not run (e->oom) says nothing about whether the phase may
 * be left, so no list is given (the command fails, a rendering fails). */
int vigil__gate_reasons(vigil_engine *e, visit *v, val *list) {
  int was = e->oom;
  e->oom = 0;
  int n = gate_reasons(e, v, list);
  int oom = e->oom;
  e->oom = was || oom;
  if (oom && n >= 0) {
    vigil__val_release(*list);
    return -1;
  }
  return n;
}

static int gate_reasons(vigil_engine *e, visit *v, val *list) {
  const protocol *p = v->p;
  const phase_spec *ph = &p->phases[v->phase];
  int64_t now = vigil__engine_now(e);
  reasons r = {.n = 0};
  char text[1200], title[1024];
  for (uint16_t j = 0; j < ph->n_items; j++) {
    const item_spec *it = &p->items[ph->first_item + j];
    const item_state *s = &v->items[it->index];
    gate_item need = vigil__gate_item(e, v, it);
    if (need == GATE_ITEM_MET) continue;
    const char *it_title = vigil__visit_text(v, it->title, title, sizeof title); /* {param}: the visit's value */
    if (need == GATE_ITEM_DUE)
      snprintf(text, sizeof text, "%s is %s", it_title, s->overdue > s->sat ? "overdue" : "due");
    else if (need == GATE_ITEM_VOID)
      snprintf(text, sizeof text, "%s is void (%s): %s signs again", it_title, vigil__signature_void(v, it->index),
               it->second_person ? "a second person" : "a clinician");
    else
      snprintf(text, sizeof text, "%s not recorded", it_title);
    add(&r, text);
  }
  /* G5 (docs/safety.md): a signature of a phase the visit has left that a
   * change voided (the dose amended in the infusion) holds this phase too,
   * and the discharge, until someone signs it again from here. */
  for (uint32_t i = 0; i < p->n_items; i++) {
    const item_spec *it = &p->items[i];
    if (it->phase >= v->phase || it->kind != KIND_SIGNATURE) continue;
    const char *why = vigil__signature_void(v, (int)i);
    char phase_title[512];
    if (why)
      snprintf(text, sizeof text, "%s (%s) is void: %s; a clinician signs it again (entry %s)",
               vigil__visit_text(v, it->title, title, sizeof title),
               vigil__visit_text(v, p->phases[it->phase].title, phase_title, sizeof phase_title), why, it->qid);
    else if (vigil__signature_owed(e, v, (int)i)) /* AI1: a change since its phase requires it */
      snprintf(text, sizeof text,
               "%s (%s) not recorded: a change since the visit left %s requires it; a clinician records it "
               "(entry %s)",
               vigil__visit_text(v, it->title, title, sizeof title),
               vigil__visit_text(v, p->phases[it->phase].title, phase_title, sizeof phase_title),
               p->phases[it->phase].id, it->qid);
    else
      continue;
    add(&r, text);
  }
  /* G8 (docs/safety.md): with `missed = "hold"`, a checkpoint that went
   * overdue and was never recorded (observed within its grace) nor skipped
   * with a reason holds the gate, each named by its time. The way past is a
   * late entry with its observed time, or a clinician's override. */
  for (uint16_t j = 0; ph->hold_missed && j < ph->n_items; j++) {
    const item_spec *it = &p->items[ph->first_item + j];
    const item_state *s = &v->items[it->index];
    if (!it->scheduled || !s->n_missed) continue;
    uint32_t ks[64] = {0}, n = 0;
    for (uint32_t m = 0; m < s->n_missed && n < 64; m++) {
      uint32_t k = s->missed[m], at = n;
      while (at > 0 && ks[at - 1] > k) /* in time order */
        ks[at] = ks[at - 1], at--;
      ks[at] = k;
      n++;
    }
    int len = snprintf(text, sizeof text, "%s missed at ", vigil__visit_text(v, it->title, title, sizeof title));
    for (uint32_t m = 0; m < n && len > 0 && (size_t)len < sizeof text - 64; m++) {
      int64_t due = vigil__schedule_due(&it->sched, ks[m]);
      len += snprintf(text + len, sizeof text - (size_t)len, "%s%lld",
                      m == 0       ? ""
                      : m + 1 == n ? " and "
                                   : ", ",
                      (long long)(due / 60000));
    }
    if (len > 0 && (size_t)len < sizeof text)
      snprintf(text + len, sizeof text - (size_t)len,
               " min (never recorded nor skipped): record %s late with the time %s observed, or a clinician "
               "overrides with a reason",
               n > 1 ? "them" : "it", n > 1 ? "each was" : "it was");
    add(&r, text);
  }
  /* P7: a phase timed from a check (the infusion started) counts from it. */
  int64_t clock = vigil__phase_clock(v);
  if (ph->min >= 0 && clock < 0) {
    char from[512];
    snprintf(text, sizeof text, "minimum time in %s not started: it counts from \"%s\", not recorded yet",
             vigil__visit_text(v, ph->title, title, sizeof title),
             vigil__visit_text(v, v->p->items[ph->timed_from].title, from, sizeof from));
    add(&r, text);
  } else if (ph->min >= 0 && now - clock < ph->min) {
    int64_t left = (ph->min - (now - clock) + 59999) / 60000;
    snprintf(text, sizeof text, "minimum time in %s not reached (%lld min left)",
             vigil__visit_text(v, ph->title, title, sizeof title), (long long)left);
    add(&r, text);
  }
  for (uint32_t i = 0; i < v->n_blocks; i++)
    add(&r, v->blocks[i].reason);
  if (!vigil__eval_gate(e, v, text, sizeof text)) add(&r, text);
  /* Sooner than the course's minimum interval (docs/safety.md G9). */
  if (vigil__course_gate(e, v, text, sizeof text)) add(&r, text);
  /* ... and after a session of a reference merged into the patient (L8). */
  if (vigil__patient_merged_gate(e, v, text, sizeof text)) add(&r, text);
  /* An open high alert holds the phase (H12 in docs/safety.md): one nobody
   * acknowledged, and one acknowledged whose condition still holds, since an
   * acknowledgement silences an alarm, it does not end its condition. The way
   * past is a clinician's override, whose event lists these reasons. */
  for (uint32_t i = 0; i < v->n_alerts; i++) {
    const alert *a = v->alerts[i];
    if (a->prio != PRIORITY_HIGH || !vigil__alert_is_open(a)) continue;
    snprintf(text, sizeof text, "high alert %llu %s: %s", (unsigned long long)a->id,
             a->acked     ? "acknowledged, its condition still holds"
             : a->cleared ? "not acknowledged (cleared since)"
                          : "not acknowledged",
             a->latest ? a->latest : a->message);
    add(&r, text);
  }
  /* F3's residual (docs/safety.md H12): the discharge resolves what is left
   * of the visit, so no alert of any priority goes with it unseen. Leaving
   * the last phase waits until each active alert (open, not acknowledged) is
   * acknowledged; the high ones are named above. */
  int hold = v->phase + 1u >= p->n_phases && !p->phases[v->phase].unacknowledged_allowed;
  for (uint32_t i = 0; hold && i < v->n_alerts; i++) {
    const alert *a = v->alerts[i];
    if (a->prio == PRIORITY_HIGH || !vigil__alert_is_active(a)) continue;
    snprintf(text, sizeof text, "%s alert %llu not acknowledged%s: %s", vigil__priority_name(a->prio),
             (unsigned long long)a->id, a->cleared ? " (cleared since)" : "", a->latest ? a->latest : a->message);
    add(&r, text);
  }
  return to_list(&r, list);
}

/* N7 (docs/safety.md): whether the visit's dose was given (a dose_given item
 * of its protocol's course recorded, neither false nor null, whatever it
 * was amended to since: P1). */
int vigil__dose_given_already(const visit *v) {
  const course_spec *cs = v->p->course;
  for (uint32_t i = 0; cs && i < cs->n_dose_given; i++) {
    int item = vigil__protocol_find_item(v->p, cs->dose_given[i], -1);
    if (item >= 0 && v->items[item].given_at) return 1;
  }
  return 0;
}

int vigil__dose_hold(vigil_engine *e, visit *v, int item, char *text, size_t len) {
  const protocol *p = v->p;
  const item_spec *it = &p->items[item];
  text[0] = '\0';
  /* The items of the phase that gives the dose (it holds a dose_given item)
   * that are not observations nor signatures, while the dose is not given:
   * the monitoring goes on, a signature is how a hold is lifted, and once
   * the dose is given, stopping it is always recorded. */
  if (!p->course || it->phase != v->phase || it->kind == KIND_VITALS || it->kind == KIND_SIGNATURE || it->scheduled)
    return 0;
  int dosing = 0;
  for (uint32_t i = 0; i < p->course->n_dose_given && !dosing; i++) {
    int d = vigil__protocol_find_item(p, p->course->dose_given[i], -1);
    dosing = d >= 0 && p->items[d].phase == it->phase;
  }
  if (!dosing || vigil__dose_given_already(v)) return 0;
  buf b;
  vigil__buf_init(&b);
  char title[1024], phase_title[512];
  /* A carried alert (the suicide-risk alert an amendment raised again, an
   * allergy on the hospital record) until a clinician assesses or
   * acknowledges it with a reason. */
  for (uint32_t i = 0; i < v->n_alerts; i++) {
    const alert *a = v->alerts[i];
    /* One a left phase's reading raised (T1) is as the phase's own once a
     * clinician acknowledged it (S2): its reading's block, if any, holds. */
    if (!a->carry || !vigil__alert_is_open(a) || (a->left_reading && a->acked)) continue;
    vigil__buf_printf(&b, "%s%s alert %llu (%s), open until a clinician assesses it or acknowledges it with a reason",
                      b.len ? "; " : "", vigil__priority_name(a->prio), (unsigned long long)a->id, a->message);
  }
  /* Q2: a high alert of the visit nobody has acknowledged yet (BP 215/128,
   * SpO2 86 entered just before the dose): someone has to have seen it. */
  for (uint32_t i = 0; i < v->n_alerts; i++) {
    const alert *a = v->alerts[i];
    if (a->carry || a->prio != PRIORITY_HIGH || !vigil__alert_is_active(a)) continue;
    vigil__buf_printf(&b, "%shigh alert %llu (%s), unacknowledged: it is acknowledged first", b.len ? "; " : "",
                      (unsigned long long)a->id, a->message);
  }
  /* A signature a change voided: what it attested is no longer the visit's. */
  for (uint32_t i = 0; i < p->n_items; i++) {
    const item_spec *s = &p->items[i];
    const char *why = s->kind == KIND_SIGNATURE && s->phase <= v->phase ? vigil__signature_void(v, (int)i) : NULL;
    if (why)
      vigil__buf_printf(&b, "%s%s (%s) is void: %s; it is signed again (entry %s)", b.len ? "; " : "",
                        vigil__visit_text(v, s->title, title, sizeof title),
                        vigil__visit_text(v, p->phases[s->phase].title, phase_title, sizeof phase_title), why, s->qid);
    /* AI1: one a change since its phase requires (the assessment after item 9
     * was amended), until it is recorded: an acknowledgement of its alert is not it. */
    else if (s->kind == KIND_SIGNATURE && vigil__signature_owed(e, v, (int)i))
      vigil__buf_printf(&b, "%s%s (%s) is not recorded: a change since requires it; a clinician records it (entry %s)",
                        b.len ? "; " : "", vigil__visit_text(v, s->title, title, sizeof title),
                        vigil__visit_text(v, p->phases[s->phase].title, phase_title, sizeof phase_title), s->qid);
  }
  /* A rule's hold (an amended contraindication). */
  for (uint32_t i = 0; i < v->n_blocks; i++)
    vigil__buf_printf(&b, "%s%s", b.len ? "; " : "", v->blocks[i].reason);
  /* AN13: what time alone changes, asked at the dose (the pre-dose vitals
   * grown old while the visit waited): the phase's `before_dose`. */
  char why[1024];
  if (!vigil__eval_before_dose(e, v, why, sizeof why)) vigil__buf_printf(&b, "%s%s", b.len ? "; " : "", why);
  int held = b.len > 0 || b.oom;
  /* A reason may end its own sentence ("... a clinician's review."): one
   * full stop before ours, not two. */
  while (b.p && b.len > 0 && b.p[b.len - 1] == '.')
    b.p[--b.len] = '\0';
  if (held)
    snprintf(text, len,
             "%s: the dose waits while a hold is open: %s. Nothing was recorded; observations are still "
             "recorded",
             vigil__visit_text(v, it->title, title, sizeof title), b.p ? b.p : "a hold");
  vigil__buf_free(&b);
  return held;
}

/* Q5 (docs/safety.md): a clinician's override passes only the rule holds it
 * names. Each block standing in the phase (a contraindication, the dose
 * against its calculation, a "high" suicide-risk assessment, a low pre-dose
 * reading) is a decision of its own: one override given "about" the
 * suicide-risk assessment passed the dose-calculation block too, and the
 * dose was given at twice the calculation. The other reasons of a gate
 * (items not recorded, the minimum time, high alerts) pass as before. */
int vigil__gate_override_holds(vigil_engine *e, const visit *v, const char *const *holds, size_t n) {
  buf b;
  vigil__buf_init(&b);
  for (uint32_t i = 0; i < v->n_blocks; i++)
    vigil__buf_printf(&b, "%s%s", b.len ? ", " : "", v->blocks[i].key);
  /* Out of memory is said as itself, never as the override's fault. */
  if (b.oom) {
    vigil__buf_free(&b);
    return VIGIL_ENOMEM;
  }
  for (size_t k = 0; k < n; k++) {
    int found = 0;
    for (uint32_t i = 0; i < v->n_blocks && !found; i++)
      found = !strcmp(v->blocks[i].key, holds[k]);
    if (found) continue;
    int rc = vigil__engine_fail(e, VIGIL_EINVAL, "holds",
                                "holds names %s, which holds nothing in this phase (its holds: %s); nothing was "
                                "recorded",
                                holds[k], b.len ? b.p : "none");
    vigil__buf_free(&b);
    return rc;
  }
  b.len = 0;
  int unnamed = 0;
  for (uint32_t i = 0; i < v->n_blocks; i++) {
    int named = 0;
    for (size_t k = 0; k < n && !named; k++)
      named = !strcmp(v->blocks[i].key, holds[k]);
    if (named) continue;
    vigil__buf_printf(&b, "%s%s (%s)", unnamed++ ? "; " : "", v->blocks[i].key, v->blocks[i].reason);
  }
  int rc = 0;
  if (b.oom)
    rc = VIGIL_ENOMEM;
  else if (unnamed)
    rc = vigil__engine_fail(e, VIGIL_ESTATE, "holds",
                            "the override does not name %s %s: an override passes only the holds it names, each "
                            "reviewed for itself (holds: [\"%s\", ...]); nothing was recorded",
                            unnamed > 1 ? "the holds" : "the hold", b.p ? b.p : "of a rule",
                            v->n_blocks ? v->blocks[0].key : "");
  vigil__buf_free(&b);
  return rc;
}

/* V1 (docs/safety.md): the required items a clinician's override passes
 * unrecorded (the dose drawn up, the second person's dose check, the
 * suicide-risk assessment) or void. One override passed all three unnamed,
 * listed only in its text, and nothing showed them again for the rest of
 * the visit. Each is a decision of its own, as a hold is (Q5): with confirm,
 * the override names each by its entry ("screening.dose_check"). passed:
 * their entries, a list for the event (the visit keeps them flagged). */
int vigil__gate_override_items(vigil_engine *e, visit *v, const char *const *items, size_t n, int confirm,
                               val *passed) {
  const phase_spec *ph = &v->p->phases[v->phase];
  uint32_t n_pass = 0;
  *passed = VAL_NIL_;
  const item_spec **pass = malloc(sizeof *pass * (ph->n_items + 1u));
  gate_item *need = malloc(sizeof *need * (ph->n_items + 1u));
  if (!pass || !need) {
    free(pass);
    free(need);
    return VIGIL_ENOMEM;
  }
  int was = e->oom;
  e->oom = 0;
  for (uint16_t j = 0; j < ph->n_items; j++) {
    const item_spec *it = &v->p->items[ph->first_item + j];
    gate_item g = vigil__gate_item(e, v, it);
    if (g == GATE_ITEM_UNRECORDED || g == GATE_ITEM_VOID) need[n_pass] = g, pass[n_pass++] = it;
  }
  int when_oom = e->oom;
  e->oom = was || when_oom;
  buf b;
  vigil__buf_init(&b);
  for (uint32_t i = 0; i < n_pass; i++)
    vigil__buf_printf(&b, "%s%s", i ? ", " : "", pass[i]->qid);
  /* e->oom: a `when` that could not run, so nothing is known of what it passes */
  int rc = b.oom || when_oom ? VIGIL_ENOMEM : 0;
  for (size_t k = 0; confirm && k < n && !rc; k++) {
    int found = 0;
    for (uint32_t i = 0; i < n_pass && !found; i++)
      found = !strcmp(pass[i]->qid, items[k]);
    if (!found)
      rc = vigil__engine_fail(e, VIGIL_EINVAL, "items",
                              "items names %s, which the override does not pass (it passes unrecorded: %s); nothing "
                              "was recorded",
                              items[k], b.len ? b.p : "none");
  }
  for (uint32_t i = 0; confirm && i < n_pass && !rc; i++) {
    int named = 0;
    for (size_t k = 0; k < n && !named; k++)
      named = !strcmp(pass[i]->qid, items[k]);
    if (named) continue;
    char title[1024];
    rc = vigil__engine_fail(e, VIGIL_EINVAL, "items",
                            "the override does not confirm %s (%s), %s: an override names each required item it "
                            "passes, each reviewed for itself (items: [\"%s\", ...]); nothing was recorded",
                            vigil__visit_text(v, pass[i]->title, title, sizeof title), pass[i]->qid,
                            need[i] == GATE_ITEM_VOID ? "its signature void" : "not recorded", pass[i]->qid);
  }
  vigil__buf_free(&b);
  if (!rc && n_pass) {
    *passed = vigil__val_list(n_pass);
    if (!vigil__val_ok(*passed)) rc = VIGIL_ENOMEM;
    for (uint32_t i = 0; !rc && i < n_pass; i++)
      val_items(*passed)[i] = val_atom(pass[i]->qid);
  }
  free(pass);
  free(need);
  return rc;
}
