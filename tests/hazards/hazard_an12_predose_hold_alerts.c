/* AN12 of the late try (docs/safety.md).
 *
 * A pre-dose BP at or above the hold held the dose and alerted nobody:
 * esketamine_rems's pre-dose 185/112 and 215/125 and ketamine_iv's baseline
 * alike gave `alerts: []` beside the hold; the board said only "Held". AL9's
 * BP before leaving, held the same way, alerts.
 *
 * Control (protocol data): the hold's rule (`bp_hold`) alerts beside its
 * block. ketamine_iv: medium at the hold (sbp_hold/dbp_hold, 180/110), high
 * above the severe limit (sbp_severe/dbp_severe, 200/120) as after the
 * start (lib.bp_hold_alert); esketamine_rems: medium at its hold
 * (sbp_alert/dbp_alert), asking for the prescriber. A calm repeat lifts the
 * hold and clears the alert.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock. Fails without the control: "the baseline 185/112 held and alerted
 * nobody", "the pre-dose 185/112 held and alerted nobody". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

/* The newest bp_hold alert of the visit has this priority and state, and its
 * message says want. */
static void expect_hold_alert(alarm_serve *a, uint64_t id, const char *nobody, const char *priority, const char *state,
                              const char *want) {
  json_t *x = alarm_latest(a, id, "bp_hold");
  if (!x) fail_msg("%s", nobody);
  assert_string_equal(alarm_str(x, "priority"), priority);
  if (strcmp(alarm_str(x, "state"), state)) fail_msg("bp_hold is %s, not %s", alarm_str(x, "state"), state);
  if (!strstr(alarm_str(x, "message"), want)) fail_msg("the alert says: %s", alarm_str(x, "message"));
  json_decref(x);
}

/* A repeat of the pre-dose vitals `item` at sbp/dbp, `after` (a duration) from now. */
static void repeat(alarm_serve *a, uint64_t id, const char *item, const char *after, int sbp, int dbp) {
  char body[200];
  snprintf(body, sizeof body, "{\"%s\": {\"sbp\": %d, \"dbp\": %d, \"hr\": 70, \"spo2\": 98, \"rr\": 14}}", item, sbp,
           dbp);
  assert_int_equal(alarm_advance_clock(a, after), 200);
  assert_int_equal(alarm_record(a, id, body), 200);
}

/* The advance is 409, the hold named. */
static void advance_held(alarm_serve *a, uint64_t id, const char *want) {
  char msg[4096];
  int status = alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg);
  if (status != 409) fail_msg("the advance was %d, not held: %s", status, msg);
  if (!strstr(msg, want)) fail_msg("the 409 does not say \"%s\": %s", want, msg);
}

/* ketamine_iv: 185/112 a medium alert beside the hold; 215/125 a high one;
 * a calm repeat lifts the hold and clears it. */
static void ketamine_baseline_at_the_hold_alerts(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_screened(a, ALARM_KETAMINE_SCREENING_BP(185, 112));
  expect_hold_alert(a, id, "the baseline 185/112 held and alerted nobody", "medium", "active",
                    "Baseline BP 185/112 is at or above the hold limit 180/110: the start is held; tell the clinician");
  advance_held(a, id, "Baseline BP 185/112 is at or above the hold limit 180/110");

  repeat(a, id, "baseline", "5m", 215, 125);
  expect_hold_alert(a, id, "the baseline 215/125 held and alerted nobody", "high", "active",
                    "Baseline BP 215/125 is above 200/120 before the start: tell the clinician now");

  repeat(a, id, "baseline", "10m", 132, 84);
  alarm_ack_all(a, id);
  assert_int_equal(alarm_count(a, id, "active"), 0);
  json_t *v = alarm_visit_json(a, id);
  if (json_array_size(json_object_get(v, "blocks"))) fail_msg("a calm repeat still holds");
  json_decref(v);
}

/* esketamine_rems: the try's 185/112 and 215/125 before dosing. */
static void esketamine_predose_at_the_hold_alerts(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, ALARM_ESKETAMINE_PREDOSE_BP(185, 112)), 200);
  expect_hold_alert(a, id, "the pre-dose 185/112 held and alerted nobody", "medium", "active",
                    "Pre-dose BP 185/112 is at or above 180/110: the dose is held; tell the prescriber");
  advance_held(a, id, "Pre-dose BP 185/112 is at or above 180/110");

  repeat(a, id, "predose_vitals", "5m", 215, 125);
  /* The same alert, still active (not acknowledged: announced once), the hold naming the new reading. */
  expect_hold_alert(a, id, "the pre-dose 215/125 held and alerted nobody", "medium", "active",
                    "the dose is held; tell the prescriber");
  assert_int_equal(alarm_count(a, id, "active"), 1);
  advance_held(a, id, "Pre-dose BP 215/125 is at or above 180/110");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(ketamine_baseline_at_the_hold_alerts, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(esketamine_predose_at_the_hold_alerts, alarm_setup_esketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
