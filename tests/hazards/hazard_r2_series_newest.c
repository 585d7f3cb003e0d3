/* R2 of the ninth independent try (docs/safety.md): across the vitals one
 * rule reads, the newest observed reading counts.
 *
 * esketamine_rems's monitoring rules bp_low and hr_low read two items, the
 * 40-minute BP (bp_40m) and the BP as clinically warranted (bp). A normal
 * `bp` observed at 08:05, entered after `bp_40m` 62/30 with heart rate 35 at
 * 08:11, was the newest reading of its own item, so the rules ran on it as
 * the patient's state now: they closed the acknowledged bp_low and hr_low
 * alerts and opened the monitoring gate, while the newest reading of the
 * series was the low one. Control (core/engine/late_entry.c): a reading older
 * than another vitals item's newest reading that the same rule reads is
 * judged as of its time, a finding only (an alert to acknowledge, nothing
 * lifted or resolved), as an older reading of one item already was (G4).
 *
 * The control is the engine's, not esketamine's: a clinic's ketamine_iv whose
 * infusion adds a manual cuff reading (bp_manual) read by bp_low and hr_low
 * beside the vitals shows the same.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock. Both tests fail without the control (the alerts are "closed"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"
#include "hazard_restart.h"

#define CALM "{\"sbp\": 100, \"dbp\": 62, \"hr\": 70, \"spo2\": 98, \"rr\": 14}"

/* The state of the visit's newest alert of rule, which must be high. */
static void expect_state(alarm_serve *a, uint64_t id, const char *rule, const char *state) {
  json_t *al = alarm_latest(a, id, rule);
  if (!al) fail_msg("no %s alert", rule);
  assert_string_equal(alarm_str(al, "priority"), "high");
  if (strcmp(alarm_str(al, "state"), state))
    fail_msg("%s is %s, not %s: %s", rule, alarm_str(al, "state"), state, alarm_str(al, "message"));
  json_decref(al);
}

/* `item` with value, observed `ago` ms before now (0: now): 200. */
static void enter(alarm_serve *a, uint64_t id, const char *item, const char *value, long long ago) {
  char body[512];
  if (ago)
    snprintf(body, sizeof body, "{\"%s\": %s, \"observed_at\": %lld}", item, value, alarm_now(a) - ago);
  else
    snprintf(body, sizeof body, "{\"%s\": %s}", item, value);
  assert_int_equal(alarm_record(a, id, body), 200);
}

/* The low reading, acknowledged; a normal reading of the other item observed
 * before it and entered after it leaves them standing; one observed after it
 * lifts them. */
static void older_reading_of_another_item_clears_nothing(alarm_serve *a, uint64_t id, const char *low_item,
                                                         const char *low, const char *other, const char *calm) {
  enter(a, id, low_item, low, 0);
  expect_state(a, id, "bp_low", "active");
  expect_state(a, id, "hr_low", "active");
  alarm_ack_all(a, id);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  enter(a, id, other, calm, 8 * 60000); /* observed six minutes before the low reading */
  expect_state(a, id, "bp_low", "acknowledged");
  expect_state(a, id, "hr_low", "acknowledged");
  /* Observed after it, the normal reading is the patient's state now. */
  enter(a, id, other, calm, 0);
  expect_state(a, id, "bp_low", "closed");
  expect_state(a, id, "hr_low", "closed");
}

/* R2 as the try found it, on the bundled esketamine_rems. */
static void esketamine_older_bp_does_not_clear_the_40_minute_lows(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_esketamine_monitoring(a, ALARM_ESKETAMINE_PREDOSE(0));
  assert_int_equal(alarm_advance_clock(a, "41m"), 200);
  older_reading_of_another_item_clears_nothing(a, id, "bp_40m", "{\"sbp\": 62, \"dbp\": 30, \"hr\": 35}", "bp",
                                               "{\"sbp\": 118, \"dbp\": 72, \"hr\": 66}");
  /* The other way round: a low `bp` observed before a normal `bp_40m`... */
  assert_int_equal(alarm_advance_clock(a, "5m"), 200);
  enter(a, id, "bp_40m", "{\"sbp\": 120, \"dbp\": 74, \"hr\": 68}", 0);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  size_t active = alarm_count(a, id, "active");
  enter(a, id, "bp", "{\"sbp\": 80, \"dbp\": 40, \"hr\": 66}", 60000);
  /* ...is a finding about that reading, saying when it was observed. */
  assert_int_equal(alarm_count(a, id, "active"), active + 1);
  json_t *al = alarm_latest(a, id, "bp_low");
  assert_non_null(al);
  if (!strstr(alarm_str(al, "message"), "[observed at")) fail_msg("bp_low says: %s", alarm_str(al, "message"));
  json_decref(al);
}

