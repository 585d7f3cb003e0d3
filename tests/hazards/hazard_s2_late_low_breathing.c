/* S2 of the tenth independent try (docs/safety.md).
 *
 * Low SpO2 and slow breathing entered late, after the monitoring phase was
 * left, stopped nothing: ketamine_iv's `observation.vitals` SpO2 84, RR 6
 * observed 30 s before the advance to discharge (after the last calm reading)
 * raised carried high alerts (S1); a clinician's acknowledgement with a reason
 * closed them, the discharge gate was then met and the discharge 200.
 * esketamine_rems's `monitoring.respiration` SpO2 83, RR 6 the same.
 *
 * Control: an alert a left phase's rule raised on a vitals reading (a late
 * entry or an amendment) is that reading's condition, as the phase's own are:
 * acknowledged, it stays acknowledged while the reading stands and holds the
 * discharge (H12, "its condition still holds"); a newer reading its rule is
 * quiet on resolves it, a late one in its phase or the same rule's in the
 * current phase; a clinician's override with a reason is the way past
 * (alert.left_reading: core/engine/visit.c, commands.c vigil__cmd_alert_ack,
 * alerts.c vigil__apply_outcomes).
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock
 * with copies of the bundled protocols. Fails without the control (the
 * acknowledged alert is "closed"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

#define VITALS(spo2, rr) "{\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": " #spo2 ", \"rr\": " #rr "}"
#define OBS(spo2, rr) "{\"vitals\": " VITALS(spo2, rr) ", \"moaas\": \"5\", \"dissociation\": \"none\"}"
#define RESPIRATION(spo2, rr) "{\"spo2\": " #spo2 ", \"rr\": " #rr "}"
#define LEAVING                                                                                                        \
  "{\"bp_before_leaving\": {\"sbp\": 124, \"dbp\": 78, \"hr\": 68}, \"sedation_occurred\": \"no\","                    \
  " \"dissociation_occurred\": \"no\", \"respiratory_depression_occurred\": \"no\", \"ride_present\": true,"           \
  " \"no_driving_advice\": true}"

static int discharge(alarm_serve *a, uint64_t id, char *msg, size_t len) {
  return alarm_cmd_msg(a, NULL, id, "discharge", "{\"password\": \"" SERVE_PASSWORD "\"}", msg, len);
}

/* The late low reading's two high alerts are carried; the clinician
 * acknowledges them with a reason; they stay acknowledged and the discharge
 * holds, naming them. */
static void acknowledged_they_hold_the_discharge(alarm_serve *a, uint64_t id, const char *spo2) {
  char msg[4096];
  json_t *x = alarm_latest(a, id, "spo2_low");
  assert_non_null(x);
  assert_string_equal(alarm_str(x, "priority"), "high");
  assert_true(json_is_true(json_object_get(x, "carried")));
  json_decref(x);
  alarm_expect_state(a, id, "rr_low", "active");
  alarm_ack_all(a, id);
  alarm_expect_state(a, id, "spo2_low", "acknowledged");
  alarm_expect_state(a, id, "rr_low", "acknowledged");
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  if (!strstr(msg, "acknowledged, its condition still holds: ") || !strstr(msg, spo2))
    fail_msg("the discharge's 409 does not name the alert: %s", msg);
}

/* Ketamine_iv: four calm observation checkpoints, the advance a minute after
 * the last, Aldrete 10 and the checks; SpO2 84, RR 6 observed 30 s before the
 * advance, entered two minutes after it. */
