/* alerts.c: raising, de-duplicating, resolving and escalating alerts, and
 * turning what a rule returned into events.
 *
 * Alarm semantics follow IEC 60601-1-8 as docs/clinical/alarms.md summarises it: an alert
 * is raised once per cause (de-duplicated by key while its cause holds),
 * acknowledging silences only that alert, latching alerts stay until
 * acknowledged even after their cause clears, and unacknowledged alerts
 * escalate rather than repeat. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts.h"
#include "model.h"
#include "clock.h"
#include "emit.h"
#include "outcome.h"
#include "signature.h"
#include "visit.h"
#include "base/intern.h"

const char *vigil__priority_atom(priority p) {
  return p == PRIORITY_HIGH ? K(high) : p == PRIORITY_MEDIUM ? K(medium) : K(low);
}

const char *vigil__alert_source_name(alert_source s) {
  const char *atoms[] = {K(rule), K(overdue), K(phase), K(technical), K(hook), K(course)};
  return atoms[s];
}

/* J4 of docs/hl7.md: alert.raised's `observed`, {field, reading, units,
 * limit: {low, high}} (the sides the rule gave), or nil when the alert says
 * no vital sign, or when memory ran out (the caller tells them apart). */
static val observed_record(const observed *ob) {
  if (!ob || !ob->field) return VAL_NIL_;
  val limit = ob->has_low && ob->has_high ? vigil__val_recordv(2, K(low), val_num(ob->low), K(high), val_num(ob->high))
              : ob->has_low               ? vigil__val_recordv(1, K(low), val_num(ob->low))
                                          : vigil__val_recordv(1, K(high), val_num(ob->high));
  if (!vigil__val_ok(limit)) return VAL_NIL_;
  /* recordv owns what it is given: on failure it has released limit */
  val r = vigil__val_recordv(4, K(field), val_atom(ob->field), K(reading), val_num(ob->reading), K(units),
                             val_atom(ob->units), K(limit), limit);
  return vigil__val_ok(r) ? r : VAL_NIL_;
}

