/* lifetime.h: an engine freed from inside its own call (lifetime.c). Private
 * to core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_LIFETIME_H
#define VIGIL_CORE_ENGINE_LIFETIME_H

#include "model.h"

/* Around an entry that may call out to the embedder (a subscriber, an events
 * scan's function; model.h, calls). vigil_engine_free inside it only marks
 * the engine; leave returns rc and frees the engine when the outermost entry
 * ends so: e must not be used after leave. */
void vigil__engine_enter(vigil_engine *e);
int vigil__engine_leave(vigil_engine *e, int rc);

#endif
