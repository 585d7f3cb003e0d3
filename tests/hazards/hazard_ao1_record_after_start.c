/* AO1 of the course try (docs/safety.md), and AN17's second half.
 *
 * ketamine_iv's `infusion_stopped`, `volume_infused` and `dose_given` were
 * taken before `infusion_started`: `{"infusion_stopped": true,
 * "volume_infused": 100, "dose_given": 35}` 200 with no alert, the start 5
 * minutes later, then a high "Infusion stopped -5 minutes after it started
 * ... ran faster than prescribed"; a stop recorded late, observed before the
 * start, said "-1 minutes" (AN17).
 *
 * Control: an item's `after` (core/lang/lua/vigil.lua, checked at each entry
 * in core/engine/commands.c `after_its_check`): ketamine_iv's stop, volume
 * infused and dose given are recorded only once `infusion_started` is
 * recorded yes, in the same entry or before: 409 naming the start, nothing
 * recorded; one observed before the start, 422. So the infusion's time is
 * never negative.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock. Fails without the control: "the stop, volume and dose given before
 * the start were 200", "a stop observed before the start was 200". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"
#include "hazard_restart.h"

#define RECORD "{\"infusion_stopped\": true, \"volume_infused\": 100, \"dose_given\": 35}"

/* The entry is refused with status, its message saying want, and none of
 * the infusion's record is taken. */
static void refused(alarm_serve *a, uint64_t id, const char *entry, int status, const char *nobody, const char *want) {
  char msg[4096];
  int got = alarm_cmd_msg(a, NULL, id, "entries", entry, msg, sizeof msg);
  if (got != status) fail_msg("%s (%d): %s", nobody, got, msg);
  if (!strstr(msg, want)) fail_msg("the %d does not say \"%s\": %s", status, want, msg);
  json_t *v = alarm_visit_json(a, id);
  const char *items[] = {"infusion_stopped", "volume_infused", "dose_given"};
  for (size_t i = 0; i < sizeof items / sizeof *items; i++) {
    json_t *x = json_object_get(alarm_visit_item(v, "infusion", items[i]), "value");
    if (x && !json_is_null(x)) fail_msg("%s recorded by a refused entry", items[i]);
  }
  json_decref(v);
}

/* The simulated clock moved on by `by`: the time now (ms). */
static long long clock_after(alarm_serve *a, const char *by) {
  assert_int_equal(alarm_advance_clock(a, by), 200);
  return alarm_now(a);
}

/* No infusion_time alert says negative minutes. */
static void no_negative_time(alarm_serve *a, uint64_t id) {
  json_t *x = alarm_latest(a, id, "infusion_time");
  if (x && strstr(alarm_str(x, "message"), "stopped -"))
    fail_msg("the infusion's time is negative: %s", alarm_str(x, "message"));
  json_decref(x);
}

/* The try: the record before the start, each of its items alone too; the
 * start, then the record 40 minutes on. */
static void the_record_waits_for_the_start(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_in_infusion(a, ALARM_KETAMINE_SCREENING);
  refused(a, id, RECORD, 409, "the stop, volume and dose given before the start were 200",
          "is recorded once Infusion started (pump running) (infusion.infusion_started) is recorded yes");
  refused(a, id, "{\"infusion_stopped\": true}", 409, "the stop before the start was 200", "infusion_started first");
  refused(a, id, "{\"volume_infused\": 100}", 409, "the volume infused before the start was 200",
          "infusion_started first");
  refused(a, id, "{\"dose_given\": 35}", 409, "the dose given before the start was 200", "infusion_started first");
  refused(a, id, "{\"infusion_started\": false, \"infusion_stopped\": true}", 409,
          "the stop beside a start answered no was 200", "is not in this entry");
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true, \"pump_rate\": 150}"), 200);
  assert_int_equal(alarm_advance_clock(a, "40m"), 200);
  assert_int_equal(alarm_record(a, id, RECORD), 200);
  json_t *x = alarm_latest(a, id, "infusion_time");
  if (x) fail_msg("a 40-minute infusion alerted: %s", alarm_str(x, "message"));
}

/* The start and the record in one entry (a pump that failed at once) are
 * taken: the start is in the entry. */
static void the_start_in_the_same_entry_goes(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_in_infusion(a, ALARM_KETAMINE_SCREENING);
  assert_int_equal(alarm_record(a, id,
                                "{\"infusion_started\": true, \"infusion_stopped\": true, \"volume_infused\": 0, "
                                "\"dose_given\": 0}"),
                   200);
  no_negative_time(a, id);
}

/* AN17: a stop entered late, observed before the start, is 422; observed
 * after it, taken. */
static void a_stop_observed_before_the_start_is_refused(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_in_infusion(a, ALARM_KETAMINE_SCREENING);
  long long before = clock_after(a, "5m");
  long long started = clock_after(a, "5m");
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true, \"pump_rate\": 150}"), 200);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  char body[160];
  snprintf(body, sizeof body, "{\"observed_at\": %lld, \"infusion_stopped\": true}", before);
  refused(a, id, body, 422, "a stop observed before the start was 200", "before Infusion started (pump running)");
  no_negative_time(a, id);
  snprintf(body, sizeof body, "{\"observed_at\": %lld, \"infusion_stopped\": true}", started + 60000);
  assert_int_equal(alarm_record(a, id, body), 200);
  json_t *x = alarm_latest(a, id, "infusion_time");
  if (!x) fail_msg("no infusion_time alert for a stop a minute after the start");
  if (!strstr(alarm_str(x, "message"), "Infusion stopped 1 minutes after it started"))
    fail_msg("the infusion_time alert says: %s", alarm_str(x, "message"));
  json_decref(x);
}

/* The infusion's gate passed by the clinician with nothing recorded: a late
 * stop or dose given of the infusion waits for the start too, which is
 * recorded late, then they are. */
static void a_late_record_waits_for_a_late_start(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_in_infusion(a, ALARM_KETAMINE_SCREENING);
  long long started = clock_after(a, "1m");
  long long stopped = clock_after(a, "40m");
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  assert_int_equal(alarm_override(a, id), 200);
  alarm_expect_phase(a, id, "observation");
  char body[200];
  snprintf(body, sizeof body, "{\"observed_at\": %lld, \"infusion.dose_given\": 35}", stopped);
  refused(a, id, body, 409, "a late dose given with no start was 200", "infusion_started first");
  snprintf(body, sizeof body, "{\"observed_at\": %lld, \"infusion.infusion_started\": true}", started);
  assert_int_equal(alarm_record(a, id, body), 200);
  snprintf(body, sizeof body,
           "{\"observed_at\": %lld, \"infusion.infusion_stopped\": true, \"infusion.volume_infused\": 100, "
           "\"infusion.dose_given\": 35}",
           stopped);
  assert_int_equal(alarm_record(a, id, body), 200);
  no_negative_time(a, id);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(the_record_waits_for_the_start, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(the_start_in_the_same_entry_goes, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_stop_observed_before_the_start_is_refused, alarm_setup_ketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(a_late_record_waits_for_a_late_start, alarm_setup_ketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
