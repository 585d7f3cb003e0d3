/* hazard_g10_untested.c: G10 in docs/safety.md (H7), a protocol version that
 * nothing shows works reaches patients.
 *
 * End to end against a real `vigil serve`: (1) an upload without specs is
 * refused, 422 specs_missing naming the files, and one whose spec fails is
 * 422 specs_failed naming the spec's file:line; POST /protocols/lint says
 * the same under "refused"; one with a passing spec is kept. (2) The server
 * refuses to start on a protocol folder whose specs fail or that has none,
 * naming file:line on stderr with a non-zero exit status; with
 * --allow-untested it starts, says so in its log and marks the version
 * "untested": true in GET /api/v1/protocols, and only that one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

static const char *PROTOCOL = "local v = require 'vigil'\n"
                              "return v.protocol 'untested' { version = '1.0.0',\n"
                              "  phases = { v.phase 'one' { items = { v.check 'c' {} } } } }\n";

static const char *TESTED = "local v = require 'vigil'\n"
                            "return v.protocol 'tested' { version = '1.0.0',\n"
                            "  phases = { v.phase 'one' { items = { v.check 'c' {} } } } }\n";

static const char *PASSING = "return spec 'starts' { expect '0m' { phase = 'one' } }\n";
static const char *FAILING = "return spec 'starts' {\n  expect '0m' { phase = 'two' } }\n";

/* {"files": {"protocol.lua": lua, spec_path: spec}} (no spec when NULL). */
static char *upload(const char *lua, const char *spec_path, const char *spec) {
  json_t *files = json_pack("{s:s}", "protocol.lua", lua);
  if (spec_path) json_object_set_new(files, spec_path, json_string(spec));
  json_t *body = json_pack("{s:o}", "files", files);
  char *text = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  return text;
}

static const char *error_of(json_t *r, const char *key) {
  return json_string_value(json_object_get(json_object_get(r, "error"), key));
}

/* The upload is refused with code, and lint's "refused" says the same. */
static void refused(alarm_serve *a, const char *body, const char *code, const char *named) {
  json_t *r;
  assert_int_equal(alarm_call(a, ALARM_CLINICIAN, "POST", "/api/v1/protocols", body, &r), 422);
  assert_string_equal(error_of(r, "code"), code);
  assert_string_equal(error_of(r, "field"), "files");
  char *text = json_dumps(r, 0);
  if (!strstr(text, named)) fail_msg("the refusal does not name %s: %s", named, text);
  free(text);
  json_decref(r);
  assert_int_equal(alarm_call(a, ALARM_CLINICIAN, "POST", "/api/v1/protocols/lint", body, &r), 200);
  json_t *why = json_object_get(r, "refused");
  assert_string_equal(json_string_value(json_object_get(why, "code")), code);
  json_decref(r);
}

static void uploads_need_passing_specs(void **state) {
  (void)state;
  alarm_serve a;
  const char *const protocols[] = {TESTED};
  assert_int_equal(alarm_start(&a, protocols, 1), 0);
  /* Without specs: specs_missing, naming the files uploaded; nothing kept. */
  char *bare = upload(PROTOCOL, NULL, NULL);
  refused(&a, bare, "specs_missing", "protocol.lua");
  free(bare);
  /* A spec file that makes no check is no spec either. */
  char *empty = upload(PROTOCOL, "specs/empty_spec.lua", "return spec 'idle' {}\n");
  refused(&a, empty, "specs_missing", "specs/empty_spec.lua");
  free(empty);
  /* A failing spec: specs_failed, at the spec's file:line. */
  char *failing = upload(PROTOCOL, "specs/starts_spec.lua", FAILING);
  refused(&a, failing, "specs_failed", "specs/starts_spec.lua:2");
  free(failing);
  json_t *r;
  assert_int_equal(alarm_call(&a, ALARM_CLINICIAN, "GET", "/api/v1/protocols/untested@1.0.0", NULL, &r), 404);
  json_decref(r);
  /* With a passing spec it is kept, waiting for approval; lint refuses nothing. */
  char *good = upload(PROTOCOL, "specs/starts_spec.lua", PASSING);
  assert_int_equal(alarm_call(&a, ALARM_CLINICIAN, "POST", "/api/v1/protocols/lint", good, &r), 200);
  assert_true(json_is_null(json_object_get(r, "refused")));
  json_decref(r);
  assert_int_equal(alarm_call(&a, ALARM_CLINICIAN, "POST", "/api/v1/protocols", good, &r), 201);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "specs"), "checks")), 1);
  json_decref(r);
  free(good);
  serve_cleanup(&a.s);
}

