/* visit_at.h: a visit as it was at one of its events, read from the log.
 *
 * What a site's event filter sees of the event's visit (plugin_filter.c).
 * It is folded from the durable log up to the event, never taken from the
 * engine's live state, so the same event always shows the same visit: a
 * filter evaluated again after a restart decides as it did the first time,
 * whatever the visit did since. */
#ifndef VIGIL_VISIT_AT_H
#define VIGIL_VISIT_AT_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/vigil.h"

typedef struct visit_at {
  uint64_t id;                                 /* the visit (0: none held) */
  uint64_t upto;                               /* the last of its events folded in */
  char *patient, *location, *protocol, *phase; /* NULL when not (yet) known */
  const char *status;                          /* "active", "discharged", "aborted"; NULL before visit.started */
} visit_at;

/* Brings *v to visit `id` as it was just after its event `seq`: continues
 * from where v is when it holds the same visit at an earlier event, else
 * folds the visit's events afresh. 0, or a negative code with err. */
int vigil__visit_at_read(vigil_engine *e, visit_at *v, uint64_t id, uint64_t seq, char *err, size_t errlen);
void vigil__visit_at_clear(visit_at *v);

#endif
