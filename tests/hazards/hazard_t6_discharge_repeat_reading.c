/* T6 of the eleventh independent try (docs/safety.md).
 *
 * In ketamine_iv's discharge a current repeat reading could not be recorded,
 * so lifting S2's hold meant back-dating: after a late low
 * `observation.vitals` (SpO2 84, RR 6) a clinician acknowledged, the nurse's
 * `vitals` now was 422 (no such item in the discharge) and
 * `observation.vitals` without `observed_at` 409 (outside the phase's
 * times); the only way was a calm `observation.vitals` with a false observed
 * time.
 *
 * Control (protocol data, ketamine_iv 1.7.3): the discharge phase has a
 * repeat reading of its own, `discharge.vitals` (not scheduled, not
 * required), with the observation's limit rules of the same names; a
 * current calm reading resolves the left phase's `left_reading` alerts as
 * the observation's rules resolve the infusion's (S2, core/engine/alerts.c
 * `since`), and the discharge's checks read it as the last vitals. A current
 * low one raises its own alert and the hold stays.
 *
 * esketamine_rems the same (1.7.4): after S2's late low
 * `monitoring.respiration` or T1's late `monitoring.moaas` "0" the discharge
 * had no breathing or MOAA/S item; it has `respiration` and `moaas` now (not
 * scheduled, not required) with monitoring.lua's `spo2_low`, `rr_low` and
 * `sedation_deep`, and the REMS form's answers are checked against them too
 * (a low reading at leaving is respiratory depression of the session).
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock
 * with copies of the bundled protocols. Fails without the control (the
 * discharge's `vitals`, `respiration`, `moaas` are 422). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

#define VITALS(spo2, rr) "{\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": " #spo2 ", \"rr\": " #rr "}"

static int discharge(alarm_serve *a, uint64_t id, char *msg, size_t len) {
  return alarm_cmd_msg(a, NULL, id, "discharge", "{\"password\": \"" SERVE_PASSWORD "\"}", msg, len);
}

/* Every alert of the visit not closed acknowledged (a current reading's,
 * cleared since and latched: L2). */
static void ack_open(alarm_serve *a, uint64_t id) {
  json_t *alerts = alarm_alerts(a, id), *x;
  size_t i;
  json_array_foreach(alerts, i, x) {
    if (strcmp(alarm_str(x, "state"), "closed")) assert_int_equal(alarm_ack(a, alarm_id(x)), 200);
  }
  json_decref(alerts);
}

/* S2's case: four calm observation checkpoints, the advance, Aldrete 10 and
 * the checks; SpO2 84, RR 6 observed 30 s before the advance, entered two
 * minutes after it; the clinician acknowledges both alerts with a reason and
 * they hold the discharge. The visit's id. */
static uint64_t late_low_acknowledged(alarm_serve *a) {
  char msg[4096];
  uint64_t id;
  alarm_ketamine_late_low(a, &id);
  alarm_ack_all(a, id);
  alarm_expect_state(a, id, "spo2_low", "acknowledged");
  alarm_expect_state(a, id, "rr_low", "acknowledged");
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  if (!strstr(msg, "acknowledged, its condition still holds: ")) fail_msg("the discharge is not held: %s", msg);
  return id;
}

/* A calm repeat reading taken now, in the discharge, by the nurse: the late
 * low's alerts resolve (acknowledged, they close) and the discharge goes. */
static void a_current_calm_reading_lifts_the_late_low(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = late_low_acknowledged(a);
  assert_int_equal(alarm_advance_clock(a, "3m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"vitals\": " VITALS(97, 14) "}"), 200);
  alarm_expect_state(a, id, "spo2_low", "closed");
  alarm_expect_state(a, id, "rr_low", "closed");
  assert_int_equal(alarm_count(a, id, "active") + alarm_count(a, id, "acknowledged"), 0);
  assert_int_equal(discharge(a, id, msg, sizeof msg), 200);
}

/* A low repeat reading now: its own high alerts are raised, the late low's
 * stay acknowledged, the discharge is held; a calm one after it ends both. */
static void a_current_low_reading_still_holds(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = late_low_acknowledged(a);
  json_t *late = alarm_latest(a, id, "spo2_low");
  uint64_t late_alert = alarm_id(late);
  json_decref(late);
  assert_int_equal(alarm_advance_clock(a, "3m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"vitals\": " VITALS(86, 7) "}"), 200);
  json_t *now = alarm_latest(a, id, "spo2_low");
  assert_non_null(now);
  if (alarm_id(now) == late_alert) fail_msg("the current low reading raised no alert of its own");
  assert_string_equal(alarm_str(now, "state"), "active");
  assert_string_equal(alarm_str(now, "priority"), "high");
  json_decref(now);
  assert_int_equal(alarm_count(a, id, "acknowledged"), 2); /* the late low's, still standing */
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  assert_int_equal(alarm_restart(a), 0);
  assert_int_equal(alarm_count(a, id, "acknowledged"), 2);
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);

  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"vitals\": " VITALS(97, 14) "}"), 200);
  char st[32];
  assert_string_equal(alarm_state_of(a, id, late_alert, st, sizeof st), "closed");
  /* The current low's own alerts cleared; latched, they wait for an
   * acknowledgement (L2), as in any phase. */
  assert_int_equal(alarm_count(a, id, "acknowledged"), 0);
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  if (!strstr(msg, "not acknowledged (cleared since): SpO2 86%")) fail_msg("the discharge's 409: %s", msg);
  ack_open(a, id);
  if (discharge(a, id, msg, sizeof msg) != 200) fail_msg("held: %s", msg);
}

