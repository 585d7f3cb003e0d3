/* emit.h: an event made, folded into its visit and queued for the commit
 * (emit.c). Private to core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_EMIT_H
#define VIGIL_CORE_ENGINE_EMIT_H

#include "model.h"

/* Creates an event for v, applies it to v's state and queues it for commit.
 * data is moved into the event. Returns the event or NULL (out of memory). */
vigil_event *vigil__emit(vigil_engine *e, visit *v, event_type type, const char *actor, val data);

#endif
