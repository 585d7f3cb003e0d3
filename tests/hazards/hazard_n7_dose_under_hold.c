/* N7 (docs/safety.md): the dose was recorded while the pre-dose suicide-risk
 * hold was open again. esketamine_rems: item 9 answered 1, the prescriber's
 * "low: proceed", dosing entered; then item 9 amended to 3: the assessment
 * was voided and a high alert raised, the advance was held, but the dose
 * entry was 200.
 *
 * End to end over the HTTP API of a real `vigil serve` with copies of the
 * bundled protocols: while a hold is open (a carried alert, a signature a
 * change voided, a rule's block), the items of the phase that gives the dose
 * (the one holding the course's dose_given item), other than observations
 * and signatures, are refused with 409 naming the hold until the dose is
 * given; observations are still taken; once the hold is lifted the dose is
 * recorded. The rule is the engine's (vigil__dose_hold), for any protocol:
 * the same on ketamine_iv, where the infusion's start waits and its vitals
 * do not. Fails without the control (core/engine/commands.c, N7: 200). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

#define CLINICIAN_SIGNS(item, value) "{\"" item "\": \"" value "\", \"password\": \"" SERVE_PASSWORD "\"}"
#define CLINICIAN_CHECKS(item) "{\"" item "\": true, \"password\": \"" SERVE_PASSWORD "\"}"

static void ack_as_clinician(alarm_serve *a, uint64_t alert) {
  char path[64];
  snprintf(path, sizeof path, "/api/v1/alerts/%llu/ack", (unsigned long long)alert);
  assert_int_equal(alarm_call(a, ALARM_CLINICIAN, "POST", path,
                              "{\"reason\": \"spoke with the patient: no current plan, safety plan agreed\"}", NULL),
                   200);
}

static void esketamine_dose_waits_for_the_hold(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, ALARM_ESKETAMINE_PREDOSE(1)), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", CLINICIAN_SIGNS("suicide_risk", "low: proceed")), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 200);

  /* In dosing, item 9 amended to 3: the assessment is void, the alert raised again. */
  assert_int_equal(alarm_cmd(a, NULL, id, "amend",
                             "{\"item\": \"predose.self_harm_thoughts\", \"value\": \"3\","
                             " \"reason\": \"the patient corrected the answer\"}"),
                   200);
  json_t *alert = alarm_latest(a, id, "self_harm");
  assert_non_null(alert);
  assert_string_equal(alarm_str(alert, "state"), "active");
  uint64_t alert_id = alarm_id(alert);
  json_decref(alert);

  /* The dose, its lot and the devices wait, each naming the hold; nothing is recorded. */
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", "{\"dose\": \"56 mg\"}", msg, sizeof msg), 409);
  assert_non_null(strstr(msg, "the dose waits while a hold is open"));
  assert_non_null(strstr(msg, "PHQ-9 item 9 answered 3"));
  assert_non_null(strstr(msg, "is void"));
  assert_int_equal(alarm_cmd(a, NULL, id, "entries", "{\"lot_number\": \"L123\", \"devices_administered\": true}"),
                   409);
  json_t *v = NULL;
  char path[64];
  snprintf(path, sizeof path, "/api/v1/visits/%llu", (unsigned long long)id);
  assert_int_equal(alarm_call(a, NULL, "GET", path, NULL, &v), 200);
  json_t *phase, *x;
  size_t i, j;
  json_int_t dosing_entries = 0;
  json_array_foreach(json_object_get(v, "phases"), i, phase) {
    if (strcmp(alarm_str(phase, "id"), "dosing")) continue;
    json_array_foreach(json_object_get(phase, "items"), j, x) {
      dosing_entries += json_integer_value(json_object_get(x, "count"));
    }
  }
  json_decref(v);
  assert_int_equal(dosing_entries, 0);

  /* The prescriber assesses again (the void signature signed again); the alert closes by it, or by their
   * acknowledgement with a reason; then the dose is recorded. */
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries",
                             CLINICIAN_SIGNS("predose.suicide_risk", "moderate: proceed with a safety plan")),
                   200);
  alert = alarm_latest(a, id, "self_harm");
  if (alert && strcmp(alarm_str(alert, "state"), "closed")) ack_as_clinician(a, alert_id);
  json_decref(alert);
  assert_int_equal(alarm_record(a, id, "{\"dose\": \"56 mg\", \"lot_number\": \"L123\"}"), 200);
  assert_int_equal(alarm_record(a, id, "{\"devices_administered\": true}"), 200);
}