static void ketamine_late_low_breathing_holds_the_discharge(void **state) {
  alarm_serve *a = *state;
  char msg[4096], body[512];
  uint64_t id;
  long long advanced_at = alarm_ketamine_late_low(a, &id);
  acknowledged_they_hold_the_discharge(a, id, "SpO2 84%");

  /* A calm reading observed after it (20 s before the advance) is the
   * newest: the alerts resolve, acknowledged they close, the discharge goes. */
  snprintf(body, sizeof body, "{\"observed_at\": %lld, \"observation.vitals\": " VITALS(97, 14) "}",
           advanced_at - 10000);
  assert_int_equal(alarm_record(a, id, body), 200);
  alarm_expect_state(a, id, "spo2_low", "closed");
  alarm_expect_state(a, id, "rr_low", "closed");
  assert_int_equal(discharge(a, id, msg, sizeof msg), 200);
}

/* Esketamine_rems: two hours of calm monitoring (the 40-minute BP at 45),
 * the advance a minute after the last checkpoint, the leaving entries; SpO2
 * 83, RR 6 observed 30 s before the advance. Acknowledged, they hold the
 * discharge until a clinician overrides it with a reason (never stuck). */
static void esketamine_late_low_breathing_holds_the_discharge(void **state) {
  alarm_serve *a = *state;
  char msg[4096], body[512];
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE(0));
  long long advanced_at = alarm_esketamine_left_calm_monitoring(a, id, LEAVING);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  snprintf(body, sizeof body, "{\"observed_at\": %lld, \"monitoring.respiration\": " RESPIRATION(83, 6) "}",
           advanced_at - 30000);
  assert_int_equal(alarm_record(a, id, body), 200);
  acknowledged_they_hold_the_discharge(a, id, "SpO2 83%");
  /* Still so after a restart (the state is folded from the events). */
  assert_int_equal(alarm_restart(a), 0);
  alarm_expect_state(a, id, "spo2_low", "acknowledged");
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  /* The clinician's way past: an override with a reason. */
  assert_int_equal(alarm_override(a, id), 200);
  char *text = alarm_visit_text(a, id);
  assert_non_null(text);
  if (!strstr(text, "\"status\":\"discharged\"")) fail_msg("not discharged: %.300s", text);
  free(text);
}

/* Ketamine_iv: the infusion's SpO2 84, RR 6 entered late in the observation
 * (observed 30 s before it began) holds as its own; the next calm
 * observation reading, the same rules of the phase the patient is in now,
 * resolves it. */
static void ketamine_late_infusion_reading_resolved_by_the_observation(void **state) {
  alarm_serve *a = *state;
  char body[512];
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200); /* to the infusion */
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  long long observation_at = alarm_now(a);
  assert_int_equal(alarm_override(a, id), 200); /* to the observation */
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  snprintf(body, sizeof body, "{\"observed_at\": %lld, \"infusion.vitals\": " VITALS(84, 6) "}",
           observation_at - 30000);
  assert_int_equal(alarm_record(a, id, body), 200);
  json_t *x = alarm_latest(a, id, "spo2_low");
  assert_non_null(x);
  uint64_t infusion_alert = alarm_id(x);
  json_decref(x);
  char st[32];
  alarm_ack_all(a, id);
  assert_string_equal(alarm_state_of(a, id, infusion_alert, st, sizeof st), "acknowledged");
  /* Still low in the observation: it stays; then calm: it closes. */
  assert_int_equal(alarm_record(a, id, OBS(85, 6)), 200);
  assert_string_equal(alarm_state_of(a, id, infusion_alert, st, sizeof st), "acknowledged");
  alarm_ack_all(a, id);
  assert_int_equal(alarm_advance_clock(a, "14m"), 200);
  assert_int_equal(alarm_record(a, id, OBS(98, 14)), 200);
  assert_string_equal(alarm_state_of(a, id, infusion_alert, st, sizeof st), "closed");
  assert_int_equal(alarm_count(a, id, "acknowledged"), 0);
  assert_int_equal(alarm_count(a, id, "active"), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(ketamine_late_low_breathing_holds_the_discharge, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(esketamine_late_low_breathing_holds_the_discharge, alarm_setup_esketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(ketamine_late_infusion_reading_resolved_by_the_observation, alarm_setup_ketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
