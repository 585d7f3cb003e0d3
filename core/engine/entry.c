/* entry.c: what a nurse enters, checked against the protocol before anything
 * is recorded: the kind of each value, its plausible range, its options, the
 * fields a vitals or score item needs, and the second person a signature
 * needs. Every refusal names the field and says why in a sentence. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "model.h"
#include "evaluate.h"
#include "fail.h"
#include "signature.h"
#include "visit.h"
#include "base/intern.h"
#include "lang/text_format.h"

static int is_point(const field_spec *f, double x) {
  for (uint32_t i = 0; i < f->n_points; i++)
    if (f->points[i].value == x) return 1;
  return 0;
}

/* x as entered: the shortest text that reads back as x (3.000001, not the
 * 3 of %g, which said "3 is outside the plausible range 0-3": M10). */
static const char *as_entered(double x, char *out, size_t len) {
  for (int digits = 6; digits <= 17; digits++) {
    snprintf(out, len, "%.*g", digits, x);
    if (strtod(out, NULL) == x) break;
  }
  return out;
}

/* Checks one value against its field; what names it in messages. */
int vigil__entry_check_scalar(vigil_engine *e, const char *what, const field_spec *f, const vigil_input *in, val *out) {
  switch (f->kind) {
  case FIELD_NUMBER:
    if (in->type != VIGIL_INPUT_NUMBER || !isfinite(in->number))
      return vigil__engine_fail(e, VIGIL_EVALUE, what, "%s must be a number", what);
    char entered[40];
    if (f->has_range && (in->number < f->lo || in->number > f->hi))
      return vigil__engine_fail(e, VIGIL_EVALUE, what, "%s: %s is outside the plausible range %g-%g%s%s", what,
                                as_entered(in->number, entered, sizeof entered), f->lo, f->hi, f->unit ? " " : "",
                                f->unit ? f->unit : "");
    if (f->n_points && !is_point(f, in->number)) {
      buf b;
      vigil__buf_init(&b);
      for (uint32_t i = 0; i < f->n_points; i++)
        vigil__buf_printf(&b, "%s%g", i ? ", " : "", f->points[i].value);
      int rc = vigil__engine_fail(e, VIGIL_EVALUE, what, "%s: %s is not one of its points (%s)", what,
                                  as_entered(in->number, entered, sizeof entered), b.p ? b.p : "");
      vigil__buf_free(&b);
      return rc;
    }
    *out = val_num(in->number);
    return 0;
  case FIELD_CHECK:
    if (in->type != VIGIL_INPUT_BOOL)
      return vigil__engine_fail(e, VIGIL_EVALUE, what, "%s must be true or false", what);
    *out = val_bool(in->boolean);
    return 0;
  case FIELD_CHOICE:
    if (in->type == VIGIL_INPUT_STRING)
      for (uint32_t i = 0; i < f->n_options; i++)
        if (!strcmp(f->options[i], in->string)) {
          *out = val_atom(f->options[i]);
          return 0;
        }
    {
      buf b;
      vigil__buf_init(&b);
      for (uint32_t i = 0; i < f->n_options; i++)
        vigil__buf_printf(&b, "%s%s", i ? ", " : "", f->options[i]);
      int rc = vigil__engine_fail(e, VIGIL_EVALUE, what, "%s must be one of: %s", what, b.p ? b.p : "");
      vigil__buf_free(&b);
      return rc;
    }
  case FIELD_TEXT:
    if (in->type != VIGIL_INPUT_STRING) return vigil__engine_fail(e, VIGIL_EVALUE, what, "%s must be text", what);
    /* The protocol's format for it (a lot number "A": docs/safety.md P9). */
    if (f->pattern) {
      int m = vigil__text_format_match(f->pattern, in->string);
      if (m < 0) return VIGIL_ENOMEM; /* the load compiled it: only memory fails */
      if (!m)
        return vigil__engine_fail(e, VIGIL_EVALUE, what, "%s: \"%.60s%s\" is refused: %s (nothing was recorded)", what,
                                  in->string, strlen(in->string) > 60 ? "..." : "",
                                  f->pattern_says ? f->pattern_says : f->pattern);
    }
    *out = vigil__val_cstring(in->string);
    return vigil__val_ok(*out) ? 0 : VIGIL_ENOMEM;
  }
  return VIGIL_EINVAL;
}

