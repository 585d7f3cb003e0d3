/* AI1 of the fourteenth try (docs/safety.md).
 *
 * PHQ-9 item 9 made positive after its phase was left (ketamine_iv's
 * `screening.phq9` amended from 0 to 2 in the infusion, before it started;
 * esketamine_rems's `predose.self_harm_thoughts` amended to 2 in dosing): the
 * carried alert was raised and the dose held, but the suicide-risk
 * assessment the answer now requires could not be recorded (409 "belongs to
 * phase ..."), the gate did not name it, and once a clinician acknowledged
 * the alert with a reason ("assessed: high risk, do not dose today") the
 * nurse's dose was 200 with no assessment recorded.
 *
 * Control: a signature of a left phase that a change voided or newly
 * requires (its `when` holds now, unrecorded, not passed by an override) is
 * recorded from the phase the visit is in, as an amendment of its phase;
 * the current phase's gate names it, and the dose waits until it is
 * recorded (and a "high: do not dose today" outcome keeps holding, K1).
 *
 * End to end over the HTTP API of a real `vigil serve` with copies of the
 * bundled protocols. Fails without the control: the dose after the
 * clinician's acknowledgement (200 where 409 is expected). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

#define PHQ9(q9)                                                                                                       \
  "{\"q1\": 0, \"q2\": 0, \"q3\": 0, \"q4\": 0, \"q5\": 0, \"q6\": 0, \"q7\": 0, \"q8\": 0, \"q9\": " q9 "}"

#define ESKETAMINE_DOSE "{\"dose\": \"56 mg\", \"lot_number\": \"EKA2211\", \"devices_administered\": true}"

/* The gate's reasons of the visit as compact JSON text (malloc'd). */
static char *gate_reasons_text(alarm_serve *a, uint64_t id) {
  json_t *v = alarm_visit_json(a, id);
  char *text = json_dumps(json_object_get(json_object_get(v, "gate"), "reasons"), JSON_COMPACT);
  json_decref(v);
  assert_non_null(text);
  return text;
}

/* The visit's item `id` of phase `phase` (a new reference; NULL if none). */
static json_t *visit_item(alarm_serve *a, uint64_t visit, const char *phase, const char *id) {
  json_t *v = alarm_visit_json(a, visit), *found = NULL;
  size_t i, j;
  json_t *ph, *it;
  json_array_foreach(json_object_get(v, "phases"), i, ph) {
    if (strcmp(json_string_value(json_object_get(ph, "id")), phase) != 0) continue;
    json_array_foreach(json_object_get(ph, "items"), j, it) {
      if (strcmp(json_string_value(json_object_get(it, "id")), id) == 0) found = json_incref(it);
    }
  }
  json_decref(v);
  return found;
}

/* Whether the visit says the signature of a left phase is owed (AL7: the
 * workstation offers it where the visit is, with what signing attests). */
static int owed(alarm_serve *a, uint64_t visit, const char *phase, const char *id) {
  json_t *it = visit_item(a, visit, phase, id);
  assert_non_null(it);
  int yes = json_is_true(json_object_get(it, "owed"));
  if (yes) assert_non_null(json_object_get(it, "to_attest"));
  json_decref(it);
  return yes;
}

/* The clinician acknowledges the carried self_harm alert with the try's reason: 200. */
static void clinician_acknowledges_self_harm(alarm_serve *a, uint64_t id) {
  json_t *al = alarm_latest(a, id, "self_harm");
  assert_non_null(al);
  assert_true(json_is_true(json_object_get(al, "carried")));
  uint64_t alert_id = alarm_id(al);
  json_decref(al);
  assert_int_equal(
      alarm_ack_as(a, ALARM_CLINICIAN, alert_id, "{\"reason\": \"assessed: high risk, do not dose today\"}"), 200);
}

/* A message that names what is missing, or the test fails with it. */
static void expect_in(const char *text, const char *part) {
  if (!strstr(text, part)) fail_msg("\"%s\" not in: %s", part, text);
}

/* An esketamine_rems visit with item 9 at 0 before dosing, judged
 * acceptable, in dosing, its item 9 then amended (amend: the body). */
