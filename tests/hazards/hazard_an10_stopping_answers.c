/* AN10 (docs/safety.md): a stopping answer amended false after its phase
 * did not hold the dose.
 *
 * The try: esketamine_rems in Dosing, the nurse amended `predose.consent`
 * false ("patient withdrew consent"), `predose.prescriber_on_site` false and
 * `predose.pulse_oximeter` false, each 200, then the dose, its lot and the
 * devices 200: no hold, no alert. The prescriber amended `predose_acceptable`
 * to "no" in Dosing and the nurse dosed; after her "no" she signed
 * `bp_caution_review` again and the dose went. ketamine_iv: `screening.consent`
 * amended false in the infusion, `infusion_started` 200. A contraindication
 * changed the same way did hold (409): the phase's gate read these answers,
 * the dose gate (N7's holds: a rule's block) did not.
 *
 * Control (protocol data, esketamine_rems predose.lua, ketamine_iv
 * screening.lua): each stopping answer is a rule, as a contraindication is.
 * False ("no" for the prescriber's judgement) before the dose is a block,
 * which holds the phase and, in the dosing phase, the dose itself (409 "the
 * dose waits while a hold is open", nothing recorded) until the answer is
 * true again; a signature is not a way past a block. False after the dose is
 * a high alert, carried (a clinician acknowledges it with a reason): vigil
 * stops nothing, it tells the clinician.
 *
 * End to end over the HTTP API of a real `vigil serve`. Fails without the
 * control: the dose (or the infusion's start) 200 after each amendment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

#define DOSE "{\"dose\": \"56 mg\"}"
#define LOT_AND_DEVICES "{\"lot_number\": \"AB-1234\", \"devices_administered\": true}"
#define SIGN_REVIEW "{\"bp_caution_review\": true, \"password\": \"" SERVE_PASSWORD "\"}"

/* An amendment of item (phase.item) to value (JSON), with reason. */
static int amend_as(alarm_serve *a, const char *who, uint64_t id, const char *item, const char *value,
                    const char *reason) {
  char body[512];
  snprintf(body, sizeof body, "{\"item\": \"%s\", \"value\": %s, \"reason\": \"%s\"}", item, value, reason);
  return alarm_cmd(a, who, id, "amend", body);
}

/* An esketamine_rems visit with these pre-dose entries, judged acceptable by
 * the clinician (and the review signed when signed), advanced into Dosing. */
static uint64_t esketamine_in_dosing(alarm_serve *a, const char *predose, int signed_review) {
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, predose), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  if (signed_review) assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", SIGN_REVIEW), 200);
  char msg[4096];
  if (alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg) != 200) fail_msg("not into Dosing: %s", msg);
  alarm_expect_phase(a, id, "dosing");
  return id;
}

/* entry (in the visit's current phase) is 409 naming the dose hold and why;
 * nothing recorded. */
static void dose_waits(alarm_serve *a, uint64_t id, const char *entry, const char *why) {
  char msg[4096];
  int status = alarm_cmd_msg(a, NULL, id, "entries", entry, msg, sizeof msg);
  if (status != 409) fail_msg("%s after the stopping answer: %d, not 409 (%s)", entry, status, msg);
  if (!strstr(msg, "the dose waits while a hold is open")) fail_msg("409 not the dose hold: %s", msg);
  if (!strstr(msg, why)) fail_msg("the hold does not say \"%s\": %s", why, msg);
}

/* One answer of the pre-dose checks amended false (or "no") in Dosing: the
 * dose, the lot and the devices wait, naming it; observations do not; the
 * answer true again (a new consent, the prescriber back), the dose goes. */
static void esketamine_answer_holds_the_dose(alarm_serve *a, const char *item, const char *stop, const char *why,
                                             const char *who_restores, const char *restore) {
  uint64_t id = esketamine_in_dosing(a, ALARM_ESKETAMINE_PREDOSE(0), 0);
  assert_int_equal(amend_as(a, who_restores, id, item, stop, "the try: the answer changed in Dosing"), 200);
  dose_waits(a, id, DOSE, why);
  dose_waits(a, id, LOT_AND_DEVICES, why);
  char msg[4096];
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  if (!strstr(msg, why)) fail_msg("the advance's 409 does not say \"%s\": %s", why, msg);
  json_t *v = alarm_visit_json(a, id);
  json_t *dose = alarm_visit_item(v, "dosing", "dose");
  assert_int_equal(json_integer_value(json_object_get(dose, "count")), 0);
  json_decref(v);
  assert_int_equal(amend_as(a, who_restores, id, item, restore, "confirmed again with the patient"), 200);
  if (alarm_cmd_msg(a, NULL, id, "entries", DOSE, msg, sizeof msg) != 200) fail_msg("still held: %s", msg);
  assert_int_equal(alarm_record(a, id, LOT_AND_DEVICES), 200);
}

static void consent_withdrawn_in_dosing_holds_the_dose(void **state) {
  esketamine_answer_holds_the_dose(*state, "predose.consent", "false", "Informed consent not given or withdrawn", NULL,
                                   "true");
}

static void prescriber_not_on_site_holds_the_dose(void **state) {
  esketamine_answer_holds_the_dose(*state, "predose.prescriber_on_site", "false", "Prescriber not on site", NULL,
                                   "true");
}

static void no_pulse_oximeter_holds_the_dose(void **state) {
  esketamine_answer_holds_the_dose(*state, "predose.pulse_oximeter", "false", "No working pulse oximeter", NULL,
                                   "true");
}

static void the_prescribers_no_in_dosing_holds_the_dose(void **state) {
  esketamine_answer_holds_the_dose(*state, "predose.predose_acceptable", "\"no\"",
                                   "Vitals judged not acceptable for dosing", ALARM_CLINICIAN, "\"yes\"");
}

