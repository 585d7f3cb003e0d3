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
 * AW1, AW2 (the evening try round it): a later ENTRY of the baseline
 * (observed in screening, entered after the dose) changed it with no
 * amendment; a second amendment of the heart rate alone lifted the hold
 * (the control read the latest amendment only). Control: the item.recorded
 * event says `clinician` as item.amended does, the visit view gives how the
 * value came to be (visit.changes: each entry and amendment, by whom,
 * whether a clinician, the value after it), and the hold compares the BP now
 * with the one a clinician stands by: the BP in effect when the dose was
 * given, or the one a clinician's later change left (lib.baseline_changed).
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock. Fails without the control (ketamine_iv's files of main): "the
 * discharge was 200, not held" after the nurse's amendment and
 * the acknowledgement of the low bp_caution; AW1: "the nurse's later entry
 * of the baseline after the dose: discharged"; AW2: "held, not discharged"
 * turned "discharged after a nurse's second amendment". */
#include <stdio.h>
#include <time.h>
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

/* The ISO time `iso` (as the visit view writes it) `seconds` later, into out. */
static void iso_plus(const char *iso, int seconds, char *out, size_t len) {
  struct tm t = {0};
  int ms = 0;
  if (sscanf(iso, "%d-%d-%dT%d:%d:%d.%dZ", &t.tm_year, &t.tm_mon, &t.tm_mday, &t.tm_hour, &t.tm_min, &t.tm_sec, &ms) <
      6)
    fail_msg("not an ISO time: %s", iso);
  t.tm_year -= 1900;
  t.tm_mon -= 1;
  time_t at = timegm(&t) + seconds;
  strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&at, &t));
}

/* AW1: a ketamine_iv visit whose screening took 5 minutes (baseline 128/80
 * observed at its start), into the infusion; `later` gets a time inside
 * screening `seconds` after the baseline was observed. */
static uint64_t screened_for_five_minutes(alarm_serve *a, int seconds, char *later, size_t len) {
  uint64_t id = alarm_ketamine_screened(a, ALARM_KETAMINE_SCREENING);
  json_t *v = alarm_visit_json(a, id);
  const char *observed =
      json_string_value(json_object_get(alarm_visit_item(v, "screening", "baseline"), "observed_at"));
  if (!observed) fail_msg("the baseline has no observed_at in the visit view");
  iso_plus(observed, seconds, later, len);
  json_decref(v);
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(
      alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"dose_check\": true, \"password\": \"" SERVE_PASSWORD "\"}"),
      200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  return id;
}

/* The baseline sbp/dbp entered by who (NULL: the nurse) observed at `at`: the status. */
static int enter_baseline(alarm_serve *a, const char *who, uint64_t id, int sbp, int dbp, const char *at) {
  char body[300];
  snprintf(body, sizeof body,
           "{\"baseline\": {\"sbp\": %d, \"dbp\": %d, \"hr\": 70, \"spo2\": 98, \"rr\": 14}, "
           "\"observed_at\": \"%s\"}",
           sbp, dbp, at);
  return alarm_cmd(a, who, id, "entries", body);
}

/* AW1: after the dose, in the discharge, the nurse enters the baseline again,
 * 140/88 observed in screening after the first: it becomes the baseline (130/105
 * is back near 140/88). The discharge holds as for an amendment, also after a
 * restart; a clinician's own later entry of it confirms it: it goes. */
