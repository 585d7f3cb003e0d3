/* AI5 of the fourteenth try, AL5 of the fifteenth (docs/safety.md).
 *
 * "Not given" by a plain or late entry where /amend refused it (a nurse's
 * amendment of a dose given to not given is 403, P1): esketamine_rems's
 * `dosing.devices_administered` false entered late after the visit left
 * dosing was 200 (the REMS form's `dosed_at` null), ketamine_iv's
 * `infusion_started` false mid-infusion 200, and late after the infusion
 * 200 (its FHIR QuestionnaireResponse showed true and false). U11's
 * amend-only rule left checks out (false is "not yet": the ride arrives).
 *
 * Control: a check of the course's dose_given items (the infusion started,
 * the devices administered), once recorded yes, is changed to no only by an
 * amendment with a reason, a clinician's: a dose given is not undone, so a
 * "no" after it corrects the record. The entry is 409 naming /amend and the
 * clinician; nothing is recorded. A "no" before the "yes" is still "not
 * yet"; another check's "no" after its "yes" is still news (the ride
 * cancelled: U11's exemption of checks).
 *
 * End to end over the HTTP API of a real `vigil serve` with copies of the
 * bundled protocols. Fails without the control: the entries of "no" are 200
 * where 409 is expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"
#include "hazard_restart.h"

/* The message names the way: an amendment, a clinician's for the dose. */
static void expect_amendment(const char *msg) {
  if (!strstr(msg, "/amend") || !strstr(msg, "clinician")) fail_msg("409 without the clinician's amendment: %s", msg);
}

/* Nothing was recorded: item of phase still says yes, once. */
static void still_yes(alarm_serve *a, uint64_t id, const char *phase, const char *item) {
  json_t *v = alarm_visit_json(a, id);
  json_t *it = alarm_visit_item(v, phase, item);
  if (!json_is_true(json_object_get(it, "value")) || json_integer_value(json_object_get(it, "count")) != 1) {
    char *text = json_dumps(it, JSON_COMPACT);
    fail_msg("%s.%s changed by the entry: %s", phase, item, text ? text : "(none)");
  }
  json_decref(v);
}

static void esketamine_devices_not_given_late_is_an_amendment(void **state) {
  alarm_serve *a = *state;
  char msg[4096], body[256];
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, ALARM_ESKETAMINE_PREDOSE(0)), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  assert_int_equal(
      alarm_record(a, id, "{\"dose\": \"56 mg\", \"lot_number\": \"EKA2211\", \"devices_administered\": true}"), 200);
  /* In dosing: "not given" after "given" by an entry. */
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", "{\"devices_administered\": false}", msg, sizeof msg), 409);
  expect_amendment(msg);
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  /* After leaving dosing: the late entry of "not given", observed in dosing. */
  snprintf(body, sizeof body, "{\"dosing.devices_administered\": false, \"observed_at\": %lld}",
           alarm_now(a) - 3 * 60000);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", body, msg, sizeof msg), 409);
  expect_amendment(msg);
  /* Nothing was recorded: the devices still say given. */
  still_yes(a, id, "dosing", "devices_administered");
  /* The nurse's amendment is 403 (P1), the clinician's with a reason and password 200. */
  assert_int_equal(
      alarm_cmd(a, NULL, id, "amend",
                "{\"item\": \"dosing.devices_administered\", \"value\": false, \"reason\": \"not given\"}"),
      403);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "amend",
                             "{\"item\": \"dosing.devices_administered\", \"value\": false, \"reason\": \"the device "
                             "was not used: the patient declined\", \"password\": \"" SERVE_PASSWORD "\"}"),
                   200);
}

/* ketamine_iv: "not started" mid-infusion, and late after the infusion
 * (the FHIR QuestionnaireResponse showed true and false). */
static void ketamine_infusion_not_started_is_an_amendment(void **state) {
  alarm_serve *a = *state;
  char msg[4096], body[256];
  uint64_t id = alarm_ketamine_infusing(a, ALARM_KETAMINE_SCREENING);
  /* The workstation offers Amend, not "Record again". */
  json_t *v = alarm_visit_json(a, id);
  assert_true(json_is_true(json_object_get(alarm_visit_item(v, "infusion", "infusion_started"), "amend_only")));
  json_decref(v);
  assert_int_equal(alarm_advance_clock(a, "10m"), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", "{\"infusion_started\": false}", msg, sizeof msg), 409);
  expect_amendment(msg);
  /* The same answer again is taken. */
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true}"), 200);
  /* After the infusion (its gate passed by the clinician), a late "not
   * started" observed in it. */
  assert_int_equal(alarm_override(a, id), 200);
  alarm_expect_phase(a, id, "observation");
  snprintf(body, sizeof body, "{\"infusion.infusion_started\": false, \"observed_at\": %lld}", alarm_now(a) - 60000);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", body, msg, sizeof msg), 409);
  expect_amendment(msg);
  v = alarm_visit_json(a, id);
  json_t *it = alarm_visit_item(v, "infusion", "infusion_started");
  assert_true(json_is_true(json_object_get(it, "value")));
  assert_int_equal(json_integer_value(json_object_get(it, "count")), 2); /* true, and true again */
  json_decref(v);
}

/* A check that is no dose is not held so: the ride confirmed, then
 * cancelled, is a new reading (U11), and confirmed again. A dose's "no"
 * before its "yes" is "not yet": the infusion started a little later. */
static void not_yet_then_given_is_taken(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_screened(a, ALARM_KETAMINE_SCREENING);
  assert_int_equal(alarm_record(a, id, "{\"ride_confirmed\": false}"), 200);
  json_t *v = alarm_visit_json(a, id);
  assert_true(json_is_false(json_object_get(alarm_visit_item(v, "screening", "ride_confirmed"), "value")));
  json_decref(v);
  assert_int_equal(alarm_record(a, id, "{\"ride_confirmed\": true}"), 200);
  assert_int_equal(
      alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"dose_check\": true, \"password\": \"" SERVE_PASSWORD "\"}"),
      200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": false}"), 200);
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true}"), 200);
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": false}"), 409);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(esketamine_devices_not_given_late_is_an_amendment, alarm_setup_esketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(ketamine_infusion_not_started_is_an_amendment, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(not_yet_then_given_is_taken, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
