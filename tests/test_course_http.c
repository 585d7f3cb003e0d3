/* test_course_http.c: a patient's course over the HTTP API of a real
 * `vigil serve` (tests/protocols/course's protocol): the sessions and the
 * PHQ-9 trend at GET /api/v1/patients/{patient}, a patient's visits listed
 * with every status, a second open course refused (409), a course closed with
 * a reason (and a nurse's close without one refused), an unknown patient 404
 * and a bad due filter 400. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "serve_process.h"

static const char PROTOCOL[] =
    "-- A small visit protocol with a course, for test_course.c: three induction\n"
    "-- sessions two days apart (at least one day apart), then maintenance every\n"
    "-- 14 days; PHQ-9 and the dose measured at each session.\n"
    "local v = require \"vigil\"\n"
    "\n"
    "local fmt = string.format\n"
    "\n"
    "return v.protocol \"course_test\" {\n"
    "  version = \"1.0.0\",\n"
    "  title = \"Course test\",\n"
    "  params = {\n"
    "    v.param \"dose\" { title = \"Dose\", default = 0.5, unit = \"mg/kg\", range = { 0.1, 1.0 } },\n"
    "  },\n"
    "  course = v.course {\n"
    "    sessions = 3, within = \"10d\", min_interval = \"1d\", interval = \"2d\", grace = \"1d\",\n"
    "    maintenance = { interval = \"14d\" },\n"
    "    measures = { phq9 = { item = \"session.phq9\" }, dose = { param = \"dose\" } },\n"
    "    response = { measure = \"phq9\", fall_pct = 50 },\n"
    "    remission = { measure = \"phq9\", below = 5 },\n"
    "  },\n"
    "  phases = {\n"
    "    v.phase \"session\" {\n"
    "      items = {\n"
    "        v.check \"consent\" {\n"
    "          title = \"Consent\",\n"
    "          -- Sooner than the course's minimum interval: a clinician decides.\n"
    "          rule = function(_, visit)\n"
    "            local c = visit.course()\n"
    "            if c and c.days_since_last and c.days_since_last * 86400000 < c.min_interval then\n"
    "              return v.block(fmt(\"Session %d comes %.1f days after the last one: a clinician decides.\", "
    "c.session,\n"
    "                                 c.days_since_last))\n"
    "            end\n"
    "          end,\n"
    "        },\n"
    "        v.number \"phq9\" {\n"
    "          title = \"PHQ-9 total\", unit = \"{score}\", range = { 0, 27 },\n"
    "          rule = function(x, visit)\n"
    "            local c = visit.course()\n"
    "            local before, first = c and c.previous(\"phq9\"), c and c.first(\"phq9\")\n"
    "            if before then\n"
    "              return v.note(fmt(\"PHQ-9 %d at session %d of %d (previous %d, first %d)\", x, c.session, "
    "c.sessions,\n"
    "                                before, first))\n"
    "            end\n"
    "          end,\n"
    "        },\n"
    "      },\n"
    "    },\n"
    "  },\n"
    "}\n"
    "\n";

static json_t *get(serve_process *s, const char *path, int want) {
  char *text;
  int status = serve_request(s, "GET", path, NULL, &text);
  if (status != want) fail_msg("GET %s: %d, not %d: %s", path, status, want, text ? text : "");
  json_t *j = json_loads(text, 0, NULL);
  free(text);
  return j;
}

static void course_over_http(void **state) {
  (void)state;
  serve_process s;
  if (serve_setup(&s, PROTOCOL) < 0) fail();
  serve_configure(&s, "");
  if (serve_start(&s) < 0) fail();
  int phq9[] = {20, 9};
  uint64_t ids[2];
  for (int i = 0; i < 2; i++) {
    ids[i] = serve_start_visit(&s, "course_test", "MRN-7");
    assert_true(ids[i] > 0);
    char path[64], body[64];
    snprintf(path, sizeof path, "/api/v1/visits/%llu/entries", (unsigned long long)ids[i]);
    snprintf(body, sizeof body, "{\"consent\": true, \"phq9\": %d}", phq9[i]);
    assert_int_equal(serve_request(&s, "POST", path, body, NULL), 200);
    snprintf(path, sizeof path, "/api/v1/visits/%llu/abort", (unsigned long long)ids[i]);
    assert_int_equal(serve_request(&s, "POST", path, "{\"reason\": \"test\"}", NULL), 200);
  }
  json_t *p = get(&s, "/api/v1/patients/MRN-7", 200);
  json_t *c = json_array_get(json_object_get(p, "courses"), 0);
  assert_int_equal(json_array_size(json_object_get(c, "sessions")), 2);
  json_t *trend = json_object_get(json_object_get(c, "measures"), "phq9");
  assert_int_equal(json_array_size(trend), 2);
  assert_int_equal((int)json_number_value(json_object_get(json_array_get(trend, 1), "value")), 9);
  assert_true(json_is_true(json_object_get(c, "response"))); /* 20 -> 9: 55 % */
  assert_true(json_is_false(json_object_get(c, "remission")));
  uint64_t course = (uint64_t)json_integer_value(json_object_get(c, "id"));
  json_decref(p);
  /* The patient's visits, closed ones too, without asking for a status. */
  json_t *vs = get(&s, "/api/v1/visits?patient=MRN-7", 200);
  assert_int_equal(json_array_size(json_object_get(vs, "visits")), 2);
  json_decref(vs);
  char *text = NULL;
  assert_int_equal(
      serve_request(&s, "POST", "/api/v1/courses", "{\"protocol\": \"course_test\", \"patient\": \"MRN-7\"}", &text),
      409);
  assert_non_null(strstr(text, "already_exists"));
  free(text);
  char path[64];
  snprintf(path, sizeof path, "/api/v1/courses/%llu/close", (unsigned long long)course);
  assert_int_equal(serve_request(&s, "POST", path, "{}", NULL), 422);
  assert_int_equal(serve_request(&s, "POST", "/api/v1/courses/999/close", "{\"reason\": \"x\"}", NULL), 404);
  assert_int_equal(serve_request(&s, "POST", path, "{\"reason\": \"patient moved away\"}", &text), 200);
  assert_non_null(strstr(text, "patient moved away"));
  free(text);
  assert_int_equal(serve_request(&s, "POST", path, "{\"reason\": \"again\"}", NULL), 409);
  json_decref(get(&s, "/api/v1/patients/nobody", 404));
  json_decref(get(&s, "/api/v1/patients?due=someday", 400));
  json_t *due = get(&s, "/api/v1/patients?due=overdue", 200);
  assert_int_equal(json_array_size(json_object_get(due, "patients")), 0); /* closed: due no more */
  json_decref(due);
  serve_cleanup(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(course_over_http)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
