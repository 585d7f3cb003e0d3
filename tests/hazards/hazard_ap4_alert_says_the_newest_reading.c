/* AP4 of the late safety try (docs/safety.md).
 *
 * An active alert kept the words of the reading that raised it: ketamine's
 * bp_rise said "BP 186/100 is +54/+16" after 185/112, 186/113 and 188/114,
 * so the banner, the board and the gate showed a reading two readings old.
 *
 * Control (core/engine/alerts.c, visit_json.c, gate.c): while its cause
 * holds, an alert says what its rule says of the newest reading (`message`),
 * and the words it was raised with stay beside them (`raised_with`; the
 * `alert.raised` event keeps them too); acknowledged or not.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock. Fails without the control: "bp_rise after 188/114 says: BP 185/112
 * is +57/+32 ...". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

/* The visit's only bp_rise alert says want, and was raised with first. */
static void expect_rise(alarm_serve *a, uint64_t id, const char *after, const char *want, const char *first) {
  json_t *alerts = alarm_alerts(a, id), *x, *rise = NULL;
  size_t i, n = 0;
  json_array_foreach(alerts, i, x) {
    if (!strcmp(alarm_str(x, "rule"), "bp_rise")) {
      rise = x;
      n++;
    }
  }
  if (n != 1) fail_msg("%zu bp_rise alerts after %s, not one", n, after);
  if (!strstr(alarm_str(rise, "message"), want))
    fail_msg("bp_rise after %s says: %s", after, alarm_str(rise, "message"));
  if (first && !strstr(alarm_str(rise, "raised_with"), first))
    fail_msg("bp_rise after %s was raised with: %s", after, alarm_str(rise, "raised_with"));
  json_decref(alerts);
}

/* The try's readings on the baseline 128/80: bp_rise follows them, active,
 * then acknowledged; the gate quotes the newest. */
static void bp_rise_says_the_newest_reading(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_infusing(a, ALARM_KETAMINE_SCREENING);
  alarm_bp(a, id, "vitals", NULL, 185, 112);
  expect_rise(a, id, "185/112", "BP 185/112 is +57/+32 mmHg from the baseline 128/80", NULL);
  alarm_bp(a, id, "vitals", "2m", 186, 113);
  alarm_bp(a, id, "vitals", "2m", 188, 114);
  expect_rise(a, id, "188/114", "BP 188/114 is +60/+34 mmHg from the baseline 128/80", "BP 185/112 is +57/+32");

  json_t *x = alarm_latest(a, id, "bp_rise");
  assert_int_equal(alarm_ack(a, alarm_id(x)), 200);
  json_decref(x);
  alarm_bp(a, id, "vitals", "3m", 184, 100);
  expect_rise(a, id, "184/100, acknowledged", "BP 184/100 is +56/+20", "BP 185/112 is +57/+32");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(bp_rise_says_the_newest_reading, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
