/* test_closed_visits.c: closed visits do not pile up in memory. A server
 * that runs for months closes thousands of visits, and reading them back
 * (the history, a list of every visit) folds them from the log again: only
 * the last ENGINE_CLOSED_KEPT stay in memory, and one that left comes back
 * from the log exactly as it was. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model.h" /* white box: the engine's private model (tests/CMakeLists.txt) */
#include "recover.h"
#include "vigil/vigil.h"

#define T0 1700000000000LL
#define VISITS (ENGINE_CLOSED_KEPT + 44)

static const char PROTOCOL[] =
    "local v = require 'vigil'\n"
    "return v.protocol 'short' { version = '1.0.0', phases = {\n"
    "  v.phase 'only' { items = { v.check 'done' {}, v.text 'notes' { required = false } } },\n"
    "} }\n";

static void quiet(void *ud, vigil_log_level level, const char *msg) { (void)ud, (void)level, (void)msg; }

static uint64_t in_memory(const vigil_engine *e, int closed) {
  uint64_t n = 0;
  for (uint64_t i = 0; i < e->n_visits; i++)
    n += e->visits[i] && (e->visits[i]->status != VISIT_ACTIVE) == closed;
  return n;
}

static void closed_visits_leave_memory_and_come_back(void **state) {
  (void)state;
  char dir[] = "/tmp/vigil-closed-XXXXXX", path[128], db[128];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/protocol.lua", dir);
  FILE *f = fopen(path, "w");
  fputs(PROTOCOL, f);
  fclose(f);
  snprintf(db, sizeof db, "%s/vigil.db", dir);
  vigil_options opts = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = T0, .db_path = db, .log = quiet};
  vigil_engine *e;
  assert_int_equal(vigil_engine_new(&opts, &e), 0);
  if (vigil_engine_load(e, dir, NULL) < 0) fail_msg("%s", vigil_engine_errmsg(e));

  /* Every visit closes, half discharged and half stopped; the first is
   * remembered as it was when it closed. */
  char *first = NULL;
  for (int i = 0; i < VISITS; i++) {
    char patient[32];
    uint64_t id;
    snprintf(patient, sizeof patient, "MRN-%d", i);
    if (vigil_visit_start(e, "short", patient, "nurse:a", NULL, &id) < 0) fail_msg("%s", vigil_engine_errmsg(e));
    if (vigil_visit_record_json(e, id, "nurse:a", "{\"done\": true, \"notes\": \"all well\"}") < 0)
      fail_msg("%s", vigil_engine_errmsg(e));
    int rc = i % 2 ? vigil_visit_abort(e, id, "nurse:a", "the patient left") : vigil_visit_discharge(e, id, "nurse:a");
    if (rc < 0) fail_msg("%s", vigil_engine_errmsg(e));
    if (i == 0) first = vigil_visit_json(e, id);
  }
  assert_non_null(first);
  assert_int_equal(in_memory(e, 0), 0);
  assert_true(in_memory(e, 1) <= ENGINE_CLOSED_KEPT);
  assert_null(e->visits[0]); /* the first has left memory */

  /* Read back from the log, as it was. */
  char *again = vigil_visit_json(e, 1);
  assert_non_null(again);
  assert_string_equal(again, first);
  vigil_free(again);

  /* A list of every visit reads them all back, and memory stays bounded. */
  vigil_visit_filter all = {.status = "all", .limit = 1000};
  char *list = vigil_query_visits_json(e, &all);
  assert_non_null(list);
  json_t *j = json_loads(list, 0, NULL);
  assert_int_equal(json_array_size(json_object_get(j, "visits")), VISITS);
  json_decref(j);
  vigil_free(list);
  assert_true(in_memory(e, 1) <= ENGINE_CLOSED_KEPT);

  /* A visit started now is untouched by all this. */
  uint64_t open;
  assert_int_equal(vigil_visit_start(e, "short", "MRN-open", "nurse:a", NULL, &open), 0);
  list = vigil_query_visits_json(e, &all);
  vigil_free(list);
  assert_non_null(e->visits[open - 1]);
  assert_int_equal(in_memory(e, 0), 1);

  vigil_free(first);
  vigil_engine_free(e);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

static void close_one(vigil_engine *e, int i) {
  char patient[32];
  uint64_t id;
  snprintf(patient, sizeof patient, "MRN-%d", i);
  if (vigil_visit_start(e, "short", patient, "nurse:a", NULL, &id) < 0) fail_msg("%s", vigil_engine_errmsg(e));
  if (vigil_visit_record_json(e, id, "nurse:a", "{\"done\": true}") < 0 || vigil_visit_discharge(e, id, "nurse:a") < 0)
    fail_msg("%s", vigil_engine_errmsg(e));
}

/* A closed visit named closed again while its first entry is still in the
 * ring (as a fold of it on a read does) stays when that entry leaves, and
 * leaves ENGINE_CLOSED_KEPT closings after its newest one. */
static void a_visit_named_closed_again_stays(void **state) {
  (void)state;
  char dir[] = "/tmp/vigil-closed-XXXXXX", path[128];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/protocol.lua", dir);
  FILE *f = fopen(path, "w");
  fputs(PROTOCOL, f);
  fclose(f);
  vigil_options opts = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = T0, .log = quiet};
  vigil_engine *e;
  assert_int_equal(vigil_engine_new(&opts, &e), 0);
  if (vigil_engine_load(e, dir, NULL) < 0) fail_msg("%s", vigil_engine_errmsg(e));
  int n = 0;
  close_one(e, n++); /* visit 1 */
  while (n < 100)
    close_one(e, n++);
  assert_non_null(e->visits[0]);
  vigil__engine_keep_closed(e, 1); /* named again: the 101st entry */
  while (n < ENGINE_CLOSED_KEPT + 50)
    close_one(e, n++);
  if (!e->visits[0]) fail_msg("visit 1 left memory with its first entry, though named closed again since");
  assert_null(e->visits[1]); /* visit 2, named once, has left */
  while (n < 100 + ENGINE_CLOSED_KEPT + 1)
    close_one(e, n++);
  assert_null(e->visits[0]); /* its newest entry has left too */
  assert_true(in_memory(e, 1) <= ENGINE_CLOSED_KEPT);
  vigil_engine_free(e);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(closed_visits_leave_memory_and_come_back),
      cmocka_unit_test(a_visit_named_closed_again_stays),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
