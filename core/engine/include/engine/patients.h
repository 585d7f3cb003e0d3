/* patients.h: what the server asks of the patients the engine knows, beside
 * vigil.h (core/engine/course.c). */
#ifndef VIGIL_ENGINE_PATIENTS_H
#define VIGIL_ENGINE_PATIENTS_H

#include "vigil/vigil.h"

/* A known patient spelled like `patient` (letter case, look-alike letters:
 * the fold and the skeleton a start's similar_patient check reads), or NULL:
 * none, or `patient` itself known. Interned: kept while e lives. A read
 * names it as a hint (docs/safety.md AR4); it merges nothing. */
const char *vigil__patient_similar(vigil_engine *e, const char *patient);

#endif
