/* AP1 of the late safety try (docs/safety.md).
 *
 * ketamine_iv's pre-start vitals, recorded in the Infusion (the reading AN13
 * makes the pre-dose reading of now), did not hold `infusion_started` the way
 * a baseline in screening does: with a baseline of minutes, SpO2 85, RR 7,
 * HR 35 raised three highs and no block, acknowledged, then the start 200;
 * 190/115 two mediums, the start 200 unacknowledged; 205/125 a high,
 * acknowledged, the start 200. Only a baseline grown older than 30 minutes
 * made the infusion's reading a hold (AN13's `bp_hold`).
 *
 * Control (protocol data, protocols/ketamine_iv/infusion.lua): before the
 * start, the newest reading in the infusion holds the start exactly as the
 * baseline does: at the hold (`bp_hold`, sbp_hold/dbp_hold; high above
 * sbp_severe/dbp_severe) and at the low limits (`bp_low`, `hr_low`,
 * `spo2_low`, `rr_low`: sbp_low, hr_min, spo2_min, rr_min, the params
 * screening's rules read), each a block that N7's dose hold names, whatever
 * the acknowledgement, until a reading out of the hold.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock. Fails without the control at each held case: "the start after
 * SpO2 85 acknowledged was 200" and the like; the last case pins what must
 * go (a calm reading of now, the start 200). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

#define START "{\"infusion_started\": true, \"pump_rate\": 150}"
#define CALM_NOW "{\"vitals\": {\"sbp\": 126, \"dbp\": 78, \"hr\": 70, \"spo2\": 98, \"rr\": 14}}"

/* Whether infusion_started has a value recorded. */
static int started(alarm_serve *a, uint64_t id) {
  json_t *v = alarm_visit_json(a, id);
  json_t *it = alarm_visit_item(v, "infusion", "infusion_started");
  json_t *x = it ? json_object_get(it, "value") : NULL;
  int yes = x && json_is_true(x);
  json_decref(v);
  return yes;
}

/* In the infusion with the calm baseline of minutes (ALARM_KETAMINE_SCREENING),
 * the pre-start `reading` 2 minutes on; every alert acknowledged when `ack`
 * (the try acknowledged the highs); then the start is 409 naming `want`,
 * nothing recorded, the newest alert of `rule` of priority `prio`; a calm
 * reading 5 minutes on lifts the hold and the start is 200. */
static void prestart_holds(alarm_serve *a, const char *reading, const char *rule, const char *prio, int ack,
                           const char *nobody, const char *want) {
  uint64_t id = alarm_ketamine_in_infusion(a, ALARM_KETAMINE_SCREENING);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  assert_int_equal(alarm_record(a, id, reading), 200);
  if (ack) alarm_ack_all(a, id); /* acknowledging an alert does not lift a hold */
  char msg[4096];
  int status = alarm_cmd_msg(a, NULL, id, "entries", START, msg, sizeof msg);
  if (status != 409) fail_msg("%s (%d): %s", nobody, status, msg);
  if (!strstr(msg, want)) fail_msg("the 409 does not say \"%s\": %s", want, msg);
  if (started(a, id)) fail_msg("infusion_started recorded under the hold");
  /* Its alert, as the baseline's (AN12): active, or acknowledged when `ack`. */
  json_t *x = alarm_latest(a, id, rule);
  if (!x) fail_msg("no %s alert for %s", rule, reading);
  if (strcmp(alarm_str(x, "priority"), prio) || strcmp(alarm_str(x, "state"), ack ? "acknowledged" : "active"))
    fail_msg("%s's alert is %s %s: %s", rule, alarm_str(x, "state"), alarm_str(x, "priority"), alarm_str(x, "message"));
  json_decref(x);
  /* A reading out of the hold lifts it. */
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(alarm_record(a, id, CALM_NOW), 200);
  status = alarm_cmd_msg(a, NULL, id, "entries", START, msg, sizeof msg);
  if (status != 200) fail_msg("the start after a calm reading of now was %d: %s", status, msg);
  assert_true(started(a, id));
}

static void low_spo2_holds_the_start(void **state) {
  prestart_holds(*state, "{\"vitals\": {\"sbp\": 126, \"dbp\": 78, \"hr\": 70, \"spo2\": 85, \"rr\": 14}}", "spo2_low",
                 "high", 1, "the start after SpO2 85 acknowledged was 200", "Pre-start SpO2 85% is below 92%");
}

