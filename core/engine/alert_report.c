/* alert_report.c: alert.reported, what an alarm manager said of an alert
 * (engine/alert_report.h). The event changes nothing of the alert: the
 * manager's word that a pager got it, or that it refused it, is the
 * alert's history, never its state (only staff acknowledge an alert). So
 * it is stamped with the alert's visit and not folded, which also lets an
 * answer arriving after the visit closed be kept in its history. */
#include <jansson.h>
#include <stdio.h>

#include "model.h"
#include "commands.h"
#include "emit.h"
#include "fail.h"
#include "base/intern.h"
#include "lang/value_convert.h"
#include "engine/alert_report.h"

int vigil__cmd_alert_reported(vigil_engine *e, uint64_t visit_id, uint64_t alert_id, const char *actor,
                              const char *fields_json, store_kv_write *writes) {
  char err[256] = "";
  int rc = 0;
  const alert *a = alert_id >= 1 && alert_id <= e->n_alerts ? e->alerts[alert_id - 1] : NULL;
  /* An alert no longer held (its visit closed) is taken on the visit's
   * word when both exist; a held one must be of that visit. */
  if (!alert_id || alert_id > e->n_alerts || visit_id > e->n_visits || (a && (a->visit ? a->visit->id : 0) != visit_id))
    rc = vigil__engine_fail(e, VIGIL_ENOENT, "alert", "no alert %llu in visit %llu", (unsigned long long)alert_id,
                            (unsigned long long)visit_id);
  json_t *j = rc == 0 && fields_json ? json_loads(fields_json, JSON_REJECT_DUPLICATES, NULL) : NULL;
  if (rc == 0 && (!json_is_object(j) || !json_is_string(json_object_get(j, "status"))))
    rc = vigil__engine_fail(e, VIGIL_EINVAL, "fields", "an alert's report is a JSON object with a status");
  if (rc == 0 && json_object_set_new(j, "alert", json_integer((json_int_t)alert_id)) < 0) rc = VIGIL_ENOMEM;
  val data;
  int converted = rc == 0 ? vigil__val_from_json(j, &data, err, sizeof err) : 0;
  if (converted < 0) rc = vigil__engine_fail(e, converted, "fields", "%s", err); /* VIGIL_ENOMEM: out of memory */
  json_decref(j);
  if (rc < 0) {
    vigil__kv_writes_free(writes);
    return rc;
  }
  vigil_event *ev = vigil__emit(e, NULL, EV_ALERT_REPORTED, vigil__intern(actor && *actor ? actor : "unknown"), data);
  if (!ev) {
    vigil__kv_writes_free(writes);
    return VIGIL_ENOMEM;
  }
  ev->visit = visit_id; /* in the visit's history, not folded into it */
  ev->kv = writes;
  return vigil__engine_done(e, NULL);
}
