/* G11 of the second independent try (docs/safety.md): the simulated clock
 * restarted from wall time, earlier than the stored events (14:35 simulated,
 * 12:46 after the restart): new readings were "older" than stored ones and
 * a 40-minute phase said 149 minutes were left.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock, with a copy of the bundled protocols/ketamine_iv: a visit enters the
 * infusion (40 minutes at least) and the clock moves 30 minutes; the server
 * is restarted: its clock resumes no earlier
 * than the newest stored event, the gate says 10 minutes are left, and every
 * event of the visit, those made after the restart too, is in time order.
 * Fails without the control (recover.c: time resumes from the newest event;
 * engine.c and clock.c: never earlier than the newest event). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

/* The times of the visit's events, in seq order, as ms; their count. */
static size_t event_times(alarm_serve *a, uint64_t visit, long long *out, size_t cap) {
  char path[128];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/events?limit=1000", (unsigned long long)visit);
  json_t *r, *ev;
  size_t i, n = 0;
  if (alarm_call(a, NULL, "GET", path, NULL, &r) != 200) return 0;
  json_array_foreach(json_object_get(r, "events"), i, ev) {
    struct tm tm = {0};
    int ms = 0;
    const char *t = json_string_value(json_object_get(ev, "time"));
    if (n < cap && t &&
        sscanf(t, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
               &ms) == 7) {
      tm.tm_year -= 1900;
      tm.tm_mon -= 1;
      out[n++] = (long long)timegm(&tm) * 1000 + ms;
    }
  }
  json_decref(r);
  return n;
}

static void the_clock_resumes_after_the_stored_events(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200); /* into the infusion: 40 minutes at least */
  /* Its time counts from the infusion's start (ketamine_iv 1.6.1, P7). */
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true}"), 200);
  assert_int_equal(alarm_advance_clock(a, "30m"), 200);
  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": 97, \"rr\": 14}}"), 200);
  long long before = alarm_now(a);
  assert_true(before > 0);

  assert_int_equal(alarm_restart(a), 0);
  long long after = alarm_now(a);
  assert_true(after >= before);
  assert_true(after < before + 60000); /* resumed, not jumped */

  /* The phase's timer goes on from where it was: 10 minutes are left. */
  char path[128];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/advance", (unsigned long long)id);
  json_t *r = NULL;
  assert_int_equal(alarm_call(a, NULL, "POST", path, "{}", &r), 409);
  const char *msg = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
  assert_non_null(msg);
  assert_non_null(strstr(msg, "not reached (10 min left)"));
  json_decref(r);

  /* A reading after the restart is the newest: every event in time order. */
  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 124, \"dbp\": 78, \"hr\": 70, \"spo2\": 80, \"rr\": 14}}"), 200);
  json_t *spo2 = alarm_latest(a, id, "spo2_low");
  assert_non_null(spo2); /* judged as the latest reading */
  json_decref(spo2);
  long long times[512];
  size_t n = event_times(a, id, times, 512);
  assert_true(n >= 6);
  for (size_t i = 1; i < n; i++)
    assert_true(times[i] >= times[i - 1]);
  assert_true(times[n - 1] >= before);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(the_clock_resumes_after_the_stored_events, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
