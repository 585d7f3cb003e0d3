/* visit.c: a visit's state, and the fold that is its only way to change.
 *
 * vigil__visit_apply() takes one event and updates the state. It never calls Lua and
 * never decides anything: every decision was made when the event was emitted
 * and is in its data, so replaying the log rebuilds exactly the same state. */
#include <stdlib.h>
#include <string.h>

#include "visit.h"
#include "model.h"
#include "alerts.h"
#include "patient_index.h"
#include "tables.h"
#include "base/intern.h"

/* A visit holds one per protocol item (issue 16: a live visit's memory). */
_Static_assert(sizeof(item_state) <= 56 || sizeof(void *) < 8, "item_state fits 56 bytes");

visit *vigil__visit_new(vigil_engine *e, uint64_t id, protocol *p) {
  (void)e;
  /* One allocation for the visit, its items' state and its phases' start
   * times (issue 16: a live visit's memory; they live and die together). */
  size_t n_items = p->n_items ? p->n_items : 1, n_phases = p->n_phases ? p->n_phases : 1;
  visit *v = calloc(1, sizeof *v + n_items * sizeof *v->items + n_phases * sizeof *v->phase_start);
  if (!v) return NULL;
  v->items = (item_state *)(v + 1);
  v->phase_start = (int64_t *)(v->items + n_items);
  v->id = id;
  v->p = p;
  v->timer.index = HEAP_NONE;
  v->timer.tie = id;
  return v;
}

void vigil__visit_free(vigil_engine *e, visit *v) {
  if (!v) return;
  if (v->patient) vigil__patients_drop_visit(e, v->patient, v->id);
  for (uint32_t i = 0; i < v->p->n_items; i++) {
    item_state *s = &v->items[i];
    for (uint32_t j = 0; j < s->n; j++)
      vigil__val_release(s->r[j].v);
    free(s->r);
    free(s->skipped);
    free(s->missed);
  }
  for (uint32_t i = 0; i < v->n_alerts; i++) {
    free(v->alerts[i]->message);
    free(v->alerts[i]->latest);
    free(v->alerts[i]->last_failure);
    free(v->alerts[i]->items);
    free(v->alerts[i]);
  }
  free(v->alerts);
  for (uint32_t i = 0; i < v->n_blocks; i++)
    free(v->blocks[i].reason);
  free(v->blocks);
  free(v->passed);
  for (uint32_t i = 0; v->sigs && i < v->p->n_items; i++) {
    vigil__val_release(v->sigs[i].attests);
    free(v->sigs[i].void_reason);
  }
  free(v->sigs);
  free(v->hands);
  for (uint32_t i = 0; i < v->n_amends; i++)
    vigil__val_release(v->amends[i].previous);
  free(v->amends);
  vigil__val_release(v->params);
  vigil__val_release(v->blocked);
  free(v->location);
  free(v);
}

const reading *vigil__visit_latest(const visit *v, int item) {
  if (item < 0) return NULL;
  const item_state *s = &v->items[item];
  return s->n ? &s->r[s->n - 1] : NULL;
}

int64_t vigil__phase_clock(const visit *v) {
  int32_t from = v->p->phases[v->phase].timed_from;
  if (from < 0) return v->phase_at;
  const item_state *s = &v->items[from];
  for (uint32_t i = 0; i < s->n; i++)
    if (s->r[i].v.type == VAL_BOOL && s->r[i].v.u.b) return s->r[i].at > v->phase_at ? s->r[i].at : v->phase_at;
  return -1;
}

/* Shown to the nurse until closed: a condition alert closes when its cause
 * has cleared and it was acknowledged (or does not latch); a per-reading
 * alert (no key: a finding about one reading) closes when acknowledged. */
int vigil__alert_is_open(const alert *a) {
  if (!a->key) return !a->acked;
  return !(a->cleared && (a->acked || !a->latching));
}

int vigil__alert_is_active(const alert *a) { return vigil__alert_is_open(a) && !a->acked; }

/* AP3: a latched alert whose cause cleared is active until acknowledged (then closed). */
const char *vigil__alert_state_name(const alert *a) {
  return !vigil__alert_is_open(a)  ? "closed"
         : a->cleared && !a->latch ? "resolved"
         : a->acked                ? "acknowledged"
                                   : "active";
}

