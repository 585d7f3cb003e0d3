/* P7 of the independent tries (docs/safety.md): the infusion's 40-minute
 * minimum ran from entering the phase, not from the infusion's start. Vitals
 * at 10 to 40 minutes with no infusion running, `infusion_started` at 40,
 * stopped a minute later, and the gate passed: a 1-minute infusion with no
 * observation of its effects. Control (ketamine_iv 1.6.1, protocol data): the
 * infusion phase says `timed_from = "infusion_started"`, so its minimum time
 * and its checkpoints count from the check's recording (vigil__phase_clock,
 * core/engine/visit.c); before it, the gate says the minimum has not started.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock
 * with a copy of the bundled ketamine_iv. Fails without the control (the
 * advance after the 1-minute infusion is 200). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"
#include "hazard_restart.h"

#define SCREENING                                                                                                      \
  "{\"consent\": true, \"ci_hypertension\": \"no\", \"ci_vascular\": \"no\", \"ci_psychosis\": \"no\","                \
  " \"ci_hypersensitivity\": \"no\", \"pregnancy\": \"not applicable\", \"substance_use\": \"no\","                    \
  " \"ride_confirmed\": true, \"baseline\": {\"sbp\": 124, \"dbp\": 78, \"hr\": 72, \"spo2\": 98, \"rr\": 14},"        \
  " \"dose\": 35, \"phq9\": {\"q1\": 0, \"q2\": 0, \"q3\": 0, \"q4\": 0, \"q5\": 0, \"q6\": 0, \"q7\": 0, \"q8\": 0,"  \
  " \"q9\": 0}}"

#define CHECKPOINT                                                                                                     \
  "{\"vitals\": {\"sbp\": 126, \"dbp\": 80, \"hr\": 74, \"spo2\": 98, \"rr\": 14}, \"moaas\": \"5\","                  \
  " \"dissociation\": \"none\"}"

/* When the current phase's item `item` is next due (ms), or -1. */
static long long due_at(alarm_serve *a, uint64_t id, const char *item) {
  char path[64];
  snprintf(path, sizeof path, "/api/v1/visits/%llu", (unsigned long long)id);
  json_t *v = NULL, *ph, *it;
  assert_int_equal(alarm_call(a, NULL, "GET", path, NULL, &v), 200);
  long long due = -1;
  size_t i, j;
  json_array_foreach(json_object_get(v, "phases"), i, ph) {
    if (strcmp(json_string_value(json_object_get(ph, "id")), "infusion")) continue;
    json_array_foreach(json_object_get(ph, "items"), j, it) {
      const char *at = json_string_value(json_object_get(it, "due_at"));
      if (!strcmp(json_string_value(json_object_get(it, "id")), item) && at) {
        struct tm tm = {0};
        int ms = 0;
        sscanf(at, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, &ms);
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        due = (long long)timegm(&tm) * 1000 + ms;
      }
    }
  }
  json_decref(v);
  return due;
}

static void the_minimum_counts_from_the_infusion_start(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_ketamine_in_infusion(a, SCREENING);
  /* In the infusion phase, no infusion yet: nothing is due, and the minimum has not started. */
  assert_int_equal(due_at(a, id, "vitals"), -1);
  for (int m = 0; m < 4; m++) {
    assert_int_equal(alarm_advance_clock(a, "10m"), 200);
    assert_int_equal(alarm_record(a, id, CHECKPOINT), 200);
  }
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  if (!strstr(msg, "not started: it counts from \"Infusion started (pump running)\", not recorded yet"))
    fail_msg("409 says: %s", msg);
  /* Started at 40 minutes, stopped a minute later: the 40 minutes count from the start. */
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true}"), 200);
  long long started = alarm_now(a);
  assert_int_equal(due_at(a, id, "vitals"), started + 10 * 60000);
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"infusion_stopped\": true}"), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  if (!strstr(msg, "not reached (39 min left)")) fail_msg("409 says: %s", msg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(the_minimum_counts_from_the_infusion_start, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
