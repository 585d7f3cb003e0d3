/* H13 (docs/safety.md, finding F2): screening skipped. The independent try
 * skipped every screening item (contraindications, baseline vitals, dose,
 * PHQ-9) with a reason, so an infusion could start with no screening and no
 * baseline.
 *
 * End to end over the HTTP API of a real `vigil serve` with a copy of the
 * bundled ketamine_iv and a protocol written here: a nurse's skip of each of
 * ketamine_iv's screening items is refused (422 naming it) and nothing is
 * recorded; an item the protocol leaves skippable is skipped as before; a
 * recorded answer that holds the phase cannot be skipped (409), so the hold
 * stays. Fails without the control (commands.c, vigil__cmd_visit_skip: the
 * item's `skippable`, and a recorded answer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "alarm_serve.h"

/* A choice that holds when "yes", left skippable (the default), and a note. */
static const char *SKIPPABLE =
    "local v = require 'vigil'\n"
    "return v.protocol 'h13' {\n"
    "  version = '1.0.0',\n"
    "  phases = {\n"
    "    v.phase 'screening' {\n"
    "      items = {\n"
    "        v.choice 'allergy' { options = { 'no', 'yes' },\n"
    "          rule = function(x) if x == 'yes' then return v.block('allergy: a clinician reviews') end end },\n"
    "        v.check 'leaflet' { title = 'Leaflet given' },\n"
    "      },\n"
    "    },\n"
    "    v.phase 'after' { items = { v.check 'done' { } } },\n"
    "  },\n"
    "}\n";

static int setup(void **state) {
  alarm_serve *a = calloc(1, sizeof *a);
  const char *protocols[] = {"@ketamine_iv", SKIPPABLE};
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

/* POST /visits/{id}/skip as the nurse: the status, the error's field and message. */
static int skip_item(alarm_serve *a, uint64_t visit, const char *item, char *msg, size_t len) {
  char path[128], body[256];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/skip", (unsigned long long)visit);
  snprintf(body, sizeof body, "{\"item\": \"%s\", \"reason\": \"will do it later\"}", item);
  json_t *r = NULL;
  int status = alarm_call(a, NULL, "POST", path, body, &r);
  const char *m = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
  snprintf(msg, len, "%s", m ? m : "");
  json_decref(r);
  return status;
}

/* The gate's reasons of the visit, joined. */
static void reasons_of(alarm_serve *a, uint64_t visit, char *out, size_t len) {
  char path[64];
  snprintf(path, sizeof path, "/api/v1/visits/%llu", (unsigned long long)visit);
  json_t *v = NULL, *x;
  size_t i;
  out[0] = '\0';
  if (alarm_call(a, NULL, "GET", path, NULL, &v) != 200) return;
  json_array_foreach(json_object_get(json_object_get(v, "gate"), "reasons"), i, x) {
    strncat(out, json_string_value(x), len - strlen(out) - 1);
    strncat(out, "; ", len - strlen(out) - 1);
  }
  json_decref(v);
}

static void screening_items_cannot_be_skipped(void **state) {
  alarm_serve *a = *state;
  char msg[1024], reasons[4096];
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  const char *items[] = {"consent",   "ci_hypertension", "ci_vascular",    "ci_psychosis", "ci_hypersensitivity",
                         "pregnancy", "substance_use",   "ride_confirmed", "baseline",     "dose",
                         "phq9"};
  for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
    assert_int_equal(skip_item(a, id, items[i], msg, sizeof msg), 422);
    assert_non_null(strstr(msg, "cannot be skipped"));
  }
  /* Nothing was skipped: the gate still lists the baseline, the dose, the PHQ-9. */
  reasons_of(a, id, reasons, sizeof reasons);
  assert_non_null(strstr(reasons, "Baseline vitals before dosing not recorded"));
  assert_non_null(strstr(reasons, "Ketamine dose drawn up not recorded"));
  assert_non_null(strstr(reasons, "PHQ-9"));
  /* The optional fasting hours need no skip; they are not an answer dosing rests on. */
  assert_int_equal(skip_item(a, id, "fasting_hours", msg, sizeof msg), 200);
}

static void a_recorded_answer_that_holds_is_not_skipped_away(void **state) {
  alarm_serve *a = *state;
  char msg[1024], reasons[4096];
  uint64_t id = alarm_visit(a, "h13", "{}");
  assert_true(id > 0);
  /* A skippable item is skipped as before. */
  assert_int_equal(skip_item(a, id, "leaflet", msg, sizeof msg), 200);
  /* An answer that holds: skipping it is refused and the hold stays. */
  assert_int_equal(alarm_record(a, id, "{\"allergy\": \"yes\"}"), 200);
  assert_int_equal(skip_item(a, id, "allergy", msg, sizeof msg), 409);
  assert_non_null(strstr(msg, "recorded already: amend it"));
  reasons_of(a, id, reasons, sizeof reasons);
  assert_non_null(strstr(reasons, "allergy: a clinician reviews"));
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 409);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(screening_items_cannot_be_skipped, setup, teardown),
      cmocka_unit_test_setup_teardown(a_recorded_answer_that_holds_is_not_skipped_away, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
