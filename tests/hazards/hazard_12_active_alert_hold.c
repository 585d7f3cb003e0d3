/* H12 (docs/safety.md, finding F3): a visit moves on past an active high
 * alert. The independent try advanced and discharged a patient whose last
 * reading was SpO2 80 % and RR 5 (two active high alerts), and the nurse's
 * Aldrete (SpO2 2, respiration 2) contradicting those vitals was accepted.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock,
 * with a copy of the bundled protocols/ketamine_iv: at the end of the
 * observation, SpO2 80 % and RR 5 hold the phase (409 naming both alerts),
 * unacknowledged and acknowledged alike; a nurse cannot override, a clinician
 * overrides with a reason and the override records the alerts it passed. In
 * discharge, an Aldrete whose SpO2 and respiration points the last vitals
 * contradict raises a high alert that holds the discharge until amended.
 * Fails without the control (gate.c: the open high alerts as gate reasons;
 * discharge.lua: the rule aldrete_restates). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

#define OBS(spo2, rr)                                                                                                  \
  "{\"vitals\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": " #spo2 ", \"rr\": " #rr "},"                        \
  " \"moaas\": \"5\", \"dissociation\": \"none\"}"

/* The reasons of the visit's last gate.overridden event, joined. */
static void override_reasons(alarm_serve *a, uint64_t visit, char *out, size_t len) {
  char path[128];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/events?limit=1000", (unsigned long long)visit);
  json_t *r, *ev, *x;
  size_t i, j;
  out[0] = '\0';
  if (alarm_call(a, NULL, "GET", path, NULL, &r) != 200) return;
  json_array_foreach(json_object_get(r, "events"), i, ev) {
    if (strcmp(alarm_str(ev, "type"), "gate.overridden")) continue;
    out[0] = '\0';
    json_array_foreach(json_object_get(json_object_get(ev, "data"), "reasons"), j, x) {
      strncat(out, json_string_value(x), len - strlen(out) - 1);
      strncat(out, "; ", len - strlen(out) - 1);
    }
  }
  json_decref(r);
}

/* A visit in observation (screening and infusion overridden by the clinician),
 * its vitals recorded at each 15-minute checkpoint up to 60 minutes, the last
 * one with spo2 and rr: the observation's own gate is met then. */
static uint64_t observed_for_an_hour(alarm_serve *a, const char *last) {
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200);
  assert_int_equal(alarm_override(a, id), 200);
  for (int k = 1; k <= 4; k++) {
    assert_int_equal(alarm_advance_clock(a, "15m"), 200);
    assert_int_equal(alarm_record(a, id, k < 4 ? OBS(98, 14) : last), 200);
  }
  return id;
}

static void active_high_alerts_hold_the_phase(void **state) {
  alarm_serve *a = *state;
  char msg[4096];

  /* The same hour with normal vitals: the observation is left (the control
   * holds nothing else). */
  uint64_t calm = observed_for_an_hour(a, OBS(98, 14));
  assert_int_equal(alarm_cmd_msg(a, NULL, calm, "advance", "{}", msg, sizeof msg), 200);

  /* SpO2 80 %, RR 5: two high alerts, and the phase holds, naming both. */
  uint64_t id = observed_for_an_hour(a, OBS(80, 5));
  json_t *spo2 = alarm_latest(a, id, "spo2_low"), *rr = alarm_latest(a, id, "rr_low");
  assert_non_null(spo2);
  assert_non_null(rr);
  assert_string_equal(alarm_str(spo2, "priority"), "high");
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  assert_non_null(strstr(msg, "not acknowledged: SpO2 80%"));
  assert_non_null(strstr(msg, "not acknowledged: Respiratory rate 5/min"));

  /* Acknowledged, their condition still holds: still refused. */
  assert_int_equal(alarm_ack(a, alarm_id(spo2)), 200);
  assert_int_equal(alarm_ack(a, alarm_id(rr)), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  assert_non_null(strstr(msg, "acknowledged, its condition still holds: SpO2 80%"));
  assert_non_null(strstr(msg, "acknowledged, its condition still holds: Respiratory rate 5/min"));
  json_decref(spo2);
  json_decref(rr);

  /* A nurse cannot override; a clinician can, with a reason, and the
   * override's record names the alerts it passed. */
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "override", "{\"reason\": \"looks fine\"}", msg, sizeof msg), 403);
  assert_int_equal(alarm_override(a, id), 200);
  override_reasons(a, id, msg, sizeof msg);
  assert_non_null(strstr(msg, "SpO2 80%"));
  assert_non_null(strstr(msg, "Respiratory rate 5/min"));
}

#define DISCHARGE(spo2_points, resp_points)                                                                            \
  "{\"aldrete\": {\"activity\": 2, \"respiration\": " #resp_points ", \"circulation\": 2, \"consciousness\": 2,"       \
  " \"spo2\": " #spo2_points "}, \"responsible_adult\": true, \"no_driving_advice\": true,"                            \
  " \"written_instructions\": true}"

static void an_aldrete_that_contradicts_the_vitals_holds_the_discharge(void **state) {
  alarm_serve *a = *state;
  char msg[4096];

  /* Last vitals SpO2 80 %, RR 5, overridden into discharge by the clinician. */
  uint64_t id = observed_for_an_hour(a, OBS(80, 5));
  assert_int_equal(alarm_override(a, id), 200);

  /* Aldrete 10 (SpO2 2, respiration 2): contradicted by the chart. */
  assert_int_equal(alarm_record(a, id, DISCHARGE(2, 2)), 200);
  json_t *x = alarm_latest(a, id, "aldrete_restates");
  assert_non_null(x);
  assert_string_equal(alarm_str(x, "priority"), "high");
  assert_non_null(strstr(alarm_str(x, "message"), "spo2 2 points, but the last SpO2 80% allows at most 0"));
  assert_non_null(strstr(alarm_str(x, "message"), "respiration 2 points, but the last respiratory rate 5/min"));
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "discharge", "{\"password\": \"" SERVE_PASSWORD "\"}", msg, sizeof msg),
                   409);
  assert_non_null(strstr(msg, "Modified Aldrete contradicts the last vitals"));
  json_decref(x);

  /* Amended to what the vitals allow, the contradiction is gone (the score,
   * 7, is then below 9: the discharge gate's own reason). */
  assert_int_equal(alarm_cmd(a, NULL, id, "amend",
                             "{\"item\": \"aldrete\", \"value\": {\"activity\": 2, \"respiration\": 1,"
                             " \"circulation\": 2, \"consciousness\": 2, \"spo2\": 0}, \"reason\": \"scored again\"}"),
                   200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "discharge", "{\"password\": \"" SERVE_PASSWORD "\"}", msg, sizeof msg),
                   409);
  assert_null(strstr(msg, "contradicts"));
  assert_non_null(strstr(msg, "modified Aldrete 7, needs 9"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(active_high_alerts_hold_the_phase, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(an_aldrete_that_contradicts_the_vitals_holds_the_discharge, alarm_setup_ketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
