/* G7 (docs/safety.md, found by the second independent try, its #11): what
 * the staff are shown was wrong or missing: the 409 gate message showed a raw
 * `{dose_mg_per_kg}` ("Infusion ({dose_mg_per_kg} mg/kg over 40 minutes): the
 * gate is not met"); the gate reason of an acknowledged alert quoted the
 * first value (SpO2 91%) after readings of 90; `carried` was missing from
 * /visits/{id}/alerts and /alerts, though GET /visits/{id} gave it.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock, with a copy of the bundled ketamine_iv. Fails without each control
 * (commands.c: the phase title filled in the 409; alerts.c: an acknowledged
 * alert's latest message; query.c: carried in the alert lists). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

/* The first alert of a list answer whose message has what, a new reference. */
static json_t *listed(alarm_serve *a, const char *path, const char *what) {
  json_t *r, *x, *found = NULL;
  size_t i;
  if (alarm_call(a, NULL, "GET", path, NULL, &r) != 200) return NULL;
  json_array_foreach(json_object_get(r, "alerts"), i, x) {
    if (!found && strstr(alarm_str(x, "message"), what)) found = json_incref(x);
  }
  json_decref(r);
  return found;
}

static char *gate_text(alarm_serve *a, uint64_t id) {
  char path[64];
  snprintf(path, sizeof path, "/api/v1/visits/%llu", (unsigned long long)id);
  json_t *v;
  if (alarm_call(a, NULL, "GET", path, NULL, &v) != 200) return strdup("");
  char *text = json_dumps(json_object_get(json_object_get(v, "gate"), "reasons"), 0);
  json_decref(v);
  return text;
}

static void what_is_shown_is_filled_in_and_current(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);

  /* A carried self-harm alert is said to be carried in both lists. */
  assert_int_equal(alarm_record(a, id,
                                "{\"phq9\": {\"q1\": 1, \"q2\": 1, \"q3\": 1, \"q4\": 1, \"q5\": 0, \"q6\": 1, "
                                "\"q7\": 1, \"q8\": 0, \"q9\": 1}}"),
                   200);
  char path[96];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/alerts", (unsigned long long)id);
  json_t *x = listed(a, path, "PHQ-9 item 9");
  assert_non_null(x);
  assert_true(json_is_true(json_object_get(x, "carried")));
  json_decref(x);
  x = listed(a, "/api/v1/alerts", "PHQ-9 item 9");
  assert_non_null(x);
  assert_true(json_is_true(json_object_get(x, "carried")));
  json_decref(x);

  /* The 409 names the phase with the visit's dose, not its placeholder. */
  assert_int_equal(alarm_override(a, id), 200); /* to the infusion */
  json_t *r;
  assert_int_equal(alarm_call(a, NULL, "POST", "/api/v1/visits/1/advance", "{}", &r), 409);
  const char *msg = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
  assert_non_null(strstr(msg, "Infusion (0.5 mg/kg over 40 minutes): the gate is not met"));
  assert_null(strstr(msg, "{dose_mg_per_kg}"));
  json_decref(r);

  /* SpO2 91 % acknowledged, then 90 % (not worse by the rule's margin): the
   * gate quotes 90 %, what is seen now. */
  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 124, \"dbp\": 78, \"hr\": 72, \"spo2\": 91, \"rr\": 14}}"), 200);
  x = alarm_latest(a, id, "spo2_low");
  assert_non_null(x);
  assert_int_equal(alarm_ack(a, alarm_id(x)), 200);
  json_decref(x);
  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 124, \"dbp\": 78, \"hr\": 72, \"spo2\": 90, \"rr\": 14}}"), 200);
  x = alarm_latest(a, id, "spo2_low");
  assert_true(json_is_true(json_object_get(x, "acknowledged"))); /* no new alert: not worse */
  json_decref(x);
  char *reasons = gate_text(a, id);
  assert_non_null(strstr(reasons, "acknowledged, its condition still holds: SpO2 90%"));
  free(reasons);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(what_is_shown_is_filled_in_and_current, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
