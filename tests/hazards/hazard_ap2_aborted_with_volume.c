/* AP2 of the late safety try (docs/safety.md).
 *
 * A ketamine_iv session whose pump record shows a dose did not count when
 * it was aborted: `{"pump_rate":100,"volume_infused":200}` entered in the
 * infusion without `infusion_started`, then the nurse's abort was 200 (no
 * clinician), the session `counted: null` with no dose, and a new visit the
 * same minute passed its first gate and started its infusion (200). AL3 had
 * made the volume count only once the visit had left the infusion (a
 * discharge); with `infusion_started` the same abort is a clinician's (409
 * for the nurse) and the next session waits.
 *
 * Control (protocol data, ketamine_iv protocol.lua): the pump's
 * `infusion.volume_infused` is one of the course's `dose_given` items, as the
 * start and the dose given are: a volume above 0 recorded says the dose was
 * given wherever the visit is (core/engine/course.c dose_given_at), for the
 * abort's rule (server/api/api.c, vigil_visit_dose_given) and for M1's
 * `dosed_at` and the minimum interval. A volume of 0 says nothing was given
 * (core/engine/visit.c vigil__val_says_given).
 *
 * Since AO1 (docs/safety.md) the pump's record is taken only once the start
 * is recorded yes: the try's entry is refused at once (409 naming the start)
 * and the start, recorded with it, makes the abort a clinician's and holds
 * the next visit (M1). The volume's place among `dose_given` stays a second
 * line that the API no longer reaches on its own (a start recorded yes
 * counts even when amended since); its skip's refusal is still pinned here,
 * and a pump that infused nothing is AL3's case (hazard_al3).
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock with a copy of the bundled ketamine_iv. Fails without the control:
 * the nurse's abort after 200 mL infused is 200, and the next visit's first
 * gate 200. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_course.h"

#define CLINICIAN_ABORT "{\"reason\": \"patient unwell, going home\", \"password\": \"" SERVE_PASSWORD "\"}"

/* A visit of patient screened and advanced into the infusion, where entry
 * (the pump's record) is refused without the start (AO1: 409 naming it),
 * then recorded with it. Its id. */
static uint64_t pump_record_in_the_infusion(alarm_serve *a, const char *patient, const char *entry) {
  char msg[4096];
  uint64_t id = course_ketamine_screened(a, patient);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  alarm_expect_phase(a, id, "infusion");
  if (alarm_cmd_msg(a, NULL, id, "entries", entry, msg, sizeof msg) != 409 ||
      !strstr(msg, "record infusion_started first"))
    fail_msg("the pump's record before the start was not refused naming it (AO1): %s", msg);
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true}"), 200);
  assert_int_equal(alarm_record(a, id, entry), 200);
  return id;
}

/* The nurse's abort of visit id is 409 naming item and the clinician; the
 * clinician's, with a reason and the password, 200. */
static void abort_is_a_clinicians(alarm_serve *a, uint64_t id, const char *item) {
  char msg[4096];
  int status = alarm_cmd_msg(a, NULL, id, "abort", "{\"reason\": \"patient unwell, going home\"}", msg, sizeof msg);
  if (status != 409) fail_msg("the nurse's abort after the dose was %d, not 409 (only a clinician's)", status);
  if (!strstr(msg, item) || !strstr(msg, "only a clinician"))
    fail_msg("the nurse's abort's 409 does not name %s and the clinician: %s", item, msg);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "abort", CLINICIAN_ABORT), 200);
}

/* A second visit of patient, screened: its first gate holds for the minimum
 * interval, naming the aborted session's dose. Its id. */
static uint64_t next_visit_held(alarm_serve *a, const char *patient) {
  char msg[4096];
  uint64_t second = course_ketamine_screened(a, patient);
  int status = alarm_cmd_msg(a, NULL, second, "advance", "{}", msg, sizeof msg);
  if (status != 409 || !strstr(msg, "minimum interval"))
    fail_msg("the next visit the same minute was not held for the minimum interval (%d): %s", status, msg);
  if (!strstr(msg, "dose given (its visit aborted since)"))
    fail_msg("the hold does not name the aborted session's dose: %s", msg);
  alarm_expect_phase(a, second, "screening");
  return second;
}

/* A next visit of patient, screened, passes its first gate into the
 * infusion; fails saying why it should have. */
static void next_visit_advances(alarm_serve *a, const char *patient, const char *why) {
  char msg[4096];
  uint64_t next = course_ketamine_screened(a, patient);
  if (alarm_cmd_msg(a, NULL, next, "advance", "{}", msg, sizeof msg) != 200) fail_msg("%s: %s", why, msg);
  alarm_expect_phase(a, next, "infusion");
}

