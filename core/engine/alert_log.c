/* alert_log.c: every alert of a period with its whole life, read from the
 * event log (vigil_query_alert_log_json in vigil.h).
 *
 * The log is the authority: an alert's raise, each escalation, its
 * acknowledgement (who, why) and its resolution are events, so the alert log
 * covers closed visits too and reads the same after any restart. One pass
 * over the stored events: visit.started gives each visit's patient; an
 * alert.raised within the period opens a row; later alert.* events of that
 * alert fill it in, whenever they happened. A page holds `limit` alerts of
 * ids above `after`, in raise order; `next` is the `after` of the next page. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "fail.h"
#include "store/event.h"
#include "base/intern.h"

typedef struct alert_log {
  int64_t from, to;
  uint64_t after; /* only alerts with a greater id */
  uint32_t limit, n;
  int more;        /* an alert of the page after this one exists */
  json_t *rows;    /* in raise order */
  json_t *by_id;   /* "id" -> row (borrowed from rows) */
  char **patients; /* by visit id */
  uint64_t n_patients;
  int oom;
} alert_log;

static double num_of(val data, const char *key) {
  val *x = vigil__val_get(data, key);
  return x && x->type == VAL_NUMBER ? x->u.num : 0;
}

static json_t *iso(int64_t ms) {
  buf b;
  vigil__buf_init(&b);
  vigil__buf_iso_time(&b, ms);
  json_t *s = b.oom ? NULL : json_stringn(b.p, b.len);
  vigil__buf_free(&b);
  return s;
}

static void remember_patient(alert_log *l, uint64_t visit_id, const char *patient) {
  if (visit_id >= l->n_patients) {
    uint64_t n = visit_id * 2 + 16;
    char **grown = realloc(l->patients, n * sizeof *grown);
    if (!grown) {
      l->oom = 1;
      return;
    }
    memset(grown + l->n_patients, 0, (n - l->n_patients) * sizeof *grown);
    l->patients = grown;
    l->n_patients = n;
  }
  free(l->patients[visit_id]);
  l->patients[visit_id] = strdup(patient ? patient : "");
}

static int on_event(void *ud, const vigil_event *ev) {
  alert_log *l = ud;
  val d = ev->data;
  if (ev->type == EV_VISIT_STARTED) {
    remember_patient(l, ev->visit, vigil__val_text_of(d, K(patient)));
    return l->oom;
  }
  if (ev->type != EV_ALERT_RAISED && ev->type != EV_ALERT_ESCALATED && ev->type != EV_ALERT_ACKNOWLEDGED &&
      ev->type != EV_ALERT_RESOLVED)
    return 0;
  char id[24];
  snprintf(id, sizeof id, "%.0f", num_of(d, K(alert)));
  if (ev->type == EV_ALERT_RAISED) {
    if (ev->time < l->from || ev->time >= l->to || num_of(d, K(alert)) <= (double)l->after) return 0;
    if (l->n == l->limit) { /* the page is full: its later events still fill it in */
      l->more = 1;
      return 0;
    }
    l->n++;
    /* A course alert (of no visit) names its patient. */
    const char *patient = !ev->visit                  ? vigil__val_text_of(d, K(patient))
                          : ev->visit < l->n_patients ? l->patients[ev->visit]
                                                      : NULL;
    json_t *row =
        json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:[]}", "id", (json_int_t)num_of(d, K(alert)), "visit",
                  (json_int_t)ev->visit, "patient", patient ? patient : "", "rule",
                  vigil__val_text_of(d, K(rule)) ?: "", "priority", vigil__val_text_of(d, K(priority)) ?: "", "source",
                  vigil__val_text_of(d, K(source)) ?: "", "message", vigil__val_text_of(d, K(message)) ?: "",
                  "raised_at", iso(ev->time), "raised_by", ev->actor ? ev->actor : "", "escalations");
    if (!row || json_array_append_new(l->rows, row) < 0 || json_object_set(l->by_id, id, row) < 0) l->oom = 1;
    return l->oom;
  }
  json_t *row = json_object_get(l->by_id, id);
  if (!row) return 0; /* raised before the period */
  if (ev->type == EV_ALERT_ESCALATED) {
    json_array_append_new(json_object_get(row, "escalations"),
                          json_pack("{s:o, s:I, s:s}", "at", iso(ev->time), "level", (json_int_t)num_of(d, K(level)),
                                    "priority", vigil__val_text_of(d, K(priority)) ?: ""));
  } else if (ev->type == EV_ALERT_ACKNOWLEDGED) {
    json_object_set_new(row, "acknowledged_at", iso(ev->time));
    json_object_set_new(row, "acknowledged_by", json_string(ev->actor ? ev->actor : ""));
    if (vigil__val_text_of(d, K(reason)))
      json_object_set_new(row, "acknowledged_reason", json_string(vigil__val_text_of(d, K(reason))));
  } else {
    json_object_set_new(row, "resolved_at", iso(ev->time));
    json_object_set_new(row, "resolved_by", json_string(ev->actor ? ev->actor : ""));
    /* Why it closed (a course alert: "visit", "dose_given", "rescheduled", ...). */
    if (vigil__val_text_of(d, K(reason)))
      json_object_set_new(row, "resolved_reason", json_string(vigil__val_text_of(d, K(reason))));
  }
  return 0;
}

char *vigil_query_alert_log_json(vigil_engine *e, int64_t from_ms, int64_t to_ms, uint64_t after, uint32_t limit) {
  alert_log l = {.from = from_ms,
                 .to = to_ms,
                 .after = after,
                 .limit = limit == 0     ? 100
                          : limit > 1000 ? 1000
                                         : limit,
                 .rows = json_array(),
                 .by_id = json_object()};
  char err[1024];
  int rc = l.rows && l.by_id ? e->store->ops->scan(e->store, 0, 0, on_event, &l, err, sizeof err) : VIGIL_ENOMEM;
  char *out = NULL;
  if (rc == 0 && !l.oom) {
    json_t *last = json_array_get(l.rows, json_array_size(l.rows) - 1);
    json_t *body = json_pack("{s:o, s:o, s:O, s:o}", "from", iso(from_ms), "to", iso(to_ms), "alerts", l.rows, "next",
                             l.more && last ? json_copy(json_object_get(last, "id")) : json_null());
    out = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
  }
  if (!out) vigil__engine_fail(e, rc < 0 ? rc : VIGIL_ENOMEM, NULL, "%s", rc < 0 ? err : "out of memory");
  for (uint64_t i = 0; i < l.n_patients; i++)
    free(l.patients[i]);
  free(l.patients);
  json_decref(l.rows);
  json_decref(l.by_id);
  return out;
}
