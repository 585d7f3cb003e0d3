/* U4 (docs/safety.md): a session with no infusion counted as a course
 * session with its dose: the infusion's gate overridden by a clinician
 * naming infusion.infusion_started ("cannula failed twice, no infusion
 * given"), then discharged: the patient page said `counts: true`, the dose
 * 35 mg, "1 of 6".
 *
 * Control (core/engine/course.c vigil__course_session_end): a visit of a
 * protocol whose course names its dose_given items, discharged with none of
 * them recorded, ends its session as no dose given (course.session_ended
 * `no_dose`), which counts as an aborted session does: no session of the
 * series, no measure, no dose for the minimum interval.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock
 * with a copy of the bundled ketamine_iv, before and after a restart (the
 * course is folded from its events). Fails without the control: `counts`
 * true and the dose 35 mg. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_course.h"
#include "hazard_restart.h"

/* A ketamine_iv visit of patient, screened (35 mg drawn up, double-checked),
 * in the infusion, the infusion started when started is set; then each later
 * gate overridden by the clinician, and discharged. */
static uint64_t session(alarm_serve *a, const char *patient, int started) {
  uint64_t id = course_ketamine_screened(a, patient);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  alarm_expect_phase(a, id, "infusion");
  if (started) assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true}"), 200);
  course_override_because(
      a, id, started ? "infusion stopped early: patient unwell" : "cannula failed twice, no infusion given");
  alarm_expect_phase(a, id, "observation");
  course_override_because(a, id, "observed at the chair, well");
  alarm_expect_phase(a, id, "discharge");
  course_override_because(a, id, "fit to leave, reviewed");
  json_t *v = alarm_visit_json(a, id);
  assert_string_equal(json_string_value(json_object_get(v, "status")), "discharged");
  json_decref(v);
  return id;
}

/* The patient's first course (GET /patients/{patient}, as the clinician), a new reference. */
static json_t *course_of(alarm_serve *a, const char *patient) {
  json_t *p = course_patient_record(a, patient);
  json_t *c = json_incref(json_array_get(json_object_get(p, "courses"), 0));
  json_decref(p);
  assert_non_null(c);
  return c;
}

/* Session 1 of the patient's course: whether it counts, its place among those that count ("counted": the
 * patient page's "1 of 6"; 0: null, none), and how many dose measures the course has. */
static void expect_session(alarm_serve *a, const char *patient, int counts, int counted, size_t doses) {
  json_t *c = course_of(a, patient);
  json_t *s = json_array_get(json_object_get(c, "sessions"), 0);
  assert_non_null(s);
  if (json_is_true(json_object_get(s, "counts")) != counts) fail_msg("session 1 counts: %s", counts ? "false" : "true");
  /* Said why: discharged, no dose given. */
  assert_int_equal(json_is_true(json_object_get(s, "no_dose")), !counts);
  json_t *place = json_object_get(s, "counted");
  if (counted ? json_integer_value(place) != counted : !json_is_null(place))
    fail_msg("session 1 counted: %lld", (long long)json_integer_value(place));
  assert_int_equal(json_array_size(json_object_get(json_object_get(c, "measures"), "dose")), doses);
  json_decref(c);
}

/* AD3 (docs/safety.md): a session with no dose, on the day the next was due
 * after one that counted, is worded as no dose given, not as an aborted
 * visit: the course's FHIR Encounter and CarePlan activity (`stopped`, not
 * `completed`) and, once its grace has passed, the missed-session alert.
 * Fails without it: "Aborted visit 2 of the course", `completed`, "its last
 * visit was aborted". */
static void a_session_with_no_dose_is_worded_so(void **state) {
  alarm_serve *a = *state;
  session(a, "MRN-AD3", 1);
  assert_int_equal(alarm_advance_clock(a, "3d"), 200);
  session(a, "MRN-AD3", 0);
  json_t *c = course_of(a, "MRN-AD3"), *b = NULL, *en;
  char path[96];
  size_t i;
  snprintf(path, sizeof path, "/api/v1/courses/%lld/fhir", (long long)json_integer_value(json_object_get(c, "id")));
  json_decref(c);
  assert_int_equal(alarm_call(a, ALARM_CLINICIAN, "GET", path, NULL, &b), 200);
  int seen = 0;
  json_array_foreach(json_object_get(b, "entry"), i, en) {
    json_t *r = json_object_get(en, "resource");
    const char *type = alarm_str(r, "resourceType");
    const char *text = alarm_str(json_array_get(json_object_get(r, "type"), 0), "text");
    if (!strcmp(type, "Encounter") && strncmp(text, "Session 1 of 6", 14)) {
      if (strncmp(text, "Visit 2 of the course, no dose given", 36)) fail_msg("the Encounter says: %s", text);
      seen++;
    } else if (!strcmp(type, "CarePlan")) {
      json_t *d = json_object_get(json_array_get(json_object_get(r, "activity"), 1), "detail");
      if (strcmp(alarm_str(d, "status"), "stopped") ||
          strncmp(alarm_str(d, "description"), "Visit 2 of the course", 21))
        fail_msg("the CarePlan activity is %s: %s", alarm_str(d, "status"), alarm_str(d, "description"));
      seen++;
    }
  }
  assert_int_equal(seen, 2);
  json_decref(b);
  assert_int_equal(alarm_advance_clock(a, "2d1h"), 200);
  json_t *m = course_alerts_of(a, "MRN-AD3", "missed_session");
  assert_int_equal(json_array_size(m), 1);
  const char *said = alarm_str(json_array_get(m, 0), "message");
  if (!strstr(said, "its last visit was discharged with no dose given")) fail_msg("the alert says: %s", said);
  json_decref(m);
}

static void a_session_whose_infusion_never_started_does_not_count(void **state) {
  alarm_serve *a = *state;
  session(a, "MRN-U4", 0);
  expect_session(a, "MRN-U4", 0, 0, 0);
  assert_int_equal(alarm_restart(a), 0);
  expect_session(a, "MRN-U4", 0, 0, 0);
}

/* The contrast: the infusion started, then stopped early and the rest overridden: a dose was given, it counts. */
static void a_session_whose_infusion_started_counts(void **state) {
  alarm_serve *a = *state;
  session(a, "MRN-U4B", 1);
  expect_session(a, "MRN-U4B", 1, 1, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_session_whose_infusion_never_started_does_not_count, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_session_whose_infusion_started_counts, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_session_with_no_dose_is_worded_so, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