static void write_file(const char *dir, const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* Whether the log since the last start holds text. */
static int logged(alarm_serve *a, const char *text) {
  char *log = serve_log(&a->s);
  int found = log && strstr(log, text);
  free(log);
  return found;
}

static void serve_refuses_untested_protocols(void **state) {
  (void)state;
  alarm_serve a;
  /* p0 untested (no specs), p1 tested (a passing spec). */
  const char *const protocols[] = {PROTOCOL, TESTED};
  assert_int_equal(alarm_start(&a, protocols, 2), 0);
  assert_int_equal(serve_stop(&a.s, 0), 0);
  char p0[300], p1[300], specs[320];
  snprintf(p0, sizeof p0, "%s/p0", a.s.root);
  snprintf(p1, sizeof p1, "%s/p1", a.s.root);
  snprintf(specs, sizeof specs, "%s/specs", p1);
  mkdir(specs, 0700);
  write_file(specs, "starts_spec.lua", PASSING);
  static const char *const strict[] = {"--clock=simulated", "--allow-simulated-clock", NULL};

  /* Without --allow-untested: no start, file:line on stderr, exit status 1. */
  assert_int_equal(serve_start_args(&a.s, strict), -1);
  assert_int_equal(a.s.exit_status, 1);
  char where[400];
  snprintf(where, sizeof where, "%s/protocol.lua:1: untested@1.0.0: it has no specs", p0);
  if (!logged(&a, where)) fail_msg("no '%s' in the log", where);
  assert_true(logged(&a, "--allow-untested"));

  /* A spec that fails: its file:line. */
  snprintf(specs, sizeof specs, "%s/specs", p0);
  mkdir(specs, 0700);
  write_file(specs, "starts_spec.lua", FAILING);
  assert_int_equal(serve_start_args(&a.s, strict), -1);
  assert_int_equal(a.s.exit_status, 1);
  snprintf(where, sizeof where, "%s/starts_spec.lua:2: ", specs);
  if (!logged(&a, where)) fail_msg("no '%s' in the log", where);
  assert_true(logged(&a, "1 of its 1 spec checks fail"));

  /* --allow-untested: it starts, says so loudly, and marks that version only. */
  assert_int_equal(serve_start_args(&a.s, alarm_serve_args), 0);
  assert_true(logged(&a, "UNTESTED protocol served"));
  json_t *r, *p;
  size_t i;
  int seen = 0;
  assert_int_equal(alarm_call(&a, NULL, "GET", "/api/v1/protocols", NULL, &r), 200);
  json_array_foreach(json_object_get(r, "protocols"), i, p) {
    const char *ref = json_string_value(json_object_get(p, "ref"));
    if (!strcmp(ref, "untested@1.0.0")) assert_true(json_is_true(json_object_get(p, "untested"))), seen++;
    if (!strcmp(ref, "tested@1.0.0")) assert_null(json_object_get(p, "untested")), seen++;
  }
  assert_int_equal(seen, 2);
  json_decref(r);
  assert_int_equal(serve_stop(&a.s, 0), 0);

  /* Mended, it starts without the flag. */
  write_file(specs, "starts_spec.lua", PASSING);
  assert_int_equal(serve_start_args(&a.s, strict), 0);
  assert_false(logged(&a, "UNTESTED"));
  serve_cleanup(&a.s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(uploads_need_passing_specs),
      cmocka_unit_test(serve_refuses_untested_protocols),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
