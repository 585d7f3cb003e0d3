/* AD4 (docs/safety.md; X3 in docs/workstation.md; H14, the course's
 * record): the course's dose was the dose drawn up, not the dose given
 * (52.5 mg drawn up, 45 mg given: the patient page and the FHIR CarePlan
 * said 52.5), and the next session's dose_change compared today's dose with
 * the 52.5 mg drawn up last time.
 *
 * Control (protocol data, ketamine_iv 1.7.7): the course measure `dose` is
 * `infusion.dose_given`, with `screening.dose` standing in, marked (`from`),
 * until the dose given is recorded (the engine's `otherwise`, 14adfe4).
 *
 * End to end over the HTTP API of a real `vigil serve` with the bundled
 * ketamine_iv. Fails without the control (1.7.6's measure): the course's
 * dose is 35 after 25 mg given, and the next session's 35 mg raises no
 * dose_change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_course.h"

/* The patient's first course's `dose` measure entries, a new reference. */
static json_t *course_doses(alarm_serve *a, const char *patient) {
  json_t *p = course_patient_record(a, patient);
  json_t *d = json_object_get(json_object_get(json_array_get(json_object_get(p, "courses"), 0), "measures"), "dose");
  json_incref(d);
  json_decref(p);
  return d ? d : json_array();
}

/* Session 1's CarePlan activity (GET /api/v1/courses/{id}/fhir) has `says`. */
static void activity_says(alarm_serve *a, const char *patient, const char *says, int drawn) {
  json_t *p = course_patient_record(a, patient), *b = NULL, *en;
  char path[96];
  size_t i;
  snprintf(path, sizeof path, "/api/v1/courses/%lld/fhir",
           (long long)json_integer_value(json_object_get(json_array_get(json_object_get(p, "courses"), 0), "id")));
  json_decref(p);
  assert_int_equal(alarm_call(a, ALARM_CLINICIAN, "GET", path, NULL, &b), 200);
  const char *text = NULL;
  json_array_foreach(json_object_get(b, "entry"), i, en) {
    json_t *r = json_object_get(en, "resource");
    if (!strcmp(alarm_str(r, "resourceType"), "CarePlan"))
      text = alarm_str(json_object_get(json_array_get(json_object_get(r, "activity"), 0), "detail"), "description");
  }
  if (!text || !strstr(text, says) ||
      (strstr(text, "(from screening.dose, the dose given not recorded)") != NULL) != drawn)
    fail_msg("session 1's CarePlan activity: %s", text ? text : "(none)");
  json_decref(b);
}

/* Session 1: 35 mg drawn up (the course says so, marked as the dose drawn
 * up); 25 mg given (the pump stopped early; the dose_given alert reviewed by
 * the clinician): the course's dose is 25, unmarked; the session's gates
 * overridden, discharged. Three days on, session 2 draws up 35 mg: 40 %
 * above the 25 mg given, a dose_change for the clinician. */
static void the_course_dose_is_the_dose_given(void **state) {
  alarm_serve *a = *state;
  uint64_t id = course_ketamine_screened(a, "MRN-AD4");
  json_t *d = course_doses(a, "MRN-AD4");
  assert_int_equal(json_array_size(d), 1);
  assert_true(json_number_value(json_object_get(json_array_get(d, 0), "value")) == 35);
  assert_string_equal(alarm_str(json_array_get(d, 0), "from"), "screening.dose");
  json_decref(d);
  activity_says(a, "MRN-AD4", "; dose 35 mg (from screening.dose", 1);

  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  alarm_expect_phase(a, id, "infusion");
  /* The dose given comes with its start (AO1: it is refused before it). */
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true, \"dose_given\": 25}"), 200);
  alarm_ack_all(a, id);
  d = course_doses(a, "MRN-AD4");
  assert_int_equal(json_array_size(d), 1);
  double dose = json_number_value(json_object_get(json_array_get(d, 0), "value"));
  if (dose != 25) fail_msg("the course's dose is %g after 25 mg given", dose);
  assert_null(json_object_get(json_array_get(d, 0), "from"));
  json_decref(d);
  activity_says(a, "MRN-AD4", "; dose 25 mg", 0);
  course_override_because(a, id, "pump stopped at 25 mg; reviewed");
  course_override_because(a, id, "observed at the chair, well");
  course_override_because(a, id, "fit to leave, reviewed");

  assert_int_equal(alarm_advance_clock(a, "3d"), 200);
  uint64_t second = course_ketamine_screened(a, "MRN-AD4");
  json_t *x = alarm_latest(a, second, "dose_change");
  if (!x) fail_msg("35 mg drawn up after 25 mg given last session: no dose_change");
  assert_non_null(strstr(alarm_str(x, "message"), "differs from the last session's 25 mg"));
  json_decref(x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(the_course_dose_is_the_dose_given, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
