/* patient_record.h (docs/safety.md L7, L8): the patient's
 * record (the store's "patients" row, decoded; NULL: none); an allergy on it
 * that names the visit's drug raised as a high carried alert, at the start and
 * when a record (patient.recorded or patient.merged's fields) arrives
 * (patient_record.c). Private to core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_PATIENT_RECORD_H
#define VIGIL_CORE_ENGINE_PATIENT_RECORD_H

#include <jansson.h>

#include "model.h"

json_t *vigil__patient_record(vigil_engine *e, const char *patient);
/* N3: the reference of a record other than patient's own spelled like
 * patient (its fold or its skeleton, as K2 and L5 compare): malloc'd, or
 * NULL. It reads every record: a start reads it once (issue 16).
 * vigil__patient_record_found: patient's record, else that one's; with alike,
 * that reference is given too, whether patient has a record or not. */
char *vigil__patient_record_alike(vigil_engine *e, const char *patient);
json_t *vigil__patient_record_found(vigil_engine *e, const char *patient, char **alike);
/* record: the start's vigil__patient_record_found, or NULL. */
int vigil__allergy_visit_start(vigil_engine *e, visit *v, const json_t *record);
int vigil__allergy_recorded(vigil_engine *e, const char *fields_json);
/* L8: VIGIL_EEXIST (field merged_into) when the record says patient was
 * merged into another; the one-open-visit check (G9) for each reference
 * merged into patient; 1 with the reason in text when a session of a
 * merged reference's course holds v's first gate (the minimum interval). */
int vigil__patient_merged_into(vigil_engine *e, const char *patient, const json_t *record);
int vigil__patient_merged_check_start(vigil_engine *e, const protocol *p, const char *patient, const json_t *record,
                                      const char *override_reason, uint64_t *concurrent);
int vigil__patient_merged_gate(vigil_engine *e, visit *v, char *text, size_t len);

#endif
