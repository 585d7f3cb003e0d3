/* test_scenarios.c: the bundled protocols' scenarios (ketamine_iv,
 * esketamine_rems) produce, in simulated time, exactly the alerts, overdue
 * marks and gate decisions a nurse would expect (each scenario file's header
 * says what, and why). */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "author/scenario.h"
#include "vigil/vigil.h"

#define T0 1767600000000LL /* 2026-01-05T08:00:00Z */

typedef struct seen {
  char lines[256][160]; /* "minute type detail" for the events that matter to a nurse */
  int n;
  int refused;
} seen;

static const char *str(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static int on_event(void *ud, const vigil_event *ev) {
  seen *s = ud;
  const char *type = vigil_event_type(ev);
  long minute = (long)((vigil_event_time(ev) - T0) / 60000);
  char *text = vigil_event_json(NULL, ev);
  json_t *j = json_loads(text, 0, NULL);
  vigil_free(text);
  json_t *d = json_object_get(j, "data");
  char detail[128] = "";
  if (!strcmp(type, "alert.raised"))
    snprintf(detail, sizeof detail, "%s %s %s", str(d, "rule"), str(d, "priority"), str(d, "source"));
  else if (!strcmp(type, "alert.escalated"))
    snprintf(detail, sizeof detail, "%lld %s", json_integer_value(json_object_get(d, "alert")), str(d, "priority"));
  else if (!strcmp(type, "alert.acknowledged") || !strcmp(type, "alert.resolved"))
    snprintf(detail, sizeof detail, "%lld", json_integer_value(json_object_get(d, "alert")));
  else if (!strcmp(type, "item.overdue"))
    snprintf(detail, sizeof detail, "%s", str(d, "item"));
  else if (!strcmp(type, "block.set") || !strcmp(type, "block.cleared"))
    snprintf(detail, sizeof detail, "%s", str(d, "rule"));
  else if (!strcmp(type, "gate.blocked"))
    snprintf(detail, sizeof detail, "%s", str(d, "phase"));
  else if (strcmp(type, "visit.discharged") && strcmp(type, "visit.aborted"))
    type = NULL; /* recordings, notes, phase entries: not what these tests are about */
  if (type && s->n < 256) snprintf(s->lines[s->n++], sizeof s->lines[0], "%ld %s %s", minute, type, detail);
  json_decref(j);
  return 0;
}

static void on_step(void *ud, int64_t at, const char *step, int rc, const char *error) {
  seen *s = ud;
  if (rc < 0) s->refused++;
}

static void run_in(const char *protocol, const char *scenario, const char **expected, int refused) {
  vigil_options opts = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = T0};
  vigil_engine *e;
  assert_int_equal(vigil_engine_new(&opts, &e), 0);
  const char *ref;
  int rc = vigil_engine_load(e, protocol, &ref);
  if (rc < 0) fail_msg("%s", vigil_engine_errmsg(e));
  seen *s = calloc(1, sizeof *s);
  vigil_engine_subscribe(e, "*", on_event, s);
  char path[256], err[1024];
  snprintf(path, sizeof path, "%s/scenarios/%s.lua", protocol, scenario);
  uint64_t visit;
  if (vigil__scenario_run(e, ref, path, on_step, s, &visit, err, sizeof err) < 0) fail_msg("%s: %s", scenario, err);
  int n = 0;
  while (expected[n])
    n++;
  for (int i = 0; i < s->n || i < n; i++) {
    const char *got = i < s->n ? s->lines[i] : "(nothing)";
    const char *want = i < n ? expected[i] : "(nothing)";
    if (strcmp(got, want)) fail_msg("%s: event %d: expected \"%s\", got \"%s\"", scenario, i + 1, want, got);
  }
  assert_int_equal(s->refused, refused);
  free(s);
  vigil_engine_free(e);
}

static void run(const char *scenario, const char **expected, int refused) {
  run_in("protocols/ketamine_iv", scenario, expected, refused);
}

static void uneventful(void **state) {
  const char *expected[] = {"115 visit.discharged ", NULL};
  run("uneventful", expected, 0);
}