static void slow_breathing_holds_the_start(void **state) {
  prestart_holds(*state, "{\"vitals\": {\"sbp\": 126, \"dbp\": 78, \"hr\": 70, \"spo2\": 98, \"rr\": 7}}", "rr_low",
                 "high", 1, "the start after RR 7 acknowledged was 200",
                 "Pre-start respiratory rate 7/min is below 10");
}

static void slow_heart_holds_the_start(void **state) {
  prestart_holds(*state, "{\"vitals\": {\"sbp\": 126, \"dbp\": 78, \"hr\": 35, \"spo2\": 98, \"rr\": 14}}", "hr_low",
                 "high", 1, "the start after HR 35 acknowledged was 200",
                 "Pre-start heart rate 35/min is at or below 40");
}

static void low_systolic_holds_the_start(void **state) {
  prestart_holds(*state, "{\"vitals\": {\"sbp\": 86, \"dbp\": 50, \"hr\": 70, \"spo2\": 98, \"rr\": 14}}", "bp_low",
                 "high", 1, "the start after BP 86/50 acknowledged was 200",
                 "Pre-start systolic BP 86 mmHg is at or below 90");
}

/* 190/115 unacknowledged: the try's two mediums and the start 200. */
static void bp_at_the_hold_holds_the_start(void **state) {
  prestart_holds(*state, "{\"vitals\": {\"sbp\": 190, \"dbp\": 115, \"hr\": 70, \"spo2\": 98, \"rr\": 14}}", "bp_hold",
                 "medium", 0, "the start after 190/115 was 200",
                 "Pre-start BP 190/115 is at or above the hold limit 180/110");
}

/* 205/125, its high acknowledged. */
static void bp_severe_holds_the_start(void **state) {
  prestart_holds(*state, "{\"vitals\": {\"sbp\": 205, \"dbp\": 125, \"hr\": 70, \"spo2\": 98, \"rr\": 14}}", "bp_hold",
                 "high", 1, "the start after 205/125 acknowledged was 200",
                 "Pre-start BP 205/125 is at or above the hold limit 180/110");
}

/* A normal reading of now lets the start through at once, with no alert. */
static void a_calm_reading_of_now_lets_the_start_go(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_in_infusion(a, ALARM_KETAMINE_SCREENING);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  assert_int_equal(alarm_record(a, id, CALM_NOW), 200);
  assert_int_equal(alarm_count(a, id, NULL), 0);
  char msg[4096];
  int status = alarm_cmd_msg(a, NULL, id, "entries", START, msg, sizeof msg);
  if (status != 200) fail_msg("the start after a calm reading of now was %d: %s", status, msg);
  assert_true(started(a, id));
}

/* The try's way round (09:05): the pre-start reading typed with the start
 * ticked, one Record. The entry is refused whole, naming the order; the
 * reading alone then holds the start as above. */
static void a_reading_in_the_starts_entry_is_refused(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_in_infusion(a, ALARM_KETAMINE_SCREENING);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  char msg[4096];
  int status = alarm_cmd_msg(a, NULL, id, "entries",
                             "{\"infusion_started\": true, \"pump_rate\": 150, \"vitals\": {\"sbp\": 205, \"dbp\": 125,"
                             " \"hr\": 35, \"spo2\": 85, \"rr\": 7}}",
                             msg, sizeof msg);
  if (status != 409) fail_msg("the start with a pre-start reading of SpO2 85 in its entry was %d: %s", status, msg);
  if (!strstr(msg, "are in one entry") || !strstr(msg, "record vitals first"))
    fail_msg("the 409 does not say to record the reading first: %s", msg);
  if (started(a, id)) fail_msg("infusion_started recorded with the reading");
  json_t *v = alarm_visit_json(a, id);
  json_t *it = alarm_visit_item(v, "infusion", "vitals");
  if (it && json_object_get(it, "value") && !json_is_null(json_object_get(it, "value")))
    fail_msg("the refused entry's reading was recorded");
  json_decref(v);
  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 126, \"dbp\": 78, \"hr\": 70, \"spo2\": 85, \"rr\": 14}}"), 200);
  status = alarm_cmd_msg(a, NULL, id, "entries", START, msg, sizeof msg);
  if (status != 409) fail_msg("the start after the reading on its own was %d: %s", status, msg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(low_spo2_holds_the_start, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(slow_breathing_holds_the_start, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(slow_heart_holds_the_start, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(low_systolic_holds_the_start, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(bp_at_the_hold_holds_the_start, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(bp_severe_holds_the_start, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_calm_reading_of_now_lets_the_start_go, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_reading_in_the_starts_entry_is_refused, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
