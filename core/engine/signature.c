/* signature.c: what a signature attests, and what becomes of it when that
 * changes (hazard H3 in docs/safety.md).
 *
 * A signature records the values it attests: the item it confirms (`of`), the
 * visit params it names (`params`) and its calculation, as the signer saw
 * them. Whenever a value changes afterwards (an amendment, a new reading) the
 * engine compares the visit with what was signed and voids every signature
 * whose values are no longer the visit's: a `signature.voided` event, after
 * which the gate holds until someone signs again. Nobody who recorded or
 * amended the item it confirms may sign for it, unless the signature is the
 * signer's own judgement of it (`second_person = false`). */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signature.h"
#include "model.h"
#include "emit.h"
#include "evaluate.h"
#include "fail.h"
#include "prescription.h"
#include "visit.h"
#include "base/intern.h"

/* The JSON of a value, as a reason says it. */
static char *json_of(val x) {
  buf b;
  vigil__buf_init(&b);
  vigil__val_to_json(&b, x);
  return vigil__buf_take(&b);
}

int vigil__signature_attests(vigil_engine *e, visit *v, const item_spec *sig, val *out) {
  *out = VAL_NIL_;
  const reading *of = vigil__visit_latest(v, sig->of_item);
  val items = vigil__val_record(1 + sig->n_attest_items);
  val params = vigil__val_record(sig->n_attest_params);
  if (!vigil__val_ok(items) || !vigil__val_ok(params)) {
    vigil__val_release(items);
    vigil__val_release(params);
    return VIGIL_ENOMEM;
  }
  /* The entry it confirms, then the others it attests (`items`, AN2): the
   * values as the signer saw them, nil for one not recorded yet. */
  for (uint32_t i = 0; i <= sig->n_attest_items; i++) {
    int item = i ? sig->attest_items[i - 1] : sig->of_item;
    const reading *r = i ? vigil__visit_latest(v, item) : of;
    val_fields(items)[i].key = v->p->items[item].qid;
    val_fields(items)[i].v = r ? vigil__val_retain(r->v) : VAL_NIL_;
  }
  for (uint32_t i = 0; i < sig->n_attest_params; i++) {
    val_fields(params)[i].key = sig->attest_params[i];
    val_fields(params)[i].v = vigil__val_retain(vigil__visit_param(v, sig->attest_params[i]));
  }
  val calc = VAL_NIL_;
  if (sig->calc_ref != LUA_NOREF && of) {
    char text[1000], err[1024];
    /* A signature of a past phase (signed again, G5): its references are that phase's. */
    uint16_t ph1 = e->view_phase1;
    if (sig->phase != v->phase) e->view_phase1 = (uint16_t)(sig->phase + 1);
    int got = vigil__eval_text(e, v, sig->calc_ref, text, sizeof text, err, sizeof err);
    e->view_phase1 = ph1;
    if (got < 0) {
      vigil__val_release(items);
      vigil__val_release(params);
      char where[1100];
      const char *why = vigil__eval_error_where(v->p, err, sig->where, where, sizeof where);
      return vigil__engine_fail(e, VIGIL_EPROTOCOL, sig->id,
                                "%s: the calculation of '%s' failed: %s (nothing was signed)", where, sig->id, why);
    }
    calc = vigil__val_cstring(text);
  }
  *out = calc.type != VAL_NIL ? vigil__val_recordv(3, K(items), items, K(params), params, K(calculation), calc)
                              : vigil__val_recordv(2, K(items), items, K(params), params);
  return vigil__val_ok(*out) ? 0 : VIGIL_ENOMEM;
}

int vigil__signature_check_signer(vigil_engine *e, visit *v, const item_spec *sig, const char *actor) {
  /* A clinician's own judgement of the entry (`second_person = false`, AN3:
   * the prescriber who took the BP reviews it); signing stays a clinician's. */
  if (!sig->second_person) return 0;
  const char *who = vigil__intern(actor && *actor ? actor : "unknown");
  for (uint32_t i = 0; i < v->n_hands; i++) {
    const hand *h = &v->hands[i];
    if (h->item != sig->of_item || h->actor != who) continue;
    const reading *of = vigil__visit_latest(v, sig->of_item);
    return vigil__engine_fail(e, VIGIL_EVALUE, sig->id, "%s must be confirmed by a second person, not by %s who %s %s",
                              sig->title, who, of && of->actor == who ? "recorded" : "amended",
                              v->p->items[sig->of_item].title);
  }
  return 0;
}

const char *vigil__signature_void(const visit *v, int item) {
  if (!v->sigs || item < 0) return NULL;
  const signature_state *s = &v->sigs[item];
  return s->attests.type != VAL_NIL ? s->void_reason : NULL;
}

/* AI1 (docs/safety.md): PHQ-9 item 9 amended from 0 to 2 after screening
 * makes the suicide-risk assessment apply; its phase was left without it
 * (it did not apply then), so nothing asked for it and a clinician's
 * acknowledgement of the alert let the dose go. Such a signature is owed as
 * a voided one is (G5). One an override passed unrecorded (V1) was a
 * clinician's decision already. */
