/* AN15 and AN16 of docs/safety.md: the blood pressure the discharge reads
 * before the patient leaves.
 *
 * AN16: esketamine_rems's leaving checked the breathing reading's age only
 * (a BP before leaving 27 minutes old went), and a leaving 178/108 after
 * 192/114, +50/+28 over the pre-dose 128/80, raised nothing (`bp_rise` ran
 * in the monitoring only). Control (protocol data): the BP before leaving
 * is no older than `discharge_vitals_max_age_min` (20 minutes), and
 * `bp_rise` runs on it under the same name.
 *
 * AN15: ketamine_iv's discharge compared the systolic only: 130/105 after a
 * baseline of 120/75, Aldrete circulation 2, raised one medium `bp_rise`,
 * acknowledged, and went. Control (protocol data): the BP-recovery check
 * (lib.bp_not_recovered, the observation's and the discharge's) compares the
 * diastolic too, within `dbp_recovery_pct` (20 %) of the baseline's.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock. Fails without the controls: 178/108 raises no bp_rise, and without
 * the age check alone the discharge with a BP 27 minutes old is 200; the
 * discharge at 130/105 after 120/75 is 200. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

/* AN16: the try's leaving 178/108 after a pre-dose 128/80 is a medium
 * bp_rise (+50/+28); a BP before leaving 27 minutes old holds leaving until
 * it is taken again. */
static void the_bp_before_leaving_is_of_now_and_against_the_predose(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE_BP(128, 80));
  alarm_esketamine_left_calm_monitoring(
      a, id,
      "{\"bp_before_leaving\": {\"sbp\": 178, \"dbp\": 108, \"hr\": 72}, \"sedation_occurred\": \"no\","
      " \"dissociation_occurred\": \"no\", \"respiratory_depression_occurred\": \"no\", \"ride_present\": true,"
      " \"no_driving_advice\": true}");
  alarm_expect_active(a, id, "bp_rise", "medium", "BP 178/108 is +50/+28 mmHg from the pre-dose 128/80",
                      "the BP before leaving 178/108 after a pre-dose 128/80 raised no bp_rise");

  /* The prescriber sees it, the BP comes down; 27 minutes later, with a
   * breathing reading of now, the BP is too old. */
  alarm_clinician_acks_open(a, id);
  assert_int_equal(alarm_advance_clock(a, "3m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"bp_before_leaving\": {\"sbp\": 136, \"dbp\": 84, \"hr\": 70}}"), 200);
  alarm_clinician_acks_open(a, id);
  assert_int_equal(alarm_advance_clock(a, "27m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"respiration\": {\"spo2\": 98, \"rr\": 14}}"), 200);
  alarm_held_saying(a, id, "blood pressure before leaving taken 27 minutes ago (needs within 20): take it again now");
  assert_int_equal(alarm_record(a, id, "{\"bp_before_leaving\": {\"sbp\": 134, \"dbp\": 82, \"hr\": 70}}"), 200);
  if (alarm_discharge(a, id, msg, sizeof msg) != 200) fail_msg("held with a BP of now: %s", msg);
}

/* ketamine_iv's screening (ALARM_KETAMINE_SCREENING) with the try's baseline of 120/75. */
#define SCREENING_120_75                                                                                               \
  "{\"consent\": true, \"ci_hypertension\": \"no\", \"ci_vascular\": \"no\", \"ci_psychosis\": \"no\","                \
  " \"ci_hypersensitivity\": \"no\", \"pregnancy\": \"not applicable\", \"substance_use\": \"no\","                    \
  " \"ride_confirmed\": true, \"baseline\": {\"sbp\": 120, \"dbp\": 75, \"hr\": 70, \"spo2\": 98, \"rr\": 14},"        \
  " \"dose\": 35, \"phq9\": {\"q1\": 0, \"q2\": 0, \"q3\": 0, \"q4\": 0, \"q5\": 0, \"q6\": 0, \"q7\": 0, \"q8\": 0,"  \
  " \"q9\": 0}}"

/* The discharge's repeat reading (discharge.vitals) sbp/dbp, taken now. */
static void repeat_reading(alarm_serve *a, uint64_t id, int sbp, int dbp) {
  char body[160];
  snprintf(body, sizeof body, "{\"vitals\": {\"sbp\": %d, \"dbp\": %d, \"hr\": 74, \"spo2\": 98, \"rr\": 14}}", sbp,
           dbp);
  assert_int_equal(alarm_record(a, id, body), 200);
}

/* AN15: 130/105 after a baseline of 120/75 (systolic 8 % up, diastolic
 * 40 %), Aldrete circulation 2, its medium bp_rise acknowledged: held on the
 * diastolic; 128/88 (17 %) goes. */
static void a_diastolic_far_from_baseline_holds_the_discharge(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_ketamine_in_infusion(a, SCREENING_120_75);
  assert_int_equal(alarm_override(a, id), 200); /* to the observation */
  for (int k = 1; k <= 4; k++) {
    assert_int_equal(alarm_advance_clock(a, "15m"), 200);
    assert_int_equal(alarm_record(a, id,
                                  "{\"vitals\": {\"sbp\": 124, \"dbp\": 78, \"hr\": 72, \"spo2\": 98, \"rr\": 14},"
                                  " \"moaas\": \"5\", \"dissociation\": \"none\"}"),
                     200);
  }
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  alarm_expect_phase(a, id, "discharge");
  assert_int_equal(alarm_record(a, id,
                                "{\"aldrete\": {\"activity\": 2, \"respiration\": 2, \"circulation\": 2,"
                                " \"consciousness\": 2, \"spo2\": 2}, \"responsible_adult\": true,"
                                " \"no_driving_advice\": true, \"written_instructions\": true}"),
                   200);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  repeat_reading(a, id, 130, 105);
  alarm_clinician_acks_open(a, id);
  alarm_held_saying(a, id, "last vitals diastolic 105 is more than 20% away from the baseline 75");

  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  repeat_reading(a, id, 128, 88);
  alarm_clinician_acks_open(a, id);
  if (alarm_discharge(a, id, msg, sizeof msg) != 200) fail_msg("held at 128/88 after 120/75: %s", msg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(the_bp_before_leaving_is_of_now_and_against_the_predose, alarm_setup_esketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_diastolic_far_from_baseline_holds_the_discharge, alarm_setup_ketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
