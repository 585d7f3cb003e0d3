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
/* 0 on the thread the engines run on; else VIGIL_ESTATE with the engine's
 * error said, and the caller does nothing (vigil.h, Threads: the seventh
 * review's item 5). Before enter. */
int vigil__engine_here(vigil_engine *e);
int vigil__engine_leave(vigil_engine *e, int rc);

#endif
