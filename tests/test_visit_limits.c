/* AQ7 (docs/security.md): a visit's notes and amendments are bounded as its
 * readings are (AM3, docs/safety.md H17).
 *
 * The finding: notes and amendments had no per-visit limit: 4,000
 * amendments and 5,000 notes on a full visit in 35 s, 30 MB. The control:
 * vigil.conf `max_notes_per_visit` and `max_amendments_per_visit` (1000
 * each by default), in the engine beside `max_readings_per_visit`
 * (core/engine/commands.c vigil__visit_full): one past either is 409
 * `visit_full` naming the setting, nothing of it recorded, a `warn` line in
 * the log, other visits unaffected; the counts are the visit's events, so a
 * restart keeps them.
 *
 * End to end over HTTP against a real `vigil serve`. Fails without the
 * control: the settings are unknown (the server does not start) and the
 * fourth note is 200.
 *
 * AT7: with the notes full too, the amendment's refusal said "write the
 * correction in a note" and the entry's "notes are still taken"; an entry of
 * 2 readings at 11 of 12 did not say it needed 2. Fails without it on the
 * amendment's wording. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazards/alarm_serve.h"

#define NOTE "{\"note\": \"patient comfortable, talking\"}"
#define AMEND                                                                                                          \
  "{\"item\": \"baseline\", \"value\": {\"sbp\": %d, \"dbp\": 80, \"hr\": 70, \"spo2\": 98, \"rr\": 14}, "             \
  "\"reason\": \"misread the cuff\"}"

static int setup(void **state) {
  alarm_serve *a = calloc(1, sizeof *a);
  const char *protocols[] = {"@ketamine_iv"};
  if (!a ||
      alarm_start_with(a, protocols, 1,
                       "max_notes_per_visit = 3\nmax_amendments_per_visit = 2\nmax_readings_per_visit = 12") < 0) {
    if (a) serve_cleanup(&a->s);
    free(a);
    return -1;
  }
  *state = a;
  return 0;
}

static int amend(alarm_serve *a, uint64_t id, int sbp, char *msg, size_t len) {
  char body[300];
  snprintf(body, sizeof body, AMEND, sbp);
  return alarm_cmd_msg(a, NULL, id, "amend", body, msg, len);
}

/* The refusal: 409 visit_full naming the setting and its limit. */
static void expect_full(alarm_serve *a, uint64_t id, const char *what, const char *body, const char *setting,
                        const char *limit) {
  char path[128], msg[4096];
  json_t *r = NULL;
  snprintf(path, sizeof path, "/api/v1/visits/%llu/%s", (unsigned long long)id, what);
  int status = alarm_call(a, NULL, "POST", path, body, &r);
  json_t *err = json_object_get(r, "error");
  const char *code = json_string_value(json_object_get(err, "code"));
  const char *field = json_string_value(json_object_get(err, "field"));
  const char *m = json_string_value(json_object_get(err, "message"));
  snprintf(msg, sizeof msg, "%s", m ? m : "");
  if (status != 409) fail_msg("the %s past the limit: %d, not 409 (%s)", what, status, msg);
  if (!code || strcmp(code, "visit_full") || !field || strcmp(field, setting))
    fail_msg("the %s past the limit is not visit_full on %s: %s %s", what, setting, code ? code : "-",
             field ? field : "-");
  if (!strstr(msg, setting) || !strstr(msg, limit) || !strstr(msg, "was recorded"))
    fail_msg("the refusal does not name %s %s: %s", setting, limit, msg);
  json_decref(r);
}

/* How many note.written or item.amended events the visit's history holds. */
static int events_of(alarm_serve *a, uint64_t id, const char *type) {
  char *h = alarm_history_text(a, id), needle[64];
  assert_non_null(h);
  snprintf(needle, sizeof needle, "\"%s\"", type);
  int n = 0;
  for (const char *p = h; (p = strstr(p, needle)); p++)
    n++;
  free(h);
  return n;
}

static void notes_and_amendments_past_the_limit(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_ketamine_screened(a, ALARM_KETAMINE_SCREENING);
  for (int i = 0; i < 3; i++)
    assert_int_equal(alarm_cmd(a, NULL, id, "notes", NOTE), 200);
  expect_full(a, id, "notes", NOTE, "max_notes_per_visit", "3");
  assert_int_equal(events_of(a, id, "note.written"), 3);
  assert_int_equal(amend(a, id, 120, msg, sizeof msg), 200);
  assert_int_equal(amend(a, id, 121, msg, sizeof msg), 200);
  char body[300];
  snprintf(body, sizeof body, AMEND, 122);
  expect_full(a, id, "amend", body, "max_amendments_per_visit", "2");
  assert_int_equal(events_of(a, id, "item.amended"), 2);
  /* AT7: with the notes full too, neither refusal sends the nurse to a
   * note; an entry of 2 readings at 11 of 12 says it needed 2. */
  char full_msg[4096];
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "amend", body, full_msg, sizeof full_msg), 409);
  if (strstr(full_msg, "in a note") || !strstr(full_msg, "notes are full"))
    fail_msg("the amendment's refusal with the notes full: %s", full_msg);
  assert_int_equal(
      alarm_cmd_msg(a, NULL, id, "entries", "{\"consent\": true, \"ride_confirmed\": true}", full_msg, sizeof full_msg),
      409);
  if (strstr(full_msg, "notes are still taken") || !strstr(full_msg, "notes are full") ||
      !strstr(full_msg, "holds 11 readings") || !strstr(full_msg, "needs 2"))
    fail_msg("the entry's refusal with the notes full: %s", full_msg);
  /* Nothing of the refused amendment: the value is the last one taken. */
  json_t *v = alarm_visit_json(a, id);
  json_t *baseline = alarm_visit_item(v, "screening", "baseline");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(baseline, "value"), "sbp")), 121);
  json_decref(v);
  /* The log says so. */
  char *log = serve_log(&a->s);
  if (!log || !strstr(log, "max_notes_per_visit") || !strstr(log, "max_amendments_per_visit") ||
      !strstr(log, "refused"))
    fail_msg("the refusals are not in the log:\n%s", log ? log : "");
  free(log);
  /* Another visit is served. */
  uint64_t other = alarm_ketamine_screened(a, ALARM_KETAMINE_SCREENING);
  assert_int_equal(alarm_cmd(a, NULL, other, "notes", NOTE), 200);
  assert_int_equal(amend(a, other, 125, msg, sizeof msg), 200);
  /* The counts are the visit's events: a restart keeps them. */
  assert_int_equal(serve_stop(&a->s, 0), 0);
  assert_int_equal(serve_start_args(&a->s, alarm_serve_args), 0);
  a->clinician_token[0] = a->admin_token[0] = '\0';
  expect_full(a, id, "notes", NOTE, "max_notes_per_visit", "3");
  expect_full(a, id, "amend", body, "max_amendments_per_visit", "2");
  assert_int_equal(alarm_cmd(a, NULL, other, "notes", NOTE), 200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(notes_and_amendments_past_the_limit, setup, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
