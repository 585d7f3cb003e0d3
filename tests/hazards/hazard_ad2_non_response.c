/* AD2 (docs/safety.md; H14 no one is lost): a nurse acknowledged the
 * course's `non_response` alert without a reason (200) and closed the
 * completed course (200), which closed the alert: a failed induction closed
 * without the psychiatrist deciding what next. The alert is a clinician's to
 * acknowledge, with a reason (as a carried `dose_change`); a course with it
 * open is closed only by a clinician, who signs.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock, with a course protocol written here: 2 sessions a day apart, a
 * session is one PHQ-9, a response is a fall of 50 %. Each case fails
 * without its control (course.c: the alert is carried; the close needs a
 * clinician while it is open). */
#include <time.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

static const char PROTOCOL[] = "local v = require \"vigil\"\n"
                               "return v.protocol \"course_r\" {\n"
                               "  version = \"1.0.0\", title = \"course_r\",\n"
                               "  course = v.course {\n"
                               "    sessions = 2, within = \"30d\", min_interval = \"1d\", interval = \"2d\",\n"
                               "    grace = \"2d\",\n"
                               "    measures = { phq9 = { item = \"session.phq9\" } },\n"
                               "    response = { measure = \"phq9\", fall_pct = 50 },\n"
                               "  },\n"
                               "  phases = { v.phase \"session\" {\n"
                               "    items = { v.number \"phq9\" { title = \"PHQ-9 total\", unit = \"{score}\", "
                               "range = { 0, 27 } } },\n"
                               "  } },\n"
                               "}\n";

static const char *const PROTOCOLS[] = {PROTOCOL};

static int setup(void **state) { return alarm_setup_protocols(state, PROTOCOLS, 1); }

/* A session of patient: started now, its PHQ-9, discharged. */
static void session(alarm_serve *a, const char *patient, const char *phq9) {
  char body[256];
  snprintf(body, sizeof body, "{\"protocol\": \"course_r\", \"patient\": \"%s\"}", patient);
  uint64_t id = alarm_visit_as(a, NULL, body);
  assert_true(id > 0);
  snprintf(body, sizeof body, "{\"phq9\": %s}", phq9);
  assert_int_equal(alarm_record(a, id, body), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "discharge", "{\"password\": \"" SERVE_PASSWORD "\"}"), 200);
}

/* The patient's course (GET /api/v1/patients/{patient}): its id, and its
 * non_response alert's id and state (NULL when there is none). */
static uint64_t course_of(alarm_serve *a, const char *patient, uint64_t *alert, char *state, size_t len) {
  char path[128];
  json_t *p = NULL, *x;
  size_t i;
  snprintf(path, sizeof path, "/api/v1/patients/%s", patient);
  assert_int_equal(alarm_call(a, NULL, "GET", path, NULL, &p), 200);
  json_t *c = json_array_get(json_object_get(p, "courses"), 0);
  uint64_t id = (uint64_t)json_integer_value(json_object_get(c, "id"));
  *alert = 0;
  snprintf(state, len, "none");
  json_array_foreach(json_object_get(c, "alerts"), i, x) {
    if (strcmp(alarm_str(x, "rule"), "non_response")) continue;
    *alert = alarm_id(x);
    snprintf(state, len, "%s", alarm_str(x, "state"));
    /* The patient page offers it to a clinician only (ui/js/ack.js). */
    if (!json_is_true(json_object_get(x, "carried"))) fail_msg("the patient's non_response alert is not carried");
  }
  json_decref(p);
  return id;
}

/* Two sessions, PHQ-9 20 then 18 (a fall of 10 %): the series ended with no
 * response; a day on, past the minimum interval. The non_response alert's id. */
static uint64_t no_response(alarm_serve *a, const char *patient) {
  session(a, patient, "20");
  assert_int_equal(alarm_advance_clock(a, "2d"), 200);
  session(a, patient, "18");
  assert_int_equal(alarm_advance_clock(a, "25h"), 200);
  uint64_t alert = 0;
  char state[32];
  course_of(a, patient, &alert, state, sizeof state);
  assert_true(alert > 0);
  assert_string_equal(state, "active");
  return alert;
}