#define KETAMINE_SCREENING                                                                                             \
  "{\"consent\": true, \"ci_hypertension\": \"no\", \"ci_vascular\": \"no\", \"ci_psychosis\": \"no\","                \
  " \"ci_hypersensitivity\": \"no\", \"pregnancy\": \"not applicable\", \"substance_use\": \"no\","                    \
  " \"ride_confirmed\": true, \"baseline\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 70, \"spo2\": 98, \"rr\": 14},"        \
  " \"dose\": 35, \"phq9\": {\"q1\": 2, \"q2\": 2, \"q3\": 1, \"q4\": 1, \"q5\": 0, \"q6\": 1, \"q7\": 1, \"q8\": 0,"  \
  " \"q9\": 0}}"

/* The nurse amends the PHQ-9 of screening, item 9 now q9. */
#define PHQ9_AMENDED(q9)                                                                                               \
  "{\"item\": \"screening.phq9\", \"reason\": \"the patient corrected an answer\", \"value\": {\"q1\": 2,"             \
  " \"q2\": 2, \"q3\": 1, \"q4\": 1, \"q5\": 0, \"q6\": 1, \"q7\": 1, \"q8\": 0, \"q9\": " #q9 "}}"

/* A ketamine_iv visit screened, its dose double-checked, in the infusion phase. */
static uint64_t ketamine_into_infusion(alarm_serve *a) {
  char msg[4096];
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, KETAMINE_SCREENING), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", CLINICIAN_CHECKS("dose_check")), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 200);
  return id;
}

/* The same rule on another protocol: ketamine_iv's infusion start (its dose_given) waits for the carried
 * self-harm alert, for the suicide-risk assessment item 9's amendment requires since (AI1) and for the dose
 * double-check a dose amendment voided; its vitals are taken meanwhile; once
 * the infusion has started nothing of it is refused (stopping it is always recorded). */
static void ketamine_infusion_start_waits_for_the_hold(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = ketamine_into_infusion(a);

  assert_int_equal(alarm_cmd(a, NULL, id, "amend", PHQ9_AMENDED(2)), 200);
  json_t *alert = alarm_latest(a, id, "self_harm");
  assert_non_null(alert);
  uint64_t alert_id = alarm_id(alert);
  json_decref(alert);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", "{\"infusion_started\": true}", msg, sizeof msg), 409);
  assert_non_null(strstr(msg, "the dose waits while a hold is open"));
  assert_non_null(strstr(msg, "PHQ-9 item 9"));
  /* Observations go on. */
  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 130, \"dbp\": 80, \"hr\": 72, \"spo2\": 98, \"rr\": 14}}"), 200);
  ack_as_clinician(a, alert_id);

  /* The dose amended after its double-check: the signature is void, the start waits for it again. */
  assert_int_equal(
      alarm_cmd(a, NULL, id, "amend", "{\"item\": \"screening.dose\", \"value\": 36, \"reason\": \"redrawn syringe\"}"),
      200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", "{\"infusion_started\": true}", msg, sizeof msg), 409);
  assert_non_null(strstr(msg, "is void"));
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", CLINICIAN_CHECKS("screening.dose_check")), 200);
  /* Item 9 was 0 at screening: the assessment its amendment requires is
   * recorded from here; the alert's acknowledgement is not it (AI1). */
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", "{\"infusion_started\": true}", msg, sizeof msg), 409);
  assert_non_null(strstr(msg, "screening.suicide_risk"));
  assert_int_equal(
      alarm_cmd(a, ALARM_CLINICIAN, id, "entries", CLINICIAN_SIGNS("screening.suicide_risk", "low: proceed")), 200);
  json_t *alerts = alarm_alerts(a, id);
  json_t *x;
  size_t i;
  json_array_foreach(alerts, i, x) {
    if (json_is_true(json_object_get(x, "carried")) && strcmp(alarm_str(x, "state"), "closed"))
      ack_as_clinician(a, alarm_id(x));
  }
  json_decref(alerts);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", "{\"infusion_started\": true}", msg, sizeof msg), 200);

  /* Given: a new hold does not refuse the infusion's stop. */
  assert_int_equal(alarm_cmd(a, NULL, id, "amend", PHQ9_AMENDED(3)), 200);
  assert_int_equal(alarm_record(a, id, "{\"infusion_stopped\": true}"), 200);
}

