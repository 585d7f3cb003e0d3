/* AG4 of the thirteenth independent try (docs/safety.md; U2 (a) met in
 * letter only).
 *
 * ketamine_iv: vitals at minutes 1, 6 and 11 of the observation (5 minutes
 * apart, so U2's spacing counted three), then every checkpoint skipped with
 * a reason ("patient asleep comfortably"): the gate was ok at 61 minutes
 * with no override after 49 minutes without vitals. The clinical source
 * (docs/clinical/discharge-criteria.md) says three of the four checkpoints,
 * more skipped needs a clinician's override. esketamine_rems's monitoring
 * let the same skipping through, its 40-minute BP included.
 *
 * Control (ketamine_iv 1.7.8, esketamine_rems 1.7.7; one engine addition): the
 * engine's `visit.checkpoints(ref)` says how many of a scheduled item's due
 * times have come and how many have a reading observed within its grace
 * either side, each reading counting for the due time nearest it only; the
 * observation's and the monitoring's gates hold when more checkpoints than
 * the phase allows (a literal in its file: 1) have none. esketamine's
 * `bp_40m` is `skippable = false`: a skip is 422, going on without it is a
 * clinician's override.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock
 * with copies of the bundled protocols. Fails without the control: the
 * advances are 200 where 409 is expected, the skip of the 40-minute BP 200
 * where 422 is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

#define CALM_VITALS "{\"vitals\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": 98, \"rr\": 14}}"
#define CALM_BREATHING "{\"respiration\": {\"spo2\": 98, \"rr\": 14}}"

/* The try on ketamine_iv: readings at 1, 6 and 11 minutes (the one at 11 is
 * the 15-minute checkpoint's), the vitals skipped at each checkpoint after.
 * The advance is refused naming the checkpoints; a reading now is the
 * 60-minute checkpoint's and is not enough; the clinician's override is the
 * way past. */
static void ketamine_checkpoints_skipped_hold(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_ketamine_in_observation(a);
  for (int k = 0; k < 3; k++) {
    assert_int_equal(alarm_advance_clock(a, k ? "5m" : "1m"), 200);
    assert_int_equal(alarm_record(a, id, CALM_VITALS), 200);
  }
  alarm_checkpoints_skipped(a, id, "vitals", "4m", 4);
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  if (strcmp(msg, "Observation after the infusion: the gate is not met: vitals at 1 of 4 checkpoints (a reading "
                  "counts within 5 minutes of its checkpoint; 1 may go without: more needs a clinician's override)"))
    fail_msg("the advance's 409: %s", msg);

  assert_int_equal(alarm_record(a, id, CALM_VITALS), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  if (!strstr(msg, "vitals at 2 of 4 checkpoints")) fail_msg("the advance's 409 after a reading now: %s", msg);
  alarm_expect_phase(a, id, "observation");
  assert_int_equal(alarm_override(a, id), 200);
  alarm_expect_phase(a, id, "discharge");
}

/* The same on esketamine_rems's monitoring: breathing at 1, 6 and 11
 * minutes, then skipped at every checkpoint; the 40-minute BP's skip is
 * refused (it is taken at 45). The advance after two hours is refused naming
 * the breathing checkpoints; the clinician's override is the way past. */
static void esketamine_checkpoints_skipped_hold(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE(0));
  for (int k = 0; k < 3; k++) {
    assert_int_equal(alarm_advance_clock(a, k ? "5m" : "1m"), 200);
    assert_int_equal(alarm_record(a, id, CALM_BREATHING), 200);
  }
  alarm_checkpoints_skipped(a, id, "respiration", "4m", 3); /* 15, 30, 45 */
  assert_int_equal(
      alarm_cmd_msg(a, NULL, id, "skip", "{\"item\": \"bp_40m\", \"reason\": \"patient asleep\"}", msg, sizeof msg),
      422);
  if (!strstr(msg, "cannot be skipped")) fail_msg("the 40-minute BP's skip: %s", msg);
  assert_int_equal(alarm_record(a, id, "{\"bp_40m\": {\"sbp\": 132, \"dbp\": 82, \"hr\": 70}}"), 200);
  alarm_checkpoints_skipped(a, id, "respiration", "15m", 5); /* 60 .. 120 */
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  if (!strstr(msg, "breathing at 1 of 8 checkpoints (a reading counts within 5 minutes of its checkpoint; 1 may go "
                   "without: more needs a clinician's override)"))
    fail_msg("the advance's 409: %s", msg);
  alarm_expect_phase(a, id, "monitoring");
  assert_int_equal(alarm_override(a, id), 200);
  alarm_expect_phase(a, id, "discharge");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(ketamine_checkpoints_skipped_hold, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(esketamine_checkpoints_skipped_hold, alarm_setup_esketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
