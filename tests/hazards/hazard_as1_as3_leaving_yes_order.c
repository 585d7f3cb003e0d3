/* AS1, AS3 and AS4 of docs/safety.md: ways round esketamine_rems's leaving
 * "yes" (AQ1), which was tied to the BP before leaving by OBSERVED times.
 *
 * The tries: the prescriber answered `leaving_acceptable` "yes" judging a BP
 * before leaving of 126/80 (pre-dose 128/78); then the nurse alone
 * - AS1: entered 178/108 at the very time of the "yes" (after a restart the
 *   engine's clock stands at the newest event: G11), acknowledged its rise:
 *   200, "yes" on the REMS form beside 178/108;
 * - AS3: entered 178/108 4 minutes later with an `observed_at` a minute
 *   before the "yes": 200; or amended the 126/80 she judged to 178/108
 *   ("mis-typed"): 200;
 * - AS4: recorded 130/80 with a heart rate of 150: no alert, 200;
 * and the prescriber's new "yes" entered with an observed_at before the
 * reading that voided the first was refused naming her first judgement
 * (AS6).
 *
 * Control (protocols/esketamine_rems/discharge.lua `yes_voided`, reading
 * the order of recording: `visit.recorded_seq`, core/engine/view.c): a BP
 * before leaving entered after the "yes" that raises an alert (now also a
 * fast heart rate, `hr_high`, param hr_max), whatever its observed time, or
 * an amendment after it of one she judged, voids the "yes" until she answers
 * again. A BP and her answer in ONE entry is one she judged (the prescriber
 * records both): the patient leaves.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock. Fails without the control: "the discharge was 200, not held" in
 * each try of AS1 and AS3, "the BP before leaving after the yes raised no
 * alert" for AS4, the back-dated new "yes" refused "(on 126/80)"; the
 * one-entry case is a guard (it failed under strict `<`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

/* The leaving entries but the BP: the form's answers "no", the ride here and
 * the advice given. */
#define LEAVING_ANSWERS                                                                                                \
  "\"sedation_occurred\": \"no\", \"dissociation_occurred\": \"no\", \"respiratory_depression_occurred\": \"no\","     \
  " \"ride_present\": true, \"no_driving_advice\": true"

/* "HH:MM UTC" of ms, as the gate names a time. */
static const char *clock_of(long long ms, char *out, size_t len) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(out, len, "%02d:%02d UTC", tm.tm_hour, tm.tm_min);
  return out;
}

/* An esketamine_rems visit, pre-dose 128/78, dosed, two calm hours of
 * monitoring, 3 minutes into leaving: the nurse's BP 126/80 with the form's
 * answers, and the prescriber's "yes" in an entry of her own a minute later.
 * The "yes"'s time (ms) in yes_at. */
static uint64_t judged_126_80(alarm_serve *a, long long *yes_at) {
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE_BP(128, 78));
  alarm_esketamine_calm_monitoring(a, id);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  assert_int_equal(
      alarm_record(a, id, "{\"bp_before_leaving\": {\"sbp\": 126, \"dbp\": 80, \"hr\": 70}, " LEAVING_ANSWERS "}"),
      200);
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  *yes_at = alarm_now(a);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"leaving_acceptable\": \"yes\"}"), 200);
  return id;
}

/* The nurse acknowledges the newest alert of rule, active, saying says. */
static void nurse_acks(alarm_serve *a, uint64_t id, const char *rule, const char *priority, const char *says) {
  alarm_expect_active(a, id, rule, priority, says, "the BP before leaving after the yes raised no alert");
  json_t *alert = alarm_latest(a, id, rule);
  assert_int_equal(alarm_ack(a, alarm_id(alert)), 200);
  json_decref(alert);
}

/* The prescriber answers again, a new entry, and the patient leaves with
 * "yes" on the REMS form (the alerts acknowledged already). */
