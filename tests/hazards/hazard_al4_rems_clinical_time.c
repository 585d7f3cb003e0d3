/* AL4 of the fifteenth try (docs/safety.md): the REMS form's times were the
 * times things were typed, not when they happened.
 *
 * The try: the devices were self-administered at 23:45, the tick forgotten
 * (the clinician overrode the dosing gate), two hours of monitoring with the
 * 40-minute BP, then at 02:00 the tick entered late with observed_at 23:45.
 * The discharge gate, which reads the observed time, let the patient go; the
 * REMS export said `dosed_at` 02:00:35 (when it was typed),
 * `total_minutes_monitored` 0, `bp_at_40_minutes` null and listed it missing:
 * the form the REMS receives contradicted the record and the gate.
 *
 * Control (export/rems.c): the form reads the clinical time, `observed_at`,
 * for dosed_at and every time it derives from a reading (each BP's `at` and
 * minutes after dosing, the minutes to leaving and of monitoring). The gate
 * and the form agree: while the time of dosing is unknown the discharge holds
 * naming it ("REMS form: no time of dosing"), and once the gate lets the
 * patient go the form has no field missing.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock with a copy of the bundled esketamine_rems. Fails without the
 * control: dosed_at is the typed time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hazard_restart.h"

/* A monitoring checkpoint's calm readings. */
#define CALM "{\"respiration\": {\"spo2\": 98, \"rr\": 14}, \"moaas\": \"5\", \"dissociation\": \"none\"}"

static int discharge(alarm_serve *a, uint64_t id, char *msg, size_t len) {
  return alarm_cmd_msg(a, NULL, id, "discharge", "{\"password\": \"" SERVE_PASSWORD "\"}", msg, len);
}

/* The REMS form of the visit (GET /visits/{id}/rems), a new reference. */
static json_t *rems_form(alarm_serve *a, uint64_t id) {
  char path[96];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/rems", (unsigned long long)id);
  json_t *f = NULL;
  assert_int_equal(alarm_call(a, NULL, "GET", path, NULL, &f), 200);
  return f;
}

/* ms as the API writes times: "2026-01-05T08:00:00.000Z". */
static void iso(long long ms, char out[32]) {
  time_t s = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char day[24];
  strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, 32, "%s.%03lldZ", day, ms % 1000);
}

static long long minutes_of(json_t *o, const char *key) {
  json_t *x = json_object_get(o, key);
  if (!json_is_integer(x)) fail_msg("%s is not a number of minutes", key);
  return (long long)json_integer_value(x);
}

/* The try: dose and lot recorded, the devices given at `dosed` with no tick,
 * the dosing gate overridden; the pre-dose BP repeated and entered late from
 * dosing; two hours of calm monitoring (the 40-minute BP at 45); the leaving
 * entries (monitoring from a minute after dosing). Then the tick, late, as
 * observed at `dosed`. */
