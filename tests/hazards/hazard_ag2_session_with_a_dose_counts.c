/* AG2 (docs/safety.md): U4 turned round, a session whose dose was recorded
 * counted as "no dose". ketamine_iv: infusion_started unrecorded, passed by a
 * clinician's override, with `dose_given` 35 recorded: `counts: false`,
 * `no_dose: true`, and a second visit 5 minutes later passed the minimum
 * interval. esketamine_rems: the dose "56 mg" and its lot recorded,
 * `devices_administered` passed by an override: `counts: false`, no REMS
 * form owed, the next visit minutes later passed its pre-dose gate.
 *
 * Control: a session counts when any record of its dose is there.
 * ketamine_iv 1.7.6's course names `infusion.dose_given` beside
 * `infusion.infusion_started` as its dose_given items; esketamine_rems
 * 1.7.6's course names the dose and lot as `dose_recorded` items, which say
 * the dose was given once the visit has left the dosing phase with them
 * recorded (core/engine/course.c dose_given_at; before that they are
 * recorded ahead of the dose, which N7 still holds).
 *
 * Since AO1 ketamine_iv's dose given is taken only once `infusion_started`
 * is recorded yes (409 naming it before): the try's entry is refused, and the
 * dose given comes with its start.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock
 * with copies of the bundled protocols. Fails without the control: session 1
 * `counts` false, and the second visit's gate 200 (esketamine_rems; for
 * ketamine_iv it failed so before AO1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_course.h"

/* An esketamine_rems visit of patient, its pre-dose answers clear and judged
 * acceptable by the clinician, in pre-dose still: its id. */
static uint64_t esketamine_predosed(alarm_serve *a, const char *patient) {
  char body[256];
  json_t *r = NULL;
  snprintf(body, sizeof body, "{\"protocol\": \"esketamine_rems\", \"patient\": \"%s\", \"params\": {}}", patient);
  assert_int_equal(alarm_call(a, NULL, "POST", "/api/v1/visits", body, &r), 201);
  uint64_t id = (uint64_t)json_integer_value(json_object_get(r, "id"));
  json_decref(r);
  assert_int_equal(alarm_record(a, id, ALARM_ESKETAMINE_PREDOSE(0)), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  return id;
}

/* Visit id of patient advanced into its dosing phase, where refused (when not
 * NULL) is 409 naming the start (AO1) and entry (the dose's record, not its
 * start) is recorded; that gate overridden (why_dosed) and each later one,
 * discharged: session 1 counts. */
static void dosed_by_its_record(alarm_serve *a, uint64_t id, const char *patient, const char *phase,
                                const char *refused, const char *entry, const char *why_dosed) {
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  alarm_expect_phase(a, id, phase);
  if (refused) {
    char msg[4096];
    assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", refused, msg, sizeof msg), 409);
    if (!strstr(msg, "record infusion_started first")) fail_msg("the dose given before the start: %s", msg);
  }
  assert_int_equal(alarm_record(a, id, entry), 200);
  course_override_because(a, id, why_dosed);
  course_override_because(a, id, "observed at the chair, well");
  course_override_because(a, id, "fit to leave, reviewed");
  course_expect_counted(a, patient);
}

/* ketamine_iv: screened (35 mg drawn up, double-checked), in the infusion the
 * dose given 35 with no start refused (AO1), then recorded with its start;
 * the infusion's gate and the rest overridden, discharged. It counts; a
 * second visit 5 minutes later is held at its first gate by the minimum
 * interval. */
static void a_ketamine_session_with_its_dose_given_counts(void **state) {
  alarm_serve *a = *state;
  uint64_t id = course_ketamine_screened(a, "MRN-AG2");
  dosed_by_its_record(a, id, "MRN-AG2", "infusion", "{\"dose_given\": 35}",
                      "{\"infusion_started\": true, \"dose_given\": 35}", "pump history shows 35 mg given");

  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  uint64_t second = course_ketamine_screened(a, "MRN-AG2");
  course_expect_held(a, second);
  alarm_expect_phase(a, second, "screening");
}

/* esketamine_rems: the dose and lot recorded, the devices not; the dosing
 * gate and the rest overridden, discharged. It counts, its REMS form is
 * owed, and the next visit minutes later is held at its pre-dose gate. */
static void an_esketamine_session_with_its_dose_and_lot_counts(void **state) {
  alarm_serve *a = *state;
  uint64_t id = esketamine_predosed(a, "MRN-AG2E");
  dosed_by_its_record(a, id, "MRN-AG2E", "dosing", NULL, "{\"dose\": \"56 mg\", \"lot_number\": \"EKA2211\"}",
                      "devices given, the tick missed");
  json_t *p = course_patient_record(a, "MRN-AG2E");
  json_t *due = json_object_get(p, "forms_due");
  assert_int_equal(json_array_size(due), 1);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(due, 0), "visit")), (json_int_t)id);
  json_decref(p);

  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  course_expect_held(a, esketamine_predosed(a, "MRN-AG2E"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_ketamine_session_with_its_dose_given_counts, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(an_esketamine_session_with_its_dose_and_lot_counts, alarm_setup_esketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