/* Visit 4 of the try: a BP above the guide, her "yes" and review, Dosing;
 * she amends to "no" (the review is void), then signs the review again:
 * the "no" still holds the dose. Her "yes" again, signed, lets it go. */
static void a_signature_after_the_no_does_not_outweigh_it(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = esketamine_in_dosing(a, ALARM_ESKETAMINE_PREDOSE_BP(150, 95), 1);
  assert_int_equal(amend_as(a, ALARM_CLINICIAN, id, "predose.predose_acceptable", "\"no\"", "BP climbing, not today"),
                   200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", SIGN_REVIEW), 200);
  dose_waits(a, id, DOSE, "Vitals judged not acceptable for dosing");
  dose_waits(a, id, LOT_AND_DEVICES, "Vitals judged not acceptable for dosing");
  assert_int_equal(amend_as(a, ALARM_CLINICIAN, id, "predose.predose_acceptable", "\"yes\"", "repeat BP 138/86"), 200);
  dose_waits(a, id, DOSE, "is void");
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", SIGN_REVIEW), 200);
  if (alarm_cmd_msg(a, NULL, id, "entries", DOSE, msg, sizeof msg) != 200) fail_msg("still held: %s", msg);
}

/* After the devices: consent withdrawn is a high alert, carried (a
 * clinician's to acknowledge, with a reason), nothing refused; the
 * monitoring goes on. */
static void consent_withdrawn_after_the_dose_alerts(void **state) {
  alarm_serve *a = *state;
  uint64_t id = esketamine_in_dosing(a, ALARM_ESKETAMINE_PREDOSE(0), 0);
  assert_int_equal(alarm_record(a, id, DOSE), 200);
  assert_int_equal(alarm_record(a, id, LOT_AND_DEVICES), 200);
  assert_null(alarm_latest(a, id, "consent_withdrawn"));
  assert_int_equal(amend_as(a, NULL, id, "predose.consent", "false", "patient withdrew consent"), 200);
  json_t *x = alarm_latest(a, id, "consent_withdrawn");
  if (!x) fail_msg("consent withdrawn after the dose, and no alert");
  assert_string_equal(alarm_str(x, "priority"), "high");
  assert_string_equal(alarm_str(x, "state"), "active");
  assert_true(json_is_true(json_object_get(x, "carried")));
  uint64_t alert = alarm_id(x);
  json_decref(x);
  assert_int_equal(alarm_ack(a, alert), 403);
  assert_int_equal(alarm_ack_as(a, ALARM_CLINICIAN, alert, "{\"reason\": \"spoke with the patient, monitoring on\"}"),
                   200);
  char msg[4096];
  if (alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg) != 200) fail_msg("held: %s", msg);
  alarm_expect_phase(a, id, "monitoring");
}

/* ketamine_iv, the try's visit 17: consent amended false in the infusion
 * before it started: the start waits; the vitals are taken. */
static void ketamine_answer_holds_the_start(alarm_serve *a, const char *item, const char *why) {
  char msg[4096];
  uint64_t id = alarm_ketamine_in_infusion(a, ALARM_KETAMINE_SCREENING);
  assert_int_equal(amend_as(a, NULL, id, item, "false", "the try: the answer changed in the infusion"), 200);
  dose_waits(a, id, "{\"infusion_started\": true}", why);
  assert_int_equal(
      alarm_record(a, id, "{\"vitals\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 70, \"spo2\": 98, \"rr\": 14}}"), 200);
  assert_int_equal(amend_as(a, NULL, id, item, "true", "confirmed again with the patient"), 200);
  if (alarm_cmd_msg(a, NULL, id, "entries", "{\"infusion_started\": true}", msg, sizeof msg) != 200)
    fail_msg("still held: %s", msg);
}

static void ketamine_consent_withdrawn_holds_the_start(void **state) {
  ketamine_answer_holds_the_start(*state, "screening.consent", "Informed consent not given or withdrawn");
}

static void ketamine_no_ride_holds_the_start(void **state) {
  ketamine_answer_holds_the_start(*state, "screening.ride_confirmed", "No responsible adult");
}

/* Consent withdrawn mid-infusion: a high carried alert tells the clinician;
 * the infusion's stop is recorded as ever (vigil stops nothing). */
static void ketamine_consent_withdrawn_mid_infusion_alerts(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_infusing(a, ALARM_KETAMINE_SCREENING);
  assert_int_equal(amend_as(a, NULL, id, "screening.consent", "false", "patient asks to stop"), 200);
  json_t *x = alarm_latest(a, id, "consent_withdrawn");
  if (!x) fail_msg("consent withdrawn mid-infusion, and no alert");
  assert_string_equal(alarm_str(x, "priority"), "high");
  assert_string_equal(alarm_str(x, "state"), "active");
  if (!strstr(alarm_str(x, "message"), "clinician")) fail_msg("the alert: %s", alarm_str(x, "message"));
  json_decref(x);
  assert_int_equal(alarm_record(a, id, "{\"infusion_stopped\": true}"), 200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(consent_withdrawn_in_dosing_holds_the_dose, alarm_setup_esketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(prescriber_not_on_site_holds_the_dose, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(no_pulse_oximeter_holds_the_dose, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(the_prescribers_no_in_dosing_holds_the_dose, alarm_setup_esketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_signature_after_the_no_does_not_outweigh_it, alarm_setup_esketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(consent_withdrawn_after_the_dose_alerts, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(ketamine_consent_withdrawn_holds_the_start, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(ketamine_no_ride_holds_the_start, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(ketamine_consent_withdrawn_mid_infusion_alerts, alarm_setup_ketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
