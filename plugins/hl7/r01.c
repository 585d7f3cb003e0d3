/* r01.c: ORU^R01 (r01.h), HL7 v2.5.1 as EHRs take unsolicited results:
 * one OBR per reading (the checkpoint's item, OBR-7 when it was observed,
 * OBR-25 the result status), one OBX per value: OBX-3 the LOINC code (`LN`)
 * or the protocol's field as a local code (`L`), OBX-6 the unit as UCUM,
 * OBX-11 F (final) or C (a correction of a value sent before), OBX-14 the
 * time of the observation, which for a late entry is not when it was
 * entered. */
#include "r01.h"

#include <stdio.h>
#include <string.h>

#include "hl7.h"
#include "msh.h"

#define RAW(o, lit) vigil__hl7_out_raw(o, lit, sizeof lit - 1)

static int given(const char *s) { return s && *s; }

/* "1980-02-14" as 19800214; anything else as nothing. */
static void hl7_date(const char *iso, char out[9]) {
  out[0] = '\0';
  if (!iso || strlen(iso) != 10 || iso[4] != '-' || iso[7] != '-') return;
  snprintf(out, 9, "%.4s%.2s%.2s", iso, iso + 5, iso + 8);
}

static void coded(hl7_out *o, const char *code, const char *text, const char *system) {
  vigil__hl7_out_text(o, code);
  RAW(o, "^");
  vigil__hl7_out_text(o, text ? text : "");
  RAW(o, "^");
  vigil__hl7_out_raw(o, system, strlen(system));
}

/* OBR and its OBXs: the reading r, the set's idx-th (1 on). */
static void order(hl7_out *o, const r01_reading *r, size_t idx, const char *now);

char *vigil__hl7_r01(const r01_reading *r, const char *app, const char *facility, const char *to_app,
                     const char *to_facility, const char *control_id, const char *now, size_t *len) {
  return vigil__hl7_r01_many(r, 1, app, facility, to_app, to_facility, control_id, now, len);
}

char *vigil__hl7_r01_many(const r01_reading *r, size_t count, const char *app, const char *facility, const char *to_app,
                          const char *to_facility, const char *control_id, const char *now, size_t *len) {
  hl7_out o;
  char n[32], dob[9];
  vigil__hl7_out_init(&o, NULL);
  vigil__hl7_msh(&o, app, facility, to_app, to_facility, now, "ORU^R01^ORU_R01", control_id, "2.5.1", "");
  RAW(&o, "PID|1||");
  vigil__hl7_out_text(&o, r->patient ? r->patient : "");
  if (given(r->patient)) {
    RAW(&o, "^^^");
    vigil__hl7_out_text(&o, r->authority ? r->authority : "");
    RAW(&o, "^MR");
  }
  RAW(&o, "||");
  if (given(r->family) || given(r->given)) {
    vigil__hl7_out_text(&o, r->family ? r->family : "");
    RAW(&o, "^");
    vigil__hl7_out_text(&o, r->given ? r->given : "");
  }
  hl7_date(r->birth_date, dob);
  RAW(&o, "||");
  vigil__hl7_out_raw(&o, dob, strlen(dob));
  vigil__hl7_out_field(&o, r->sex ? r->sex : "");
  vigil__hl7_out_end(&o);
  RAW(&o, "PV1|1|O|");
  vigil__hl7_out_text(&o, r->location ? r->location : "");
  snprintf(n, sizeof n, "%llu", r->visit);
  RAW(&o, "||||||||||||||||");
  vigil__hl7_out_text(&o, n);
  RAW(&o, "^^^VIGIL");
  vigil__hl7_out_end(&o);
  for (size_t k = 0; k < count; k++)
    order(&o, &r[k], k + 1, now);
  if (o.failed) {
    vigil__hl7_out_free(&o);
    return NULL;
  }
  *len = o.n;
  return o.p;
}

static void order(hl7_out *o, const r01_reading *r, size_t idx, const char *now) {
  char n[48];
  const char *status = r->corrected ? "C" : "F";
  snprintf(n, sizeof n, "OBR|%zu||", idx);
  vigil__hl7_out_raw(o, n, strlen(n));
  if (r->part)
    snprintf(n, sizeof n, "%llu-%u", r->seq, r->part);
  else
    snprintf(n, sizeof n, "%llu", r->seq);
  vigil__hl7_out_text(o, n);
  RAW(o, "^VIGIL|");
  coded(o, r->item ? r->item : "", r->item_title, "L");
  RAW(o, "|||");
  vigil__hl7_out_text(o, r->observed ? r->observed : now);
  RAW(o, "||||||||||||||||||");
  vigil__hl7_out_raw(o, status, 1);
  vigil__hl7_out_end(o);
  for (size_t i = 0; i < r->n_values; i++) {
    const r01_value *v = &r->values[i];
    snprintf(n, sizeof n, "OBX|%zu|%s|", i + 1, v->numeric ? "NM" : "ST");
    vigil__hl7_out_raw(o, n, strlen(n));
    if (given(v->loinc))
      coded(o, v->loinc, v->title, "LN");
    else
      coded(o, v->name ? v->name : "", v->title, "L");
    RAW(o, "||");
    vigil__hl7_out_text(o, v->value ? v->value : "");
    RAW(o, "|");
    if (given(v->unit)) {
      vigil__hl7_out_text(o, v->unit);
      RAW(o, "^");
      vigil__hl7_out_text(o, v->unit);
      RAW(o, "^UCUM");
    }
    RAW(o, "|||||");
    vigil__hl7_out_raw(o, status, 1);
    RAW(o, "|||");
    vigil__hl7_out_text(o, r->observed ? r->observed : now);
    vigil__hl7_out_end(o);
  }
}