/* A systolic pressure below the diastolic one is no reading: the two were
 * most likely typed into each other's field. Refused at entry, before any
 * rule or score reads it (docs/safety.md, H9). Equal values pass: a narrow
 * pulse pressure is rare but real. */
static int swapped_bp(vigil_engine *e, const item_spec *it, const field *f, uint32_t n) {
  const field *sbp = NULL, *dbp = NULL;
  for (uint32_t i = 0; i < n; i++) {
    if (!strcmp(f[i].key, "sbp")) sbp = &f[i];
    if (!strcmp(f[i].key, "dbp")) dbp = &f[i];
  }
  if (!sbp || !dbp || sbp->v.type != VAL_NUMBER || dbp->v.type != VAL_NUMBER || sbp->v.u.num >= dbp->v.u.num) return 0;
  const field_spec *fs = vigil__item_find_field(it, "sbp");
  const char *what = fs ? fs->qname : "sbp";
  return vigil__engine_fail(e, VIGIL_EVALUE, what,
                            "%s: systolic %g is below diastolic %g: swapped? (nothing was recorded)", what,
                            sbp->v.u.num, dbp->v.u.num);
}

/* Builds one item's value from the inputs that name it, validated. */
int vigil__entry_build_value(vigil_engine *e, visit *v, const item_spec *it, const vigil_input *in, size_t n,
                             const char *actor, val *out) {
  *out = VAL_NIL_;
  if (it->n_from)
    return vigil__engine_fail(e, VIGIL_EVALUE, it->id, "%s is computed from %s; it is not entered", it->title,
                              v->p->items[it->from[0]].title);
  if (it->scalar) {
    if (n != 1 || in[0].field)
      return vigil__engine_fail(e, VIGIL_EVALUE, it->id, "%s takes one value, not fields", it->id);
    int rc = vigil__entry_check_scalar(e, it->fields[0].qname, &it->fields[0], &in[0], out);
    if (rc < 0) return rc;
    if (it->kind == KIND_SIGNATURE) {
      const reading *of = vigil__visit_latest(v, it->of_item);
      if (!of)
        return vigil__engine_fail(e, VIGIL_ESTATE, it->id, "%s: there is nothing to confirm yet (%s is not recorded)",
                                  it->title, v->p->items[it->of_item].title);
      if ((rc = vigil__signature_check_signer(e, v, it, actor)) < 0) return rc;
    }
    return 0;
  }
  val rec = vigil__val_record(it->n_fields);
  if (!vigil__val_ok(rec)) return VIGIL_ENOMEM;
  uint32_t used = 0;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    const field_spec *f = in[i].field ? vigil__item_find_field(it, in[i].field) : NULL;
    if (!f || f->computed) {
      rc = vigil__engine_fail(e, VIGIL_EVALUE, it->id, "%s has no field '%s'", it->id, in[i].field ? in[i].field : "");
      break;
    }
    for (uint32_t j = 0; j < used; j++)
      if (val_fields(rec)[j].key == f->name)
        rc = vigil__engine_fail(e, VIGIL_EVALUE, f->qname, "%s is given twice", f->qname);
    if (rc == 0 && (rc = vigil__entry_check_scalar(e, f->qname, f, &in[i], &val_fields(rec)[used].v)) == 0)
      val_fields(rec)[used++].key = f->name;
  }
  for (uint32_t j = 0; j < it->n_fields && rc == 0; j++) {
    const field_spec *f = &it->fields[j];
    if (!f->required || f->computed || vigil__val_get(rec, f->name)) continue;
    rc = vigil__engine_fail(e, VIGIL_EVALUE, f->qname, "%s: %s is missing", it->title, f->title ? f->title : f->name);
  }
  if (rc == 0 && it->kind == KIND_VITALS) rc = swapped_bp(e, it, val_fields(rec), used);
  if (rc == 0 && it->kind == KIND_SCORE) {
    double total;
    char err[1024];
    rec.u.o->n = used;
    if (vigil__eval_compute(e, v, it, rec, &total, err, sizeof err) < 0) {
      /* The protocol's fault, not the nurse's: said as the author reads any
       * protocol error, at its file:line. */
      char where[1100];
      const char *why = vigil__eval_error_where(v->p, err, it->where, where, sizeof where);
      rc = vigil__engine_fail(e, VIGIL_EPROTOCOL, it->id,
                              "%s: score '%s' could not be computed: %s (nothing was recorded)", where, it->id, why);
    } else {
      val_fields(rec)[used].key = K(total);
      val_fields(rec)[used++].v = val_num(total);
    }
  }
  rec.u.o->n = used;
  if (rc < 0) {
    vigil__val_release(rec);
    return rc;
  }
  /* Fields in the order the protocol declares them, whatever the input's. */
  field *f = val_fields(rec);
  for (uint32_t j = 0, k = 0; j < it->n_fields; j++)
    for (uint32_t i = k; i < used; i++)
      if (f[i].key == it->fields[j].name) {
        field t = f[k];
        f[k++] = f[i];
        f[i] = t;
        break;
      }
  *out = rec;
  return 0;
}

