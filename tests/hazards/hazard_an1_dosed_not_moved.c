/* AN1 (docs/safety.md): a dosed patient left unmonitored.
 *
 * The try: on an esketamine_rems visit the nurse recorded the dose, its lot
 * and the devices administered (the dosing gate met), did not advance the
 * visit, and the clock moved 2 h, then to 3 h 49 min: the visit stayed in
 * Dosing, which has no scheduled item, so nothing fell due and nothing was
 * raised; the monitoring's checkpoints (the 40-minute BP, breathing every
 * 15 minutes) count from entering the monitoring, so none ever came.
 *
 * Control (protocol data, esketamine_rems): the dosing phase is timed from
 * the devices administered (`timed_from`) and has a maximum duration
 * (`duration.max`, 10 minutes from that tick): past it, a medium alert that
 * names the phase and escalates as other alerts do, until the visit moves on.
 *
 * ketamine_iv has not the same gap: its infusion's vitals, sedation and
 * dissociation stay due every 10 minutes after the infusion is stopped, so a
 * visit left in the infusion raises their overdue alert (pinned below).
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock. Fails without the control: "dosed 2 h ago, still in Dosing, and
 * nothing raised". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

#define DOSED "{\"dose\": \"56 mg\", \"lot_number\": \"AB-1234\", \"devices_administered\": true}"

/* An esketamine_rems visit past its pre-dose checks, dosed now (the try's entry), not advanced. */
static uint64_t dosed_in_dosing(alarm_serve *a) {
  uint64_t id = alarm_esketamine_dosed(a, ALARM_ESKETAMINE_PREDOSE(0), DOSED);
  alarm_expect_phase(a, id, "dosing");
  return id;
}

/* The visit's alert from the dosing phase (rule "dosing"), a new reference, or NULL. */
static json_t *dosing_alert(alarm_serve *a, uint64_t id) { return alarm_latest(a, id, "dosing"); }

/* The visit says when it should leave the phase it is in (leave_by: dosed
 * now, 10 minutes from now at the first call) and whether that has passed
 * (leave_overdue), or nothing when its phase has no maximum. */
static void expect_leave(alarm_serve *a, uint64_t id, int has, int overdue) {
  json_t *v = alarm_visit_json(a, id);
  const char *by = json_string_value(json_object_get(v, "leave_by"));
  if (!has != !by) fail_msg("leave_by %s", by ? by : "absent");
  if (has && json_is_true(json_object_get(v, "leave_overdue")) != overdue)
    fail_msg("leave_overdue is not %s (leave_by %s)", overdue ? "true" : "false", by);
  json_decref(v);
}

/* The try: dosed, not moved, 2 h then 3 h 49 min on. Nothing before the
 * 10 minutes; then a medium alert naming Dosing, escalated while nobody
 * acknowledges it, the same after a restart; advanced to the monitoring, it
 * resolves. */
static void a_dosed_patient_not_moved_on_alerts(void **state) {
  alarm_serve *a = *state;
  uint64_t id = dosed_in_dosing(a);

  assert_int_equal(alarm_advance_clock(a, "9m"), 200);
  json_t *x = dosing_alert(a, id);
  if (x) fail_msg("an alert 9 minutes after dosing, before the phase's 10: %s", alarm_str(x, "message"));
  /* The board's "Next due" reads when the visit should move on (AN1's left item). */
  expect_leave(a, id, 1, 0);

  assert_int_equal(alarm_advance_clock(a, "111m"), 200); /* 2 h after dosing */
  alarm_expect_phase(a, id, "dosing");
  x = dosing_alert(a, id);
  if (!x) fail_msg("dosed 2 h ago, still in Dosing, and nothing raised");
  assert_string_equal(alarm_str(x, "priority"), "medium");
  assert_string_equal(alarm_str(x, "state"), "active");
  if (!strstr(alarm_str(x, "message"), "has passed its maximum duration of 10 min"))
    fail_msg("the alert says: %s", alarm_str(x, "message"));
  if (json_integer_value(json_object_get(x, "level")) < 1)
    fail_msg("not escalated 110 minutes on, unacknowledged: level %lld",
             (long long)json_integer_value(json_object_get(x, "level")));
  expect_leave(a, id, 1, 1);
  uint64_t alert = alarm_id(x);
  json_decref(x);

  /* 3 h 49 min after dosing, across a restart: one alert, still there. */
  assert_int_equal(alarm_restart(a), 0);
  assert_int_equal(alarm_advance_clock(a, "109m"), 200);
  char st[32];
  assert_string_equal(alarm_state_of(a, id, alert, st, sizeof st), "active");
  x = dosing_alert(a, id);
  assert_int_equal(alarm_id(x), alert);
  json_decref(x);

  /* Moved on, the monitoring starts; the alert's cause is gone (latched until acknowledged). */
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  alarm_expect_phase(a, id, "monitoring");
  expect_leave(a, id, 0, 0);
  assert_string_equal(alarm_state_of(a, id, alert, st, sizeof st), "resolved");
  assert_int_equal(alarm_ack(a, alert), 200);
  assert_string_equal(alarm_state_of(a, id, alert, st, sizeof st), "closed");
}

/* Moved on promptly (5 minutes after dosing): nothing raised, then or later. */
static void a_prompt_move_raises_nothing(void **state) {
  alarm_serve *a = *state;
  uint64_t id = dosed_in_dosing(a);
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  assert_int_equal(alarm_advance_clock(a, "20m"), 200);
  assert_null(dosing_alert(a, id));
}

/* Before the devices are administered the phase's clock has not started:
 * a patient waiting an hour in Dosing, undosed, raises nothing from it. */
static void undosed_waiting_raises_nothing(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_int_equal(alarm_record(a, id, ALARM_ESKETAMINE_PREDOSE(0)), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  assert_int_equal(alarm_record(a, id, "{\"dose\": \"56 mg\", \"lot_number\": \"AB-1234\"}"), 200);
  assert_int_equal(alarm_advance_clock(a, "60m"), 200);
  assert_null(dosing_alert(a, id));
}

/* ketamine_iv: the infusion stopped and its dose given, the visit left in
 * the infusion: its checkpoints stay due, so their overdue alert comes (not
 * the esketamine gap). */
static void ketamine_left_in_the_infusion_is_overdue(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_stopped(a, 4);
  size_t before = alarm_count(a, id, "active");
  assert_int_equal(alarm_advance_clock(a, "16m"), 200);
  alarm_expect_phase(a, id, "infusion");
  if (alarm_count(a, id, "active") <= before)
    fail_msg("the infusion stopped 16 minutes ago, the visit still in it, and nothing overdue");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_dosed_patient_not_moved_on_alerts, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_prompt_move_raises_nothing, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(undosed_waiting_raises_nothing, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(ketamine_left_in_the_infusion_is_overdue, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
