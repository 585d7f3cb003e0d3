/* tables.c: the engine's visits and alerts by id (e->visits, e->alerts, id
 * - 1), grown as ids are given: by a start (commands.c), the fold of an
 * alert.raised (visit.c), a course alert (course.c) and recovery. */
#include <stdlib.h>
#include <string.h>

#include "tables.h"
#include "model.h"

int vigil__engine_grow_visits(vigil_engine *e, uint64_t n) {
  if (n <= e->cap_visits) return 0;
  uint64_t cap = e->cap_visits ? e->cap_visits : 256;
  while (cap < n)
    cap *= 2;
  visit **vs = realloc(e->visits, cap * sizeof *vs);
  if (!vs) return VIGIL_ENOMEM;
  memset(vs + e->cap_visits, 0, (cap - e->cap_visits) * sizeof *vs);
  e->visits = vs;
  e->cap_visits = cap;
  return 0;
}

int vigil__engine_grow_alerts(vigil_engine *e, uint64_t n) {
  if (n <= e->cap_alerts) return 0;
  uint64_t cap = e->cap_alerts ? e->cap_alerts : 256;
  while (cap < n)
    cap *= 2;
  alert **x = realloc(e->alerts, cap * sizeof *x);
  if (!x) return VIGIL_ENOMEM;
  memset(x + e->cap_alerts, 0, (cap - e->cap_alerts) * sizeof *x);
  e->alerts = x;
  e->cap_alerts = cap;
  return 0;
}
