/* hazard_08_time.c: H8 in docs/safety.md, rules cannot see time.
 *
 * End to end over the HTTP API of a real `vigil serve`: an entry typed late
 * carries observed_at (when it was observed); the visit shows it as late,
 * with both times; rules read visit.observed_at and visit.age, and see the
 * observed time; an observed_at in the future or before the visit started is
 * refused (422, field observed_at) and nothing is recorded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "serve_process.h"

/* The rule raises an alert when the reading it runs on was observed a second
 * or more ago, and says when it was observed. */
static const char *PROTOCOL =
    "local v = require 'vigil'\n"
    "return v.protocol 'h8' {\n"
    "  version = '1.0.0',\n"
    "  phases = { v.phase 'one' { items = {\n"
    "    v.vitals 'obs' { fields = { 'sbp' }, rule = function(x, visit)\n"
    "      if visit.age('obs') >= 1000 then\n"
    "        return v.alert.low(string.format('obs observed %d s ago at %d', visit.age('obs') // 1000,\n"
    "                                          visit.observed_at('obs')), { scope = 'reading' })\n"
    "      end end },\n"
    "  } } },\n"
    "}\n";

typedef struct fixture {
  serve_process s;
  uint64_t visit;
  char path[64], vpath[64];
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f || serve_setup(&f->s, PROTOCOL) < 0) return -1;
  serve_configure(&f->s, "");
  if (serve_start(&f->s) < 0) return -1;
  f->visit = serve_start_visit(&f->s, "h8", "MRN-8");
  if (!f->visit) return -1;
  snprintf(f->path, sizeof f->path, "/api/v1/visits/%llu/entries", (unsigned long long)f->visit);
  snprintf(f->vpath, sizeof f->vpath, "/api/v1/visits/%llu", (unsigned long long)f->visit);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  serve_cleanup(&f->s);
  free(f);
  return 0;
}

static json_t *visit_json(fixture *f) {
  char *body = NULL;
  assert_int_equal(serve_request(&f->s, "GET", f->vpath, NULL, &body), 200);
  json_t *v = json_loads(body, 0, NULL);
  free(body);
  assert_non_null(v);
  return v;
}

static json_t *item_of(json_t *v, const char *id) {
  size_t i, j;
  json_t *ph, *it;
  json_array_foreach(json_object_get(v, "phases"), i, ph) {
    json_array_foreach(json_object_get(ph, "items"), j, it) {
      if (!strcmp(json_string_value(json_object_get(it, "id")), id)) return it;
    }
  }
  fail_msg("no item %s", id);
  return NULL;
}

static int alert_with(json_t *v, const char *part) {
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(v, "alerts"), i, a) {
    const char *m = json_string_value(json_object_get(a, "message"));
    if (m && strstr(m, part)) return 1;
  }
  return 0;
}

/* Observed when the visit started, typed over a second later. */
static void late_entry_is_shown_and_rules_use_its_time(void **state) {
  fixture *f = *state;
  json_t *v = visit_json(f);
  char started[64];
  snprintf(started, sizeof started, "%s", json_string_value(json_object_get(v, "started_at")));
  json_decref(v);
  usleep(1300 * 1000);
  char body[200], *out = NULL;
  snprintf(body, sizeof body, "{\"obs\": {\"sbp\": 120}, \"observed_at\": \"%s\"}", started);
  int st = serve_request(&f->s, "POST", f->path, body, &out);
  if (st != 200) fail_msg("late entry answered %d: %s", st, out ? out : "");
  free(out);
  v = visit_json(f);
  json_t *it = item_of(v, "obs");
  assert_true(json_is_true(json_object_get(it, "late")));
  assert_string_equal(json_string_value(json_object_get(it, "observed_at")), started);
  assert_true(strcmp(json_string_value(json_object_get(it, "recorded_at")), started) > 0);
  if (!alert_with(v, "obs observed 1 s ago")) fail_msg("the rule did not see the observed time");
  json_decref(v);
}

/* An entry typed now is not late, and its age is 0. */
static void timely_entry_is_not_late(void **state) {
  fixture *f = *state;
  assert_int_equal(serve_request(&f->s, "POST", f->path, "{\"obs\": {\"sbp\": 120}}", NULL), 200);
  json_t *v = visit_json(f);
  json_t *it = item_of(v, "obs");
  assert_null(json_object_get(it, "late"));
  assert_false(alert_with(v, "obs observed"));
  json_decref(v);
}

static void refused(fixture *f, const char *when, const char *part) {
  char body[200], *out = NULL;
  snprintf(body, sizeof body, "{\"obs\": {\"sbp\": 120}, \"observed_at\": \"%s\"}", when);
  assert_int_equal(serve_request(&f->s, "POST", f->path, body, &out), 422);
  json_t *j = json_loads(out, 0, NULL);
  free(out);
  json_t *err = json_object_get(j, "error");
  assert_string_equal(json_string_value(json_object_get(err, "field")), "observed_at");
  const char *msg = json_string_value(json_object_get(err, "message"));
  if (!msg || !strstr(msg, part)) fail_msg("message: %s", msg ? msg : "(none)");
  json_decref(j);
  json_t *v = visit_json(f);
  assert_int_equal(json_integer_value(json_object_get(item_of(v, "obs"), "count")), 0);
  json_decref(v);
}

static void future_and_before_the_visit_are_refused(void **state) {
  fixture *f = *state;
  refused(f, "2999-01-01T00:00:00Z", "in the future");
  refused(f, "2000-01-01T00:00:00Z", "before the visit started");
  refused(f, "yesterday", "must be a time");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(late_entry_is_shown_and_rules_use_its_time, setup, teardown),
      cmocka_unit_test_setup_teardown(timely_entry_is_not_late, setup, teardown),
      cmocka_unit_test_setup_teardown(future_and_before_the_visit_are_refused, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
