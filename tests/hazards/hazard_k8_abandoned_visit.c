/* K8 (docs/safety.md, found by the third independent try): an abandoned open
 * visit wrote an item.overdue and a note.added per item every 10 minutes for
 * ever (46,962 events in 27 simulated days).
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock, with the bundled ketamine_iv: an infusion left without readings
 * stops making overdue events after its phase's `unmonitored_after` missed
 * checkpoints (6 by default) and raises one high alert saying monitoring
 * stopped being documented; two more days add nothing; a reading resumes the
 * schedule without a burst of the checkpoints in between.
 * Fails without the control (schedule.c: next_deadline's stop): the count
 * grows every day. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

static const char *READING = "{\"vitals\": {\"sbp\": 124, \"dbp\": 78, \"hr\": 72, \"spo2\": 98, \"rr\": 14}, "
                             "\"moaas\": \"5\", \"dissociation\": \"none\"}";

/* How many events of `type` (NULL: any) the visit has, page by page. */
static size_t events_of(alarm_serve *a, uint64_t id, const char *type) {
  size_t n = 0;
  long long after = 0;
  for (;;) {
    char path[128];
    snprintf(path, sizeof path, "/api/v1/visits/%llu/events?after=%lld&limit=1000", (unsigned long long)id, after);
    json_t *r;
    assert_int_equal(alarm_call(a, NULL, "GET", path, NULL, &r), 200);
    json_t *evs = json_object_get(r, "events"), *ev;
    size_t i;
    json_array_foreach(evs, i, ev) {
      if (!type || !strcmp(json_string_value(json_object_get(ev, "type")), type)) n++;
    }
    int more = json_is_true(json_object_get(r, "more")) && json_array_size(evs) > 0;
    after = (long long)json_integer_value(json_object_get(r, "next"));
    json_decref(r);
    if (!more) return n;
  }
}

/* The visit's alert whose message says `text`, a new reference, or NULL. */
static json_t *alert_saying(alarm_serve *a, uint64_t id, const char *text) {
  json_t *alerts = alarm_alerts(a, id), *x, *found = NULL;
  size_t i;
  json_array_foreach(alerts, i, x) {
    if (strstr(alarm_str(x, "message"), text)) found = json_incref(x);
  }
  json_decref(alerts);
  return found;
}

static void abandoned_visit_stops_its_schedule(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200); /* to the infusion */
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true}"), 200);
  assert_int_equal(alarm_record(a, id, READING), 200);

  /* Abandoned: a day without an entry. */
  assert_int_equal(alarm_advance_clock(a, "24h"), 200);
  size_t day1 = events_of(a, id, NULL), overdue1 = events_of(a, id, "item.overdue");
  assert_true(overdue1 > 0);
  assert_true(overdue1 <= 6 * 3); /* six checkpoints of three items at most */
  json_t *al = alert_saying(a, id, "monitoring stopped being documented");
  assert_non_null(al);
  assert_string_equal(alarm_str(al, "priority"), "high");
  assert_non_null(strstr(alarm_str(al, "message"), "No readings recorded since"));
  assert_true(json_integer_value(json_object_get(al, "level")) > 0); /* it escalates */
  json_decref(al);

  /* Two more days: nothing more is written. */
  assert_int_equal(alarm_advance_clock(a, "48h"), 200);
  assert_int_equal(events_of(a, id, NULL), day1);

  /* A reading resumes the schedule at its next checkpoint, without a burst of
   * the days in between. */
  assert_int_equal(alarm_record(a, id, READING), 200);
  size_t before = events_of(a, id, "item.overdue");
  assert_int_equal(alarm_advance_clock(a, "20m"), 200);
  size_t after = events_of(a, id, "item.overdue");
  assert_true(after > before);
  assert_true(after - before <= 2 * 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(abandoned_visit_stops_its_schedule, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
