/* P3 (docs/safety.md, the seventh independent try; H14 no one is lost): the
 * missed-session alert fired, a visit started (closing it) and was aborted
 * in screening; the course was overdue but no alert came again, days later
 * or after a restart.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock with the bundled ketamine_iv (interval 3 days, grace 2 days): after
 * the aborted, undosed visit, the session is due again and its alert is
 * raised again when the grace has passed from the abort, across a restart,
 * once. Fails without the control (course.c reopened_at, missed_raised):
 * no second alert. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_course.h"
#include "hazard_restart.h"

static json_t *missed(alarm_serve *a, const char *patient) { return course_alerts_of(a, patient, "missed_session"); }

static uint64_t start(alarm_serve *a, const char *patient) { return course_ketamine_visit(a, patient); }

static void an_aborted_visit_leaves_the_session_due(void **state) {
  alarm_serve *a = *state;
  const char *abort_body = "{\"reason\": \"blood pressure too high today\"}";
  /* Session 1 begins the course and is aborted before any dose. */
  assert_int_equal(alarm_cmd(a, NULL, start(a, "P-3001"), "abort", abort_body), 200);
  /* Due 3 days later, grace 2: the alert. */
  assert_int_equal(alarm_advance_clock(a, "121h"), 200);
  json_t *m = missed(a, "P-3001");
  assert_int_equal(json_array_size(m), 1);
  json_decref(m);
  /* The patient comes (the alert closes), and the visit is aborted in
   * screening: no session was given. */
  assert_int_equal(alarm_cmd(a, NULL, start(a, "P-3001"), "abort", abort_body), 200);
  m = missed(a, "P-3001");
  assert_int_equal(json_array_size(m), 1);
  assert_string_equal(alarm_str(json_array_get(m, 0), "state"), "closed");
  json_decref(m);
  /* Across a restart, the grace from the abort: raised again, once. */
  assert_int_equal(alarm_restart(a), 0);
  assert_int_equal(alarm_advance_clock(a, "47h"), 200);
  m = missed(a, "P-3001");
  assert_int_equal(json_array_size(m), 1);
  json_decref(m);
  assert_int_equal(alarm_advance_clock(a, "2h"), 200);
  m = missed(a, "P-3001");
  assert_int_equal(json_array_size(m), 2);
  json_t *again = json_array_get(m, 1);
  assert_string_equal(alarm_str(again, "state"), "active");
  assert_non_null(strstr(alarm_str(again, "message"), "Session 1 of patient P-3001"));
  assert_non_null(strstr(alarm_str(again, "message"), "its last visit was aborted"));
  json_decref(m);
  assert_int_equal(alarm_advance_clock(a, "72h"), 200);
  m = missed(a, "P-3001");
  assert_int_equal(json_array_size(m), 2);
  json_decref(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(an_aborted_visit_leaves_the_session_due, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
