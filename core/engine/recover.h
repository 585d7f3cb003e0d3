/* recover.h: the engine's visits from its log (recover.c). Private to
 * core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_RECOVER_H
#define VIGIL_CORE_ENGINE_RECOVER_H

#include "model.h"

/* At start: the store's seq, visit and alert counts and the time floor;
 * *last: its last seq (0: a new store), *unclean: how the last run ended. */
int vigil__recover_log(vigil_engine *e, uint64_t *last, int *unclean, char *err, size_t errlen);
/* At start, after the courses: every open visit folded from the store and
 * its deadlines armed; *count: how many. */
int vigil__recover_visits(vigil_engine *e, uint64_t *count, char *err, size_t errlen);
/* The same for a visit an undo dropped: one that cannot be folded now is
 * remembered, and vigil__engine_refold_missing folds it later. */
visit *vigil__engine_refold_dropped(vigil_engine *e, uint64_t id, size_t n_kept);
/* Tries again to fold the visits an undo could not fold (the store did not
 * answer), arming their deadlines. 0 when none is left, else -1. */
int vigil__engine_refold_missing(vigil_engine *e);
/* A visit by id; a closed one that is not in memory is folded from the store. */
visit *vigil__engine_visit(vigil_engine *e, uint64_t id);
/* Remembers that visit id is closed and in memory; the oldest closed one
 * beyond ENGINE_CLOSED_KEPT leaves memory. */
void vigil__engine_keep_closed(vigil_engine *e, uint64_t id);
/* Frees a visit and forgets its alerts and deadline. */
void vigil__engine_drop_visit(vigil_engine *e, visit *v);

#endif