val vigil__visit_param(const visit *v, const char *name) {
  val *x = vigil__val_get(v->params, name);
  return x ? *x : VAL_NIL_;
}

static double num_of(val data, const char *key, double dflt) {
  val *x = vigil__val_get(data, key);
  return x && x->type == VAL_NUMBER ? x->u.num : dflt;
}

static int find_phase(const protocol *p, const char *id) {
  for (uint32_t i = 0; id && i < p->n_phases; i++)
    if (!strcmp(p->phases[i].id, id)) return (int)i;
  return -1;
}

/* An item of the current phase by its interned id: what every entry names. */
static int phase_item(const visit *v, const char *id) {
  const phase_spec *ph = &v->p->phases[v->phase];
  for (uint16_t j = 0; j < ph->n_items; j++)
    if (v->p->items[ph->first_item + j].id == id) return ph->first_item + j;
  return vigil__protocol_find_item(v->p, id, v->phase);
}

/* The item id of phase ph (the phase an entry names, G5: a void signature of
 * a past phase signed again from a later one), or -1. */
static int item_of_phase(const visit *v, int ph, const char *id) {
  const phase_spec *s = &v->p->phases[ph];
  for (uint16_t j = 0; j < s->n_items; j++)
    if (v->p->items[s->first_item + j].id == id) return s->first_item + j;
  return -1;
}

static int phase_index(const visit *v, const char *id) {
  for (uint32_t i = 0; id && i < v->p->n_phases; i++)
    if (!strcmp(v->p->phases[i].id, id)) return (int)i;
  return -1;
}

int vigil__val_says_given(val value) {
  return !(value.type == VAL_NIL || (value.type == VAL_BOOL && !value.u.b) ||
           (value.type == VAL_NUMBER && value.u.num == 0));
}

/* P1: an item's first reading that said something (vigil__val_says_given),
 * whatever it was amended to since: a dose recorded was given. */
static void said_something(item_state *s, int64_t at, val value) {
  if (!vigil__val_says_given(value)) return;
  if (!s->given_at || at < s->given_at) s->given_at = at > 0 ? at : 1;
}

/* Each of these returns 0, or -1 when memory ran out and the visit misses
 * part of the event (vigil__visit_apply then fails the command: e->oom). */
static int add_reading(visit *v, int item, int64_t at, int64_t recorded_at, uint64_t seq, val value, const char *actor,
                       int clinician) {
  item_state *s = &v->items[item];
  /* The array has room for n rounded up to a power of two (item_state,
   * model.h): it is full when n is one (or 0). */
  if ((s->n & (s->n - 1)) == 0) {
    reading *r = realloc(s->r, (s->n ? 2 * s->n : 1) * sizeof *r);
    if (!r) return -1;
    s->r = r;
  }
  /* In the order they were observed: a late entry goes before the readings
   * observed after it (the latest is the one observed last), and before one
   * observed at the same time but entered earlier: a tie is not newer (S3),
   * the earlier entered stands and the late one is a finding (G4). */
  uint32_t k = s->n;
  while (k > 0 && (s->r[k - 1].at > at || (s->r[k - 1].at == at && at < recorded_at)))
    k--;
  memmove(&s->r[k + 1], &s->r[k], (s->n - k) * sizeof *s->r);
  s->n++;
  s->r[k] = (reading){.at = at,
                      .v = vigil__val_retain(value),
                      .actor = actor,
                      .recorded_at = recorded_at,
                      .entered_seq = seq,
                      .changed_seq = seq,
                      .clinician = (uint8_t)(clinician != 0)};
  said_something(s, at, value);
  free(s->skipped);
  s->skipped = NULL;
  s->skipped_for_good = 0;
  /* A reading satisfies every occurrence already due, and the next one if it
   * falls due within the grace (a reading taken a little early). */
  const item_spec *it = &v->p->items[item];
  int64_t clock = vigil__phase_clock(v);
  if (it->scheduled && it->phase == v->phase && clock >= 0) {
    int64_t due;
    /* A reading observed within a missed checkpoint's grace (a late entry
     * with its observed time) makes it good (G8). */
    for (uint32_t j = 0; j < s->n_missed;) {
      due = vigil__schedule_due(&it->sched, s->missed[j]);
      if (due >= 0 && at > clock + due - it->sched.grace && at <= clock + due + it->sched.grace)
        s->missed[j] = s->missed[--s->n_missed];
      else
        j++;
    }
    while ((due = vigil__schedule_due(&it->sched, s->sat)) >= 0 &&
           (clock + due <= at || clock + due < at + it->sched.grace))
      s->sat++;
  }
  return 0;
}

