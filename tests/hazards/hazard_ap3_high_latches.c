/* AP3 of the late safety try (docs/safety.md).
 *
 * A high BP alert cleared by the next lower reading was `resolved` while
 * nobody had acknowledged it, and never escalated: AN14's highs (186/113,
 * then 179/108 two minutes later) and AN12's severe `bp_hold` (215/125
 * "resolved" by 181/100, a reading still at the hold), while a medium
 * `bp_rise` whose cause held escalated.
 *
 * Control (the protocol language and protocol data): `defaults.latch` (a
 * priority: alerts at it and above) and an alert's own `latch`: such an alert,
 * not acknowledged, stays active and escalates after its cause clears, until
 * someone acknowledges it (IEC 60601-1-8's latching alarm; the standard leaves
 * latching to the clinic). Both bundled protocols latch their highs
 * (`latch = "high"`). ketamine_iv's severe hold alert stays the hold's until a
 * reading out of the hold (lib.predose_bp_hold).
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock. Fails without the control: "the high bp_high is resolved, not
 * active", "bp_hold_severe is resolved by 181/100, a reading still at the
 * hold". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

/* The visit's alert with this id, a new reference, or NULL. */
static json_t *alert_by_id(alarm_serve *a, uint64_t visit, uint64_t id) {
  json_t *alerts = alarm_alerts(a, visit), *x, *found = NULL;
  size_t i;
  json_array_foreach(alerts, i, x) {
    if (alarm_id(x) == id) found = json_incref(x);
  }
  json_decref(alerts);
  return found;
}

/* The first alert of the visit with rule and priority, a new reference, or NULL. */
static json_t *first_alert(alarm_serve *a, uint64_t visit, const char *rule, const char *priority) {
  json_t *alerts = alarm_alerts(a, visit), *x, *found = NULL;
  size_t i;
  json_array_foreach(alerts, i, x) {
    if (!found && !strcmp(alarm_str(x, "rule"), rule) && !strcmp(alarm_str(x, "priority"), priority))
      found = json_incref(x);
  }
  json_decref(alerts);
  return found;
}

/* Alert id of the visit is in state, at escalation level at least `level`. */
static void expect_alert(alarm_serve *a, uint64_t visit, uint64_t id, const char *what, const char *state, int level) {
  json_t *x = alert_by_id(a, visit, id);
  if (!x) fail_msg("%s: no alert %llu", what, (unsigned long long)id);
  if (strcmp(alarm_str(x, "state"), state)) fail_msg("%s is %s, not %s", what, alarm_str(x, "state"), state);
  int at = (int)json_integer_value(json_object_get(x, "level"));
  if (at < level) fail_msg("%s is at level %d, not escalated to %d: %s", what, at, level, alarm_str(x, "message"));
  json_decref(x);
}

/* AN14's readings two minutes apart: the high at 186/113 is not closed by
 * 179/108; unacknowledged, it escalates after 5 minutes whatever the
 * readings; the nurse's acknowledgement closes it (its cause has cleared). */
static void a_high_cleared_unseen_stays_active_and_escalates(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_infusing(a, ALARM_KETAMINE_SCREENING);
  alarm_bp(a, id, "vitals", NULL, 185, 112);
  alarm_bp(a, id, "vitals", "2m", 179, 109);
  alarm_bp(a, id, "vitals", "2m", 186, 113);
  json_t *x = first_alert(a, id, "bp_high", "high");
  if (!x) fail_msg("186/113 four minutes after 185/112 and no high bp_high");
  uint64_t high = alarm_id(x);
  json_decref(x);

  alarm_bp(a, id, "vitals", "2m", 179, 108);
  expect_alert(a, id, high, "the high bp_high", "active", 0);
  x = alert_by_id(a, id, high);
  if (!json_object_get(x, "resolved_at")) fail_msg("the high bp_high does not say when its condition cleared");
  if (!json_is_true(json_object_get(x, "latch"))) fail_msg("the high bp_high does not say it latches");
  json_decref(x);

  /* Raised at 4 minutes, the protocol's escalation 5 minutes on: at 10 it has escalated. */
  assert_int_equal(alarm_advance_clock(a, "4m"), 200);
  expect_alert(a, id, high, "the high bp_high", "active", 1);

  assert_int_equal(alarm_ack(a, high), 200);
  expect_alert(a, id, high, "the high bp_high", "closed", 1);
}

