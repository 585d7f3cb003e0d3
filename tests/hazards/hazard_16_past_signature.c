/* G5 (docs/safety.md, found by the second independent try, its #6): a dose
 * amended after screening voided the dose double-check, but the void
 * signature held no gate of the current phase, and a clinician could not sign
 * it again (409 "belongs to phase screening"). The same for a suicide-risk
 * assessment voided by an amended PHQ-9.
 *
 * End to end against a real `vigil serve` on the bundled ketamine_iv: in the
 * infusion, the nurse amends the screening dose; the infusion's gate names the
 * void double-check and how it is signed again; a clinician signs
 * `screening.dose_check` from the infusion (with what the visit shows to
 * attest) and the hold is lifted; an amended PHQ-9 voids the assessment,
 * raises the carried self-harm alert and holds; a clinician's assessment
 * signed again from the infusion lifts the hold and closes the alert. Fails
 * without the control (gate.c: a past phase's void signature; commands.c:
 * the past phase's void signature taken as an entry). */
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
                      "{\"protocol\": \"ketamine_iv\", \"patient\": \"G5\", \"params\": {\"weight\": 70}}", &r),
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

static int holds_for(serve_process *s, person *who, json_int_t id, const char *what) {
  json_t *v = visit_get(s, who, id);
  char *reasons = gate_reasons(v);
  int yes = strstr(reasons, what) != NULL;
  free(reasons);
  json_decref(v);
  return yes;
}

static void test_a_void_double_check_holds_and_is_signed_again(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(people_serve(&s), 0);
  person nurse = {NURSE, ""}, doc = {CLINICIAN, ""};
  json_t *r;
  json_int_t id = in_infusion(&s, &nurse, &doc, SCREENING_WITH("0"), 0);
  assert_false(holds_for(&s, &nurse, id, "void"));

  /* The dose amended in the infusion (within the tolerance: no dose alert). */
  assert_int_equal(visit_do(&s, &nurse, id, "amend",
                            "{\"item\": \"screening.dose\", \"value\": 36, \"reason\": \"redrawn after a spill\"}",
                            NULL),
                   200);
  json_t *v = visit_get(&s, &nurse, id);
  assert_string_equal(json_string_value(json_object_get(v, "phase")), "infusion");
  char *reasons = gate_reasons(v);
  assert_non_null(strstr(
      reasons,
      "Dose double-checked by a second person (Screening before dosing) is void: Ketamine dose drawn up "
      "changed from 35 mg to 36 mg after it was signed; a clinician signs it again (entry screening.dose_check)"));
  free(reasons);
  /* What a signature would attest now, for the Sign dialog. */
  json_t *to = json_object_get(visit_item(v, "screening", "dose_check"), "to_attest");
  assert_non_null(to);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(to, "items"), "screening.dose")), 36);
  assert_non_null(strstr(json_string_value(json_object_get(to, "calculation")), "drawn up 36 mg"));
  json_t *body = json_pack("{s:b, s:s, s:{s:O}}", "screening.dose_check", 1, "password", SERVE_PASSWORD, "attests",
                           "screening.dose_check", to);
  char *text = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  json_decref(v);

  /* A nurse does not sign; a clinician signs it again from the infusion. */
  assert_int_equal(visit_do(&s, &nurse, id, "entries", text, NULL), 403);
  assert_int_equal(visit_do(&s, &doc, id, "entries", text, &r), 200);
  free(text);
  json_t *attests = json_object_get(visit_item(r, "screening", "dose_check"), "attests");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(attests, "items"), "screening.dose")), 36);
  assert_null(json_object_get(visit_item(r, "screening", "dose_check"), "void"));
  json_decref(r);
  assert_false(holds_for(&s, &nurse, id, "void"));
  /* A standing signature of a past phase is not signed again. */
  assert_int_equal(
      visit_do(&s, &doc, id, "entries", "{\"screening.dose_check\": true, \"password\": \"" SERVE_PASSWORD "\"}", &r),
      409);
  assert_non_null(strstr(error_message(r), "belongs to phase screening"));
  json_decref(r);
  serve_cleanup(&s);
}

static void test_a_void_assessment_holds_and_is_signed_again(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(people_serve(&s), 0);
  person nurse = {NURSE, ""}, doc = {CLINICIAN, ""}, doc2 = {CLINICIAN2, ""};
  json_t *r;
  json_int_t id = in_infusion(&s, &nurse, &doc, SCREENING_WITH("1"), 1);

  /* Item 9 amended from 1 to 2: the assessment is void and holds the infusion. */
  assert_int_equal(visit_do(&s, &nurse, id, "amend",
                            "{\"item\": \"screening.phq9\", \"value\": {\"q1\": 2, \"q2\": 2, \"q3\": 1, \"q4\": 1, "
                            "\"q5\": 0, \"q6\": 1, \"q7\": 1, \"q8\": 0, \"q9\": 2}, \"reason\": \"misread the form\"}",
                            NULL),
                   200);
  assert_true(holds_for(&s, &nurse, id,
                        "Suicide-risk assessment by a clinician (PHQ-9 item 9 above 0) (Screening before dosing) "
                        "is void"));
  assert_int_equal(visit_do(&s, &nurse, id, "advance", "{}", &r), 409);
  char *answer = json_dumps(r, 0);
  assert_non_null(strstr(answer, "screening.suicide_risk"));
  free(answer);
  json_decref(r);

  /* Another clinician assesses again from the infusion: the hold is lifted. */
  assert_int_equal(
      visit_do(&s, &doc2, id, "entries",
               "{\"suicide_risk\": \"moderate: proceed with a safety plan\", \"password\": \"" SERVE_PASSWORD "\"}",
               &r),
      200);
  assert_string_equal(json_string_value(json_object_get(visit_item(r, "screening", "suicide_risk"), "value")),
                      "moderate: proceed with a safety plan");
  json_decref(r);
  assert_false(holds_for(&s, &nurse, id, "void"));
  /* The assessment closed the self-harm alert the amendment raised. */
  json_t *v = visit_get(&s, &nurse, id);
  size_t i, found = 0;
  json_t *a;
  json_array_foreach(json_object_get(v, "alerts"), i, a) {
    if (!strstr(json_string_value(json_object_get(a, "message")), "PHQ-9 item 9")) continue;
    found++;
    assert_string_equal(json_string_value(json_object_get(a, "state")), "closed");
  }
  assert_true(found > 0);
  json_decref(v);
  serve_cleanup(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_a_void_double_check_holds_and_is_signed_again),
                                     cmocka_unit_test(test_a_void_assessment_holds_and_is_signed_again)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
