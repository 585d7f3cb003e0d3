/* test_workstation_settings.c: the site's settings the workstation reads
 * with the session (`vigil serve` as a child process on SQLite): vigil.conf's
 * ack_reasons, the quick picks for an acknowledgement with a reason
 * (docs/workstation.md), and site.usual_protocol, the protocol the start
 * form chooses first, come back in GET /api/v1/session as written, none
 * (null) without the setting; a setting of the wrong shape is refused at
 * start with its file and line. Their use in the browser:
 * tests/browser/shift.test.js. */
#define _GNU_SOURCE
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "serve_process.h"

static const char *PROTOCOL = "local v = require 'vigil'\n"
                              "return v.protocol 'plain' { version = '1.0.0', phases = {\n"
                              "  v.phase 'one' { items = { v.check 'done' { title = 'Done' } } } } }\n";

/* The session's member name (a new reference). */
static json_t *session_member(serve_process *s, const char *name) {
  char *body = NULL;
  assert_int_equal(serve_request(s, "GET", "/api/v1/session", NULL, &body), 200);
  json_t *j = json_loads(body, 0, NULL);
  free(body);
  assert_non_null(j);
  json_t *r = json_incref(json_object_get(j, name));
  json_decref(j);
  assert_non_null(r);
  return r;
}

static void site_settings_reach_the_session(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(serve_setup(&s, PROTOCOL), 0);

  serve_configure(&s, "");
  assert_int_equal(serve_start(&s), 0);
  json_t *none = session_member(&s, "ack_reasons");
  assert_true(json_is_array(none));
  assert_int_equal(json_array_size(none), 0);
  json_decref(none);
  json_t *usual = session_member(&s, "usual_protocol");
  assert_true(json_is_null(usual));
  json_decref(usual);
  assert_int_equal(serve_stop(&s, 0), 0);

  serve_configure(&s, "ack_reasons = { \"Rechecked: the reading stands\", \"Clinician aware\" }\n"
                      "site = { name = \"North\", usual_protocol = \"plain\" }");
  assert_int_equal(serve_start(&s), 0);
  json_t *two = session_member(&s, "ack_reasons");
  assert_int_equal(json_array_size(two), 2);
  assert_string_equal(json_string_value(json_array_get(two, 0)), "Rechecked: the reading stands");
  assert_string_equal(json_string_value(json_array_get(two, 1)), "Clinician aware");
  json_decref(two);
  usual = session_member(&s, "usual_protocol");
  assert_string_equal(json_string_value(usual), "plain");
  json_decref(usual);
  assert_int_equal(serve_stop(&s, 0), 0);

  const char *wrong[] = {"ack_reasons = { 7 }", "ack_reasons = { \"\" }", "ack_reasons = \"Clinician aware\""};
  for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
    serve_configure(&s, wrong[i]);
    assert_int_not_equal(serve_start(&s), 0);
    char *log = serve_log(&s);
    if (!strstr(log, "vigil.conf:5: ack_reasons is a list of at most 16 texts (1 to 200 bytes)"))
      fail_msg("%s was not refused with its line: %s", wrong[i], log);
    free(log);
  }
  serve_configure(&s, "site = { name = \"North\", usual_protocol = 7 }");
  assert_int_not_equal(serve_start(&s), 0);
  char *log = serve_log(&s);
  if (!strstr(log, "vigil.conf:5: site.usual_protocol is a protocol's id"))
    fail_msg("not refused with its line: %s", log);
  free(log);
  serve_cleanup(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(site_settings_reach_the_session)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
