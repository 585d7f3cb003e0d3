/* AG7 of the thirteenth independent try (docs/safety.md).
 *
 * esketamine_rems: the pre-dose BP 178/104, above the 140/90 guide and under
 * the 180/110 hold, and the nurse entered the "prescriber's judgement"
 * (`predose_acceptable` "yes") with the reading: the gate ok, dosed; only
 * bp_caution's low alert said the prescriber should weigh risk against
 * benefit.
 *
 * Control (protocol data, esketamine_rems 1.7.8): above the guide the
 * prescriber's review is a signature on the reading (`bp_caution_review`,
 * protocols/esketamine_rems/predose.lua): a nurse cannot sign (403), the
 * checklist holds until the prescriber signs or overrides, and a repeat
 * reading voids it (a repeat under the guide needs none).
 *
 * End to end over the HTTP API of a real `vigil serve` with a copy of the
 * bundled esketamine_rems. Fails without the control: the advance after the
 * nurse's "yes" is 200 where 409 is expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

#define PREDOSE(sbp, dbp) ALARM_ESKETAMINE_PREDOSE_BP(sbp, dbp)
#define REPEAT(sbp, dbp)                                                                                               \
  "{\"predose_vitals\": {\"sbp\": " #sbp ", \"dbp\": " #dbp ", \"hr\": 70, \"spo2\": 98, \"rr\": 14}}"
#define SIGN "{\"bp_caution_review\": true, \"password\": \"" SERVE_PASSWORD "\"}"

/* The try: 178/104 and the nurse's "yes". The advance is refused naming the
 * prescriber's review; the nurse's signature is refused; the prescriber's
 * lets the visit go to dosing. */
static void the_nurse_cannot_judge_a_bp_above_the_guide(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, PREDOSE(178, 104)), 200);
  assert_int_equal(alarm_record(a, id, "{\"predose_acceptable\": \"yes\"}"), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  if (!strstr(msg, "Prescriber's review of a pre-dose BP above the guide"))
    fail_msg("the advance's 409 does not name the prescriber's review: %s", msg);
  assert_int_equal(alarm_cmd(a, NULL, id, "entries", SIGN), 403);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", SIGN), 200);
  if (alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg) != 200) fail_msg("still held: %s", msg);
  alarm_expect_phase(a, id, "dosing");
}

/* Signed on 178/104, then a repeat at 176/102: the review is of another
 * reading (void) and the advance holds; a repeat under the guide asks for
 * none. */
static void a_repeat_reading_needs_its_own_review(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, PREDOSE(178, 104)), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", SIGN), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(alarm_record(a, id, REPEAT(176, 102)), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg), 409);
  if (!strstr(msg, "Prescriber's review of a pre-dose BP above the guide is void"))
    fail_msg("the advance's 409 after a repeat: %s", msg);
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(alarm_record(a, id, REPEAT(136, 84)), 200);
  if (alarm_cmd_msg(a, NULL, id, "advance", "{}", msg, sizeof msg) != 200) fail_msg("still held: %s", msg);
  alarm_expect_phase(a, id, "dosing");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(the_nurse_cannot_judge_a_bp_above_the_guide, alarm_setup_esketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_repeat_reading_needs_its_own_review, alarm_setup_esketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