/* JSON {"item": value, "vitals": {"sbp": 120}} -> inputs pointing into j. */
int vigil__entry_inputs_from_json(vigil_engine *e, const char *item, const json_t *x, vigil_input *in, size_t cap,
                                  size_t *n) {
  if (json_is_object(x)) {
    const char *k;
    json_t *f;
    json_object_foreach((json_t *)x, k, f) {
      if (*n == cap) return vigil__engine_fail(e, VIGIL_EINVAL, item, "too many values in one entry");
      if (json_is_object(f) || json_is_array(f))
        return vigil__engine_fail(e, VIGIL_EVALUE, item, "%s.%s must be a single value", item, k);
      vigil_input *i = &in[(*n)++];
      if (vigil__entry_inputs_from_json(e, item, f, i, 1, &(size_t){0}) < 0) return VIGIL_EVALUE;
      i->item = item;
      i->field = k;
    }
    return 0;
  }
  if (*n == cap) return vigil__engine_fail(e, VIGIL_EINVAL, item, "too many values in one entry");
  vigil_input *i = &in[(*n)++];
  memset(i, 0, sizeof *i);
  i->item = item;
  if (json_is_number(x)) {
    i->type = VIGIL_INPUT_NUMBER;
    i->number = json_number_value(x);
  } else if (json_is_boolean(x)) {
    i->type = VIGIL_INPUT_BOOL;
    i->boolean = json_is_true(x);
  } else if (json_is_string(x)) {
    i->type = VIGIL_INPUT_STRING;
    i->string = json_string_value(x);
  } else {
    return vigil__engine_fail(e, VIGIL_EVALUE, item,
                              "%s: a value must be a number, true/false, text or an object of fields", item);
  }
  return 0;
}

json_t *vigil__entry_parse_json(vigil_engine *e, const char *text, const char *about, int *rc) {
  json_error_t jerr;
  json_t *j = text ? json_loads(text, JSON_DECODE_ANY | JSON_PRESERVE_ORDER | JSON_REJECT_DUPLICATES, &jerr) : NULL;
  if (!j) *rc = vigil__engine_fail(e, VIGIL_EINVAL, about, "invalid JSON: %s", text ? jerr.text : "none given");
  return j;
}