/* A skip with an occurrence covers that one of a repeating item (and any
 * earlier one still open, as a late reading would); the next is due as usual.
 * Without one it covers the whole item. */
static int skip_item(visit *v, int item, val data) {
  item_state *s = &v->items[item];
  const char *reason = vigil__val_text_of(data, K(reason));
  char *r = strdup(reason ? reason : "");
  if (!r) return -1;
  free(s->skipped);
  s->skipped = r;
  val *occurrence = vigil__val_get(data, K(occurrence));
  s->skipped_for_good = !occurrence;
  double k = occurrence && occurrence->type == VAL_NUMBER ? occurrence->u.num : -1;
  if (k + 1 > s->sat && k < UINT32_MAX) s->sat = (uint32_t)k + 1;
  /* A skip with its reason deals with the checkpoint it names, missed or not. */
  for (uint32_t j = 0; j < s->n_missed;) {
    if (s->skipped_for_good || (k >= 0 && s->missed[j] == (uint32_t)k))
      s->missed[j] = s->missed[--s->n_missed];
    else
      j++;
  }
  return 0;
}

static int add_alert(vigil_engine *e, visit *v, const vigil_event *ev) {
  alert *a = calloc(1, sizeof *a);
  if (!a) return -1;
  val d = ev->data;
  a->id = (uint64_t)num_of(d, K(alert), 0);
  a->visit = v;
  a->rule = vigil__val_text_of(d, K(rule)) ? vigil__intern(vigil__val_text_of(d, K(rule))) : NULL;
  a->key = vigil__val_text_of(d, K(key)) ? vigil__intern(vigil__val_text_of(d, K(key))) : NULL;
  a->message = strdup(vigil__val_text_of(d, K(message)) ? vigil__val_text_of(d, K(message)) : "");
  const char *src = vigil__val_text_of(d, K(source));
  for (int i = SRC_RULE; src && i <= SRC_HOOK; i++)
    if (!strcmp(src, vigil__alert_source_name((alert_source)i))) a->source = (alert_source)i;
  if (vigil__priority_parse(vigil__val_text_of(d, K(priority)), &a->prio) < 0) a->prio = PRIORITY_MEDIUM;
  const char *item = vigil__val_text_of(d, K(item));
  a->item = item ? vigil__protocol_find_item(v->p, item, -1) : -1;
  val *l = vigil__val_get(d, K(latching));
  a->latching = (uint8_t)(l && l->type == VAL_BOOL ? l->u.b : 1);
  val *latch = vigil__val_get(d, K(latch)); /* AP3 */
  a->latch = (uint8_t)(latch && latch->type == VAL_BOOL && latch->u.b);
  a->escalate_ms = (int64_t)num_of(d, K(escalate_ms), 0);
  a->raised_at = ev->time;
  val *value = vigil__val_get(d, K(value));
  if (value && value->type == VAL_NUMBER) {
    a->has_value = 1;
    a->value = value->u.num;
  } else if (value && val_text(*value)) {
    a->has_value = 1;
    a->value_text = vigil__intern(val_text(*value));
    if (!a->value_text) goto fail;
  }
  a->follows = (uint64_t)num_of(d, K(follows), 0);
  a->realert = (uint32_t)num_of(d, K(realert), 0);
  val *clinician = vigil__val_get(d, K(clinician));
  a->clinician = clinician && clinician->type == VAL_BOOL && clinician->u.b;
  val *items = vigil__val_get(d, K(items));
  if (items && items->type == VAL_LIST && items->u.o->n > 0) {
    if (!(a->items = calloc(items->u.o->n, sizeof *a->items))) goto fail;
    for (uint32_t i = 0; i < items->u.o->n; i++) {
      const char *qid = val_text(val_items(*items)[i]);
      int it = qid ? vigil__protocol_find_item(v->p, qid, -1) : -1;
      if (it >= 0) a->items[a->n_items++] = (uint16_t)it;
    }
  }
  /* A carried rule's alert (the protocol's `carry`): rules run in the phase
   * the visit is in when it is raised, or in the one the event names (an
   * amendment ran the rules of a phase the visit has left: such an alert is
   * carried, as nothing of that phase runs again by itself; F4). */
  int from = find_phase(v->p, vigil__val_text_of(d, K(phase)));
  a->phase = from >= 0 ? (uint16_t)from : v->phase;
  const phase_spec *ph = &v->p->phases[a->phase];
  const rule_spec *rs = NULL;
  for (uint32_t r = 0; a->source == SRC_RULE && r < ph->n_rules; r++)
    if (ph->rules[r].id == a->rule) a->carry = (rs = &ph->rules[r])->carry;
  if (a->phase != v->phase) a->carry = 1;
  val *carry = vigil__val_get(d, K(carry)); /* an amendment would have resolved it (G6) */
  int said_carried = carry && carry->type == VAL_BOOL && carry->u.b;
  if (said_carried) a->carry = 1;
  /* S2, T1 (docs/safety.md): a left phase's rule that does not carry (not one
   * that carries its alerts for an assessment, H4, nor G6's "amended since"):
   * its condition is the reading's, whatever the item (vitals, a MOAA/S 0),
   * and holds while that reading stands, as it would in its own phase. */
  if (rs && !rs->carry && !said_carried && a->phase != v->phase) a->left_reading = 1;
  if (!a->message || (vigil__val_text_of(d, K(rule)) && !a->rule) || (vigil__val_text_of(d, K(key)) && !a->key))
    goto fail;
  if (v->n_alerts == v->cap_alerts) {
    uint32_t cap = v->cap_alerts ? v->cap_alerts * 2 : 2;
    alert **x = realloc(v->alerts, cap * sizeof *x);
    if (!x) goto fail;
    v->alerts = x;
    v->cap_alerts = cap;
  }
  if (vigil__engine_grow_alerts(e, a->id) < 0) goto fail;
  v->alerts[v->n_alerts++] = a;
  e->alerts[a->id - 1] = a;
  if (a->id > e->n_alerts) e->n_alerts = a->id;
  if (a->source == SRC_PHASE) v->max_alerted = 1;
  return 0;
fail:
  free(a->items);
  free(a->message);
  free(a);
  return -1;
}

