/* G4 of the second independent try (docs/safety.md): a late entry, observed
 * before the newest reading, ran no rules: SpO2 80 %, RR 5, or BP 230/130
 * observed 30 s before the last normal reading raised nothing.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock,
 * with a copy of the bundled protocols/ketamine_iv: in the infusion, a normal
 * reading now, then a late entry observed 30 s earlier with SpO2 80 % and RR
 * 5: two high alerts, active, saying when the reading was observed and that
 * it was entered late; the visit's latest vitals stay the normal reading; the
 * gate holds until they are acknowledged. A late BP of 230/130 raises the
 * "once" limit's high alert. A late normal reading observed before an abnormal
 * one resolves nothing. Fails without the control (commands.c,
 * judge_late_entry: the rules judged the newest reading instead). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

#define VITALS(sbp, dbp, spo2, rr)                                                                                     \
  "{\"sbp\": " #sbp ", \"dbp\": " #dbp ", \"hr\": 72, \"spo2\": " #spo2 ", \"rr\": " #rr "}"

/* A late entry of vitals observed `ago` ms before now. */
static int late(alarm_serve *a, uint64_t id, long long ago, const char *vitals) {
  char body[512];
  snprintf(body, sizeof body, "{\"observed_at\": %lld, \"vitals\": %s}", alarm_now(a) - ago, vitals);
  return alarm_record(a, id, body);
}

/* The visit's latest infusion vitals' spo2 (GET /visits/{id}), or -1. */
static int latest_spo2(alarm_serve *a, uint64_t id) {
  char path[64];
  snprintf(path, sizeof path, "/api/v1/visits/%llu", (unsigned long long)id);
  json_t *v, *ph, *it;
  size_t i, j;
  int spo2 = -1;
  if (alarm_call(a, NULL, "GET", path, NULL, &v) != 200) return -1;
  json_array_foreach(json_object_get(v, "phases"), i, ph) {
    if (strcmp(alarm_str(ph, "id"), "infusion")) continue;
    json_array_foreach(json_object_get(ph, "items"), j, it) {
      if (!strcmp(alarm_str(it, "id"), "vitals"))
        spo2 = (int)json_number_value(json_object_get(json_object_get(it, "value"), "spo2"));
    }
  }
  json_decref(v);
  return spo2;
}

static uint64_t in_infusion(alarm_serve *a) {
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  return id;
}

static void a_late_entry_is_judged_by_the_rules(void **state) {
  alarm_serve *a = *state;
  uint64_t id = in_infusion(a);
  assert_int_equal(alarm_record(a, id, "{\"vitals\": " VITALS(128, 80, 97, 14) "}"), 200);
  assert_int_equal(alarm_count(a, id, "active"), 0);

  /* SpO2 80 %, RR 5, observed 30 s before it. */
  assert_int_equal(late(a, id, 30000, VITALS(128, 80, 80, 5)), 200);
  const char *rules[] = {"spo2_low", "rr_low"};
  uint64_t ids[2];
  for (int i = 0; i < 2; i++) {
    json_t *x = alarm_latest(a, id, rules[i]);
    assert_non_null(x);
    ids[i] = alarm_id(x);
    assert_string_equal(alarm_str(x, "state"), "active");
    assert_string_equal(alarm_str(x, "priority"), "high");
    assert_non_null(strstr(alarm_str(x, "message"), "observed at "));
    assert_non_null(strstr(alarm_str(x, "message"), "entered late at "));
    assert_non_null(strstr(alarm_str(x, "message"), i == 0 ? "SpO2 80%" : "Respiratory rate 5/min"));
    json_decref(x);
  }
  /* The newest reading is still the current one. */
  assert_int_equal(latest_spo2(a, id), 97);

  /* The gate holds until they are acknowledged. */
  char path[128];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/advance", (unsigned long long)id);
  json_t *r = NULL;
  assert_int_equal(alarm_call(a, NULL, "POST", path, "{}", &r), 409);
  const char *msg = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
  assert_non_null(msg);
  assert_non_null(strstr(msg, "entered late"));
  json_decref(r);
  assert_int_equal(alarm_ack(a, ids[0]), 200);
  assert_int_equal(alarm_ack(a, ids[1]), 200);
  assert_int_equal(alarm_count(a, id, "active"), 0);

  /* BP 230/130 observed 20 s before the newest reading: the "once" limit. */
  assert_int_equal(late(a, id, 20000, VITALS(230, 130, 97, 14)), 200);
  json_t *bp = alarm_latest(a, id, "bp_high");
  assert_non_null(bp);
  assert_string_equal(alarm_str(bp, "state"), "active");
  assert_string_equal(alarm_str(bp, "priority"), "high");
  assert_non_null(strstr(alarm_str(bp, "message"), "entered late"));
  json_decref(bp);
  assert_int_equal(latest_spo2(a, id), 97);
}

/* A late normal reading before an abnormal one leaves its alert as it is. */
static void a_late_normal_reading_resolves_nothing(void **state) {
  alarm_serve *a = *state;
  uint64_t id = in_infusion(a);
  assert_int_equal(alarm_record(a, id, "{\"vitals\": " VITALS(128, 80, 85, 14) "}"), 200);
  json_t *x = alarm_latest(a, id, "spo2_low");
  assert_non_null(x);
  uint64_t alert = alarm_id(x);
  json_decref(x);
  assert_int_equal(late(a, id, 30000, VITALS(128, 80, 98, 14)), 200);
  x = alarm_latest(a, id, "spo2_low");
  assert_non_null(x);
  assert_int_equal(alarm_id(x), alert);
  assert_string_equal(alarm_str(x, "state"), "active");
  json_decref(x);
  assert_int_equal(latest_spo2(a, id), 85);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_late_entry_is_judged_by_the_rules, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_late_normal_reading_resolves_nothing, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
