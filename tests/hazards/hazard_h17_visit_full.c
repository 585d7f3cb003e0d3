/* H17 (docs/safety.md; docs/security.md AM3): the limit on readings per
 * visit refuses a real entry.
 *
 * The finding (AM3): a nurse recorded 20,000 entries of 3,990 characters in
 * 9 s, nothing limited it; the visit's FHIR Bundle was 80.2 MB, 2.4 s to
 * build on the loop, 1.26 GB at four concurrent reads. The control:
 * vigil.conf `max_readings_per_visit` (3000 by default), every item's
 * readings of one visit together. The hazard it brings: an entry a nurse
 * needs refused. So the refusal must say so: 409 `visit_full` naming the
 * limit, nothing of the entry recorded (not half of it), the earlier
 * readings intact, a line in the log, a note still taken (where the nurse
 * writes what could not be recorded), and every other visit served.
 *
 * End to end over the HTTP API of a real `vigil serve`. Fails without the
 * control: the setting is unknown (the server does not start) and, with the
 * default, the 3001st reading is 200. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

/* The screening entry of ALARM_KETAMINE_SCREENING records 11 items. */
#define SCREENING_READINGS 11
#define BASELINE "{\"baseline\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 70, \"spo2\": 98, \"rr\": 14}}"
#define BASELINE_AND_FASTING                                                                                           \
  "{\"baseline\": {\"sbp\": 130, \"dbp\": 82, \"hr\": 72, \"spo2\": 97, \"rr\": 15}, \"fasting_hours\": 6}"

static int setup_limit_40(void **state) {
  alarm_serve *a = calloc(1, sizeof *a);
  const char *protocols[] = {"@ketamine_iv"};
  if (!a || alarm_start_with(a, protocols, 1, "max_readings_per_visit = 40") < 0) {
    if (a) serve_cleanup(&a->s);
    free(a);
    return -1;
  }
  *state = a;
  return 0;
}

/* How many readings the visit's item phase.item holds. */
static long long item_count(alarm_serve *a, uint64_t id, const char *phase, const char *item) {
  json_t *v = alarm_visit_json(a, id);
  json_t *x = alarm_visit_item(v, phase, item);
  long long n = json_integer_value(json_object_get(x, "count"));
  json_decref(v);
  return n;
}

/* The entry past the limit, as who (NULL: the nurse): 409 visit_full naming the limit; nothing of it
 * recorded, nor of a two-item entry when one reading is left. */
static void expect_full(alarm_serve *a, const char *who, uint64_t id, const char *entry, const char *limit) {
  char path[128], msg[4096];
  json_t *r = NULL;
  snprintf(path, sizeof path, "/api/v1/visits/%llu/entries", (unsigned long long)id);
  int status = alarm_call(a, who, "POST", path, entry, &r);
  json_t *err = json_object_get(r, "error");
  const char *m = json_string_value(json_object_get(err, "message"));
  snprintf(msg, sizeof msg, "%s", m ? m : "");
  if (status != 409) fail_msg("the entry past the limit: %d, not 409 (%s)", status, msg);
  assert_string_equal(json_string_value(json_object_get(err, "code")), "visit_full");
  assert_string_equal(json_string_value(json_object_get(err, "field")), "max_readings_per_visit");
  if (!strstr(msg, "max_readings_per_visit") || !strstr(msg, limit) || !strstr(msg, "nothing of this entry"))
    fail_msg("the refusal does not name the limit %s: %s", limit, msg);
  json_decref(r);
}

static void the_entry_past_the_limit_is_refused(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_screened(a, ALARM_KETAMINE_SCREENING);
  /* 11 readings, then 29 baselines: 40, the limit. */
  for (int i = SCREENING_READINGS; i < 40; i++)
    assert_int_equal(alarm_record(a, id, BASELINE), 200);
  assert_int_equal(item_count(a, id, "screening", "baseline"), 30);
  expect_full(a, NULL, id, BASELINE, "40");
  expect_full(a, NULL, id, BASELINE_AND_FASTING, "40");
  /* Nothing of either recorded; the earlier readings intact. */
  assert_int_equal(item_count(a, id, "screening", "baseline"), 30);
  assert_int_equal(item_count(a, id, "screening", "consent"), 1);
  assert_int_equal(item_count(a, id, "screening", "dose"), 1);
  assert_int_equal(item_count(a, id, "screening", "fasting_hours"), 0);
  /* The log says so. */
  char *log = serve_log(&a->s);
  if (!log || !strstr(log, "max_readings_per_visit") || !strstr(log, "refused"))
    fail_msg("the refusal is not in the log:\n%s", log ? log : "");
  free(log);
  /* What could not be recorded is written in a note. */
  assert_int_equal(
      alarm_cmd(a, NULL, id, "notes", "{\"note\": \"BP 130/82 HR 72 at 10:40 not taken: visit full, told Dr B\"}"),
      200);
  /* Another visit is served, the whole of its entry recorded. */
  uint64_t other = alarm_ketamine_screened(a, ALARM_KETAMINE_SCREENING);
  assert_int_equal(alarm_record(a, other, BASELINE_AND_FASTING), 200);
  assert_int_equal(item_count(a, other, "screening", "baseline"), 2);
  /* The full visit still moves on: its signature, no new reading past the
   * limit, is refused the same way; a clinician's override is the way on. */
  expect_full(a, ALARM_CLINICIAN, id, "{\"dose_check\": true, \"password\": \"" SERVE_PASSWORD "\"}", "40");
}

/* The default, with no setting: 3000 readings are taken, the next refused. */
static void the_default_is_3000(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_screened(a, ALARM_KETAMINE_SCREENING);
  for (int i = SCREENING_READINGS; i < 3000; i++) {
    int status = alarm_record(a, id, BASELINE);
    if (status != 200) fail_msg("reading %d of the default 3000: %d", i + 1, status);
  }
  expect_full(a, NULL, id, BASELINE, "3000");
  assert_int_equal(item_count(a, id, "screening", "baseline"), 3000 - SCREENING_READINGS + 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(the_entry_past_the_limit_is_refused, setup_limit_40, alarm_teardown),
      cmocka_unit_test_setup_teardown(the_default_is_3000, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
