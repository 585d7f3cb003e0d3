/* T1 of the eleventh independent try (docs/safety.md).
 *
 * A MOAA/S 0 ("no response to a painful stimulus") entered late, after its
 * phase was left, was closed by a clinician's acknowledgement and the patient
 * discharged: ketamine_iv's `observation.moaas` "0" observed 30 s before the
 * advance to discharge raised a high carried sedation_deep; acknowledged with
 * a reason it closed, and the discharge was 200. esketamine_rems's
 * `monitoring.moaas` the same. S2's control covered late vitals only.
 *
 * Control: an alert any rule of a left phase raises on its reading (a rule
 * that does not carry: not H4's, whatever the item) is that reading's
 * condition, as S2 made a vitals reading's (alert.left_reading,
 * core/engine/visit.c): acknowledged it stays acknowledged while the reading
 * stands and holds the discharge; a newer reading its rule is quiet on
 * resolves it; a clinician's override with a reason is the way past.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock
 * with copies of the bundled protocols. Fails without the control (the
 * acknowledged alert is "closed", the discharge 200). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

#define LEAVING                                                                                                        \
  "{\"bp_before_leaving\": {\"sbp\": 124, \"dbp\": 78, \"hr\": 68}, \"sedation_occurred\": \"yes\","                   \
  " \"dissociation_occurred\": \"no\", \"respiratory_depression_occurred\": \"no\", \"ride_present\": true,"           \
  " \"no_driving_advice\": true}"

static int discharge(alarm_serve *a, uint64_t id, char *msg, size_t len) {
  return alarm_cmd_msg(a, NULL, id, "discharge", "{\"password\": \"" SERVE_PASSWORD "\"}", msg, len);
}

/* The late MOAA/S 0's high alert is carried; a nurse may not acknowledge
 * it; the clinician does, with a reason; it stays acknowledged and the
 * discharge holds, naming it. */
static void acknowledged_it_holds_the_discharge(alarm_serve *a, uint64_t id) {
  char msg[4096], path[64];
  json_t *x = alarm_latest(a, id, "sedation_deep");
  assert_non_null(x);
  assert_string_equal(alarm_str(x, "priority"), "high");
  assert_true(json_is_true(json_object_get(x, "carried")));
  snprintf(path, sizeof path, "/api/v1/alerts/%llu/ack", (unsigned long long)alarm_id(x));
  json_decref(x);
  assert_int_equal(alarm_call(a, NULL, "POST", path, "{\"reason\": \"seen\"}", NULL), 403);
  alarm_ack_all(a, id);
  alarm_expect_state(a, id, "sedation_deep", "acknowledged");
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  if (!strstr(msg, "acknowledged, its condition still holds: ") || !strstr(msg, "MOAA/S 0"))
    fail_msg("the discharge's 409 does not name the alert: %s", msg);
}

/* Ketamine_iv: four calm observation checkpoints, the advance a minute after
 * the last, Aldrete 10 and the checks; MOAA/S 0 observed 30 s before the
 * advance, entered two minutes after it. A MOAA/S 5 observed after it (a
 * newer reading of its item) resolves it and the discharge goes. */
static void ketamine_late_moaas_zero_holds_the_discharge(void **state) {
  alarm_serve *a = *state;
  char msg[4096], body[512];
  uint64_t id;
  long long advanced_at = alarm_ketamine_left_calm_observation(a, &id);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  snprintf(body, sizeof body, "{\"observed_at\": %lld, \"observation.moaas\": \"0\"}", advanced_at - 30000);
  assert_int_equal(alarm_record(a, id, body), 200);
  acknowledged_it_holds_the_discharge(a, id);

  snprintf(body, sizeof body, "{\"observed_at\": %lld, \"observation.moaas\": \"5\"}", advanced_at - 10000);
  assert_int_equal(alarm_record(a, id, body), 200);
  alarm_expect_state(a, id, "sedation_deep", "closed");
  assert_int_equal(discharge(a, id, msg, sizeof msg), 200);
}

/* Esketamine_rems: two hours of calm monitoring, the advance, the leaving
 * entries (sedation occurred); MOAA/S 0 observed 30 s before the advance.
 * Acknowledged it holds the discharge, after a restart too, until a
 * clinician overrides with a reason. */
static void esketamine_late_moaas_zero_holds_the_discharge(void **state) {
  alarm_serve *a = *state;
  char msg[4096], body[512];
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE(0));
  long long advanced_at = alarm_esketamine_left_calm_monitoring(a, id, LEAVING);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  snprintf(body, sizeof body, "{\"observed_at\": %lld, \"monitoring.moaas\": \"0\"}", advanced_at - 30000);
  assert_int_equal(alarm_record(a, id, body), 200);
  acknowledged_it_holds_the_discharge(a, id);
  assert_int_equal(alarm_restart(a), 0);
  alarm_expect_state(a, id, "sedation_deep", "acknowledged");
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  assert_int_equal(alarm_override(a, id), 200);
  char *text = alarm_visit_text(a, id);
  assert_non_null(text);
  if (!strstr(text, "\"status\":\"discharged\"")) fail_msg("not discharged: %.300s", text);
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(ketamine_late_moaas_zero_holds_the_discharge, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(esketamine_late_moaas_zero_holds_the_discharge, alarm_setup_esketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