static void hypertensive_episode(void **state) {
  const char *expected[] = {
      "30 alert.raised bp_high medium rule", /* first reading at the flag: confirm it */
      "30 alert.raised bp_rise medium rule", /* +54 systolic from baseline */
      "31 alert.acknowledged 2",
      "34 alert.raised bp_high high rule", /* confirmed on the second reading */
      "34 alert.resolved 1",               /* the unconfirmed one gives way */
      "35 alert.acknowledged 3",
      "40 alert.resolved 3",                 /* BP below the flag again */
      "46 alert.raised bp_rise medium rule", /* still +42, 15 min after its acknowledgement (AN11) */
      "47 alert.acknowledged 4",
      "50 alert.resolved 2", /* back within 40 of baseline */
      "50 alert.resolved 4",
      "66 block.set bp_not_recovered", /* observation: not yet near baseline */
      "81 block.cleared bp_not_recovered",
      "115 visit.discharged ",
      NULL};
  run("hypertensive_episode", expected, 0);
}

static void missed_checkpoint(void **state) {
  const char *expected[] = {"25 item.overdue infusion.vitals", /* due at 20, grace 5 */
                            "25 alert.raised infusion.vitals medium overdue",
                            "30 alert.escalated 1 medium", /* unacknowledged for 5 minutes: one level up */
                            "32 alert.resolved 1",         /* recorded late */
                            "33 alert.acknowledged 1",     /* latching: stays until acknowledged */
                            "51 gate.blocked infusion",    /* the 20-minute vitals were missed (G8) */
                            "115 visit.discharged ",
                            NULL};
  run("missed_checkpoint", expected, 1);
}

static void not_fit_for_discharge(void **state) {
  const char *expected[] = {"115 gate.blocked discharge", /* Aldrete 8 and no responsible adult */
                            "131 visit.discharged ", NULL};
  run("not_fit_for_discharge", expected, 1);
}

/* ---- esketamine_rems ---------------------------------------------------- */

#define REMS "protocols/esketamine_rems"

static void rems_uneventful(void **state) {
  const char *expected[] = {"135 visit.discharged ", NULL};
  run_in(REMS, "uneventful", expected, 0);
}

static void rems_hypertension_at_40(void **state) {
  const char *expected[] = {"2 alert.raised bp_caution low rule", /* pre-dose 146/88: above the 140/90 guide */
                            "3 alert.acknowledged 1",
                            "4 alert.resolved 1",                  /* predose left */
                            "56 alert.raised bp_high high rule",   /* 188/104 at the 40-minute check */
                            "56 alert.raised bp_rise medium rule", /* +42 systolic from the pre-dose reading */
                            "58 alert.acknowledged 2",
                            "58 alert.acknowledged 3",
                            "70 alert.resolved 2",
                            "70 alert.resolved 3",
                            "140 visit.discharged ",
                            NULL};
  run_in(REMS, "hypertension_at_40", expected, 0);
}

static void rems_prolonged_sedation(void **state) {
  const char *expected[] = {"0 alert.raised comed_benzodiazepine low rule",
                            "1 alert.acknowledged 1",
                            "2 alert.resolved 1",
                            "29 alert.raised spo2_low high rule", /* SpO2 90% */
                            "29 alert.raised rr_low high rule",   /* RR 9 */
                            "29 alert.raised sedation_deep medium rule",
                            "30 alert.acknowledged 2",
                            "30 alert.acknowledged 3",
                            "30 alert.acknowledged 4",
                            "44 alert.resolved 2",
                            "44 alert.resolved 3",
                            "44 alert.resolved 4",
                            "134 gate.blocked monitoring",       /* two hours, but MOAA/S 4 */
                            "152 block.set sedation_answer",     /* the form's "no" against the records (N6) */
                            "153 block.cleared sedation_answer", /* amended to "yes" */
                            "155 visit.discharged ",
                            NULL};
  run_in(REMS, "prolonged_sedation", expected, 1);
}

static void rems_missed_bp_check(void **state) {
  const char *expected[] = {"60 item.overdue monitoring.bp_40m", /* due at 50, 10 minutes' grace */
                            "60 alert.raised monitoring.bp_40m medium overdue",
                            "65 alert.escalated 1 medium",
                            "66 alert.resolved 1",
                            "67 alert.acknowledged 1",
                            "131 gate.blocked monitoring", /* the 40-minute BP was missed (G8) */
                            "135 visit.discharged ",
                            NULL};
  run_in(REMS, "missed_bp_check", expected, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(uneventful),
      cmocka_unit_test(hypertensive_episode),
      cmocka_unit_test(missed_checkpoint),
      cmocka_unit_test(not_fit_for_discharge),
      cmocka_unit_test(rems_uneventful),
      cmocka_unit_test(rems_hypertension_at_40),
      cmocka_unit_test(rems_prolonged_sedation),
      cmocka_unit_test(rems_missed_bp_check),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
