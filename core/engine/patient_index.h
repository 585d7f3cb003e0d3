/* patient_index.h: the patients known (of a course, or of a visit held in
 * e->visits), by reference and by spelling (docs/safety.md K2, L5)
 * (patient_index.c). Private to core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_PATIENT_INDEX_H
#define VIGIL_CORE_ENGINE_PATIENT_INDEX_H

#include "model.h"

void vigil__patients_free(vigil_engine *e);
/* A visit of patient is held (its start applied) / leaves memory; 0 or VIGIL_ENOMEM. */
int vigil__patients_hold_visit(vigil_engine *e, const char *patient, uint64_t visit);
void vigil__patients_drop_visit(vigil_engine *e, const char *patient, uint64_t visit);
/* The ids of patient's held visits, ascending (*n of them). */
const uint64_t *vigil__patients_visits(const vigil_engine *e, const char *patient, uint32_t *n);
/* A course of patient (interned) is made / freed; 0 or VIGIL_ENOMEM. */
int vigil__patients_add_course(vigil_engine *e, const char *patient, uint64_t course);
void vigil__patients_drop_course(vigil_engine *e, const char *patient, uint64_t course);
/* The ids of patient's (interned) courses, ascending (*n of them). */
const uint64_t *vigil__patients_courses(const vigil_engine *e, const char *patient, uint32_t *n);
/* A known patient other than patient whose fold or confusable skeleton is
 * patient's (the one with the first course, else the first held visit), or
 * NULL: none when patient itself is known. */
const char *vigil__patients_similar(vigil_engine *e, const char *patient);

#endif
