/* H4 (docs/safety.md): self-harm risk passes unseen.
 *
 * End to end against a real `vigil serve` on the bundled ketamine_iv: a PHQ-9
 * with item 9 above 0 raises a high alert and holds the visit at screening
 * until a clinician records the suicide-risk assessment (a signature with its
 * outcome); the alert does not close when the visit moves on (a clinician's
 * override of the gate), only by the assessment or by a clinician's
 * acknowledgement with a reason (a nurse's is refused); a "high" outcome
 * holds the checklist; the visit keeps the alert and the outcome for its
 * discharge summary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hazard_people.h"

#define SCREENING_WITH(q9)                                                                                             \
  "{\"consent\": true, \"ci_hypertension\": \"no\", \"ci_vascular\": \"no\", \"ci_psychosis\": \"no\","                \
  " \"ci_hypersensitivity\": \"no\", \"pregnancy\": \"not applicable\", \"substance_use\": \"no\","                    \
  " \"ride_confirmed\": true, \"baseline\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 70, \"spo2\": 98, \"rr\": 14},"        \
  " \"dose\": 35, \"phq9\": {\"q1\": 2, \"q2\": 2, \"q3\": 1, \"q4\": 1, \"q5\": 0, \"q6\": 1, \"q7\": 1, \"q8\": 0,"  \
  " \"q9\": " #q9 "}}"

static const char *DOSE_CHECK = "{\"dose_check\": true, \"password\": \"" SERVE_PASSWORD "\"}";

/* The visit's alert raised by the self-harm rule. */
static json_t *self_harm_alert(json_t *visit) {
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(visit, "alerts"), i, a) {
    if (!strcmp(json_string_value(json_object_get(a, "rule")), "self_harm")) return a;
  }
  return NULL;
}

static json_int_t screened(serve_process *s, person *nurse, person *doc, const char *entries) {
  /* A patient of its own per visit (one open session of a course: G9). */
  static int n;
  char body[128];
  snprintf(body, sizeof body, "{\"protocol\": \"ketamine_iv\", \"patient\": \"H4-%d\", \"params\": {\"weight\": 70}}",
           ++n);
  json_t *r;
  assert_int_equal(as(s, nurse, "POST", "/api/v1/visits", body, &r), 201);
  json_int_t id = json_integer_value(json_object_get(r, "id"));
  json_decref(r);
  assert_int_equal(visit_do(s, nurse, id, "entries", entries, NULL), 200);
  assert_int_equal(visit_do(s, doc, id, "entries", DOSE_CHECK, NULL), 200);
  return id;
}

static const char *state_of(json_t *alert) { return json_string_value(json_object_get(alert, "state")); }

static void test_item9_holds_until_assessed_and_the_alert_is_carried(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(people_serve(&s), 0);
  person nurse = {NURSE, ""}, doc = {CLINICIAN, ""};
  json_t *r;
  char path[64];

  /* Item 9 scored 2: a high alert, and the gate holds for the assessment. */
  json_int_t id = screened(&s, &nurse, &doc, SCREENING_WITH(2));
  json_t *v = visit_get(&s, &nurse, id);
  json_t *a = self_harm_alert(v);
  assert_non_null(a);
  assert_string_equal(json_string_value(json_object_get(a, "priority")), "high");
  assert_true(json_is_true(json_object_get(a, "carried")));
  json_int_t alert = json_integer_value(json_object_get(a, "id"));
  char *reasons = gate_reasons(v);
  assert_non_null(strstr(reasons, "Suicide-risk assessment by a clinician"));
  free(reasons);
  json_decref(v);
  assert_int_equal(visit_do(&s, &nurse, id, "advance", "{}", NULL), 409);

  /* A nurse may not record the assessment, nor acknowledge the alert away. */
  assert_int_equal(visit_do(&s, &nurse, id, "entries",
                            "{\"suicide_risk\": \"low: proceed\", \"password\": \"" SERVE_PASSWORD "\"}", NULL),
                   403);
  snprintf(path, sizeof path, "/api/v1/alerts/%lld/ack", (long long)alert);
  assert_int_equal(as(&s, &nurse, "POST", path, "{\"reason\": \"seen\"}", &r), 403);
  assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "field")), "alert");
  json_decref(r);
  /* Nor skip it, nor the dose double-check (an independent try did both and
   * discharged the patient without a clinician). */
  assert_int_equal(
      visit_do(&s, &nurse, id, "skip", "{\"item\": \"suicide_risk\", \"reason\": \"clinician busy\"}", NULL), 422);
  assert_int_equal(
      visit_do(&s, &nurse, id, "skip", "{\"item\": \"dose_check\", \"reason\": \"no second person\"}", NULL), 422);

  /* A clinician overrides the gate, naming the assessment it passes
   * unrecorded (V1): the visit moves on, the alert does not close, and the
   * visit shows the assessment passed by override. */
  assert_int_equal(
      visit_do(&s, &doc, id, "override",
               "{\"reason\": \"assessment by phone with the psychiatrist\", \"password\": \"" SERVE_PASSWORD
               "\", \"items\": [\"screening.suicide_risk\"]}",
               &r),
      200);
  assert_string_equal(json_string_value(json_object_get(r, "phase")), "infusion");
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(json_object_get(r, "passed_by_override"), 0), "item")),
      "screening.suicide_risk");
  assert_string_equal(state_of(self_harm_alert(r)), "active");
  json_decref(r);

  /* It closes by a clinician's acknowledgement, with a reason only. */
  assert_int_equal(as(&s, &doc, "POST", path, "{}", NULL), 422);
  assert_int_equal(as(&s, &doc, "POST", path, "{\"reason\": \"assessed: low risk, safety plan given\"}", NULL), 200);
  v = visit_get(&s, &nurse, id);
  assert_string_equal(state_of(self_harm_alert(v)), "closed");
  json_decref(v);
  serve_cleanup(&s);
}