int vigil__signature_owed(vigil_engine *e, visit *v, int item) {
  const item_spec *it = item >= 0 ? &v->p->items[item] : NULL;
  if (!it || it->kind != KIND_SIGNATURE || it->phase >= v->phase || !it->required || it->scheduled) return 0;
  const item_state *s = &v->items[item];
  if (s->n || s->skipped_for_good) return 0;
  for (uint32_t i = 0; i < v->n_passed; i++)
    if (v->passed[i].item == (uint32_t)item) return 0;
  return vigil__eval_when(e, v, it);
}

/* The first attested value that is no longer the visit's: what, was, now. */
static int changed(const visit *v, const signature_state *s, const char **what, const char **unit, val *was, val *now) {
  *unit = NULL;
  val *items = vigil__val_get(s->attests, K(items));
  for (uint32_t i = 0; items && i < val_len(*items); i++) {
    const field *f = &val_fields(*items)[i];
    int item = vigil__protocol_find_item(v->p, f->key, -1);
    const reading *r = vigil__visit_latest(v, item);
    val cur = r ? r->v : VAL_NIL_;
    if (!vigil__val_same(cur, f->v)) {
      *what = item >= 0 && v->p->items[item].title ? v->p->items[item].title : f->key;
      /* A number's unit, so that the reason says "43 mg" (G5). */
      if (item >= 0 && v->p->items[item].scalar && v->p->items[item].n_fields == 1)
        *unit = v->p->items[item].fields[0].unit;
      *was = f->v;
      *now = cur;
      return 1;
    }
  }
  val *params = vigil__val_get(s->attests, K(params));
  for (uint32_t i = 0; params && i < val_len(*params); i++) {
    const field *f = &val_fields(*params)[i];
    val cur = vigil__visit_param(v, f->key);
    if (!vigil__val_same(cur, f->v)) {
      int pa = vigil__protocol_find_param(v->p, f->key);
      *what = pa >= 0 && v->p->params[pa].title ? v->p->params[pa].title : f->key;
      if (pa >= 0) *unit = v->p->params[pa].unit;
      *was = f->v;
      *now = cur;
      return 1;
    }
  }
  return 0;
}

/* The fields of the two records that differ, as "q9 from 1 to 0; total from
 * 12 to 11" (L6b: a questionnaire's change said by its items, not as the
 * whole record twice), into *out; *out NULL when a value is not a record or
 * none differs. -1 when memory ran out: no reason is said in another form. */
static int fields_changed(val was, val now, char **out) {
  *out = NULL;
  if (was.type != VAL_RECORD || now.type != VAL_RECORD) return 0;
  buf b;
  vigil__buf_init(&b);
  for (int side = 0; side < 2 && !b.oom; side++) {
    val from = side ? now : was, other = side ? was : now;
    for (uint32_t i = 0; i < val_len(from) && !b.oom; i++) {
      const field *f = &val_fields(from)[i];
      val *o = vigil__val_get(other, f->key);
      if (side && o) continue; /* said from the signed side */
      if (o && vigil__val_same(*o, f->v)) continue;
      val a = side ? VAL_NIL_ : f->v, c = side ? f->v : (o ? *o : VAL_NIL_);
      vigil__buf_printf(&b, "%s%s from ", b.len ? "; " : "", f->key);
      vigil__val_to_json(&b, a);
      vigil__buf_puts(&b, " to ");
      vigil__val_to_json(&b, c);
    }
  }
  if (b.oom) {
    vigil__buf_free(&b);
    return -1;
  }
  if (!b.len) {
    vigil__buf_free(&b);
    return 0;
  }
  *out = vigil__buf_take(&b);
  return *out ? 0 : -1;
}

void vigil__signatures_review(vigil_engine *e, visit *v, const char *who) {
  if (!v->sigs) return;
  for (uint32_t i = 0; i < v->p->n_items; i++) {
    const signature_state *s = &v->sigs[i];
    if (s->attests.type == VAL_NIL) continue;
    const char *what, *unit;
    val was, now;
    if (!changed(v, s, &what, &unit, &was, &now)) continue;
    const item_spec *sig = &v->p->items[i];
    char reason[1200];
    char *fields, *a = NULL, *b = NULL;
    /* A value that cannot be said fails the command (out of memory): never
     * "changed from ? mg", never the reason in another form. */
    if (fields_changed(was, now, &fields) < 0 || (!fields && (!(a = json_of(was)) || !(b = json_of(now))))) {
      free(a);
      e->oom = 1;
      return;
    }
    if (fields) {
      snprintf(reason, sizeof reason, "%s changed after it was signed: %s", what, fields);
    } else {
      int u = unit && *unit && was.type == VAL_NUMBER && now.type == VAL_NUMBER;
      snprintf(reason, sizeof reason, "%s changed from %s%s%s to %s%s%s after it was signed", what, a, u ? " " : "",
               u ? unit : "", b, u ? " " : "", u ? unit : "");
    }
    free(fields);
    free(a);
    free(b);
    /* K9a: a void signature's reason names the latest change (40 -> 80 -> 41:
     * from the signed value to the current one), voided again when it moves. */
    if (s->void_reason && !strcmp(s->void_reason, reason)) continue;
    vigil__emit(e, v, EV_SIGNATURE_VOIDED, who,
                vigil__val_recordv(4, K(item), val_atom(sig->qid), K(attested), vigil__val_retain(s->attests), K(value),
                                   vigil__val_retain(now), K(reason), vigil__val_cstring(reason)));
  }
}
