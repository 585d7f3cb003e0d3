/* H3 (docs/safety.md): a signature survives a change to what it attests.
 *
 * End to end against a real `vigil serve` on the bundled ketamine_iv: a
 * clinician signs the dose double-check on 35 mg (70 kg x 0.5 mg/kg); the
 * signature records the dose, the weight, the order and the calculation
 * (in the visit and in its history); the nurse amends the dose to 38 mg and
 * the signature is void (a signature.voided event), the gate holds and the
 * visit does not advance; the signer may not sign again after amending the
 * dose themselves; another clinician signs what is now there and the visit
 * advances. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hazard_people.h"

static const char *SCREENING =
    "{\"consent\": true, \"ci_hypertension\": \"no\", \"ci_vascular\": \"no\", \"ci_psychosis\": \"no\","
    " \"ci_hypersensitivity\": \"no\", \"pregnancy\": \"not applicable\", \"substance_use\": \"no\","
    " \"ride_confirmed\": true, \"baseline\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 70, \"spo2\": 98, \"rr\": 14},"
    " \"phq9\": {\"q1\": 2, \"q2\": 2, \"q3\": 1, \"q4\": 1, \"q5\": 0, \"q6\": 1, \"q7\": 1, \"q8\": 0, \"q9\": 0}}";

static const char *SIGN = "{\"dose_check\": true, \"password\": \"" SERVE_PASSWORD "\"}";

static void test_a_changed_dose_voids_its_double_check(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(people_serve(&s), 0);
  person nurse = {NURSE, ""}, doc = {CLINICIAN, ""}, doc2 = {CLINICIAN2, ""};
  json_t *r;

  assert_int_equal(as(&s, &nurse, "POST", "/api/v1/visits",
                      "{\"protocol\": \"ketamine_iv\", \"patient\": \"H3\", \"params\": {\"weight\": 70}}", &r),
                   201);
  json_int_t id = json_integer_value(json_object_get(r, "id"));
  json_decref(r);
  assert_int_equal(visit_do(&s, &nurse, id, "entries", SCREENING, NULL), 200);
  assert_int_equal(visit_do(&s, &nurse, id, "entries", "{\"dose\": 35}", NULL), 200);

  /* Before signing, the visit says what a signature would attest, with the
   * calculation: what the Sign dialog shows. */
  json_t *v = visit_get(&s, &doc, id);
  json_t *to = json_object_get(visit_item(v, "screening", "dose_check"), "to_attest");
  assert_non_null(to);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(to, "items"), "screening.dose")), 35);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(to, "params"), "weight")), 70);
  assert_true(json_real_value(json_object_get(json_object_get(to, "params"), "dose_mg_per_kg")) == 0.5);
  assert_non_null(strstr(json_string_value(json_object_get(to, "calculation")), "70 kg x 0.5 mg/kg = 35 mg"));
  json_decref(v);

  /* The nurse who drew it up may not sign (a nurse does not sign at all);
   * the clinician signs, and the signature records what it attests. */
  assert_int_equal(visit_do(&s, &nurse, id, "entries", SIGN, NULL), 403);
  assert_int_equal(visit_do(&s, &doc, id, "entries", SIGN, &r), 200);
  json_t *attests = json_object_get(visit_item(r, "screening", "dose_check"), "attests");
  assert_non_null(attests);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(attests, "items"), "screening.dose")), 35);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(attests, "params"), "weight")), 70);
  assert_null(json_object_get(visit_item(r, "screening", "dose_check"), "void"));
  assert_true(json_is_true(json_object_get(json_object_get(r, "gate"), "ok")));
  json_decref(r);

  /* The nurse amends the dose: the signature is void and the gate holds. */
  assert_int_equal(visit_do(&s, &nurse, id, "amend",
                            "{\"item\": \"dose\", \"value\": 38, \"reason\": \"redrawn after a spill\"}", &r),
                   200);
  const char *why = json_string_value(json_object_get(visit_item(r, "screening", "dose_check"), "void"));
  assert_non_null(why);
  assert_non_null(strstr(why, "from 35 mg to 38 mg"));
  assert_false(json_is_true(json_object_get(json_object_get(r, "gate"), "ok")));
  char *reasons = gate_reasons(r);
  assert_non_null(strstr(reasons, "Dose double-checked by a second person is void"));
  free(reasons);
  json_decref(r);
  assert_int_equal(visit_do(&s, &nurse, id, "advance", "{}", &r), 409);
  json_decref(r);

  /* The history shows what was signed and that it became void. */
  char path[96];
  snprintf(path, sizeof path, "/api/v1/visits/%lld/events", (long long)id);
  char *log = NULL;
  json_t *events;
  assert_int_equal(as(&s, &doc, "GET", path, NULL, &events), 200);
  log = json_dumps(events, JSON_COMPACT);
  json_decref(events);
  assert_non_null(strstr(log, "\"attests\":{\"dose_check\":{\"items\":{\"screening.dose\":35}"));
  assert_non_null(strstr(log, "\"type\":\"signature.voided\""));
  free(log);

  /* The signer amends the dose: they may not sign for it again. */
  assert_int_equal(
      visit_do(&s, &doc, id, "amend", "{\"item\": \"dose\", \"value\": 36, \"reason\": \"recheck\"}", NULL), 200);
  assert_int_equal(visit_do(&s, &doc, id, "entries", SIGN, &r), 422);
  assert_non_null(strstr(error_message(r), "not by doc.b who amended"));
  json_decref(r);

  /* A signature on what the dialog showed before the change is refused. */
  assert_int_equal(visit_do(&s, &doc2, id, "entries",
                            "{\"dose_check\": true, \"password\": \"" SERVE_PASSWORD
                            "\", \"attests\": {\"dose_check\": "
                            "{\"items\": {\"screening.dose\": 38}, \"params\": {\"weight\": 70, \"dose_mg_per_kg\": "
                            "0.5}, \"calculation\": \"70 kg x 0.5 mg/kg = 35 mg; drawn up 38 mg\"}}}",
                            &r),
                   409);
  assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "code")), "attests_changed");
  json_decref(r);

  /* Another clinician signs what is there now, as shown; the visit moves on. */
  v = visit_get(&s, &doc2, id);
  to = json_object_get(visit_item(v, "screening", "dose_check"), "to_attest");
  json_t *body =
      json_pack("{s:b, s:s, s:{s:O}}", "dose_check", 1, "password", SERVE_PASSWORD, "attests", "dose_check", to);
  char *text = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  json_decref(v);
  assert_int_equal(visit_do(&s, &doc2, id, "entries", text, &r), 200);
  free(text);
  attests = json_object_get(visit_item(r, "screening", "dose_check"), "attests");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(attests, "items"), "screening.dose")), 36);
  assert_null(json_object_get(visit_item(r, "screening", "dose_check"), "void"));
  json_decref(r);
  assert_int_equal(visit_do(&s, &nurse, id, "advance", "{}", NULL), 200);
  serve_cleanup(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_a_changed_dose_voids_its_double_check),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
