/* M6 (docs/safety.md): apnoea and deep desaturation could not be recorded:
 * RR 0, SpO2 below 50 and HR 0 were 422 as implausible, so the nurse could
 * not enter the reading and no alert fired.
 *
 * End to end over the HTTP API of a real `vigil serve` with a copy of the
 * bundled ketamine_iv: during the infusion, RR 0, SpO2 0 and HR 0 are taken
 * (200) and each alerts high (rr_low, spo2_low, hr_low); SpO2 45 the same;
 * typing errors above the top of a range (SpO2 101, HR 251, RR 61) are still
 * refused (422), saying the value as entered. Fails without the control
 * (core/lang/lua/vigil.lua's plausible ranges: 422 at RR 0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

static void expect_high(alarm_serve *a, uint64_t id, const char *rule, const char *says) {
  json_t *al = alarm_latest(a, id, rule);
  if (!al) fail_msg("no %s alert", rule);
  assert_string_equal(alarm_str(al, "priority"), "high");
  if (!strstr(alarm_str(al, "message"), says)) fail_msg("%s says: %s", rule, alarm_str(al, "message"));
  json_decref(al);
}

static void apnoea_and_no_pulse_are_recorded_and_alert(void **state) {
  alarm_serve *a = *state;
  char msg[2048];
  uint64_t id = alarm_ketamine_infusing(a, ALARM_KETAMINE_SCREENING);

  /* Typing errors above the top stay refused, said as entered. */
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries",
                                 "{\"vitals\": {\"sbp\": 120, \"dbp\": 80, \"hr\": 70, \"spo2\": 100.5, \"rr\": 14}}",
                                 msg, sizeof msg),
                   422);
  if (!strstr(msg, "100.5 is outside the plausible range 0-100")) fail_msg("said: %s", msg);
  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 120, \"dbp\": 80, \"hr\": 251, \"spo2\": 98, \"rr\": 14}}"), 422);
  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 120, \"dbp\": 80, \"hr\": 70, \"spo2\": 98, \"rr\": 61}}"), 422);

  /* Apnoea and no pulse. */
  assert_int_equal(alarm_record(a, id, "{\"vitals\": {\"sbp\": 60, \"dbp\": 30, \"hr\": 0, \"spo2\": 0, \"rr\": 0}}"),
                   200);
  expect_high(a, id, "rr_low", "Respiratory rate 0/min");
  expect_high(a, id, "spo2_low", "SpO2 0%");
  expect_high(a, id, "hr_low", "Heart rate 0/min");
  /* Deep desaturation is a reading too. */
  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 110, \"dbp\": 70, \"hr\": 58, \"spo2\": 45, \"rr\": 6}}"), 200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(apnoea_and_no_pulse_are_recorded_and_alert, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
