/* prescription.c: a visit's params as a prescription (hazard H5 in
 * docs/safety.md).
 *
 * A protocol marks the params that are part of the prescription (`prescribed`:
 * a dose, an alarm limit) and the relations between params (`less_than`).
 * Only a clinician sets a prescribed param to anything but its default (the
 * server asks vigil_protocol_prescribed() before it starts a visit); a start
 * whose values break a relation is refused naming both; every param that
 * differs from its default is shown with the visit; and a title that quotes a
 * param as {name} shows the visit's value. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prescription.h"
#include "model.h"
#include "entry.h"
#include "fail.h"
#include "visit.h"
#include "engine/json_input.h"

/* A param's value as the number it is, or NaN-free failure. */
static int number_of(val x, double *out) {
  if (x.type != VAL_NUMBER) return 0;
  *out = x.u.num;
  return 1;
}

int vigil__params_check_relations(vigil_engine *e, const protocol *p, val params) {
  for (uint32_t i = 0; i < p->n_params; i++) {
    const param_spec *pa = &p->params[i];
    val *mine = vigil__val_get(params, pa->name);
    double a, b;
    if (!mine || !number_of(*mine, &a)) continue;
    for (uint32_t k = 0; k < pa->n_less_than; k++) {
      val *other = vigil__val_get(params, pa->less_than[k]);
      if (!other || !number_of(*other, &b) || a < b) continue;
      int o = vigil__protocol_find_param(p, pa->less_than[k]);
      return vigil__engine_fail(e, VIGIL_EVALUE, pa->name, "%s (%s, %g) must be less than %s (%s, %g)", pa->name,
                                pa->title ? pa->title : pa->name, a, pa->less_than[k],
                                o >= 0 && p->params[o].title ? p->params[o].title : pa->less_than[k], b);
    }
  }
  return 0;
}

int vigil_protocol_prescribed(vigil_engine *e, const char *ref, const char *params_json, char *name, size_t len) {
  if (name && len) *name = '\0';
  const protocol *p = ref ? vigil__engine_find_protocol(e, ref) : NULL;
  if (!p || !params_json) return 0;
  /* Read as the start reads them (entry.c): a key given twice is refused
   * (the eighth review's item 8: the last one was read, the first may have
   * been meant), and params that cannot be read are an error, never "not
   * prescribed". */
  int rc = 0;
  json_t *j = vigil__entry_parse_json(e, params_json, "params", &rc);
  if (!j) return rc;
  if (!json_is_object(j)) {
    json_decref(j);
    return vigil__engine_fail(e, VIGIL_EINVAL, "params", "params must be a JSON object");
  }
  int found = vigil__protocol_prescribed_value(e, ref, j, name, len);
  json_decref(j);
  return found;
}

int vigil__protocol_prescribed_value(vigil_engine *e, const char *ref, const json_t *params, char *name, size_t len) {
  if (name && len) *name = '\0';
  const protocol *p = ref ? vigil__engine_find_protocol(e, ref) : NULL;
  if (!p || !params) return 0;
  const char *k;
  json_t *x;
  int found = 0;
  json_object_foreach((json_t *)params, k, x) {
    int i = vigil__protocol_find_param(p, k);
    if (i < 0 || !p->params[i].prescribed || json_is_null(x)) continue;
    const param_spec *pa = &p->params[i];
    /* The default given again changes nothing. */
    int same = (pa->def.type == VAL_NUMBER && json_is_number(x) && json_number_value(x) == pa->def.u.num) ||
               (pa->def.type == VAL_BOOL && json_is_boolean(x) && json_is_true(x) == pa->def.u.b) ||
               (val_text(pa->def) && json_is_string(x) && !strcmp(val_text(pa->def), json_string_value(x)));
    if (same) continue;
    if (name && len) snprintf(name, len, "%s", pa->name);
    found = 1;
    break;
  }
  return found;
}

void vigil__changed_params_field(buf *b, const visit *v) {
  const protocol *p = v->p;
  vigil__buf_puts(b, ",\"changed_params\":[");
  int n = 0;
  for (uint32_t i = 0; i < p->n_params; i++) {
    const param_spec *pa = &p->params[i];
    val x = vigil__visit_param(v, pa->name);
    if (x.type == VAL_NIL || pa->def.type == VAL_NIL || vigil__val_same(x, pa->def)) continue;
    vigil__buf_puts(b, n++ ? ",{\"name\":" : "{\"name\":");
    vigil__buf_json_string(b, pa->name);
    vigil__buf_puts(b, ",\"title\":");
    vigil__buf_json_string(b, pa->title ? pa->title : pa->name);
    if (pa->unit) vigil__buf_puts(b, ",\"unit\":"), vigil__buf_json_string(b, pa->unit);
    vigil__buf_puts(b, ",\"value\":");
    vigil__val_to_json(b, x);
    vigil__buf_puts(b, ",\"default\":");
    vigil__val_to_json(b, pa->def);
    vigil__buf_printf(b, ",\"prescribed\":%s}", pa->prescribed ? "true" : "false");
  }
  vigil__buf_putc(b, ']');
}

const char *vigil__visit_text(const visit *v, const char *text, char *out, size_t len) {
  if (!text || !strchr(text, '{') || !len) return text;
  size_t o = 0;
  for (const char *c = text; *c && o + 1 < len;) {
    const char *end = *c == '{' ? strchr(c, '}') : NULL;
    if (end && end - c - 1 > 0 && end - c - 1 < 64) {
      char name[64];
      snprintf(name, sizeof name, "%.*s", (int)(end - c - 1), c + 1);
      int pa = vigil__protocol_find_param(v->p, name);
      val x = pa >= 0 ? vigil__visit_param(v, v->p->params[pa].name) : VAL_NIL_; /* by the interned name */
      if (x.type != VAL_NIL) {
        int w = x.type == VAL_NUMBER ? snprintf(out + o, len - o, "%g", x.u.num)
                : val_text(x)        ? snprintf(out + o, len - o, "%s", val_text(x))
                : x.type == VAL_BOOL ? snprintf(out + o, len - o, "%s", x.u.b ? "yes" : "no")
                                     : 0;
        o = w < 0 ? o : o + (size_t)w >= len ? len - 1 : o + (size_t)w;
        c = end + 1;
        continue;
      }
    }
    out[o++] = *c++;
  }
  out[o] = '\0';
  return out;
}
