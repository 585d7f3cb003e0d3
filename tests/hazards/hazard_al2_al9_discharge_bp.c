/* AL2 and AL9 of the fifteenth try (docs/safety.md).
 *
 * AL2: ketamine_iv's discharge did not read the BP against the baseline.
 * After a baseline of 128/80, a repeat reading at discharge of 200/120
 * raised two medium alerts (acknowledged by the nurse) and the discharge
 * went (200); 94/55, 27 % below the baseline, raised nothing and went too;
 * the modified Aldrete's circulation 2 ("within 20% of baseline") stood
 * beside it. Only the observation's `bp_not_recovered` read the baseline.
 *
 * Control (protocol data, ketamine_iv): the discharge's gate holds while the
 * last vitals' systolic is more than `bp_recovery_pct` (the observation's
 * param, 20 %) away from the baseline's, the same check as the observation's
 * (lib.bp_not_recovered); a reading back near the baseline or a clinician's
 * override with a reason is the way past. `aldrete_restates` checks the
 * circulation points against the last systolic and the baseline (the score's
 * own bands, scores.aldrete_circulation): circulation 2 beside 94 after 128
 * is a high alert that holds the discharge until the score is amended.
 *
 * AL9: esketamine_rems held a leaving BP of 192/114 (`bp_leaving`) but
 * alerted nobody; the monitoring alerts high at 180/110. Control: the
 * monitoring's `bp_high` runs on the BP before leaving under the same name.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock. Fails without the control: the discharges at 200/120 and 94/55 are
 * 200, and the leaving 192/114 raises no `bp_high`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

#define CALM "{\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": 98, \"rr\": 14}"
#define ALDRETE_10                                                                                                     \
  "{\"aldrete\": {\"activity\": 2, \"respiration\": 2, \"circulation\": 2, \"consciousness\": 2, \"spo2\": 2},"        \
  " \"responsible_adult\": true, \"no_driving_advice\": true, \"written_instructions\": true}"

/* A ketamine_iv visit screened with a baseline of 128/80 (ALARM_KETAMINE_SCREENING),
 * its dose double-checked, overridden by the clinician through the infusion,
 * four calm observation checkpoints at the baseline, the advance to the
 * discharge a minute after the last, Aldrete 10 and the checks recorded, and
 * two minutes on. The visit's id. */
static uint64_t in_discharge_with_a_baseline(alarm_serve *a) {
  uint64_t id = alarm_ketamine_in_infusion(a, ALARM_KETAMINE_SCREENING);
  assert_int_equal(alarm_override(a, id), 200); /* to the observation */
  for (int k = 1; k <= 4; k++) {
    assert_int_equal(alarm_advance_clock(a, "15m"), 200);
    assert_int_equal(alarm_record(a, id, "{\"vitals\": " CALM ", \"moaas\": \"5\", \"dissociation\": \"none\"}"), 200);
  }
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  alarm_expect_phase(a, id, "discharge");
  assert_int_equal(alarm_record(a, id, ALDRETE_10), 200);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  return id;
}

/* The discharge's repeat reading (discharge.vitals) sbp/dbp, heart rate hr, taken now. */
static void repeat_reading(alarm_serve *a, uint64_t id, int sbp, int dbp, int hr) {
  char body[160];
  snprintf(body, sizeof body, "{\"vitals\": {\"sbp\": %d, \"dbp\": %d, \"hr\": %d, \"spo2\": 98, \"rr\": 14}}", sbp,
           dbp, hr);
  assert_int_equal(alarm_record(a, id, body), 200);
}

/* The nurse acknowledges every active alert of the visit. */
static void nurse_acks_all(alarm_serve *a, uint64_t id) {
  json_t *alerts = alarm_alerts(a, id), *x;
  size_t i;
  json_array_foreach(alerts, i, x) {
    if (!strcmp(alarm_str(x, "state"), "active")) assert_int_equal(alarm_ack(a, alarm_id(x)), 200);
  }
  json_decref(alerts);
}

/* The try's 200/120: its medium alerts acknowledged by the nurse, the
 * discharge held by the BP against the baseline; after a reading back near
 * the baseline it goes. */
static void a_high_bp_far_from_baseline_holds_the_discharge(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = in_discharge_with_a_baseline(a);
  repeat_reading(a, id, 200, 120, 80);
  nurse_acks_all(a, id);
  alarm_held_saying(a, id, "last vitals systolic 200 is more than 20% away from the baseline 128");
  /* The Aldrete's circulation 2 beside 200 after 128 (56 %: 0 points) is a high alert too;
   * acknowledged, it still holds while the score says 2. */
  alarm_held_saying(a, id,
                    "its condition still holds: Modified Aldrete contradicts the last vitals: circulation 2 points");
  assert_int_equal(alarm_restart(a), 0);
  alarm_held_saying(a, id, "last vitals systolic 200 is more than 20% away from the baseline 128");

  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  repeat_reading(a, id, 142, 86, 76);
  alarm_expect_state(a, id, "aldrete_restates", "closed");
  alarm_clinician_acks_open(a, id);
  if (alarm_discharge(a, id, msg, sizeof msg) != 200) fail_msg("held at 142 after 128: %s", msg);
}

