/* K1 (docs/safety.md, found by the third independent try, its #1): a nurse's
 * amendment of the PHQ-9 (item 9 from 2 to 0) lifted the block a clinician's
 * signed suicide-risk assessment ("high: do not dose today") had set: the
 * screening gate opened and the infusion started.
 *
 * End to end against a real `vigil serve` on the bundled ketamine_iv: the
 * clinician's "high" assessment blocks screening; the nurse amends item 9 to
 * 0; the block stays, saying what set it and how it is lifted, and the advance
 * is 409 naming it; the clinician signs the assessment again and the visit
 * advances. Fails without the control (alerts.c: a block a signature set is
 * lifted only by a signature). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hazard_people.h"

#define PHQ9(q9)                                                                                                       \
  "{\"q1\": 2, \"q2\": 2, \"q3\": 1, \"q4\": 1, \"q5\": 0, \"q6\": 1, \"q7\": 1, \"q8\": 0, \"q9\": " q9 "}"

#define SCREENING                                                                                                      \
  "{\"consent\": true, \"ci_hypertension\": \"no\", \"ci_vascular\": \"no\", \"ci_psychosis\": \"no\","                \
  " \"ci_hypersensitivity\": \"no\", \"pregnancy\": \"not applicable\", \"substance_use\": \"no\","                    \
  " \"ride_confirmed\": true, \"baseline\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 70, \"spo2\": 98, \"rr\": 14},"        \
  " \"phq9\": " PHQ9("2") "}"

static void test_an_amendment_does_not_lift_a_signed_block(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(people_serve(&s), 0);
  person nurse = {NURSE, ""}, doc = {CLINICIAN, ""};
  json_t *r;
  assert_int_equal(as(&s, &nurse, "POST", "/api/v1/visits",
                      "{\"protocol\": \"ketamine_iv\", \"patient\": \"K1\", \"params\": {\"weight\": 70}}", &r),
                   201);
  json_int_t id = json_integer_value(json_object_get(r, "id"));
  json_decref(r);
  assert_int_equal(visit_do(&s, &nurse, id, "entries", SCREENING, NULL), 200);
  assert_int_equal(visit_do(&s, &nurse, id, "entries", "{\"dose\": 35}", NULL), 200);
  assert_int_equal(
      visit_do(&s, &doc, id, "entries", "{\"dose_check\": true, \"password\": \"" SERVE_PASSWORD "\"}", NULL), 200);
  assert_int_equal(visit_do(&s, &doc, id, "entries",
                            "{\"suicide_risk\": \"high: do not dose today\", \"password\": \"" SERVE_PASSWORD "\"}",
                            NULL),
                   200);
  assert_int_equal(visit_do(&s, &nurse, id, "advance", "{}", &r), 409);
  assert_non_null(strstr(error_message(r), "Do not dose today"));
  json_decref(r);

  /* The nurse amends item 9 to 0: the clinician's block stays. */
  assert_int_equal(visit_do(&s, &nurse, id, "amend",
                            "{\"item\": \"phq9\", \"value\": " PHQ9("0") ", \"reason\": \"misread item\"}", NULL),
                   200);
  json_t *v = visit_get(&s, &nurse, id);
  char *reasons = gate_reasons(v);
  assert_non_null(strstr(reasons, "Suicide-risk assessment: high. Do not dose today. [kept: set by the signed "
                                  "Suicide-risk assessment by a clinician"));
  assert_non_null(strstr(reasons, "a clinician signs it again (entry screening.suicide_risk) or overrides"));
  free(reasons);
  json_decref(v);
  assert_int_equal(visit_do(&s, &nurse, id, "advance", "{}", &r), 409);
  assert_non_null(strstr(error_message(r), "Do not dose today"));
  json_decref(r);
  v = visit_get(&s, &nurse, id);
  assert_string_equal(json_string_value(json_object_get(v, "phase")), "screening");
  json_decref(v);

  /* The clinician signs the assessment again: the block lifts. */
  assert_int_equal(visit_do(&s, &doc, id, "entries",
                            "{\"suicide_risk\": \"low: proceed\", \"password\": \"" SERVE_PASSWORD "\"}", NULL),
                   200);
  assert_int_equal(visit_do(&s, &nurse, id, "advance", "{}", NULL), 200);
  serve_cleanup(&s);
}

/* K1's residual: the bundled self_harm rule said nothing when item 9 was 0,
 * so the clinician's "high" assessment signed again after the nurse amended
 * item 9 to 0 lifted the block. ketamine_iv 1.3.0 blocks on a "high" outcome
 * whatever item 9 says. Fails without it (screening.lua: the advance is 200). */
static void test_a_high_assessment_blocks_whatever_item_9_says(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(people_serve(&s), 0);
  person nurse = {NURSE, ""}, doc = {CLINICIAN, ""};
  json_t *r;
  assert_int_equal(as(&s, &nurse, "POST", "/api/v1/visits",
                      "{\"protocol\": \"ketamine_iv\", \"patient\": \"K1b\", \"params\": {\"weight\": 70}}", &r),
                   201);
  json_int_t id = json_integer_value(json_object_get(r, "id"));
  json_decref(r);
  assert_int_equal(visit_do(&s, &nurse, id, "entries", SCREENING, NULL), 200);
  assert_int_equal(visit_do(&s, &nurse, id, "entries", "{\"dose\": 35}", NULL), 200);
  assert_int_equal(
      visit_do(&s, &doc, id, "entries", "{\"dose_check\": true, \"password\": \"" SERVE_PASSWORD "\"}", NULL), 200);
  const char *high = "{\"suicide_risk\": \"high: do not dose today\", \"password\": \"" SERVE_PASSWORD "\"}";
  assert_int_equal(visit_do(&s, &doc, id, "entries", high, NULL), 200);
  assert_int_equal(visit_do(&s, &nurse, id, "amend",
                            "{\"item\": \"phq9\", \"value\": " PHQ9("0") ", \"reason\": \"misread item\"}", NULL),
                   200);
  /* The clinician signs "high" again, seeing item 9 at 0: it still blocks. */
  assert_int_equal(visit_do(&s, &doc, id, "entries", high, NULL), 200);
  assert_int_equal(visit_do(&s, &nurse, id, "advance", "{}", &r), 409);
  assert_non_null(strstr(error_message(r), "Do not dose today"));
  json_decref(r);
  json_t *v = visit_get(&s, &nurse, id);
  assert_string_equal(json_string_value(json_object_get(v, "phase")), "screening");
  json_decref(v);
  serve_cleanup(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_an_amendment_does_not_lift_a_signed_block),
                                     cmocka_unit_test(test_a_high_assessment_blocks_whatever_item_9_says)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