static alert *alert_of(vigil_engine *e, val data) {
  uint64_t id = (uint64_t)num_of(data, K(alert), 0);
  return id >= 1 && id <= e->n_alerts ? e->alerts[id - 1] : NULL;
}

static int set_block(visit *v, const char *key, const char *reason, int32_t signature) {
  if (!key) return -1; /* the rule's name could not be interned */
  for (uint32_t i = 0; i < v->n_blocks; i++) {
    if (v->blocks[i].key != key) continue;
    char *r = strdup(reason);
    if (!r) return -1;
    free(v->blocks[i].reason);
    v->blocks[i].reason = r;
    if (signature >= 0) v->blocks[i].signature = signature;
    return 0;
  }
  block *b = realloc(v->blocks, (v->n_blocks + 1) * sizeof *b);
  if (!b) return -1;
  v->blocks = b;
  if (!(b[v->n_blocks].reason = strdup(reason))) return -1;
  b[v->n_blocks].signature = signature;
  b[v->n_blocks++].key = key;
  return 0;
}

static void clear_block(visit *v, const char *key) {
  for (uint32_t i = 0; i < v->n_blocks; i++) {
    if (v->blocks[i].key != key) continue;
    free(v->blocks[i].reason);
    v->blocks[i] = v->blocks[--v->n_blocks];
    return;
  }
}

/* Someone recorded or amended an item (signature.c: they may not sign for
 * it). Kept only for an item a signature confirms, the only ones asked
 * about (issue 16: a live visit's memory). */
static int add_hand(visit *v, int item, const char *actor) {
  int confirmed = 0;
  for (uint32_t i = 0; i < v->p->n_items && !confirmed; i++)
    confirmed = v->p->items[i].kind == KIND_SIGNATURE && v->p->items[i].of_item == item;
  if (!confirmed) return 0;
  for (uint32_t i = 0; i < v->n_hands; i++)
    if (v->hands[i].item == item && v->hands[i].actor == actor) return 0;
  hand *h = realloc(v->hands, (v->n_hands + 1) * sizeof *h);
  if (!h) return -1;
  v->hands = h;
  h[v->n_hands++] = (hand){.item = item, .actor = actor};
  return 0;
}

