/* U11 (docs/safety.md): a recorded one-off answer changed by a plain record.
 *
 * esketamine_rems's REMS form answer "respiratory depression occurred: no",
 * recorded a second time as "yes" by POST /visits/{id}/entries, replaced the
 * first answer with no reason and no amendment in the history (200), where
 * the spec runner refuses it whenever the "no" holds (G1 refused a changed
 * value only of an answer whose rule held). The same for ketamine_iv's
 * screening answers that hold nothing ("no substance use" becoming "yes").
 *
 * Control (core/engine/commands.c, vigil__cmd_visit_record_at): a changed
 * value of an answer the protocol says cannot be skipped (`skippable = false`:
 * the screening's and the REMS form's one-off answers) is 409 naming the item
 * and /amend, nothing of the entry recorded; the same value again is taken; an
 * amendment with a reason changes it and is in the history as one. The
 * visit's JSON marks such a recorded item `amend_only` (core/engine/
 * amend_only.c, shared with the entry's check), so that the workstation offers
 * Amend and not "Record again", which the 409 then refused (X8).
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock, with copies of the bundled esketamine_rems and ketamine_iv. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

#define CALM "{\"respiration\": {\"spo2\": 98, \"rr\": 14}, \"moaas\": \"5\", \"dissociation\": \"none\"}"
#define LEAVING                                                                                                        \
  "{\"bp_before_leaving\": {\"sbp\": 124, \"dbp\": 78, \"hr\": 68}, \"sedation_occurred\": \"no\","                    \
  " \"dissociation_occurred\": \"no\", \"respiratory_depression_occurred\": \"no\", \"ride_present\": true,"           \
  " \"no_driving_advice\": true}"

/* The value of item of phase in the visit's JSON, copied into out. */
static const char *item_value(alarm_serve *a, uint64_t id, const char *phase, const char *item, char *out, size_t len) {
  json_t *v = alarm_visit_json(a, id), *ph, *it;
  size_t i, j;
  out[0] = '\0';
  json_array_foreach(json_object_get(v, "phases"), i, ph) {
    if (strcmp(json_string_value(json_object_get(ph, "id")), phase)) continue;
    json_array_foreach(json_object_get(ph, "items"), j, it) {
      if (!strcmp(json_string_value(json_object_get(it, "id")), item)) {
        const char *s = json_string_value(json_object_get(it, "value"));
        snprintf(out, len, "%s", s ? s : "");
      }
    }
  }
  json_decref(v);
  return out;
}

/* Whether item of phase has "amend_only": true in the visit's JSON. */
static int amend_only(alarm_serve *a, uint64_t id, const char *phase, const char *item) {
  json_t *v = alarm_visit_json(a, id), *ph, *it;
  size_t i, j;
  int yes = 0;
  json_array_foreach(json_object_get(v, "phases"), i, ph) {
    if (strcmp(json_string_value(json_object_get(ph, "id")), phase)) continue;
    json_array_foreach(json_object_get(ph, "items"), j, it) {
      if (!strcmp(json_string_value(json_object_get(it, "id")), item))
        yes = json_is_true(json_object_get(it, "amend_only"));
    }
  }
  json_decref(v);
  return yes;
}

/* How many times text occurs in the visit's history. */
static int in_history(alarm_serve *a, uint64_t id, const char *text) {
  char *h = alarm_history_text(a, id);
  int n = 0;
  for (const char *p = strstr(h, text); p; p = strstr(p + 1, text))
    n++;
  free(h);
  return n;
}

/* An esketamine session in its discharge phase, the REMS form answered "no"
 * three times, calm all along. */
static uint64_t to_leaving(alarm_serve *a) {
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE(0));
  for (int m = 15; m <= 120; m += 15) {
    assert_int_equal(alarm_advance_clock(a, "15m"), 200);
    assert_int_equal(alarm_record(a, id, CALM), 200);
    if (m == 45) assert_int_equal(alarm_record(a, id, "{\"bp_40m\": {\"sbp\": 132, \"dbp\": 82, \"hr\": 70}}"), 200);
  }
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  assert_int_equal(alarm_record(a, id, LEAVING), 200);
  return id;
}

