/* U6 and AQ2 (docs/safety.md): a nurse's amendment of the pre-dose baseline
 * after the dose lifted the discharge's BP-recovery hold.
 *
 * ketamine_iv judges every rise and the BP recovery to leave (the
 * observation's bp_not_recovered, the discharge's gate: lib.bp_not_recovered)
 * from the screening baseline. After the dose a nurse amended it, 130/100
 * for 128/80 ("mis-typed"): a repeat of 130/105, held as "diastolic 105 is
 * more than 20% away from the baseline 80" (AN15), then went home; the only
 * trace a low bp_caution ("130/100 is above 140/90").
 *
 * Control: the item.amended event says whether a clinician made it (the
 * server's role: `clinician`), the visit view gives it (visit.amended: by,
 * clinician, previous), and ketamine_iv's discharge holds while the
 * baseline's latest amendment was made after the dose (after
 * infusion_started's entry: visit.recorded_seq) by someone who is not a
 * clinician (lib.baseline_amended), saying who and both readings; the
 * screening's baseline_amended alert (medium, carried) says what the
 * amendment changes. A clinician's amendment after the dose, or a nurse's
 * before it, is taken as it is.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock. Fails without the control (ketamine_iv's files of main): "the
 * discharge was 200, not held" after the nurse's amendment and
 * the acknowledgement of the low bp_caution. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

/* The baseline amended to sbp/dbp ("mis-typed") as who (NULL: the nurse): the status. */
static int amend_baseline(alarm_serve *a, const char *who, uint64_t id, int sbp, int dbp, const char *reason) {
  char body[300];
  snprintf(body, sizeof body,
           "{\"item\": \"screening.baseline\", \"value\": {\"sbp\": %d, \"dbp\": %d, \"hr\": 70, \"spo2\": 98, "
           "\"rr\": 14}, \"reason\": \"%s\"}",
           sbp, dbp, reason);
  return alarm_cmd(a, who, id, "amend", body);
}

/* The clinician acknowledges each alert of the visit not acknowledged yet, with a reason. */
static void clinician_acks_new(alarm_serve *a, uint64_t id) {
  json_t *alerts = alarm_alerts(a, id), *x;
  size_t i;
  json_array_foreach(alerts, i, x) {
    if (strcmp(alarm_str(x, "state"), "closed") && !json_is_true(json_object_get(x, "acknowledged")))
      assert_int_equal(alarm_ack_as(a, ALARM_CLINICIAN, alarm_id(x), "{\"reason\": \"seen and assessed\"}"), 200);
  }
  json_decref(alerts);
}

/* In the infusion, not started: the infusion started, four calm checkpoints
 * 10 minutes apart, stopped with 35 mg given, the clinician's override to the
 * observation, four calm checkpoints 15 minutes apart, the advance to the
 * discharge with its Aldrete and checks, and, 2 minutes on, the repeat reading
 * 130/105 (its alerts acknowledged by the clinician). */
static void dosed_to_a_repeat_of_130_105(alarm_serve *a, uint64_t id) {
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true}"), 200);
  for (int k = 1; k <= 4; k++) {
    assert_int_equal(alarm_advance_clock(a, "10m"), 200);
    assert_int_equal(
        alarm_record(a, id,
                     "{\"vitals\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": 98, \"rr\": 14}, \"moaas\": \"5\","
                     " \"dissociation\": \"none\"}"),
        200);
  }
  assert_int_equal(alarm_record(a, id, "{\"infusion_stopped\": true, \"volume_infused\": 100, \"dose_given\": 35}"),
                   200);
  assert_int_equal(alarm_override(a, id), 200); /* to the observation */
  for (int k = 1; k <= 4; k++) {
    assert_int_equal(alarm_advance_clock(a, "15m"), 200);
    assert_int_equal(alarm_record(a, id,
                                  "{\"vitals\": {\"sbp\": 128, \"dbp\": 82, \"hr\": 72, \"spo2\": 98, \"rr\": 14},"
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
  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 130, \"dbp\": 105, \"hr\": 74, \"spo2\": 98, \"rr\": 14}}"), 200);
  clinician_acks_new(a, id);
}

/* The discharge goes (200), else the test fails saying held, and why. */
static void discharges(alarm_serve *a, uint64_t id, const char *held) {
  char msg[4096];
  if (alarm_discharge(a, id, msg, sizeof msg) != 200) fail_msg("%s: %s", held, msg);
  json_t *v = alarm_visit_json(a, id);
  assert_string_equal(json_string_value(json_object_get(v, "status")), "discharged");
  json_decref(v);
}