/* An amendment of reading r of item (U6, AQ2 in docs/safety.md): who made
 * it, whether the server said a clinician, and the value it replaced, for
 * visit.amended (view.c). */
static int add_amendment(visit *v, int item, const reading *r, const vigil_event *ev, val d) {
  amendment *a = realloc(v->amends, (v->n_amends + 1) * sizeof *a);
  if (!a) return -1;
  v->amends = a;
  val *clinician = vigil__val_get(d, K(clinician));
  val *previous = vigil__val_get(d, K(previous));
  a[v->n_amends++] = (amendment){.seq = ev->seq,
                                 .at = ev->time,
                                 .entered_seq = r->entered_seq,
                                 .item = (uint32_t)item,
                                 .clinician = clinician && clinician->type == VAL_BOOL && clinician->u.b,
                                 .actor = ev->actor,
                                 .previous = previous ? vigil__val_retain(*previous) : VAL_NIL_};
  return 0;
}

/* A signature recorded: what it attests (the event's `attests`), standing. */
static int sign_item(visit *v, int item, val attests) {
  if (!v->sigs && !(v->sigs = calloc(v->p->n_items, sizeof *v->sigs))) return -1;
  signature_state *s = &v->sigs[item];
  vigil__val_release(s->attests);
  s->attests = vigil__val_retain(attests);
  free(s->void_reason);
  s->void_reason = NULL;
  return 0;
}

static void enter_phase(visit *v, int phase, int64_t at) {
  v->phase = (uint16_t)phase;
  v->phase_at = at;
  v->phase_start[phase] = at;
  v->min_reached = v->max_alerted = 0;
  v->missed_run = 0;
  v->missed_run_due = -1;
  v->documented_at = at;
  v->resumed_at = 0;
  /* Blocks belong to the rules of the phase that set them. */
  for (uint32_t i = 0; i < v->n_blocks; i++)
    free(v->blocks[i].reason);
  v->n_blocks = 0;
}

/* K8: an entry documents the phase; one after a stopped schedule resumes it. */
static void documented(visit *v, int64_t at) {
  if (vigil__unmonitored(v)) v->resumed_at = at;
  v->missed_run = 0;
  v->missed_run_due = -1;
  v->documented_at = at;
}