static uint64_t esketamine_amended_in_dosing(alarm_serve *a, const char *amend) {
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, ALARM_ESKETAMINE_PREDOSE(0)), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "amend", amend), 200);
  return id;
}

static void ketamine_assessment_required_in_the_infusion(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_ketamine_in_infusion(a, ALARM_KETAMINE_SCREENING);
  assert_int_equal(alarm_cmd(a, NULL, id, "amend",
                             "{\"item\": \"screening.phq9\", \"value\": " PHQ9(
                                 "2") ", \"reason\": \"the patient told the nurse in the chair\"}"),
                   200);
  clinician_acknowledges_self_harm(a, id);
  /* The alert is closed; the assessment is still owed: the dose waits, the gate names it. */
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", "{\"infusion_started\": true}", msg, sizeof msg), 409);
  expect_in(msg, "screening.suicide_risk");
  char *reasons = gate_reasons_text(a, id);
  expect_in(reasons, "not recorded");
  expect_in(reasons, "screening.suicide_risk");
  free(reasons);
  /* The visit says so at the item, for the workstation's card (AL7). */
  assert_true(owed(a, id, "screening", "suicide_risk"));
  /* A nurse cannot record it; the clinician records it from the infusion. */
  assert_int_equal(
      alarm_record(a, id, "{\"screening.suicide_risk\": \"low: proceed\", \"password\": \"" SERVE_PASSWORD "\"}"), 403);
  assert_int_equal(
      alarm_cmd_msg(a, ALARM_CLINICIAN, id, "entries",
                    "{\"screening.suicide_risk\": \"high: do not dose today\", \"password\": \"" SERVE_PASSWORD "\"}",
                    msg, sizeof msg),
      200);
  alarm_expect_phase(a, id, "infusion");
  /* "High: do not dose today" holds the dose (K1). */
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", "{\"infusion_started\": true}", msg, sizeof msg), 409);
  expect_in(msg, "Do not dose today");
  reasons = gate_reasons_text(a, id);
  if (strstr(reasons, "screening.suicide_risk) not recorded")) fail_msg("recorded, still named: %s", reasons);
  free(reasons);
  assert_false(owed(a, id, "screening", "suicide_risk"));
}

static void esketamine_assessment_required_in_dosing(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = esketamine_amended_in_dosing(a, "{\"item\": \"predose.self_harm_thoughts\", \"value\": \"2\", "
                                                "\"reason\": \"the patient told the nurse before the dose\"}");
  clinician_acknowledges_self_harm(a, id);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", ESKETAMINE_DOSE, msg, sizeof msg), 409);
  expect_in(msg, "predose.suicide_risk");
  char *reasons = gate_reasons_text(a, id);
  expect_in(reasons, "predose.suicide_risk");
  free(reasons);
  assert_int_equal(
      alarm_cmd_msg(a, ALARM_CLINICIAN, id, "entries",
                    "{\"predose.suicide_risk\": \"high: do not dose today\", \"password\": \"" SERVE_PASSWORD "\"}",
                    msg, sizeof msg),
      200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", ESKETAMINE_DOSE, msg, sizeof msg), 409);
  expect_in(msg, "Do not dose today");
}

/* The hold is the assessment's, not for ever: one that lets the dose go
 * ("moderate: proceed with a safety plan") recorded from dosing lets it. */
static void esketamine_assessment_that_proceeds_lets_the_dose(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = esketamine_amended_in_dosing(a, "{\"item\": \"predose.self_harm_thoughts\", \"value\": \"1\", "
                                                "\"reason\": \"the patient told the nurse before the dose\"}");
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", ESKETAMINE_DOSE, msg, sizeof msg), 409);
  assert_int_equal(
      alarm_cmd_msg(
          a, ALARM_CLINICIAN, id, "entries",
          "{\"predose.suicide_risk\": \"moderate: proceed with a safety plan\", \"password\": \"" SERVE_PASSWORD "\"}",
          msg, sizeof msg),
      200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", ESKETAMINE_DOSE, msg, sizeof msg), 200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(ketamine_assessment_required_in_the_infusion, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(esketamine_assessment_required_in_dosing, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(esketamine_assessment_that_proceeds_lets_the_dose, alarm_setup_esketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
