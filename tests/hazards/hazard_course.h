/* hazard_course.h: a patient's course over the HTTP API of an alarm_serve.h
 * test (H14 in docs/safety.md): a ketamine_iv visit's start, the course
 * alerts of one rule, the patient's record and a clinician's override with a
 * reason. Header only. */
#ifndef VIGIL_HAZARDS_COURSE_H
#define VIGIL_HAZARDS_COURSE_H

#include "alarm_serve.h"

/* The patient's first course's alerts of rule (GET /api/v1/patients/{patient}), a new reference. */
static inline json_t *course_alerts_of(alarm_serve *a, const char *patient, const char *rule) {
  char path[128];
  json_t *p = NULL, *x, *out = json_array();
  size_t i;
  snprintf(path, sizeof path, "/api/v1/patients/%s", patient);
  assert_int_equal(alarm_call(a, NULL, "GET", path, NULL, &p), 200);
  json_array_foreach(json_object_get(json_array_get(json_object_get(p, "courses"), 0), "alerts"), i, x) {
    if (!strcmp(alarm_str(x, "rule"), rule)) json_array_append(out, x);
  }
  json_decref(p);
  return out;
}

/* Starts a ketamine_iv visit (70 kg) for patient: its id. */
static inline uint64_t course_ketamine_visit(alarm_serve *a, const char *patient) {
  char body[256];
  json_t *r = NULL;
  snprintf(body, sizeof body, "{\"protocol\": \"ketamine_iv\", \"patient\": \"%s\", \"params\": {\"weight\": 70}}",
           patient);
  assert_int_equal(alarm_call(a, NULL, "POST", "/api/v1/visits", body, &r), 201);
  uint64_t id = (uint64_t)json_integer_value(json_object_get(r, "id"));
  json_decref(r);
  return id;
}

/* A ketamine_iv visit (70 kg) of patient, screened: 35 mg drawn up and
 * double-checked by the clinician, in screening still. Its id. */
static inline uint64_t course_ketamine_screened(alarm_serve *a, const char *patient) {
  uint64_t id = course_ketamine_visit(a, patient);
  assert_int_equal(alarm_record(a, id, ALARM_KETAMINE_SCREENING), 200);
  assert_int_equal(
      alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"dose_check\": true, \"password\": \"" SERVE_PASSWORD "\"}"),
      200);
  return id;
}

/* The patient's record (GET /api/v1/patients/{patient}, as the clinician), a new reference. */
static inline json_t *course_patient_record(alarm_serve *a, const char *patient) {
  char path[128];
  json_t *p = NULL;
  snprintf(path, sizeof path, "/api/v1/patients/%s", patient);
  assert_int_equal(alarm_call(a, ALARM_CLINICIAN, "GET", path, NULL, &p), 200);
  return p;
}

/* Session 1 of the patient's first course counts, as session 1, not "no dose". */
static inline void course_expect_counted(alarm_serve *a, const char *patient) {
  json_t *p = course_patient_record(a, patient);
  json_t *s = json_array_get(json_object_get(json_array_get(json_object_get(p, "courses"), 0), "sessions"), 0);
  assert_non_null(s);
  if (!json_is_true(json_object_get(s, "counts"))) fail_msg("session 1 with its dose recorded does not count");
  if (json_is_true(json_object_get(s, "no_dose"))) fail_msg("session 1 with its dose recorded says no_dose");
  assert_int_equal(json_integer_value(json_object_get(s, "counted")), 1);
  json_decref(p);
}

/* The next visit's first gate, after its entries: 409 for the minimum interval. */
static inline void course_expect_held(alarm_serve *a, uint64_t second) {
  char msg[4096];
  assert_int_equal(alarm_cmd_msg(a, NULL, second, "advance", "{}", msg, sizeof msg), 409);
  if (!strstr(msg, "minimum interval")) fail_msg("the second visit's gate does not hold for the interval: %s", msg);
}

/* The clinician's override of the visit's current gate with this reason,
 * naming what it passes unrecorded (V1). */
static inline void course_override_because(alarm_serve *a, uint64_t id, const char *reason) {
  char items[2048], body[2600];
  snprintf(body, sizeof body, "{\"reason\": \"%s\", \"password\": \"" SERVE_PASSWORD "\", \"items\": %s}", reason,
           alarm_unrecorded(a, id, items, sizeof items));
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "override", body), 200);
}

#endif