void vigil__visit_apply(vigil_engine *e, visit *v, const vigil_event *ev) {
  val d = ev->data;
  v->last_seq = ev->seq;
  switch ((event_type)ev->type) {
  case EV_VISIT_STARTED: {
    v->started_at = ev->time;
    v->status = VISIT_ACTIVE;
    const char *patient = vigil__val_text_of(d, K(patient));
    v->patient = vigil__intern(patient ? patient : "");
    const char *location = vigil__val_text_of(d, K(location));
    v->location = location ? strdup(location) : NULL;
    if (!v->patient || (location && !v->location) || vigil__patients_hold_visit(e, v->patient, v->id) < 0) e->oom = 1;
    val *params = vigil__val_get(d, K(params));
    v->params = params ? vigil__val_retain(*params) : VAL_NIL_;
    enter_phase(v, 0, ev->time);
    break;
  }
  case EV_PHASE_ENTERED: {
    int ph = find_phase(v->p, vigil__val_text_of(d, K(phase)));
    if (ph >= 0) enter_phase(v, ph, ev->time);
    break;
  }
  case EV_PHASE_MINIMUM_REACHED:
    v->min_reached = 1;
    break;
  case EV_ITEM_RECORDED: {
    val *values = vigil__val_get(d, K(values));
    if (!values || values->type != VAL_RECORD) break;
    /* A late entry says when it was observed (commands.c checked it). */
    int64_t at = (int64_t)num_of(d, K(observed_at), (double)ev->time);
    /* An entry of a phase the visit has left (a void signature signed again). */
    int ph = phase_index(v, vigil__val_text_of(d, K(phase)));
    ph = ph >= 0 && ph != v->phase ? ph : -1;
    val *clinician = vigil__val_get(d, K(clinician)); /* AW1: the server said a clinician made it */
    int by_clinician = clinician && clinician->type == VAL_BOOL && clinician->u.b;
    for (uint32_t i = 0; i < values->u.o->n; i++) {
      field *f = &val_fields(*values)[i];
      int item = ph >= 0 ? item_of_phase(v, ph, f->key) : phase_item(v, f->key);
      if (item < 0) continue;
      if (add_reading(v, item, at, ev->time, ev->seq, f->v, ev->actor, by_clinician) < 0) e->oom = 1;
      if (add_hand(v, item, ev->actor) < 0) e->oom = 1;
    }
    val *attests = vigil__val_get(d, K(attests));
    for (uint32_t i = 0; attests && attests->type == VAL_RECORD && i < attests->u.o->n; i++) {
      const char *key = val_fields(*attests)[i].key;
      int item = ph >= 0 ? item_of_phase(v, ph, key) : phase_item(v, key);
      if (item >= 0 && v->p->items[item].kind == KIND_SIGNATURE && sign_item(v, item, val_fields(*attests)[i].v) < 0)
        e->oom = 1;
    }
    documented(v, ev->time);
    break;
  }
  case EV_ITEM_AMENDED: {
    v->n_amendments++;
    int item = vigil__protocol_find_item(v->p, vigil__val_text_of(d, K(item)), -1);
    val *value = vigil__val_get(d, K(value));
    if (item < 0 || !value || !v->items[item].n) break;
    reading *r = &v->items[item].r[v->items[item].n - 1];
    vigil__val_release(r->v);
    r->v = vigil__val_retain(*value);
    r->changed_seq = ev->seq; /* recorded again: after whatever came between (AS3) */
    said_something(&v->items[item], r->at, *value);
    if (add_hand(v, item, ev->actor) < 0 || add_amendment(v, item, r, ev, d) < 0) e->oom = 1;
    break;
  }
  case EV_SIGNATURE_VOIDED: {
    int item = vigil__protocol_find_item(v->p, vigil__val_text_of(d, K(item)), -1);
    const char *reason = vigil__val_text_of(d, K(reason));
    if (item < 0 || !v->sigs || v->sigs[item].attests.type == VAL_NIL) break;
    free(v->sigs[item].void_reason);
    v->sigs[item].void_reason = strdup(reason ? reason : "a value it attests changed");
    if (!v->sigs[item].void_reason) e->oom = 1; /* the signature would stand: the command fails instead */
    break;
  }
  case EV_ITEM_SKIPPED: {
    int item = vigil__protocol_find_item(v->p, vigil__val_text_of(d, K(item)), -1);
    if (item >= 0 && skip_item(v, item, d) < 0) e->oom = 1;
    documented(v, ev->time);
    break;
  }
  case EV_ITEM_OVERDUE: {
    int item = vigil__protocol_find_item(v->p, vigil__val_text_of(d, K(item)), -1);
    if (item < 0) break;
    item_state *s = &v->items[item];
    uint32_t k = (uint32_t)num_of(d, K(occurrence), 0);
    s->overdue = k + 1;
    /* One more checkpoint missed in a row (K8): the items due at one time
     * count once. */
    int64_t due = (int64_t)num_of(d, K(due), 0);
    if (due != v->missed_run_due) {
      v->missed_run++;
      v->missed_run_due = due;
    }
    /* Missed until it is recorded late or skipped (G8). */
    uint32_t *m = realloc(s->missed, (s->n_missed + 1) * sizeof *m);
    if (!m) {
      e->oom = 1;
      break;
    }
    s->missed = m;
    s->missed[s->n_missed++] = k;
    break;
  }
  case EV_ITEM_NOT_APPLICABLE: {
    int item = vigil__protocol_find_item(v->p, vigil__val_text_of(d, K(item)), -1);
    uint32_t next = (uint32_t)num_of(d, K(occurrence), 0) + 1;
    if (item >= 0 && next > v->items[item].passed) v->items[item].passed = next;
    break;
  }
  case EV_ALERT_RAISED:
    if (add_alert(e, v, ev) < 0) e->oom = 1;
    break;
  case EV_ALERT_ACKNOWLEDGED: {
    alert *a = alert_of(e, d);
    if (!a) break;
    a->acked = 1;
    a->acked_at = ev->time;
    a->acked_by = ev->actor;
    break;
  }
  case EV_ALERT_ESCALATED: {
    alert *a = alert_of(e, d);
    if (!a) break;
    a->level = (uint8_t)num_of(d, K(level), a->level + 1);
    vigil__priority_parse(vigil__val_text_of(d, K(priority)), &a->prio);
    a->escalated_at = ev->time;
    break;
  }
  case EV_ALERT_RESOLVED: {
    alert *a = alert_of(e, d);
    if (!a) break;
    a->cleared = 1;
    a->cleared_at = ev->time;
    /* G6: resolved by an amendment: shown so, until acknowledged. */
    const char *amended = vigil__val_text_of(d, K(amended));
    if (amended && !strstr(a->message, "[resolved by ")) {
      size_t n = strlen(a->message) + strlen(amended) + 4;
      char *m = malloc(n);
      if (!m) {
        e->oom = 1;
        break;
      }
      snprintf(m, n, "%s [%s]", a->message, amended);
      free(a->message);
      a->message = m;
      a->latching = 1;
      /* AP3: it does not latch on: the amendment says why it cleared, and a high one is
       * announced again, carried, by the alert that follows it (commands.c). */
      a->latch = 0;
      free(a->latest); /* what its rule said before the amendment (AP4) */
      a->latest = NULL;
    }
    break;
  }
  case EV_BLOCK_SET: {
    const char *rule = vigil__val_text_of(d, K(rule)), *reason = vigil__val_text_of(d, K(reason)),
               *sig = vigil__val_text_of(d, K(signature));
    int32_t signature = sig ? vigil__protocol_find_item(v->p, sig, -1) : -1; /* K1: set by a signature */
    if (rule && reason && set_block(v, vigil__intern(rule), reason, signature) < 0) e->oom = 1;
    break;
  }
  case EV_BLOCK_CLEARED: {
    const char *rule = vigil__val_text_of(d, K(rule));
    if (rule) clear_block(v, vigil__intern_find(rule, strlen(rule))); /* never allocates */
    break;
  }
  case EV_VISIT_DISCHARGED:
    v->status = VISIT_DISCHARGED;
    v->ended_at = ev->time;
    break;
  case EV_VISIT_ABORTED:
    v->status = VISIT_ABORTED;
    v->ended_at = ev->time;
    break;
  case EV_GATE_OVERRIDDEN: {
    /* V1: what it passed unrecorded stays flagged for the rest of the visit. */
    val *items = vigil__val_get(d, K(items));
    for (uint32_t i = 0; items && i < val_len(*items); i++) {
      val q = val_items(*items)[i];
      int item = val_text(q) ? vigil__protocol_find_item(v->p, val_text(q), -1) : -1;
      if (item < 0) continue;
      passed_item *grown = realloc(v->passed, (v->n_passed + 1u) * sizeof *grown);
      if (!grown) {
        e->oom = 1;
        break;
      }
      v->passed = grown;
      v->passed[v->n_passed++] =
          (passed_item){.at = ev->time, .actor = ev->actor, .item = (uint32_t)item, .n_then = v->items[item].n};
    }
    break;
  }
  case EV_NOTE_WRITTEN: /* a person's note: its event is the record (note.c); counted (AQ7) */
    v->n_notes++;
    break;
  case EV_GATE_BLOCKED: /* what a refusal is compared with (AT5, commands.c repeated_refusal) */
    vigil__val_release(v->blocked);
    v->blocked = vigil__val_retain(ev->data);
    v->blocked_at = ev->time;
    v->blocked_repeats = 0;
    break;
  case EV_NOTE_ADDED:
  case EV_ENGINE_STARTED: /* site events: never a visit's */
  case EV_SESSION_STARTED:
  case EV_SESSION_ENDED:
  case EV_AUTH_FAILED:
  case EV_USER_CREATED:
  case EV_USER_CHANGED:
  case EV_PROTOCOL_UPLOADED:
  case EV_PROTOCOL_APPROVED:
  case EV_COURSE_STARTED: /* a patient's course: course.c folds them */
  case EV_COURSE_SESSION_ADDED:
  case EV_COURSE_MEASURED:
  case EV_COURSE_SESSION_ENDED:
  case EV_COURSE_REMS_SUBMITTED:
  case EV_COURSE_INTEGRATION:
  case EV_COURSE_CLOSED:
  case EV_PATIENT_RECORDED: /* a hospital's patient record: kept as a row (docs/hl7.md) */
  case EV_PATIENT_MERGED:
  case EV_CLOCK_ADVANCED: /* the simulated clock moved (L6): the time it says is all */
  case EV_ALERT_REPORTED: /* an alarm manager's word: the alert's history, not its state (alert_report.c) */
  case EV_COUNT:
    break;
  }
}