/* The discharge's own checks read the repeat reading as the last vitals: a
 * systolic of 88 now holds it (Q4's limit) whatever the observation said. */
static void the_discharge_checks_read_the_repeat_reading(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id;
  alarm_ketamine_left_calm_observation(a, &id);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 88, \"dbp\": 60, \"hr\": 72, \"spo2\": 97, \"rr\": 14}}"), 200);
  alarm_ack_all(a, id);
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  if (!strstr(msg, "last vitals systolic 88 at or below 90")) fail_msg("the discharge's 409: %s", msg);
}

/* esketamine_rems: the monitoring's entries at leaving, every form answer
 * "no", as S2's esketamine case. */
#define LEAVING                                                                                                        \
  "{\"bp_before_leaving\": {\"sbp\": 124, \"dbp\": 78, \"hr\": 68}, \"sedation_occurred\": \"no\","                    \
  " \"dissociation_occurred\": \"no\", \"respiratory_depression_occurred\": \"no\", \"ride_present\": true,"           \
  " \"no_driving_advice\": true}"

/* Leaving is held by the REMS form alone: its "no" (what, as the form's
 * block says it) contradicted by the record (shows), so the prescriber's
 * confirmation is asked for. */
static void held_by_the_form(alarm_serve *a, uint64_t id, const char *what, const char *shows) {
  char msg[4096], want[256];
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  if (strcmp(msg, "Ready to leave: the gate is not met: Form answers confirmed against the monitoring record by the "
                  "prescriber not recorded"))
    fail_msg("leaving's 409: %s", msg);
  snprintf(want, sizeof want, "%s answered no, the record shows %s", what, shows);
  char *text = alarm_visit_text(a, id);
  assert_non_null(text);
  if (!strstr(text, want)) fail_msg("no block saying \"%s\": %.2000s", want, text);
  free(text);
}

/* Leaving is held by the REMS form and by `reason`. */
static void held_by_the_form_and(alarm_serve *a, uint64_t id, const char *reason) {
  char msg[4096], want[512];
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  snprintf(want, sizeof want,
           "Ready to leave: the gate is not met: Form answers confirmed against the monitoring record by the "
           "prescriber not recorded; %s",
           reason);
  if (strcmp(msg, want)) fail_msg("leaving's 409: %s", msg);
}

/* esketamine_rems visit left calm monitoring (alarm_esketamine_left_calm_monitoring),
 * then, two minutes after the advance, the late entry `late` (a JSON member:
 * "monitoring.respiration": ...) as observed 30 s before it; the clinician
 * acknowledges its alerts with a reason and they hold leaving. The visit's id. */
static uint64_t esketamine_late_acknowledged(alarm_serve *a, const char *late, const char *rule) {
  char msg[4096], body[512];
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE(0));
  long long advanced_at = alarm_esketamine_left_calm_monitoring(a, id, LEAVING);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  snprintf(body, sizeof body, "{\"observed_at\": %lld, %s}", advanced_at - 30000, late);
  assert_int_equal(alarm_record(a, id, body), 200);
  alarm_ack_all(a, id);
  alarm_expect_state(a, id, rule, "acknowledged");
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  if (!strstr(msg, "acknowledged, its condition still holds: ")) fail_msg("leaving is not held: %s", msg);
  return id;
}

/* S2's late SpO2 83, RR 6: a calm breathing reading taken now, in the
 * discharge, closes both acknowledged alerts; what holds leaving then is the
 * REMS form's "no respiratory depression", which the late reading
 * contradicts, until the answer is corrected. */
static void esketamine_current_calm_breathing_lifts_the_late_low(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = esketamine_late_acknowledged(a, "\"monitoring.respiration\": {\"spo2\": 83, \"rr\": 6}", "spo2_low");
  alarm_expect_state(a, id, "rr_low", "acknowledged");
  assert_int_equal(alarm_advance_clock(a, "3m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"respiration\": {\"spo2\": 97, \"rr\": 14}}"), 200);
  alarm_expect_state(a, id, "spo2_low", "closed");
  alarm_expect_state(a, id, "rr_low", "closed");
  assert_int_equal(alarm_count(a, id, "active") + alarm_count(a, id, "acknowledged"), 0);
  held_by_the_form(a, id, "respiratory depression", "SpO2 83%, RR 6/min");
  /* The form's answer is corrected by an amendment with a reason (U11). */
  assert_int_equal(alarm_cmd(a, NULL, id, "amend",
                             "{\"item\": \"respiratory_depression_occurred\", \"value\": \"yes\", "
                             "\"reason\": \"the late reading was low\"}"),
                   200);
  if (discharge(a, id, msg, sizeof msg) != 200) fail_msg("held: %s", msg);
}