static void she_answers_again_and_it_discharges(alarm_serve *a, uint64_t id) {
  char msg[4096], path[96];
  json_t *form = NULL;
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"leaving_acceptable\": \"yes\"}"), 200);
  if (alarm_discharge(a, id, msg, sizeof msg) != 200) fail_msg("held after the prescriber answered again: %s", msg);
  snprintf(path, sizeof path, "/api/v1/visits/%llu/rems", (unsigned long long)id);
  assert_int_equal(alarm_call(a, ALARM_CLINICIAN, "GET", path, NULL, &form), 200);
  assert_string_equal(alarm_str(form, "vitals_acceptable_before_leaving"), "yes");
  json_decref(form);
}

/* AS1: the server restarts after the "yes" (its clock stands at the newest
 * event, the "yes"'s time); the nurse enters 178/108 at once, observed at
 * the very time of the "yes", and acknowledges its rise: held. */
static void a_bp_entered_at_the_time_of_the_yes_after_it_holds(void **state) {
  alarm_serve *a = *state;
  char at[32], want[256];
  long long yes_at;
  uint64_t id = judged_126_80(a, &yes_at);
  assert_int_equal(alarm_restart(a), 0);
  assert_int_equal(alarm_now(a), yes_at); /* the clock did not move */
  assert_int_equal(alarm_record(a, id, "{\"bp_before_leaving\": {\"sbp\": 178, \"dbp\": 108, \"hr\": 72}}"), 200);
  nurse_acks(a, id, "bp_rise", "medium", "BP 178/108 is +50/+30 mmHg from the pre-dose 128/78");
  snprintf(want, sizeof want,
           "blood pressure before leaving 178/108 at %s came after the prescriber's \"yes\" (on 126/80) and raised an "
           "alert: the prescriber answers again",
           clock_of(yes_at, at, sizeof at));
  alarm_held_saying(a, id, want);
  she_answers_again_and_it_discharges(a, id);
}

/* The prescriber records the BP before leaving and her answer in one entry:
 * she judged it. 178/108 with her "yes", its rise acknowledged by her: the
 * patient leaves (strict `<` on observed times held this: AS1's try). */
static void a_bp_in_the_entry_of_her_yes_is_judged(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE_BP(128, 78));
  alarm_esketamine_calm_monitoring(a, id);
  assert_int_equal(alarm_record(a, id, "{" LEAVING_ANSWERS "}"), 200);
  assert_int_equal(alarm_advance_clock(a, "3m"), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries",
                             "{\"bp_before_leaving\": {\"sbp\": 178, \"dbp\": 108, \"hr\": 72},"
                             " \"leaving_acceptable\": \"yes\"}"),
                   200);
  alarm_clinician_acks_open(a, id);
  if (alarm_discharge(a, id, msg, sizeof msg) != 200) fail_msg("held after a yes given with 178/108: %s", msg);
}

/* AS3: 4 minutes after the "yes" the nurse enters 178/108 with an
 * observed_at a minute before it: entered after her answer, she never saw
 * it: held. */
static void a_bp_back_dated_before_the_yes_holds(void **state) {
  alarm_serve *a = *state;
  char at[32], want[256], body[256];
  long long yes_at;
  uint64_t id = judged_126_80(a, &yes_at);
  assert_int_equal(alarm_advance_clock(a, "4m"), 200);
  snprintf(body, sizeof body,
           "{\"observed_at\": %lld, \"bp_before_leaving\": {\"sbp\": 178, \"dbp\": 108, \"hr\": 72}}", yes_at - 60000);
  assert_int_equal(alarm_record(a, id, body), 200);
  alarm_ack_all(a, id);
  snprintf(want, sizeof want,
           "blood pressure before leaving 178/108 at %s came after the prescriber's \"yes\" (on 126/80) and raised an "
           "alert: the prescriber answers again",
           clock_of(yes_at - 60000, at, sizeof at));
  alarm_held_saying(a, id, want);
  she_answers_again_and_it_discharges(a, id);
}