/* The try: 200 mL infused at 100 mL/h, the start never ticked, then the
 * abort. Only a clinician aborts; the session's dose holds the next visit
 * for the minimum interval (1 day), and no longer. */
static void an_aborted_session_with_a_volume_infused_counts(void **state) {
  alarm_serve *a = *state;
  uint64_t id = pump_record_in_the_infusion(a, "MRN-AP2", "{\"pump_rate\": 100, \"volume_infused\": 200}");
  abort_is_a_clinicians(a, id, "infusion_started");
  json_t *p = course_patient_record(a, "MRN-AP2");
  json_t *s = json_array_get(json_object_get(json_array_get(json_object_get(p, "courses"), 0), "sessions"), 0);
  assert_non_null(s);
  assert_true(json_is_null(json_object_get(s, "counted"))); /* aborted: not in the series */
  json_decref(p);

  /* M1: the aborted session's dosed_at holds the next visit (its hold names
   * the dose given, its visit aborted since). */
  uint64_t second = next_visit_held(a, "MRN-AP2");
  /* That visit gave no dose: the nurse aborts it. A day after the first
   * visit's dose the next passes its first gate. */
  assert_int_equal(alarm_cmd(a, NULL, second, "abort", "{\"reason\": \"held for the interval, rebooked\"}"), 200);
  assert_int_equal(alarm_advance_clock(a, "1d"), 200);
  next_visit_advances(a, "MRN-AP2", "a day after the dose the next visit is still held");
}

/* The same volume with the visit still open in the infusion: a clinician's
 * second visit beside it is held by the open visit's dose. */
static void an_open_session_with_a_volume_infused_counts(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = pump_record_in_the_infusion(a, "MRN-AP2O", "{\"pump_rate\": 100, \"volume_infused\": 200}");
  json_t *r = NULL;
  assert_int_equal(alarm_call(a, ALARM_CLINICIAN, "POST", "/api/v1/visits",
                              "{\"protocol\": \"ketamine_iv\", \"patient\": \"MRN-AP2O\", \"params\": {\"weight\": 70},"
                              " \"override_reason\": \"second chair for the record\", \"password\": \"" SERVE_PASSWORD
                              "\"}",
                              &r),
                   201);
  uint64_t beside = (uint64_t)json_integer_value(json_object_get(r, "id"));
  json_decref(r);
  assert_int_equal(alarm_record(a, beside, ALARM_KETAMINE_SCREENING), 200);
  assert_int_equal(
      alarm_cmd(a, ALARM_CLINICIAN, beside, "entries", "{\"dose_check\": true, \"password\": \"" SERVE_PASSWORD "\"}"),
      200);
  int status = alarm_cmd_msg(a, NULL, beside, "advance", "{}", msg, sizeof msg);
  if (status != 409 || !strstr(msg, "dose given (its visit still open)"))
    fail_msg("a visit beside one with 200 mL infused was not held for its dose (%d): %s", status, msg);
  alarm_expect_phase(a, id, "infusion");
}

/* With the start ticked (the row's comparison, M1): the same. */
static void an_aborted_session_with_its_start_counts(void **state) {
  alarm_serve *a = *state;
  uint64_t id = course_ketamine_screened(a, "MRN-AP2S");
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true}"), 200);
  abort_is_a_clinicians(a, id, "infusion_started");
  next_visit_held(a, "MRN-AP2S");
}

/* As the start and the dose given (P1), the volume infused is not skipped:
 * skipped, the session would leave the infusion with no dose on record. A
 * pump whose display failed is a clinician's gate override with a reason. */
static void the_volume_infused_is_not_skipped(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = course_ketamine_screened(a, "MRN-AP2K");
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  int status = alarm_cmd_msg(a, NULL, id, "skip", "{\"item\": \"volume_infused\", \"reason\": \"pump display failed\"}",
                             msg, sizeof msg);
  if (status != 422) fail_msg("the skip of the volume infused was %d, not 422", status);
  if (!strstr(msg, "cannot be skipped") || !strstr(msg, "record it (0 when it was not given)"))
    fail_msg("the skip's 422 does not say why and how: %s", msg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(an_aborted_session_with_a_volume_infused_counts, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(an_open_session_with_a_volume_infused_counts, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(an_aborted_session_with_its_start_counts, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(the_volume_infused_is_not_skipped, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
