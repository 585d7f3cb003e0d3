/* AQ1 of docs/safety.md: esketamine_rems's leaving "yes" was not tied to the
 * reading it judged.
 *
 * The try: the prescriber answered `leaving_acceptable` "yes" judging a BP
 * before leaving of 126/80; the nurse then recorded `bp_before_leaving`
 * 178/108 (pre-dose 128/78): one medium `bp_rise`, acknowledged by the
 * nurse, and the discharge was 200; the REMS form showed "yes" beside
 * 178/108.
 *
 * Control (protocol data, protocols/esketamine_rems/discharge.lua): a BP
 * before leaving observed after the prescriber's "yes" that raises an alert
 * (the rise from the pre-dose reading, or a limit of the reading: the
 * rules the discharge runs on it) voids the "yes": leaving holds, naming the
 * reading and the one she judged, until she answers again (a newer
 * `leaving_acceptable`). A calm repeat after the "yes" voids nothing.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock. Fails without the control: the discharge after 178/108 is 200. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

/* The leaving entries with a BP before leaving of 126/80, the form's answers
 * "no", the ride here and the advice given. */
#define LEAVING_126_80                                                                                                 \
  "{\"bp_before_leaving\": {\"sbp\": 126, \"dbp\": 80, \"hr\": 70}, \"sedation_occurred\": \"no\","                    \
  " \"dissociation_occurred\": \"no\", \"respiratory_depression_occurred\": \"no\", \"ride_present\": true,"           \
  " \"no_driving_advice\": true}"

/* An esketamine_rems visit, pre-dose 128/78, dosed, two calm hours of
 * monitoring, in leaving with LEAVING_126_80 and the prescriber's "yes". */
static uint64_t judged_126_80(alarm_serve *a) {
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE_BP(128, 78));
  alarm_esketamine_left_calm_monitoring(a, id, LEAVING_126_80);
  return id;
}

/* The nurse records a BP before leaving now; its time as the gate names it
 * ("10:42 UTC") in at. */
static void bp_now(alarm_serve *a, uint64_t id, int sbp, int dbp, int hr, char *at, size_t len) {
  char body[160];
  snprintf(body, sizeof body, "{\"bp_before_leaving\": {\"sbp\": %d, \"dbp\": %d, \"hr\": %d}}", sbp, dbp, hr);
  assert_int_equal(alarm_record(a, id, body), 200);
  time_t t = (time_t)(alarm_now(a) / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(at, len, "%02d:%02d UTC", tm.tm_hour, tm.tm_min);
}

/* The prescriber answers again: "yes", a new entry. */
static void prescriber_answers_yes(alarm_serve *a, uint64_t id) {
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"leaving_acceptable\": \"yes\"}"), 200);
}

/* The REMS form's BP before leaving and the prescriber's evaluation. */
static void form_says(alarm_serve *a, uint64_t id, const char *acceptable) {
  char path[96];
  json_t *form = NULL;
  snprintf(path, sizeof path, "/api/v1/visits/%llu/rems", (unsigned long long)id);
  assert_int_equal(alarm_call(a, ALARM_CLINICIAN, "GET", path, NULL, &form), 200);
  assert_string_equal(alarm_str(form, "vitals_acceptable_before_leaving"), acceptable);
  json_decref(form);
}

/* judged_126_80, then a BP before leaving sbp/dbp, heart rate hr, 4 minutes
 * after the "yes": its alert of rule (priority, saying says) is active, and
 * the nurse acknowledges it; leaving holds naming the reading and the one she
 * judged; a calm repeat 5 minutes later (its alerts acknowledged) does not
 * give the "yes" back; the prescriber's new "yes" (on what she sees now)
 * discharges, the REMS form saying "yes". */
static void voids_the_yes_until_she_answers_again(alarm_serve *a, int sbp, int dbp, int hr, const char *rule,
                                                  const char *priority, const char *says) {
  char at[32], calm_at[32], want[256], msg[4096];
  uint64_t id = judged_126_80(a);
  assert_int_equal(alarm_advance_clock(a, "4m"), 200);
  bp_now(a, id, sbp, dbp, hr, at, sizeof at);
  alarm_expect_active(a, id, rule, priority, says, "the BP before leaving after the yes raised no alert");
  json_t *alert = alarm_latest(a, id, rule);
  assert_int_equal(alarm_ack(a, alarm_id(alert)), 200);
  json_decref(alert);
  snprintf(want, sizeof want,
           "blood pressure before leaving %d/%d at %s came after the prescriber's \"yes\" (on 126/80) and raised an "
           "alert: the prescriber answers again",
           sbp, dbp, at);
  alarm_held_saying(a, id, want);

  /* A calm repeat: the "yes" she gave stays void. */
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  bp_now(a, id, 134, 82, 70, calm_at, sizeof calm_at);
  alarm_clinician_acks_open(a, id);
  alarm_held_saying(a, id, want);

  prescriber_answers_yes(a, id);
  if (alarm_discharge(a, id, msg, sizeof msg) != 200) fail_msg("held after the prescriber answered again: %s", msg);
  form_says(a, id, "yes");
}

