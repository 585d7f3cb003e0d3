/* M10 and P9's course parts (docs/safety.md; H14 no one is lost, without
 * alerts that mislead): two missed-session alerts for one patient, one per
 * course protocol; missed-session alerts while a visit of the patient was
 * open; an open abandoned visit made the next alert say "session 3 due" when
 * session 2 never happened; a nurse moved a missed induction session 14 days
 * on, a 3-day interval.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock, with two course protocols written here (a session is one PHQ-9):
 * course_a, 3 sessions every 3 days, grace 2 days, maintenance every 14
 * days; course_b, 4 sessions every 4 days, grace 2 days. Each case fails
 * without its control (course.c missed_deadline, vigil_course_reschedule_limit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_course.h"
#include "hazard_restart.h"

#define COURSE(name, sessions, interval, maintenance)                                                                  \
  "local v = require \"vigil\"\n"                                                                                      \
  "return v.protocol \"" name "\" {\n"                                                                                 \
  "  version = \"1.0.0\", title = \"" name "\",\n"                                                                     \
  "  course = v.course {\n"                                                                                            \
  "    sessions = " sessions ", within = \"60d\", min_interval = \"1d\", interval = \"" interval "\",\n"               \
  "    grace = \"2d\", maintenance = { interval = \"" maintenance "\" },\n"                                            \
  "    measures = { phq9 = { item = \"session.phq9\" } },\n"                                                           \
  "  },\n"                                                                                                             \
  "  phases = { v.phase \"session\" {\n"                                                                               \
  "    items = { v.number \"phq9\" { title = \"PHQ-9 total\", unit = \"{score}\", range = { 0, 27 } } },\n"            \
  "  } },\n"                                                                                                           \
  "}\n"

static const char *const PROTOCOLS[] = {COURSE("course_a", "3", "3d", "14d"), COURSE("course_b", "4", "4d", "7d")};

static int setup(void **state) { return alarm_setup_protocols(state, PROTOCOLS, 2); }

static uint64_t start(alarm_serve *a, const char *protocol, const char *patient) {
  char body[256];
  json_t *r = NULL;
  snprintf(body, sizeof body, "{\"protocol\": \"%s\", \"patient\": \"%s\"}", protocol, patient);
  assert_int_equal(alarm_call(a, NULL, "POST", "/api/v1/visits", body, &r), 201);
  uint64_t id = (uint64_t)json_integer_value(json_object_get(r, "id"));
  json_decref(r);
  return id;
}

/* A session: started now, its PHQ-9, discharged. */
static void session(alarm_serve *a, const char *protocol, const char *patient) {
  uint64_t id = start(a, protocol, patient);
  assert_int_equal(alarm_record(a, id, "{\"phq9\": 14}"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "discharge", "{\"password\": \"" SERVE_PASSWORD "\"}"), 200);
}

/* The patient's missed_session alerts, every course's, a new reference. */
static json_t *missed(alarm_serve *a, const char *patient) {
  char path[128];
  json_t *p = NULL, *c, *x, *out = json_array();
  size_t i, k;
  snprintf(path, sizeof path, "/api/v1/patients/%s", patient);
  assert_int_equal(alarm_call(a, NULL, "GET", path, NULL, &p), 200);
  json_array_foreach(json_object_get(p, "courses"), k, c) {
    json_array_foreach(json_object_get(c, "alerts"), i, x) {
      if (!strcmp(alarm_str(x, "rule"), "missed_session")) json_array_append(out, x);
    }
  }
  json_decref(p);
  return out;
}

static size_t n_missed(alarm_serve *a, const char *patient) {
  json_t *m = missed(a, patient);
  size_t n = json_array_size(m);
  json_decref(m);
  return n;
}

/* M10: a patient on two course protocols, both overdue, has one
 * missed-session alert, not one per course. */