/* The nurse cannot silence it, with or without a reason; the clinician
 * acknowledges it with a reason, not without one. */
static void only_a_clinician_acknowledges_it_with_a_reason(void **state) {
  alarm_serve *a = *state;
  uint64_t alert = no_response(a, "P-AD2a");
  int rc = alarm_ack_as(a, NULL, alert, "{}");
  if (rc != 403) fail_msg("a nurse's acknowledgement of non_response without a reason: %d, not 403", rc);
  assert_int_equal(alarm_ack_as(a, NULL, alert, "{\"reason\": \"seen\"}"), 403);
  assert_int_equal(alarm_ack_as(a, ALARM_CLINICIAN, alert, "{}"), 422);
  assert_int_equal(alarm_ack_as(a, ALARM_CLINICIAN, alert, "{\"reason\": \"ECT referral discussed\"}"), 200);
}

/* The nurse cannot close the completed course while non_response is open
 * (acknowledged or not): the clinician does, signing. */
static void a_nurse_does_not_close_the_course_over_it(void **state) {
  alarm_serve *a = *state;
  uint64_t alert = no_response(a, "P-AD2b"), seen = 0;
  char path[96], st[32];
  uint64_t course = course_of(a, "P-AD2b", &seen, st, sizeof st);
  snprintf(path, sizeof path, "/api/v1/courses/%llu/close", (unsigned long long)course);
  int rc = alarm_call(a, NULL, "POST", path, "{\"reason\": \"series done\"}", NULL);
  if (rc != 403) fail_msg("a nurse's close of a course with non_response open: %d, not 403", rc);
  course_of(a, "P-AD2b", &seen, st, sizeof st);
  assert_int_equal(seen, alert);
  assert_string_equal(st, "active");
  assert_int_equal(alarm_ack_as(a, ALARM_CLINICIAN, alert, "{\"reason\": \"maintenance not offered\"}"), 200);
  assert_int_equal(alarm_call(a, NULL, "POST", path, "{\"reason\": \"series done\"}", NULL), 403);
  assert_int_equal(alarm_call(a, ALARM_CLINICIAN, "POST", path,
                              "{\"reason\": \"no response: referred on\", \"password\": \"" SERVE_PASSWORD "\"}", NULL),
                   200);
}

/* AL1 of the fifteenth try: the nurse closed it as "rescheduled" (200), then
 * the course: around both controls above. Only a clinician closes it. */
static void a_nurse_does_not_reschedule_it_away(void **state) {
  alarm_serve *a = *state;
  uint64_t alert = no_response(a, "P-AD2c"), seen = 0;
  char path[96], st[32];
  /* A day on: within the course's interval, a date the nurse may give a missed session. */
  json_t *clock = NULL;
  assert_int_equal(alarm_call(a, NULL, "GET", "/api/v1/clock", NULL, &clock), 200);
  time_t due = (time_t)(json_integer_value(json_object_get(clock, "now_ms")) / 1000) + 86400;
  json_decref(clock);
  char when[32], body[256];
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&due));
  snprintf(body, sizeof body,
           "{\"reason\": \"rescheduled\", \"why\": \"next maintenance session booked\", \"due\": \"%s\"}", when);
  snprintf(path, sizeof path, "/api/v1/alerts/%llu/close", (unsigned long long)alert);
  int rc = alarm_call(a, NULL, "POST", path, body, NULL);
  if (rc != 403) fail_msg("a nurse's close of non_response as rescheduled: %d, not 403", rc);
  course_of(a, "P-AD2c", &seen, st, sizeof st);
  assert_int_equal(seen, alert);
  assert_string_equal(st, "active");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(only_a_clinician_acknowledges_it_with_a_reason, setup, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_nurse_does_not_close_the_course_over_it, setup, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_nurse_does_not_reschedule_it_away, setup, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
