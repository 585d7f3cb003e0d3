/* K4 (docs/safety.md, found by the third independent try, its #4): late
 * entries at phase boundaries. (a) In discharge, a reading of the observation
 * (observation.vitals, SpO2 80 %, RR 6) observed during the observation was
 * refused 409 "belongs to phase observation", with or without observed_at:
 * only an amendment over the last real reading got it in. (b) Just after
 * entering the observation, a reading observed before it started was taken as
 * an observation reading and met the observation's gate.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock
 * with a copy of the bundled ketamine_iv: (b) observation vitals observed
 * before the observation started are 422, naming the phase they belong to;
 * (a) in discharge, observation.vitals observed during the observation are a
 * late entry of it (200), judged by its rules: active high alerts that say
 * when they were observed; without observed_at, or with one in discharge,
 * 409 saying how. Fails without the control (commands.c,
 * vigil__cmd_visit_record_at: a past phase's reading refused, a reading before
 * the phase taken). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

#define VITALS(spo2, rr) "{\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": " #spo2 ", \"rr\": " #rr "}"

static const char *message(json_t *r) {
  return json_string_value(json_object_get(json_object_get(r, "error"), "message"));
}

static void late_entries_at_phase_boundaries(void **state) {
  (void)state;
  alarm_serve a;
  const char *protocols[] = {"@ketamine_iv"};
  assert_int_equal(alarm_start(&a, protocols, 1), 0);
  uint64_t id = alarm_visit(&a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(&a, id), 200); /* to the infusion */
  assert_int_equal(alarm_advance_clock(&a, "2m"), 200);
  assert_int_equal(alarm_override(&a, id), 200); /* to the observation */
  long long observation_at = alarm_now(&a);
  assert_int_equal(alarm_advance_clock(&a, "1m"), 200);

  /* (b) Observed 30 s before the observation started: not the observation's. */
  char path[128], body[512];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/entries", (unsigned long long)id);
  snprintf(body, sizeof body, "{\"observed_at\": %lld, \"vitals\": " VITALS(97, 14) "}", observation_at - 30000);
  json_t *r = NULL;
  assert_int_equal(alarm_call(&a, NULL, "POST", path, body, &r), 422);
  assert_non_null(strstr(message(r), "before phase observation started"));
  assert_non_null(strstr(message(r), "infusion.vitals"));
  json_decref(r);

  assert_int_equal(alarm_advance_clock(&a, "4m"), 200);
  assert_int_equal(alarm_override(&a, id), 200); /* to the discharge */
  assert_int_equal(alarm_advance_clock(&a, "1m"), 200);

  /* (a) Without observed_at, or observed in the discharge: 409 saying how. */
  assert_int_equal(alarm_call(&a, NULL, "POST", path, "{\"observation.vitals\": " VITALS(80, 6) "}", &r), 409);
  assert_non_null(strstr(message(r), "is recorded late with the time it was observed (observed_at)"));
  json_decref(r);
  snprintf(body, sizeof body, "{\"observed_at\": %lld, \"observation.vitals\": " VITALS(80, 6) "}",
           alarm_now(&a) - 30000);
  assert_int_equal(alarm_call(&a, NULL, "POST", path, body, &r), 409);
  assert_non_null(strstr(message(r), "outside that phase"));
  json_decref(r);
  assert_int_equal(alarm_count(&a, id, "active"), 0);

  /* Observed 2 minutes ago, in the observation: a late entry of it, judged. */
  snprintf(body, sizeof body, "{\"observed_at\": %lld, \"observation.vitals\": " VITALS(80, 6) "}",
           alarm_now(&a) - 120000);
  assert_int_equal(alarm_call(&a, NULL, "POST", path, body, &r), 200);
  json_decref(r);
  json_t *x = alarm_latest(&a, id, "spo2_low");
  assert_non_null(x);
  assert_string_equal(alarm_str(x, "state"), "active");
  assert_string_equal(alarm_str(x, "priority"), "high");
  assert_non_null(strstr(alarm_str(x, "message"), "SpO2 80%"));
  assert_non_null(strstr(alarm_str(x, "message"), "entered late at "));
  json_decref(x);
  /* The discharge holds on it (H12). */
  snprintf(path, sizeof path, "/api/v1/visits/%llu/advance", (unsigned long long)id);
  assert_int_equal(alarm_call(&a, NULL, "POST", path, "{}", &r), 409);
  json_decref(r);
  serve_cleanup(&a.s);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(late_entries_at_phase_boundaries)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
