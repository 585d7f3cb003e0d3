/* AN13 of the late try (docs/safety.md).
 *
 * Pre-dose vitals of any age were taken at dosing: esketamine_rems's BP
 * 128/80, three hours, then the dose, lot and devices 200 (the REMS form:
 * `minutes_after_dosing: -180`); ketamine_iv's baseline four hours old, then
 * `infusion_started` 200. The discharge has `discharge_vitals_max_age_min`;
 * the dose had nothing.
 *
 * Control: the phase that gives the dose declares `before_dose` (a
 * gate-shaped check the engine asks at each entry of the dose while it is
 * not given, beside N7's holds: core/engine/gate.c vigil__dose_hold); both
 * protocols' say the newest pre-dose reading is older than
 * `predose_vitals_max_age_min` (30 minutes, docs/clinical/vitals-limits.md
 * "Pre-dose vitals of now"): 409 "take the pre-dose vitals again", nothing
 * recorded. The way on is a reading of now: esketamine's dosing.vitals (with
 * the pre-dose holds and alerts), ketamine's infusion.vitals before the
 * start (judged at screening's hold limit when the baseline had grown old).
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock. Fails without the control: "the dose 3 h after the pre-dose vitals
 * was 200", "infusion_started 4 h after the baseline was 200". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

#define DOSE "{\"dose\": \"56 mg\", \"lot_number\": \"EKA2211\", \"devices_administered\": true}"
#define CALM_NOW "{\"sbp\": 126, \"dbp\": 78, \"hr\": 70, \"spo2\": 98, \"rr\": 14}"

/* The entry is 409 saying want, and nothing of it recorded. */
static void held(alarm_serve *a, uint64_t id, const char *entry, const char *nobody, const char *want) {
  char msg[4096];
  int status = alarm_cmd_msg(a, NULL, id, "entries", entry, msg, sizeof msg);
  if (status != 409) fail_msg("%s (%d): %s", nobody, status, msg);
  if (!strstr(msg, want)) fail_msg("the 409 does not say \"%s\": %s", want, msg);
}

/* An esketamine_rems visit with calm pre-dose vitals, judged acceptable, in dosing. */
static uint64_t esketamine_in_dosing(alarm_serve *a) {
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, ALARM_ESKETAMINE_PREDOSE(0)), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  return id;
}

/* The try: three hours in dosing, then the dose: 409 until vitals of now. */
static void esketamine_dose_waits_for_vitals_of_now(void **state) {
  alarm_serve *a = *state;
  uint64_t id = esketamine_in_dosing(a);
  assert_int_equal(alarm_advance_clock(a, "3h"), 200);
  held(a, id, DOSE, "the dose 3 h after the pre-dose vitals was 200",
       "the pre-dose vitals are 180 minutes old (the dose needs them taken within 30): take the pre-dose vitals again");
  json_t *v = alarm_visit_json(a, id);
  json_t *dose = alarm_visit_item(v, "dosing", "devices_administered");
  if (dose && json_object_get(dose, "value") && !json_is_null(json_object_get(dose, "value")))
    fail_msg("the devices were recorded under the hold");
  json_decref(v);
  /* A repeat here, then the dose. */
  assert_int_equal(alarm_record(a, id, "{\"vitals\": " CALM_NOW "}"), 200);
  assert_int_equal(alarm_record(a, id, DOSE), 200);
}

/* The wait in predose counts the same: vitals 3 hours old at the advance. */
static void esketamine_wait_before_the_advance_counts_too(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, ALARM_ESKETAMINE_PREDOSE(0)), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  assert_int_equal(alarm_advance_clock(a, "3h"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  held(a, id, "{\"dose\": \"56 mg\"}", "the dose 3 h after the pre-dose vitals was 200",
       "the pre-dose vitals are 180 minutes old");
}

/* A repeat in dosing at the hold holds the dose as the pre-dose reading does
 * (and alerts: AN12), until a calm one. */
static void esketamine_repeat_at_the_hold_holds(void **state) {
  alarm_serve *a = *state;
  uint64_t id = esketamine_in_dosing(a);
  assert_int_equal(alarm_advance_clock(a, "45m"), 200);
  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 185, \"dbp\": 112, \"hr\": 70, \"spo2\": 98, \"rr\": 14}}"), 200);
  alarm_expect_state(a, id, "bp_hold", "active");
  held(a, id, DOSE, "the dose after a repeat of 185/112 was 200", "Pre-dose BP 185/112 is at or above 180/110");
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"vitals\": " CALM_NOW "}"), 200);
  assert_int_equal(alarm_record(a, id, DOSE), 200);
}

/* ketamine_iv: the baseline 4 hours old, infusion_started 409; a reading in
 * the infusion now lets it start. */
static void ketamine_start_waits_for_vitals_of_now(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_in_infusion(a, ALARM_KETAMINE_SCREENING);
  assert_int_equal(alarm_advance_clock(a, "4h"), 200);
  held(a, id, "{\"infusion_started\": true}", "infusion_started 4 h after the baseline was 200",
       "the pre-dose vitals are 240 minutes old (the start needs them taken within 30): take the vitals again");
  /* A repeat at the hold holds the start too (and alerts: AN12). */
  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 186, \"dbp\": 100, \"hr\": 70, \"spo2\": 98, \"rr\": 14}}"), 200);
  alarm_expect_state(a, id, "bp_hold", "active");
  held(a, id, "{\"infusion_started\": true}", "the start after a repeat of 186/100 was 200",
       "Pre-start BP 186/100 is at or above the hold limit 180/110");
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"vitals\": " CALM_NOW "}"), 200);
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true}"), 200);
  /* Started, the readings are the infusion's: the hold's alert gone with its condition. */
  json_t *x = alarm_latest(a, id, "bp_hold");
  if (x && !strcmp(alarm_str(x, "state"), "active")) fail_msg("bp_hold still active after the start");
  json_decref(x);
}

/* Within the 30 minutes nothing waits (the bundled flows, G9's visits side by side). */
static void ketamine_start_within_the_age_goes(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_in_infusion(a, ALARM_KETAMINE_SCREENING);
  assert_int_equal(alarm_advance_clock(a, "29m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true}"), 200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(esketamine_dose_waits_for_vitals_of_now, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(esketamine_wait_before_the_advance_counts_too, alarm_setup_esketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(esketamine_repeat_at_the_hold_holds, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(ketamine_start_waits_for_vitals_of_now, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(ketamine_start_within_the_age_goes, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
