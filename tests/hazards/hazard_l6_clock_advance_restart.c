/* L6 of the fourth independent try (docs/safety.md): on the simulated
 * clock, an advance with no event between (two days of a visit waiting in
 * screening, whose items have no schedule), then a restart, took the clock
 * back to the newest stored event: the two days were lost, and the next
 * readings were stamped before times the staff had seen.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock, with a copy of the bundled protocols/ketamine_iv: the admin moves
 * the clock two days; the advance is a clock.advanced event naming who
 * moved it, from where and by how much; after a restart the clock resumes
 * where it was moved to, not at the visit's start.
 * Fails without the control (schedule.c: vigil_engine_clock_advance's
 * event): after the restart the clock is two days back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

#define TWO_DAYS_MS (2LL * 24 * 3600 * 1000)

/* The site's newest clock.advanced event (GET /api/v1/events), or NULL. */
static json_t *last_clock_event(alarm_serve *a) {
  json_t *found = NULL;
  long long after = 0;
  for (int page = 0; page < 100; page++) {
    char path[96];
    snprintf(path, sizeof path, "/api/v1/events?after=%lld&limit=1000", after);
    json_t *r, *ev;
    size_t i;
    if (alarm_call(a, NULL, "GET", path, NULL, &r) != 200 || !r) break;
    json_array_foreach(json_object_get(r, "events"), i, ev) {
      if (!strcmp(json_string_value(json_object_get(ev, "type")), "clock.advanced")) {
        json_decref(found);
        found = json_incref(ev);
      }
    }
    after = (long long)json_integer_value(json_object_get(r, "next"));
    int more = json_is_true(json_object_get(r, "more"));
    json_decref(r);
    if (!more) break;
  }
  return found;
}

static void an_advance_survives_a_restart(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  long long start = alarm_now(a);
  assert_true(start > 0);
  assert_int_equal(alarm_advance_clock(a, "2d"), 200);
  long long moved = alarm_now(a);
  assert_true(moved >= start + TWO_DAYS_MS);

  json_t *ev = last_clock_event(a);
  assert_non_null(ev);
  assert_string_equal(json_string_value(json_object_get(ev, "actor")), ALARM_ADMIN);
  assert_int_equal(json_integer_value(json_object_get(ev, "visit")), 0);
  json_t *data = json_object_get(ev, "data");
  assert_true(json_integer_value(json_object_get(data, "by")) == TWO_DAYS_MS);
  assert_true(json_integer_value(json_object_get(data, "from")) >= start);
  json_decref(ev);

  assert_int_equal(alarm_restart(a), 0);
  long long after = alarm_now(a);
  if (after < moved) fail_msg("the clock went back %lld s over the restart", (moved - after) / 1000);
  assert_true(after < moved + 60000); /* resumed, not jumped */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(an_advance_survives_a_restart, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
