/* G3 of the second independent try (docs/safety.md): a nurse aborted a visit
 * with two active high alerts; the alerts stayed "active" but never escalated
 * and the visit left GET /visits?alerts=active and the board.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock,
 * with a copy of the bundled protocols/ketamine_iv: a visit in the infusion
 * with SpO2 80 % and RR 5 (two high alerts). A nurse's abort is refused (409
 * naming both alerts); a clinician's needs their password and is taken. The
 * aborted visit's alerts escalate, the visit stays in /visits?alerts=active
 * and its alerts in /alerts, also after a restart; once both are acknowledged
 * it leaves those lists and a restart does not bring it back. Fails without
 * the control (api.c: the abort's check; schedule.c: an aborted visit's
 * escalations; query.c: the visits with active alerts; event.c: the store
 * keeping the visit for recovery). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

static int level_of(alarm_serve *a, uint64_t visit, const char *rule) {
  json_t *x = alarm_latest(a, visit, rule);
  int level = x ? (int)json_integer_value(json_object_get(x, "level")) : -1;
  json_decref(x);
  return level;
}

static void aborted_alerts_escalate_until_acknowledged(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200); /* into the infusion */
  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": 80, \"rr\": 5}}"), 200);
  json_t *spo2 = alarm_latest(a, id, "spo2_low"), *rr = alarm_latest(a, id, "rr_low");
  assert_non_null(spo2);
  assert_non_null(rr);
  uint64_t spo2_id = alarm_id(spo2), rr_id = alarm_id(rr);
  json_decref(spo2);
  json_decref(rr);

  /* A nurse's abort is refused, naming both alerts; nothing is recorded. */
  char path[128];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/abort", (unsigned long long)id);
  json_t *r = NULL;
  assert_int_equal(alarm_call(a, NULL, "POST", path, "{\"reason\": \"patient left\"}", &r), 409);
  const char *msg = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
  assert_non_null(msg);
  assert_non_null(strstr(msg, "SpO2 80%"));
  assert_non_null(strstr(msg, "Respiratory rate 5/min"));
  assert_non_null(strstr(msg, "clinician"));
  json_decref(r);
  assert_true(alarm_lists(a, "/api/v1/visits?status=active", "visits", id));

  /* A clinician's abort is a signature: without the password 401, with it 200. */
  assert_int_equal(alarm_call(a, ALARM_CLINICIAN, "POST", path, "{\"reason\": \"transferred to ED\"}", NULL), 401);
  assert_int_equal(alarm_call(a, ALARM_CLINICIAN, "POST", path,
                              "{\"reason\": \"transferred to ED\", \"password\": \"" SERVE_PASSWORD "\"}", NULL),
                   200);
  assert_false(alarm_lists(a, "/api/v1/visits?status=active", "visits", id));

  /* Its alerts stay active, listed, and escalate (5 minutes). */
  assert_true(alarm_lists(a, "/api/v1/visits?alerts=active", "visits", id));
  assert_true(alarm_lists(a, "/api/v1/visits?status=aborted&alerts=active", "visits", id));
  assert_true(alarm_lists(a, "/api/v1/alerts", "alerts", spo2_id));
  assert_true(alarm_lists(a, "/api/v1/alerts", "alerts", rr_id));
  assert_int_equal(level_of(a, id, "spo2_low"), 0);
  assert_int_equal(alarm_advance_clock(a, "6m"), 200);
  assert_int_equal(level_of(a, id, "spo2_low"), 1);
  assert_int_equal(level_of(a, id, "rr_low"), 1);

  /* The same after a restart: folded again, listed, escalating. */
  assert_int_equal(alarm_restart(a), 0);
  assert_true(alarm_lists(a, "/api/v1/visits?alerts=active", "visits", id));
  assert_true(alarm_lists(a, "/api/v1/alerts", "alerts", spo2_id));
  assert_int_equal(level_of(a, id, "spo2_low"), 1);
  assert_int_equal(alarm_advance_clock(a, "12m"), 200);
  assert_true(level_of(a, id, "spo2_low") >= 2);

  /* Acknowledged, both leave the lists, and a restart keeps it so. */
  assert_int_equal(alarm_ack(a, spo2_id), 200);
  assert_true(alarm_lists(a, "/api/v1/visits?alerts=active", "visits", id));
  assert_int_equal(alarm_ack(a, rr_id), 200);
  assert_false(alarm_lists(a, "/api/v1/visits?alerts=active", "visits", id));
  assert_false(alarm_lists(a, "/api/v1/alerts", "alerts", spo2_id));
  assert_int_equal(alarm_restart(a), 0);
  assert_false(alarm_lists(a, "/api/v1/visits?alerts=active", "visits", id));
  char *log = serve_log(&a->s);
  assert_non_null(log);
  assert_non_null(strstr(log, "recovered 0 open visits"));
  free(log);
}

/* Without open high alerts a nurse aborts as before. */
static void a_nurse_aborts_a_visit_without_high_alerts(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_cmd(a, NULL, id, "abort", "{\"reason\": \"patient declined\"}"), 200);
  assert_false(alarm_lists(a, "/api/v1/visits?alerts=active", "visits", id));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(aborted_alerts_escalate_until_acknowledged, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_nurse_aborts_a_visit_without_high_alerts, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
