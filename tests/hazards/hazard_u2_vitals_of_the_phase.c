/* U2 of the twelfth independent try (docs/safety.md).
 *
 * T2 was met in letter only: three identical vitals typed within one second
 * at the observation's first minute, then every checkpoint skipped with a
 * reason, let the nurse advance, and the discharge went with the newest
 * vitals 62 minutes old (esketamine_rems: breathing 90 minutes old at
 * leaving).
 *
 * Controls (protocol data, ketamine_iv and esketamine_rems; docs/clinical/
 * discharge-criteria.md):
 *  (a) ketamine_iv's observation gate counts readings observed at least
 *      `vitals_apart_min` (5) minutes apart: three in one second count once
 *      ("1 of 3 vitals readings recorded (3 taken; ...)"; the engine's
 *      `visit.observed_at(ref, k)` gives each reading's observed time);
 *  (b) ketamine_iv's discharge and esketamine_rems's leaving need their last
 *      vitals (breathing) observed within `discharge_vitals_max_age_min` (20):
 *      "last vitals 26 minutes old (needs within 20): take the vitals now".
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock
 * with copies of the bundled protocols. Fails without the controls: the
 * first case's advance and the others' discharge are 200. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

#define CALM_VITALS "{\"vitals\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": 98, \"rr\": 14}}"

static int discharge(alarm_serve *a, uint64_t id, char *msg, size_t len) {
  return alarm_cmd_msg(a, NULL, id, "discharge", "{\"password\": \"" SERVE_PASSWORD "\"}", msg, len);
}

/* The try: three identical readings in the observation's first minute, then
 * the four checkpoints' vitals skipped with a reason (MOAA/S 5 and no
 * dissociation at each). The advance is refused: the three count once. Two
 * readings spread over the next minutes meet the count; the checkpoints
 * without a reading still hold (AG4: hazard_ag4_checkpoints_skipped.c), and
 * the clinician's override is the way past. */
static void three_readings_in_a_second_count_once(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_ketamine_in_observation(a);
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  for (int k = 0; k < 3; k++)
    assert_int_equal(alarm_record(a, id, CALM_VITALS), 200);
  alarm_checkpoints_skipped(a, id, "vitals", "14m", 4);
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  if (!strstr(msg, "1 of 3 vitals readings recorded (3 taken; readings less than 5 minutes apart count once)"))
    fail_msg("the advance's 409 does not count the three as one: %s", msg);

  /* A reading now is the second; one 5 minutes later the third. */
  assert_int_equal(alarm_record(a, id, CALM_VITALS), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  if (!strstr(msg, "2 of 3 vitals readings recorded")) fail_msg("the advance's 409: %s", msg);
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(alarm_record(a, id, CALM_VITALS), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  if (strstr(msg, "vitals readings recorded") || !strstr(msg, "vitals at 1 of 4 checkpoints"))
    fail_msg("the advance's 409 after three readings apart: %s", msg);
  assert_int_equal(alarm_override(a, id), 200);
  alarm_expect_phase(a, id, "discharge");
}

/* ketamine_iv: four calm checkpoints, the advance a minute after the last,
 * Aldrete 10 and the checks; the patient then waits 25 minutes for the
 * ride. The discharge is held on vitals 26 minutes old; the repeat reading
 * taken now lets it go. */
static void ketamine_discharge_needs_vitals_of_now(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id;
  alarm_ketamine_left_calm_observation(a, &id);
  assert_int_equal(alarm_advance_clock(a, "25m"), 200);
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  if (!strstr(msg, "last vitals 26 minutes old (needs within 20): take the vitals now"))
    fail_msg("the discharge's 409 does not name the vitals' age: %s", msg);
  assert_int_equal(alarm_record(a, id, CALM_VITALS), 200);
  if (discharge(a, id, msg, sizeof msg) != 200) fail_msg("still held: %s", msg);
}

/* esketamine_rems: two hours of calm checkpoints, leaving's entries; the
 * patient waits 30 minutes more. Leaving is held on breathing 31 minutes
 * old and the BP before leaving 30 minutes old (AN16); a repeat breathing
 * reading and a BP now let the patient go. */
static void esketamine_leaving_needs_breathing_of_now(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE(0));
  alarm_esketamine_left_calm_monitoring(a, id, ALARM_ESKETAMINE_LEAVING);
  assert_int_equal(alarm_advance_clock(a, "30m"), 200);
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  /* The BP before leaving, taken with leaving's entries, is as old (AN16). */
  if (strcmp(msg, "Ready to leave: the gate is not met: blood pressure before leaving taken 30 minutes ago (needs "
                  "within 20): take it again now; breathing last recorded 31 minutes ago (needs within 20): "
                  "take SpO2 and the respiratory rate now"))
    fail_msg("leaving's 409: %s", msg);
  assert_int_equal(alarm_record(a, id, "{\"respiration\": {\"spo2\": 97, \"rr\": 14}}"), 200);
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  if (strcmp(msg, "Ready to leave: the gate is not met: blood pressure before leaving taken 30 minutes ago (needs "
                  "within 20): take it again now"))
    fail_msg("leaving's 409 after the breathing of now: %s", msg);
  assert_int_equal(alarm_record(a, id, "{\"bp_before_leaving\": {\"sbp\": 122, \"dbp\": 76, \"hr\": 68}}"), 200);
  if (discharge(a, id, msg, sizeof msg) != 200) fail_msg("still held: %s", msg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(three_readings_in_a_second_count_once, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(ketamine_discharge_needs_vitals_of_now, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(esketamine_leaving_needs_breathing_of_now, alarm_setup_esketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