/* The try's 94/55 (27 % below 128): nothing alerted before. The gate holds;
 * the Aldrete's circulation 2 is contradicted (a high alert) until amended
 * to 1; the BP still holds until a clinician overrides with a reason. */
static void a_low_bp_far_from_baseline_holds_the_discharge(void **state) {
  alarm_serve *a = *state;
  uint64_t id = in_discharge_with_a_baseline(a);
  repeat_reading(a, id, 94, 55, 70);
  alarm_held_saying(a, id, "last vitals systolic 94 is more than 20% away from the baseline 128");
  json_t *x = alarm_latest(a, id, "aldrete_restates");
  if (!x) fail_msg("the Aldrete's circulation 2 beside 94 after a baseline of 128 raised nothing");
  assert_string_equal(alarm_str(x, "priority"), "high");
  if (!strstr(alarm_str(x, "message"), "circulation 2 points, but the last systolic 94 against the baseline 128 "
                                       "allows at most 1"))
    fail_msg("the alert says: %s", alarm_str(x, "message"));
  json_decref(x);
  alarm_held_saying(a, id, "Modified Aldrete contradicts the last vitals");

  assert_int_equal(
      alarm_cmd(a, NULL, id, "amend",
                "{\"item\": \"aldrete\", \"value\": {\"activity\": 2, \"respiration\": 2, "
                "\"circulation\": 1, \"consciousness\": 2, \"spo2\": 2}, \"reason\": \"BP 94 against 128\"}"),
      200);
  alarm_expect_state(a, id, "aldrete_restates", "closed");
  alarm_held_saying(a, id, "last vitals systolic 94 is more than 20% away from the baseline 128");
  /* A clinician's override with a reason is the way past; the visit is discharged. */
  assert_int_equal(alarm_override(a, id), 200);
  json_t *v = alarm_visit_json(a, id);
  assert_string_equal(json_string_value(json_object_get(v, "status")), "discharged");
  json_decref(v);
}

/* Within the 20 % (103 after 128: 19.5 %) the discharge goes with the
 * Aldrete's circulation 2: the check is the param's, not stricter. */
static void a_bp_within_the_recovery_band_goes(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = in_discharge_with_a_baseline(a);
  repeat_reading(a, id, 103, 66, 70);
  assert_null(alarm_latest(a, id, "aldrete_restates"));
  if (alarm_discharge(a, id, msg, sizeof msg) != 200) fail_msg("held at 103 after 128: %s", msg);
}

/* AL9: esketamine_rems's BP before leaving at 192/114 alerts high, as the
 * monitoring's bp_high does at 180/110, beside the bp_leaving hold. */
static void esketamine_high_bp_before_leaving_alerts(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE(0));
  alarm_esketamine_left_calm_monitoring(
      a, id,
      "{\"bp_before_leaving\": {\"sbp\": 192, \"dbp\": 114, \"hr\": 74}, \"sedation_occurred\": \"no\","
      " \"dissociation_occurred\": \"no\", \"respiratory_depression_occurred\": \"no\", \"ride_present\": true,"
      " \"no_driving_advice\": true}");
  alarm_expect_active(a, id, "bp_high", "high", "BP 192/114 is at or above 180/110",
                      "the BP before leaving 192/114 alerted nobody");
  alarm_held_saying(a, id, "BP before leaving 192/114 is at or above 180/110");

  /* A calm BP before leaving, amended with a reason, ends both; the
   * prescriber's "yes" was given on 192/114, so she answers again on the
   * amended reading (AS3: an amendment after her "yes" voids it). */
  assert_int_equal(alarm_advance_clock(a, "10m"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "amend",
                             "{\"item\": \"bp_before_leaving\", \"value\": {\"sbp\": 134, \"dbp\": 84, \"hr\": 70}, "
                             "\"reason\": \"repeated after rest\"}"),
                   200);
  alarm_clinician_acks_open(a, id);
  alarm_held_saying(a, id, "134/84 at ");
  alarm_held_saying(a, id, "on record at the prescriber's \"yes\", was amended after it");
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"leaving_acceptable\": \"yes\"}"), 200);
  char msg[4096];
  if (alarm_discharge(a, id, msg, sizeof msg) != 200) fail_msg("held after a calm BP: %s", msg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_high_bp_far_from_baseline_holds_the_discharge, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_low_bp_far_from_baseline_holds_the_discharge, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_bp_within_the_recovery_band_goes, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(esketamine_high_bp_before_leaving_alerts, alarm_setup_esketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