alert *vigil__raise_alert(vigil_engine *e, visit *v, alert_source src, const char *rule, const char *key, priority prio,
                          const char *message, int latching, int64_t escalate, int32_t item, const alert_more *more) {
  uint64_t id = e->n_alerts + 1;
  /* The site's escalation is the longest an alert may wait: a protocol may
   * escalate sooner, never later nor not at all. Recorded in the event, so
   * that a replay escalates the same way whatever the site says later. */
  /* escalate_by_priority_ms is in the order of priority (low, medium, high). */
  int64_t site =
      e->opts.escalate_by_priority_ms[prio] > 0 ? e->opts.escalate_by_priority_ms[prio] : e->opts.escalate_ms;
  if (site > 0 && (escalate <= 0 || escalate > site)) escalate = site;
  /* Whatever cannot be made fails the command (e->oom, command.c): an
   * alert is raised in full or the command that should raise it is undone,
   * never dropped while the command succeeds. */
  if (!rule) {
    e->oom = 1; /* a rule or key interned by the caller that could not be */
    return NULL;
  }
  val items = VAL_NIL_;
  if (more && more->n_items > 1) {
    items = vigil__val_list((uint32_t)more->n_items);
    if (!vigil__val_ok(items)) {
      e->oom = 1;
      return NULL;
    }
    for (int i = 0; i < more->n_items; i++)
      val_items(items)[i] = val_atom(v->p->items[more->items[i]].qid);
  }
  val value = !more              ? VAL_NIL_
              : more->value_text ? val_atom(more->value_text)
              : more->has_value  ? val_num(more->value)
                                 : VAL_NIL_;
  /* AP3 (docs/safety.md): a latching alert of the protocol's defaults.latch priority or
   * above (or one whose rule says latch = true) stays active and escalates after its cause
   * clears, until someone acknowledges it (IEC 60601-1-8's latching alarm). */
  int latch =
      latching && (more && more->latch ? more->latch > 0 : v->p->latch_from >= 0 && (int)prio >= v->p->latch_from);
  val obs = observed_record(more ? more->obs : NULL);
  if (obs.type == VAL_NIL && more && more->obs && more->obs->field) {
    vigil__val_release(items);
    e->oom = 1;
    return NULL;
  }
  field f[18] = {
      {K(alert), val_num((double)id)},
      {K(rule), val_atom(rule)},
      {K(key), val_atom(key)},
      {K(priority), val_atom(vigil__priority_atom(prio))},
      {K(message), vigil__val_cstring(message)},
      {K(source), val_atom(vigil__alert_source_name(src))},
      {K(latching), val_bool(latching)},
      {K(escalate_ms), val_num((double)escalate)},
      {K(item), item >= 0 ? val_atom(v->p->items[item].qid) : VAL_NIL_},
      {K(items), items},
      {K(value), value},
      {K(follows), more && more->follows ? val_num((double)more->follows) : VAL_NIL_},
      {K(phase), more && more->phase ? val_atom(more->phase) : VAL_NIL_},
      {K(carry), more && more->carry ? val_bool(1) : VAL_NIL_},
      {K(realert), more && more->realert ? val_num((double)more->realert) : VAL_NIL_},
      {K(clinician), more && more->clinician ? val_bool(1) : VAL_NIL_},
      {K(observed), obs},
      {K(latch), latch ? val_bool(1) : VAL_NIL_},
  };
  /* Absent fields (no key for a per-reading alert, no item) are left out. */
  uint32_t n = 0;
  for (int i = 0; i < 18; i++)
    n += f[i].v.type != VAL_NIL;
  val data = vigil__val_record(n);
  if (!vigil__val_ok(data) || !vigil__val_ok(f[4].v)) {
    vigil__val_release(data);
    vigil__val_release(f[4].v);
    vigil__val_release(items);
    vigil__val_release(obs);
    e->oom = 1;
    return NULL;
  }
  for (int i = 0, k = 0; i < 18; i++)
    if (f[i].v.type != VAL_NIL) val_fields(data)[k++] = f[i];
  if (!vigil__emit(e, v, EV_ALERT_RAISED, K(vigil), data)) return NULL; /* e->oom set (emit.c) */
  if (id <= e->n_alerts && e->alerts[id - 1]) return e->alerts[id - 1];
  e->oom = 1; /* emitted, but the visit could not take it */
  return NULL;
}

alert *vigil__overdue_alert(const visit *v, int item) {
  for (uint32_t i = v->n_alerts; i-- > 0;) {
    alert *a = v->alerts[i];
    if (a->source != SRC_OVERDUE || a->cleared) continue;
    if (a->item == item) return a;
    for (uint32_t j = 0; j < a->n_items; j++)
      if (a->items[j] == item) return a;
  }
  return NULL;
}

void vigil__resolve_alert(vigil_engine *e, alert *a) {
  if (a->cleared) return;
  /* G6: an alert an amendment resolves says so, and stays until acknowledged
   * (visit.c), whatever its priority. */
  if (e->resolved_by && a->source == SRC_RULE)
    vigil__emit(
        e, a->visit, EV_ALERT_RESOLVED, K(vigil),
        vigil__val_recordv(2, K(alert), val_num((double)a->id), K(amended), vigil__val_cstring(e->resolved_by)));
  else
    vigil__emit(e, a->visit, EV_ALERT_RESOLVED, K(vigil), vigil__val_recordv(1, K(alert), val_num((double)a->id)));
}

/* G4: x's message says when its reading was observed and entered. */
static void late_message(vigil_engine *e, outcome *x) {
  char out[1200];
  char seen[32], typed[32];
  time_t t1 = (time_t)(e->late_at / 1000), t2 = (time_t)(vigil__engine_now(e) / 1000);
  struct tm a, b;
  gmtime_r(&t1, &a);
  gmtime_r(&t2, &b);
  strftime(seen, sizeof seen, "%H:%M:%S", &a);
  strftime(typed, sizeof typed, "%H:%M:%S", &b);
  snprintf(out, sizeof out, "%s [observed at %s UTC, entered late at %s]", x->message, seen, typed);
  char *copy = strdup(out);
  if (!copy) {
    e->oom = 1; /* said without when it was observed: not at all (the command fails) */
    return;
  }
  free(x->message);
  x->message = copy;
}

