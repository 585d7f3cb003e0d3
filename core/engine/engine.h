/* engine.h: the engine object's functions (engine.c): its events emitted,
 * a visit by id, its protocols. The model is model.h; each concept's
 * functions are in a header of its own beside it. Private to core/engine/
 * (the rooms above read engine/inspect.h).
 *
 * The path of every change, for a nurse's entry and a timer alike:
 *   command (engine.c) -> protocol rules (evaluate.c) -> events (emit)
 *   -> applied to the visit's state (visit.c, the fold) -> deadlines re-armed
 *   (schedule.c) -> at commit: stored (store), then published to subscribers
 *   and the protocol's hooks (bus.c).
 */
#ifndef VIGIL_ENGINE_H
#define VIGIL_ENGINE_H

#include "model.h"

/* Creates an event for v, applies it to v's state and queues it for commit.
 * data is moved into the event. Returns the event or NULL (out of memory). */
vigil_event *vigil__emit(vigil_engine *e, visit *v, event_type type, const char *actor, val data);
/* Re-arms v's deadline and, outside a batch, commits: how every command ends. */
int vigil__engine_done(vigil_engine *e, visit *v);
/* A visit by id; a closed one that is not in memory is folded from the store. */
visit *vigil__engine_visit(vigil_engine *e, uint64_t id);
/* Frees a visit and forgets its alerts and deadline. */
void vigil__engine_drop_visit(vigil_engine *e, visit *v);
int vigil__engine_add_protocol(vigil_engine *e, protocol *p);

#endif
