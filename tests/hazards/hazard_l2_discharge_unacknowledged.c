/* L2 (docs/safety.md H12/F3, the tester's finding): a nurse discharged a
 * patient with an active, unacknowledged medium alert (heart rate above 120
 * for 5 minutes: "tell the clinician"), and the discharge resolved it
 * silently; only high alerts held the gate.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock,
 * with a copy of the bundled ketamine_iv: at the discharge, an alert of any
 * priority that nobody acknowledged holds it (409 gate_not_met naming the
 * alert), the same visit with calm vitals discharges; acknowledged, the
 * discharge goes through. Fails without the control (core/engine/gate.c: the
 * active alerts of the visit as reasons when leaving the last phase). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

#define OBS(hr)                                                                                                        \
  "{\"vitals\": {\"sbp\": 128, \"dbp\": 80, \"hr\": " #hr ", \"spo2\": 98, \"rr\": 14},"                               \
  " \"moaas\": \"5\", \"dissociation\": \"none\"}"

#define DISCHARGE                                                                                                      \
  "{\"aldrete\": {\"activity\": 2, \"respiration\": 2, \"circulation\": 2, \"consciousness\": 2, \"spo2\": 2},"        \
  " \"responsible_adult\": true, \"no_driving_advice\": true, \"written_instructions\": true}"

/* POST /visits/{id}/discharge as the nurse: the status, the error's message and reasons. */
static int discharge(alarm_serve *a, uint64_t visit, char *msg, size_t len) {
  char path[128];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/discharge", (unsigned long long)visit);
  json_t *r = NULL;
  int status = alarm_call(a, NULL, "POST", path, "{\"password\": \"" SERVE_PASSWORD "\"}", &r);
  const char *m = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
  snprintf(msg, len, "%s", m ? m : "");
  json_decref(r);
  return status;
}

/* A visit through the observation (screening and infusion overridden by the
 * clinician), its vitals every 15 minutes for an hour, the last two with heart
 * rate `hr`, then overridden into the discharge and assessed fit. */
static uint64_t ready_to_leave(alarm_serve *a, const char *last) {
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200);
  assert_int_equal(alarm_override(a, id), 200);
  for (int k = 1; k <= 4; k++) {
    assert_int_equal(alarm_advance_clock(a, "15m"), 200);
    assert_int_equal(alarm_record(a, id, k < 3 ? OBS(72) : last), 200);
  }
  assert_int_equal(alarm_override(a, id), 200);
  assert_int_equal(alarm_record(a, id, DISCHARGE), 200);
  return id;
}

static void an_unacknowledged_medium_alert_holds_the_discharge(void **state) {
  alarm_serve *a = *state;
  char msg[4096];

  /* Calm vitals: the discharge goes (the control holds nothing else). */
  uint64_t calm = ready_to_leave(a, OBS(72));
  assert_int_equal(discharge(a, calm, msg, sizeof msg), 200);

  /* Heart rate 130 for 15 minutes: a medium alert, unacknowledged. */
  uint64_t id = ready_to_leave(a, OBS(130));
  json_t *hr = alarm_latest(a, id, "hr_high");
  assert_non_null(hr);
  assert_string_equal(alarm_str(hr, "priority"), "medium");
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  char want[64];
  snprintf(want, sizeof want, "medium alert %llu not acknowledged", (unsigned long long)alarm_id(hr));
  assert_non_null(strstr(msg, want));
  assert_non_null(strstr(msg, "Heart rate above"));

  /* Someone has seen it: the alert no longer holds; the heart rate of 130 as
   * the last vitals still does (U3), until a calm repeat reading. */
  assert_int_equal(alarm_ack(a, alarm_id(hr)), 200);
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  assert_null(strstr(msg, want));
  assert_non_null(strstr(msg, "last vitals heart rate 130 above 120"));
  assert_int_equal(alarm_record(a, id,
                                "{\"vitals\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 88, \"spo2\": 98, "
                                "\"rr\": 14}}"),
                   200);
  assert_int_equal(discharge(a, id, msg, sizeof msg), 200);
  json_decref(hr);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(an_unacknowledged_medium_alert_holds_the_discharge, alarm_setup_ketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
