/* emit.c: every event the engine decides is made here: stamped with the
 * next seq and the engine's time, folded into its visit at once (visit.c)
 * and queued until the commit makes it durable (journal.c). It calls
 * nothing that decides, so everything that decides may call it. */
#include <stdlib.h>

#include "emit.h"
#include "model.h"
#include "clock.h"
#include "visit.h"
#include "engine/site.h"

vigil_event *vigil__emit(vigil_engine *e, visit *v, event_type type, const char *actor, val data) {
  /* An event that cannot be made fails the whole command (command.c): the
   * caller need not check, though it may stop early. */
  if (!vigil__val_whole(data) || !actor) { /* actor: NULL when it could not be interned */
    vigil__val_release(data);
    e->oom = 1;
    return NULL;
  }
  if (e->n_pending == e->cap_pending) {
    size_t cap = e->cap_pending ? e->cap_pending * 2 : 64;
    vigil_event **p = realloc(e->pending, cap * sizeof *p);
    if (!p) {
      vigil__val_release(data);
      e->oom = 1;
      return NULL;
    }
    e->pending = p;
    e->cap_pending = cap;
  }
  vigil_event *ev = malloc(sizeof *ev);
  if (!ev) {
    vigil__val_release(data);
    e->oom = 1;
    return NULL;
  }
  /* Every other member (its writes, its JSON, its lender) empty. */
  *ev = (vigil_event){.seq = ++e->seq,
                      .time = vigil__engine_now(e),
                      .visit = v ? v->id : 0,
                      .actor = actor,
                      .data = data,
                      .type = (uint16_t)type};
  e->time_floor = ev->time;
  e->pending[e->n_pending++] = ev;
  if (v) vigil__visit_apply(e, v, ev);
  return ev;
}

int vigil__batch_kv_write(vigil_engine *e, const char *ns, const char *key, const void *value, size_t len) {
  if (!e->n_pending) return VIGIL_ENOENT;
  return vigil__kv_write_add(&e->pending[e->n_pending - 1]->kv, ns, key, value, len);
}
