/* U3 of the twelfth independent try (docs/safety.md).
 *
 * Fast breathing raised nothing: RR 40 in ketamine_iv's observation gave no
 * alert (no high respiratory rate rule; NEWS2 scores 25 or more as 3), and at
 * the discharge HR 130 with RR 40 and Aldrete 10 gave one low `hr_high`
 * prompt, acknowledged by a quick pick, and the nurse discharged.
 *
 * Controls (protocol data, ketamine_iv and esketamine_rems):
 *  - an `rr_high` rule, high, at or above param `rr_max` (25, NEWS2's 3-point
 *    band: docs/clinical/vitals-limits.md "Fast breathing") wherever RR is
 *    read: ketamine_iv's infusion, observation and discharge repeat reading,
 *    esketamine_rems's monitoring and leaving breathing readings;
 *  - the last vitals at discharge out of range hold it as a low BP or HR
 *    does (Q4): ketamine_iv's gate names a heart rate above `hr_max` and a
 *    respiratory rate below `rr_min` or at or above `rr_max`
 *    (lib.out_of_range_at_discharge); esketamine_rems's leaving a breathing
 *    reading at or above `rr_max`. A calm repeat or a clinician's override is
 *    the way past.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock
 * with copies of the bundled protocols. Fails without the controls: no
 * `rr_high` alert, the discharge 200. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

#define VITALS(hr, rr) "{\"vitals\": {\"sbp\": 128, \"dbp\": 80, \"hr\": " #hr ", \"spo2\": 97, \"rr\": " #rr "}}"

static int discharge(alarm_serve *a, uint64_t id, char *msg, size_t len) {
  return alarm_cmd_msg(a, NULL, id, "discharge", "{\"password\": \"" SERVE_PASSWORD "\"}", msg, len);
}

/* The rule `rule`'s latest alert is active at this priority. */
static void expect_alert(alarm_serve *a, uint64_t id, const char *rule, const char *priority) {
  json_t *x = alarm_latest(a, id, rule);
  if (!x) fail_msg("no %s alert", rule);
  assert_string_equal(alarm_str(x, "state"), "active");
  assert_string_equal(alarm_str(x, "priority"), priority);
  json_decref(x);
}

/* RR 40 in ketamine_iv's observation: a high `rr_high`. */
static void fast_breathing_in_the_observation_alerts(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200); /* to the infusion */
  assert_int_equal(alarm_override(a, id), 200); /* to the observation */
  assert_int_equal(alarm_advance_clock(a, "15m"), 200);
  assert_int_equal(alarm_record(a, id, VITALS(72, 40)), 200);
  expect_alert(a, id, "rr_high", "high");
}

/* The try at the discharge: HR 130 with RR 40 taken now, Aldrete 10; every
 * alert acknowledged by the clinician. The discharge is held naming both;
 * HR 130 alone (RR 14) still holds; a calm repeat lets it go. */
static void fast_heart_and_breathing_at_discharge_hold(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id;
  alarm_ketamine_left_calm_observation(a, &id);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  assert_int_equal(alarm_record(a, id, VITALS(130, 40)), 200);
  expect_alert(a, id, "rr_high", "high");
  alarm_ack_all(a, id);
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  if (!strstr(msg, "last vitals heart rate 130 above 120, respiratory rate 40 at or above 25: record vitals within "
                   "the limits, or a clinician overrides"))
    fail_msg("the discharge's 409: %s", msg);

  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  assert_int_equal(alarm_record(a, id, VITALS(130, 14)), 200);
  alarm_ack_all(a, id);
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  if (!strstr(msg, "last vitals heart rate 130 above 120: record vitals")) fail_msg("the discharge's 409: %s", msg);

  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(alarm_record(a, id, VITALS(84, 14)), 200);
  alarm_ack_all(a, id);
  if (discharge(a, id, msg, sizeof msg) != 200) fail_msg("still held: %s", msg);
}

/* esketamine_rems: RR 40 in the monitoring: a high `rr_high`. */
static void esketamine_fast_breathing_alerts(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE(0));
  assert_int_equal(alarm_advance_clock(a, "15m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"respiration\": {\"spo2\": 97, \"rr\": 40}}"), 200);
  expect_alert(a, id, "rr_high", "high");
}

/* esketamine_rems: two hours of calm monitoring, leaving's entries; RR 40
 * taken at leaving, its alert acknowledged: leaving is held naming it; a
 * calm repeat lets the patient go. */
static void esketamine_fast_breathing_at_leaving_holds(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE(0));
  alarm_esketamine_left_calm_monitoring(a, id, ALARM_ESKETAMINE_LEAVING);
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"respiration\": {\"spo2\": 97, \"rr\": 40}}"), 200);
  expect_alert(a, id, "rr_high", "high");
  alarm_ack_all(a, id);
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  if (!strstr(msg, "respiratory rate 40 at or above 25 at leaving: record breathing within the limits, or the "
                   "prescriber overrides"))
    fail_msg("leaving's 409: %s", msg);
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"respiration\": {\"spo2\": 97, \"rr\": 14}}"), 200);
  alarm_ack_all(a, id);
  if (discharge(a, id, msg, sizeof msg) != 200) fail_msg("still held: %s", msg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(fast_breathing_in_the_observation_alerts, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(fast_heart_and_breathing_at_discharge_hold, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(esketamine_fast_breathing_alerts, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(esketamine_fast_breathing_at_leaving_holds, alarm_setup_esketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
