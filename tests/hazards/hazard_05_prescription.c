/* H5 (docs/safety.md): prescriptions changed by the wrong person, limits that
 * contradict each other.
 *
 * End to end against a real `vigil serve` on the bundled ketamine_iv: a nurse
 * who sets the mg/kg dose or an alarm limit at the start gets 403 naming the
 * param (the defaults given again are fine); a clinician who sets marked
 * hypertension at 220 above severe at 200 gets 422 naming both; a clinician's
 * changes are shown with the visit (changed_params, in the visit and in the
 * board's list) and the infusion's title says the dose set; `vigil lint` refuses
 * a protocol whose defaults break a relation, at the param's file:line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hazard_people.h"

static json_int_t start(serve_process *s, person *who, const char *params, int expect, json_t **out) {
  /* A patient of its own per visit (one open session of a course: G9). */
  static int n;
  char body[512];
  snprintf(body, sizeof body, "{\"protocol\": \"ketamine_iv\", \"patient\": \"H5-%d\", \"params\": %s}", ++n, params);
  json_t *r = NULL;
  assert_int_equal(as(s, who, "POST", "/api/v1/visits", body, &r), expect);
  json_int_t id = json_integer_value(json_object_get(r, "id"));
  if (out)
    *out = r;
  else
    json_decref(r);
  return id;
}

static const char *field_of(json_t *answer) {
  return json_string_value(json_object_get(json_object_get(answer, "error"), "field"));
}

static json_t *changed(json_t *list, const char *name) {
  size_t i;
  json_t *x;
  json_array_foreach(list, i, x) {
    if (!strcmp(json_string_value(json_object_get(x, "name")), name)) return x;
  }
  return NULL;
}

static void test_only_a_clinician_prescribes_and_limits_agree(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(people_serve(&s), 0);
  person nurse = {NURSE, ""}, doc = {CLINICIAN, ""};
  json_t *r;

  /* A nurse may not change the dose nor an alarm limit: 403 naming it. */
  start(&s, &nurse, "{\"weight\": 70, \"dose_mg_per_kg\": 1.0}", 403, &r);
  assert_string_equal(field_of(r), "dose_mg_per_kg");
  assert_non_null(strstr(error_message(r), "dose_mg_per_kg is prescribed"));
  json_decref(r);
  start(&s, &nurse, "{\"weight\": 70, \"sbp_alert\": 170}", 403, &r);
  assert_string_equal(field_of(r), "sbp_alert");
  json_decref(r);
  /* The protocol's defaults, given again, and the weight are hers to give. */
  json_int_t plain = start(&s, &nurse, "{\"weight\": 70, \"dose_mg_per_kg\": 0.5}", 201, &r);
  assert_int_equal(json_array_size(json_object_get(r, "changed_params")), 0);
  json_decref(r);

  /* Limits that contradict each other: 422 naming both. */
  start(&s, &doc, "{\"weight\": 70, \"sbp_alert\": 220}", 422, &r);
  assert_string_equal(field_of(r), "sbp_alert");
  assert_non_null(strstr(error_message(r), "sbp_alert"));
  assert_non_null(strstr(error_message(r), "sbp_severe"));
  json_decref(r);

  /* A clinician prescribes: what differs from the protocol is shown, and the
   * title that quotes the dose says the one set. */
  json_int_t id = start(&s, &doc, "{\"weight\": 70, \"dose_mg_per_kg\": 1.0, \"sbp_alert\": 170}", 201, &r);
  json_t *dose = changed(json_object_get(r, "changed_params"), "dose_mg_per_kg");
  assert_non_null(dose);
  assert_true(json_number_value(json_object_get(dose, "value")) == 1.0);
  assert_true(json_number_value(json_object_get(dose, "default")) == 0.5);
  assert_true(json_is_true(json_object_get(dose, "prescribed")));
  assert_non_null(changed(json_object_get(r, "changed_params"), "sbp_alert"));
  assert_null(changed(json_object_get(r, "changed_params"), "weight"));
  json_t *infusion = json_array_get(json_object_get(r, "phases"), 1);
  assert_string_equal(json_string_value(json_object_get(infusion, "title")), "Infusion (1 mg/kg over 40 minutes)");
  json_decref(r);

  /* The board's list says it too. */
  assert_int_equal(as(&s, &nurse, "GET", "/api/v1/visits?status=active", NULL, &r), 200);
  size_t i;
  json_t *v;
  int seen = 0;
  json_array_foreach(json_object_get(r, "visits"), i, v) {
    json_int_t vid = json_integer_value(json_object_get(v, "id"));
    size_t n = json_array_size(json_object_get(v, "changed_params"));
    if (vid == id) seen = 1, assert_int_equal(n, 2);
    if (vid == plain) assert_int_equal(n, 0);
  }
  assert_true(seen);
  json_decref(r);
  serve_cleanup(&s);
}

/* lint: a protocol whose defaults break a relation fails at the param's line. */
static void test_lint_checks_relations_on_defaults(void **state) {
  (void)state;
  serve_process s;
  static const char bad[] = "local v = require \"vigil\"\n"
                            "return v.protocol \"rel\" {\n"
                            "  version = \"1.0.0\",\n"
                            "  params = {\n"
                            "    v.param \"sbp_alert\" { default = 220, unit = \"mm[Hg]\", prescribed = true,\n"
                            "                          less_than = \"sbp_severe\" },\n"
                            "    v.param \"sbp_severe\" { default = 200, unit = \"mm[Hg]\", prescribed = true },\n"
                            "  },\n"
                            "  phases = { v.phase \"one\" { items = { v.check \"done\" {} } } },\n"
                            "}\n";
  assert_int_equal(serve_setup(&s, bad), 0);
  char cmd[8400], out[4096] = "";
  snprintf(cmd, sizeof cmd, "'%s' lint '%s' 2>&1", s.vigil, s.protocol);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = fread(out, 1, sizeof out - 1, p);
  out[n] = '\0';
  assert_int_not_equal(pclose(p), 0);
  assert_non_null(strstr(out, ":5: param 'sbp_alert' (default 220) must be less than 'sbp_severe' (default 200)"));
  serve_cleanup(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_only_a_clinician_prescribes_and_limits_agree),
      cmocka_unit_test(test_lint_checks_relations_on_defaults),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
