/* visit_at.c: a visit as it was at one of its events, read from the log.
 *
 * Only what does not need the protocol: who, where, which protocol version,
 * the phase and whether it had ended. visit.started gives the first four,
 * phase.entered moves the phase, visit.discharged and visit.aborted end it. */
#include "engine/visit_at.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "store/event.h"
#include "base/intern.h"

void vigil__visit_at_clear(visit_at *v) {
  free(v->patient), free(v->location), free(v->protocol), free(v->phase);
  *v = (visit_at){0};
}

/* Replaces *slot with the text of data's key (NULL when absent). 0, or -1 out of memory. */
static int take(char **slot, val data, const char *key) {
  val *x = vigil__val_get(data, key);
  const char *text = x ? val_text(*x) : NULL;
  char *copy = text ? strdup(text) : NULL;
  if (text && !copy) return -1;
  free(*slot);
  *slot = copy;
  return 0;
}

typedef struct fold_to {
  visit_at *v;
  uint64_t seq;
  int oom;
} fold_to;

static int fold_one(void *ud, const vigil_event *ev) {
  fold_to *f = ud;
  visit_at *v = f->v;
  if (ev->seq > f->seq) return 1;
  v->upto = ev->seq;
  int rc = 0;
  switch ((event_type)ev->type) {
  case EV_VISIT_STARTED:
    rc = take(&v->patient, ev->data, K(patient)) | take(&v->location, ev->data, K(location)) |
         take(&v->protocol, ev->data, K(protocol)) | take(&v->phase, ev->data, K(phase));
    v->status = "active";
    break;
  case EV_PHASE_ENTERED:
    rc = take(&v->phase, ev->data, K(phase));
    break;
  case EV_VISIT_DISCHARGED:
    v->status = "discharged";
    break;
  case EV_VISIT_ABORTED:
    v->status = "aborted";
    break;
  default:
    break;
  }
  if (rc < 0) {
    f->oom = 1;
    return 1;
  }
  return 0;
}

int vigil__visit_at_read(vigil_engine *e, visit_at *v, uint64_t id, uint64_t seq, char *err, size_t errlen) {
  if (v->id == id && v->upto == seq) return 0;
  if (v->id != id || v->upto > seq) {
    vigil__visit_at_clear(v);
    v->id = id;
  }
  fold_to f = {v, seq, 0};
  store *s = vigil__engine_store(e);
  int rc = s->ops->scan(s, v->upto, id, fold_one, &f, err, errlen);
  if (rc == 0 && f.oom) {
    snprintf(err, errlen, "out of memory");
    rc = VIGIL_ENOMEM;
  }
  /* The fold stops at seq: the next call for a later event goes on from here. */
  if (rc == 0)
    v->upto = seq;
  else
    vigil__visit_at_clear(v);
  return rc;
}
