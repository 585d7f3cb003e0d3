/* K9c (docs/safety.md, found by the third independent try): a worse alert of
 * the same item raised under another key (MOAA/S 2's medium acknowledged,
 * then MOAA/S 0's high; BP's one-reading medium, then the high of two
 * readings in a row) had no `follows`, and the acknowledged one left the
 * item's trail: two unrelated alerts on the board and in the events.
 *
 * End to end over the HTTP API of a real `vigil serve` with the bundled
 * ketamine_iv: each higher alert raised on an item that has an open alert of
 * lower priority (active, or acknowledged while its cause holds), of any
 * rule, follows it, in the visit and in its alert.raised event.
 * Fails without the control (alerts.c: lower_on_same_item): follows is
 * absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

/* The newest alert.raised event of the visit with this alert id's follows
 * (0: none). */
static json_int_t raised_follows(alarm_serve *a, uint64_t id, uint64_t alert) {
  char path[128];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/events?limit=1000", (unsigned long long)id);
  json_t *r;
  assert_int_equal(alarm_call(a, NULL, "GET", path, NULL, &r), 200);
  json_t *ev;
  size_t i;
  json_int_t follows = -1;
  json_array_foreach(json_object_get(r, "events"), i, ev) {
    json_t *d = json_object_get(ev, "data");
    if (!strcmp(json_string_value(json_object_get(ev, "type")), "alert.raised") &&
        (uint64_t)json_integer_value(json_object_get(d, "alert")) == alert)
      follows = json_integer_value(json_object_get(d, "follows"));
  }
  json_decref(r);
  assert_true(follows >= 0);
  return follows;
}

static void moaas_high_follows_the_acknowledged_medium(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200); /* to the infusion */
  assert_int_equal(alarm_record(a, id, "{\"moaas\": \"2\"}"), 200);
  json_t *medium = alarm_latest(a, id, "sedation_deep");
  assert_non_null(medium);
  assert_string_equal(alarm_str(medium, "priority"), "medium");
  assert_int_equal(alarm_ack(a, alarm_id(medium)), 200);

  assert_int_equal(alarm_record(a, id, "{\"moaas\": \"0\"}"), 200);
  json_t *alerts = alarm_alerts(a, id), *x, *high = NULL;
  size_t i;
  json_array_foreach(alerts, i, x) {
    if (!strcmp(alarm_str(x, "priority"), "high") && strstr(alarm_str(x, "message"), "MOAA/S 0")) high = x;
  }
  assert_non_null(high);
  assert_string_equal(alarm_str(high, "state"), "active");
  assert_int_equal(json_integer_value(json_object_get(high, "follows")), (json_int_t)alarm_id(medium));
  assert_int_equal(raised_follows(a, id, alarm_id(high)), (json_int_t)alarm_id(medium));
  json_decref(alerts);
  json_decref(medium);
}

static void bp_confirmed_high_follows_the_unconfirmed_medium(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200); /* to the infusion */
  const char *bp = "{\"vitals\": {\"sbp\": 185, \"dbp\": 95, \"hr\": 76, \"spo2\": 98, \"rr\": 14}}";
  assert_int_equal(alarm_record(a, id, bp), 200);
  json_t *medium = alarm_latest(a, id, "bp_high");
  assert_non_null(medium);
  assert_string_equal(alarm_str(medium, "priority"), "medium");

  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(alarm_record(a, id, bp), 200);
  json_t *high = alarm_latest(a, id, "bp_high");
  assert_non_null(high);
  assert_string_equal(alarm_str(high, "priority"), "high");
  assert_true(alarm_id(high) > alarm_id(medium));
  assert_int_equal(json_integer_value(json_object_get(high, "follows")), (json_int_t)alarm_id(medium));
  assert_int_equal(raised_follows(a, id, alarm_id(high)), (json_int_t)alarm_id(medium));
  json_decref(high);
  json_decref(medium);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(moaas_high_follows_the_acknowledged_medium, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(bp_confirmed_high_follows_the_unconfirmed_medium, alarm_setup_ketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