static void test_the_assessment_closes_the_alert_and_a_high_outcome_holds(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(people_serve(&s), 0);
  person nurse = {NURSE, ""}, doc = {CLINICIAN, ""};
  json_t *r;

  /* Item 9 at 0: no alert, no assessment asked. */
  json_int_t calm = screened(&s, &nurse, &doc, SCREENING_WITH(0));
  json_t *v = visit_get(&s, &nurse, calm);
  assert_null(self_harm_alert(v));
  assert_true(json_is_true(json_object_get(json_object_get(v, "gate"), "ok")));
  json_decref(v);

  /* The clinician's assessment closes the alert and is kept with the visit. */
  json_int_t id = screened(&s, &nurse, &doc, SCREENING_WITH(1));
  assert_int_equal(
      visit_do(&s, &doc, id, "entries",
               "{\"suicide_risk\": \"moderate: proceed with a safety plan\", \"password\": \"" SERVE_PASSWORD "\"}",
               &r),
      200);
  assert_string_equal(state_of(self_harm_alert(r)), "closed");
  assert_string_equal(json_string_value(json_object_get(visit_item(r, "screening", "suicide_risk"), "value")),
                      "moderate: proceed with a safety plan");
  assert_true(json_is_true(json_object_get(json_object_get(r, "gate"), "ok")));
  json_decref(r);
  /* Its outcome is a clinician's: a nurse's amendment of it is refused. */
  assert_int_equal(visit_do(&s, &nurse, id, "amend",
                            "{\"item\": \"suicide_risk\", \"value\": \"low: proceed\", \"reason\": \"typo\"}", NULL),
                   403);
  assert_int_equal(visit_do(&s, &nurse, id, "advance", "{}", NULL), 200);

  /* A high outcome holds the checklist. */
  json_int_t high = screened(&s, &nurse, &doc, SCREENING_WITH(3));
  assert_int_equal(visit_do(&s, &doc, high, "entries",
                            "{\"suicide_risk\": \"high: do not dose today\", \"password\": \"" SERVE_PASSWORD "\"}",
                            &r),
                   200);
  char *reasons = gate_reasons(r);
  assert_non_null(strstr(reasons, "Do not dose today"));
  free(reasons);
  json_decref(r);
  assert_int_equal(visit_do(&s, &nurse, high, "advance", "{}", NULL), 409);
  serve_cleanup(&s);
}

#define PHQ9_WITH(q9)                                                                                                  \
  "{\"item\": \"phq9\", \"reason\": \"the patient corrected an answer\", \"value\": {\"q1\": 2, \"q2\": 2,"            \
  " \"q3\": 1, \"q4\": 1, \"q5\": 0, \"q6\": 1, \"q7\": 1, \"q8\": 0, \"q9\": " #q9 "}}"

/* F5 of the independent try: a nurse's amendment of item 9 back to 0 closed
 * the carried alert. It stays until a clinician assesses or acknowledges. */
