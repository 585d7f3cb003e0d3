/* AN2 and AN3 of the sixteenth independent try (docs/safety.md), AG7's
 * follow-ups.
 *
 * AN2: esketamine_rems, pre-dose BP 176/106 (and 139/91), above the 140/90
 * guide. The prescriber recorded `predose_acceptable` "no" and signed
 * `bp_caution_review`; the nurse amended the answer to "yes" with a reason:
 * 200, and the advance, the dose and the devices went through; the REMS form
 * said "yes", and the review (which attested the reading only) stood.
 *
 * AN3: a prescriber who typed the pre-dose BP could never sign the review
 * (422: "must be confirmed by a second person, not by drc who recorded"),
 * nor after the nurse re-recorded the same reading ("... who amended ...").
 * With one prescriber on site the dose was held.
 *
 * Control (esketamine_rems, protocol data; the signature options `items` and
 * `second_person` in core/engine/signature.c): the review attests the answer
 * too (`items = { "predose_acceptable" }`), so another answer voids it and the
 * checklist holds until a clinician signs again; and it is the prescriber's
 * own judgement (`second_person = false`), so she may review a reading she
 * took. A nurse still cannot sign (403).
 *
 * End to end over the HTTP API of a real `vigil serve` with a copy of the
 * bundled esketamine_rems. Fails without it: the advance after the nurse's
 * amendment is 200 where 409 is expected (AN2), the prescriber's signature of
 * her own reading 422 where 200 is expected (AN3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "alarm_serve.h"

#define PREDOSE(sbp, dbp) ALARM_ESKETAMINE_PREDOSE_BP(sbp, dbp)
#define SAME_READING(sbp, dbp)                                                                                         \
  "{\"predose_vitals\": {\"sbp\": " #sbp ", \"dbp\": " #dbp ", \"hr\": 70, \"spo2\": 98, \"rr\": 14}}"
#define SIGN "{\"bp_caution_review\": true, \"password\": \"" SERVE_PASSWORD "\"}"
#define NURSE_YES                                                                                                      \
  "{\"item\": \"predose_acceptable\", \"value\": \"yes\", \"reason\": \"repeat BP later was fine, patient keen to "    \
  "proceed\"}"

/* The try with one reading: the prescriber's "no" and her review, the
 * nurse's amendment to "yes". The advance holds naming the void review; the
 * nurse cannot sign it; the prescriber's new signature (of the "yes") lets
 * the visit go to dosing. */
static void one_overturned_answer(alarm_serve *a, const char *predose) {
  char msg[4096];
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, predose), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"no\"}"), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", SIGN), 200);
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "amend", NURSE_YES), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  if (!strstr(msg, "Prescriber's review of a pre-dose BP above the guide is void"))
    fail_msg("the advance after the nurse's amendment: %s", msg);
  alarm_expect_phase(a, id, "predose");
  assert_int_equal(alarm_cmd(a, NULL, id, "entries", SIGN), 403);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", SIGN), 200);
  if (alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg) != 200) fail_msg("still held: %s", msg);
  alarm_expect_phase(a, id, "dosing");
}

static void the_nurse_cannot_overturn_the_prescribers_no(void **state) {
  one_overturned_answer(*state, PREDOSE(176, 106));
}

static void the_nurse_cannot_overturn_the_prescribers_no_at_139_91(void **state) {
  one_overturned_answer(*state, PREDOSE(139, 91));
}

/* The prescriber takes the BP herself, answers and signs: 200, dosing. Then
 * a second visit: the nurse re-records the prescriber's reading, the
 * prescriber still signs. */
static void the_prescriber_reviews_a_reading_she_took(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id > 0);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", PREDOSE(176, 106)), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  if (alarm_cmd_msg(a, ALARM_CLINICIAN, id, "entries", SIGN, msg, sizeof msg) != 200)
    fail_msg("the prescriber cannot sign the review of her reading: %s", msg);
  if (alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg) != 200) fail_msg("still held: %s", msg);
  alarm_expect_phase(a, id, "dosing");

  uint64_t id2 = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id2 > 0);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id2, "entries", PREDOSE(176, 106)), 200);
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(alarm_record(a, id2, SAME_READING(176, 106)), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id2, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  if (alarm_cmd_msg(a, ALARM_CLINICIAN, id2, "entries", SIGN, msg, sizeof msg) != 200)
    fail_msg("the prescriber cannot sign after the nurse re-recorded her reading: %s", msg);
  if (alarm_cmd_msg(a, NULL, id2, "advance", "{}", msg, sizeof msg) != 200) fail_msg("still held: %s", msg);
  alarm_expect_phase(a, id2, "dosing");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(the_nurse_cannot_overturn_the_prescribers_no, alarm_setup_esketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(the_nurse_cannot_overturn_the_prescribers_no_at_139_91, alarm_setup_esketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(the_prescriber_reviews_a_reading_she_took, alarm_setup_esketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
