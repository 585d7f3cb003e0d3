/* V3 (docs/workstation.md): a worse baseline BP raised less alarm than a
 * milder one.
 *
 * The try (before AN12): ketamine_iv's baseline 176/102 raised the low
 * `bp_caution` (banner, flagged card); 212/126 raised no alert at all, only
 * the gate's reason "at or above the hold limit 180/110": `bp_hold` returned a
 * block, and `bp_caution` stops at the hold. esketamine_rems's pre-dose
 * `bp_hold` the same.
 *
 * Control (protocol data, AN12 and AP3 in docs/safety.md): the hold alerts
 * beside its block. ketamine_iv (lib.predose_bp_hold): medium at the hold
 * (180/110), high above the severe limit (200/120, alert id bp_hold_severe);
 * esketamine_rems (lib.with_predose_vitals_rules): medium at its hold. So a
 * worse pre-dose reading never raises less than a milder one: low above the
 * caution, medium at the hold, high above the severe limit (ketamine_iv),
 * and the hold still holds.
 *
 * End to end over the HTTP API of a real `vigil serve` on the simulated
 * clock. Fails without the control (the hold's alert taken out of
 * lib.predose_bp_hold and lib.with_predose_vitals_rules): "the baseline
 * 212/126 raised no bp_hold alert, less than 176/102's low bp_caution". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

/* The rank of a priority: low 1, medium 2, high 3 (0: none). */
static int rank(const char *priority) {
  if (!strcmp(priority, "high")) return 3;
  if (!strcmp(priority, "medium")) return 2;
  return !strcmp(priority, "low");
}

/* The highest priority of the visit's active alerts raised by rule (0: none). */
static int loudest(alarm_serve *a, uint64_t id, const char *rule) {
  json_t *alerts = alarm_alerts(a, id), *x;
  size_t i;
  int top = 0;
  json_array_foreach(alerts, i, x) {
    if (!strcmp(alarm_str(x, "rule"), rule) && !strcmp(alarm_str(x, "state"), "active") &&
        rank(alarm_str(x, "priority")) > top)
      top = rank(alarm_str(x, "priority"));
  }
  json_decref(alerts);
  return top;
}

/* The reason of the visit's block from rule, or NULL: none (into out). */
static const char *block_of(alarm_serve *a, uint64_t id, const char *rule, char *out, size_t len) {
  json_t *v = alarm_visit_json(a, id), *x;
  size_t i;
  const char *found = NULL;
  json_array_foreach(json_object_get(v, "blocks"), i, x) {
    if (!strcmp(alarm_str(x, "rule"), rule)) {
      snprintf(out, len, "%s", alarm_str(x, "reason"));
      found = out;
    }
  }
  json_decref(v);
  return found;
}

/* A reading: the caution's low alert and no hold; the worse reading: the
 * hold's alert, louder than the caution's, and the hold. item: the pre-dose
 * vitals item; hold_says: what the hold says; loud: the hold alert's rank at
 * the worse reading. */
static void worse_is_louder(alarm_serve *a, uint64_t id, const char *item, const char *hold_says, int loud) {
  char body[200];
  snprintf(body, sizeof body, "{\"%s\": {\"sbp\": 176, \"dbp\": 102, \"hr\": 70, \"spo2\": 98, \"rr\": 14}}", item);
  assert_int_equal(alarm_record(a, id, body), 200);
  if (loudest(a, id, "bp_caution") != 1) fail_msg("176/102 raised no low bp_caution");
  if (loudest(a, id, "bp_hold")) fail_msg("176/102, under the hold, raised a bp_hold alert");
  char why[1024];
  if (block_of(a, id, "bp_hold", why, sizeof why)) fail_msg("176/102, under the hold, is held: %s", why);

  alarm_bp(a, id, item, "5m", 212, 126);
  int hold = loudest(a, id, "bp_hold");
  if (hold == 0) fail_msg("the %s 212/126 raised no bp_hold alert, less than 176/102's low bp_caution", item);
  if (hold != loud) fail_msg("212/126's bp_hold alert has rank %d, not %d", hold, loud);
  if (loudest(a, id, "bp_caution")) fail_msg("212/126 still shows the low bp_caution as active beside the hold");
  if (!block_of(a, id, "bp_hold", why, sizeof why)) fail_msg("212/126 is not held");
  if (!strstr(why, hold_says)) fail_msg("the hold says: %s", why);
}

/* ketamine_iv: 176/102 low; 212/126 above 200/120: high, and held. */
static void ketamine_worse_baseline_alerts_louder(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_ketamine_screened(a, ALARM_KETAMINE_SCREENING);
  worse_is_louder(a, id, "baseline", "Baseline BP 212/126 is at or above the hold limit 180/110", 3);
  json_t *x = alarm_latest(a, id, "bp_hold");
  if (!strstr(alarm_str(x, "message"), "Baseline BP 212/126 is above 200/120 before the start"))
    fail_msg("the alert says: %s", alarm_str(x, "message"));
  json_decref(x);
}

/* esketamine_rems: 176/102 low; 212/126 medium (it has no severe limit: AN12), and held. */
static void esketamine_worse_predose_alerts_louder(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, ALARM_ESKETAMINE_PREDOSE(0)), 200);
  worse_is_louder(a, id, "predose_vitals", "Pre-dose BP 212/126 is at or above 180/110", 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(ketamine_worse_baseline_alerts_louder, alarm_setup_ketamine, alarm_teardown),
      cmocka_unit_test_setup_teardown(esketamine_worse_predose_alerts_louder, alarm_setup_esketamine, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
