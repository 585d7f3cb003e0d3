/* T2 of the eleventh independent try (docs/safety.md).
 *
 * ketamine_iv let a nurse discharge with no vitals taken after the infusion:
 * the observation's four vitals checkpoints skipped with a reason, MOAA/S 5
 * and dissociation none at each: the advance 200, and the discharge's checks
 * that read the last vitals (the low BP/HR hold, the Aldrete cross-check)
 * then saw only the infusion's readings.
 *
 * Control (protocol data, ketamine_iv 1.7.2): the observation's gate needs 3
 * vitals readings of the phase, as the infusion's does ("0 of 3 vitals
 * readings recorded"; protocols/ketamine_iv/observation.lua). Three of the
 * four checkpoints, so one skipped with a reason needs no override.
 *
 * Since AG4 (1.7.8) each reading counts for the checkpoint it is within 5
 * minutes of, and more than one checkpoint without one needs a clinician's
 * override: readings taken after the skips no longer make up for them.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock
 * with a copy of the bundled ketamine_iv. Fails without the control (the
 * advance after four skips is 200). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

#define CALM_VITALS "{\"vitals\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": 98, \"rr\": 14}}"
#define RECOVERED "{\"moaas\": \"5\", \"dissociation\": \"none\"}"

/* The observation's four checkpoints 15 minutes apart: at each the vitals
 * recorded calm, or skipped by the nurse with a reason when bit k-1 of
 * skipped is set, and MOAA/S 5 and no dissociation; then a minute more. */
static void checkpoints(alarm_serve *a, uint64_t id, unsigned skipped) {
  for (unsigned k = 0; k < 4; k++) {
    assert_int_equal(alarm_advance_clock(a, "15m"), 200);
    if (skipped & (1u << k))
      assert_int_equal(
          alarm_cmd(a, NULL, id, "skip", "{\"item\": \"vitals\", \"reason\": \"patient asleep, not disturbed\"}"), 200);
    else
      assert_int_equal(alarm_record(a, id, CALM_VITALS), 200);
    assert_int_equal(alarm_record(a, id, RECOVERED), 200);
  }
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
}

/* Each of the four checkpoints: the vitals skipped with a reason, MOAA/S 5
 * and no dissociation recorded (the try's). The 60 minutes pass; the advance is refused
 * naming the missing readings; three readings taken then meet the count but
 * not the checkpoints (AG4); the clinician's override lets it go. */
static void observation_without_vitals_does_not_advance(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_ketamine_in_observation(a);
  checkpoints(a, id, 0xf);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  if (!strstr(msg, "0 of 3 vitals readings recorded")) fail_msg("the advance's 409 does not name the vitals: %s", msg);

  /* Readings taken now, 5 minutes apart (vitals_apart_min: U2), meet the
   * count of 3; only the first is a checkpoint's (the 60-minute one's, AG4). */
  for (int k = 1; k <= 3; k++) {
    assert_int_equal(alarm_record(a, id, CALM_VITALS), 200);
    assert_int_equal(alarm_advance_clock(a, k < 3 ? "5m" : "1m"), 200);
  }
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  if (strstr(msg, "vitals readings recorded") || !strstr(msg, "vitals at 1 of 4 checkpoints"))
    fail_msg("the advance's 409 after three readings: %s", msg);
  assert_int_equal(alarm_override(a, id), 200);
}

/* Three readings and one checkpoint skipped with a reason: the advance goes,
 * no override needed (as the infusion's 3 of 4). */
static void one_skipped_checkpoint_needs_no_override(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_ketamine_in_observation(a);
  checkpoints(a, id, 0x2);
  /* The skipped checkpoint is not overdue: nothing is alerting. */
  assert_int_equal(alarm_count(a, id, "active"), 0);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(observation_without_vitals_does_not_advance, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(one_skipped_checkpoint_needs_no_override, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
