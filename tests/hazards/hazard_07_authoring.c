/* hazard_07_authoring.c: H7 in docs/safety.md, authoring mistakes reach
 * patients.
 *
 * End to end over the HTTP API of a real `vigil serve`: a clinician uploads
 * protocol versions with the tester's mistakes (a vitals field that does not
 * exist, v.alert.urgent, v.alert("..."), an error inside text compiled with
 * load). Each upload is refused with 422 and a problem at the protocol's
 * file:line, in words; nothing is published. The corrected version uploads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "http_client.h"
#include "serve_process.h"

#define CLINICIAN "doc.h7"

static const char *PROTOCOL = "local v = require 'vigil'\n"
                              "return v.protocol 'base' { version = '1.0.0',\n"
                              "  phases = { v.phase 'one' { items = { v.check 'c' {} } } } }\n";

typedef struct fixture {
  serve_process s;
  char token[64];
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f || serve_setup(&f->s, PROTOCOL) < 0) return -1;
  char cmd[9000];
  snprintf(cmd, sizeof cmd,
           "echo '" SERVE_PASSWORD "' | '%s' user add " CLINICIAN
           " --role clinician --password-stdin --db '%s/vigil.db' >/dev/null",
           f->s.vigil, f->s.root);
  if (system(cmd) != 0) return -1;
  serve_configure(&f->s, "");
  if (serve_start(&f->s) < 0) return -1;
  hc_conn c;
  hc_response r;
  if (hc_connect(&c, f->s.port) < 0) return -1;
  int rc = hc_request(&c, "POST", "/api/v1/session", NULL,
                      "{\"user\": \"" CLINICIAN "\", \"password\": \"" SERVE_PASSWORD "\"}", &r);
  hc_close(&c);
  if (rc < 0) return -1;
  const char *t = r.status == 200 ? strstr(r.body, "\"token\":\"") : NULL;
  if (t) snprintf(f->token, sizeof f->token, "%.43s", t + 9);
  hc_response_free(&r);
  if (!f->token[0]) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  serve_cleanup(&f->s);
  free(f);
  return 0;
}

/* Uploads protocol.lua as the clinician: the status, the body in *out. */
static int upload(fixture *f, const char *path, const char *lua, json_t **out) {
  json_t *files = json_object();
  json_object_set_new(files, "protocol.lua", json_string(lua));
  /* A version comes with its specs (G10: one without is refused). */
  json_object_set_new(files, "specs/starts_spec.lua",
                      json_string("return spec 'starts' { expect '0m' { phase = 'one' } }\n"));
  json_t *body = json_pack("{s:o}", "files", files);
  char *text = json_dumps(body, 0);
  json_decref(body);
  hc_conn c;
  hc_response r;
  assert_int_equal(hc_connect(&c, f->s.port), 0);
  assert_int_equal(hc_request(&c, "POST", path, f->token, text, &r), 0);
  hc_close(&c);
  free(text);
  *out = json_loads(r.body, 0, NULL);
  int st = r.status;
  hc_response_free(&r);
  assert_non_null(*out);
  return st;
}

/* The problem list of a refusal (422 protocol_invalid) has one at line with
 * part in its message, or the test fails with what it has. */
static void refused_with(fixture *f, const char *lua, int line, const char *part) {
  json_t *j;
  int st = upload(f, "/api/v1/protocols", lua, &j);
  char *all = json_dumps(j, JSON_INDENT(1));
  if (st != 422) fail_msg("upload answered %d, not 422: %s", st, all);
  json_t *err = json_object_get(j, "error");
  assert_string_equal(json_string_value(json_object_get(err, "code")), "protocol_invalid");
  char want[64];
  snprintf(want, sizeof want, "protocol.lua:%d", line);
  int found = 0;
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(err, "problems"), i, p) {
    const char *where = json_string_value(json_object_get(p, "where"));
    const char *msg = json_string_value(json_object_get(p, "message"));
    if (where && msg && !strcmp(where, want) && strstr(msg, part)) found = 1;
  }
  if (!found) fail_msg("no problem at %s saying \"%s\": %s", want, part, all);
  free(all);
  json_decref(j);
  /* Nothing was published. */
  char *list = NULL;
  assert_int_equal(serve_request(&f->s, "GET", "/api/v1/protocols", NULL, &list), 200);
  assert_null(strstr(list, "h7@"));
  free(list);
}

#define HEAD                                                                                                           \
  "local v = require 'vigil'\n"                                                                                        \
  "return v.protocol 'h7' { version = '1.0.0',\n"                                                                      \
  "  phases = { v.phase 'one' {\n"                                                                                     \
  "    items = { v.vitals 'obs' { fields = { 'sbp', 'hr', 'temp' } },\n"                                               \
  "              v.choice 'mood' { options = { 'calm', 'unresponsive' } } },\n"                                        \
  "    rules = {\n"
#define TAIL "    } } } }\n"

static void misread_field_is_refused(void **state) {
  refused_with(*state,
               HEAD "      v.rule 'fever' { on = 'obs', check = function(x)\n"
                    "        if x.temprature > 38 then return v.alert.high('Fever') end end },\n" TAIL,
               8, "reads 'temprature' of vitals 'obs', which has no field 'temprature' (its fields: sbp, hr, temp)");
}

static void unknown_priority_is_refused(void **state) {
  refused_with(*state,
               HEAD "      v.rule 'tachy' { on = 'obs', check = function(x)\n"
                    "        if x.hr > 249 then return v.alert.urgent('HR') end end },\n" TAIL,
               8, "there is no alert priority 'urgent'");
}

static void alert_called_is_refused(void **state) {
  refused_with(*state,
               HEAD "      v.rule 'mood' { on = 'mood', check = function(x)\n"
                    "        if x == 'unresponsive' then return v.alert('Unresponsive') end end },\n" TAIL,
               8, "an alert needs its priority");
}

/* An error inside text compiled with load names the file and the load's line. */
static void load_names_its_line(void **state) {
  refused_with(*state,
               "local v = require 'vigil'\n"
               "local check = load('return function(x) return x.hr + limit_not_defined end', 'calc')()\n"
               "return v.protocol 'h7' { version = '1.0.0',\n"
               "  phases = { v.phase 'one' {\n"
               "    items = { v.vitals 'obs' { fields = { 'hr' } } },\n"
               "    rules = { v.rule 'hr' { on = 'obs', check = check } } } } }\n",
               2, "calc:1: unknown global 'limit_not_defined'");
}

/* The corrected protocol is accepted: the controls refuse mistakes only. */
static void corrected_version_uploads(void **state) {
  fixture *f = *state;
  json_t *j;
  int st = upload(f, "/api/v1/protocols",
                  HEAD "      v.rule 'fever' { on = 'obs', worse = 'higher', check = function(x)\n"
                       "        if x.temp > 38 then return v.alert.high('Fever', { value = x.temp }) end end },\n"
                       "      v.rule 'mood' { on = 'mood', worse = false, check = function(x)\n"
                       "        if x == 'unresponsive' then return v.alert.high('Unresponsive') end end },\n" TAIL,
                  &j);
  char *all = json_dumps(j, 0);
  if (st != 201) fail_msg("upload answered %d: %s", st, all);
  free(all);
  json_decref(j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(misread_field_is_refused),  cmocka_unit_test(unknown_priority_is_refused),
      cmocka_unit_test(alert_called_is_refused),   cmocka_unit_test(load_names_its_line),
      cmocka_unit_test(corrected_version_uploads),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
