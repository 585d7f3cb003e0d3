/* L1 (docs/safety.md H13, the tester's finding on esketamine_rems): a nurse
 * skipped every pre-dose safety answer of the bundled esketamine_rems 1.1.0
 * (consent, the contraindications, pregnancy, substance use, the REMS form's
 * co-medications, the pre-dose vitals, the oximeter, the prescriber on site)
 * with a reason and went on to dosing; ketamine_iv's screening had
 * `skippable = false` (H13/F2) and esketamine's did not.
 *
 * End to end over the HTTP API of a real `vigil serve` with a copy of the
 * bundled esketamine_rems: each skip is refused (422 "cannot be skipped") and
 * nothing is recorded, the gate still names what is missing and the advance is
 * 409; the REMS form's "vitals acceptable" yes with no pre-dose vitals holds
 * the checklist until they are recorded. Fails without the control
 * (protocols/esketamine_rems/predose.lua: skippable = false on each item, the
 * rule acceptable_without_vitals). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

/* POST /visits/{id}/skip as the nurse: the status, the error's message. */
static int skip_item(alarm_serve *a, uint64_t visit, const char *item, char *msg, size_t len) {
  char path[128], body[256];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/skip", (unsigned long long)visit);
  snprintf(body, sizeof body, "{\"item\": \"%s\", \"reason\": \"will do it later\"}", item);
  json_t *r = NULL;
  int status = alarm_call(a, NULL, "POST", path, body, &r);
  const char *m = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
  snprintf(msg, len, "%s", m ? m : "");
  json_decref(r);
  return status;
}

/* Each of the n items: a skip with a reason is 422 "cannot be skipped". */
static void cannot_skip(alarm_serve *a, uint64_t visit, const char *const *items, size_t n) {
  char msg[1024];
  for (size_t i = 0; i < n; i++) {
    int status = skip_item(a, visit, items[i], msg, sizeof msg);
    if (status != 422) fail_msg("skipping %s: %d %s", items[i], status, msg);
    assert_non_null(strstr(msg, "cannot be skipped"));
  }
}

/* The gate's reasons of the visit, joined. */
static void reasons_of(alarm_serve *a, uint64_t visit, char *out, size_t len) {
  char path[64];
  snprintf(path, sizeof path, "/api/v1/visits/%llu", (unsigned long long)visit);
  json_t *v = NULL, *x;
  size_t i;
  out[0] = '\0';
  if (alarm_call(a, NULL, "GET", path, NULL, &v) != 200) return;
  json_array_foreach(json_object_get(json_object_get(v, "gate"), "reasons"), i, x) {
    strncat(out, json_string_value(x), len - strlen(out) - 1);
    strncat(out, "; ", len - strlen(out) - 1);
  }
  json_decref(v);
}

static void predose_answers_cannot_be_skipped(void **state) {
  alarm_serve *a = *state;
  char reasons[4096];
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id > 0);
  const char *items[] = {"consent",        "ci_vascular",          "ci_hypersensitivity", "pregnancy",
                         "substance_use",  "comed_benzodiazepine", "comed_hypnotic",      "comed_psychostimulant",
                         "comed_maoi",     "ride_confirmed",       "prescriber_on_site",  "pulse_oximeter",
                         "predose_vitals", "predose_acceptable"};
  cannot_skip(a, id, items, sizeof items / sizeof items[0]);
  /* Nothing was skipped: the gate still lists them, and dosing waits. */
  reasons_of(a, id, reasons, sizeof reasons);
  assert_non_null(strstr(reasons, "Vitals before dosing not recorded"));
  assert_non_null(strstr(reasons, "Takes monoamine oxidase inhibitors (MAOIs) not recorded"));
  assert_non_null(strstr(reasons, "informed consent not confirmed"));
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 409);
}

static void acceptable_vitals_need_vitals(void **state) {
  alarm_serve *a = *state;
  char reasons[4096];
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id > 0);
  assert_int_equal(
      alarm_record(a, id,
                   "{\"consent\": true, \"ci_vascular\": \"no\", \"ci_hypersensitivity\": \"no\","
                   " \"pregnancy\": \"neither\", \"substance_use\": \"no\", \"self_harm_thoughts\": \"0\", "
                   "\"comed_benzodiazepine\": \"no\","
                   " \"comed_hypnotic\": \"no\", \"comed_psychostimulant\": \"no\", \"comed_maoi\": \"no\","
                   " \"ride_confirmed\": true, \"prescriber_on_site\": true, \"pulse_oximeter\": true}"),
      200);
  /* The prescriber's "vitals acceptable" before any vitals: it holds. */
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  reasons_of(a, id, reasons, sizeof reasons);
  assert_non_null(strstr(reasons, "Vitals judged acceptable for dosing, but no pre-dose vitals are recorded"));
  /* The vitals recorded, the hold is gone and dosing may start. */
  assert_int_equal(alarm_record(a, id,
                                "{\"predose_vitals\": {\"sbp\": 128, \"dbp\": 78, \"hr\": 70, \"spo2\": 98,"
                                " \"rr\": 14}}"),
                   200);
  reasons_of(a, id, reasons, sizeof reasons);
  assert_null(strstr(reasons, "no pre-dose vitals"));
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
}

