/* H1 (docs/safety.md): deterioration after an acknowledgement is silent.
 *
 * End to end over the HTTP API of a real `vigil serve`: a nurse acknowledges
 * an alert, and a reading that still meets its condition and is worse (past
 * the last announced value by the rule's declared margin, a higher priority,
 * or a new finding) is announced again: a new active alert with what is seen
 * now. A reading within the margin is not (re-measurement noise). Escalation
 * raises the level, not the priority, unless the protocol says so.
 *
 * The SpO2 case runs on a copy of the bundled protocols/ketamine_iv with its
 * declared margins; the temperature and symptom cases on a small protocol
 * written here. Each case fails without the control (alerts.c,
 * worse_than_announced; schedule.c, fire_escalation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

/* A temperature rule (medium at 38, high at 40, same alert id: one cause) that
 * declares worse = { higher = 0.5 }, and a symptom rule whose alerts' value is
 * the finding. No `escalation_raises_priority`: the default. */
static const char *FEVER =
    "local v = require 'vigil'\n"
    "return v.protocol 'fever' {\n"
    "  version = '1.0.0',\n"
    "  defaults = { escalate = '5m' },\n"
    "  phases = { v.phase 'watch' {\n"
    "    items = {\n"
    "      v.number 'temp' { unit = 'Cel', range = { 30, 45 } },\n"
    "      v.choice 'symptom' { options = { 'none', 'rash', 'wheeze' } },\n"
    "    },\n"
    "    rules = {\n"
    "      v.rule 'fever' { on = 'temp', priority = 'high', worse = { higher = 0.5 },\n"
    "        check = function(t)\n"
    "          if t >= 40 then return v.alert.high(string.format('Temperature %.1f C', t), { value = t }) end\n"
    "          if t >= 38 then return v.alert.medium(string.format('Temperature %.1f C', t), { value = t }) end\n"
    "        end },\n"
    "      v.rule 'reaction' { on = 'symptom', priority = 'high',\n"
    "        check = function(s, visit)\n"
    "          local seen, set = {}, {}\n"
    "          for _, r in ipairs(visit.last('symptom', 10) or {}) do\n"
    "            if r ~= 'none' and not set[r] then set[r] = true; seen[#seen + 1] = r end\n"
    "          end\n"
    "          if s == 'none' or #seen == 0 then return nil end\n"
    "          table.sort(seen)\n"
    "          local finding = table.concat(seen, ', ')\n"
    "          return v.alert.medium('Reaction: ' .. finding, { value = finding })\n"
    "        end },\n"
    "    },\n"
    "  } },\n"
    "}\n";

