/* r40.c: PCD-04 ORU^R40 (r40.h). The segments and codes are those of the
 * IHE PCD Technical Framework's Alarm Communication Management profile:
 * MSH-21 IHE_PCD_ACM_001, the alarm's identity in OBR-2/OBR-3, one OBX per
 * attribute (the event, its phase, the alarm state, the inactivation state),
 * the priority in OBX-8 of the event (PH, PM, PL). Free text (the alert's
 * message, its rule) is typed TX: ST is for short strings (J4 of docs/hl7.md:
 * 546 characters typed ST). A vital sign's alarm is a limit alarm as ACM
 * sends a monitor's: OBX 1 names the condition (MDC_EVT_LO_LT_LIM or
 * MDC_EVT_HI_GT_LIM) and OBX 2 is its source, the observation (the MDC code
 * of the parameter, the reading typed NM, its unit, the alarm limits in
 * OBX-7 and L or H in OBX-8), before the phase, state and inactivation. */
#include "r40.h"

#include <stdio.h>
#include <string.h>

#include "hl7.h"
#include "msh.h"
#include "vitals.h"

#define RAW(o, lit) vigil__hl7_out_raw(o, lit, sizeof lit - 1)

static const char *priority_flag(const char *p) {
  return !p ? "PN" : !strcmp(p, "high") ? "PH" : !strcmp(p, "medium") ? "PM" : !strcmp(p, "low") ? "PL" : "PN";
}

static void obx(hl7_out *o, int n, const char *type, const char *code, const char *value, const char *flag) {
  char head[128];
  snprintf(head, sizeof head, "OBX|%d|%s|%s|1.0.0.%d|", n, type, code, n);
  vigil__hl7_out_raw(o, head, strlen(head));
  vigil__hl7_out_text(o, value ? value : "");
  RAW(o, "|||");
  vigil__hl7_out_raw(o, flag ? flag : "", flag ? strlen(flag) : 0);
  RAW(o, "|||F");
  vigil__hl7_out_end(o);
}

/* J4: the alarm's source, the vital sign: its MDC code and unit from the
 * one table (vitals.c) when the table has the field and the protocol declares
 * the unit the table expects; else the protocol's field as a local code and
 * its UCUM unit. OBX-7, the limits: "low-high", ">low" or "<high" (HL7's
 * forms of a reference range); OBX-8 L or H. */
static void observation(hl7_out *o, int n, const r40_alert *a, int low) {
  const hl7_vital *v = vigil__hl7_vital(a->obs.field);
  int mdc = v && a->obs.units && !strcmp(v->ucum, a->obs.units);
  char head[96], num[64];
  snprintf(head, sizeof head, "OBX|%d|NM|", n);
  vigil__hl7_out_raw(o, head, strlen(head));
  if (mdc) {
    vigil__hl7_out_raw(o, v->code, strlen(v->code));
  } else {
    vigil__hl7_out_text(o, a->obs.field);
    RAW(o, "^");
    vigil__hl7_out_text(o, a->obs.field);
    RAW(o, "^L");
  }
  snprintf(head, sizeof head, "|1.0.0.%d|%.15g|", n, a->obs.reading);
  vigil__hl7_out_raw(o, head, strlen(head));
  if (mdc) {
    vigil__hl7_out_raw(o, v->mdc_unit, strlen(v->mdc_unit));
  } else if (a->obs.units && *a->obs.units) {
    vigil__hl7_out_text(o, a->obs.units);
    RAW(o, "^");
    vigil__hl7_out_text(o, a->obs.units);
    RAW(o, "^UCUM");
  }
  if (a->obs.has_low && a->obs.has_high)
    snprintf(num, sizeof num, "|%.15g-%.15g|", a->obs.low, a->obs.high);
  else if (a->obs.has_low)
    snprintf(num, sizeof num, "|>%.15g|", a->obs.low);
  else
    snprintf(num, sizeof num, "|<%.15g|", a->obs.high);
  vigil__hl7_out_raw(o, num, strlen(num));
  vigil__hl7_out_raw(o, low ? "L" : "H", 1);
  RAW(o, "|||F");
  vigil__hl7_out_end(o);
}

char *vigil__hl7_r40(const r40_alert *a, const char *app, const char *facility, const char *to_app,
                     const char *to_facility, const char *control_id, const char *now, size_t *len) {
  hl7_out o;
  vigil__hl7_out_init(&o, NULL);
  vigil__hl7_msh(&o, app, facility, to_app, to_facility, now, "ORU^R40^ORU_R40", control_id, "2.6",
                 "|||IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.4.4.4^ISO");
  /* the patient (none for an alert of no patient), with the assigning
   * authority and the name of their ADT record (J4), and where they sit: an
   * outpatient's chair (PV1-2 O, J4: it was I, inpatient) */
  RAW(&o, "PID|||");
  vigil__hl7_out_text(&o, a->patient ? a->patient : "");
  if (a->patient && *a->patient) {
    RAW(&o, "^^^");
    vigil__hl7_out_text(&o, a->authority ? a->authority : "");
    RAW(&o, "^MR");
  }
  RAW(&o, "||");
  vigil__hl7_out_text(&o, a->family ? a->family : "");
  if (a->given && *a->given) {
    RAW(&o, "^");
    vigil__hl7_out_text(&o, a->given);
  }
  vigil__hl7_out_end(&o);
  RAW(&o, "PV1||O|");
  vigil__hl7_out_text(&o, a->location ? a->location : "");
  vigil__hl7_out_end(&o);
  /* the alarm: its identity (the same in every report of its life) */
  RAW(&o, "OBR|1|");
  for (int k = 0; k < 2; k++) { /* OBR-2, the placer's, and OBR-3, the filler's: vigil is both */
    vigil__hl7_out_text(&o, a->alarm_id);
    RAW(&o, "^");
    vigil__hl7_out_text(&o, a->ns);
    RAW(&o, "|");
  }
  RAW(&o, "196616^MDC_EVT_ALARM^MDC|||");
  vigil__hl7_out_text(&o, a->time ? a->time : now);
  vigil__hl7_out_end(&o);
  int vital = a->obs.field && *a->obs.field && (a->obs.has_low || a->obs.has_high), low = 0;
  if (vital) /* below its low limit, or (only a high one, or past it) above its high one */
    low = a->obs.has_low && !(a->obs.has_high && a->obs.reading >= a->obs.high);
  obx(&o, 1, "TX",
      !vital ? "196616^MDC_EVT_ALARM^MDC"
      : low  ? "196672^MDC_EVT_LO_LT_LIM^MDC"
             : "196650^MDC_EVT_HI_GT_LIM^MDC",
      a->message, priority_flag(a->priority));
  int n = 2;
  if (vital) observation(&o, n++, a, low);
  obx(&o, n++, "ST", "68481^MDC_ATTR_EVENT_PHASE^MDC", a->phase, NULL);
  obx(&o, n++, "ST", "68482^MDC_ATTR_ALARM_STATE^MDC", a->state, NULL);
  obx(&o, n++, "ST", "68483^MDC_ATTR_ALARM_INACTIVATION_STATE^MDC", a->inactivation, NULL);
  if (a->rule && *a->rule) obx(&o, n++, "TX", "0^vigil-rule^L", a->rule, NULL);
  if (a->level > 0) { /* J4: each escalation says its level (they were identical) */
    char level[16];
    snprintf(level, sizeof level, "%d", a->level);
    obx(&o, n++, "NM", "0^vigil-escalation-level^L", level, NULL);
  }
  if (o.failed) {
    vigil__hl7_out_free(&o);
    return NULL;
  }
  *len = o.n;
  return o.p;
}