/* T1's late MOAA/S 0: a MOAA/S taken now, 5, closes the acknowledged
 * sedation alert; a current 0 raises its own and the late one stays.
 * The current 0 is sedation at leaving: on the form too. */
static void esketamine_current_moaas_lifts_the_late_zero(void **state) {
  alarm_serve *a = *state;
  char msg[4096], st[32];
  uint64_t id = esketamine_late_acknowledged(a, "\"monitoring.moaas\": \"0\"", "sedation_deep");
  json_t *late = alarm_latest(a, id, "sedation_deep");
  uint64_t late_alert = alarm_id(late);
  json_decref(late);
  assert_int_equal(alarm_advance_clock(a, "3m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"moaas\": \"0\"}"), 200);
  json_t *now = alarm_latest(a, id, "sedation_deep");
  assert_non_null(now);
  if (alarm_id(now) == late_alert) fail_msg("the current MOAA/S 0 raised no alert of its own");
  assert_string_equal(alarm_str(now, "priority"), "high");
  json_decref(now);
  assert_string_equal(alarm_state_of(a, id, late_alert, st, sizeof st), "acknowledged");
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"moaas\": \"5\"}"), 200);
  assert_string_equal(alarm_state_of(a, id, late_alert, st, sizeof st), "closed");
  assert_int_equal(alarm_count(a, id, "acknowledged"), 0);
  /* The current 0's own alert, cleared, waits for an acknowledgement (L2);
   * then the form's "no sedation", which the late 0 contradicts. */
  ack_open(a, id);
  held_by_the_form(a, id, "sedation", "MOAA/S as low as 0");
  assert_int_equal(alarm_cmd(a, NULL, id, "amend",
                             "{\"item\": \"sedation_occurred\", \"value\": \"yes\", "
                             "\"reason\": \"the late MOAA/S was 0\"}"),
                   200);
  if (discharge(a, id, msg, sizeof msg) != 200) fail_msg("held: %s", msg);
}

/* The REMS form's answers read the discharge's readings too: breathing low at
 * leaving (SpO2 86, RR 7) is respiratory depression of the session, so the
 * form's "no" holds leaving once the alerts are answered; a MOAA/S below
 * moaas_recovered taken at leaving holds it too. */
static void esketamine_low_breathing_at_leaving_is_on_the_form(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE(0));
  alarm_esketamine_left_calm_monitoring(a, id, LEAVING);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"respiration\": {\"spo2\": 86, \"rr\": 7}}"), 200);
  alarm_expect_state(a, id, "spo2_low", "active");
  alarm_expect_state(a, id, "rr_low", "active");
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"respiration\": {\"spo2\": 97, \"rr\": 14}}"), 200);
  ack_open(a, id);
  held_by_the_form(a, id, "respiratory depression", "SpO2 86%, RR 7/min");
  /* A MOAA/S of 4 taken now: sedation has not resolved (moaas_recovered 5),
   * which raises no alert: leaving holds on it, and the form's "no sedation"
   * is contradicted too. */
  assert_int_equal(alarm_cmd(a, NULL, id, "amend",
                             "{\"item\": \"respiratory_depression_occurred\", \"value\": \"yes\", "
                             "\"reason\": \"low at leaving\"}"),
                   200);
  assert_int_equal(alarm_record(a, id, "{\"moaas\": \"4\"}"), 200);
  held_by_the_form_and(a, id, "sedation not resolved at leaving (MOAA/S 4, needs 5)");
  assert_int_equal(
      alarm_cmd(a, NULL, id, "amend",
                "{\"item\": \"sedation_occurred\", \"value\": \"yes\", \"reason\": \"MOAA/S 4 at leaving\"}"),
      200);
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  if (strcmp(msg, "Ready to leave: the gate is not met: sedation not resolved at leaving (MOAA/S 4, needs 5)"))
    fail_msg("leaving's 409: %s", msg);
  assert_int_equal(alarm_record(a, id, "{\"moaas\": \"5\"}"), 200);
  if (discharge(a, id, msg, sizeof msg) != 200) fail_msg("held: %s", msg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_current_calm_reading_lifts_the_late_low, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_current_low_reading_still_holds, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(the_discharge_checks_read_the_repeat_reading, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(esketamine_current_calm_breathing_lifts_the_late_low, alarm_setup_esketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(esketamine_current_moaas_lifts_the_late_zero, alarm_setup_esketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(esketamine_low_breathing_at_leaving_is_on_the_form, alarm_setup_esketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
