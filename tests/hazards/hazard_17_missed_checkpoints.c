/* G8 (docs/safety.md, found by the second independent try, its #5): missed
 * checkpoints never held a gate. An infusion with readings at 0-4 minutes
 * and at 54 minutes only (none at 10, 20, 30, 40) advanced without an
 * override: the missed checkpoints existed only as medium overdue alerts.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock, with a copy of the bundled ketamine_iv (its infusion declares
 * `missed = "hold"`): after that infusion the gate names the missed
 * checkpoints of each item and advancing is refused (409); a late entry with
 * the time it was observed makes its checkpoint good; a nurse's override is
 * 403, a clinician's with a reason passes and its event names what was
 * missed.
 * Fails without the control (gate.c: the missed checkpoints' reason). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

static const char *READING = "{\"vitals\": {\"sbp\": 124, \"dbp\": 78, \"hr\": 72, \"spo2\": 98, \"rr\": 14}, "
                             "\"moaas\": \"5\", \"dissociation\": \"none\"}";

static char *gate_of(alarm_serve *a, uint64_t id, int64_t *phase_at) {
  char path[64];
  snprintf(path, sizeof path, "/api/v1/visits/%llu", (unsigned long long)id);
  json_t *v;
  if (alarm_call(a, NULL, "GET", path, NULL, &v) != 200) return strdup("");
  if (phase_at) {
    struct tm tm = {0};
    int ms = 0;
    sscanf(json_string_value(json_object_get(v, "phase_started_at")), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon,
           &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *phase_at = (int64_t)timegm(&tm) * 1000 + ms;
  }
  char *text = json_dumps(json_object_get(json_object_get(v, "gate"), "reasons"), 0);
  json_decref(v);
  return text;
}

/* A visit in the infusion with readings at 0, 2 and 4 minutes and at 54. */
static uint64_t infusion_with_gaps(alarm_serve *a, int64_t *phase_at) {
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200); /* to the infusion */
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true}"), 200);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(alarm_record(a, id, READING), 200);
    assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  }
  assert_int_equal(alarm_advance_clock(a, "48m"), 200);
  assert_int_equal(alarm_record(a, id, READING), 200);
  assert_int_equal(alarm_record(a, id, "{\"infusion_stopped\": true}"), 200);
  free(gate_of(a, id, phase_at));
  return id;
}

static void missed_checkpoints_hold_the_infusion(void **state) {
  alarm_serve *a = *state;
  int64_t phase_at = 0;
  uint64_t id = infusion_with_gaps(a, &phase_at);

  char *reasons = gate_of(a, id, NULL);
  assert_non_null(strstr(reasons, "Vitals missed at 10, 20, 30 and 40 min (never recorded nor skipped)"));
  assert_non_null(strstr(reasons, "Sedation (MOAA/S, 5 alert .. 0 no response) missed at 10, 20, 30 and 40 min"));
  assert_non_null(strstr(reasons, "Dissociation (as observed) missed at 10, 20, 30 and 40 min"));
  free(reasons);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 409);

  /* The 10-minute checkpoint recorded late, with when it was observed. */
  char late[512];
  snprintf(late, sizeof late,
           "{\"observed_at\": %lld, \"vitals\": {\"sbp\": 126, \"dbp\": 80, \"hr\": 74, \"spo2\": 98, \"rr\": 14}, "
           "\"moaas\": \"5\", \"dissociation\": \"none\"}",
           (long long)(phase_at + 11 * 60000));
  assert_int_equal(alarm_record(a, id, late), 200);
  reasons = gate_of(a, id, NULL);
  assert_non_null(strstr(reasons, "Vitals missed at 20, 30 and 40 min"));
  free(reasons);

  /* A nurse cannot override; the clinician's override names what was missed. */
  assert_int_equal(
      alarm_cmd(a, NULL, id, "override", "{\"reason\": \"checkpoints missed\", \"password\": \"" SERVE_PASSWORD "\"}"),
      403);
  assert_int_equal(alarm_override(a, id), 200);
  char path[128];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/events?limit=1000", (unsigned long long)id);
  json_t *r;
  assert_int_equal(alarm_call(a, NULL, "GET", path, NULL, &r), 200);
  char *log = json_dumps(r, 0);
  json_decref(r);
  const char *over = strstr(log, "gate.overridden");
  assert_non_null(over);
  assert_non_null(strstr(over, "Vitals missed at 20, 30 and 40 min"));
  free(log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(missed_checkpoints_hold_the_infusion, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