/* AS3: 4 minutes after the "yes" the nurse amends the 126/80 she judged to
 * 178/108 ("mis-typed") and acknowledges its rise: what the prescriber
 * attested changed: held. */
static void an_amendment_of_the_judged_bp_after_the_yes_holds(void **state) {
  alarm_serve *a = *state;
  char want[256];
  long long yes_at;
  uint64_t id = judged_126_80(a, &yes_at);
  assert_int_equal(alarm_advance_clock(a, "4m"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "amend",
                             "{\"item\": \"bp_before_leaving\", \"value\": {\"sbp\": 178, \"dbp\": 108, \"hr\": 72},"
                             " \"reason\": \"mis-typed\"}"),
                   200);
  alarm_ack_all(a, id);
  snprintf(want, sizeof want, "blood pressure before leaving 178/108 at ");
  alarm_held_saying(a, id, want);
  alarm_held_saying(a, id, "on record at the prescriber's \"yes\", was amended after it: the prescriber answers again");
  she_answers_again_and_it_discharges(a, id);
}

/* AS4: 4 minutes after the "yes" a BP of 130/80 with a heart rate of 150:
 * a high hr_high, acknowledged by the nurse: held. */
static void a_fast_heart_rate_after_the_yes_holds(void **state) {
  alarm_serve *a = *state;
  char want[256];
  long long yes_at;
  uint64_t id = judged_126_80(a, &yes_at);
  assert_int_equal(alarm_advance_clock(a, "4m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"bp_before_leaving\": {\"sbp\": 130, \"dbp\": 80, \"hr\": 150}}"), 200);
  nurse_acks(a, id, "hr_high", "high", "Heart rate 150/min is above 130");
  snprintf(want, sizeof want,
           "blood pressure before leaving 130/80 at %s came after the prescriber's \"yes\" (on 126/80) and raised an "
           "alert",
           clock_of(yes_at + 4 * 60000, (char[32]){0}, 32));
  alarm_held_saying(a, id, want);
  /* A calm repeat (the high alert's condition no longer holds): still void. */
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"bp_before_leaving\": {\"sbp\": 130, \"dbp\": 80, \"hr\": 88}}"), 200);
  alarm_held_saying(a, id, want);
  she_answers_again_and_it_discharges(a, id);
}

/* AS6: her new "yes" entered with an observed_at before the reading that
 * voided the first one (she looked at the patient then, and records it now)
 * is her latest answer, recorded after that reading: the patient leaves (it
 * was refused naming her first judgement, "(on 126/80)"). */
static void her_new_yes_back_dated_is_her_latest_answer(void **state) {
  alarm_serve *a = *state;
  char body[160], msg[4096];
  long long yes_at;
  uint64_t id = judged_126_80(a, &yes_at);
  assert_int_equal(alarm_advance_clock(a, "4m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"bp_before_leaving\": {\"sbp\": 178, \"dbp\": 108, \"hr\": 72}}"), 200);
  nurse_acks(a, id, "bp_rise", "medium", "BP 178/108 is +50/+30 mmHg from the pre-dose 128/78");
  alarm_held_saying(a, id, "came after the prescriber's \"yes\" (on 126/80)");
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  snprintf(body, sizeof body, "{\"observed_at\": %lld, \"leaving_acceptable\": \"yes\"}", yes_at + 3 * 60000);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", body), 200);
  if (alarm_discharge(a, id, msg, sizeof msg) != 200) fail_msg("her back-dated new yes was not taken: %s", msg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_bp_entered_at_the_time_of_the_yes_after_it_holds, alarm_setup_esketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_bp_in_the_entry_of_her_yes_is_judged, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_bp_back_dated_before_the_yes_holds, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(an_amendment_of_the_judged_bp_after_the_yes_holds, alarm_setup_esketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_fast_heart_rate_after_the_yes_holds, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(her_new_yes_back_dated_is_her_latest_answer, alarm_setup_esketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
