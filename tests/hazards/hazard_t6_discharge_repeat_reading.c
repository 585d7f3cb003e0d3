/* T6 of the eleventh independent try (docs/safety.md).
 *
 * In ketamine_iv's discharge a current repeat reading could not be recorded,
 * so lifting S2's hold meant back-dating: after a late low
 * `observation.vitals` (SpO2 84, RR 6) a clinician acknowledged, the nurse's
 * `vitals` now was 422 (no such item in the discharge) and
 * `observation.vitals` without `observed_at` 409 (outside the phase's
 * times); the only way was a calm `observation.vitals` with a false observed
 * time.
 *
 * Control (protocol data, ketamine_iv 1.7.3): the discharge phase has a
 * repeat reading of its own, `discharge.vitals` (not scheduled, not
 * required), with the observation's limit rules of the same names; a
 * current calm reading resolves the left phase's `left_reading` alerts as
 * the observation's rules resolve the infusion's (S2, core/engine/alerts.c
 * `since`), and the discharge's checks read it as the last vitals. A current
 * low one raises its own alert and the hold stays.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock
 * with a copy of the bundled ketamine_iv. Fails without the control (the
 * discharge's `vitals` is 422). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

#define VITALS(spo2, rr) "{\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": " #spo2 ", \"rr\": " #rr "}"

static int discharge(alarm_serve *a, uint64_t id, char *msg, size_t len) {
  return alarm_cmd_msg(a, NULL, id, "discharge", "{\"password\": \"" SERVE_PASSWORD "\"}", msg, len);
}

/* S2's case: four calm observation checkpoints, the advance, Aldrete 10 and
 * the checks; SpO2 84, RR 6 observed 30 s before the advance, entered two
 * minutes after it; the clinician acknowledges both alerts with a reason and
 * they hold the discharge. The visit's id. */
static uint64_t late_low_acknowledged(alarm_serve *a) {
  char msg[4096];
  uint64_t id;
  alarm_ketamine_late_low(a, &id);
  alarm_ack_all(a, id);
  alarm_expect_state(a, id, "spo2_low", "acknowledged");
  alarm_expect_state(a, id, "rr_low", "acknowledged");
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  if (!strstr(msg, "acknowledged, its condition still holds: ")) fail_msg("the discharge is not held: %s", msg);
  return id;
}

/* A calm repeat reading taken now, in the discharge, by the nurse: the late
 * low's alerts resolve (acknowledged, they close) and the discharge goes. */
static void a_current_calm_reading_lifts_the_late_low(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = late_low_acknowledged(a);
  assert_int_equal(alarm_advance_clock(a, "3m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"vitals\": " VITALS(97, 14) "}"), 200);
  alarm_expect_state(a, id, "spo2_low", "closed");
  alarm_expect_state(a, id, "rr_low", "closed");
  assert_int_equal(alarm_count(a, id, "active") + alarm_count(a, id, "acknowledged"), 0);
  assert_int_equal(discharge(a, id, msg, sizeof msg), 200);
}

/* A low repeat reading now: its own high alerts are raised, the late low's
 * stay acknowledged, the discharge is held; a calm one after it ends both. */
static void a_current_low_reading_still_holds(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = late_low_acknowledged(a);
  json_t *late = alarm_latest(a, id, "spo2_low");
  uint64_t late_alert = alarm_id(late);
  json_decref(late);
  assert_int_equal(alarm_advance_clock(a, "3m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"vitals\": " VITALS(86, 7) "}"), 200);
  json_t *now = alarm_latest(a, id, "spo2_low");
  assert_non_null(now);
  if (alarm_id(now) == late_alert) fail_msg("the current low reading raised no alert of its own");
  assert_string_equal(alarm_str(now, "state"), "active");
  assert_string_equal(alarm_str(now, "priority"), "high");
  json_decref(now);
  assert_int_equal(alarm_count(a, id, "acknowledged"), 2); /* the late low's, still standing */
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  assert_int_equal(alarm_restart(a), 0);
  assert_int_equal(alarm_count(a, id, "acknowledged"), 2);
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);

  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"vitals\": " VITALS(97, 14) "}"), 200);
  char st[32];
  assert_string_equal(alarm_state_of(a, id, late_alert, st, sizeof st), "closed");
  /* The current low's own alerts cleared; latched, they wait for an
   * acknowledgement (L2), as in any phase. */
  assert_int_equal(alarm_count(a, id, "acknowledged"), 0);
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  if (!strstr(msg, "not acknowledged (cleared since): SpO2 86%")) fail_msg("the discharge's 409: %s", msg);
  json_t *alerts = alarm_alerts(a, id), *x;
  size_t i;
  json_array_foreach(alerts, i, x) {
    if (strcmp(alarm_str(x, "state"), "closed")) assert_int_equal(alarm_ack(a, alarm_id(x)), 200);
  }
  json_decref(alerts);
  if (discharge(a, id, msg, sizeof msg) != 200) fail_msg("held: %s", msg);
}

/* The discharge's own checks read the repeat reading as the last vitals: a
 * systolic of 88 now holds it (Q4's limit) whatever the observation said. */
static void the_discharge_checks_read_the_repeat_reading(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id;
  alarm_ketamine_left_calm_observation(a, &id);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 88, \"dbp\": 60, \"hr\": 72, \"spo2\": 97, \"rr\": 14}}"), 200);
  alarm_ack_all(a, id);
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  if (!strstr(msg, "last vitals systolic 88 at or below 90")) fail_msg("the discharge's 409: %s", msg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_current_calm_reading_lifts_the_late_low, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_current_low_reading_still_holds, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(the_discharge_checks_read_the_repeat_reading, alarm_setup_ketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
