/* r01.h: a vitals reading (or a score) of a visit as an HL7 v2.5.1
 * ORU^R01 for an EHR (docs/hl7.md, "Vitals and scores out"). Pure: the
 * plugin, its tests and the fuzz target share it. The codes come from the
 * protocol through the visit (plugin ABI 1.7 visit_json): each field's LOINC
 * code and UCUM unit, the mapping the FHIR export reads. */
#ifndef VIGIL_HL7_R01_H
#define VIGIL_HL7_R01_H

#include <stddef.h>

typedef struct r01_value {
  const char *name;  /* the protocol's field ("sbp"): the local code when there is no LOINC */
  const char *title; /* "Systolic BP" */
  const char *loinc; /* "8480-6", or NULL/"" */
  const char *unit;  /* UCUM ("mm[Hg]"), or NULL/"" */
  const char *value; /* as recorded: a number's text, or a finding's */
  int numeric;       /* 1: OBX-2 NM, else ST */
} r01_value;

typedef struct r01_reading {
  /* the patient: the visit's reference, and from the hospital's ADT record
   * when there is one (NULL/"": left empty) */
  const char *patient, *family, *given, *birth_date /* YYYY-MM-DD */, *sex;
  const char *authority;         /* PID-3.4: the ADT record's assigning authority (NULL/"": none) */
  const char *location;          /* PV1-3, the chair or bay */
  unsigned long long visit;      /* PV1-19 */
  const char *item, *item_title; /* OBR-4: the checkpoint's item */
  unsigned long long seq;        /* the event recorded: OBR-3, the filler's order number */
  unsigned part;                 /* of an event's several readings, the 1st, 2nd...: OBR-3 <seq>-<part>; 0: the one */
  const char *observed;          /* when measured (not when entered): YYYYMMDDHHMMSS+0000 */
  int corrected;                 /* 1: an amendment (OBX-11 C, OBR-25 C), else F */
  const r01_value *values;
  size_t n_values;
} r01_reading;

/* The message (unframed, malloc'd, *len bytes), or NULL when memory ran
 * out. app, facility: MSH-3, MSH-4; to_app, to_facility: MSH-5, MSH-6;
 * control_id: MSH-10; now: MSH-7. */
char *vigil__hl7_r01(const r01_reading *r, const char *app, const char *facility, const char *to_app,
                     const char *to_facility, const char *control_id, const char *now, size_t *len);

/* The same with n readings of one visit and patient (the items one entry
 * recorded): PID and PV1 from r[0], then an OBR and its OBXs for each. */
char *vigil__hl7_r01_many(const r01_reading *r, size_t n, const char *app, const char *facility, const char *to_app,
                          const char *to_facility, const char *control_id, const char *now, size_t *len);

#endif
