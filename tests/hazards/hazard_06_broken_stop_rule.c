/* H6 (docs/safety.md): a broken stop rule fails quietly. A rule that errors
 * at run time became a medium technical alert, below the high alert it was
 * meant to raise.
 *
 * End to end over the HTTP API of a real `vigil serve`: a stop rule that
 * reads the baseline, which is missing after the clinician overrode the
 * screening gate (the tester's case), fails on the first infusion reading.
 * Its technical alert is high: the priority the rule declares, or high when it
 * declares none; a rule that declares low gets a low one, unless its code
 * raises higher (K5: then what its code raises). Fails without the
 * control (evaluate.c, technical_alert's priority). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

/* Three copies of one stop rule (a rise of 40 from the baseline), each
 * indexing the baseline that an override left unrecorded. */
static const char *STOP =
    "local v = require 'vigil'\n"
    "local function rise(x, visit)\n"
    "  local b = visit.value('screening.baseline')\n"
    "  if x.sbp - b.sbp >= 40 then return v.alert.high('SBP rose 40 from baseline: stop the infusion') end\n"
    "end\n"
    "local function note(x, visit)\n"
    "  local b = visit.value('screening.baseline')\n"
    "  if x.sbp - b.sbp >= 20 then return v.alert.low('SBP rose 20 from baseline') end\n"
    "end\n"
    "return v.protocol 'stop' {\n"
    "  version = '1.0.0',\n"
    "  phases = {\n"
    "    v.phase 'screening' {\n"
    "      items = { v.vitals 'baseline' { fields = { 'sbp' } } },\n"
    "    },\n"
    "    v.phase 'infusion' {\n"
    "      items = { v.vitals 'vitals' { fields = { 'sbp' } } },\n"
    "      rules = {\n"
    "        v.rule 'stop_declared' { on = 'vitals', priority = 'high', check = rise },\n"
    "        v.rule 'stop_undeclared' { on = 'vitals', check = rise },\n"
    "        v.rule 'note_low' { on = 'vitals', priority = 'low', check = note },\n"
    "        v.rule 'stop_demoted' { on = 'vitals', priority = 'low', check = rise },\n"
    "      },\n"
    "    },\n"
    "  },\n"
    "}\n";

static int setup(void **state) {
  alarm_serve *a = calloc(1, sizeof *a);
  const char *protocols[] = {STOP};
  if (!a || alarm_start(a, protocols, 1) < 0) {
    if (a) serve_cleanup(&a->s);
    free(a);
    return -1;
  }
  *state = a;
  return 0;
}

static int teardown(void **state) {
  alarm_serve *a = *state;
  serve_cleanup(&a->s);
  free(a);
  return 0;
}

static void failing_stop_rule_alerts_at_its_own_priority(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "stop", NULL);
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200); /* no baseline recorded */
  assert_int_equal(alarm_record(a, id, "{\"vitals\": {\"sbp\": 190}}"), 200);

  json_t *declared = alarm_latest(a, id, "stop_declared");
  json_t *undeclared = alarm_latest(a, id, "stop_undeclared");
  json_t *low = alarm_latest(a, id, "note_low");
  assert_non_null(declared);
  assert_non_null(undeclared);
  assert_non_null(low);
  assert_string_equal(alarm_str(declared, "source"), "technical");
  assert_non_null(strstr(alarm_str(declared, "message"), "rule 'stop_declared' failed"));
  assert_string_equal(alarm_str(declared, "state"), "active");
  /* As urgent as the alert the rule can no longer raise. */
  assert_string_equal(alarm_str(declared, "priority"), "high");
  /* Nothing declared: high, the safe assumption. */
  assert_string_equal(alarm_str(undeclared, "priority"), "high");
  /* Declared low: low (a note's rule does not page as a stop rule). */
  assert_string_equal(alarm_str(low, "priority"), "low");
  /* Declared low but its code raises high (K5): high, what its code raises. */
  json_t *demoted = alarm_latest(a, id, "stop_demoted");
  assert_non_null(demoted);
  assert_string_equal(alarm_str(demoted, "priority"), "high");
  json_decref(demoted);
  json_decref(declared);
  json_decref(undeclared);
  json_decref(low);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(failing_stop_rule_alerts_at_its_own_priority),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
