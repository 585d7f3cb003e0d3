/* C9 (docs/safety.md, the independent course try, issue 15; H14 no one is
 * lost): a course started before its first visit (POST /api/v1/courses) was
 * never due: 28 days later it had no next_due, was not overdue, raised no
 * missed-session alert and was in neither GET /api/v1/alerts nor
 * GET /api/v1/patients?due=overdue|today.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock with the bundled esketamine_rems (interval 4 days, grace 2 days):
 * the first session is due the protocol's interval after the course's start,
 * listed due that day, overdue and alerted ("Session 1 ... was due") once the
 * grace has passed, across a restart; the first visit closes the alert.
 * Fails without the control (course.c next_due_after, missed_deadline):
 * next_due null, no alert at 6 days. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_course.h"
#include "hazard_restart.h"

/* Whether GET path's "patients" lists patient. */
static int due_lists(alarm_serve *a, const char *path, const char *patient) {
  json_t *r = NULL, *x;
  size_t i;
  int found = 0;
  assert_int_equal(alarm_call(a, NULL, "GET", path, NULL, &r), 200);
  json_array_foreach(json_object_get(r, "patients"), i, x) found |= !strcmp(alarm_str(x, "patient"), patient);
  json_decref(r);
  return found;
}

/* The patient's first course (GET /api/v1/patients/{patient}), a new reference. */
static json_t *course_of(alarm_serve *a, const char *patient) {
  char path[128];
  json_t *p = NULL;
  snprintf(path, sizeof path, "/api/v1/patients/%s", patient);
  assert_int_equal(alarm_call(a, NULL, "GET", path, NULL, &p), 200);
  json_t *c = json_incref(json_array_get(json_object_get(p, "courses"), 0));
  json_decref(p);
  return c;
}

static void a_course_before_its_first_visit_is_due(void **state) {
  alarm_serve *a = *state;
  assert_int_equal(alarm_call(a, NULL, "POST", "/api/v1/courses",
                              "{\"protocol\": \"esketamine_rems\", \"patient\": \"P-20\"}", NULL),
                   201);
  json_t *c = course_of(a, "P-20");
  assert_true(json_is_string(json_object_get(c, "next_due")));
  assert_true(json_is_false(json_object_get(c, "overdue")));
  json_decref(c);
  assert_false(due_lists(a, "/api/v1/patients?due=overdue", "P-20"));

  /* Day 4: session 1 is due today, not overdue yet (the grace is 2 days). */
  assert_int_equal(alarm_advance_clock(a, "96h"), 200);
  assert_true(due_lists(a, "/api/v1/patients?due=today", "P-20"));
  assert_false(due_lists(a, "/api/v1/patients?due=overdue", "P-20"));
  json_t *m = course_alerts_of(a, "P-20", "missed_session");
  assert_int_equal(json_array_size(m), 0);
  json_decref(m);

  /* A restart keeps the deadline (folded from the course's start). */
  assert_int_equal(alarm_restart(a), 0);
  assert_int_equal(alarm_advance_clock(a, "47h"), 200);
  m = course_alerts_of(a, "P-20", "missed_session");
  assert_int_equal(json_array_size(m), 0);
  json_decref(m);

  /* Day 6 and an hour: overdue, the missed-session alert for session 1. */
  assert_int_equal(alarm_advance_clock(a, "2h"), 200);
  assert_true(due_lists(a, "/api/v1/patients?due=overdue", "P-20"));
  c = course_of(a, "P-20");
  assert_true(json_is_true(json_object_get(c, "overdue")));
  json_decref(c);
  m = course_alerts_of(a, "P-20", "missed_session");
  assert_int_equal(json_array_size(m), 1);
  json_t *x = json_array_get(m, 0);
  assert_string_equal(alarm_str(x, "state"), "active");
  assert_non_null(strstr(alarm_str(x, "message"), "Session 1 of patient P-20"));
  uint64_t alert = alarm_id(x);
  json_decref(m);
  assert_true(alarm_lists(a, "/api/v1/alerts", "alerts", alert));

  /* The first visit comes: the alert closes. */
  assert_int_equal(
      alarm_call(a, NULL, "POST", "/api/v1/visits", "{\"protocol\": \"esketamine_rems\", \"patient\": \"P-20\"}", NULL),
      201);
  m = course_alerts_of(a, "P-20", "missed_session");
  assert_string_equal(alarm_str(json_array_get(m, 0), "state"), "closed");
  json_decref(m);
  assert_false(alarm_lists(a, "/api/v1/alerts", "alerts", alert));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_course_before_its_first_visit_is_due, alarm_setup_esketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
