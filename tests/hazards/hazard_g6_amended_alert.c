/* G6 of the second independent try (docs/safety.md): a nurse's amendment of
 * the current phase's vitals (SpO2 84 to 97, "typo") resolved the two high
 * alerts they had raised, unlike an amendment of an earlier phase's vitals,
 * whose alert only a clinician closes.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock,
 * with a copy of the bundled protocols/ketamine_iv: in the infusion, SpO2 84 %
 * and RR 6 raise two high alerts; the nurse amends the vitals to SpO2 97 and
 * RR 14. Each alert is announced again as a carried, active high alert that
 * follows it and says the reading was amended, by whom and why; the gate
 * holds naming them; normal readings after do not close them; the nurse
 * cannot acknowledge them (403); the clinician acknowledges each with a
 * reason, which closes it. Fails without the control (commands.c,
 * carry_amended_alerts: the alerts are resolved by the amendment). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

#define VITALS(spo2, rr) "{\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": " #spo2 ", \"rr\": " #rr "}"

static void an_amendment_does_not_resolve_a_high_alert(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200); /* into the infusion */
  assert_int_equal(alarm_record(a, id, "{\"vitals\": " VITALS(84, 6) "}"), 200);
  json_t *spo2 = alarm_latest(a, id, "spo2_low"), *rr = alarm_latest(a, id, "rr_low");
  assert_non_null(spo2);
  assert_non_null(rr);
  uint64_t first_spo2 = alarm_id(spo2), first_rr = alarm_id(rr);
  json_decref(spo2);
  json_decref(rr);

  /* The nurse amends the reading ("typo"). */
  assert_int_equal(
      alarm_cmd(a, NULL, id, "amend", "{\"item\": \"vitals\", \"value\": " VITALS(97, 14) ", \"reason\": \"typo\"}"),
      200);
  const char *rules[] = {"spo2_low", "rr_low"};
  uint64_t firsts[] = {first_spo2, first_rr}, again[2];
  for (int i = 0; i < 2; i++) {
    json_t *x = alarm_latest(a, id, rules[i]);
    assert_non_null(x);
    again[i] = alarm_id(x);
    assert_true(again[i] != firsts[i]);
    assert_string_equal(alarm_str(x, "state"), "active");
    assert_string_equal(alarm_str(x, "priority"), "high");
    assert_true(json_is_true(json_object_get(x, "carried")));
    assert_int_equal(json_integer_value(json_object_get(x, "follows")), firsts[i]);
    assert_non_null(strstr(alarm_str(x, "message"), "was amended since"));
    assert_non_null(strstr(alarm_str(x, "message"), SERVE_USER));
    assert_non_null(strstr(alarm_str(x, "message"), "typo"));
    json_decref(x);
  }

  /* The gate holds, naming them. */
  char path[128];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/advance", (unsigned long long)id);
  json_t *r = NULL;
  assert_int_equal(alarm_call(a, NULL, "POST", path, "{}", &r), 409);
  const char *msg = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
  assert_non_null(msg);
  assert_non_null(strstr(msg, "was amended since"));
  json_decref(r);

  /* Normal readings after do not close them; the nurse cannot, the clinician can. */
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"vitals\": " VITALS(98, 15) "}"), 200);
  assert_int_equal(alarm_count(a, id, "active"), 2);
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "/api/v1/alerts/%llu/ack", (unsigned long long)again[i]);
    assert_int_equal(alarm_call(a, NULL, "POST", path, "{\"reason\": \"typo\"}", NULL), 403);
    assert_int_equal(
        alarm_call(a, ALARM_CLINICIAN, "POST", path, "{\"reason\": \"checked the patient: SpO2 97%, a typo\"}", NULL),
        200);
  }
  assert_int_equal(alarm_count(a, id, "active"), 0);
}

/* G6's residual: a medium alert (BP at the flag, one reading: not latching)
 * that an amendment made its rule quiet is shown as resolved by that
 * amendment, from what to what, and stays until acknowledged; a nurse
 * acknowledges it. Fails without the control (alerts.c, vigil__resolve_alert's
 * amended: the alert closed at once, saying nothing). */
static void an_amendment_resolves_a_medium_alert_in_view(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200); /* into the infusion */
  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 185, \"dbp\": 95, \"hr\": 72, \"spo2\": 98, \"rr\": 14}}"), 200);
  json_t *x = alarm_latest(a, id, "bp_high");
  assert_non_null(x);
  assert_string_equal(alarm_str(x, "priority"), "medium");
  uint64_t medium = alarm_id(x);
  json_decref(x);

  assert_int_equal(
      alarm_cmd(a, NULL, id, "amend", "{\"item\": \"vitals\", \"value\": " VITALS(98, 14) ", \"reason\": \"typo\"}"),
      200);
  x = alarm_latest(a, id, "bp_high");
  assert_non_null(x);
  assert_int_equal(alarm_id(x), medium); /* no new alert: the medium one, resolved */
  assert_string_equal(alarm_str(x, "state"), "resolved");
  const char *m = alarm_str(x, "message");
  assert_non_null(strstr(m, "resolved by the amendment of Vitals from"));
  assert_non_null(strstr(m, "\"sbp\":185"));
  assert_non_null(strstr(m, "\"sbp\":128"));
  assert_non_null(strstr(m, "typo"));
  json_decref(x);

  /* It stays so (also across the next reading) until acknowledged. */
  assert_int_equal(alarm_record(a, id, "{\"vitals\": " VITALS(98, 14) "}"), 200);
  x = alarm_latest(a, id, "bp_high");
  assert_string_equal(alarm_str(x, "state"), "resolved");
  json_decref(x);
  assert_int_equal(alarm_ack(a, medium), 200);
  x = alarm_latest(a, id, "bp_high");
  assert_string_equal(alarm_str(x, "state"), "closed");
  json_decref(x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(an_amendment_does_not_resolve_a_high_alert, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(an_amendment_resolves_a_medium_alert_in_view, alarm_setup_ketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