/* A clinic's ketamine_iv: the infusion gains a manual cuff reading read by
 * bp_low and hr_low beside the vitals. */
static char variant_dir[64];

static int replace_once(char **text, const char *what, const char *with) {
  char *at = strstr(*text, what);
  if (!at) return -1;
  size_t head = (size_t)(at - *text), n = strlen(*text) - head - strlen(what);
  char *out = malloc(head + strlen(with) + n + 1);
  if (!out) return -1;
  memcpy(out, *text, head);
  strcpy(out + head, with);
  strcat(out + head, at + strlen(what));
  free(*text);
  *text = out;
  return 0;
}

static int setup_ketamine_variant(void **state) {
  snprintf(variant_dir, sizeof variant_dir, "/tmp/vigil_r2_XXXXXX");
  if (!mkdtemp(variant_dir)) return -1;
  char cmd[256], path[128];
  snprintf(cmd, sizeof cmd, "cp protocols/ketamine_iv/*.lua '%s'/", variant_dir);
  if (system(cmd) != 0) return -1;
  snprintf(path, sizeof path, "%s/infusion.lua", variant_dir);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char *text = calloc(1, 1 << 16);
  size_t len = text ? fread(text, 1, (1 << 16) - 1, f) : 0;
  fclose(f);
  if (!len) return -1;
  int rc =
      replace_once(&text, "v.check \"infusion_started\" { title = \"Infusion started (pump running)\" },",
                   "v.check \"infusion_started\" { title = \"Infusion started (pump running)\" },\n"
                   "    v.vitals \"bp_manual\" { title = \"Manual cuff BP\", fields = { \"sbp\", \"dbp\", \"hr\" },"
                   " required = false },");
  rc |= replace_once(&text, "v.rule \"bp_low\" {\n      on = \"vitals\",",
                     "v.rule \"bp_low\" {\n      on = { \"vitals\", \"bp_manual\" },");
  rc |= replace_once(&text, "v.rule \"hr_low\" {\n      on = \"vitals\",",
                     "v.rule \"hr_low\" {\n      on = { \"vitals\", \"bp_manual\" },");
  f = rc == 0 ? fopen(path, "w") : NULL;
  if (f) {
    fputs(text, f);
    fclose(f);
  }
  free(text);
  if (!f) return -1;
  const char *protocols[] = {variant_dir};
  return alarm_setup_protocols(state, protocols, 1);
}

static int teardown_ketamine_variant(void **state) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", variant_dir);
  if (system(cmd) != 0) return -1;
  return alarm_teardown(state);
}

#define KETAMINE_SCREENING                                                                                             \
  "{\"consent\": true, \"ci_hypertension\": \"no\", \"ci_vascular\": \"no\", \"ci_psychosis\": \"no\","                \
  " \"ci_hypersensitivity\": \"no\", \"pregnancy\": \"not applicable\", \"substance_use\": \"no\","                    \
  " \"ride_confirmed\": true, \"baseline\": " CALM ", \"dose\": 35, \"phq9\": {\"q1\": 0, \"q2\": 0, \"q3\": 0,"       \
  " \"q4\": 0, \"q5\": 0, \"q6\": 0, \"q7\": 0, \"q8\": 0, \"q9\": 0}}"

/* The same in the engine for any protocol: the clinic's ketamine_iv. */
static void ketamine_older_cuff_reading_does_not_clear_the_lows(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_infusing(a, KETAMINE_SCREENING);
  assert_int_equal(alarm_advance_clock(a, "10m"), 200);
  older_reading_of_another_item_clears_nothing(a, id, "vitals",
                                               "{\"sbp\": 62, \"dbp\": 30, \"hr\": 35, \"spo2\": 98, \"rr\": 14}",
                                               "bp_manual", "{\"sbp\": 118, \"dbp\": 72, \"hr\": 66}");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(esketamine_older_bp_does_not_clear_the_40_minute_lows, alarm_setup_esketamine,
                                      alarm_teardown),
      cmocka_unit_test_setup_teardown(ketamine_older_cuff_reading_does_not_clear_the_lows, setup_ketamine_variant,
                                      teardown_ketamine_variant),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
