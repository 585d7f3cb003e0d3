/* H2 (docs/safety.md): alarm flood. One late checkpoint raised one alert per
 * item (vitals, sedation, dissociation): three banners, three
 * acknowledgements, all escalating.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock,
 * with a copy of the bundled protocols/ketamine_iv: the three items due at
 * the infusion's 10-minute checkpoint go overdue together at 15 minutes and
 * are one alert naming them all, which escalates once and is acknowledged
 * once. A checkpoint where only one item is late is that item's alert, as
 * before. Fails without the control (schedule.c, fire_overdue). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

/* The events of the visit of one type. */
static size_t count_events(alarm_serve *a, uint64_t visit, const char *type) {
  char path[128];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/events?limit=1000", (unsigned long long)visit);
  json_t *r, *ev;
  size_t i, n = 0;
  if (alarm_call(a, NULL, "GET", path, NULL, &r) != 200) return 0;
  json_array_foreach(json_object_get(r, "events"), i, ev) {
    if (!strcmp(alarm_str(ev, "type"), type)) n++;
  }
  json_decref(r);
  return n;
}

static void one_late_checkpoint_is_one_alert(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200); /* to the infusion: checkpoints every 10 minutes, 5 minutes' grace */
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true}"), 200);
  assert_int_equal(alarm_advance_clock(a, "15m"), 200);

  /* Each item is overdue (an event each, for the record)... */
  assert_int_equal(count_events(a, id, "item.overdue"), 3);
  /* ...and the nurse gets one alert for the checkpoint, naming all three. */
  assert_int_equal(alarm_count(a, id, NULL), 1);
  assert_int_equal(alarm_count(a, id, "active"), 1);
  json_t *x = alarm_latest(a, id, "infusion.vitals");
  assert_non_null(x);
  assert_string_equal(alarm_str(x, "source"), "overdue");
  const char *msg = alarm_str(x, "message");
  assert_non_null(strstr(msg, "Checkpoint at 10 min"));
  assert_non_null(strstr(msg, "Vitals"));
  assert_non_null(strstr(msg, "Sedation"));
  assert_non_null(strstr(msg, "Dissociation"));

  /* Unacknowledged, it escalates: once, not three times. */
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(count_events(a, id, "alert.escalated"), 1);
  /* One acknowledgement silences it. */
  assert_int_equal(alarm_ack(a, alarm_id(x)), 200);
  assert_int_equal(alarm_count(a, id, "active"), 0);

  /* It stands until every item of the checkpoint is recorded. */
  assert_int_equal(alarm_record(a, id,
                                "{\"vitals\": {\"sbp\": 124, \"dbp\": 78, \"hr\": 76, \"spo2\": 98, \"rr\": 14},"
                                " \"moaas\": \"5\"}"),
                   200);
  assert_int_equal(alarm_count(a, id, "acknowledged"), 1);
  assert_int_equal(alarm_record(a, id, "{\"dissociation\": \"none\"}"), 200);
  assert_int_equal(alarm_count(a, id, "acknowledged"), 0); /* resolved and acknowledged: closed */
  json_decref(x);

  /* At the 30-minute checkpoint only the vitals are late: that item's own alert. */
  assert_int_equal(alarm_advance_clock(a, "10m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"moaas\": \"5\", \"dissociation\": \"none\"}"), 200);
  assert_int_equal(alarm_advance_clock(a, "5m"), 200); /* 35 min: the vitals due at 30 are late */
  json_t *late = alarm_latest(a, id, "infusion.vitals");
  assert_string_equal(alarm_str(late, "state"), "active");
  assert_non_null(strstr(alarm_str(late, "message"), "Vitals overdue"));
  assert_null(strstr(alarm_str(late, "message"), "Sedation"));
  assert_int_equal(alarm_count(a, id, "active"), 1);
  json_decref(late);
}

/* F6 of the independent try: after the one grouped overdue alert was
 * acknowledged, 30 more minutes without monitoring raised nothing. The next
 * missed checkpoint is announced again; F8: the infusion's title quotes the
 * dose, and the alert says its value, not "{dose_mg_per_kg}". */
static void an_acknowledged_overdue_alert_does_not_silence_the_next_checkpoint(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200);
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true}"), 200);
  assert_int_equal(alarm_advance_clock(a, "15m"), 200); /* the 10-minute checkpoint is late */
  json_t *first = alarm_latest(a, id, "infusion.vitals");
  assert_non_null(first);
  assert_non_null(strstr(alarm_str(first, "message"), "into Infusion (0.5 mg/kg over 40 minutes) overdue"));
  assert_null(strstr(alarm_str(first, "message"), "{"));
  assert_int_equal(alarm_ack(a, alarm_id(first)), 200);
  assert_int_equal(alarm_count(a, id, "active"), 0);

  /* Nothing recorded: the 20-minute checkpoint is late too, and announced. */
  assert_int_equal(alarm_advance_clock(a, "10m"), 200);
  json_t *next = alarm_latest(a, id, "infusion.vitals");
  assert_non_null(next);
  assert_true(alarm_id(next) != alarm_id(first));
  assert_string_equal(alarm_str(next, "state"), "active");
  assert_non_null(strstr(alarm_str(next, "message"), "Checkpoint at 20 min"));
  assert_int_equal(json_integer_value(json_object_get(next, "follows")), (json_int_t)alarm_id(first));
  assert_int_equal(alarm_count(a, id, "active"), 1);

  /* Recording the checkpoint's items resolves both. */
  assert_int_equal(alarm_record(a, id,
                                "{\"vitals\": {\"sbp\": 124, \"dbp\": 78, \"hr\": 76, \"spo2\": 98, \"rr\": 14},"
                                " \"moaas\": \"5\", \"dissociation\": \"none\"}"),
                   200);
  assert_int_equal(alarm_count(a, id, "active"), 0);
  assert_int_equal(alarm_count(a, id, "acknowledged"), 0);
  json_decref(first);
  json_decref(next);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(one_late_checkpoint_is_one_alert),
      cmocka_unit_test(an_acknowledged_overdue_alert_does_not_silence_the_next_checkpoint),
  };
  return cmocka_run_group_tests(tests, alarm_setup_ketamine, alarm_teardown);
}
