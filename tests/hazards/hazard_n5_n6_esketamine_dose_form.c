/* N5 and N6 of the sixth independent try (docs/safety.md), on esketamine_rems.
 *
 * N5: esketamine's dose was neither prescribed nor checked: a nurse alone
 * recorded 84 mg at a course's first session. Control (protocols/esketamine_rems
 * 1.5.0): the dose is a prescribed param (dose_mg, 56 or 84; only a clinician
 * starts a visit at 84) and the rule dose_prescribed holds dosing on a recorded
 * dose other than the prescribed one.
 *
 * N6: the REMS form contradicted the monitoring record (MOAA/S 1 and
 * dissociation "present" in monitoring, then "no" and "no" at leaving, two low
 * alerts acknowledged), and its 40-minute BP was a reading taken at minute 0.
 * Control: the rules sedation_answer, dissociation_answer and
 * respiratory_answer hold leaving while a "no" contradicts the record, until
 * the answer is corrected or a clinician signs answers_confirmed (a nurse
 * cannot); the export's bp_at_40_minutes is the blood pressure observed first
 * at or after 40 minutes from dosing (export/rems.c).
 *
 * End to end over the HTTP API of a real `vigil serve` with a copy of the
 * bundled esketamine_rems. Each test fails without its control. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

#define PREDOSE                                                                                                        \
  "{\"consent\": true, \"ci_vascular\": \"no\", \"ci_hypersensitivity\": \"no\", \"pregnancy\": \"neither\","          \
  " \"substance_use\": \"no\", \"self_harm_thoughts\": \"0\", \"comed_benzodiazepine\": \"no\","                       \
  " \"comed_hypnotic\": \"no\", \"comed_psychostimulant\": \"no\", \"comed_maoi\": \"no\", \"ride_confirmed\": true,"  \
  " \"prescriber_on_site\": true, \"pulse_oximeter\": true,"                                                           \
  " \"predose_vitals\": {\"sbp\": 128, \"dbp\": 78, \"hr\": 70, \"spo2\": 98, \"rr\": 14}}"

/* A visit of a new patient started by `who` (NULL: the nurse) with params; its id, or 0 with the status in *status. */
static uint64_t start(alarm_serve *a, const char *who, const char *patient, const char *params, int *status) {
  char body[512];
  snprintf(body, sizeof body, "{\"protocol\": \"esketamine_rems\", \"patient\": \"%s\", \"params\": %s}", patient,
           params);
  json_t *r = NULL;
  *status = alarm_call(a, who, "POST", "/api/v1/visits", body, &r);
  uint64_t id = *status == 201 ? (uint64_t)json_integer_value(json_object_get(r, "id")) : 0;
  json_decref(r);
  return id;
}