/* The try: 178/108 after the "yes" on 126/80 (pre-dose 128/78), its medium
 * bp_rise acknowledged by the nurse. */
static void a_risen_bp_after_the_yes_holds_until_she_answers_again(void **state) {
  voids_the_yes_until_she_answers_again(*state, 178, 108, 72, "bp_rise", "medium",
                                        "BP 178/108 is +50/+30 mmHg from the pre-dose 128/78");
}

/* A limit of the reading counts as the rise does: a heart rate of 38 after
 * the "yes" (hr_low, high; bp_leaving holds too while it is the latest). */
static void a_limit_alert_after_the_yes_voids_it_too(void **state) {
  voids_the_yes_until_she_answers_again(*state, 130, 80, 38, "hr_low", "high", "Heart rate 38/min is at or below 40");
}

/* A calm repeat after the "yes" voids nothing: the patient leaves. */
static void a_calm_repeat_after_the_yes_discharges(void **state) {
  alarm_serve *a = *state;
  char at[32], msg[4096];
  uint64_t id = judged_126_80(a);
  assert_int_equal(alarm_advance_clock(a, "6m"), 200);
  bp_now(a, id, 136, 86, 74, at, sizeof at);
  if (alarm_count(a, id, "active")) fail_msg("a calm 136/86 after a pre-dose 128/78 raised an alert");
  if (alarm_discharge(a, id, msg, sizeof msg) != 200) fail_msg("held after a calm repeat: %s", msg);
  form_says(a, id, "yes");
}

/* The prescriber who answers after seeing the risen reading judges it: her
 * "yes" on 178/108 (its rise acknowledged by her) discharges. */
static void a_yes_given_on_the_risen_bp_discharges(void **state) {
  alarm_serve *a = *state;
  char at[32], msg[4096];
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE_BP(128, 78));
  alarm_esketamine_calm_monitoring(a, id);
  assert_int_equal(alarm_record(a, id, LEAVING_126_80), 200);
  assert_int_equal(alarm_advance_clock(a, "4m"), 200);
  bp_now(a, id, 178, 108, 72, at, sizeof at);
  alarm_clinician_acks_open(a, id);
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  prescriber_answers_yes(a, id);
  if (alarm_discharge(a, id, msg, sizeof msg) != 200) fail_msg("held after a yes given on 178/108: %s", msg);
}

/* AS2 (the second try): a "yes" given before any BP before leaving judged
 * none, yet a calm 126/80 recorded after it let the patient leave with "yes"
 * on the form beside a reading she never saw. The first BP after such a
 * "yes" voids it, calm or not. */
static void a_yes_before_any_bp_judges_none(void **state) {
  alarm_serve *a = *state;
  char at[32], want[256], msg[4096];
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE_BP(128, 78));
  alarm_esketamine_calm_monitoring(a, id);
  assert_int_equal(alarm_record(a, id,
                                "{\"sedation_occurred\": \"no\", \"dissociation_occurred\": \"no\","
                                " \"respiratory_depression_occurred\": \"no\", \"ride_present\": true,"
                                " \"no_driving_advice\": true}"),
                   200);
  prescriber_answers_yes(a, id);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  bp_now(a, id, 126, 80, 70, at, sizeof at);
  snprintf(want, sizeof want,
           "blood pressure before leaving 126/80 at %s came after the prescriber's \"yes\", given before any blood "
           "pressure before leaving",
           at);
  alarm_held_saying(a, id, want);
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  prescriber_answers_yes(a, id);
  if (alarm_discharge(a, id, msg, sizeof msg) != 200) fail_msg("held after the prescriber answered again: %s", msg);
  form_says(a, id, "yes");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_risen_bp_after_the_yes_holds_until_she_answers_again, alarm_setup_esketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_limit_alert_after_the_yes_voids_it_too, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_calm_repeat_after_the_yes_discharges, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_yes_given_on_the_risen_bp_discharges, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_yes_before_any_bp_judges_none, alarm_setup_esketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