static void one_missed_alert_per_patient(void **state) {
  alarm_serve *a = *state;
  session(a, "course_a", "P-M1");
  assert_int_equal(alarm_advance_clock(a, "25h"), 200);
  session(a, "course_b", "P-M1");
  /* course_a is missed on day 5, course_b on day 7 (and 1 h). */
  assert_int_equal(alarm_advance_clock(a, "4d"), 200);
  assert_int_equal(n_missed(a, "P-M1"), 1);
  assert_int_equal(alarm_advance_clock(a, "4d"), 200);
  assert_int_equal(n_missed(a, "P-M1"), 1);
}

/* The patient's one missed-session alert is course_a's; course_a closed by
 * a clinician, course_b's missed session raises its own alert. */
static void close_the_first_then_the_other_alerts(alarm_serve *a) {
  assert_int_equal(n_missed(a, "P-M3"), 1);
  json_t *p = NULL, *c;
  size_t k;
  uint64_t course_a = 0;
  assert_int_equal(alarm_call(a, NULL, "GET", "/api/v1/patients/P-M3", NULL, &p), 200);
  json_array_foreach(json_object_get(p, "courses"), k, c) {
    if (!strncmp(alarm_str(c, "protocol"), "course_a@", 9))
      course_a = (uint64_t)json_integer_value(json_object_get(c, "id"));
  }
  json_decref(p);
  assert_true(course_a > 0);
  char path[96];
  snprintf(path, sizeof path, "/api/v1/courses/%llu/close", (unsigned long long)course_a);
  assert_int_equal(alarm_call(a, ALARM_CLINICIAN, "POST", path,
                              "{\"reason\": \"switched to course_b\", \"password\": \"" SERVE_PASSWORD "\"}", NULL),
                   200);
  /* course_b was due on day 5 (and 1 h), missed since day 7: it comes now. */
  assert_int_equal(alarm_advance_clock(a, "4d"), 200);
  json_t *m = missed(a, "P-M3"), *x;
  size_t open = 0, i;
  json_array_foreach(m, i, x) {
    if (strcmp(alarm_str(x, "state"), "closed")) open++;
  }
  json_decref(m);
  if (open != 1) fail_msg("course_b's missed session raised %zu open alerts, not 1", open);
}

/* The course try of 2026-12-06: with course_a's missed-session alert open,
 * course_b's is held (M10); course_a closed by a clinician (its alert closed
 * with it), course_b's missed session raised nothing until the server was
 * restarted, days later. The other course's alert comes when the first's
 * closes. */
static void the_other_course_alerts_once_the_first_closes(void **state) {
  alarm_serve *a = *state;
  session(a, "course_a", "P-M3");
  assert_int_equal(alarm_advance_clock(a, "25h"), 200);
  session(a, "course_b", "P-M3");
  assert_int_equal(alarm_advance_clock(a, "4d"), 200);
  close_the_first_then_the_other_alerts(a);
}

static void the_other_course_alerts_once_the_first_closes_no_session(void **state) {
  alarm_serve *a = *state;
  assert_int_equal(
      alarm_call(a, NULL, "POST", "/api/v1/courses", "{\"protocol\": \"course_a\", \"patient\": \"P-M3\"}", NULL), 201);
  assert_int_equal(
      alarm_call(a, NULL, "POST", "/api/v1/courses", "{\"protocol\": \"course_b\", \"patient\": \"P-M3\"}", NULL), 201);
  assert_int_equal(alarm_advance_clock(a, "7d"), 200);
  close_the_first_then_the_other_alerts(a);
}

/* M10: no missed-session alert while a visit of the patient is open on
 * another course protocol (the grace from its start); the one that comes
 * then is the patient's only one. */