static void a_later_entry_of_the_baseline_after_the_dose_holds_the_discharge(void **state) {
  alarm_serve *a = *state;
  char at2[40], at3[40];
  uint64_t id = screened_for_five_minutes(a, 120, at2, sizeof at2);
  iso_plus(at2, 60, at3, sizeof at3);
  dosed_to_a_repeat_of_130_105(a, id);
  alarm_held_saying(a, id, "last vitals diastolic 105 is more than 20% away from the baseline 80");

  assert_int_equal(enter_baseline(a, NULL, id, 140, 88, at2), 200);
  char msg[4096];
  if (alarm_discharge(a, id, msg, sizeof msg) == 200)
    fail_msg("the nurse's later entry of the baseline after the dose: discharged");
  alarm_held_saying(a, id,
                    "the pre-dose BP was entered again after the dose by " SERVE_USER
                    " (128/80 to 140/88): a clinician confirms it (amends it again or overrides)");
  alarm_expect_active(a, id, "baseline_amended", "medium",
                      "Pre-dose BP entered again after the dose by " SERVE_USER
                      ": 128/80 to 140/88. Every rise and the BP recovery to leave are now judged from 140/88. "
                      "The last vitals 130/105, not back near 128/80",
                      "the nurse's later entry of the baseline raised no baseline_amended alert");
  assert_int_equal(alarm_restart(a), 0);
  alarm_held_saying(a, id, "the pre-dose BP was entered again after the dose by " SERVE_USER " (128/80 to 140/88)");

  /* The clinician's own entry of it (her role, as the server says: `clinician` on the event). */
  assert_int_equal(enter_baseline(a, ALARM_CLINICIAN, id, 140, 88, at3), 200);
  assert_int_equal(alarm_restart(a), 0); /* the entry's `clinician` folded from the log */
  alarm_discharge(a, id, msg, sizeof msg);
  if (strstr(msg, "the pre-dose BP was")) fail_msg("the clinician's entry did not lift the hold: %s", msg);
  clinician_acks_new(a, id);
  discharges(a, id, "held after the clinician entered the baseline herself");
}

/* AW2: the nurse's 130/100 for 128/80 holds; the clinician acknowledges the
 * alerts without confirming it; the nurse amends it again, the heart rate
 * alone: still held. The clinician confirms it; then a nurse's correction of
 * the heart rate holds nothing (the BP is the one the clinician stands by). */
static void a_second_amendment_of_the_heart_rate_alone_keeps_the_hold(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_in_infusion(a, ALARM_KETAMINE_SCREENING);
  dosed_to_a_repeat_of_130_105(a, id);
  assert_int_equal(amend_baseline(a, NULL, id, 130, 100, "mis-typed"), 200);
  clinician_acks_new(a, id);
  const char *hr75 = "{\"item\": \"screening.baseline\", \"value\": {\"sbp\": 130, \"dbp\": 100, \"hr\": 75, "
                     "\"spo2\": 98, \"rr\": 14}, \"reason\": \"HR mis-typed\"}";
  assert_int_equal(alarm_cmd(a, NULL, id, "amend", hr75), 200);
  clinician_acks_new(a, id);
  char msg[4096];
  if (alarm_discharge(a, id, msg, sizeof msg) == 200) fail_msg("discharged after a nurse's second amendment");
  alarm_held_saying(a, id, "the pre-dose BP was amended after the dose by " SERVE_USER " (128/80 to 130/100)");

  assert_int_equal(amend_baseline(a, ALARM_CLINICIAN, id, 130, 100, "confirmed against the screening sheet"), 200);
  const char *hr76 = "{\"item\": \"screening.baseline\", \"value\": {\"sbp\": 130, \"dbp\": 100, \"hr\": 76, "
                     "\"spo2\": 98, \"rr\": 14}, \"reason\": \"HR 76\"}";
  assert_int_equal(alarm_cmd(a, NULL, id, "amend", hr76), 200);
  clinician_acks_new(a, id);
  discharges(a, id, "held by a nurse's heart rate after the clinician confirmed the BP");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_nurses_amendment_after_the_dose_holds_the_discharge, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_clinicians_amendment_after_the_dose_does_not_hold, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_nurses_amendment_before_the_dose_does_not_hold, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_later_entry_of_the_baseline_after_the_dose_holds_the_discharge,
                                      alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_second_amendment_of_the_heart_rate_alone_keeps_the_hold, alarm_setup_ketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
