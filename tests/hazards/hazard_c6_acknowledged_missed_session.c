/* C6 (docs/safety.md, the independent course try; H14 no one is lost):
 * acknowledging a missed_session alert silenced the patient for good: 30
 * days later it was still acknowledged, with no new alert and no
 * escalation, and GET /api/v1/alerts no longer listed the patient.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock with the bundled ketamine_iv (interval 3 days, grace 2 days): the
 * acknowledged alert stays acknowledged for the grace after the
 * acknowledgement, then is active again (escalated, saying it was
 * acknowledged and by whom), listed by GET /alerts, across a restart; a
 * visit ends it for good. Fails without the control (course.c
 * missed_again_at, fire_missed_again): still acknowledged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_course.h"
#include "hazard_restart.h"

static json_t *missed(alarm_serve *a, const char *patient) { return course_alerts_of(a, patient, "missed_session"); }

static uint64_t start(alarm_serve *a, const char *patient) { return course_ketamine_visit(a, patient); }

static void an_acknowledged_missed_session_comes_back(void **state) {
  alarm_serve *a = *state;
  /* A course whose first visit was aborted before any dose: session 1 is
   * due 3 days later, overdue 2 days after that. */
  assert_int_equal(alarm_cmd(a, NULL, start(a, "P-6001"), "abort", "{\"reason\": \"blood pressure too high today\"}"),
                   200);
  assert_int_equal(alarm_advance_clock(a, "121h"), 200);
  json_t *m = missed(a, "P-6001");
  assert_int_equal(json_array_size(m), 1);
  uint64_t alert = alarm_id(json_array_get(m, 0));
  json_decref(m);
  /* Acknowledged ("left a message"): no longer listed as active. */
  assert_int_equal(alarm_ack(a, alert), 200);
  assert_false(alarm_lists(a, "/api/v1/alerts", "alerts", alert));
  m = missed(a, "P-6001");
  assert_string_equal(alarm_str(json_array_get(m, 0), "state"), "acknowledged");
  json_int_t level = json_integer_value(json_object_get(json_array_get(m, 0), "level"));
  json_decref(m);

  /* Within the grace after the acknowledgement, across a restart: as it was. */
  assert_int_equal(alarm_restart(a), 0);
  assert_int_equal(alarm_advance_clock(a, "47h"), 200);
  m = missed(a, "P-6001");
  assert_int_equal(json_array_size(m), 1);
  assert_string_equal(alarm_str(json_array_get(m, 0), "state"), "acknowledged");
  json_decref(m);

  /* The grace passed with no visit, new date or stop: active again
   * (escalated), listed again; the same alert, no second one. */
  assert_int_equal(alarm_advance_clock(a, "2h"), 200);
  m = missed(a, "P-6001");
  assert_int_equal(json_array_size(m), 1);
  json_t *x = json_array_get(m, 0);
  assert_string_equal(alarm_str(x, "state"), "active");
  assert_true(json_integer_value(json_object_get(x, "level")) >= level); /* escalated to the highest already */
  assert_non_null(strstr(alarm_str(x, "message"), "has still not happened"));
  assert_non_null(strstr(alarm_str(x, "message"), "acknowledged"));
  json_decref(m);
  assert_true(alarm_lists(a, "/api/v1/alerts", "alerts", alert));

  /* Acknowledged again: quiet for another grace, then back again. */
  assert_int_equal(alarm_ack(a, alert), 200);
  assert_int_equal(alarm_advance_clock(a, "47h"), 200);
  assert_false(alarm_lists(a, "/api/v1/alerts", "alerts", alert));
  assert_int_equal(alarm_advance_clock(a, "2h"), 200);
  assert_true(alarm_lists(a, "/api/v1/alerts", "alerts", alert));

  /* The patient comes: closed, and it does not come back. */
  assert_int_equal(alarm_ack(a, alert), 200);
  start(a, "P-6001");
  assert_int_equal(alarm_advance_clock(a, "30h"), 200);
  m = missed(a, "P-6001");
  assert_int_equal(json_array_size(m), 1);
  assert_string_equal(alarm_str(json_array_get(m, 0), "state"), "closed");
  json_decref(m);
  assert_false(alarm_lists(a, "/api/v1/alerts", "alerts", alert));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(an_acknowledged_missed_session_comes_back, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
