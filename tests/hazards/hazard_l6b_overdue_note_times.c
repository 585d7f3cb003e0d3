/* L6b of the fourth independent try (docs/safety.md): the overdue hook's
 * notes were stamped with the time the deadline fired in the batch: a
 * two-day advance wrote 18 notes, each "2880 minutes into the visit".
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock, with a copy of the bundled protocols/ketamine_iv: a visit enters
 * the infusion and the clock moves an hour in one advance; each
 * checkpoint's note says the minute its own checkpoint went overdue (the
 * time of its item.overdue event), not the end of the advance.
 * Fails without the control (evaluate.c: the overdue hook's view time):
 * every note says the same minute. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#include <cmocka.h>

#include "alarm_serve.h"

static long long ms_of(const json_t *ev) {
  struct tm tm = {0};
  int ms = 0;
  const char *t = json_string_value(json_object_get(ev, "time"));
  if (!t || sscanf(t, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                   &tm.tm_sec, &ms) != 7)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return (long long)timegm(&tm) * 1000 + ms;
}

static void each_note_says_its_checkpoint(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200); /* into the infusion */
  /* Its time counts from the infusion's start (ketamine_iv 1.6.1, P7). */
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true}"), 200);
  assert_int_equal(alarm_advance_clock(a, "1h"), 200);

  char path[128];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/events?limit=1000", (unsigned long long)id);
  json_t *r, *ev;
  size_t i;
  assert_int_equal(alarm_call(a, NULL, "GET", path, NULL, &r), 200);
  long long start = -1, overdue[64], noted[64];
  size_t n_overdue = 0, n_noted = 0;
  json_array_foreach(json_object_get(r, "events"), i, ev) {
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (!strcmp(type, "visit.started")) start = ms_of(ev);
    if (!strcmp(type, "item.overdue") && n_overdue < 64) overdue[n_overdue++] = ms_of(ev);
    const char *msg = json_string_value(json_object_get(json_object_get(ev, "data"), "message"));
    const char *at = msg && !strcmp(type, "note.added") ? strstr(msg, " minutes into the visit") : NULL;
    if (at && n_noted < 64) {
      while (at > msg && at[-1] >= '0' && at[-1] <= '9')
        at--;
      noted[n_noted++] = atoll(at);
    }
  }
  json_decref(r);
  assert_true(start > 0);
  assert_true(n_overdue >= 2);
  assert_int_equal(n_noted, n_overdue); /* one note per overdue item, in order */
  assert_true(overdue[n_overdue - 1] > overdue[0]);
  for (size_t k = 0; k < n_noted; k++)
    if (noted[k] != (overdue[k] - start) / 60000)
      fail_msg("note %zu says %lld minutes; its checkpoint went overdue %lld minutes into the visit", k, noted[k],
               (overdue[k] - start) / 60000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(each_note_says_its_checkpoint, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
