/* journal.h: the events not yet durable: a command's mark and undo, the
 * commit (journal.c). Private to core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_JOURNAL_H
#define VIGIL_CORE_ENGINE_JOURNAL_H

#include "model.h"

/* Where the engine stands between two commands: undoing to a mark forgets
 * every event emitted since (not yet durable) and folds the visits they
 * touched again, from the log and the events still pending before the mark. */
typedef struct engine_mark {
  size_t n_pending;
  uint64_t seq, n_visits, n_alerts;
} engine_mark;
engine_mark vigil__engine_mark(const vigil_engine *e);
void vigil__engine_undo(vigil_engine *e, const engine_mark *m);
/* How a command ends: outside a batch, commits (vigil_engine_commit without
 * closing a batch). */
int vigil__journal_done(vigil_engine *e);

#endif