/* AN12's severe hold: 215/125 high; 181/100 still at the hold keeps it, one
 * alert, escalating; acknowledged it stays (its cause holds); the calm
 * repeat 132/84 closes it and lifts the hold. */
static void the_severe_hold_stays_until_out_of_the_hold(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_screened(a, ALARM_KETAMINE_SCREENING_BP(215, 125));
  json_t *x = alarm_latest(a, id, "bp_hold");
  if (!x || strcmp(alarm_str(x, "priority"), "high")) fail_msg("the baseline 215/125 raised no high bp_hold");
  uint64_t severe = alarm_id(x);
  json_decref(x);

  alarm_bp(a, id, "baseline", "2m", 181, 100);
  x = alert_by_id(a, id, severe);
  if (x && !strcmp(alarm_str(x, "state"), "resolved") && json_object_get(x, "resolved_at"))
    fail_msg("bp_hold_severe is resolved by 181/100, a reading still at the hold: %s", alarm_str(x, "message"));
  json_decref(x);
  expect_alert(a, id, severe, "bp_hold_severe after 181/100", "active", 0);
  x = alert_by_id(a, id, severe);
  if (json_object_get(x, "resolved_at")) fail_msg("bp_hold_severe's condition cleared on 181/100, at the hold");
  json_decref(x);
  x = alarm_latest(a, id, "bp_hold");
  if (alarm_id(x) != severe)
    fail_msg("181/100 raised another hold alert beside the severe one: %s", alarm_str(x, "message"));
  /* Its words follow the newest reading (AP4), the severe one named. */
  if (!strstr(alarm_str(x, "message"),
              "Baseline BP 181/100 is still at or above the hold limit 180/110 after 215/125 above 200/120"))
    fail_msg("the severe hold alert says: %s", alarm_str(x, "message"));
  json_decref(x);

  assert_int_equal(alarm_advance_clock(a, "4m"), 200);
  expect_alert(a, id, severe, "bp_hold_severe, not acknowledged", "active", 1);
  assert_int_equal(alarm_ack(a, severe), 200);
  expect_alert(a, id, severe, "bp_hold_severe acknowledged at the hold", "acknowledged", 1);

  alarm_bp(a, id, "baseline", "5m", 132, 84);
  expect_alert(a, id, severe, "bp_hold_severe after 132/84", "closed", 1);
  json_t *v = alarm_visit_json(a, id);
  if (json_array_size(json_object_get(v, "blocks"))) fail_msg("a calm repeat still holds");
  json_decref(v);
}

/* The latch is the clinic's configuration: the bundled protocols latch their
 * highs only, so a medium (bp_rise, 175/100 then 140/84 on the baseline
 * 128/80) cleared unseen shows as resolved and no longer escalates. */
static void a_medium_does_not_latch(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_infusing(a, ALARM_KETAMINE_SCREENING);
  alarm_bp(a, id, "vitals", NULL, 175, 100);
  json_t *x = first_alert(a, id, "bp_rise", "medium");
  if (!x) fail_msg("175/100 raised no bp_rise");
  uint64_t rise = alarm_id(x);
  if (json_object_get(x, "latch")) fail_msg("a medium bp_rise latches");
  json_decref(x);
  alarm_bp(a, id, "vitals", "2m", 140, 84);
  expect_alert(a, id, rise, "bp_rise after 140/84", "resolved", 0);
  assert_int_equal(alarm_advance_clock(a, "10m"), 200);
  x = alert_by_id(a, id, rise);
  if (json_integer_value(json_object_get(x, "level")) != 0) fail_msg("a resolved medium escalated");
  json_decref(x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_high_cleared_unseen_stays_active_and_escalates, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(the_severe_hold_stays_until_out_of_the_hold, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_medium_does_not_latch, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
