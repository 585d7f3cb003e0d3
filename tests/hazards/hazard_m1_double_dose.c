/* M1 and M9 (docs/safety.md): a patient dosed twice within minutes. An
 * aborted session counted for nothing in the minimum interval even after its
 * dose was given: esketamine_rems dosed, advanced into monitoring, a nurse's
 * abort 5 minutes later, and a new visit at once was session 2 with no
 * interval hold; the same across protocols (ketamine_iv after a dosed
 * esketamine), and an open dosed visit did not start the interval for a
 * clinician's concurrent start. M9: a nurse's new_patient: true for p-990
 * beside P-990's dosed open visit was 201, a new course.
 *
 * End to end over the HTTP API of a real `vigil serve` with copies of the
 * bundled protocols. Fails without each control: the course's dose_given
 * (the protocols' dose_given, core/engine/course.c dose_counted), the
 * clinician's abort after the dose (server/api/api.c,
 * vigil_visit_dose_given) and the clinician's new_patient
 * (vigil_patient_new_needs_clinician). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

/* POST /visits as who (NULL: the nurse): the status; the id in *id, the
 * error's message in msg. */
static int start(alarm_serve *a, const char *who, const char *body, uint64_t *id, char *msg, size_t len) {
  json_t *r = NULL;
  int status = alarm_call(a, who, "POST", "/api/v1/visits", body, &r);
  *id = status == 201 ? (uint64_t)json_integer_value(json_object_get(r, "id")) : 0;
  const char *m = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
  snprintf(msg, len, "%s", m ? m : "");
  json_decref(r);
  return status;
}

/* An esketamine visit of patient dosed and advanced into monitoring. */
static uint64_t dosed_esketamine(alarm_serve *a, const char *patient) {
  char body[256], msg[512];
  uint64_t id = 0;
  snprintf(body, sizeof body, "{\"protocol\": \"esketamine_rems\", \"patient\": \"%s\"}", patient);
  assert_int_equal(start(a, NULL, body, &id, msg, sizeof msg), 201);
  assert_int_equal(
      alarm_record(a, id,
                   "{\"consent\": true, \"ci_vascular\": \"no\", \"ci_hypersensitivity\": \"no\","
                   " \"pregnancy\": \"neither\", \"substance_use\": \"no\", \"self_harm_thoughts\": \"0\","
                   " \"comed_benzodiazepine\": \"no\", \"comed_hypnotic\": \"no\", \"comed_psychostimulant\": \"no\","
                   " \"comed_maoi\": \"no\", \"ride_confirmed\": true, \"prescriber_on_site\": true,"
                   " \"pulse_oximeter\": true,"
                   " \"predose_vitals\": {\"sbp\": 128, \"dbp\": 78, \"hr\": 70, \"spo2\": 98, \"rr\": 14}}"),
      200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 200);
  assert_int_equal(
      alarm_record(a, id, "{\"dose\": \"56 mg\", \"lot_number\": \"L123\", \"devices_administered\": true}"), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 200);
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  return id;
}

static void a_dose_given_counts_after_an_abort(void **state) {
  alarm_serve *a = *state;
  char msg[1024];
  uint64_t first = dosed_esketamine(a, "P-990");
  /* The nurse's abort after the dose: a clinician's, naming the dose. */
  assert_int_equal(alarm_cmd_msg(a, NULL, first, "abort", "{\"reason\": \"patient left\"}", msg, sizeof msg), 409);
  assert_non_null(strstr(msg, "devices_administered"));
  assert_non_null(strstr(msg, "only a clinician"));
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, first, "abort",
                             "{\"reason\": \"patient left\", \"password\": \"" SERVE_PASSWORD "\"}"),
                   200);
  /* Session 2 at once: its first gate holds for the minimum interval. */
  uint64_t second = 0;
  assert_int_equal(
      start(a, NULL, "{\"protocol\": \"esketamine_rems\", \"patient\": \"P-990\"}", &second, msg, sizeof msg), 201);
  char *text = alarm_visit_text(a, second);
  assert_non_null(text);
  assert_non_null(strstr(text, "minimum interval is 1 day:"));
  assert_non_null(strstr(text, "dose given (its visit aborted since)"));
  free(text);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, second, "abort",
                             "{\"reason\": \"interval not passed\", \"password\": \"" SERVE_PASSWORD "\"}"),
                   200);
  /* The same across protocols: ketamine_iv after the aborted esketamine. */
  uint64_t third = 0;
  assert_int_equal(start(a, NULL,
                         "{\"protocol\": \"ketamine_iv\", \"patient\": \"P-990\", \"params\": {\"weight\": 70}}",
                         &third, msg, sizeof msg),
                   201);
  text = alarm_visit_text(a, third);
  assert_non_null(text);
  assert_non_null(strstr(text, "a dose on another course protocol"));
  free(text);
}

static void an_open_dosed_visit_starts_the_interval(void **state) {
  alarm_serve *a = *state;
  char msg[1024];
  dosed_esketamine(a, "P-991");
  /* A clinician's start beside it: the new session's first gate holds. */
  uint64_t beside = 0;
  assert_int_equal(start(a, ALARM_CLINICIAN,
                         "{\"protocol\": \"ketamine_iv\", \"patient\": \"P-991\", \"params\": {\"weight\": 70},"
                         " \"override_reason\": \"second chair for the record\", \"password\": \"" SERVE_PASSWORD "\"}",
                         &beside, msg, sizeof msg),
                   201);
  char *text = alarm_visit_text(a, beside);
  assert_non_null(text);
  assert_non_null(strstr(text, "a dose on another course protocol"));
  free(text);
}

static void new_patient_beside_a_dose_is_a_clinicians(void **state) {
  alarm_serve *a = *state;
  char msg[1024];
  uint64_t dosed = dosed_esketamine(a, "P-992");
  /* A nurse's new_patient beside the open dosed visit: 403 naming why. */
  uint64_t id = 0;
  const char *body =
      "{\"protocol\": \"ketamine_iv\", \"patient\": \"p-992\", \"params\": {\"weight\": 70}, \"new_patient\": true}";
  assert_int_equal(start(a, NULL, body, &id, msg, sizeof msg), 403);
  assert_non_null(strstr(msg, "P-992"));
  assert_non_null(strstr(msg, "open"));
  /* Aborted (by the clinician): the dose within the interval still needs one. */
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, dosed, "abort",
                             "{\"reason\": \"patient left\", \"password\": \"" SERVE_PASSWORD "\"}"),
                   200);
  assert_int_equal(start(a, NULL, body, &id, msg, sizeof msg), 403);
  assert_non_null(strstr(msg, "minimum interval"));
  /* The clinician who starts it signs, and visit.started keeps whom it is like. */
  char signed_body[300];
  snprintf(signed_body, sizeof signed_body,
           "{\"protocol\": \"ketamine_iv\", \"patient\": \"p-992\", \"params\": {\"weight\": 70}, \"new_patient\": "
           "true, \"password\": \"" SERVE_PASSWORD "\"}");
  assert_int_equal(start(a, ALARM_CLINICIAN, signed_body, &id, msg, sizeof msg), 201);
  char *text = alarm_history_text(a, id);
  assert_non_null(strstr(text, "\"similar_to\":\"P-992\""));
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_dose_given_counts_after_an_abort, alarm_setup_both, alarm_teardown),
      cmocka_unit_test_setup_teardown(an_open_dosed_visit_starts_the_interval, alarm_setup_both, alarm_teardown),
      cmocka_unit_test_setup_teardown(new_patient_beside_a_dose_is_a_clinicians, alarm_setup_both, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
