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
 * the screening's and the REMS form's one-off answers, and since Y1 such a
 * score: ketamine_iv's PHQ-9, whose item 9 = 2 recorded again as 0 lifted
 * the suicide-risk assessment with no reason) is 409 naming the item
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
  json_t *v = alarm_visit_json(a, id);
  const char *s = json_string_value(json_object_get(alarm_visit_item(v, phase, item), "value"));
  snprintf(out, len, "%s", s ? s : "");
  json_decref(v);
  return out;
}

/* Whether item of phase has "amend_only": true in the visit's JSON. */
static int amend_only(alarm_serve *a, uint64_t id, const char *phase, const char *item) {
  json_t *v = alarm_visit_json(a, id);
  int yes = json_is_true(json_object_get(alarm_visit_item(v, phase, item), "amend_only"));
  json_decref(v);
  return yes;
}

/* Field of ketamine_iv's recorded PHQ-9 ("q9", "total"), -1 when none. */
static int phq9_field(alarm_serve *a, uint64_t id, const char *field) {
  json_t *v = alarm_visit_json(a, id);
  json_t *x = json_object_get(json_object_get(alarm_visit_item(v, "screening", "phq9"), "value"), field);
  int n = json_is_number(x) ? (int)json_number_value(x) : -1;
  json_decref(v);
  return n;
}

/* Whether the suicide-risk assessment applies to the visit now (its `when`). */
static int assessment_applies(alarm_serve *a, uint64_t id) {
  json_t *v = alarm_visit_json(a, id);
  int yes = json_is_true(json_object_get(alarm_visit_item(v, "screening", "suicide_risk"), "applies"));
  json_decref(v);
  return yes;
}

/* Whether one of the gate's reasons contains text. */
static int gate_says(alarm_serve *a, uint64_t id, const char *text) {
  json_t *v = alarm_visit_json(a, id), *r;
  size_t i;
  int yes = 0;
  json_array_foreach(json_object_get(json_object_get(v, "gate"), "reasons"), i, r) {
    yes |= json_string_value(r) && strstr(json_string_value(r), text) != NULL;
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

/* PHQ-9 answers 2 2 2 2 2 2 2 3 (17) and item 9 as given. */
#define PHQ9_ANSWERS(q9)                                                                                               \
  "{\"q1\": 2, \"q2\": 2, \"q3\": 2, \"q4\": 2, \"q5\": 2, \"q6\": 2, \"q7\": 2, \"q8\": 3, \"q9\": " #q9 "}"

/* Y1: ketamine_iv's PHQ-9, a score the protocol says cannot be skipped, is
 * given once: item 9 = 2 recorded again as 0 by a plain entry lifted the
 * suicide-risk assessment ("Does not apply") with no reason in the history. */
static void a_recorded_score_is_amended_not_recorded_again(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, "{\"phq9\": " PHQ9_ANSWERS(2) "}"), 200);
  assert_int_equal(phq9_field(a, id, "total"), 19);
  assert_true(assessment_applies(a, id));
  alarm_expect_state(a, id, "self_harm", "active");
  /* What the entry refuses, the visit says: Amend, not "Record again". */
  assert_true(amend_only(a, id, "screening", "phq9"));
  int recorded = in_history(a, id, "\"q9\"");
  assert_true(recorded > 0);

  /* Item 9 = 0 over the recorded 2: refused, naming the score and the way;
   * nothing of the entry is recorded, the assessment still applies. */
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", "{\"phq9\": " PHQ9_ANSWERS(0) "}", msg, sizeof msg), 409);
  assert_non_null(strstr(msg, "PHQ-9"));
  assert_non_null(strstr(msg, "/amend"));
  assert_int_equal(phq9_field(a, id, "q9"), 2);
  assert_int_equal(phq9_field(a, id, "total"), 19);
  assert_true(assessment_applies(a, id));
  assert_int_equal(in_history(a, id, "\"q9\""), recorded);

  /* The same answers again, in another order, are no change. */
  assert_int_equal(alarm_record(a, id,
                                "{\"phq9\": {\"q9\": 2, \"q8\": 3, \"q7\": 2, \"q6\": 2, \"q5\": 2, \"q4\": 2,"
                                " \"q3\": 2, \"q2\": 2, \"q1\": 2}}"),
                   200);

  /* An amendment with a reason changes it and is in the history as one. The
   * protocol's assessment reads the answer now (its `when`: item 9 above 0),
   * so it no longer applies; the carried alert of the first answer stays
   * active and holds the gate until a clinician assesses or acknowledges it
   * with a reason (H4, F5). */
  assert_int_equal(
      alarm_cmd(a, NULL, id, "amend",
                "{\"item\": \"phq9\", \"value\": " PHQ9_ANSWERS(0) ", \"reason\": \"item 9 keyed in the wrong row\"}"),
      200);
  assert_int_equal(phq9_field(a, id, "q9"), 0);
  assert_int_equal(phq9_field(a, id, "total"), 17);
  assert_true(in_history(a, id, "item.amended") >= 1);
  assert_true(in_history(a, id, "item 9 keyed in the wrong row") >= 1);
  assert_false(assessment_applies(a, id));
  alarm_expect_state(a, id, "self_harm", "active");
  assert_true(gate_says(a, id, "PHQ-9 item 9 scored 2"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_form_answer_is_amended_not_recorded_again, alarm_setup_esketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_screening_answer_that_holds_nothing_is_amended, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_recorded_score_is_amended_not_recorded_again, alarm_setup_ketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
