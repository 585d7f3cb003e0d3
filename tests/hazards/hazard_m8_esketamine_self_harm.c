/* M8 (docs/safety.md, H4 in esketamine_rems): SPRAVATO's label carries a
 * boxed warning on suicidal thoughts and behaviours, yet esketamine_rems 1.2.0
 * asked nothing about them: a patient with thoughts of self-harm was dosed
 * with no question asked. ketamine_iv holds at screening on a positive PHQ-9
 * item 9 until a clinician's suicide-risk assessment (H4).
 *
 * End to end over the HTTP API of a real `vigil serve` with a copy of the
 * bundled esketamine_rems: the item cannot be skipped; a positive answer
 * raises a high alert and holds the session before dosing (409) until the
 * prescriber signs the assessment (a nurse cannot); "high: do not dose today"
 * holds; a lower outcome, the alert acknowledged, lets dosing start. Fails
 * without the control (protocols/esketamine_rems/predose.lua: the items
 * self_harm_thoughts and suicide_risk, the rule self_harm). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

static void positive_item_9_holds_dosing_until_the_prescriber_assesses(void **state) {
  alarm_serve *a = *state;
  char msg[2048];
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id > 0);
  /* The question cannot be skipped. */
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "skip",
                                 "{\"item\": \"self_harm_thoughts\", \"reason\": \"patient declined\"}", msg,
                                 sizeof msg),
                   422);
  assert_non_null(strstr(msg, "cannot be skipped"));
  assert_int_equal(
      alarm_record(a, id,
                   "{\"consent\": true, \"ci_vascular\": \"no\", \"ci_hypersensitivity\": \"no\","
                   " \"pregnancy\": \"neither\", \"substance_use\": \"no\", \"self_harm_thoughts\": \"1\","
                   " \"comed_benzodiazepine\": \"no\", \"comed_hypnotic\": \"no\", \"comed_psychostimulant\": \"no\","
                   " \"comed_maoi\": \"no\", \"ride_confirmed\": true, \"prescriber_on_site\": true,"
                   " \"pulse_oximeter\": true,"
                   " \"predose_vitals\": {\"sbp\": 128, \"dbp\": 78, \"hr\": 70, \"spo2\": 98, \"rr\": 14}}"),
      200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  json_t *alert = alarm_latest(a, id, "self_harm");
  assert_non_null(alert);
  assert_string_equal(alarm_str(alert, "priority"), "high");
  assert_non_null(strstr(alarm_str(alert, "message"), "PHQ-9 item 9 answered 1"));
  uint64_t alert_id = alarm_id(alert);
  json_decref(alert);
  /* Dosing waits for the assessment; a nurse cannot sign it. */
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  assert_int_equal(
      alarm_cmd(a, NULL, id, "entries", "{\"suicide_risk\": \"low: proceed\", \"password\": \"" SERVE_PASSWORD "\"}"),
      403);
  /* "High" holds. */
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries",
                             "{\"suicide_risk\": \"high: do not dose today\", \"password\": \"" SERVE_PASSWORD "\"}"),
                   200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  /* Reassessed: a safety plan; the alert seen; dosing may start. */
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "amend",
                             "{\"item\": \"suicide_risk\", \"value\": \"moderate: proceed with a safety plan\","
                             " \"reason\": \"reassessed with the psychiatrist\", \"password\": \"" SERVE_PASSWORD
                             "\"}"),
                   200);
  char path[64];
  snprintf(path, sizeof path, "/api/v1/alerts/%llu/ack", (unsigned long long)alert_id);
  int ack = alarm_call(a, ALARM_CLINICIAN, "POST", path, "{\"reason\": \"assessed; safety plan agreed\"}", NULL);
  assert_true(ack == 200 || ack == 409);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(positive_item_9_holds_dosing_until_the_prescriber_assesses,
                                      alarm_setup_esketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