static void test_an_amendment_does_not_close_the_carried_alert(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(people_serve(&s), 0);
  person nurse = {NURSE, ""}, doc = {CLINICIAN, ""};
  char path[64];

  json_int_t id = screened(&s, &nurse, &doc, SCREENING_WITH(2));
  json_t *v = visit_get(&s, &nurse, id);
  json_int_t alert = json_integer_value(json_object_get(self_harm_alert(v), "id"));
  json_decref(v);
  assert_int_equal(visit_do(&s, &nurse, id, "amend", PHQ9_WITH(0), NULL), 200);
  v = visit_get(&s, &nurse, id);
  assert_string_equal(state_of(self_harm_alert(v)), "active");
  char *reasons = gate_reasons(v);
  assert_non_null(strstr(reasons, "not acknowledged: PHQ-9 item 9 scored 2"));
  free(reasons);
  json_decref(v);
  assert_int_equal(visit_do(&s, &nurse, id, "advance", "{}", NULL), 409);
  /* The clinician closes it, with a reason. */
  snprintf(path, sizeof path, "/api/v1/alerts/%lld/ack", (long long)alert);
  assert_int_equal(as(&s, &doc, "POST", path, "{\"reason\": \"spoke with the patient: no current thoughts\"}", NULL),
                   200);
  assert_int_equal(visit_do(&s, &nurse, id, "advance", "{}", NULL), 200);
  serve_cleanup(&s);
}

/* F4 of the independent try: amendments after screening ran no screening
 * rule. Item 9 amended 0 -> 3 in the infusion raises the carried self-harm
 * alert; the dose amended to 70 mg raises the dose alert and holds. */
static void test_amendments_after_screening_run_its_rules(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(people_serve(&s), 0);
  person nurse = {NURSE, ""}, doc = {CLINICIAN, ""};
  json_t *r;

  json_int_t id = screened(&s, &nurse, &doc, SCREENING_WITH(0));
  assert_int_equal(visit_do(&s, &nurse, id, "advance", "{}", &r), 200);
  assert_string_equal(json_string_value(json_object_get(r, "phase")), "infusion");
  json_decref(r);

  assert_int_equal(visit_do(&s, &nurse, id, "amend", PHQ9_WITH(3), NULL), 200);
  json_t *v = visit_get(&s, &nurse, id);
  json_t *a = self_harm_alert(v);
  assert_non_null(a);
  assert_string_equal(state_of(a), "active");
  assert_string_equal(json_string_value(json_object_get(a, "priority")), "high");
  assert_true(json_is_true(json_object_get(a, "carried")));
  char *reasons = gate_reasons(v);
  assert_non_null(strstr(reasons, "PHQ-9 item 9 scored 3"));
  free(reasons);
  json_decref(v);

  assert_int_equal(
      visit_do(&s, &nurse, id, "amend", "{\"item\": \"dose\", \"value\": 70, \"reason\": \"redrawn\"}", NULL), 200);
  v = visit_get(&s, &nurse, id);
  size_t i;
  json_t *x, *dose = NULL;
  json_array_foreach(json_object_get(v, "alerts"), i, x) {
    if (!strcmp(json_string_value(json_object_get(x, "rule")), "dose_calc")) dose = x;
  }
  assert_non_null(dose);
  assert_string_equal(state_of(dose), "active");
  assert_non_null(strstr(json_string_value(json_object_get(dose, "message")), "Dose 70 mg differs from 35 mg"));
  reasons = gate_reasons(v);
  assert_non_null(strstr(reasons, "Dose 70 mg differs from 35 mg"));
  free(reasons);
  json_decref(v);

  /* Amended back, the dose's hold lifts (its alert, carried, stays for a clinician). */
  assert_int_equal(visit_do(&s, &nurse, id, "amend", "{\"item\": \"dose\", \"value\": 35, \"reason\": \"typo\"}", NULL),
                   200);
  v = visit_get(&s, &nurse, id);
  reasons = gate_reasons(v);
  assert_null(strstr(reasons, "Dose 70 mg differs"));
  free(reasons);
  json_decref(v);
  serve_cleanup(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_item9_holds_until_assessed_and_the_alert_is_carried),
      cmocka_unit_test(test_the_assessment_closes_the_alert_and_a_high_outcome_holds),
      cmocka_unit_test(test_an_amendment_does_not_close_the_carried_alert),
      cmocka_unit_test(test_amendments_after_screening_run_its_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
