/* P9's open parts (docs/safety.md; H5 prescriptions changed by the wrong
 * person, H16 a REMS form with a gap):
 *
 * - ketamine_iv's `dose_change` alert ("the clinician confirms the change")
 *   was acknowledged by a nurse with no reason. Control: the rule is carried
 *   (protocol data, `carry = true` in protocols/ketamine_iv/screening.lua):
 *   a nurse's acknowledgement is 403, a clinician's without a reason 422, and
 *   the infusion waits for the clinician's (N7's dose hold).
 * - esketamine_rems accepted a device lot number "A", which the REMS form
 *   reports. Control: the item's `format` (protocol data,
 *   protocols/esketamine_rems/dosing.lua; the engine's text format,
 *   core/lang/text_format.c, core/engine/entry.c): "A", "n/a" or a hyphen
 *   first are 422 naming `dosing.lot_number`, nothing recorded; "EKA2211" is
 *   recorded.
 *
 * End to end over the HTTP API of a real `vigil serve` with copies of the
 * bundled protocols. Each case fails without its control (the nurse's
 * acknowledgement 200; the lot "A" recorded, 200). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

#define KETAMINE_SCREENING(dose)                                                                                       \
  "{\"consent\": true, \"ci_hypertension\": \"no\", \"ci_vascular\": \"no\", \"ci_psychosis\": \"no\","                \
  " \"ci_hypersensitivity\": \"no\", \"pregnancy\": \"not applicable\", \"substance_use\": \"no\","                    \
  " \"ride_confirmed\": true, \"baseline\": {\"sbp\": 120, \"dbp\": 75, \"hr\": 70, \"spo2\": 98, \"rr\": 14},"        \
  " \"dose\": " dose ", \"phq9\": {\"q1\": 1, \"q2\": 1, \"q3\": 1, \"q4\": 1, \"q5\": 1, \"q6\": 1, \"q7\": 1,"       \
  " \"q8\": 1, \"q9\": 0}}"

static int setup(void **state) {
  const char *protocols[] = {"@ketamine_iv", "@esketamine_rems"};
  return alarm_setup_protocols(state, protocols, 2);
}

/* Session 1 at 35 mg, still open; session 2, which the clinician starts
 * beside it at 0.7 mg/kg (49 mg, 40 % more): the dose_change alert. */
static void a_dose_change_is_the_clinicians_to_confirm(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t first =
      alarm_visit_as(a, NULL, "{\"protocol\": \"ketamine_iv\", \"patient\": \"P-P9\", \"params\": {\"weight\": 70}}");
  assert_true(first > 0);
  assert_int_equal(alarm_record(a, first, KETAMINE_SCREENING("35")), 200);
  uint64_t second = alarm_visit_as(
      a, ALARM_CLINICIAN,
      "{\"protocol\": \"ketamine_iv\", \"patient\": \"P-P9\","
      " \"params\": {\"weight\": 70, \"dose_mg_per_kg\": 0.7},"
      " \"override_reason\": \"the first chair's visit is a duplicate\", \"password\": \"" SERVE_PASSWORD "\"}");
  assert_true(second > 0);
  assert_int_equal(alarm_record(a, second, KETAMINE_SCREENING("49")), 200);
  json_t *al = alarm_latest(a, second, "dose_change");
  assert_non_null(al);
  assert_non_null(strstr(alarm_str(al, "message"), "the clinician confirms the change"));
  assert_true(json_is_true(json_object_get(al, "carried")));
  uint64_t id = alarm_id(al);
  json_decref(al);
  /* A nurse's acknowledgement, with or without a reason: refused. */
  assert_int_equal(alarm_ack_as(a, NULL, id, "{}"), 403);
  assert_int_equal(alarm_ack_as(a, NULL, id, "{\"reason\": \"seen\"}"), 403);
  /* Into the infusion: the dose waits for the clinician. */
  assert_int_equal(
      alarm_cmd(a, ALARM_CLINICIAN, second, "entries", "{\"dose_check\": true, \"password\": \"" SERVE_PASSWORD "\"}"),
      200);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  assert_int_equal(alarm_cmd(a, NULL, second, "advance", "{}"), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, second, "entries", "{\"infusion_started\": true}", msg, sizeof msg), 409);
  if (!strstr(msg, "open until a clinician assesses it")) fail_msg("409 without the dose change: %s", msg);
  /* The clinician without a reason: 422; with one: confirmed and closed. */
  assert_int_equal(alarm_ack_as(a, ALARM_CLINICIAN, id, "{}"), 422);
  assert_int_equal(
      alarm_ack_as(a, ALARM_CLINICIAN, id, "{\"reason\": \"0.7 mg/kg prescribed after a partial response\"}"), 200);
  al = alarm_latest(a, second, "dose_change");
  assert_string_equal(alarm_str(al, "state"), "closed");
  json_decref(al);
  assert_int_equal(alarm_record(a, second, "{\"infusion_started\": true}"), 200);
}

/* The item's value as the visit shows it, or "" (a new string). */
static char *lot_of(alarm_serve *a, uint64_t visit) {
  char *text = alarm_visit_text(a, visit), *out = NULL;
  json_t *v = json_loads(text, 0, NULL), *ph, *it;
  free(text);
  size_t i, k;
  json_array_foreach(json_object_get(v, "phases"), i, ph) {
    json_array_foreach(json_object_get(ph, "items"), k, it) {
      if (!strcmp(alarm_str(it, "id"), "lot_number") && json_is_string(json_object_get(it, "value")))
        out = strdup(alarm_str(it, "value"));
    }
  }
  json_decref(v);
  return out ? out : strdup("");
}

static void a_lot_number_has_a_format(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_visit_as(a, NULL, "{\"protocol\": \"esketamine_rems\", \"patient\": \"P-P9L\"}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, ALARM_ESKETAMINE_PREDOSE(0)), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  static const char *const bad[] = {"A", "n/a", "-EKA2211", "EKA 2211", "EKA2211EKA2211EKA2211"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char body[256];
    snprintf(body, sizeof body, "{\"dose\": \"56 mg\", \"lot_number\": \"%s\", \"devices_administered\": true}",
             bad[i]);
    assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", body, msg, sizeof msg), 422);
    if (!strstr(msg, "lot_number: ") || !strstr(msg, "4 to 20 letters, digits or hyphens"))
      fail_msg("lot \"%s\": %s", bad[i], msg);
    char *lot = lot_of(a, id);
    assert_string_equal(lot, ""); /* nothing was recorded */
    free(lot);
  }
  assert_int_equal(
      alarm_record(a, id, "{\"dose\": \"56 mg\", \"lot_number\": \"EKA-2211\", \"devices_administered\": true}"), 200);
  char *lot = lot_of(a, id);
  assert_string_equal(lot, "EKA-2211");
  free(lot);
  /* Amended to "A": refused alike, the lot unchanged. */
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "amend",
                                 "{\"item\": \"lot_number\", \"value\": \"A\", \"reason\": \"misread the carton\"}",
                                 msg, sizeof msg),
                   422);
  lot = lot_of(a, id);
  assert_string_equal(lot, "EKA-2211");
  free(lot);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_dose_change_is_the_clinicians_to_confirm, setup, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_lot_number_has_a_format, setup, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