static const char *outcome_key(const char *rule, const outcome *o) {
  if (!o->id) return rule;
  char key[600];
  snprintf(key, sizeof key, "%s/%s", rule, o->id);
  return vigil__intern(key);
}

static const rule_spec *rule_of(const visit *v, int phase, const char *rule) {
  const phase_spec *ph = &v->p->phases[phase];
  for (uint32_t i = 0; i < ph->n_rules; i++)
    if (ph->rules[i].id == rule) return &ph->rules[i];
  return NULL;
}

/* H1 (docs/safety.md): whether what a rule says now is worse than what was
 * last announced for the same cause, whose alert `was` is acknowledged. Worse
 * is a higher priority; a value further past the last announced one, in the
 * direction the rule declares (`worse`), by at least its margin; or a finding
 * (a text value) not announced before while the condition held. */
static int worse_than_announced(const visit *v, int phase, const char *rule, const char *key, const alert *was,
                                const outcome *x) {
  if (x->prio > was->prio) return 1;
  if (x->value_text) {
    for (uint32_t i = 0; i < v->n_alerts; i++) {
      const alert *a = v->alerts[i];
      if (a->key == key && a->phase == phase && !a->cleared && a->value_text == x->value_text) return 0;
    }
    return 1;
  }
  const rule_spec *r = rule_of(v, phase, rule);
  if (!x->has_value || !was->has_value || was->value_text || !r || !r->worse) return 0;
  double past = r->worse > 0 ? x->value - was->value : was->value - x->value;
  return past > 0 && past >= r->margin;
}

/* The open alert of this cause raised by a rule of phase (the same rule id
 * may be in two phases: infusion's and observation's bp_high). */
static alert *find_alert(const visit *v, int phase, const char *key) {
  for (uint32_t i = v->n_alerts; i-- > 0;) {
    alert *a = v->alerts[i];
    if (a->key == key && !a->cleared && a->phase == phase) return a;
  }
  return NULL;
}

/* K9c (docs/safety.md): the open alert (active, or acknowledged while its
 * cause holds) of lower priority than prio on an item the rule runs on, any
 * rule's, that a new alert of the rule follows, so an item's trail is one
 * story (MOAA/S 2's medium acknowledged, then MOAA/S 0's high): the same
 * rule's first, else the newest; 0: none. */
static uint64_t lower_on_same_item(const visit *v, int phase, const char *rule, priority prio) {
  const rule_spec *r = rule_of(v, phase, rule);
  if (!r) return 0;
  uint64_t newest = 0;
  for (uint32_t i = v->n_alerts; i-- > 0;) {
    const alert *a = v->alerts[i];
    if (a->cleared || a->source != SRC_RULE || a->prio >= prio) continue;
    const rule_spec *ra = rule_of(v, a->phase, a->rule);
    int shared = 0;
    for (uint32_t j = 0; ra && j < r->n_on && !shared; j++)
      for (uint32_t k = 0; k < ra->n_on && !shared; k++)
        shared = r->on[j] == ra->on[k];
    if (!shared) continue;
    if (a->rule == rule && a->phase == phase) return a->id;
    if (!newest) newest = a->id;
  }
  return newest;
}

/* K1: b, set by signature sig, stays after a change that made its rule quiet;
 * its reason says what set it, what changed and how it is lifted. */
static void keep_signed_block(vigil_engine *e, visit *v, const block *b, int32_t sig) {
  const item_spec *it = &v->p->items[sig];
  const char *why = vigil__signature_void(v, sig);
  char text[2600];
  snprintf(text, sizeof text,
           "%s [kept: set by the signed %s%s%s; a change since does not lift it: a clinician signs it again "
           "(entry %s) or overrides the gate with a reason]",
           b->reason, it->title, why ? ", now void: " : "", why ? why : "", it->qid);
  const char *key = b->key; /* b moves when the event is applied */
  vigil__emit(e, v, EV_BLOCK_SET, K(vigil),
              vigil__val_recordv(3, K(rule), val_atom(key), K(reason), vigil__val_cstring(text), K(signature),
                                 val_atom(it->qid)));
}

