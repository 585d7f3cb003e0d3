/* G1 (docs/safety.md, found by the second independent try, its #1): a
 * recorded answer was replaced by recording it again, with no reason and no
 * amendment in the history, and its hold was lifted: a contraindication
 * "yes" then "no"; a second clinician's suicide-risk "low: proceed" over the
 * first's "high: do not dose today".
 *
 * End to end against a real `vigil serve` on the bundled ketamine_iv: a
 * changed value of a one-off item already recorded is refused (409 naming
 * /amend), nothing is recorded and the hold stays; the same value again is
 * taken; the baseline vitals (vitals: the latest reading counts) are
 * recorded again; an amendment with a reason changes the answer and is in
 * the history as one. Fails without the control (commands.c,
 * vigil__cmd_visit_record_at: a changed value of a recorded item). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hazard_people.h"

#define SCREENING_WITH(psychosis, q9)                                                                                  \
  "{\"consent\": true, \"ci_hypertension\": \"no\", \"ci_vascular\": \"no\", \"ci_psychosis\": \"" psychosis           \
  "\", \"ci_hypersensitivity\": \"no\", \"pregnancy\": \"not applicable\", \"substance_use\": \"no\","                 \
  " \"ride_confirmed\": true, \"baseline\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 70, \"spo2\": 98, \"rr\": 14},"        \
  " \"phq9\": {\"q1\": 2, \"q2\": 2, \"q3\": 1, \"q4\": 1, \"q5\": 0, \"q6\": 1, \"q7\": 1, \"q8\": 0, \"q9\": " q9    \
  "}}"

static json_int_t start(serve_process *s, person *nurse, const char *screening) {
  json_t *r;
  assert_int_equal(as(s, nurse, "POST", "/api/v1/visits",
                      "{\"protocol\": \"ketamine_iv\", \"patient\": \"G1\", \"params\": {\"weight\": 70}}", &r),
                   201);
  json_int_t id = json_integer_value(json_object_get(r, "id"));
  json_decref(r);
  assert_int_equal(visit_do(s, nurse, id, "entries", screening, NULL), 200);
  assert_int_equal(visit_do(s, nurse, id, "entries", "{\"dose\": 35}", NULL), 200);
  return id;
}

/* Whether the visit's gate reasons contain what. */
static int holds_for(serve_process *s, person *who, json_int_t id, const char *what) {
  json_t *v = visit_get(s, who, id);
  char *reasons = gate_reasons(v);
  int yes = strstr(reasons, what) != NULL;
  free(reasons);
  json_decref(v);
  return yes;
}

static void test_a_recorded_answer_is_amended_not_recorded_again(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(people_serve(&s), 0);
  person nurse = {NURSE, ""}, doc = {CLINICIAN, ""};
  json_t *r;

  json_int_t id = start(&s, &nurse, SCREENING_WITH("yes", "0"));
  assert_true(holds_for(&s, &nurse, id, "sychosis"));

  /* "no" over the recorded "yes": refused, naming the way, and the hold stays. */
  assert_int_equal(visit_do(&s, &nurse, id, "entries", "{\"ci_psychosis\": \"no\"}", &r), 409);
  assert_non_null(strstr(error_message(r), "/amend"));
  assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "field")), "ci_psychosis");
  json_decref(r);
  json_t *v = visit_get(&s, &nurse, id);
  assert_string_equal(json_string_value(json_object_get(visit_item(v, "screening", "ci_psychosis"), "value")), "yes");
  json_decref(v);
  assert_true(holds_for(&s, &nurse, id, "sychosis"));
  assert_int_equal(visit_do(&s, &nurse, id, "advance", "{}", NULL), 409);
  /* Refused as one entry: a changed answer among others records none of them. */
  assert_int_equal(visit_do(&s, &nurse, id, "entries", "{\"ci_psychosis\": \"no\", \"fasting_hours\": 6}", NULL), 409);

  /* The same answer again is no change; the baseline vitals are read again (the latest counts). */
  assert_int_equal(visit_do(&s, &nurse, id, "entries", "{\"ci_psychosis\": \"yes\"}", NULL), 200);
  assert_int_equal(visit_do(&s, &nurse, id, "entries",
                            "{\"baseline\": {\"sbp\": 132, \"dbp\": 82, \"hr\": 72, \"spo2\": 97, \"rr\": 15}}", NULL),
                   200);

  /* An amendment with a reason changes it, and says so in the history. */
  assert_int_equal(visit_do(&s, &nurse, id, "amend",
                            "{\"item\": \"ci_psychosis\", \"value\": \"no\", \"reason\": \"ticked the wrong box\"}",
                            NULL),
                   200);
  assert_false(holds_for(&s, &nurse, id, "sychosis"));
  char path[96];
  snprintf(path, sizeof path, "/api/v1/visits/%lld/events", (long long)id);
  assert_int_equal(as(&s, &doc, "GET", path, NULL, &r), 200);
  char *text = json_dumps(r, 0);
  assert_non_null(strstr(text, "item.amended"));
  assert_non_null(strstr(text, "ticked the wrong box"));
  free(text);
  json_decref(r);
  serve_cleanup(&s);
}

static void test_a_second_clinician_does_not_replace_an_assessment(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(people_serve(&s), 0);
  person nurse = {NURSE, ""}, doc = {CLINICIAN, ""}, doc2 = {CLINICIAN2, ""};
  json_t *r;

  json_int_t id = start(&s, &nurse, SCREENING_WITH("no", "2"));
  assert_int_equal(visit_do(&s, &doc, id, "entries",
                            "{\"suicide_risk\": \"high: do not dose today\", \"password\": \"" SERVE_PASSWORD "\"}",
                            NULL),
                   200);
  json_t *v = visit_get(&s, &nurse, id);
  char *held = gate_reasons(v);
  json_decref(v);
  assert_true(held[0] != '\0');

  assert_int_equal(visit_do(&s, &doc2, id, "entries",
                            "{\"suicide_risk\": \"low: proceed\", \"password\": \"" SERVE_PASSWORD "\"}", &r),
                   409);
  assert_non_null(strstr(error_message(r), "/amend"));
  json_decref(r);
  v = visit_get(&s, &nurse, id);
  assert_string_equal(json_string_value(json_object_get(visit_item(v, "screening", "suicide_risk"), "value")),
                      "high: do not dose today");
  char *still = gate_reasons(v);
  assert_string_equal(still, held);
  free(still);
  free(held);
  json_decref(v);
  assert_int_equal(visit_do(&s, &nurse, id, "advance", "{}", NULL), 409);
  serve_cleanup(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_a_recorded_answer_is_amended_not_recorded_again),
                                     cmocka_unit_test(test_a_second_clinician_does_not_replace_an_assessment)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