static void late_dosing_tick_is_the_time_of_dosing(void **state) {
  alarm_serve *a = *state;
  char msg[4096], body[512], want[32];
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, ALARM_ESKETAMINE_PREDOSE(0)), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  long long repeat_bp = alarm_now(a); /* the repeat pre-dose BP, taken just before the advance */
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  assert_int_equal(alarm_record(a, id, "{\"dose\": \"56 mg\", \"lot_number\": \"EKA2211\"}"), 200);
  assert_int_equal(alarm_advance_clock(a, "10m"), 200);
  long long dosed = alarm_now(a);
  /* Entered late from dosing, 12 minutes after it was taken. */
  snprintf(body, sizeof body,
           "{\"observed_at\": %lld, \"predose.predose_vitals\": {\"sbp\": 126, \"dbp\": 76, \"hr\": 68, \"spo2\": 98,"
           " \"rr\": 14}}",
           repeat_bp);
  assert_int_equal(alarm_record(a, id, body), 200);
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  assert_int_equal(alarm_override(a, id), 200); /* devices given, the tick forgotten */
  alarm_esketamine_left_calm_monitoring(a, id, ALARM_ESKETAMINE_LEAVING);

  /* No time of dosing: the gate holds, naming it; the form lacks it too. */
  assert_int_equal(discharge(a, id, msg, sizeof msg), 409);
  if (!strstr(msg, "REMS form: no time of dosing")) fail_msg("the discharge does not name the dosing time: %s", msg);
  json_t *f = rems_form(a, id);
  assert_true(json_is_null(json_object_get(f, "dosed_at")));
  json_decref(f);

  /* The tick, 2 hours 5 minutes late, as observed when the devices were given. */
  assert_int_equal(alarm_advance_clock(a, "3m"), 200);
  snprintf(body, sizeof body, "{\"observed_at\": %lld, \"dosing.devices_administered\": true}", dosed);
  assert_int_equal(alarm_record(a, id, body), 200);
  assert_int_equal(discharge(a, id, msg, sizeof msg), 200);

  /* The form counts from when the devices were given. Without the control:
   * dosed_at the typed time, total_minutes_monitored 0, no BP at 40 minutes. */
  f = rems_form(a, id);
  iso(dosed, want);
  assert_string_equal(alarm_str(f, "dosed_at"), want);
  json_t *bp40 = json_object_get(f, "bp_at_40_minutes");
  if (!json_is_object(bp40)) fail_msg("no BP at 40 minutes: %s", json_dumps(f, JSON_COMPACT));
  assert_int_equal(minutes_of(bp40, "minutes_after_dosing"), 46);
  assert_int_equal(minutes_of(f, "ready_to_leave_minutes_after_dosing"), 122);
  assert_int_equal(minutes_of(f, "total_minutes_monitored"), 125);
  /* The repeat pre-dose BP is the one before dosing, at when it was taken. */
  json_t *before = json_object_get(f, "bp_before_dosing");
  assert_int_equal(json_integer_value(json_object_get(before, "sbp")), 126);
  iso(repeat_bp, want);
  assert_string_equal(alarm_str(before, "at"), want);
  assert_int_equal(minutes_of(before, "minutes_after_dosing"), -11);
  /* The gate let the patient go: the form lacks nothing. */
  if (json_array_size(json_object_get(f, "missing")))
    fail_msg("the form lacks fields the gate let go: %s", json_dumps(json_object_get(f, "missing"), JSON_COMPACT));
  json_decref(f);

  /* The same after a restart (read from the log). */
  assert_int_equal(alarm_restart(a), 0);
  f = rems_form(a, id);
  iso(dosed, want);
  assert_string_equal(alarm_str(f, "dosed_at"), want);
  assert_int_equal(minutes_of(f, "total_minutes_monitored"), 125);
  json_decref(f);
}

/* A 40-minute BP entered late (observed at 42 minutes, typed at 50) after
 * the one at 45; the nurse amends the item's value, the 45-minute reading the
 * engine shows as its latest. The form's BP at 40 minutes is the 42-minute
 * reading, as it was taken: the export had given it the amendment meant for
 * the one at 45 (it amended the reading entered last). */
static void an_amendment_is_of_the_reading_observed_last(void **state) {
  alarm_serve *a = *state;
  char body[512];
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE(0));
  long long dosed = alarm_now(a);
  for (int m = 15; m <= 45; m += 15) {
    assert_int_equal(alarm_advance_clock(a, "15m"), 200);
    assert_int_equal(alarm_record(a, id, CALM), 200);
  }
  assert_int_equal(alarm_record(a, id, "{\"bp_40m\": {\"sbp\": 132, \"dbp\": 82, \"hr\": 70}}"), 200);
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  snprintf(body, sizeof body, "{\"observed_at\": %lld, \"bp_40m\": {\"sbp\": 150, \"dbp\": 92, \"hr\": 74}}",
           dosed + 42 * 60000);
  assert_int_equal(alarm_record(a, id, body), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "amend",
                             "{\"item\": \"bp_40m\", \"value\": {\"sbp\": 134, \"dbp\": 84, \"hr\": 70},"
                             " \"reason\": \"transcription error, cuff reading rechecked\"}"),
                   200);
  /* The engine amended the 45-minute reading, its latest. */
  json_t *v = alarm_visit_json(a, id), *ph, *it, *latest = NULL;
  size_t i, j;
  json_array_foreach(json_object_get(v, "phases"), i, ph) {
    json_array_foreach(json_object_get(ph, "items"), j, it) {
      if (!strcmp(alarm_str(ph, "id"), "monitoring") && !strcmp(alarm_str(it, "id"), "bp_40m")) latest = it;
    }
  }
  assert_non_null(latest);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(latest, "value"), "sbp")), 134);
  json_decref(v);

  json_t *f = rems_form(a, id), *bp40 = json_object_get(f, "bp_at_40_minutes");
  if (!json_is_object(bp40)) fail_msg("no BP at 40 minutes");
  assert_int_equal(minutes_of(bp40, "minutes_after_dosing"), 42);
  /* Without the control: 134/84, the amendment meant for the reading at 45. */
  assert_int_equal(json_integer_value(json_object_get(bp40, "sbp")), 150);
  assert_int_equal(json_integer_value(json_object_get(bp40, "dbp")), 92);
  json_decref(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(late_dosing_tick_is_the_time_of_dosing, alarm_setup_esketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(an_amendment_is_of_the_reading_observed_last, alarm_setup_esketamine,
                                      alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
