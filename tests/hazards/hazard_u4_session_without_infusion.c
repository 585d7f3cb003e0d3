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
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
