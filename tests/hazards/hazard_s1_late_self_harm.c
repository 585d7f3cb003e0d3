/* S1 of the tenth independent try (docs/safety.md).
 *
 * A PHQ-9 item 9 (suicidal thoughts) answer entered late, after its phase was
 * left, was only a finding: esketamine_rems's pre-dose answer "0", the visit
 * advanced to dosing, then `predose.self_harm_thoughts` "3" entered late (a
 * minute after the pre-dose entry) raised a high self_harm alert that was
 * neither carried nor clinician-only; a nurse acknowledged it and the dose was
 * recorded with suicide_risk never assessed. The same answer as an amendment
 * held. Control: a late entry of a left phase whose readings are the newest of
 * their items acts as their amendment does (F4, H4, M8, R1): its alerts are
 * carried (open until a clinician assesses or acknowledges them with a
 * reason), its blocks set, nothing lifted (vigil__apply_outcomes,
 * core/engine/alerts.c, under LATE_FINDING_HOLDS).
 *
 * End to end over the HTTP API of a real `vigil serve` with a copy of the
 * bundled esketamine_rems. Fails without the control (the alert is not
 * carried; the nurse's acknowledgement is 200 and the dose 200). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"
#include "hazard_restart.h"

#define ESKETAMINE_PREDOSE                                                                                             \
  "{\"consent\": true, \"ci_vascular\": \"no\", \"ci_hypersensitivity\": \"no\", \"pregnancy\": \"neither\","          \
  " \"substance_use\": \"no\", \"self_harm_thoughts\": \"0\", \"comed_benzodiazepine\": \"no\","                       \
  " \"comed_hypnotic\": \"no\", \"comed_psychostimulant\": \"no\", \"comed_maoi\": \"no\", \"ride_confirmed\": true,"  \
  " \"prescriber_on_site\": true, \"pulse_oximeter\": true,"                                                           \
  " \"predose_vitals\": {\"sbp\": 120, \"dbp\": 75, \"hr\": 70, \"spo2\": 98, \"rr\": 14}}"

#define PHQ9(q9)                                                                                                       \
  "{\"q1\": 0, \"q2\": 0, \"q3\": 0, \"q4\": 0, \"q5\": 0, \"q6\": 0, \"q7\": 0, \"q8\": 0, \"q9\": " q9 "}"

static void esketamine_late_item_9_holds_the_dose_until_assessed(void **state) {
  alarm_serve *a = *state;
  char msg[4096], body[256], path[64];
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, ESKETAMINE_PREDOSE), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 200);
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  /* Item 9 answered 3, observed a minute after the pre-dose entry: as a
   * late entry it is refused since U11 (an answer already recorded changes
   * by an amendment with a reason), and the amendment is the way: it holds
   * as the late entry did. */
  snprintf(body, sizeof body, "{\"predose.self_harm_thoughts\": \"3\", \"observed_at\": %lld}", alarm_now(a) - 120000);
  assert_int_equal(alarm_record(a, id, body), 409);
  assert_int_equal(alarm_cmd(a, NULL, id, "amend",
                             "{\"item\": \"predose.self_harm_thoughts\", \"value\": \"3\", "
                             "\"reason\": \"the patient told the nurse after the dose was drawn up\"}"),
                   200);
  json_t *al = alarm_latest(a, id, "self_harm");
  assert_non_null(al);
  assert_string_equal(alarm_str(al, "priority"), "high");
  assert_true(json_is_true(json_object_get(al, "carried")));
  uint64_t alert_id = alarm_id(al);
  json_decref(al);
  /* A nurse's acknowledgement does not close it; the dose waits. */
  snprintf(path, sizeof path, "/api/v1/alerts/%llu/ack", (unsigned long long)alert_id);
  alarm_call(a, NULL, "POST", path, "{}", NULL);
  alarm_call(a, NULL, "POST", path, "{\"reason\": \"seen\"}", NULL);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries",
                                 "{\"dose\": \"56 mg\", \"lot_number\": \"EKA2211\", \"devices_administered\": true}",
                                 msg, sizeof msg),
                   409);
  if (!strstr(msg, "open until a clinician assesses it")) fail_msg("409 without the carried alert: %s", msg);
}

/* Ketamine_iv: PHQ-9 with item 9 at 0, dose checked, into the infusion; the
 * PHQ-9 with item 9 at 3 amended into screening: the infusion waits. */
static void ketamine_late_item_9_holds_the_infusion_until_assessed(void **state) {
  alarm_serve *a = *state;
  char msg[4096], body[512], path[64];
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id,
                                "{\"consent\": true, \"ci_hypertension\": \"no\", \"ci_vascular\": \"no\","
                                " \"ci_psychosis\": \"no\", \"ci_hypersensitivity\": \"no\","
                                " \"pregnancy\": \"not applicable\", \"substance_use\": \"no\","
                                " \"ride_confirmed\": true, \"baseline\": {\"sbp\": 120, \"dbp\": 75, \"hr\": 70,"
                                " \"spo2\": 98, \"rr\": 14}, \"dose\": 35, \"phq9\": " PHQ9("0") "}"),
                   200);
  assert_int_equal(
      alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"dose_check\": true, \"password\": \"" SERVE_PASSWORD "\"}"),
      200);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  /* As a late entry it is refused since Y1 (a recorded PHQ-9 changes by an
   * amendment with a reason), and the amendment is the way: it holds as the
   * late entry did. */
  snprintf(body, sizeof body, "{\"screening.phq9\": " PHQ9("3") ", \"observed_at\": %lld}", alarm_now(a) - 120000);
  assert_int_equal(alarm_record(a, id, body), 409);
  assert_int_equal(alarm_cmd(a, NULL, id, "amend",
                             "{\"item\": \"screening.phq9\", \"value\": " PHQ9(
                                 "3") ", "
                                      "\"reason\": \"the patient told the nurse after the dose was drawn up\"}"),
                   200);
  json_t *al = alarm_latest(a, id, "self_harm");
  assert_non_null(al);
  assert_true(json_is_true(json_object_get(al, "carried")));
  uint64_t alert_id = alarm_id(al);
  json_decref(al);
  snprintf(path, sizeof path, "/api/v1/alerts/%llu/ack", (unsigned long long)alert_id);
  alarm_call(a, NULL, "POST", path, "{}", NULL);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", "{\"infusion_started\": true}", msg, sizeof msg), 409);
  if (!strstr(msg, "open until a clinician assesses it")) fail_msg("409 without the carried alert: %s", msg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(esketamine_late_item_9_holds_the_dose_until_assessed, alarm_setup_esketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(ketamine_late_item_9_holds_the_infusion_until_assessed, alarm_setup_ketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
