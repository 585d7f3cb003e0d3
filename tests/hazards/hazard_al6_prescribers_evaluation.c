/* AL6 (its open half) of docs/safety.md: esketamine_rems's
 * `discharge.leaving_acceptable` is the REMS form's
 * `vitals_acceptable_before_leaving`, "the prescriber's evaluation"; a
 * nurse's "yes" was taken and filed as it.
 *
 * Control: the item is a clinician's entry (`clinician = true`, a new item
 * option of the protocol language): the HTTP API refuses anyone else's
 * entry, amendment or skip of it, 403 naming it, nothing of the entry
 * recorded (server/api/api.c, vigil_visit_items_clinician), so the form's
 * field is a clinician's entry.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock. Fails without the control: the nurse's entry of leaving_acceptable
 * is 200, not 403. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

/* The nurse's request's status is 403 and its error names leaving_acceptable. */
static void refused_to_the_nurse(alarm_serve *a, uint64_t id, const char *what, const char *body) {
  char msg[2048];
  int status = alarm_cmd_msg(a, NULL, id, what, body, msg, sizeof msg);
  if (status != 403) fail_msg("the nurse's %s of leaving_acceptable was %d, not 403: %s", what, status, msg);
  if (!strstr(msg, "leaving_acceptable is a clinician's entry"))
    fail_msg("the 403 does not name leaving_acceptable: %s", msg);
}

/* The recorder of discharge.leaving_acceptable in the visit's JSON, "" when unrecorded. */
static void expect_recorded_by(alarm_serve *a, uint64_t id, const char *who) {
  json_t *v = alarm_visit_json(a, id), *it = alarm_visit_item(v, "discharge", "leaving_acceptable");
  assert_non_null(it);
  const char *by = json_string_value(json_object_get(it, "recorded_by"));
  if (strcmp(by ? by : "", who)) fail_msg("leaving_acceptable recorded by \"%s\", not \"%s\"", by ? by : "", who);
  json_decref(v);
}

/* AL6: the nurse's "yes" with the leaving entries is refused whole, naming
 * the item (nothing recorded); her skip and, once the prescriber has
 * answered, her amendment are refused too; the REMS form's field is the
 * prescriber's answer. */
static void the_prescribers_evaluation_is_a_clinicians_entry(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE(0));
  alarm_esketamine_calm_monitoring(a, id);
  refused_to_the_nurse(
      a, id, "entries",
      "{\"bp_before_leaving\": {\"sbp\": 124, \"dbp\": 78, \"hr\": 68}, \"leaving_acceptable\": \"yes\"}");
  json_t *v = alarm_visit_json(a, id);
  assert_int_equal(json_integer_value(json_object_get(alarm_visit_item(v, "discharge", "bp_before_leaving"), "count")),
                   0);
  assert_true(json_is_true(json_object_get(alarm_visit_item(v, "discharge", "leaving_acceptable"), "clinician")));
  json_decref(v);
  refused_to_the_nurse(a, id, "skip", "{\"item\": \"leaving_acceptable\", \"reason\": \"prescriber busy\"}");
  expect_recorded_by(a, id, "");

  assert_int_equal(alarm_record(a, id, ALARM_ESKETAMINE_LEAVING), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"leaving_acceptable\": \"no\"}"), 200);
  refused_to_the_nurse(a, id, "amend",
                       "{\"item\": \"leaving_acceptable\", \"value\": \"yes\", \"reason\": \"BP fine on repeat\"}");
  expect_recorded_by(a, id, ALARM_CLINICIAN);
  alarm_held_saying(a, id, "vitals not judged acceptable for leaving");
  /* The prescriber changes her answer, with a reason; the patient leaves. */
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "amend",
                             "{\"item\": \"leaving_acceptable\", \"value\": \"yes\", \"reason\": \"reassessed\"}"),
                   200);
  char msg[4096];
  if (alarm_discharge(a, id, msg, sizeof msg) != 200) fail_msg("held after the prescriber's yes: %s", msg);

  char path[96];
  json_t *form = NULL;
  snprintf(path, sizeof path, "/api/v1/visits/%llu/rems", (unsigned long long)id);
  assert_int_equal(alarm_call(a, ALARM_CLINICIAN, "GET", path, NULL, &form), 200);
  assert_string_equal(alarm_str(form, "vitals_acceptable_before_leaving"), "yes");
  json_decref(form);
  expect_recorded_by(a, id, ALARM_CLINICIAN);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(the_prescribers_evaluation_is_a_clinicians_entry, alarm_setup_esketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
