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

/* A ketamine_iv visit overridden into the infusion, two minutes in, with
 * these infusion vitals recorded then (*at: when). */
static uint64_t infusion_reading(alarm_serve *a, const char *vitals, long long *at) {
  char body[256];
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  *at = alarm_now(a);
  snprintf(body, sizeof body, "{\"vitals\": %s}", vitals);
  assert_int_equal(alarm_record(a, id, body), 200);
  return id;
}

static void a_calm_reading_tied_with_the_low_one_does_not_clear_it(void **state) {
  alarm_serve *a = *state;
  char body[512];
  long long low_at;
  uint64_t id = infusion_reading(a, "{\"sbp\": 120, \"dbp\": 75, \"hr\": 72, \"spo2\": 84, \"rr\": 6}", &low_at);
  alarm_expect_state(a, id, "spo2_low", "active");
  alarm_ack_all(a, id);
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  /* A calm reading observed at the very same time, entered a minute later. */
  snprintf(body, sizeof body,
           "{\"observed_at\": %lld, \"vitals\": {\"sbp\": 120, \"dbp\": 75, \"hr\": 72, \"spo2\": 98, \"rr\": 14}}",
           low_at);
  assert_int_equal(alarm_record(a, id, body), 200);
  alarm_expect_state(a, id, "spo2_low", "acknowledged");
  alarm_expect_state(a, id, "rr_low", "acknowledged");
}

/* The other way round: a low reading entered late with the observed time of
 * a calm one entered earlier is a finding (G4), not the current state: a high
 * alert, active, saying when it was observed, that holds the gate until
 * someone acknowledges it (H12), as one observed a moment before the calm
 * reading would be. Why "the worse stands" is not needed: docs/safety.md S3. */
static void a_low_reading_tied_with_a_calm_one_is_a_finding_to_see(void **state) {
  alarm_serve *a = *state;
  char body[512], msg[4096];
  long long calm_at;
  uint64_t id = infusion_reading(a, "{\"sbp\": 120, \"dbp\": 75, \"hr\": 72, \"spo2\": 98, \"rr\": 14}", &calm_at);
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  snprintf(body, sizeof body,
           "{\"observed_at\": %lld, \"vitals\": {\"sbp\": 120, \"dbp\": 75, \"hr\": 72, \"spo2\": 84, \"rr\": 6}}",
           calm_at);
  assert_int_equal(alarm_record(a, id, body), 200);
  json_t *x = alarm_latest(a, id, "spo2_low");
  assert_non_null(x);
  assert_string_equal(alarm_str(x, "state"), "active");
  assert_string_equal(alarm_str(x, "priority"), "high");
  assert_non_null(strstr(alarm_str(x, "message"), "entered late at "));
  uint64_t finding = alarm_id(x);
  json_decref(x);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  if (!strstr(msg, "not acknowledged: SpO2 84%")) fail_msg("the gate does not name the finding: %s", msg);
  assert_int_equal(alarm_ack(a, finding), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  assert_null(strstr(msg, "SpO2 84%"));
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
  alarm_expect_state(a, id, "bp_low", "active");
  alarm_ack_all(a, id);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  snprintf(body, sizeof body, "{\"bp\": {\"sbp\": 118, \"dbp\": 72, \"hr\": 66}, \"observed_at\": %lld}", low_at);
  assert_int_equal(alarm_record(a, id, body), 200);
  alarm_expect_state(a, id, "bp_low", "acknowledged");
  alarm_expect_state(a, id, "hr_low", "acknowledged");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_calm_reading_tied_with_the_low_one_does_not_clear_it, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_low_reading_tied_with_a_calm_one_is_a_finding_to_see, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(esketamine_tied_bp_does_not_clear_the_40_minute_lows, alarm_setup_esketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