#define PREDOSE_CLEAN                                                                                                  \
  "{\"consent\": true, \"ci_vascular\": \"no\", \"ci_hypersensitivity\": \"no\","                                      \
  " \"pregnancy\": \"neither\", \"substance_use\": \"no\", \"self_harm_thoughts\": \"0\", \"comed_benzodiazepine\": "  \
  "\"no\","                                                                                                            \
  " \"comed_hypnotic\": \"no\", \"comed_psychostimulant\": \"no\", \"comed_maoi\": \"no\","                            \
  " \"ride_confirmed\": true, \"prescriber_on_site\": true, \"pulse_oximeter\": true,"                                 \
  " \"predose_vitals\": {\"sbp\": 128, \"dbp\": 78, \"hr\": 70, \"spo2\": 98, \"rr\": 14}}"

/* M5 (docs/safety.md): the dose and its lot, the BP before leaving and the REMS
 * form's three questions were skippable with "n/a", and "vitals acceptable
 * before leaving" yes was filed with no blood pressure: the REMS form showed
 * dose null and bp null. Each skip is now 422 and the yes without a BP holds
 * the discharge (rule leaving_without_vitals). P6 (the seventh try): a nurse
 * skipped ride_present and no_driving_advice and discharged; 1.4.2 refuses. */
static void dose_and_leaving_answers_cannot_be_skipped(void **state) {
  alarm_serve *a = *state;
  char reasons[4096];
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, PREDOSE_CLEAN), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  const char *dosing[] = {"dose", "lot_number"};
  cannot_skip(a, id, dosing, sizeof dosing / sizeof dosing[0]);
  assert_int_equal(alarm_record(a, id,
                                "{\"dose\": \"56 mg\", \"lot_number\": \"EKA2211\","
                                " \"devices_administered\": true}"),
                   200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  /* Two hours of calm monitoring, every 15 minutes; the BP at 40 minutes. */
  for (int m = 15; m <= 135; m += 15) {
    assert_int_equal(alarm_advance_clock(a, "15m"), 200);
    assert_int_equal(alarm_record(a, id,
                                  "{\"respiration\": {\"spo2\": 98, \"rr\": 14}, \"moaas\": \"5\","
                                  " \"dissociation\": \"none\"}"),
                     200);
    if (m == 45) assert_int_equal(alarm_record(a, id, "{\"bp_40m\": {\"sbp\": 130, \"dbp\": 80, \"hr\": 72}}"), 200);
  }
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  /* P6: the ride home and the no-driving advice too. */
  const char *leaving[] = {"bp_before_leaving",     "sedation_occurred",
                           "dissociation_occurred", "respiratory_depression_occurred",
                           "ride_present",          "no_driving_advice"};
  cannot_skip(a, id, leaving, sizeof leaving / sizeof leaving[0]);
  /* The prescriber's evaluation is a clinician's entry (AL6): the nurse's
   * skip is 403; the clinician's cannot skip it either. */
  char msg[1024];
  assert_int_equal(skip_item(a, id, "leaving_acceptable", msg, sizeof msg), 403);
  assert_int_equal(alarm_cmd_msg(a, ALARM_CLINICIAN, id, "skip",
                                 "{\"item\": \"leaving_acceptable\", \"reason\": \"will do it later\"}", msg,
                                 sizeof msg),
                   422);
  assert_non_null(strstr(msg, "cannot be skipped"));
  assert_int_equal(alarm_record(a, id,
                                "{\"sedation_occurred\": \"no\", \"dissociation_occurred\": \"no\","
                                " \"respiratory_depression_occurred\": \"no\", \"ride_present\": true,"
                                " \"no_driving_advice\": true}"),
                   200);
  /* The prescriber's "acceptable for leaving" with no BP before leaving holds. */
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"leaving_acceptable\": \"yes\"}"), 200);
  reasons_of(a, id, reasons, sizeof reasons);
  assert_non_null(strstr(reasons, "no blood pressure before leaving is recorded"));
  assert_int_equal(alarm_cmd(a, NULL, id, "discharge", "{\"password\": \"" SERVE_PASSWORD "\"}"), 409);
  assert_int_equal(alarm_record(a, id, "{\"bp_before_leaving\": {\"sbp\": 124, \"dbp\": 78, \"hr\": 70}}"), 200);
  reasons_of(a, id, reasons, sizeof reasons);
  assert_null(strstr(reasons, "no blood pressure before leaving"));
  /* Her "yes" was given before any BP before leaving: she answers again,
   * judging it (AS2; entered after it at the same instant: AS1). */
  assert_non_null(strstr(reasons, "given before any blood pressure before leaving"));
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"leaving_acceptable\": \"yes\"}"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "discharge", "{\"password\": \"" SERVE_PASSWORD "\"}"), 200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(predose_answers_cannot_be_skipped, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(acceptable_vitals_need_vitals, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(dose_and_leaving_answers_cannot_be_skipped, alarm_setup_esketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
