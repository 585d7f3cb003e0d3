/* T7 and U10 (docs/safety.md): ketamine_iv's infusion record was records
 * only. T7: a `dose_given` of 70 mg against 35 mg drawn up raised nothing and
 * the visit went on to the observation. U10: with screening overridden and
 * no dose drawn up, `dose_given` 200 mg at 400 mL/h raised nothing either.
 *
 * Control (protocol data, ketamine_iv 1.7.4): the infusion's rule `dose_given`
 * (protocols/ketamine_iv/infusion.lua) compares the dose given with the dose
 * drawn up at screening or, when none was drawn up, with the prescribed dose
 * (weight x dose_mg_per_kg); past `dose_given_tolerance_pct` (protocol.lua,
 * prescribed) it raises a carried high alert naming both doses, which holds
 * the infusion's gate until a clinician acknowledges it with a reason.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock
 * with a copy of the bundled ketamine_iv. Fails without the control: no
 * `dose_given` alert, the advance 200. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

#define CHECKPOINT                                                                                                     \
  "{\"vitals\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": 98, \"rr\": 14}, \"moaas\": \"5\","                  \
  " \"dissociation\": \"none\"}"

/* The infusion's four checkpoints, calm, 10 minutes apart from its start,
 * then the pump stopped and its record: the rate set and the dose given as
 * JSON numbers (the volume, 100 mL). */
static void infusion_given(alarm_serve *a, uint64_t id, const char *rate, const char *dose) {
  for (int k = 0; k < 4; k++) {
    assert_int_equal(alarm_advance_clock(a, "10m"), 200);
    assert_int_equal(alarm_record(a, id, CHECKPOINT), 200);
  }
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  char body[256];
  snprintf(body, sizeof body,
           "{\"infusion_stopped\": true, \"pump_rate\": %s, \"volume_infused\": 100, \"dose_given\": %s}", rate, dose);
  assert_int_equal(alarm_record(a, id, body), 200);
}

/* The newest dose_given alert is high, in this state, and says each of the words. */
static void expect_dose_alert(alarm_serve *a, uint64_t id, const char *state, const char *const *says, size_t n) {
  json_t *x = alarm_latest(a, id, "dose_given");
  if (!x) fail_msg("no dose_given alert");
  assert_string_equal(alarm_str(x, "priority"), "high");
  if (strcmp(alarm_str(x, "state"), state)) fail_msg("dose_given is %s, not %s", alarm_str(x, "state"), state);
  for (size_t i = 0; i < n; i++)
    if (!strstr(alarm_str(x, "message"), says[i]))
      fail_msg("dose_given does not say %s: %s", says[i], alarm_str(x, "message"));
  json_decref(x);
}

/* T7: 70 mg given against 35 mg drawn up. A high alert naming both doses;
 * the advance held naming it; a nurse's acknowledgement refused; the dose
 * amended to 35 mg ("typed 70 for 35") stays until the clinician
 * acknowledges it with a reason; then the visit goes on. */
static void twice_the_dose_drawn_up_alerts_and_holds(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_ketamine_infusing(a, ALARM_KETAMINE_SCREENING);
  infusion_given(a, id, "150", "70");
  const char *says[] = {"Dose given 70 mg", "35 mg drawn up"};
  expect_dose_alert(a, id, "active", says, 2);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  if (!strstr(msg, "Dose given 70 mg")) fail_msg("the advance's 409 does not name the dose given: %s", msg);
  alarm_expect_phase(a, id, "infusion");

  json_t *x = alarm_latest(a, id, "dose_given");
  assert_int_equal(alarm_ack(a, alarm_id(x)), 403); /* a clinician reviews it */
  json_decref(x);
  assert_int_equal(alarm_cmd(a, NULL, id, "amend",
                             "{\"item\": \"dose_given\", \"value\": 35, \"reason\": \"typed 70 for 35; pump total 100 "
                             "mL at 0.35 mg/mL\"}"),
                   200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 409); /* amended since: the clinician's */
  x = alarm_latest(a, id, "dose_given");
  assert_int_equal(alarm_ack_as(a, ALARM_CLINICIAN, alarm_id(x),
                                "{\"reason\": \"pump history checked: 35 mg given, the 70 was a typing error\"}"),
                   200);
  json_decref(x);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  alarm_expect_phase(a, id, "observation");
}

/* 36 mg given against 35 drawn up is within the tolerance (10 %): nothing, and the visit goes on. */
static void a_dose_within_the_tolerance_raises_nothing(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_infusing(a, ALARM_KETAMINE_SCREENING);
  infusion_given(a, id, "150", "36");
  json_t *x = alarm_latest(a, id, "dose_given");
  if (x) fail_msg("a dose_given alert for 36 mg of 35: %s", alarm_str(x, "message"));
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  alarm_expect_phase(a, id, "observation");
}

/* Less than drawn up (a pump that stopped early) is the same alert, its words saying so. */
static void less_than_drawn_up_alerts_too(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_infusing(a, ALARM_KETAMINE_SCREENING);
  infusion_given(a, id, "150", "20");
  const char *says[] = {"Dose given 20 mg", "less than the 35 mg drawn up"};
  expect_dose_alert(a, id, "active", says, 2);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 409);
}

/* U10: screening overridden by a clinician with no dose drawn up (70 kg at
 * 0.5 mg/kg: 35 mg prescribed); 200 mg given at 400 mL/h. The dose given is
 * compared with the prescribed dose: the alert names it, and holds. */
static void with_no_dose_drawn_up_the_prescribed_dose_is_compared(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200); /* to the infusion, no dose drawn up */
  alarm_expect_phase(a, id, "infusion");
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true}"), 200);
  infusion_given(a, id, "400", "200");
  const char *says[] = {"Dose given 200 mg", "no dose drawn up", "35 mg prescribed (70 kg x 0.5 mg/kg)"};
  expect_dose_alert(a, id, "active", says, 3);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  if (!strstr(msg, "Dose given 200 mg")) fail_msg("the advance's 409 does not name the dose given: %s", msg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(twice_the_dose_drawn_up_alerts_and_holds, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_dose_within_the_tolerance_raises_nothing, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(less_than_drawn_up_alerts_too, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(with_no_dose_drawn_up_the_prescribed_dose_is_compared, alarm_setup_ketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
