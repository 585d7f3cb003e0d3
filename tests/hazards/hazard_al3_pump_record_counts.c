/* AL3 of the fifteenth try, AI3 of the fourteenth (docs/safety.md).
 *
 * A ketamine_iv session whose pump record shows a dose (`pump_rate` 100,
 * `volume_infused` 200, `infusion_stopped`) with `infusion_started` and
 * `dose_given` passed by a clinician's overrides counted as no dose
 * (`counts: false, no_dose: true`); a second visit the same minute passed its
 * first gate and started its infusion (200).
 *
 * Control: ketamine_iv's course names `infusion.volume_infused` among its
 * `dose_recorded` items (protocol data): once the visit has left the infusion
 * with a volume infused recorded, the dose was given (core/engine/course.c
 * dose_given_at). A volume of 0 says nothing was given (core/engine/visit.c
 * vigil__val_says_given): that session is still no dose.
 *
 * Since AO1 (docs/safety.md) the pump's record is taken only once
 * `infusion_started` is recorded yes: the try's entry, with no start, is 409
 * naming it, and a volume infused comes with its start, which counts (M1).
 * `dose_recorded` stays as a second line; these cases now pin the way in.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock
 * with copies of the bundled protocols. Failed without the control (before
 * AO1): session 1 did not count, and the second visit's gate was 200. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_course.h"

/* Visit id of patient (screened) advanced into the infusion, where pump (the
 * pump's record, not the start nor the dose given) is refused, 409 naming the
 * start (AO1); then start is recorded, and pump with it when start says yes;
 * the infusion's gate passed by the clinician (why) and each later one,
 * discharged. */
static void infused_by_the_pump_record(alarm_serve *a, uint64_t id, const char *pump, int started, const char *why) {
  char msg[4096];
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  alarm_expect_phase(a, id, "infusion");
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", pump, msg, sizeof msg), 409);
  if (!strstr(msg, "record infusion_started first")) fail_msg("the pump's record before the start: %s", msg);
  assert_int_equal(alarm_record(a, id, started ? "{\"infusion_started\": true}" : "{\"infusion_started\": false}"),
                   200);
  if (started) assert_int_equal(alarm_record(a, id, pump), 200);
  course_override_because(a, id, why);
  course_override_because(a, id, "observed at the chair, well");
  course_override_because(a, id, "fit to leave, reviewed");
}

/* The try: 200 mL infused at 100 mL/h, the start and the dose given never
 * ticked: refused until the start is; with it, it counts; a second visit at
 * once is held by the minimum interval. */
static void a_session_with_its_pump_record_counts(void **state) {
  alarm_serve *a = *state;
  uint64_t id = course_ketamine_screened(a, "MRN-AL3");
  infused_by_the_pump_record(a, id, "{\"pump_rate\": 100, \"volume_infused\": 200, \"infusion_stopped\": true}", 1,
                             "dose not ticked; the pump's history shows 200 mL infused");
  course_expect_counted(a, "MRN-AL3");
  uint64_t second = course_ketamine_screened(a, "MRN-AL3");
  course_expect_held(a, second);
  alarm_expect_phase(a, second, "screening");
}

/* A pump that infused nothing (volume 0): its record waits for a start that
 * never was (answered no); no dose, as U4's; the next visit is not held for
 * it. */
static void a_pump_that_infused_nothing_is_no_dose(void **state) {
  alarm_serve *a = *state;
  uint64_t id = course_ketamine_screened(a, "MRN-AL3Z");
  infused_by_the_pump_record(a, id, "{\"pump_rate\": 100, \"volume_infused\": 0, \"infusion_stopped\": true}", 0,
                             "cannula failed at the start: nothing infused");
  json_t *p = course_patient_record(a, "MRN-AL3Z");
  json_t *s = json_array_get(json_object_get(json_array_get(json_object_get(p, "courses"), 0), "sessions"), 0);
  if (!json_is_true(json_object_get(s, "no_dose"))) fail_msg("a session with no start counted as a dose");
  assert_false(json_is_true(json_object_get(s, "counts")));
  json_decref(p);
  uint64_t second = course_ketamine_screened(a, "MRN-AL3Z");
  assert_int_equal(alarm_cmd(a, NULL, second, "advance", "{}"), 200);
  alarm_expect_phase(a, second, "infusion");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_session_with_its_pump_record_counts, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_pump_that_infused_nothing_is_no_dose, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
