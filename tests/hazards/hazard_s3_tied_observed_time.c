/* S3 of the tenth independent try (docs/safety.md).
 *
 * Two readings with the same observed time: the one entered later won. A
 * calm reading entered with an `observed_at` equal to the newest low reading's
 * time became the newest and closed the acknowledged low-SpO2 and slow
 * breathing alerts (1 ms earlier it was a finding). Control: a reading entered
 * late is placed before a reading of the same observed time entered earlier
 * (add_reading, core/engine/visit.c), so a tie is not newer: the earlier
 * entered stands and the later is judged as a finding (G4); across one
 * series' items alike (vigil__late_rule_begin, core/engine/late_entry.c).
 *
 * End to end over the HTTP API of a real `vigil serve` with a copy of the
 * bundled ketamine_iv. Fails without the control (the alerts are closed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

static void expect_state(alarm_serve *a, uint64_t id, const char *rule, const char *state) {
  json_t *x = alarm_latest(a, id, rule);
  if (!x) fail_msg("no %s alert", rule);
  if (strcmp(alarm_str(x, "state"), state)) fail_msg("%s is %s, not %s", rule, alarm_str(x, "state"), state);
  json_decref(x);
}

static void a_calm_reading_tied_with_the_low_one_does_not_clear_it(void **state) {
  alarm_serve *a = *state;
  char body[512];
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  long long low_at = alarm_now(a);
  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 120, \"dbp\": 75, \"hr\": 72, \"spo2\": 84, \"rr\": 6}}"), 200);
  expect_state(a, id, "spo2_low", "active");
  alarm_ack_all(a, id);
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  /* A calm reading observed at the very same time, entered a minute later. */
  snprintf(body, sizeof body,
           "{\"observed_at\": %lld, \"vitals\": {\"sbp\": 120, \"dbp\": 75, \"hr\": 72, \"spo2\": 98, \"rr\": 14}}",
           low_at);
  assert_int_equal(alarm_record(a, id, body), 200);
  expect_state(a, id, "spo2_low", "acknowledged");
  expect_state(a, id, "rr_low", "acknowledged");
}

/* Esketamine_rems: across one series' items (R2), a normal `bp` observed at
 * the same time as the low `bp_40m` and entered after it clears nothing. */
static void esketamine_tied_bp_does_not_clear_the_40_minute_lows(void **state) {
  alarm_serve *a = *state;
  char body[512];
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE(0));
  assert_int_equal(alarm_advance_clock(a, "41m"), 200);
  long long low_at = alarm_now(a);
  assert_int_equal(alarm_record(a, id, "{\"bp_40m\": {\"sbp\": 62, \"dbp\": 30, \"hr\": 35}}"), 200);
  expect_state(a, id, "bp_low", "active");
  alarm_ack_all(a, id);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  snprintf(body, sizeof body, "{\"bp\": {\"sbp\": 118, \"dbp\": 72, \"hr\": 66}, \"observed_at\": %lld}", low_at);
  assert_int_equal(alarm_record(a, id, body), 200);
  expect_state(a, id, "bp_low", "acknowledged");
  expect_state(a, id, "hr_low", "acknowledged");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_calm_reading_tied_with_the_low_one_does_not_clear_it, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(esketamine_tied_bp_does_not_clear_the_40_minute_lows, alarm_setup_esketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
