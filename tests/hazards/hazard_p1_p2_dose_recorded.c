/* P1 and P2 (docs/safety.md, the seventh independent try): M1's dose given
 * was defeated. P1: a nurse amended infusion_started from true to false, then
 * aborted (200), and a new visit dosed at once; the dose_given items could be
 * skipped with a reason, which met the gate with no dose on record. P2: two
 * concurrent visits of one patient (a clinician's override started the
 * second) both went into the infusion before either dosed, then both
 * recorded infusion_started: 200, no hold.
 *
 * End to end over the HTTP API of a real `vigil serve` with the bundled
 * ketamine_iv and esketamine_rems. Fails without each control: the skip's
 * refusal (commands.c vigil__cmd_visit_skip, vigil__course_dose_item), the
 * clinician's amendment (server/api/api.c, vigil_visit_amend_undoes_dose),
 * the dose that stays given (visit.c said_something, course.c
 * dose_given_at) and the hold at recording the dose (course.c
 * vigil__course_dose_hold). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

/* POST /visits as who (NULL: the nurse) for a ketamine_iv visit of patient
 * (with body's more members): the new visit's id, 0 when refused. */
static uint64_t ketamine(alarm_serve *a, const char *who, const char *patient, const char *more) {
  char body[512];
  json_t *r = NULL;
  snprintf(body, sizeof body, "{\"protocol\": \"ketamine_iv\", \"patient\": \"%s\", \"params\": {\"weight\": 70}%s}",
           patient, more ? more : "");
  uint64_t id = 0;
  if (alarm_call(a, who, "POST", "/api/v1/visits", body, &r) == 201)
    id = (uint64_t)json_integer_value(json_object_get(r, "id"));
  json_decref(r);
  return id;
}

static const char *SIGNED_ABORT = "{\"reason\": \"patient left\", \"password\": \"" SERVE_PASSWORD "\"}";

static void dose_given_items_cannot_be_skipped(void **state) {
  alarm_serve *a = *state;
  char msg[1024];
  uint64_t id = ketamine(a, NULL, "P-1001", NULL);
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200); /* to the infusion */
  assert_int_equal(
      alarm_cmd_msg(a, NULL, id, "skip", "{\"item\": \"infusion_started\", \"reason\": \"pump log\"}", msg, sizeof msg),
      422);
  assert_non_null(strstr(msg, "whether the dose was given"));
  /* esketamine's devices_administered the same way. */
  json_t *r = NULL;
  assert_int_equal(
      alarm_call(a, NULL, "POST", "/api/v1/visits", "{\"protocol\": \"esketamine_rems\", \"patient\": \"P-1002\"}", &r),
      201);
  uint64_t es = (uint64_t)json_integer_value(json_object_get(r, "id"));
  json_decref(r);
  assert_int_equal(alarm_override(a, es), 200); /* to dosing */
  assert_int_equal(alarm_cmd_msg(a, NULL, es, "skip",
                                 "{\"item\": \"devices_administered\", \"reason\": \"recorded on paper\"}", msg,
                                 sizeof msg),
                   422);
  assert_non_null(strstr(msg, "whether the dose was given"));
}

static void an_amended_dose_still_counts(void **state) {
  alarm_serve *a = *state;
  char msg[1024];
  uint64_t first = ketamine(a, NULL, "P-1003", NULL);
  assert_true(first > 0);
  assert_int_equal(alarm_override(a, first), 200);
  assert_int_equal(alarm_record(a, first, "{\"infusion_started\": true}"), 200);
  /* The nurse's amendment to "not given": a clinician's, naming why. */
  const char *undo = "{\"item\": \"infusion_started\", \"value\": false, \"reason\": \"entered in error\"";
  char body[256];
  snprintf(body, sizeof body, "%s}", undo);
  assert_int_equal(alarm_cmd_msg(a, NULL, first, "amend", body, msg, sizeof msg), 403);
  assert_non_null(strstr(msg, "only a clinician"));
  /* The clinician's, signed: 401 without the password, 200 with it. */
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, first, "amend", body), 401);
  snprintf(body, sizeof body, "%s, \"password\": \"" SERVE_PASSWORD "\"}", undo);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, first, "amend", body), 200);
  /* The dose stays given: the nurse's abort is still refused. */
  assert_int_equal(alarm_cmd_msg(a, NULL, first, "abort", "{\"reason\": \"patient left\"}", msg, sizeof msg), 409);
  assert_non_null(strstr(msg, "infusion_started"));
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, first, "abort", SIGNED_ABORT), 200);
  /* And the next session's first gate holds for the minimum interval. */
  uint64_t second = ketamine(a, NULL, "P-1003", NULL);
  assert_true(second > 0);
  char *text = alarm_visit_text(a, second);
  assert_non_null(text);
  assert_non_null(strstr(text, "dose given (its visit aborted since)"));
  free(text);
}

static void two_concurrent_visits_dose_once(void **state) {
  alarm_serve *a = *state;
  char msg[1024];
  uint64_t one = ketamine(a, NULL, "P-1004", NULL);
  assert_true(one > 0);
  uint64_t two = ketamine(a, ALARM_CLINICIAN, "P-1004",
                          ", \"override_reason\": \"duplicate record\", \"password\": \"" SERVE_PASSWORD "\"");
  assert_true(two > 0);
  /* Both into the infusion before either is dosed. */
  assert_int_equal(alarm_override(a, one), 200);
  assert_int_equal(alarm_override(a, two), 200);
  assert_int_equal(alarm_record(a, one, "{\"infusion_started\": true}"), 200);
  assert_int_equal(alarm_advance_clock(a, "3m"), 200);
  /* The second dose: 409 naming the first visit's. */
  assert_int_equal(alarm_cmd_msg(a, NULL, two, "entries", "{\"infusion_started\": true}", msg, sizeof msg), 409);
  char first[64];
  snprintf(first, sizeof first, "visit %llu", (unsigned long long)one);
  assert_non_null(strstr(msg, first));
  assert_non_null(strstr(msg, "minimum interval"));
  /* Recording that it was not given is taken. */
  assert_int_equal(alarm_record(a, two, "{\"infusion_started\": false}"), 200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(dose_given_items_cannot_be_skipped, alarm_setup_both, alarm_teardown),
      cmocka_unit_test_setup_teardown(an_amended_dose_still_counts, alarm_setup_both, alarm_teardown),
      cmocka_unit_test_setup_teardown(two_concurrent_visits_dose_once, alarm_setup_both, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
