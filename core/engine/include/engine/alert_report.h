/* alert_report.h: what a site's alarm manager said of an alert vigil
 * reported to it (docs/hl7.md, alarms out), recorded as an alert.reported
 * event in the alert's visit's history. The plugin host's entry for it
 * (plugin ABI 1.6, alert_reported); kept apart from site.h because it is
 * a visit's event, not a site's. */
#ifndef VIGIL_ENGINE_ALERT_REPORT_H
#define VIGIL_ENGINE_ALERT_REPORT_H

#include <stdint.h>

#include "vigil/vigil.h"

struct store_kv_write; /* store/event.h */

/* Records alert.reported for alert_id in visit_id (0: a course alert, of no
 * visit) with fields_json's fields (a JSON object; "status" required) and
 * "alert", and the key-value rows writes (taken) in the event's
 * transaction. VIGIL_ENOENT: no such alert, or not of that visit;
 * VIGIL_EINVAL: the fields are not an object with a status. */
int vigil__alert_reported(vigil_engine *e, uint64_t visit_id, uint64_t alert_id, const char *actor,
                          const char *fields_json, struct store_kv_write *writes);

#endif