static void a_form_answer_is_amended_not_recorded_again(void **state) {
  alarm_serve *a = *state;
  char msg[4096], val[64];
  uint64_t id = to_leaving(a);
  int recorded = in_history(a, id, "\"respiratory_depression_occurred\"");

  /* "yes" over the recorded "no": refused, naming the item and the way. */
  assert_int_equal(
      alarm_cmd_msg(a, NULL, id, "entries", "{\"respiratory_depression_occurred\": \"yes\"}", msg, sizeof msg), 409);
  assert_non_null(strstr(msg, "Respiratory depression occurred during this session"));
  assert_non_null(strstr(msg, "/amend"));
  assert_string_equal(item_value(a, id, "discharge", "respiratory_depression_occurred", val, sizeof val), "no");
  /* Refused as one entry: nothing of it is recorded. */
  assert_int_equal(alarm_record(a, id, "{\"respiratory_depression_occurred\": \"yes\", \"moaas\": \"5\"}"), 409);
  assert_int_equal(in_history(a, id, "\"respiratory_depression_occurred\""), recorded);

  /* The same answer again is no change. */
  assert_int_equal(alarm_record(a, id, "{\"respiratory_depression_occurred\": \"no\"}"), 200);

  /* An amendment with a reason changes it, and says so in the history. */
  assert_int_equal(alarm_cmd(a, NULL, id, "amend",
                             "{\"item\": \"respiratory_depression_occurred\", \"value\": \"yes\", \"reason\": "
                             "\"SpO2 dipped at 20 min, oxygen given\"}"),
                   200);
  assert_string_equal(item_value(a, id, "discharge", "respiratory_depression_occurred", val, sizeof val), "yes");
  assert_true(in_history(a, id, "item.amended") >= 1);
  assert_true(in_history(a, id, "SpO2 dipped at 20 min, oxygen given") >= 1);
}

#define KETAMINE_SCREENING                                                                                             \
  "{\"consent\": true, \"ci_hypertension\": \"no\", \"ci_vascular\": \"no\", \"ci_psychosis\": \"no\","                \
  " \"ci_hypersensitivity\": \"no\", \"pregnancy\": \"not applicable\", \"substance_use\": \"no\","                    \
  " \"ride_confirmed\": true, \"baseline\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 70, \"spo2\": 98, \"rr\": 14},"        \
  " \"phq9\": {\"q1\": 2, \"q2\": 2, \"q3\": 1, \"q4\": 1, \"q5\": 0, \"q6\": 1, \"q7\": 1, \"q8\": 0, \"q9\": 0}}"

static void a_screening_answer_that_holds_nothing_is_amended(void **state) {
  alarm_serve *a = *state;
  char msg[4096], val[64];
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_false(amend_only(a, id, "screening", "substance_use"));
  assert_int_equal(alarm_record(a, id, KETAMINE_SCREENING), 200);
  /* What the entry refuses, the visit says: Amend, not "Record again". */
  assert_true(amend_only(a, id, "screening", "substance_use"));
  assert_false(amend_only(a, id, "screening", "baseline"));
  assert_false(amend_only(a, id, "screening", "ride_confirmed"));
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", "{\"substance_use\": \"yes\"}", msg, sizeof msg), 409);
  assert_non_null(strstr(msg, "/amend"));
  assert_string_equal(item_value(a, id, "screening", "substance_use", val, sizeof val), "no");
  /* The baseline vitals are a reading: recorded again, the latest counts. */
  assert_int_equal(
      alarm_record(a, id, "{\"baseline\": {\"sbp\": 132, \"dbp\": 82, \"hr\": 72, \"spo2\": 97, \"rr\": 15}}"), 200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_form_answer_is_amended_not_recorded_again, alarm_setup_esketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_screening_answer_that_holds_nothing_is_amended, alarm_setup_ketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