static int setup(void **state) {
  alarm_serve *a = calloc(1, sizeof *a);
  const char *protocols[] = {"@ketamine_iv", FEVER};
  if (!a || alarm_start(a, protocols, 2) < 0) {
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

static void vitals(alarm_serve *a, uint64_t id, int spo2) {
  char body[160];
  snprintf(body, sizeof body, "{\"vitals\": {\"sbp\": 124, \"dbp\": 78, \"hr\": 76, \"spo2\": %d, \"rr\": 14}}", spo2);
  assert_int_equal(alarm_record(a, id, body), 200);
}

/* SpO2 91 % (high alert), acknowledged; 90 % is within the protocol's margin of
 * 3 points; 80 % is announced again, active, with 80 in its message. */
static void spo2_worse_after_ack_is_announced_again(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200); /* to the infusion */
  vitals(a, id, 91);
  json_t *first = alarm_latest(a, id, "spo2_low");
  assert_non_null(first);
  assert_string_equal(alarm_str(first, "priority"), "high");
  assert_non_null(strstr(alarm_str(first, "message"), "SpO2 91%"));
  assert_int_equal(alarm_ack(a, alarm_id(first)), 200);
  assert_int_equal(alarm_count(a, id, "active"), 0);

  vitals(a, id, 90); /* within 3 points of 91: the same state, measured again */
  json_t *same = alarm_latest(a, id, "spo2_low");
  assert_int_equal(alarm_id(same), alarm_id(first));
  assert_int_equal(alarm_count(a, id, "active"), 0);

  vitals(a, id, 80);
  json_t *again = alarm_latest(a, id, "spo2_low");
  assert_true(alarm_id(again) > alarm_id(first));
  assert_string_equal(alarm_str(again, "state"), "active");
  assert_string_equal(alarm_str(again, "priority"), "high");
  assert_non_null(strstr(alarm_str(again, "message"), "SpO2 80%"));
  assert_int_equal(json_integer_value(json_object_get(again, "follows")), alarm_id(first));
  assert_int_equal(alarm_count(a, id, "active"), 1);

  /* 79 is not 3 points past the 80 now announced: acknowledged, it stays quiet. */
  assert_int_equal(alarm_ack(a, alarm_id(again)), 200);
  vitals(a, id, 79);
  assert_int_equal(alarm_count(a, id, "active"), 0);
  /* Recovered: both alerts of the episode resolve (acknowledged: closed). */
  vitals(a, id, 97);
  assert_int_equal(alarm_count(a, id, "acknowledged"), 0);
  json_decref(first);
  json_decref(same);
  json_decref(again);
}

/* 38.2 C (medium) acknowledged; 38.4 is within 0.5; 40.1 is worse twice over
 * (further past, and high): announced again as high. */
static void fever_worse_after_ack_is_announced_again(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "fever", NULL);
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, "{\"temp\": 38.2}"), 200);
  json_t *first = alarm_latest(a, id, "fever");
  assert_string_equal(alarm_str(first, "priority"), "medium");
  assert_int_equal(alarm_ack(a, alarm_id(first)), 200);
  assert_int_equal(alarm_record(a, id, "{\"temp\": 38.4}"), 200);
  assert_int_equal(alarm_count(a, id, "active"), 0);
  assert_int_equal(alarm_record(a, id, "{\"temp\": 40.1}"), 200);
  json_t *again = alarm_latest(a, id, "fever");
  assert_true(alarm_id(again) > alarm_id(first));
  assert_string_equal(alarm_str(again, "state"), "active");
  assert_string_equal(alarm_str(again, "priority"), "high");
  assert_non_null(strstr(alarm_str(again, "message"), "40.1"));
  json_decref(first);
  json_decref(again);
}

/* A second symptom after a first, acknowledged: a new finding of the same rule. */
static void new_finding_after_ack_is_announced_again(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "fever", NULL);
  assert_int_equal(alarm_record(a, id, "{\"symptom\": \"rash\"}"), 200);
  json_t *first = alarm_latest(a, id, "reaction");
  assert_string_equal(alarm_str(first, "message"), "Reaction: rash");
  assert_int_equal(alarm_ack(a, alarm_id(first)), 200);
  assert_int_equal(alarm_record(a, id, "{\"symptom\": \"rash\"}"), 200); /* the same finding again */
  assert_int_equal(alarm_count(a, id, "active"), 0);
  assert_int_equal(alarm_record(a, id, "{\"symptom\": \"wheeze\"}"), 200);
  json_t *again = alarm_latest(a, id, "reaction");
  assert_true(alarm_id(again) > alarm_id(first));
  assert_string_equal(alarm_str(again, "state"), "active");
  assert_string_equal(alarm_str(again, "message"), "Reaction: rash, wheeze");
  json_decref(first);
  json_decref(again);
}

/* Unacknowledged for 5 minutes, a medium alert escalates one level (who is
 * told) and stays medium: the protocol does not say escalation_raises_priority. */
static void escalation_keeps_the_priority(void **state) {
  alarm_serve *a = *state;
  uint64_t id = alarm_visit(a, "fever", NULL);
  assert_int_equal(alarm_record(a, id, "{\"temp\": 38.6}"), 200);
  assert_int_equal(alarm_advance_clock(a, "6m"), 200);
  json_t *x = alarm_latest(a, id, "fever");
  assert_int_equal(json_integer_value(json_object_get(x, "level")), 1);
  assert_string_equal(alarm_str(x, "priority"), "medium");
  json_decref(x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(spo2_worse_after_ack_is_announced_again),
      cmocka_unit_test(fever_worse_after_ack_is_announced_again),
      cmocka_unit_test(new_finding_after_ack_is_announced_again),
      cmocka_unit_test(escalation_keeps_the_priority),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