/* The try (AQ2): 130/105 after 128/80 holds (AN15); the nurse amends the
 * baseline to 130/100, "mis-typed": the discharge holds naming her and both
 * readings, also after a restart, and the medium alert says what changed;
 * the clinician amends it again (confirms 130/100): it goes. */
static void a_nurses_amendment_after_the_dose_holds_the_discharge(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_in_infusion(a, ALARM_KETAMINE_SCREENING);
  dosed_to_a_repeat_of_130_105(a, id);
  alarm_held_saying(a, id, "last vitals diastolic 105 is more than 20% away from the baseline 80");

  assert_int_equal(amend_baseline(a, NULL, id, 130, 100, "mis-typed"), 200);
  /* The try's only trace, the low bp_caution ("130/100 is above 140/90"), acknowledged (carried,
   * as an amendment of a phase left raised it: a clinician's, with a reason; U6). */
  json_t *caution = alarm_latest(a, id, "bp_caution");
  if (!caution) fail_msg("the amendment to 130/100 raised no bp_caution");
  assert_int_equal(alarm_ack_as(a, ALARM_CLINICIAN, alarm_id(caution), "{\"reason\": \"seen\"}"), 200);
  json_decref(caution);
  alarm_held_saying(a, id,
                    "the pre-dose BP was amended after the dose by " SERVE_USER
                    " (128/80 to 130/100): a clinician confirms it (amends it again or overrides)");
  alarm_expect_active(a, id, "baseline_amended", "medium",
                      "Pre-dose BP amended after the dose by " SERVE_USER
                      ": 128/80 to 130/100. Every rise and the BP recovery to leave are now judged from 130/100. "
                      "The last vitals 130/105, not back near 128/80 (diastolic 105 is more than 20% away from the "
                      "baseline 80), are now taken as recovered.",
                      "the nurse's amendment after the dose raised no baseline_amended alert");
  assert_int_equal(alarm_restart(a), 0);
  alarm_held_saying(a, id, "the pre-dose BP was amended after the dose by " SERVE_USER " (128/80 to 130/100)");

  /* The clinician confirms it: her amendment to the same reading lifts the hold; the carried
   * alert waits for her acknowledgement, with a reason. */
  assert_int_equal(amend_baseline(a, ALARM_CLINICIAN, id, 130, 100, "confirmed against the screening sheet"), 200);
  alarm_held_saying(a, id, "not acknowledged: Pre-dose BP amended after the dose");
  char msg[4096];
  alarm_discharge(a, id, msg, sizeof msg);
  if (strstr(msg, "the pre-dose BP was amended")) fail_msg("the clinician's amendment did not lift the hold: %s", msg);
  clinician_acks_new(a, id);
  discharges(a, id, "held after the clinician confirmed the amended baseline");
}

/* A clinician's amendment after the dose is taken as it is: no hold, no alert. */
static void a_clinicians_amendment_after_the_dose_does_not_hold(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_in_infusion(a, ALARM_KETAMINE_SCREENING);
  dosed_to_a_repeat_of_130_105(a, id);
  assert_int_equal(amend_baseline(a, ALARM_CLINICIAN, id, 130, 100, "mis-typed"), 200);
  json_t *x = alarm_latest(a, id, "baseline_amended");
  if (x) fail_msg("the clinician's amendment raised: %s", alarm_str(x, "message"));
  clinician_acks_new(a, id);
  discharges(a, id, "held after the clinician's own amendment of the baseline");
}

/* A nurse's amendment before the dose (in the infusion, not started) is the
 * baseline the dose was given on: no hold, no alert; 130/105 is judged from
 * 130/100. */
static void a_nurses_amendment_before_the_dose_does_not_hold(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_in_infusion(a, ALARM_KETAMINE_SCREENING);
  assert_int_equal(amend_baseline(a, NULL, id, 130, 100, "mis-typed"), 200);
  clinician_acks_new(a, id);
  dosed_to_a_repeat_of_130_105(a, id);
  json_t *x = alarm_latest(a, id, "baseline_amended");
  if (x) fail_msg("the nurse's amendment before the dose raised: %s", alarm_str(x, "message"));
  discharges(a, id, "held after the nurse's amendment before the dose");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_nurses_amendment_after_the_dose_holds_the_discharge, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_clinicians_amendment_after_the_dose_does_not_hold, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_nurses_amendment_before_the_dose_does_not_hold, alarm_setup_ketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