/* Pre-dose checks done and judged acceptable by the clinician; in dosing. */
static void to_dosing(alarm_serve *a, uint64_t id) {
  assert_int_equal(alarm_record(a, id, PREDOSE), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
}

static void the_dose_is_prescribed_and_checked(void **state) {
  alarm_serve *a = *state;
  char msg[2048];
  int status;
  /* 84 mg is a clinician's prescription: a nurse cannot start the visit at it. */
  assert_int_equal(start(a, NULL, "MRN-N5A", "{\"dose_mg\": \"84\"}", &status), 0);
  assert_int_equal(status, 403);
  /* Started by the nurse at the default (56 mg): 84 mg recorded holds dosing. */
  uint64_t id = start(a, NULL, "MRN-N5A", "{}", &status);
  assert_true(id > 0);
  to_dosing(a, id);
  assert_int_equal(alarm_record(a, id, "{\"dose\": \"84 mg\", \"lot_number\": \"EKA2211\"}"), 200);
  json_t *alert = alarm_latest(a, id, "dose_prescribed");
  assert_non_null(alert);
  assert_non_null(strstr(alarm_str(alert, "message"), "Dose 84 mg is not the prescribed 56 mg"));
  json_decref(alert);
  /* Held: the devices are not recorded as given (N7), the phase is not left. */
  assert_int_equal(alarm_record(a, id, "{\"devices_administered\": true}"), 409);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  json_t *v = NULL;
  char path[64];
  snprintf(path, sizeof path, "/api/v1/visits/%llu", (unsigned long long)id);
  assert_int_equal(alarm_call(a, NULL, "GET", path, NULL, &v), 200);
  char *text = json_dumps(v, 0);
  assert_non_null(strstr(text, "not the prescribed 56 mg"));
  free(text);
  json_decref(v);
  /* Corrected to the prescribed dose: dosing goes on. */
  assert_int_equal(
      alarm_cmd(a, NULL, id, "amend",
                "{\"item\": \"dose\", \"value\": \"56 mg\", \"reason\": \"two devices prepared as prescribed\"}"),
      200);
  assert_int_equal(alarm_record(a, id, "{\"devices_administered\": true}"), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 200);
  /* A clinician's prescription of 84 mg: recorded as given, no hold. */
  uint64_t dr = start(a, ALARM_CLINICIAN, "MRN-N5B", "{\"dose_mg\": \"84\"}", &status);
  assert_true(dr > 0);
  to_dosing(a, dr);
  assert_int_equal(
      alarm_record(a, dr, "{\"dose\": \"84 mg\", \"lot_number\": \"EKA2211\", \"devices_administered\": true}"), 200);
  assert_null(alarm_latest(a, dr, "dose_prescribed"));
  assert_int_equal(alarm_cmd_msg(a, NULL, dr, "advance", "{}", msg, sizeof msg), 200);
}

/* Acknowledges every alert of the visit not acknowledged yet, as the clinician. */
static void ack_all(alarm_serve *a, uint64_t id) {
  json_t *alerts = alarm_alerts(a, id), *x;
  size_t i;
  json_array_foreach(alerts, i, x) {
    if (!strcmp(alarm_str(x, "state"), "acknowledged") || json_is_true(json_object_get(x, "acknowledged"))) continue;
    char path[64];
    snprintf(path, sizeof path, "/api/v1/alerts/%llu/ack", (unsigned long long)alarm_id(x));
    assert_int_equal(alarm_call(a, ALARM_CLINICIAN, "POST", path, "{\"reason\": \"seen and assessed\"}", NULL), 200);
  }
  json_decref(alerts);
}

#define CALM "{\"respiration\": {\"spo2\": 98, \"rr\": 14}, \"moaas\": \"5\", \"dissociation\": \"none\"}"

static void the_form_cannot_contradict_the_monitoring_record(void **state) {
  alarm_serve *a = *state;
  char msg[2048];
  int status;
  uint64_t id = start(a, NULL, "MRN-N6", "{}", &status);
  assert_true(id > 0);
  to_dosing(a, id);
  assert_int_equal(
      alarm_record(a, id, "{\"dose\": \"56 mg\", \"lot_number\": \"EKA2211\", \"devices_administered\": true}"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  /* A blood pressure at minute 0 in the 40-minute item; the one the form asks for comes at 45. */
  assert_int_equal(alarm_record(a, id, "{\"bp_40m\": {\"sbp\": 120, \"dbp\": 70, \"hr\": 66}}"), 200);
  for (int m = 15; m <= 120; m += 15) {
    assert_int_equal(alarm_advance_clock(a, "15m"), 200);
    if (m == 15) {
      assert_int_equal(alarm_record(a, id,
                                    "{\"respiration\": {\"spo2\": 97, \"rr\": 14}, \"moaas\": \"1\","
                                    " \"dissociation\": \"present\"}"),
                       200);
    } else {
      assert_int_equal(alarm_record(a, id, CALM), 200);
    }
    if (m == 45) assert_int_equal(alarm_record(a, id, "{\"bp\": {\"sbp\": 152, \"dbp\": 92, \"hr\": 80}}"), 200);
  }
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  ack_all(a, id);
  /* The 40-minute item holds only the minute-0 reading: a clinician overrides the gate, as in the finding. */
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  assert_int_equal(alarm_override(a, id), 200);
  /* At leaving the nurse answers "no" to what the record shows. */
  assert_int_equal(alarm_record(a, id,
                                "{\"bp_before_leaving\": {\"sbp\": 124, \"dbp\": 78, \"hr\": 68},"
                                " \"sedation_occurred\": \"no\", \"dissociation_occurred\": \"no\","
                                " \"respiratory_depression_occurred\": \"no\", \"ride_present\": true,"
                                " \"no_driving_advice\": true}"),
                   200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"leaving_acceptable\": \"yes\"}"), 200);
  ack_all(a, id);
  char path[128];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/discharge", (unsigned long long)id);
  json_t *r = NULL;
  assert_int_equal(alarm_call(a, NULL, "POST", path, "{\"password\": \"" SERVE_PASSWORD "\"}", &r), 409);
  char *text = json_dumps(r, 0);
  assert_non_null(strstr(text, "no sedation occurred, but the monitoring record shows MOAA/S as low as 1"));
  assert_non_null(strstr(text, "no dissociation occurred, but the monitoring record shows dissociation present"));
  free(text);
  json_decref(r);
  /* The nurse cannot confirm her own answers; the clinician signs them. */
  int nurse = alarm_cmd(a, NULL, id, "entries", "{\"answers_confirmed\": true, \"password\": \"" SERVE_PASSWORD "\"}");
  assert_true(nurse == 403 || nurse == 409 || nurse == 422);
  assert_int_equal(alarm_call(a, NULL, "POST", path, "{\"password\": \"" SERVE_PASSWORD "\"}", NULL), 409);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries",
                             "{\"answers_confirmed\": true, \"password\": \"" SERVE_PASSWORD "\"}"),
                   200);
  ack_all(a, id);
  assert_int_equal(alarm_call(a, NULL, "POST", path, "{\"password\": \"" SERVE_PASSWORD "\"}", NULL), 200);

  /* The form's BP at 40 minutes: the 45-minute reading, not the minute-0 one. */
  snprintf(path, sizeof path, "/api/v1/visits/%llu/rems", (unsigned long long)id);
  json_t *form = NULL;
  assert_int_equal(alarm_call(a, NULL, "GET", path, NULL, &form), 200);
  json_t *bp = json_object_get(form, "bp_at_40_minutes");
  assert_true(json_is_object(bp));
  assert_int_equal(json_integer_value(json_object_get(bp, "sbp")), 152);
  assert_int_equal(json_integer_value(json_object_get(bp, "minutes_after_dosing")), 45);
  assert_string_equal(json_string_value(json_object_get(form, "sedation_occurred")), "no");
  json_decref(form);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(the_dose_is_prescribed_and_checked, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(the_form_cannot_contradict_the_monitoring_record, alarm_setup_esketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
