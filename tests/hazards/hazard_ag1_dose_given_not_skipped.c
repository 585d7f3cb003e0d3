/* AG1 and AG5 (docs/safety.md): ketamine_iv's `dose_given` could be skipped, which
 * removed T7/U10's check: a nurse's skip ("pump history unreadable today")
 * was 200, the infusion's gate ok, the advance 200; and a plain entry of
 * 35 after 70 replaced the value with no reason (U11's one-off rule leaves
 * skippable items alone). A late entry of `infusion.dose_given` 70 from the
 * observation raised the dose_given high alert uncarried, and a nurse
 * acknowledged it.
 *
 * Control (protocol data, ketamine_iv 1.7.6): `dose_given` is
 * `skippable = false` (protocols/ketamine_iv/infusion.lua), as the dose drawn
 * up is: a skip is 422, a changed value is an amendment with a reason (409
 * naming /amend), and the rule's alert is carried however the value came.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated clock
 * with a copy of the bundled ketamine_iv. Fails without the control: the skip
 * 200, the second entry 200, the late changed entry 200 with an uncarried alert. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"
#include "hazard_restart.h"

#define CHECKPOINT                                                                                                     \
  "{\"vitals\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": 98, \"rr\": 14}, \"moaas\": \"5\","                  \
  " \"dissociation\": \"none\"}"

/* The infusion's four calm checkpoints from its start, then the pump stopped
 * and its rate and volume recorded, the dose given not. */
static void infusion_run(alarm_serve *a, uint64_t id) {
  for (int k = 0; k < 4; k++) {
    assert_int_equal(alarm_advance_clock(a, "10m"), 200);
    assert_int_equal(alarm_record(a, id, CHECKPOINT), 200);
  }
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"infusion_stopped\": true, \"pump_rate\": 150, \"volume_infused\": 100}"),
                   200);
}

/* The skip is refused and the infusion stays held for its dose given; 70 of
 * 35 drawn up is then recorded (the alert), and 35 recorded over it is 409
 * naming the amendment, the value still 70. */
static void the_dose_given_is_neither_skipped_nor_replaced(void **state) {
  alarm_serve *a = *state;
  char msg[4096];
  uint64_t id = alarm_ketamine_infusing(a, ALARM_KETAMINE_SCREENING);
  infusion_run(a, id);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "skip",
                                 "{\"item\": \"dose_given\", \"reason\": \"pump history unreadable today\"}", msg,
                                 sizeof msg),
                   422);
  if (!strstr(msg, "cannot be skipped")) fail_msg("the skip's 422 does not say why: %s", msg);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 409);
  alarm_expect_phase(a, id, "infusion");

  assert_int_equal(alarm_record(a, id, "{\"dose_given\": 70}"), 200);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", "{\"dose_given\": 35}", msg, sizeof msg), 409);
  if (!strstr(msg, "/amend")) fail_msg("the second entry's 409 does not name the amendment: %s", msg);
  json_t *x = alarm_latest(a, id, "dose_given");
  if (!x) fail_msg("no dose_given alert for 70 of 35");
  if (!strstr(alarm_str(x, "message"), "Dose given 70 mg"))
    fail_msg("the alert is not 70's: %s", alarm_str(x, "message"));
  json_decref(x);
}

/* The try's late entry: 35 mg recorded in the infusion, the visit advanced,
 * then infusion.dose_given 70 entered from the observation, observed 30 s
 * before the advance (older than the 35: a finding, which was raised
 * uncarried and a nurse acknowledged). It is a changed value of a one-off
 * item now: 409 naming the amendment, no dose_given alert. */
static void a_late_changed_dose_given_is_an_amendment(void **state) {
  alarm_serve *a = *state;
  char msg[4096], body[128];
  uint64_t id = alarm_ketamine_infusing(a, ALARM_KETAMINE_SCREENING);
  infusion_run(a, id);
  assert_int_equal(alarm_record(a, id, "{\"dose_given\": 35}"), 200);
  long long advanced_at = alarm_now(a);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  alarm_expect_phase(a, id, "observation");
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  snprintf(body, sizeof body, "{\"observed_at\": %lld, \"infusion.dose_given\": 70}", advanced_at - 30000);
  assert_int_equal(alarm_cmd_msg(a, NULL, id, "entries", body, msg, sizeof msg), 409);
  if (!strstr(msg, "/amend")) fail_msg("the late entry's 409 does not name the amendment: %s", msg);
  json_t *x = alarm_latest(a, id, "dose_given");
  if (x) fail_msg("a dose_given alert from a refused entry: %s", alarm_str(x, "message"));
}

/* The infusion's gate overridden by the clinician with the dose given
 * unrecorded; in the observation the nurse enters infusion.dose_given 70,
 * observed 30 s before the override (a late entry of the left phase, its
 * first value): the alert is carried, a nurse's acknowledgement 403, a
 * clinician's with a reason 200. */
static void a_late_dose_given_alert_is_carried(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_infusing(a, ALARM_KETAMINE_SCREENING);
  infusion_run(a, id);
  long long stopped_at = alarm_now(a);
  assert_int_equal(alarm_override(a, id), 200);
  alarm_expect_phase(a, id, "observation");
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  char body[128];
  snprintf(body, sizeof body, "{\"observed_at\": %lld, \"infusion.dose_given\": 70}", stopped_at - 30000);
  assert_int_equal(alarm_record(a, id, body), 200);
  json_t *x = alarm_latest(a, id, "dose_given");
  if (!x) fail_msg("no dose_given alert for the late 70 of 35");
  assert_string_equal(alarm_str(x, "priority"), "high");
  if (!json_is_true(json_object_get(x, "carried"))) fail_msg("the late dose_given alert is not carried");
  assert_int_equal(alarm_ack(a, alarm_id(x)), 403);
  assert_int_equal(alarm_ack_as(a, ALARM_CLINICIAN, alarm_id(x),
                                "{\"reason\": \"pump history read: 70 mg given, patient observed longer\"}"),
                   200);
  json_decref(x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(the_dose_given_is_neither_skipped_nor_replaced, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_late_changed_dose_given_is_an_amendment, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_late_dose_given_alert_is_carried, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
