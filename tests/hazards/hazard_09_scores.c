/* hazard_09_scores.c: H9 in docs/safety.md, scores accept nonsense.
 *
 * End to end over the HTTP API of a real `vigil serve`: a fit patient's
 * Aldrete points, entered as JSON numbers, are scored by the documented
 * pattern (compute = scores.aldrete(x).total) and not refused; a NEWS2 that
 * meets a temperature typed in Fahrenheit (a clinic widened the entry range)
 * is not scored, and the alert names the field; a systolic below
 * its diastolic is refused at entry ("swapped?"), and nothing is recorded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "serve_process.h"

static const char *PROTOCOL =
    "local v = require 'vigil'\n"
    "local scores = require 'vigil.scores'\n"
    "return v.protocol 'h9' {\n"
    "  version = '1.0.0',\n"
    "  phases = { v.phase 'one' { items = {\n"
    "    v.vitals 'obs' { fields = { 'sbp', 'dbp', 'hr', 'spo2', 'rr', 'consciousness', 'o2',\n"
    "                               temp = { range = { 30, 110 } } } },\n"
    "    v.score 'news2' { from = 'obs', compute = function(x) return scores.news2(x).total end },\n"
    "    v.score 'aldrete' { fields = scores.aldrete_fields,\n"
    "                        compute = function(x) return scores.aldrete(x).total end },\n"
    "  } } },\n"
    "}\n";

typedef struct fixture {
  serve_process s;
  uint64_t visit;
  char path[64];
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f || serve_setup(&f->s, PROTOCOL) < 0) return -1;
  serve_configure(&f->s, "");
  if (serve_start(&f->s) < 0) return -1;
  f->visit = serve_start_visit(&f->s, "h9", "MRN-9");
  if (!f->visit) return -1;
  snprintf(f->path, sizeof f->path, "/api/v1/visits/%llu/entries", (unsigned long long)f->visit);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  serve_cleanup(&f->s);
  free(f);
  return 0;
}

/* The error member of a refusal (the body is freed by the caller). */
static json_t *error_of(const char *body) {
  json_t *j = json_loads(body, 0, NULL);
  assert_non_null(j);
  return j;
}

/* How many readings item has in the visit (its "count"). */
static long long count_of(fixture *f, const char *item) {
  char path[64], *body = NULL;
  snprintf(path, sizeof path, "/api/v1/visits/%llu", (unsigned long long)f->visit);
  assert_int_equal(serve_request(&f->s, "GET", path, NULL, &body), 200);
  json_t *v = json_loads(body, 0, NULL);
  free(body);
  assert_non_null(v);
  size_t i, j;
  json_t *ph, *it;
  long long n = -1;
  json_array_foreach(json_object_get(v, "phases"), i, ph) {
    json_array_foreach(json_object_get(ph, "items"), j, it) {
      if (!strcmp(json_string_value(json_object_get(it, "id")), item))
        n = json_integer_value(json_object_get(it, "count"));
    }
  }
  json_decref(v);
  return n;
}

/* A fit patient's points arrive as JSON numbers (2, or 2.0 from a form that
 * sends floats): scored, total 10, not refused as "not 0, 1 or 2". */
static void aldrete_points_from_json_are_scored(void **state) {
  fixture *f = *state;
  char *body = NULL;
  int st = serve_request(&f->s, "POST", f->path,
                         "{\"aldrete\": {\"activity\": 2, \"respiration\": 2.0, \"circulation\": 2, "
                         "\"consciousness\": 2, \"spo2\": 2}}",
                         &body);
  if (st != 200) fail_msg("the Aldrete entry was refused (%d): %s", st, body ? body : "");
  json_t *v = json_loads(body, 0, NULL);
  free(body);
  assert_non_null(v);
  json_decref(v);
  assert_int_equal(count_of(f, "aldrete"), 1);
}

/* The message of the visit's alert whose message contains part, or NULL
 * (malloc'd). */
static char *alert_with(fixture *f, const char *part) {
  char path[64], *body = NULL;
  snprintf(path, sizeof path, "/api/v1/visits/%llu", (unsigned long long)f->visit);
  assert_int_equal(serve_request(&f->s, "GET", path, NULL, &body), 200);
  json_t *v = json_loads(body, 0, NULL);
  free(body);
  assert_non_null(v);
  size_t i;
  json_t *a;
  char *found = NULL;
  json_array_foreach(json_object_get(v, "alerts"), i, a) {
    const char *m = json_string_value(json_object_get(a, "message"));
    if (m && strstr(m, part) && !found) found = strdup(m);
  }
  json_decref(v);
  return found;
}

/* 98.6 typed as Celsius: the entry range lets it through (the clinic widened
 * it to take either unit), NEWS2 refuses to score it: no NEWS2 is recorded,
 * and the alert that says so names the field and the value. */
static void news2_refuses_fahrenheit(void **state) {
  fixture *f = *state;
  int st = serve_request(&f->s, "POST", f->path,
                         "{\"obs\": {\"sbp\": 120, \"dbp\": 80, \"hr\": 70, \"spo2\": 97, \"rr\": 16, "
                         "\"consciousness\": \"alert\", \"o2\": false, \"temp\": 98.6}}",
                         NULL);
  assert_int_equal(st, 200);
  assert_int_equal(count_of(f, "news2"), 0);
  char *m = alert_with(f, "temp 98.6 is outside the plausible range 25-45 C");
  if (!m) fail_msg("no alert names the temperature");
  free(m);
  /* The same reading in Celsius is scored. */
  st = serve_request(&f->s, "POST", f->path,
                     "{\"obs\": {\"sbp\": 120, \"dbp\": 80, \"hr\": 70, \"spo2\": 97, \"rr\": 16, "
                     "\"consciousness\": \"alert\", \"o2\": false, \"temp\": 37.0}}",
                     NULL);
  assert_int_equal(st, 200);
  assert_int_equal(count_of(f, "news2"), 1);
}

/* 70/120: the two pressures typed into each other's field. */
static void swapped_pressures_are_refused(void **state) {
  fixture *f = *state;
  char *body = NULL;
  int st = serve_request(&f->s, "POST", f->path,
                         "{\"obs\": {\"sbp\": 70, \"dbp\": 120, \"hr\": 70, \"spo2\": 97, \"rr\": 16, "
                         "\"consciousness\": \"alert\", \"o2\": false, \"temp\": 37.0}}",
                         &body);
  assert_int_equal(st, 422);
  json_t *j = error_of(body);
  json_t *err = json_object_get(j, "error");
  const char *msg = json_string_value(json_object_get(err, "message"));
  assert_non_null(msg);
  if (!strstr(msg, "swapped?")) fail_msg("message: %s", msg);
  assert_string_equal(json_string_value(json_object_get(err, "field")), "obs.sbp");
  json_decref(j);
  free(body);
  assert_int_equal(count_of(f, "obs"), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(aldrete_points_from_json_are_scored, setup, teardown),
      cmocka_unit_test_setup_teardown(news2_refuses_fahrenheit, setup, teardown),
      cmocka_unit_test_setup_teardown(swapped_pressures_are_refused, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
