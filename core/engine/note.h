/* note.h: a nursing note on a visit (note.c). Private to core/engine/
 * (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_NOTE_H
#define VIGIL_CORE_ENGINE_NOTE_H

#include "model.h"

/* The body of vigil_visit_note (vigil.h): a visit.note event. */
int vigil__cmd_visit_note(vigil_engine *e, uint64_t id, const char *actor, const char *note);

#endif