/* Q2 (docs/safety.md): in the infusion phase, BP 215/128, SpO2 86 and RR 7 entered just before the start raise
 * high alerts; the start waits, its 409 naming each, until they are acknowledged. MOAA/S 1 (a medium alert) and
 * the observations do not hold it. Fails without the control (core/engine/gate.c, Q2: 200 at the first start). */
static void ketamine_infusion_start_waits_for_unacknowledged_high_alerts(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = ketamine_into_infusion(a);

  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 215, \"dbp\": 128, \"hr\": 72, \"spo2\": 86, \"rr\": 7}}"), 200);
  assert_int_equal(alarm_record(a, id, "{\"moaas\": \"1\"}"), 200);
  /* bp_hold: before the start the reading also meets the pre-dose hold, high above 200/120 (AP1). */
  const char *high[] = {"bp_high", "spo2_low", "rr_low", "bp_hold"};
  uint64_t ids[4];
  for (int i = 0; i < 4; i++) {
    json_t *alert = alarm_latest(a, id, high[i]);
    assert_non_null(alert);
    assert_string_equal(alarm_str(alert, "priority"), "high");
    assert_string_equal(alarm_str(alert, "state"), "active");
    ids[i] = alarm_id(alert);
    json_decref(alert);
  }
  json_t *sedation = alarm_latest(a, id, "sedation_deep");
  assert_non_null(sedation);
  assert_string_equal(alarm_str(sedation, "priority"), "medium");
  json_decref(sedation);

  /* The start waits, naming each high alert, not the medium one; nothing is recorded. */
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", "{\"infusion_started\": true}", msg, sizeof msg), 409);
  assert_non_null(strstr(msg, "the dose waits while a hold is open"));
  assert_non_null(strstr(msg, "BP 215/128"));
  assert_non_null(strstr(msg, "SpO2 86%"));
  assert_non_null(strstr(msg, "Respiratory rate 7/min"));
  assert_null(strstr(msg, "MOAA/S"));
  /* Observations go on. */
  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 150, \"dbp\": 90, \"hr\": 72, \"spo2\": 95, \"rr\": 12}}"), 200);

  /* Three acknowledged by the nurse: the fourth still holds the start, named alone. */
  assert_int_equal(alarm_ack(a, ids[0]), 200);
  assert_int_equal(alarm_ack(a, ids[1]), 200);
  assert_int_equal(alarm_ack(a, ids[3]), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", "{\"infusion_started\": true}", msg, sizeof msg), 409);
  assert_non_null(strstr(msg, "Respiratory rate 7/min"));
  assert_null(strstr(msg, "BP 215/128"));
  assert_int_equal(alarm_ack(a, ids[2]), 200);

  /* Acknowledged: the start is recorded, the medium MOAA/S alert still active. */
  sedation = alarm_latest(a, id, "sedation_deep");
  assert_non_null(sedation);
  assert_string_equal(alarm_str(sedation, "state"), "active");
  json_decref(sedation);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", "{\"infusion_started\": true}", msg, sizeof msg), 200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(esketamine_dose_waits_for_the_hold, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(ketamine_infusion_start_waits_for_the_hold, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(ketamine_infusion_start_waits_for_unacknowledged_high_alerts,
                                      alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
