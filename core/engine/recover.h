/* recover.h: state from the log (recover.c). Private to core/engine/
 * (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_RECOVER_H
#define VIGIL_CORE_ENGINE_RECOVER_H

#include "model.h"

/* Rebuilds every open visit from the store at start, re-arms deadlines and
 * fires those that passed. */
int vigil__engine_recover(vigil_engine *e, char *err, size_t errlen);
/* After a failed append: forget what was not made durable. */
void vigil__engine_rollback(vigil_engine *e);
/* Where the engine stands between two commands: undoing to a mark forgets
 * every event emitted since (not yet durable) and folds the visits they
 * touched again, from the log and the events still pending before the mark. */
typedef struct engine_mark {
  size_t n_pending;
  uint64_t seq, n_visits, n_alerts;
} engine_mark;
engine_mark vigil__engine_mark(const vigil_engine *e);
/* Visit id as the log and the first n_kept pending events make it; NULL when
 * it cannot be folded now (logged; vigil__engine_visit tries again). */
visit *vigil__engine_refold(vigil_engine *e, uint64_t id, size_t n_kept);
void vigil__engine_undo(vigil_engine *e, const engine_mark *m);
/* The loaded version with this fingerprint, loading it from the store if needed. */
protocol *vigil__engine_protocol_by_sha(vigil_engine *e, const char *sha256, char *err, size_t errlen);

#endif
