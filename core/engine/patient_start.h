/* patient_start.h: the patient checks every start applies, a visit's and a
 * course's alike (docs/safety.md K2, L5, L8, N3; docs/security.md AA1)
 * (patient_start.c). Private to core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_PATIENT_START_H
#define VIGIL_CORE_ENGINE_PATIENT_START_H

#include <jansson.h>

#include "model.h"

/* 0 when patient may be started on: not merged into another (L8), not
 * spelled like a known patient (K2, L5) nor like a hospital record's (N3)
 * unless new_patient says it is another person. Otherwise the engine's
 * error: VIGIL_EEXIST on field merged_into or new_patient. record, when not
 * NULL, gets the hospital's record of patient (or of a reference spelled
 * like it; the caller's to json_decref), or NULL. */
int vigil__patient_check_start(vigil_engine *e, const char *patient, int new_patient, json_t **record);

#endif
