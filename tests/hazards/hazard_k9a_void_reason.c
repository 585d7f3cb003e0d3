/* K9a (docs/safety.md, the third independent try's 9a): a void signature's
 * reason was out of date: the dose amended 35 -> 36 -> 37, the gate still said
 * "changed from 35 mg to 36 mg". Now it names the latest change (35 to 37).
 * Fails without the control (signature.c: an already void signature voided
 * again when its reason changes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hazard_people.h"

#define SCREENING_WITH(q9)                                                                                             \
  "{\"consent\": true, \"ci_hypertension\": \"no\", \"ci_vascular\": \"no\", \"ci_psychosis\": \"no\","                \
  " \"ci_hypersensitivity\": \"no\", \"pregnancy\": \"not applicable\", \"substance_use\": \"no\","                    \
  " \"ride_confirmed\": true, \"baseline\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 70, \"spo2\": 98, \"rr\": 14},"        \
  " \"phq9\": {\"q1\": 2, \"q2\": 2, \"q3\": 1, \"q4\": 1, \"q5\": 0, \"q6\": 1, \"q7\": 1, \"q8\": 0, \"q9\": " q9    \
  "}}"

/* A visit screened, its dose double-checked by doc, in the infusion. */
static json_int_t in_infusion(serve_process *s, person *nurse, person *doc, const char *screening, int assess) {
  json_t *r;
  assert_int_equal(as(s, nurse, "POST", "/api/v1/visits",
                      "{\"protocol\": \"ketamine_iv\", \"patient\": \"K9A\", \"params\": {\"weight\": 70}}", &r),
                   201);
  json_int_t id = json_integer_value(json_object_get(r, "id"));
  json_decref(r);
  assert_int_equal(visit_do(s, nurse, id, "entries", screening, NULL), 200);
  assert_int_equal(visit_do(s, nurse, id, "entries", "{\"dose\": 35}", NULL), 200);
  assert_int_equal(
      visit_do(s, doc, id, "entries", "{\"dose_check\": true, \"password\": \"" SERVE_PASSWORD "\"}", NULL), 200);
  if (assess)
    assert_int_equal(visit_do(s, doc, id, "entries",
                              "{\"suicide_risk\": \"low: proceed\", \"password\": \"" SERVE_PASSWORD "\"}", NULL),
                     200);
  assert_int_equal(visit_do(s, nurse, id, "advance", "{}", NULL), 200);
  return id;
}

static void test_a_void_reason_names_the_latest_change(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(people_serve(&s), 0);
  person nurse = {NURSE, ""}, doc = {CLINICIAN, ""};
  json_int_t id = in_infusion(&s, &nurse, &doc, SCREENING_WITH("0"), 0);
  assert_int_equal(visit_do(&s, &nurse, id, "amend",
                            "{\"item\": \"screening.dose\", \"value\": 36, \"reason\": \"redrawn after a spill\"}",
                            NULL),
                   200);
  assert_int_equal(visit_do(&s, &nurse, id, "amend",
                            "{\"item\": \"screening.dose\", \"value\": 37, \"reason\": \"redrawn again\"}", NULL),
                   200);
  json_t *v = visit_get(&s, &nurse, id);
  char *reasons = gate_reasons(v);
  assert_non_null(strstr(reasons, "changed from 35 mg to 37 mg after it was signed"));
  assert_null(strstr(reasons, "to 36 mg"));
  free(reasons);
  json_decref(v);
  serve_cleanup(&s);
}

/* L6b: a questionnaire's change is said by its changed items ("q9 from 1
 * to 0"), not as the whole PHQ-9 in JSON twice. Fails without the control
 * (signature.c: fields_changed). */
static void test_a_void_reason_names_the_changed_items(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(people_serve(&s), 0);
  person nurse = {NURSE, ""}, doc = {CLINICIAN, ""};
  json_int_t id = in_infusion(&s, &nurse, &doc, SCREENING_WITH("1"), 1);
  assert_int_equal(
      visit_do(&s, &nurse, id, "amend",
               "{\"item\": \"screening.phq9\", \"value\": {\"q1\": 2, \"q2\": 2, \"q3\": 1, \"q4\": 1, "
               "\"q5\": 0, \"q6\": 1, \"q7\": 1, \"q8\": 0, \"q9\": 0}, \"reason\": \"patient misread item 9\"}",
               NULL),
      200);
  char path[96];
  snprintf(path, sizeof path, "/api/v1/visits/%lld/events?limit=1000", (long long)id);
  json_t *r, *ev;
  size_t i;
  const char *reason = NULL;
  assert_int_equal(as(&s, &nurse, "GET", path, NULL, &r), 200);
  json_array_foreach(json_object_get(r, "events"), i, ev) {
    if (!strcmp(json_string_value(json_object_get(ev, "type")), "signature.voided"))
      reason = json_string_value(json_object_get(json_object_get(ev, "data"), "reason"));
  }
  assert_non_null(reason);
  if (!strstr(reason, "changed after it was signed: q9 from 1 to 0") || strchr(reason, '{'))
    fail_msg("the void reason: %s", reason);
  json_decref(r);
  serve_cleanup(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_a_void_reason_names_the_latest_change),
                                     cmocka_unit_test(test_a_void_reason_names_the_changed_items)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
