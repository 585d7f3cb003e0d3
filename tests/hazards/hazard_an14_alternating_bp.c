/* AN14 of the late try (docs/safety.md).
 *
 * ketamine_iv confirmed marked hypertension only on two readings at the flag
 * in a row: BPs alternating around 180/110 two minutes apart in the infusion
 * (185/112, 179/109, 186/113, 179/108, 188/114) raised only the medium
 * "repeat the reading in 5 minutes to confirm", each closed by the next lower
 * reading without an acknowledgement: three readings past the flag in eight
 * minutes and no high alert.
 *
 * Control (protocol data, ketamine_iv): the flag met again within
 * `bp_confirm_window_min` (10 minutes: the repeat's 5 and a checkpoint's 5
 * minutes' grace) of a reading at it is the confirmation, whatever lay
 * between (protocols/ketamine_iv/lib.lua, lib.bp_high).
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock. Fails without the control: "three readings at the flag in 8 minutes
 * and no high bp_high". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

/* The newest alert of rule bp_high with this priority ("high": id bp_high;
 * "medium": bp_high_unconfirmed), a new reference, or NULL. */
static json_t *bp_high(alarm_serve *a, uint64_t id, const char *priority) {
  json_t *alerts = alarm_alerts(a, id), *x, *found = NULL;
  size_t i;
  json_array_foreach(alerts, i, x) {
    if (!strcmp(alarm_str(x, "rule"), "bp_high") && !strcmp(alarm_str(x, "priority"), priority)) found = x;
  }
  if (found) json_incref(found);
  json_decref(alerts);
  return found;
}

/* The newest bp_high alert of this priority is in state. */
static void expect_bp_high(alarm_serve *a, uint64_t id, const char *priority, const char *state) {
  json_t *x = bp_high(a, id, priority);
  if (!x) fail_msg("no %s bp_high alert", priority);
  if (strcmp(alarm_str(x, "state"), state))
    fail_msg("the %s bp_high is %s, not %s", priority, alarm_str(x, "state"), state);
  json_decref(x);
}

/* The try's readings, two minutes apart: the high at the third, the flag met
 * again 4 minutes after the first with 179/109 between. */
static void alternating_readings_reach_the_high(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_infusing(a, ALARM_KETAMINE_SCREENING);
  alarm_bp(a, id, "vitals", NULL, 185, 112);
  json_t *x = bp_high(a, id, "high");
  if (x) fail_msg("one reading at the flag is already high: %s", alarm_str(x, "message"));
  expect_bp_high(a, id, "medium", "active");
  alarm_bp(a, id, "vitals", "2m", 179, 109);
  alarm_bp(a, id, "vitals", "2m", 186, 113);
  x = bp_high(a, id, "high");
  if (!x) fail_msg("186/113 four minutes after 185/112 and no high bp_high");
  if (!strstr(alarm_str(x, "message"), "BP at or above 180/110 again within 10 minutes (185/112, 4 minutes "
                                       "before 186/113)"))
    fail_msg("the high alert says: %s", alarm_str(x, "message"));
  json_decref(x);
  alarm_bp(a, id, "vitals", "2m", 179, 108);
  alarm_bp(a, id, "vitals", "2m", 188, 114);
  x = bp_high(a, id, "high");
  if (!x) fail_msg("three readings at the flag in 8 minutes and no high bp_high");
  /* Latched: the lower reading between did not close it. */
  assert_string_equal(alarm_str(x, "state"), "active");
  json_decref(x);
}

/* Past the window the flag met again is a new first reading: 185/112, 150/90
 * six minutes on, 186/113 twelve minutes after the first: the medium only. */
static void the_flag_past_the_window_asks_for_a_repeat(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_infusing(a, ALARM_KETAMINE_SCREENING);
  alarm_bp(a, id, "vitals", NULL, 185, 112);
  alarm_bp(a, id, "vitals", "6m", 150, 90);
  alarm_bp(a, id, "vitals", "6m", 186, 113);
  json_t *x = bp_high(a, id, "high");
  if (x) fail_msg("the flag 12 minutes apart with a lower reading between is high: %s", alarm_str(x, "message"));
  expect_bp_high(a, id, "medium", "active");
  /* The next reading at the flag within the window confirms it. */
  alarm_bp(a, id, "vitals", "5m", 182, 100);
  expect_bp_high(a, id, "high", "active");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(alternating_readings_reach_the_high, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(the_flag_past_the_window_asks_for_a_repeat, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
