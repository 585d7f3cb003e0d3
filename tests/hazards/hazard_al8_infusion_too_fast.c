/* AL8 of the fifteenth try (docs/safety.md).
 *
 * ketamine_iv: a 40-minute infusion given in 4 minutes (the pump set to
 * 1000 mL/h, stopped 4 minutes after it started, 35 mg given as drawn up)
 * raised nothing: the dose given was checked, the rate and the time not.
 *
 * Control (protocol data, ketamine_iv 1.7.10): the infusion's rule
 * `infusion_time` (protocols/ketamine_iv/infusion.lua) compares the time
 * from `infusion_started` to `infusion_stopped` (their observed times) with
 * the param `infusion_min_minutes` (protocol.lua, prescribed; sourced in
 * docs/clinical/ketamine-dosing.md, "Infusion time"): stopped sooner, a
 * carried high alert naming the minutes, which holds the infusion until a
 * clinician acknowledges it with a reason, and which the visit's record
 * keeps.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock
 * with a copy of the bundled ketamine_iv. Fails without the control: no
 * `infusion_time` alert. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"
#include "hazard_restart.h"

#define CHECKPOINT                                                                                                     \
  "{\"vitals\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": 98, \"rr\": 14}, \"moaas\": \"5\","                  \
  " \"dissociation\": \"none\"}"
#define RECORD "\"pump_rate\": 1000, \"volume_infused\": 100, \"dose_given\": 35"

/* The infusion's four checkpoints from now, calm, 10 minutes apart, and a minute on. */
static void checkpoints(alarm_serve *a, uint64_t id, const char *first) {
  for (int k = 0; k < 4; k++) {
    assert_int_equal(alarm_advance_clock(a, k ? "10m" : first), 200);
    assert_int_equal(alarm_record(a, id, CHECKPOINT), 200);
  }
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
}

/* The newest infusion_time alert is high, in this state, and says says. */
static void expect_time_alert(alarm_serve *a, uint64_t id, const char *state, const char *says) {
  json_t *x = alarm_latest(a, id, "infusion_time");
  if (!x) fail_msg("no infusion_time alert");
  assert_string_equal(alarm_str(x, "priority"), "high");
  if (strcmp(alarm_str(x, "state"), state)) fail_msg("infusion_time is %s, not %s", alarm_str(x, "state"), state);
  if (!strstr(alarm_str(x, "message"), says))
    fail_msg("infusion_time does not say %s: %s", says, alarm_str(x, "message"));
  json_decref(x);
}

/* The try: the pump at 1000 mL/h, stopped 4 minutes after it started. A
 * high alert naming the 4 minutes, in the visit's record; the nurse's
 * acknowledgement refused; the advance after the 40 minutes held naming it;
 * the clinician's acknowledgement with a reason lets the visit go on. */
static void an_infusion_stopped_in_4_minutes_alerts_and_holds(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_ketamine_in_infusion(a, ALARM_KETAMINE_SCREENING);
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true, \"pump_rate\": 1000}"), 200);
  assert_int_equal(alarm_advance_clock(a, "4m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"infusion_stopped\": true, " RECORD "}"), 200);
  expect_time_alert(a, id, "active", "Infusion stopped 4 minutes after it started");
  char *history = alarm_history_text(a, id);
  if (!strstr(history, "Infusion stopped 4 minutes after it started")) fail_msg("the record does not say it");
  free(history);

  json_t *x = alarm_latest(a, id, "infusion_time");
  assert_int_equal(alarm_ack(a, alarm_id(x)), 403); /* a clinician reviews it */
  checkpoints(a, id, "6m");
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  if (!strstr(msg, "Infusion stopped 4 minutes after it started")) fail_msg("the advance's 409 says: %s", msg);
  alarm_expect_phase(a, id, "infusion");
  assert_int_equal(alarm_ack_as(a, ALARM_CLINICIAN, alarm_id(x),
                                "{\"reason\": \"pump set 1000 for 100 mL/h; patient assessed: MOAA/S 5, BP 128/80\"}"),
                   200);
  json_decref(x);
  if (alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg) != 200) fail_msg("still held: %s", msg);
  alarm_expect_phase(a, id, "observation");
}

/* The stop recorded late, at the end of the checkpoints, but observed 4
 * minutes after the start: the observed times are the infusion's, so it
 * alerts as well. */
static void a_late_stop_observed_early_alerts(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_infusing(a, ALARM_KETAMINE_SCREENING);
  long long started = alarm_now(a);
  checkpoints(a, id, "10m");
  char body[256];
  snprintf(body, sizeof body, "{\"infusion_stopped\": true, \"observed_at\": %lld, " RECORD "}", started + 4 * 60000);
  assert_int_equal(alarm_record(a, id, body), 200);
  expect_time_alert(a, id, "active", "Infusion stopped 4 minutes after it started");
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 409);
}

/* Stopped when the 40 minutes are up: nothing, and the visit goes on. */
static void a_40_minute_infusion_raises_nothing(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_infusing(a, ALARM_KETAMINE_SCREENING);
  checkpoints(a, id, "10m");
  assert_int_equal(alarm_record(a, id, "{\"infusion_stopped\": true, " RECORD "}"), 200);
  json_t *x = alarm_latest(a, id, "infusion_time");
  if (x) fail_msg("an infusion_time alert after 40 minutes: %s", alarm_str(x, "message"));
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  alarm_expect_phase(a, id, "observation");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(an_infusion_stopped_in_4_minutes_alerts_and_holds, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_late_stop_observed_early_alerts, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_40_minute_infusion_raises_nothing, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
