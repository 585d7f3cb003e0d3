/* r40.h: an alert's change as an IHE PCD ACM alarm report, PCD-04
 * ORU^R40 (docs/hl7.md, "Alarms out"). Pure: the plugin, its tests and the
 * fuzz target share it. */
#ifndef VIGIL_HL7_R40_H
#define VIGIL_HL7_R40_H

#include <stddef.h>

typedef struct r40_alert {
  /* J2: the alarm's identity, OBR-2 and OBR-3 (EI): alarm_id its entity
   * identifier ("<alert>-<digest>", "<site>-<alert>-<digest>" on a cluster
   * node: alarms.c alarm_id), ns its namespace (alarms.application) */
  const char *alarm_id, *ns;
  const char *patient, *location, *message, *priority, *rule;
  /* J4: from the patient's ADT record when vigil keeps one (PID-3.4, PID-5),
   * NULL or "" when not */
  const char *authority, *family, *given;
  int level;                /* J4: an escalation's level (alert.escalated's `level`), 0 for another report */
  const char *phase;        /* MDC_ATTR_EVENT_PHASE: start, escalate, update, end */
  const char *state;        /* MDC_ATTR_ALARM_STATE: active, inactive */
  const char *inactivation; /* MDC_ATTR_ALARM_INACTIVATION_STATE: enabled, acknowledged */
  const char *time;         /* when it changed: YYYYMMDDHHMMSS+0000 */
  /* J4: the vital sign the alarm is about (alert.raised's `observed`):
   * field NULL or "" when none. It alerts below low, above high. */
  struct {
    const char *field, *units; /* the protocol's vitals field, its UCUM unit */
    double reading;
    int has_low, has_high;
    double low, high;
  } obs;
} r40_alert;

/* The message (unframed, malloc'd, *len bytes), or NULL when memory ran
 * out. app, facility: MSH-3, MSH-4; to_app, to_facility: MSH-5, MSH-6;
 * control_id: MSH-10; now: MSH-7. */
char *vigil__hl7_r40(const r40_alert *a, const char *app, const char *facility, const char *to_app,
                     const char *to_facility, const char *control_id, const char *now, size_t *len);

#endif