static void none_while_a_visit_is_open(void **state) {
  alarm_serve *a = *state;
  session(a, "course_a", "P-M2");
  /* Due on day 3, missed on day 5: the patient is in a course_b chair on
   * day 4 (23 h), and that visit is left open. */
  assert_int_equal(alarm_advance_clock(a, "4d23h"), 200);
  start(a, "course_b", "P-M2");
  assert_int_equal(alarm_advance_clock(a, "2h"), 200);
  assert_int_equal(n_missed(a, "P-M2"), 0);
  /* Two days after the open visit began: the alert comes, once. */
  assert_int_equal(alarm_advance_clock(a, "2d"), 200);
  assert_int_equal(n_missed(a, "P-M2"), 1);
}

/* P9: a session open with no dose given (abandoned) is not session 2 given:
 * the alert says session 2 is due, when the grace from the visit's start has
 * passed, not "session 3" days later. */
static void an_abandoned_visit_is_no_session_given(void **state) {
  alarm_serve *a = *state;
  session(a, "course_a", "P-M3");
  assert_int_equal(alarm_advance_clock(a, "3d"), 200);
  uint64_t open = start(a, "course_a", "P-M3");
  /* Across a restart: the deadline is armed again once the open visit is held. */
  assert_int_equal(alarm_restart(a), 0);
  assert_int_equal(alarm_advance_clock(a, "2d1h"), 200);
  json_t *m = missed(a, "P-M3");
  assert_int_equal(json_array_size(m), 1);
  const char *text = alarm_str(json_array_get(m, 0), "message");
  assert_non_null(strstr(text, "Session 2 of patient P-M3"));
  char opened[64];
  snprintf(opened, sizeof opened, "visit %llu has been open since", (unsigned long long)open);
  assert_non_null(strstr(text, opened));
  json_decref(m);
}

/* P9: in the induction (3 days apart), a nurse does not move a missed
 * session 8 days on (within the maintenance's 14 days: it was taken), saying
 * the interval; 2 days on the nurse does (a clinician's signed move beyond
 * it: test_course_http spelling_and_reschedule_over_http). */
static void a_nurse_reschedules_within_the_induction_interval(void **state) {
  alarm_serve *a = *state;
  session(a, "course_a", "P-M4");
  assert_int_equal(alarm_advance_clock(a, "5d1h"), 200);
  json_t *m = missed(a, "P-M4");
  assert_int_equal(json_array_size(m), 1);
  uint64_t alert = alarm_id(json_array_get(m, 0));
  json_decref(m);
  long long now = alarm_now(a);
  char path[96], body[256], day[32];
  snprintf(path, sizeof path, "/api/v1/alerts/%llu/close", (unsigned long long)alert);
  time_t t = (time_t)(now / 1000 + 8 * 86400);
  strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
  snprintf(body, sizeof body, "{\"reason\": \"rescheduled\", \"why\": \"phoned: away\", \"due\": \"%s\"}", day);
  json_t *r = NULL;
  assert_int_equal(alarm_call(a, NULL, "POST", path, body, &r), 422);
  assert_non_null(strstr(alarm_str(json_object_get(r, "error"), "message"), "interval (3 days)"));
  json_decref(r);
  t = (time_t)(now / 1000 + 2 * 86400);
  strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
  snprintf(body, sizeof body, "{\"reason\": \"rescheduled\", \"why\": \"phoned: away\", \"due\": \"%s\"}", day);
  assert_int_equal(alarm_call(a, NULL, "POST", path, body, NULL), 200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(one_missed_alert_per_patient, setup, alarm_teardown),
      cmocka_unit_test_setup_teardown(the_other_course_alerts_once_the_first_closes, setup, alarm_teardown),
      cmocka_unit_test_setup_teardown(the_other_course_alerts_once_the_first_closes_no_session, setup, alarm_teardown),
      cmocka_unit_test_setup_teardown(none_while_a_visit_is_open, setup, alarm_teardown),
      cmocka_unit_test_setup_teardown(an_abandoned_visit_is_no_session_given, setup, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_nurse_reschedules_within_the_induction_interval, setup, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