void vigil__apply_outcomes(vigil_engine *e, visit *v, int phase, const char *rule, outcomes *o, alert_source src,
                           int resolve_missing, int assessed) {
  const char *said[16];
  int n_said = 0;
  const char *actor = K(vigil);
  /* A rule of a phase the visit has left (an amendment, F4): its alerts say
   * so, and its blocks are its own beside those of the current phase's rule
   * of the same id ("screening:dose_calc"). */
  const char *past = phase != v->phase ? v->p->phases[phase].id : NULL;
  const char *brule = rule;
  if (past) {
    char b[600];
    snprintf(b, sizeof b, "%s:%s", past, rule);
    if (!(brule = vigil__intern(b))) {
      e->oom = 1;
      return;
    }
  }
  for (int i = 0; i < o->n; i++) {
    outcome *x = &o->v[i];
    const char *key = outcome_key(x->kind == OUT_BLOCK ? brule : rule, x);
    if (!key) {
      e->oom = 1; /* its key could not be made: the command fails, nothing dropped */
      return;
    }
    /* A late entry (G4): its alerts say when the reading was observed. */
    if (e->late_at && x->kind == OUT_ALERT) late_message(e, x);
    switch (x->kind) {
    case OUT_ALERT: {
      int latching = x->latching >= 0 ? x->latching : v->p->latching;
      int64_t escalate = x->escalate >= 0 ? x->escalate : v->p->escalate;
      int latch = x->latch < 0 ? 0 : x->latch ? 1 : -1; /* AP3: alert_more's */
      if (e->late == LATE_FINDING && src == SRC_RULE && !x->per_reading) {
        /* A reading older than the newest: a finding about it, unless the
         * same cause is on screen, not acknowledged, already. A left phase's
         * newest reading entered late (LATE_FINDING_HOLDS) raises what its
         * amendment would: a carried alert of that phase (F4, S1: a late
         * item 9 answer waits for the suicide-risk assessment). */
        alert *was = find_alert(v, phase, key);
        alert_more late = {.obs = &x->obs, .latch = latch};
        if (!was || was->acked)
          vigil__raise_alert(e, v, src, rule, NULL, x->prio, x->message, latching, escalate, -1, &late);
        break;
      }
      /* A hook never runs again to say its cause cleared: its alerts are
       * findings, each its own, ended by acknowledgement. */
      if (x->per_reading || src == SRC_HOOK) {
        /* Its own finding: never de-duplicated, never resolved by later readings. */
        alert_more own = {.obs = &x->obs, .latch = latch};
        vigil__raise_alert(e, v, src, rule, NULL, x->prio, x->message, latching, escalate, -1, &own);
        break;
      }
      said[n_said++] = key;
      alert_more more = {.has_value = x->has_value,
                         .value = x->value,
                         .value_text = x->value_text,
                         .phase = past,
                         .obs = &x->obs,
                         .latch = latch};
      alert *was = find_alert(v, phase, key);
      if (!was) {
        if (src == SRC_RULE) more.follows = lower_on_same_item(v, phase, rule, x->prio);
        vigil__raise_alert(e, v, src, rule, key, x->prio, x->message, latching, escalate, -1, &more);
      } else if (was->acked && worse_than_announced(v, phase, rule, key, was, x)) {
        /* Acknowledging covered the condition as it was, not a worse one
         * (IEC 60601-1-8): announced again, active, with what is seen now. */
        more.follows = was->id;
        vigil__raise_alert(e, v, src, rule, key, x->prio, x->message, latching, escalate, -1, &more);
      } else {
        /* Not worse, or not acknowledged, still so: the alert says what is seen now, the
         * gate quotes it (G7), and an active alert's words follow the newest reading
         * (AP4: "BP 186/100 is +54/+16" stayed after 188/114); one raised again keeps
         * saying so (AN11). */
        const char *again = strstr(was->message, " [acknowledged at ");
        size_t n = strlen(x->message) + (again ? strlen(again) : 0) + 1;
        char *now = malloc(n);
        if (!now) {
          e->oom = 1;
          break;
        }
        snprintf(now, n, "%s%s", x->message, again ? again : "");
        if (!strcmp(was->latest ? was->latest : was->message, now)) {
          free(now);
          break;
        }
        free(was->latest);
        was->latest = now;
      }
      break;
    }
    case OUT_BLOCK: {
      /* The current state is the newest reading's (G4); a left phase's newest
       * reading entered late sets its blocks, as its amendment would (R1). */
      if (e->late == LATE_FINDING) break;
      said[n_said++] = key;
      int same = 0;
      for (uint32_t b = 0; b < v->n_blocks; b++)
        if (v->blocks[b].key == key && !strcmp(v->blocks[b].reason, x->message) &&
            (!assessed || v->blocks[b].signature == assessed - 1))
          same = 1;
      /* K1: a block a signature set (a clinician's "high: do not dose
       * today") says so, and only a signature lifts it. */
      if (!same)
        vigil__emit(e, v, EV_BLOCK_SET, actor,
                    assessed
                        ? vigil__val_recordv(3, K(rule), val_atom(key), K(reason), vigil__val_cstring(x->message),
                                             K(signature), val_atom(v->p->items[assessed - 1].qid))
                        : vigil__val_recordv(2, K(rule), val_atom(key), K(reason), vigil__val_cstring(x->message)));
      break;
    }
    case OUT_NOTE:
      vigil__emit(e, v, EV_NOTE_ADDED, actor,
                  vigil__val_recordv(2, K(rule), val_atom(rule), K(message), vigil__val_cstring(x->message)));
      break;
    }
  }
  if (!resolve_missing || e->late == LATE_FINDING) return;
  /* A left phase's newest reading entered late (R1) resolves only what a
   * reading of that phase raised (S2), and lifts no block. */
  int late_newest = e->late == LATE_FINDING_HOLDS;
  /* What the rule no longer says has cleared: its condition alerts resolve
   * (a technical alert too, now that the rule runs again) and its blocks lift.
   * A carried alert closes so only when the rule ran on a signature (the
   * assessment it asked for), never because an amendment of what raised it
   * made the rule quiet (F5: a nurse amending item 9 back to 0); otherwise a
   * clinician's acknowledgement with a reason closes it. One a left phase's
   * reading raised (S2, T1) is the reading's: a newer reading the rule is quiet on
   * resolves it, in its phase, or in the current phase by the rule of the
   * same name on the vitals taken since (infusion's spo2_low by
   * observation's; an amendment there does not, G6). */
  for (uint32_t i = 0; i < v->n_alerts; i++) {
    alert *a = v->alerts[i];
    int since = a->left_reading && phase == v->phase && a->phase < phase && !e->resolved_by;
    if (a->rule != rule || (a->phase != phase && !since) || !a->key || a->cleared ||
        (a->source != src && a->source != SRC_TECHNICAL))
      continue;
    if (late_newest && !a->left_reading) continue;
    if (vigil__alert_awaits_assessment(a) && a->source == SRC_RULE && !assessed) continue;
    int still = 0;
    for (int j = 0; j < n_said; j++)
      still |= said[j] == a->key;
    if (!still) vigil__resolve_alert(e, a);
  }
  if (late_newest) return;
  const char *lift[16];
  int n_lift = 0;
  size_t n = strlen(brule);
  for (uint32_t b = 0; b < v->n_blocks && n_lift < 16; b++) {
    const char *key = v->blocks[b].key;
    if (strncmp(key, brule, n) != 0 || (key[n] != '\0' && key[n] != '/')) continue;
    int still = 0;
    for (int j = 0; j < n_said; j++)
      still |= said[j] == key;
    if (still) continue;
    int32_t sig = v->blocks[b].signature;
    if (sig >= 0 && !assessed) {
      /* K1 (docs/safety.md): a hold that a signature set (a clinician's
       * assessment) is the clinician's: an amendment or entry of another
       * item (PHQ-9 item 9 amended to 0) that makes the rule quiet does not
       * lift it. It stays, saying why, until a signature makes the rule
       * quiet (signed again) or a clinician overrides the gate. */
      if (!strstr(v->blocks[b].reason, "[kept:")) keep_signed_block(e, v, &v->blocks[b], sig);
      continue;
    }
    lift[n_lift++] = key;
  }
  for (int i = 0; i < n_lift; i++)
    vigil__emit(e, v, EV_BLOCK_CLEARED, actor, vigil__val_recordv(1, K(rule), val_atom(lift[i])));
}
